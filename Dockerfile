# syntax=docker/dockerfile:1
# Multi-stage build of the erpsync binary: static, no cgo, with Go's time-zone
# database embedded (vendor times are Asia/Shanghai), on a distroless base
# that runs as a non-root user (nonroot, uid 65532).
#
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg BUILD_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t erpsync:local .
#
# Layout (tests/deploy/container_files_test.go checks it against the shipped
# configs):
#   /usr/local/bin/erpsync
#   /etc/erpsync/streams/     config/streams/ (erpsync streams /etc/erpsync/streams)
#   /etc/erpsync/resources/   config/resources/, loaded with -r by the default command
#   /config/stream.yaml       deploy-config/stream.yaml; mount your own /config over it
#   /var/lib/erpsync/         working directory, writable by nonroot
#     state/                  ERPSYNC_STATE_DIR, a volume: checkpoints, ledgers,
#                             dead_letters, replays
#     import/                 where excel_to_kingdee_materials.yaml looks (./import/*.xlsx)

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
ARG BUILD_DATE=""
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X github.com/erpsync/erpsync/internal/buildinfo.Version=${VERSION} -X github.com/erpsync/erpsync/internal/buildinfo.Date=${BUILD_DATE}" \
      -o /out/erpsync ./cmd/erpsync
# The working directory and the state folders, created here (the runtime
# image has no shell) and owned by nonroot below. A new named volume mounted
# on state/ starts as a copy of this folder, ownership included; the
# dead-letter file outputs need dead_letters/ to exist.
RUN mkdir -p /out/work/state/checkpoints /out/work/state/ledgers \
      /out/work/state/dead_letters /out/work/state/replays /out/work/import \
 && chmod -R 0700 /out/work/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/erpsync /usr/local/bin/erpsync
COPY config/streams /etc/erpsync/streams
COPY config/resources /etc/erpsync/resources
COPY deploy-config /config
COPY --from=build --chown=65532:65532 /out/work /var/lib/erpsync
WORKDIR /var/lib/erpsync
ENV ERPSYNC_STATE_DIR=/var/lib/erpsync/state
VOLUME ["/var/lib/erpsync/state"]
USER 65532:65532
# 4195: the HTTP server (/ready, /metrics; the streams API in streams mode).
# It listens on 127.0.0.1 unless http.address says otherwise, so the
# command opens it with --set http.address=0.0.0.0:4195.
# 8080: webhook_fanout.yaml's receiver (WEBHOOK_ADDR, default 0.0.0.0:8080).
EXPOSE 4195 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["erpsync", "healthcheck"]
ENTRYPOINT ["erpsync"]
CMD ["run", "--set", "http.address=0.0.0.0:4195", "-r", "/etc/erpsync/resources/*.yaml", "-r", "/config/resources/*.yaml", "/config/stream.yaml"]
