#!/bin/bash
# hmac_bench.sh - ns per HMAC-SHA256: src/util/algo.c as in the work tree
# against algo.c as of another revision, both linked into bench/hmac_bench.c,
# run alternately (old, new, old, new, ...) so drift on a shared machine hits
# both; prints every round, the medians and the new/old ratio pair by pair.
#
# usage: bench/hmac_bench.sh [ROUNDS] [BASE_REV] [hmac_bench options]
#   BASE_REV defaults to the parent of the commit that took SHA256_Init out of
#   algo.c (the deprecated-API version); e.g. bench/hmac_bench.sh 7 HEAD~3 --msg 40
# HMAC_PRELOAD=/usr/lib/x86_64-linux-gnu/libmimalloc.so.2 runs both on the
# allocator the release binary links (the new version allocates; the old did not).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}
base=${2:-}
shift $(( $# > 2 ? 2 : $# ))
if [ -z "$base" ]; then
  c=$(git log --format=%H -S'SHA256_Init(' -- src/util/algo.c | head -1)
  base="$c^"
fi

PKGS="libh2o libuv openssl jansson libcurl lmdb"
COMMON="-std=gnu11 -O2 -g -Wall -Wextra -Werror -Iinclude -D_GNU_SOURCE -DH2O_USE_LIBUV=1 $(pkg-config --cflags $PKGS)"
NODEP="-DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED"
LIBS="$(pkg-config --libs $PKGS) -lm -lpthread"
out=build/bench/hmac
mkdir -p "$out"
make --no-print-directory -s build/release/libbinday.a >/dev/null
git show "$base:src/util/algo.c" >"$out/algo_old.c"
# the old file may need deprecated declarations: compiled without NODEP
cc $COMMON -c -o "$out/algo_old.o" "$out/algo_old.c"
cc $COMMON $NODEP -c -o "$out/algo_new.o" src/util/algo.c
for v in old new; do
  cc $COMMON $NODEP -o "$out/hmac_bench_$v" bench/hmac_bench.c "$out/algo_$v.o" build/release/libbinday.a $LIBS
done

echo "# $(git rev-parse --short "$base") (old) vs work tree (new): $rounds rounds, $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)"
echo "# options: ${*:-(defaults)}; allocator: ${HMAC_PRELOAD:-glibc malloc}"
run() { env ${HMAC_PRELOAD:+LD_PRELOAD=$HMAC_PRELOAD} "$@"; }
: >"$out/rounds.txt"
for ((r = 1; r <= rounds; r++)); do
  for v in old new; do
    ns=$(run "$out/hmac_bench_$v" --only algo "$@" | awk '{print $2}')
    echo "$r $v $ns" | tee -a "$out/rounds.txt"
  done
done
# libcrypto's allocations per HMAC, counted in a separate run (counting costs time)
al_old=$(run "$out/hmac_bench_old" --only algo --count --n 20000 | awk '{print $4}')
al_new=$(run "$out/hmac_bench_new" --only algo --count --n 20000 | awk '{print $4}')
/usr/bin/python3 - "$out/rounds.txt" "$al_old" "$al_new" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
ns = {v: [float(r[2]) for r in rows if r[1] == v] for v in ("old", "new")}
al = {"old": float(sys.argv[2]), "new": float(sys.argv[3])}
ratios = [n / o for o, n in zip(ns["old"], ns["new"])]
for v in ("old", "new"):
    print(f"{v}: median {statistics.median(ns[v]):.1f} ns per HMAC (min {min(ns[v]):.1f}, max {max(ns[v]):.1f}), "
          f"{al[v]:.2f} OpenSSL allocations per HMAC")
print("new/old per pair: " + " ".join(f"{x:.2f}" for x in ratios) +
      f"; median {statistics.median(ratios):.2f}")
PY
