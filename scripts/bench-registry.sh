#!/usr/bin/env bash
# The registry's end-to-end figures (issue "registry foundation"):
#   gen of N records; dev start-up with 20,000 and N records; import of N
#   records into PostgreSQL against `psql \copy` of the same rows into a bare
#   table; lookup latency of both stores.
# Usage: scripts/bench-registry.sh [N]   (default 1000000)
# Needs the PostgreSQL of scripts/services.sh; works in a throwaway schema.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/usr/local/go/bin:$PATH"

N=${1:-1000000}
eval "$(bash scripts/services.sh)"
DB=${DEGREEGATE_TEST_DATABASE_URL:?services.sh sets it}
work=$(mktemp -d)
schema="dgbench_$$"
cleanup() {
  [[ -n "${devpid:-}" ]] && kill "$devpid" 2>/dev/null || true
  psql -q "$DB" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

CGO_ENABLED=0 go build -trimpath -o "$work/degreegate" ./cmd/degreegate
dg="$work/degreegate"
timed() { /usr/bin/time -f '%e %M' -o "$work/time" "$@"; read -r secs kb <"$work/time"; }

echo "== gen $N records"
timed "$dg" gen --records "$N" --seed 1 --out "$work/records.csv"
echo "gen: ${secs}s, max RSS $((kb / 1024)) MiB, $(du -h "$work/records.csv" | cut -f1)"

dev_ready() { # records
  local log="$work/dev.log"
  "$dg" dev --records "$1" --addr 127.0.0.1:0 >"$log" 2>&1 &
  devpid=$!
  for _ in $(seq 1 600); do
    grep -q 'listening on' "$log" && break
    sleep 0.1
  done
  local rss
  rss=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$devpid/status")
  echo "dev --records $1: $(grep -o 'ready in [^ ]*' "$log"), peak RSS ${rss} MiB"
  kill "$devpid"; wait "$devpid" 2>/dev/null || true; devpid=
}
echo "== dev start-up"
dev_ready 20000
dev_ready "$N"

echo "== import $N records into PostgreSQL"
psql -q "$DB" -c "CREATE SCHEMA $schema" >/dev/null
url="$DB"; [[ "$url" == *\?* ]] && url="$url&search_path=$schema" || url="$url?search_path=$schema"
"$dg" keys init --dir "$work/keys" >/dev/null
DATABASE_URL="$url" "$dg" migrate >/dev/null
DATABASE_URL="$url" DEGREEGATE_KEYS_DIR="$work/keys" timed "$dg" import --quiet "$work/records.csv"
awk -v n="$N" -v s="$secs" -v kb="$kb" 'BEGIN { printf "import: %.1fs, %.0f records/s, max RSS %d MiB\n", s, n/s, kb/1024 }'
import_secs=$secs

# Reference: the same rows into a bare table of text columns, no checks.
cols=$(head -1 "$work/records.csv" | sed 's/^\xEF\xBB\xBF//; s/,/ text, /g; s/$/ text/')
psql -q "$DB" -c "CREATE TABLE $schema.bare ($cols)" >/dev/null
start=$(date +%s.%N)
psql -q "$DB" -c "\\copy $schema.bare FROM '$work/records.csv' WITH (FORMAT csv, HEADER true)" >/dev/null
copy_secs=$(echo "$(date +%s.%N) - $start" | bc)
awk -v n="$N" -v c="$copy_secs" -v i="$import_secs" 'BEGIN { printf "psql \\copy into a bare table: %.1fs, %.0f rows/s; import takes %.2fx as long\n", c, n/c, i/c }'

echo "== lookups by certificate number"
go test -run '^$' -bench 'BenchmarkCurrent$' -benchtime 200000x ./registry/inmem/ | grep -E '^Benchmark'
DEGREEGATE_BENCH_ROWS=$N go test -run '^$' -bench 'BenchmarkCurrent$' -benchtime 20000x -timeout 60m ./registry/postgres/ | grep -E '^Benchmark'
