#!/usr/bin/env bash
# Builds local stand-ins for the two base images of the Dockerfile, for a
# machine whose Docker engine runs but reaches no image registry (this
# repository's CI): golang:1.26-bookworm from this machine's Go toolchain,
# module cache and build cache (with GOPROXY=off, so the image build needs no
# network), and gcr.io/distroless/static-debian12:nonroot as the files the
# static image provides that erpsync uses (passwd/group with nonroot 65532,
# CA certificates, /tmp). Tagged under the real names, so `docker build .`
# uses them as it would the real ones. Never pushed anywhere.
#
#   DOCKER_HOST=unix:///path/docker.sock bash tests/deploy/container/standin-bases.sh
set -euo pipefail

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- gcr.io/distroless/static-debian12:nonroot ---
d="$work/static"
mkdir -p "$d/rootfs/etc/ssl/certs" "$d/rootfs/tmp" "$d/home/nonroot"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$d/rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$d/rootfs/etc/group"
cp /etc/ssl/certs/ca-certificates.crt "$d/rootfs/etc/ssl/certs/"
# Copied as children of rootfs/, so that /tmp keeps its mode (1777).
chmod 1777 "$d/rootfs/tmp"
cat >"$d/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs /
COPY --chown=65532:65532 home /home
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532
WORKDIR /home/nonroot
DOCKERFILE
docker build -q -t gcr.io/distroless/static-debian12:nonroot "$d" >/dev/null

# --- golang:1.26-bookworm ---
g="$work/golang"
mkdir -p "$g/root"
goroot=$(go env GOROOT)
# A shell and the two tools the Dockerfile's RUN lines use, with their libraries.
for bin in /bin/sh /bin/dash /bin/mkdir /bin/chmod; do
  cp --parents -L "$bin" "$g/root/"
  ldd "$bin" | grep -o '/[^ ]*' | while read -r lib; do cp --parents -L "$lib" "$g/root/"; done
done
mkdir -p "$g/root/usr/local" "$g/root/go/pkg" "$g/root/root/.cache" "$g/root/tmp"
cp -a "$goroot" "$g/root/usr/local/go"
# The image runs `go mod download` offline: the whole module graph must be
# in the cache, not only what the host's builds have fetched so far.
(cd "$(dirname "$0")/../../.." && go mod download)
cp -a "$(go env GOMODCACHE)" "$g/root/go/pkg/mod"
# The build cache makes the image build minutes shorter; it is only a cache.
if [ -d "$(go env GOCACHE)" ]; then cp -a "$(go env GOCACHE)" "$g/root/root/.cache/go-build"; fi
chmod 1777 "$g/root/tmp"
cat >"$g/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY root /
ENV PATH=/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    GOPATH=/go GOMODCACHE=/go/pkg/mod GOCACHE=/root/.cache/go-build GOPROXY=off GOTOOLCHAIN=local
DOCKERFILE
docker build -q -t golang:1.26-bookworm "$g" >/dev/null
echo "stand-in base images: golang:1.26-bookworm, gcr.io/distroless/static-debian12:nonroot"
