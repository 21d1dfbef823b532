# Used by tests/run.sh: make sure a Docker engine answers for
# tests/deploy's TestContainerImage, so the image is built and run on every
# test run. When no engine answers it installs Debian's docker.io if dockerd
# is missing and starts a private dockerd (its own data root and socket under
# /tmp, no iptables changes, no bridge: the test uses host networking or
# none), stopped again when the script exits. When the Dockerfile's base
# images are neither present nor pullable (no registry answers here), it
# builds local stand-ins with tests/deploy/container/standin-bases.sh.
# Source it from the repository root after defining say/die and as_root
# (tests/lib/mariadb.sh); call ensure_docker. Exports DOCKER_HOST when it
# starts the engine, and ERPSYNC_CONTAINER_TEST=required.

docker_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

stop_private_dockerd() {
	[ -n "${erpsync_dockerd_root:-}" ] || return 0
	local pid
	pid=$(cat "$erpsync_dockerd_root/dockerd.pid" 2>/dev/null || true)
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	# dockerd can leave namespace mounts under its exec root.
	awk -v r="$erpsync_dockerd_root" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r |
		while read -r m; do as_root umount "$m" 2>/dev/null || true; done
	as_root rm -rf "$erpsync_dockerd_root" 2>/dev/null || true
}

ensure_docker() {
	export ERPSYNC_CONTAINER_TEST=required
	if ! docker_answers; then
		if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
			say "no Docker engine installed: installing Debian's docker.io"
			command -v apt-get >/dev/null 2>&1 || die "apt-get is not available; install a Docker engine yourself"
			as_root apt-get update -q >/dev/null || die "apt-get update failed"
			as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null ||
				die "apt-get install docker.io failed"
		fi
		erpsync_dockerd_root=$(mktemp -d /tmp/erpsync-dockerd.XXXXXX)
		trap stop_private_dockerd EXIT
		say "starting a private dockerd ($erpsync_dockerd_root)"
		as_root dockerd --data-root "$erpsync_dockerd_root/data" --exec-root "$erpsync_dockerd_root/exec" \
			-H "unix://$erpsync_dockerd_root/docker.sock" --pidfile "$erpsync_dockerd_root/dockerd.pid" \
			--iptables=false --ip6tables=false --bridge=none >"$erpsync_dockerd_root/dockerd.log" 2>&1 &
		export DOCKER_HOST="unix://$erpsync_dockerd_root/docker.sock"
		for _ in $(seq 1 120); do docker_answers && break; sleep 0.5; done
		docker_answers || die "dockerd did not start: $(tail -n 3 "$erpsync_dockerd_root/dockerd.log")"
	fi
	local missing=""
	for image in $(awk '/^FROM /{print $2}' Dockerfile); do
		docker image inspect "$image" >/dev/null 2>&1 && continue
		docker pull -q "$image" >/dev/null 2>&1 && continue
		missing="$missing $image"
	done
	if [ -n "$missing" ]; then
		say "base images not available from a registry:$missing; building local stand-ins"
		bash tests/deploy/container/standin-bases.sh >&2 || die "building the stand-in base images failed"
	fi
}
