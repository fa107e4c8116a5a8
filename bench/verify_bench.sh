#!/bin/bash
# verify_bench.sh - CPU cost of Alexa request verification next to
# `openssl speed rsa2048` on the same machine. Builds the release library,
# makes a throwaway PKI (tests/integration/alexa_pki.py), compiles
# bench/verify_bench.c against it and prints both figures.
#   usage: bench/verify_bench.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
ITER=${1:-20000}
make --no-print-directory -s build/release/libbinday.a >/dev/null
tmp=$(mktemp -d /tmp/binday-vbench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 tests/integration/alexa_pki.py "$tmp/pki"
PKGS="libh2o libuv openssl jansson libcurl lmdb"
cc -std=gnu11 -O2 -Iinclude -D_GNU_SOURCE -DH2O_USE_LIBUV=1 -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED $(pkg-config --cflags $PKGS) \
   -o "$tmp/verify_bench" bench/verify_bench.c build/release/libbinday.a $(pkg-config --libs $PKGS) -lm -lpthread
echo "== openssl speed rsa2048 ($(openssl version))"
openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048/ {printf "openssl_rsa2048_verify_per_s=%s (%.1f us each)\n", $NF, 1e6/$NF}'
echo "== binday verification (one thread, cached chain)"
"$tmp/verify_bench" "$tmp/pki" "$ITER"
echo "== signed POST /alexa over HTTPS keep-alive, one server thread (release binary)"
make --no-print-directory -s build/release/binday >/dev/null
/usr/bin/python3 bench/verify_http_bench.py build/release/binday "${BENCH_SECONDS:-10}"
