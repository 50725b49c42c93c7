# Vigil in a container, for docker-compose.yml and production workers.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# mattn/go-sqlite3 needs cgo.
RUN CGO_ENABLED=1 go build -trimpath -o /out/vigil ./cmd/vigil

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates procps \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/vigil /usr/local/bin/vigil
COPY examples/runbooks /etc/vigil/runbooks
VOLUME /var/lib/vigil
EXPOSE 8080
ENTRYPOINT ["vigil"]
CMD ["dev", "--data-dir", "/var/lib/vigil", "--runbooks", "/etc/vigil/runbooks", "--http-addr", "0.0.0.0:8080"]
