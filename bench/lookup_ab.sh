#!/bin/bash
# bench/lookup_ab.sh - paired A/B of in-process lookup latency (`binday
# bench-lookup`: address match + 28 days of collections) between two binday
# builds on the same data, alternating A B A B ... so that a drift of the
# (shared, noisy) machine hits both sides alike. Prints each round's p50/p99,
# then per side the median p50 and p99, and the median of the per-round p50
# ratios B/A.
#
# Usage: bench/lookup_ab.sh BIN_A BIN_B [PROPERTIES] [ROUNDS] [LOOKUPS]
#   (defaults 1000000 properties as bench/data_bench.sh, 7 rounds, 50000 lookups)
# Set DATA=DIR to reuse an imported environment instead of generating one.
#
# A binary of another commit, e.g. the one before a change:
#   git worktree add /tmp/binday-before COMMIT && make -C /tmp/binday-before build/release/binday
set -euo pipefail
A=${1:?usage: bench/lookup_ab.sh BIN_A BIN_B [PROPERTIES] [ROUNDS] [LOOKUPS]}
B=${2:?usage: bench/lookup_ab.sh BIN_A BIN_B [PROPERTIES] [ROUNDS] [LOOKUPS]}
N=${3:-1000000}
R=${4:-7}
Q=${5:-50000}
T=$(mktemp -d "${TMPDIR:-/tmp}/binday-lookup-ab-XXXXXX")
trap 'rm -rf "$T"' EXIT
if [ -z "${DATA:-}" ]; then
  "$A" demo-data --out "$T/csv" --properties "$N" --seed 42 --year 2026 >/dev/null
  args=()
  for f in addresses services rounds assignments exceptions notices; do args+=(--$f "$T/csv/$f.csv"); done
  "$A" import --data "$T/env" "${args[@]}" >/dev/null 2>&1
  DATA=$T/env
fi
echo "== lookup A/B: $R rounds x $Q lookups, $(nproc) cores, $(uname -m); A=$A B=$B"
for i in $(seq 1 "$R"); do
  for side in A B; do
    bin=$A; [ "$side" = B ] && bin=$B
    out=$("$bin" bench-lookup --data "$DATA" --n "$Q" --from 2026-12-14 2>/dev/null)
    p50=$(sed -n 's/^lookup p50: \([0-9.]*\) us$/\1/p' <<<"$out")
    p99=$(sed -n 's/^lookup p99: \([0-9.]*\) us$/\1/p' <<<"$out")
    echo "round $i $side p50 $p50 p99 $p99"
  done
done | tee "$T/rounds"
awk '
function median(a, n,   i, j, t) {
  for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ r = $2; s = $3; p50[s, r] = $5; p99[s, r] = $7; if (r > n) n = r }
END {
  for (r = 1; r <= n; r++) { a50[r] = p50["A", r]; b50[r] = p50["B", r]; a99[r] = p99["A", r]; b99[r] = p99["B", r]; q[r] = p50["B", r] / p50["A", r] }
  printf "A: p50 median %.1f us, p99 median %.1f us\n", median(a50, n), median(a99, n)
  printf "B: p50 median %.1f us, p99 median %.1f us\n", median(b50, n), median(b99, n)
  for (r = 1; r <= n; r++) { lo = (r == 1 || q[r] < lo) ? q[r] : lo; hi = (r == 1 || q[r] > hi) ? q[r] : hi }
  printf "p50 ratio B/A per round: median %.3f (min %.3f, max %.3f)\n", median(q, n), lo, hi
}' "$T/rounds"
