# syntax=docker/dockerfile:1
# Multi-stage build of the erpsync binary: static, no cgo, with Go's time-zone
# database embedded (vendor times are Asia/Shanghai), on a distroless base
# that runs as a non-root user.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X github.com/erpsync/erpsync/internal/buildinfo.Version=${VERSION}" \
      -o /out/erpsync ./cmd/erpsync

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/erpsync /usr/local/bin/erpsync
COPY config /config-examples
USER nonroot:nonroot
EXPOSE 4195
ENTRYPOINT ["erpsync"]
CMD ["run", "/config/stream.yaml"]
