#!/bin/bash
# privacy_bench.sh - cost of transcripts (per turn) and of erasure (vault
# rotation) with many users, on a throwaway data directory.
#   usage: bench/privacy_bench.sh [USERS] [TURNS]
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory -s build/release/libbinday.a >/dev/null
tmp=$(mktemp -d /tmp/binday-pbench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
PKGS="libh2o libuv openssl jansson libcurl lmdb"
cc -std=gnu11 -O2 -Iinclude -D_GNU_SOURCE -DH2O_USE_LIBUV=1 -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED $(pkg-config --cflags $PKGS) \
   -o "$tmp/privacy_bench" bench/privacy_bench.c build/release/libbinday.a $(pkg-config --libs $PKGS) -lm -lpthread
"$tmp/privacy_bench" "$tmp/data" "${1:-10000}" "${2:-2000}"
