# pgvigil images (docker-compose.yml builds both):
#   --target sentinel  the sentinel (admin API and /metrics on 8088), Node 20 only
#   --target node      a PostgreSQL 15 node whose entrypoint is the pgvigil agent supervising
#                      postgres (agent API on 8008, postgres on 5432), pgBackRest installed
# Both run as a non-root user and carry a HEALTHCHECK on their API's GET /health (the agent
# binds to its nodes[].agent.url host: set AGENT_HEALTH_ADDR=<that host:port>). `pgvigil` is on
# PATH and `docker exec` starts in /etc/pgvigil, where compose mounts pgvigil.yaml: `docker exec
# postgres_master pgvigil backup list` finds its config.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# what both images run: the built CLI and its production dependencies
FROM ${NODE_IMAGE} AS runtime
WORKDIR /opt/pgvigil
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
COPY docker/healthcheck.mjs /opt/pgvigil/healthcheck.mjs
RUN ln -s /opt/pgvigil/bin/pgvigil.js /usr/local/bin/pgvigil && mkdir -p /etc/pgvigil
# the daemon V8 flags (src/local/node-flags.ts; `node file.js` does not read the bin shebang)
ENV NODE_ENV=production NODE_OPTIONS="--max-semi-space-size=2 --v8-pool-size=1"

FROM runtime AS sentinel
RUN useradd --system --uid 10001 --home-dir /var/lib/pgvigil --create-home pgvigil
USER pgvigil
WORKDIR /etc/pgvigil
EXPOSE 8088
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "/opt/pgvigil/healthcheck.mjs", "http://127.0.0.1:8088/health"]
ENTRYPOINT ["node", "/opt/pgvigil/bin/pgvigil.js"]
CMD ["sentinel", "--config", "/etc/pgvigil/pgvigil.yaml"]

FROM runtime AS node
# postgres is uid/gid 999, as in the official postgres image: the host's ./backups (the
# pgBackRest repository both nodes share) is chowned to it (README, Deploy with compose)
RUN groupadd --system --gid 999 postgres \
  && useradd --system --uid 999 --gid 999 --home-dir /var/lib/postgresql --shell /bin/bash postgres \
  && apt-get update \
  && apt-get install -y --no-install-recommends postgresql-15 pgbackrest ca-certificates \
  && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /var/lib/postgresql/data /var/lib/pgbackrest /var/run/postgresql \
  && chown -R postgres:postgres /var/lib/postgresql /var/lib/pgbackrest /var/run/postgresql
COPY docker/node-entrypoint.sh /usr/local/bin/pgvigil-node-entrypoint
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
USER postgres
WORKDIR /etc/pgvigil
EXPOSE 5432 8008
VOLUME ["/var/lib/postgresql/data"]
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 \
  CMD node /opt/pgvigil/healthcheck.mjs "http://${AGENT_HEALTH_ADDR:-127.0.0.1:8008}/health"
ENTRYPOINT ["/usr/local/bin/pgvigil-node-entrypoint"]
CMD ["agent", "--config", "/etc/pgvigil/pgvigil.yaml", "--node", "pg1"]
