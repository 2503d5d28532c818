# syntax=docker/dockerfile:1
#
# One image for every Flywheel service; the command chooses the service:
#
#   docker build -t flywheel:local .
#   docker run --rm -e KAFKA_BROKERS=... flywheel:local dist/services/collector/src/main.js
#   docker run --rm -e KAFKA_BROKERS=... -e TOPIC_REPLICATION_FACTOR=3 flywheel:local \
#     dist/libs/contracts/src/scripts/create-topics.js
#
# Stages: deps (every dependency, no install scripts) → build (swc, as `npm run build`) → prod-deps
# (runtime dependencies plus @tensorflow/tfjs-node's native binding) → runtime (non-root, only what runs).
# Deployment guide: infra/deploy.md.

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No dependency runs code at install time here: the build needs none (@swc/core ships its binary as a
# platform package), and tfjs-node's download belongs to the runtime dependencies below.
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM deps AS build
COPY .swcrc ./
COPY libs ./libs
COPY services ./services
RUN npm run build

FROM ${NODE_IMAGE} AS prod-deps
# tfjs-node's install script downloads libtensorflow and a prebuilt N-API addon; python3/make/g++ are
# node-pre-gyp's fallback when no prebuilt addon fits the platform. They stay in this stage.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts stay off for every package (npm 11 runs only those allowed in package.json's
# "allowScripts", and npm 12 enforces it); tfjs-node's is run explicitly, as the one this image needs.
# The require() fails the build if the native backend did not install, instead of an image that would
# silently fall back to the wasm backend.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm rebuild @tensorflow/tfjs-node --ignore-scripts=false --foreground-scripts \
  && node -e "require('@tensorflow/tfjs-node')" \
  && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
  HTTP_PORT=8080
WORKDIR /app
# Root owns the files and the service user only reads them.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY infra/docker/entrypoint.sh infra/docker/healthcheck.mjs ./infra/docker/
# `node` (uid 1000) comes with the official Node images.
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=90s --retries=3 \
  CMD ["node", "infra/docker/healthcheck.mjs", "ready"]
ENTRYPOINT ["sh", "/app/infra/docker/entrypoint.sh"]
CMD []
