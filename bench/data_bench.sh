#!/bin/bash
# bench/data_bench.sh - the data side's benchmark (release build):
#   import rate (rows/s) and bytes per property at N properties (default
#   1,000,000, ~200 MB of CSV), and in-process lookup latency (address match +
#   28 days of collections) p50/p99.
# Usage: bench/data_bench.sh [PROPERTIES] [LOOKUPS]
# Needs `make all` (build/release/binday). Uses a temp dir under $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
Q=${2:-50000}
BIN=${BINDAY_RELEASE_BIN:-build/release/binday}
[ -x "$BIN" ] || { echo "build first: make all" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/binday-bench-XXXXXX")
trap 'rm -rf "$T"' EXIT
echo "== data bench: $N properties, $Q lookups ($(nproc) cores, $(uname -m))"
t0=$(date +%s.%N)
"$BIN" demo-data --out "$T/csv" --properties "$N" --seed 42 --year 2026 >/dev/null
t1=$(date +%s.%N)
bytes=$(cat "$T"/csv/*.csv | wc -c)
awk -v b="$bytes" -v a="$t0" -v c="$t1" 'BEGIN { printf "generated: %.1f MB of CSV in %.1f s\n", b / 1e6, c - a }'
args=()
for f in addresses services rounds assignments exceptions notices; do args+=(--$f "$T/csv/$f.csv"); done
sync
"$BIN" import --data "$T/env" "${args[@]}" | tail -1 | sed 's/^/import: /'
# a second import over the existing data (replacement, server-style)
"$BIN" import --data "$T/env" "${args[@]}" | tail -1 | sed 's/^/re-import (replace): /'
size=$(stat -c %s "$T/env/data.mdb")
"$BIN" backup --data "$T/env" --out "$T/compact.mdb" >/dev/null
csize=$(stat -c %s "$T/compact.mdb")
awk -v s="$size" -v c="$csize" -v n="$N" \
  'BEGIN { printf "store: %d bytes = %.0f bytes/property (compacted backup: %.0f bytes/property)\n", s, s / n, c / n }'
"$BIN" bench-lookup --data "$T/env" --n "$Q" --from 2026-12-14

# A single ~200 MB file (the issue's "200 MB file"): assignments.csv of about
# 1,850,000 properties, imported on its own against the stored addresses.
# Skip with BIG=0.
if [ "${BIG:-1}" != 0 ]; then
  rm -rf "$T/env" "$T/csv" "$T/compact.mdb"
  "$BIN" demo-data --out "$T/big" --properties 1850000 --seed 43 --year 2026 >/dev/null
  fsize=$(stat -c %s "$T/big/assignments.csv")
  "$BIN" import --data "$T/benv" --addresses "$T/big/addresses.csv" --services "$T/big/services.csv" \
    --rounds "$T/big/rounds.csv" >/dev/null
  awk -v f="$fsize" 'BEGIN { printf "single file: assignments.csv %.0f MB, ", f / 1e6 }'
  "$BIN" import --data "$T/benv" --assignments "$T/big/assignments.csv" | tail -1
fi
