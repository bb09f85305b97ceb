#!/bin/sh
# bench/leak.sh BUILD_DIR: the leak detector on simulated boots (bench/tracegen.c).
# 1. soak-leakbench bench: detection delay, false alarms and projection error of
#    `soak leak` over leak rates x board sizes x healthy patterns, side by side with
#    Prometheus predict_linear(MemAvailable[6h], 24h) < 0 and netdata's
#    ram_available < 10 % on the same traces (LEAK_SEEDS seeds, medians).
# 2. `soak leak` end to end on 22 days of one board (1-minute samples, 153 slab
#    caches) imported into SQLite: median wall and CPU time of LEAK_RUNS runs
#    (target < 200 ms).
# Writes bench/out/leak.md. Env: LEAK_SEEDS=3, LEAK_RUNS=9, LEAK_QUICK=1 (7-day
# healthy boots instead of 21), LEAK_TABLE=FILE (reuse the table of an earlier run).
set -u
BUILD=${1:?usage: bench/leak.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
SOAK="$BUILD/src/server/soak"
GEN="$BUILD/bench/soak-leakbench"
SEEDS=${LEAK_SEEDS:-3}
RUNS=${LEAK_RUNS:-9}
OUT="$HERE/out/leak.md"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/soak-bench-leak.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
mkdir -p "$HERE/out"
if [ ! -x "$SOAK" ] || [ ! -x "$GEN" ]; then echo "build $SOAK and $GEN first" >&2; exit 1; fi

quick=
[ "${LEAK_QUICK:-0}" = 1 ] && quick=--quick
if [ -n "${LEAK_TABLE:-}" ] && [ -f "$LEAK_TABLE" ]; then
    grep -v '^/' "$LEAK_TABLE" | sed '/^## soak leak end to end/,$d' >"$WORK/table.md"
else
    "$GEN" bench --seeds "$SEEDS" $quick >"$WORK/table.md" || exit 1
fi

# End to end: 22 days of a 1 GB board at 1-minute samples, through the store.
# 150 slab caches besides filp, kmalloc-192 and dentry, as a real kernel has.
"$GEN" emit --pattern leak --rate 3145728 --ram 1024 --days 22 --interval 60 \
    --boot 1764000000 --build 6.17.6 --boot-id bench-1 --caches 150 |
    "$SOAK" import --db "sqlite:$WORK/b.db" --device bench - >"$WORK/import.txt" 2>&1 || exit 1
samples=$(sed -n 's/.*: \([0-9]*\) samples read.*/\1/p' "$WORK/import.txt")
nseries=$(sed -n 's/.* \([0-9]*\) series,.*/\1/p' "$WORK/import.txt")
times=
cpus=
i=0
while [ $i -lt "$RUNS" ]; do
    t0=$(date +%s%N)
    /usr/bin/time -f "%U %S" -o "$WORK/cpu" "$SOAK" leak --db "sqlite:$WORK/b.db" --device bench >/dev/null
    t1=$(date +%s%N)
    times="$times $(((t1 - t0) / 1000000))"
    cpus="$cpus $(tail -n 1 "$WORK/cpu" | awk '{printf "%d", ($1 + $2) * 1000}')"
    i=$((i + 1))
done
med() { echo "$1" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
median=$(med "$times")
cpu=$(med "$cpus")
load=$(cut -d' ' -f1 /proc/loadavg)
{
    cat "$WORK/table.md"
    echo
    echo "## soak leak end to end"
    echo
    echo "22 days of one 1 GB board, 1-minute samples, 153 slab caches ($samples samples in"
    echo "$nseries series) in SQLite:"
    echo "\`soak leak\` (process start, store read of every signal, analysis, report) takes"
    echo "a median of **${median} ms** wall, ${cpu} ms CPU (user+sys) over $RUNS runs (target"
    echo "< 200 ms; wall runs:$times ms; load average $load on the 2-core machine shared with"
    echo "the other builds, so wall times above the CPU time are waiting for a core)."
} >"$OUT"
cat "$OUT"
