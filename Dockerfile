# Vigil's single binary in a container. One image runs every mode; pick it with
# the command (docker-compose.yml's `command:`, a Kubernetes container's `args:`):
#   dev --data-dir /var/lib/vigil ...                    the default: one process, SQLite, embedded Temporal
#   serve --store postgres://… --temporal-address H:7233 a production replica (roles api,ingest,worker,console)
#   temporal-server --store postgres://… --listen 0.0.0.0:7233
#   migrate --store postgres://…
# There is no HEALTHCHECK: dev and serve answer GET /healthz and /readyz on their
# HTTP port, temporal-server has no HTTP port, so one check cannot fit every mode.
# docker-compose.yml and the Helm chart (deploy/helm/vigil) declare their own.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# mattn/go-sqlite3 needs cgo. The cache mounts (BuildKit, Docker's default builder
# since 23.0) make a rebuild after an edit take seconds, not a cold build's ~10 minutes.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath -o /out/vigil ./cmd/vigil

FROM debian:bookworm-slim
# tini is PID 1: it forwards SIGTERM to Vigil (which shuts down gracefully) and
# reaps the orphans runbook steps leave behind. curl serves health checks and
# runbook steps; procps gives steps ps and kill.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl procps tini \
 && rm -rf /var/lib/apt/lists/*
# A fixed non-root user, so Kubernetes can check runAsNonRoot and volumes can be
# owned by it. A new named volume on /var/lib/vigil starts owned by it; a host
# directory bind-mounted there must be writable by uid 10001.
RUN groupadd --system --gid 10001 vigil \
 && useradd --system --uid 10001 --gid vigil --home-dir /var/lib/vigil --no-create-home \
      --shell /usr/sbin/nologin vigil \
 && mkdir -p /var/lib/vigil \
 && chown vigil:vigil /var/lib/vigil
COPY --from=build /out/vigil /usr/local/bin/vigil
COPY examples/runbooks /etc/vigil/runbooks
USER 10001:10001
WORKDIR /var/lib/vigil
VOLUME /var/lib/vigil
EXPOSE 8080 7233
ENTRYPOINT ["/usr/bin/tini", "--", "vigil"]
CMD ["dev", "--data-dir", "/var/lib/vigil", "--runbooks", "/etc/vigil/runbooks", "--http-addr", "0.0.0.0:8080"]
