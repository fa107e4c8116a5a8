#!/bin/bash
# deploy/load-demo-data.sh - generate and import the synthetic district used by
# `make run` (about 60,000 properties, like Breckland) into an LMDB data dir.
# Usage: deploy/load-demo-data.sh DATA_DIR [PROPERTIES] [BINARY]
# Idempotent: re-running replaces the tables in one transaction (a running
# server sees the new data at once).
set -euo pipefail
DATA=${1:?usage: $0 DATA_DIR [PROPERTIES] [BINARY]}
N=${2:-60000}
BIN=${3:-./build/release/binday}
CSV="$DATA.demo-csv"
"$BIN" demo-data --out "$CSV" --properties "$N" --seed 1
"$BIN" import --data "$DATA" \
  --addresses "$CSV/addresses.csv" --services "$CSV/services.csv" --rounds "$CSV/rounds.csv" \
  --assignments "$CSV/assignments.csv" --exceptions "$CSV/exceptions.csv" \
  --notices "$CSV/notices.csv" --materials "$CSV/materials.csv"
