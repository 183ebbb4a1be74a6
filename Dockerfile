# The operator image: Node 24 LTS and one bundled file (dist/main.js, see scripts/bundle.ts), so no
# node_modules at run time; running as a non-root user. The chart sets NODE_OPTIONS (V8 heap
# limits, values.yaml `nodeOptions`).
# Build: docker build -t gallery-share-operator .
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.ts ./scripts/
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# package.json says "type": "module", which the bundle (an ES module in a .js file) needs.
COPY --from=build /src/package.json ./
COPY --from=build /src/dist ./dist
USER 65532:65532
ENTRYPOINT ["node", "dist/main.js"]
