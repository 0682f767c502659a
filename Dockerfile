# Production image of the gateway: `node dist/cli.js serve` with the configuration at /etc/lienthong/config.json
# (mounted, with the agency keys and trust anchors it names) and its SQLite store, if any, on /var/lib/lienthong.
# The image holds no key and no sample PKI (certs-sample/ stays out): every secret comes from a mount or the
# environment. See README.md, "Container".
#   podman build --format docker -t lienthong .                              (public base node:20-bookworm-slim)
#   podman build --format docker --build-arg BASE_IMAGE=localhost/lienthong-base:20 -t lienthong .   (local base)
# Any base must be Debian bookworm-like with Node ^20.19 at /usr/local (node, npm, include/node) and a user `node`:
# .ci/container-base makes such an image with debootstrap and the official Node.js build from the npm registry.
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 and pkcs11js are compiled here against the image's own glibc and Node headers (no prebuilt
# download). The cache mounts keep apt's and npm's downloads between builds on one machine; the image has none.
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked --mount=type=cache,target=/var/lib/apt,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' >/etc/apt/apt.conf.d/keep-cache \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++
ENV npm_config_build_from_source=true \
    npm_config_nodedir=/usr/local \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY package.json package-lock.json ./
# dependencies first (a layer that survives source changes); only the two native modules run their install script
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --ignore-scripts --no-progress && npm rebuild better-sqlite3 pkcs11js
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts \
 && node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get(); require('pkcs11js')"

FROM ${BASE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production \
    LIENTHONG_HTTP_HOST=0.0.0.0 \
    LIENTHONG_HTTP_PORT=8080 \
    LIENTHONG_STORE_PATH=/var/lib/lienthong/lienthong.sqlite
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json README.md ./
COPY schemas ./schemas
# the operator console: the whole folder, served from <package root>/src/console
COPY src/console ./src/console
COPY config/production.example.json ./config/
RUN mkdir -p /var/lib/lienthong /etc/lienthong && chown node:node /var/lib/lienthong
USER node
EXPOSE 8080
VOLUME ["/var/lib/lienthong"]
# no curl in the slim image: Node's fetch asks /healthz on the configured port
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.LIENTHONG_HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve", "--config", "/etc/lienthong/config.json"]
