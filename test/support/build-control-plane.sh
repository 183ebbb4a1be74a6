#!/usr/bin/env bash
# Builds etcd, kube-apiserver and kube-controller-manager from Go modules into a cache
# directory keyed by version, once. No Docker engine and no release downloads exist on these
# machines, so the real binaries are compiled from the Go module proxy (see
# shared/design/control-plane.md). Re-running with a complete cache does nothing.
#
# Usage: build-control-plane.sh <kubernetes version> <etcd version> <output dir>
set -euo pipefail

K8S_VERSION="$1"   # e.g. v1.36.3
ETCD_VERSION="$2"  # e.g. v3.6.16
OUT="$3"

if ! command -v go >/dev/null 2>&1; then
  echo "error: Go is not installed (or not on PATH). The test control plane is built from Go modules;" >&2
  echo "install Go 1.26 or newer (https://go.dev/doc/install, or /usr/local/go/bin on PATH) and retry." >&2
  exit 3
fi

if [[ -x "$OUT/kube-apiserver" && -x "$OUT/kube-controller-manager" && -x "$OUT/etcd" ]]; then
  exit 0
fi

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$OUT"
WORK="$(mktemp -d "${OUT%/}.work.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# --- kube-apiserver and kube-controller-manager ---------------------------------------------
# k8s.io/kubernetes replaces its staging modules with local paths, so it cannot be built with
# `go install`. A throwaway module requires it and maps every staging module to its published
# v0.Y.Z twin; the list is read from the upstream go.mod because it changes between releases.
MINOR="${K8S_VERSION#v1.}"            # 36.3
STAGING_VERSION="v0.${MINOR}"         # v0.36.3
K8S_MOD="$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
[[ -f "$K8S_MOD" ]] || { echo "error: could not download k8s.io/kubernetes@${K8S_VERSION}" >&2; exit 1; }

mkdir -p "$WORK/k8s"
{
  echo "module gso.local/controlplane"
  echo
  grep -E '^go ' "$K8S_MOD"
  echo
  echo "require k8s.io/kubernetes ${K8S_VERSION}"
  echo
  grep -E '=> \./staging/src/' "$K8S_MOD" | awk -v v="$STAGING_VERSION" '{print "replace " $1 " => " $1 " " v}'
} > "$WORK/k8s/go.mod"
cat > "$WORK/k8s/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
GO

GIT_MAJOR=1
GIT_MINOR="${MINOR%%.*}"
LDFLAGS="-s -w \
 -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} \
 -X k8s.io/component-base/version.gitMajor=${GIT_MAJOR} \
 -X k8s.io/component-base/version.gitMinor=${GIT_MINOR} \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=${K8S_VERSION} \
 -X k8s.io/client-go/pkg/version.gitMajor=${GIT_MAJOR} \
 -X k8s.io/client-go/pkg/version.gitMinor=${GIT_MINOR}"

(
  cd "$WORK/k8s"
  echo "building kube-apiserver and kube-controller-manager ${K8S_VERSION} (several minutes the first time)" >&2
  go mod tidy -e >/dev/null 2>&1 || true
  go get "k8s.io/kubernetes@${K8S_VERSION}" >/dev/null
  go mod tidy >/dev/null
  go build -trimpath -ldflags "$LDFLAGS" -o "$WORK/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  go build -trimpath -ldflags "$LDFLAGS" -o "$WORK/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
)

# --- etcd ------------------------------------------------------------------------------------
# etcd's server module has `package main` at its root but relative replace lines, so it gets a
# throwaway module of its own, apart from the Kubernetes one.
mkdir -p "$WORK/etcd"
(
  cd "$WORK/etcd"
  echo "building etcd ${ETCD_VERSION}" >&2
  go mod init gso.local/etcd >/dev/null 2>&1
  go get -tool "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" >/dev/null
  go build -trimpath -ldflags "-s -w" -o "$WORK/etcd-bin" go.etcd.io/etcd/server/v3
)

# Move into place last, so an interrupted build never leaves a cache that looks complete.
mv "$WORK/etcd-bin" "$OUT/etcd"
mv "$WORK/kube-controller-manager" "$OUT/kube-controller-manager"
mv "$WORK/kube-apiserver" "$OUT/kube-apiserver"
echo "control plane binaries ready in $OUT" >&2
