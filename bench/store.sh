#!/bin/sh
# bench/store.sh BUILD_DIR - the store's ingest rate and bytes on disk per sample, side by
# side with Prometheus's TSDB on the same data, written to bench/out/store.md.
#
# Data: bench/store-gen.py, one farm-like board for 22 days at 60 s (~114 series,
# ~3.6 M samples, ~210 MB of OpenMetrics). Peers, on the same file:
#   - soak import into SQLite: wall time of the whole import (parse + store) on one
#     core, median of 5 runs into a fresh database; bytes = the database file after close.
#   - promtool tsdb create-blocks-from openmetrics --max-block-duration=528h: `du -b` of
#     the blocks it writes (its time is shown too, one run).
#   - soak import into a throwaway PostgreSQL (tests/lib/pg.sh), when installed:
#     ingest rate (one run) and pg_total_relation_size of the store's tables.
# Environment: STORE_BENCH_DAYS (default 22), STORE_BENCH_RUNS (default 5).
set -u
BUILD=${1:?usage: bench/store.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
SOAK="$BUILD/src/server/soak"
DAYS=${STORE_BENCH_DAYS:-22}
RUNS=${STORE_BENCH_RUNS:-5}
OUT="$HERE/out/store.md"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/soak-bench-store.XXXXXX")
. "$SRC/tests/lib/pg.sh"
cleanup() {
    pg_stop
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
mkdir -p "$HERE/out"

[ -x "$SOAK" ] || { echo "store.sh: $SOAK not built" >&2; exit 1; }
now() { date +%s.%N; }
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "store.sh: generating $DAYS days of farm-like data" >&2
python3 "$HERE/store-gen.py" --days "$DAYS" >"$WORK/farm.om" || exit 1
samples=$(grep -vc '^#' "$WORK/farm.om")
fsize=$(stat -c %s "$WORK/farm.om")
series=$(grep -v '^#' "$WORK/farm.om" | awk '{ print $1 }' | uniq | wc -l)

: >"$WORK/rates"
: >"$WORK/cpurates"
for i in $(seq "$RUNS"); do
    rm -f "$WORK/s.db" "$WORK/s.db-wal" "$WORK/s.db-shm"
    /usr/bin/time -f "%e %U %S" -o "$WORK/time" \
        "$SOAK" import --quiet --db "$WORK/s.db" --device bench "$WORK/farm.om" || exit 1
    read -r wall user sys <"$WORK/time"
    echo "$samples $wall" | awk '{ printf "%.0f\n", $1 / $2 }' >>"$WORK/rates"
    echo "$samples $user $sys" | awk '{ printf "%.0f\n", $1 / ($2 + $3) }' >>"$WORK/cpurates"
done
rate=$(median <"$WORK/rates")
cpurate=$(median <"$WORK/cpurates")
sq_bytes=$(stat -c %s "$WORK/s.db")
sq_bps=$(echo "$sq_bytes $samples" | awk '{ printf "%.2f", $1 / $2 }')
# Re-import: every sample is a duplicate, nothing is added.
t0=$(now)
"$SOAK" import --quiet --db "$WORK/s.db" --device bench "$WORK/farm.om" || exit 1
t1=$(now)
dup_rate=$(echo "$samples $t0 $t1" | awk '{ printf "%.0f", $1 / ($3 - $2) }')
# Export and read back (a full scan of the device).
t0=$(now)
"$SOAK" export --db "$WORK/s.db" --device bench >"$WORK/back.om" || exit 1
t1=$(now)
exp_rate=$(echo "$samples $t0 $t1" | awk '{ printf "%.0f", $1 / ($3 - $2) }')

prom_bps="n/a" prom_bytes="n/a" ratio="n/a" prom_time="n/a"
if command -v promtool >/dev/null 2>&1; then
    mkdir -p "$WORK/prom"
    t0=$(now)
    if promtool tsdb create-blocks-from openmetrics --max-block-duration=528h "$WORK/farm.om" \
        "$WORK/prom" >"$WORK/promtool.log" 2>&1; then
        t1=$(now)
        prom_time=$(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }')
        prom_bytes=$(du -sb "$WORK/prom" | awk '{ print $1 }')
        prom_bps=$(echo "$prom_bytes $samples" | awk '{ printf "%.2f", $1 / $2 }')
        ratio=$(echo "$sq_bytes $prom_bytes" | awk '{ printf "%.2f", $1 / $2 }')
    else
        echo "store.sh: promtool failed: $(tail -n 3 "$WORK/promtool.log")" >&2
    fi
fi

pg_line="| soak → PostgreSQL | not measured (PostgreSQL server binaries not installed) | | |"
if pg_available && pg_start; then
    t0=$(now)
    if "$SOAK" import --quiet --db "$PG_URL" --device bench "$WORK/farm.om"; then
        t1=$(now)
        pg_rate=$(echo "$samples $t0 $t1" | awk '{ printf "%.0f", $1 / ($3 - $2) }')
        pg_sql "VACUUM ANALYZE" >/dev/null 2>&1
        pg_bytes=$(pg_sql "SELECT sum(pg_total_relation_size(c)) FROM unnest(ARRAY['chunk','series','hrec','device','event','state','meta']::regclass[]) AS c")
        pg_bps=$(echo "$pg_bytes $samples" | awk '{ printf "%.2f", $1 / $2 }')
        pg_ratio=$(echo "$pg_bytes $prom_bytes" | awk '$2 > 0 { printf "%.2f×", $1 / $2 } $2 !~ /^[0-9]+$/ { print "n/a" }')
        pg_line="| soak → PostgreSQL 15 | $pg_rate (1 run) | $pg_bytes | $pg_bps | $pg_ratio |"
    fi
    pg_stop
fi

cat >"$OUT" <<MD
# Store: ingest rate and bytes per sample

Data: \`bench/store-gen.py --days $DAYS\` — one farm-like board, $series series at 60 s
(memory gauges, CPU/network/vmstat counters, slab object counts, temperatures, constants),
with a few ms of scrape jitter: $samples samples, $fsize bytes of OpenMetrics text.
Machine: $(nproc) cores, $(uname -m); soak built in \`$(basename "$BUILD")\`.

| | ingest (samples/s) | bytes on disk | bytes/sample | vs Prometheus TSDB |
|---|---:|---:|---:|---:|
| soak import → SQLite (WAL, median of $RUNS): per CPU second | $cpurate | $sq_bytes | $sq_bps | $ratio× |
| same runs, wall clock (shared machine) | $rate | | | |
| promtool tsdb create-blocks-from openmetrics (528h) | ($prom_time s wall, 1 run) | $prom_bytes | $prom_bps | 1.00× |
$pg_line

Goals (issue 4): ≥ 1,000,000 samples/s into SQLite on one core; bytes/sample within 1.5×
of Prometheus's TSDB. The import is single-threaded (parse + store on one core); "per CPU
second" is samples / (user + sys time of the import process), which does not depend on what
else the machine runs. SQLite runs, per CPU second: $(tr '\n' ' ' <"$WORK/cpurates");
wall clock: $(tr '\n' ' ' <"$WORK/rates")samples/s.

Also: re-importing the same file (every sample a duplicate, nothing added): $dup_rate samples/s;
\`soak export\` of the whole device: $exp_rate samples/s.
MD
cat "$OUT"
