#!/usr/bin/env bash
# The benchmark harness: builds the binary and the benchmark test binaries
# once, runs every benchmark with its baseline in the same run, and rewrites
# bench/RESULTS.md (machine, commands, medians, ratios). Takes about twenty
# minutes on 2 cores, twelve of them the WDT backfill (720 calls paced at
# 60 a minute). Needs MariaDB/MySQL at MYSQL_DSN, which it starts or
# installs like tests/run.sh.
set -euo pipefail

cd "$(dirname "$0")/.."
export MYSQL_DSN="${MYSQL_DSN:-root@tcp(127.0.0.1:3306)/test}"
export BENCH_RECORDS="${BENCH_RECORDS:-5000}"
export BENCH_STREAM_RECORDS="${BENCH_STREAM_RECORDS:-1000000}"
export BENCH_K3_RECORDS="${BENCH_K3_RECORDS:-1000}"
export BENCH_WDT_DAYS="${BENCH_WDT_DAYS:-30}"

say() { printf '[bench/run.sh] %s\n' "$*" >&2; }
die() { say "FAIL: $*"; exit 1; }

# shellcheck source=tests/lib/mariadb.sh
. tests/lib/mariadb.sh
ensure_db

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

say "building erpsync and the benchmark binaries"
go build -o .bin/erpsync ./cmd/erpsync
export ERPSYNC_BIN="$PWD/.bin/erpsync"
for pkg in bench plugins/kingdee plugins/mysql plugins/kafka; do
	go test -c -o "$out/$(basename "$pkg").test" "./$pkg"
done

# run <section> <package dir> <test binary> <bench flags...>: the binary runs
# in its package folder, as go test would run it.
run() {
	local section=$1 dir=$2 bin=$3
	shift 3
	say "$section: $*"
	(cd "$dir" && "$out/$bin" -test.run '^$' -test.benchmem=false "$@") | tee "$out/$section.txt" >&2
}

run source   bench           bench.test   -test.bench JushuitanBackfill -test.benchtime 1x -test.count 3
run wdt      bench           bench.test   -test.bench WDTBackfill -test.benchtime 1x -test.count 1
run k3cloud  plugins/kingdee kingdee.test -test.bench BatchSave -test.count 3 -test.benchtime 3x
run salesout bench           bench.test   -test.bench SalesOutToKingdee -test.benchtime 1x -test.count 3
run mysql    plugins/mysql   mysql.test   -test.bench BenchmarkMySQLOutput -test.count 3
run kafka    plugins/kafka   kafka.test   -test.bench BenchmarkKafkaOutput -test.count 3
run catalogue bench          bench.test   -test.bench CatalogueCalls -test.benchtime 1x -test.count 1
run mapping  bench           bench.test   -test.bench XBBProductMapping -test.count 3
run memory   bench           bench.test   -test.bench StreamMemory -test.benchtime 1x

go run ./bench/report -dir "$out" -out bench/RESULTS.md \
	-env "BENCH_RECORDS=$BENCH_RECORDS BENCH_STREAM_RECORDS=$BENCH_STREAM_RECORDS BENCH_K3_RECORDS=$BENCH_K3_RECORDS BENCH_WDT_DAYS=$BENCH_WDT_DAYS"
say "wrote bench/RESULTS.md"
