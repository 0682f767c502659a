# Production image of the gateway. Mount a configuration (and the agency keys it names) at /etc/lienthong.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# npm ci runs the prepare script, which compiles src/ to dist/
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY schemas ./schemas
COPY config ./config
COPY certs-sample ./certs-sample
RUN mkdir -p /var/lib/lienthong && chown node:node /var/lib/lienthong
USER node
EXPOSE 8080
VOLUME ["/var/lib/lienthong"]
CMD ["node", "dist/cli.js", "serve", "--config", "/etc/lienthong/config.json"]
