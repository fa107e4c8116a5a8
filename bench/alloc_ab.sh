#!/bin/bash
# alloc_ab.sh - builds what `make bench`'s S1 load needs (wrk must be installed:
# bench/run.sh installs it) and runs bench/alloc_ab.py: binday builds and/or
# allocators measured in alternating rounds on the S1 load, CPU per request.
#
#   bench/alloc_ab.sh [--rounds N] [--seconds S] NAME=BINARY[:PRELOAD] ...
# e.g. (docs/performance.md, "jansson's allocator"):
#   bench/alloc_ab.sh --rounds 5 jsonmem=build/ab/binday-jsonmem plain=build/ab/binday-plain \
#     jemalloc=build/ab/binday-plain:/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS="libh2o libuv openssl jansson libcurl lmdb"
CFLAGS="-std=gnu11 -O2 -g -Wall -Wextra -Werror -Iinclude -D_GNU_SOURCE -DH2O_USE_LIBUV=1 -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -lm -lpthread"
mkdir -p build/bench
cc $CFLAGS -o build/bench/signreq bench/signreq.c $LIBS
cc $CFLAGS -o build/bench/fast_api bench/fast_api.c $LIBS
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec /usr/bin/python3 bench/alloc_ab.py "$@"
