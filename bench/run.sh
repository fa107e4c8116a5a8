#!/bin/bash
# run.sh - `make bench` (after `make deps all`): installs what the benchmarks
# need, builds the helper programs into build/bench/, and runs bench/bench.py,
# which prints the table and writes bench/results.md. See bench/README.md.
#
# Needs root on a fresh Debian 12 for the first run (apt-get install of wrk,
# nodejs, npm, linux-perf, valgrind when missing); the Node peer's
# packages come from the npm registry via `npm ci` (bench/node-peer/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package (checked by command: node and npm may come from
# another Debian-format nodejs package that includes npm)
need=()
for cp in wrk:wrk node:nodejs npm:npm perf:linux-perf valgrind:valgrind callgrind_annotate:valgrind \
          taskset:util-linux openssl:openssl; do
  command -v "${cp%%:*}" >/dev/null 2>&1 || need+=("${cp#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing Debian packages: ${need[*]}"
  if [ "$(id -u)" != 0 ]; then echo "bench: run as root (or install them first)" >&2; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(printf "%s\n" "${need[@]}" | sort -u) >/dev/null
fi

if [ ! -d bench/node-peer/node_modules/ask-sdk-express-adapter ] ||
   [ bench/node-peer/package-lock.json -nt bench/node-peer/node_modules/.package-lock.json ]; then
  echo "bench: npm ci in bench/node-peer"
  (cd bench/node-peer && npm ci --no-audit --no-fund --loglevel=error)
fi

# the request generator, compiled with the release build's warnings
PKGS="libh2o libuv openssl jansson libcurl lmdb"
CFLAGS="-std=gnu11 -O2 -g -Wall -Wextra -Werror -Iinclude -D_GNU_SOURCE -DH2O_USE_LIBUV=1 -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -lm -lpthread"
mkdir -p build/bench
cc $CFLAGS -o build/bench/signreq bench/signreq.c $LIBS
# JSON parse micro-benchmark: jansson json_loadb vs src/json/jsonload.c on an envelope
cc $CFLAGS -o build/bench/jsonload_bench bench/jsonload_bench.c src/json/jsonload.c src/util/utf8.c $LIBS
# the Device Address API stand-in (h2o, like binday's own server)
cc $CFLAGS -o build/bench/fast_api bench/fast_api.c $LIBS

# 1,000 client connections plus as many upstream ones
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# `bench/run.sh --measure cpu|syscalls|callgrind BIN [BIN_B] ...`: one
# measurement of bench/measure.py (the figures docs/ cite) instead of the whole bench
if [ "${1:-}" = "--measure" ]; then
  shift
  exec /usr/bin/python3 bench/measure.py "$@"
fi
# the staff console's pages on the 60,000-property demo district (issue 17:
# each under 50 ms of server time); the table is also kept in build/bench/
/usr/bin/python3 bench/console_pages.py build/release/binday | tee build/bench/console_pages.txt
exec /usr/bin/python3 bench/bench.py "$@"
