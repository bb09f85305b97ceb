#!/bin/sh
# bench/poller.sh BUILD_DIR: how many simulated agents one `soak server` polls at a
# 10 s interval within 25 % of one core. Simulated agents (bench/poller-agents.py, one
# asyncio process on N loopback ports) serve a static ~50 KB exposition; the server
# stores everything in SQLite, as in production. For each N the server runs
# POLLER_SECONDS; its CPU (utime+stime of both its threads, from /proc) is measured over
# the steady part: after the first two intervals, which create every series (a one-off
# cost, reported separately), and the polls that failed are counted.
# Writes bench/out/poller.md. Env: POLLER_COUNTS="250 500 1000 2000", POLLER_SECONDS=50,
# POLLER_RUNS=3 (median), POLLER_SIZE=50000.
set -u
BUILD=${1:?usage: bench/poller.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
SOAK="$BUILD/src/server/soak"
COUNTS=${POLLER_COUNTS:-"250 500 1000 2000"}
SECONDS_RUN=${POLLER_SECONDS:-50}
RUNS=${POLLER_RUNS:-3}
SIZE=${POLLER_SIZE:-50000}
INTERVAL=10
WORK=$(mktemp -d "${TMPDIR:-/tmp}/soak-bench-poller.XXXXXX")
OUT="$HERE/out/poller.md"
AGENTS_PID=
mkdir -p "$HERE/out"
cleanup() {
    [ -n "$AGENTS_PID" ] && kill "$AGENTS_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 1" INT TERM
[ -x "$SOAK" ] || { echo "no $SOAK: build first" >&2; exit 1; }
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

ticks=$(getconf CLK_TCK)
# cpu_ticks PID: utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# loop_ticks PID: the same for its main thread alone (HTTP and parsing; the store
# writer is another thread).
loop_ticks() { awk '{print $14 + $15}' "/proc/$1/task/$1/stat"; }
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

max=0
for n in $COUNTS; do [ "$n" -gt "$max" ] && max=$n; done
python3 "$HERE/poller-agents.py" "$max" "$SIZE" >"$WORK/ports" &
AGENTS_PID=$!
i=0
while ! grep -q ready "$WORK/ports" 2>/dev/null; do
    sleep 0.2
    i=$((i + 1))
    [ $i -lt 300 ] || { echo "simulated agents did not start" >&2; exit 1; }
done
body=$(curl -s "http://127.0.0.1:$(head -n 1 "$WORK/ports")/metrics" | wc -c)
samples=$(curl -s "http://127.0.0.1:$(head -n 1 "$WORK/ports")/metrics" | grep -vc '^#')
# The compaction of a device's head records into chunks happens every 480 polls (80 min at
# 10 s), never inside a run: bench/pollstore.c measures its CPU time per sample on the same
# number of series, and it is added, amortized, to each farm's figure.
comp_us=0
if [ -x "$BUILD/bench/soak-pollstore" ]; then
    "$BUILD/bench/soak-pollstore" "$WORK/ps.db" "$samples" 960 >"$WORK/ps.out" &&
        comp_us=$(awk '$1 == "compaction_us_per_sample" {print $2}' "$WORK/ps.out")
    rm -f "$WORK"/ps.db*
fi

{
    echo "# Poller capacity"
    echo
    echo "One \`soak server\` (poll loop on libcurl multi + store writer thread), interval ${INTERVAL} s, SQLite store;"
    echo "simulated agents on loopback serving $body bytes ($samples samples) each."
    echo "CPU = the server's utime+stime (both threads) over the steady part of a ${SECONDS_RUN} s run"
    echo "(the first two intervals, which create every series, are excluded and shown as"
    echo "\"warm-up CPU\"), % of one core; median of $RUNS runs. $(nproc) cores, shared with"
    echo "other jobs (load average $(cut -d' ' -f1 /proc/loadavg) at the start), $(date -u +%Y-%m-%d)."
    echo
    echo "| agents | polls/s | samples/s | CPU % of one core | of which poll loop % | + compaction % | total % | warm-up CPU % | failed polls | within 25 % |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |"
} >"$OUT"

best=0
for n in $COUNTS; do
    : >"$WORK/cpu"
    : >"$WORK/loop"
    : >"$WORK/warm"
    : >"$WORK/fail"
    r=0
    while [ $r -lt "$RUNS" ]; do
        r=$((r + 1))
        conf="$WORK/farm-$n.conf"
        rm -f "$WORK"/farm.db*
        printf '[server]\nstore = sqlite:%s/farm.db\ninterval = %s\ntimeout = 5\njitter = 0.02\n' \
            "$WORK" "$INTERVAL" >"$conf"
        head -n "$n" "$WORK/ports" | awk '{printf "[device sim-%05d]\nurl = http://127.0.0.1:%s/metrics\n", NR, $1}' >>"$conf"
        "$SOAK" server --config "$conf" --duration "$SECONDS_RUN" 2>"$WORK/server.log" &
        pid=$!
        ts=$(date +%s.%N)
        sleep $((2 * INTERVAL))
        c0=$(cpu_ticks "$pid")
        l0=$(loop_ticks "$pid")
        t0=$(date +%s.%N)
        echo "$c0 $ts $t0 $ticks" | awk '{printf "%.1f\n", 100 * $1 / $4 / ($3 - $2)}' >>"$WORK/warm"
        sleep $((SECONDS_RUN - 2 * INTERVAL - 2))
        c1=$(cpu_ticks "$pid")
        l1=$(loop_ticks "$pid")
        t1=$(date +%s.%N)
        wait "$pid"
        echo "$c0 $c1 $t0 $t1 $ticks" | awk '{printf "%.1f\n", 100 * ($2 - $1) / $5 / ($4 - $3)}' >>"$WORK/cpu"
        echo "$l0 $l1 $t0 $t1 $ticks" | awk '{printf "%.1f\n", 100 * ($2 - $1) / $5 / ($4 - $3)}' >>"$WORK/loop"
        sed -n 's/.*stopped: \([0-9]*\) poll(s), \([0-9]*\) failed.*/\2/p' "$WORK/server.log" >>"$WORK/fail"
    done
    cpu=$(median <"$WORK/cpu")
    warm=$(median <"$WORK/warm")
    loop=$(median <"$WORK/loop")
    fail=$(median <"$WORK/fail")
    comp=$(echo "$n $INTERVAL $samples $comp_us" | awk '{printf "%.1f", 100 * $1 / $2 * $3 * $4 / 1e6}')
    total=$(echo "$cpu $comp" | awk '{printf "%.1f", $1 + $2}')
    within=$(echo "$total" | awk '{print ($1 <= 25) ? "yes" : "no"}')
    [ "$within" = yes ] && [ "$n" -gt "$best" ] && best=$n
    pps=$(echo "$n $INTERVAL" | awk '{printf "%.0f", $1 / $2}')
    sps=$(echo "$n $INTERVAL $samples" | awk '{printf "%.0f", $1 / $2 * $3}')
    echo "| $n | $pps | $sps | $cpu | $loop | $comp | $total | $warm | $fail | $within |" >>"$OUT"
    echo "poller: $n agents: ${cpu}% of one core (poll loop ${loop}%), $fail failed polls" >&2
done
{
    echo
    echo "Largest tested farm within 25 % of one core: **$best agents** at a ${INTERVAL} s interval (goal 2,000)."
    echo "The poll loop (HTTP, parsing, scheduling) is the \"of which poll loop\" column; the rest"
    echo "is the store writer (one head record per poll, up to 32 polls per transaction)."
    echo "The compaction of a device's 480 head records into chunks comes every 480 polls (80 min)"
    echo "per device, never inside a run: \"+ compaction\" is its CPU time measured by"
    echo "\`soak-pollstore\` (bench/pollstore.c: ${comp_us} µs per sample on $samples series), amortized;"
    echo "\"total\" (steady state) decides \"within 25 %\"."
} >>"$OUT"
cat "$OUT"
