# syntax=docker/dockerfile:1
# One image for every app; the command chooses which one runs:
#   node dist/apps/api/src/main.js                     the HTTP api (PORT, default 3000)
#   node dist/apps/worker/src/main.js                  the worker (health and metrics on WORKER_PORT, 3002)
#   node --max-semi-space-size=64 dist/apps/gateway/src/main.js   the gateway (GATEWAY_PORT, 3001)
#   node dist/libs/core/src/database/migrate.cli.js run  apply pending migrations (the helm hook Job)
# Not built in CI here (no Docker engine on the build machine); test/deployment checks it statically.

# ---- build: every dependency, compile TypeScript (apps, libs and migrations) and build the web
# console (vite, apps/console -> dist/apps/console) into dist/ ----
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: nothing the build needs runs one, and it keeps packages from running code here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
COPY migrations ./migrations
RUN npm run build

# ---- deps: production dependencies only ----
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime: node, production node_modules and the compiled output, nothing else ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/var/lib/control-plane \
    MIGRATIONS_RUN=false
WORKDIR /app
# uid/gid 10001, no login shell, owns only DATA_DIR (the root filesystem can be mounted read-only).
RUN groupadd --gid 10001 controlplane \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin controlplane \
 && mkdir -p /var/lib/control-plane \
 && chown 10001:10001 /var/lib/control-plane \
 && chmod 0700 /var/lib/control-plane
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/package.json ./package.json
# dist/migrations/*.js is where the apps and the migration CLI load migrations from
# (MIGRATIONS_GLOB resolves <dist>/libs/core/src/database/../../../../migrations).
COPY --from=build /src/dist ./dist
COPY --from=build /src/libs/language-model/corpus ./libs/language-model/corpus
USER 10001:10001
EXPOSE 3000 3002
# Exec form: node is PID 1 and receives SIGTERM itself (graceful shutdown, SHUTDOWN_TIMEOUT_MS).
ENTRYPOINT ["node"]
CMD ["dist/apps/api/src/main.js"]
