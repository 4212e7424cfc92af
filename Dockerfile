# syntax=docker/dockerfile:1.7
# One image for every role (api, worker, dashboard); the command picks the role:
#   docker run llm-orchestrator node dist/api/main.js
# CPU inference only: the image carries node-llama-cpp's linux-x64 binary and none
# of the CUDA/Vulkan/ARM builds it would pull by default (~650 MB it cannot use).

ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ---- build: compile TypeScript to dist/ -------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Optional packages are only native binaries for other platforms; tsc needs none of them.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=optional --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY core ./core
COPY api ./api
COPY worker ./worker
COPY dashboard ./dashboard
COPY all ./all
COPY tools ./tools
RUN npm run build

# ---- deps: production dependencies for linux-x64 only ------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional drops every prebuilt llama.cpp binary; the one this image runs is then
# added at the exact version and integrity recorded in package-lock.json.
# --ignore-scripts: no install script runs (node-llama-cpp's postinstall would probe for GPUs).
RUN --mount=type=cache,target=/root/.npm <<'SH'
set -eu
npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund
name=@node-llama-cpp/linux-x64
version=$(node -p "require('./package-lock.json').packages['node_modules/$name'].version")
tarball=$(npm pack --silent --pack-destination /tmp "$name@$version")
node -e '
  const { createHash } = require("node:crypto");
  const { readFileSync } = require("node:fs");
  const [name, file] = process.argv.slice(1);
  const want = require("./package-lock.json").packages["node_modules/" + name].integrity;
  const got = "sha512-" + createHash("sha512").update(readFileSync(file)).digest("base64");
  if (got !== want) { console.error(`integrity mismatch for ${name}: ${got} != ${want}`); process.exit(1); }
' "$name" "/tmp/$tarball"
mkdir -p "node_modules/$name"
tar -xzf "/tmp/$tarball" -C "node_modules/$name" --strip-components=1
rm "/tmp/$tarball"
SH

# ---- runtime -----------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# UV_THREADPOOL_SIZE: llama.cpp contexts decode on libuv's thread pool (4 threads unless set when
# the process starts): room for a worker's most contexts (4 pool threads × 8) plus libuv's own 4.
ENV NODE_ENV=production \
    UV_THREADPOOL_SIZE=36 \
    HOST=0.0.0.0 \
    PORT=8080 \
    MODELS_DIR=/models \
    FILES_DIR=/files
WORKDIR /app
# /models and /files (uploads and batch results) are created here, owned by the app user, so a
# fresh named volume mounted on either inherits that ownership and the non-root process can write
# into it (/app itself belongs to root).
RUN mkdir -p /models /files && chown node:node /models /files
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY --chown=root:root package.json ./
USER node
EXPOSE 8080 8081 9464
# Every role answers on some port; compose and ECS give each role its own check.
# This default suits the api role.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/tools/healthcheck.js"]
CMD ["node", "dist/api/main.js"]
