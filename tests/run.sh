#!/usr/bin/env bash
# The one test command of erpsync: makes sure MariaDB/MySQL answers at
# MYSQL_DSN (starting or installing a local MariaDB when needed), then runs
# go vet, every Go test (integration tests included, the container image
# built and run on a Docker engine it starts when none answers, the console
# driven in chromium, installed when missing) and the
# Bloblang mapping tests of config/. Exits non-zero on any failure.
set -euo pipefail

cd "$(dirname "$0")/.."
export MYSQL_DSN="${MYSQL_DSN:-root@tcp(127.0.0.1:3306)/test}"

say() { printf '[tests/run.sh] %s\n' "$*" >&2; }
die() { say "FAIL: $*"; exit 1; }

# shellcheck source=tests/lib/mariadb.sh
. tests/lib/mariadb.sh
# shellcheck source=tests/lib/docker.sh
. tests/lib/docker.sh
# shellcheck source=tests/lib/browser.sh
. tests/lib/browser.sh

ensure_db

say "go vet ./..."
go vet ./...

say "building erpsync"
go build -o .bin/erpsync ./cmd/erpsync
export ERPSYNC_BIN="$PWD/.bin/erpsync"

say "Docker engine for the container test"
ensure_docker

say "chromium and playwright-core for the console's browser test"
ensure_browser

say "go test ./..."
go test -count=1 -timeout 30m ./...

say "erpsync lint and test of config/"
configs=$( (find config -name '*.yaml' ! -name '*_benthos_test.yaml' ! -path 'config/resources/*' 2>/dev/null || true) | sort)
resources=$( (find config/resources -name '*.yaml' 2>/dev/null || true) | sort | paste -sd, -)
if [ -n "$configs" ]; then
	# shellcheck disable=SC2086
	.bin/erpsync lint -e config/placeholders.env ${resources:+-r "$resources"} $configs
fi
if [ -n "$(find config -name '*_benthos_test.yaml' 2>/dev/null || true)" ]; then
	.bin/erpsync test -e config/placeholders.env -r 'config/resources/*.yaml' ./config/...
else
	# `erpsync test` fails when it finds no test; an empty tree is not a failure.
	say "config/ holds no mapping tests yet"
fi

say "all passed"
