# Build stage: compile TypeScript and the native SQLite binding.
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
COPY bench ./bench
COPY wsdl ./wsdl
RUN npm run build && npm prune --omit=dev

# Runtime stage: no compilers, no npm cache, a non-root user, everything it writes on volumes.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/package.json ./package.json
COPY --from=build --chown=root:root /app/wsdl ./wsdl
# the web dashboard's static files (served as they are: no build step)
COPY --chown=root:root web ./web
# The program is owned by root and read-only to the service user; only the data volumes are its.
RUN mkdir -p /var/lib/wsus/content && chown -R node:node /var/lib/wsus
USER node
ENV WSUS_DATA=/var/lib/wsus
# The database, config.json and tokens live in /var/lib/wsus; update files in its content/
# folder, a volume of its own so it can sit on a bigger disk.
VOLUME ["/var/lib/wsus", "/var/lib/wsus/content"]
# 8530: clients (metadata over HTTP and /Content); 8531: HTTPS metadata when tlsCert/tlsKey are
# set. The admin API (8532) listens on the container's loopback: use `docker exec … wsus …`,
# or set admin.host with admin.tlsCert to publish it deliberately.
EXPOSE 8530 8531
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:8530/ClientWebService/wusserverversion.xml').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM (docker stop) drains in-flight requests and closes the database cleanly.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
