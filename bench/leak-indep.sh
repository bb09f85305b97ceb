#!/bin/sh
# bench/leak-indep.sh BUILD_DIR: the leak detector on boots from bench/indgen.c, a
# generator written apart from bench/tracegen.c (which the thresholds were tuned on),
# with other noise and delivery faults; detection delay, false alarms and projection
# error side by side with predict_linear(MemAvailable[6h], 24h) < 0 and netdata's
# ram_available < 10 % on the same samples. Writes bench/out/leak-indep.md.
# Env: LEAK_SEEDS=3 (seeds per healthy boot), LEAK_LEAK_SEEDS=9 (per leak), LEAK_QUICK=1
# (7-day healthy boots instead of 21).
set -u
BUILD=${1:?usage: bench/leak-indep.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
GEN="$BUILD/bench/soak-leakindep"
OUT="$HERE/out/leak-indep.md"
mkdir -p "$HERE/out"
if [ ! -x "$GEN" ]; then echo "build $GEN first" >&2; exit 1; fi
quick=
[ "${LEAK_QUICK:-0}" = 1 ] && quick=--quick
"$GEN" bench --seeds "${LEAK_SEEDS:-3}" --leak-seeds "${LEAK_LEAK_SEEDS:-9}" $quick >"$OUT.tmp" 2>"$OUT.alarms" || exit 1
{
    cat "$OUT.tmp"
    echo
    echo "False alarms of soak, one line per alarmed evaluation:"
    echo
    if [ -s "$OUT.alarms" ]; then sed 's/^/    /' "$OUT.alarms"; else echo "    (none)"; fi
} >"$OUT"
rm -f "$OUT.tmp" "$OUT.alarms"
cat "$OUT"
