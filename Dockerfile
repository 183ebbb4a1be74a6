# The operator image: Node 24 LTS and one bundled file (dist/main.js, see scripts/bundle.ts), so no
# node_modules at run time. The runtime stage is distroless: the node binary and the libraries it
# needs, no npm, no Node headers, no shell, no package manager; it runs as uid 65532 (distroless's
# nonroot) and needs no writable root filesystem. The chart sets NODE_OPTIONS (V8 heap limits,
# values.yaml `nodeOptions`).
#
# Build (scripts/image.sh, `npm run image`, does this with buildah and no Docker engine):
#   docker build -t gallery-share-operator \
#     --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
# Behind a TLS-inspecting proxy, give its CA bundle (PEM) as a build secret; npm ci then trusts
# it in addition to Node's own CAs (NODE_EXTRA_CA_CERTS), and it is in no layer of the image:
#   docker build --secret id=extra-ca,src=/path/to/proxy-ca.pem ...
# arm64: `--platform linux/arm64` (TARGETARCH=arm64). The bundle is plain JavaScript (no native
# modules), so only the runtime base differs per architecture (both bases are published for
# arm64); the build stage runs on the build machine's platform. Not exercised by this project's
# CI, which builds and runs linux/amd64 only (its local stand-in bases are amd64 only).

# The base images, as build arguments so that scripts/image.sh can substitute locally assembled
# stand-ins where no image registry is reachable.
ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# The build runs on the build machine's own architecture (the bundle is architecture-neutral).
FROM --platform=$BUILDPLATFORM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The extra CA, when given, is a secret mounted for this step only.
RUN --mount=type=secret,id=extra-ca \
    if [ -s /run/secrets/extra-ca ]; then \
      export NODE_EXTRA_CA_CERTS=/run/secrets/extra-ca; \
      node -e 'const {X509Certificate} = require("node:crypto"); const pems = require("node:fs").readFileSync(process.env.NODE_EXTRA_CA_CERTS, "utf8").match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []; if (!pems.length) throw new Error("the extra-ca secret holds no PEM certificate"); pems.forEach((p) => new X509Certificate(p)); console.log(`npm ci trusts ${pems.length} extra CA certificate(s)`)'; \
    fi; \
    npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.ts ./scripts/
COPY src ./src
# No source map in the image: the bundle is not minified, so stack traces read well without one.
RUN npm run build && rm -f dist/*.map

# The target platform's (--platform, TARGETARCH) runtime base.
FROM ${RUNTIME_IMAGE}
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ARG SOURCE=https://github.com/gallery-share-operator/gallery-share-operator
LABEL org.opencontainers.image.title="gallery-share-operator" \
      org.opencontainers.image.description="Kubernetes operator that makes Azure Compute Gallery sharing declarative" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
ENV NODE_ENV=production
WORKDIR /app
# package.json says "type": "module", which the bundle (an ES module in a .js file) needs.
COPY --from=build /src/package.json ./
COPY --from=build /src/dist/main.js ./dist/main.js
USER 65532:65532
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/main.js"]
