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

# Runtime stage: non-root, data on a volume.
FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/wsdl ./wsdl
# the web dashboard's static files (served as they are: no build step)
COPY web ./web
RUN mkdir -p /var/lib/wsus && chown node:node /var/lib/wsus
USER node
ENV WSUS_DATA=/var/lib/wsus
VOLUME ["/var/lib/wsus"]
EXPOSE 8530
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:8530/ClientWebService/wusserverversion.xml').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
