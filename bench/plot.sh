#!/bin/sh
# bench/plot.sh BUILD_DIR: time and peak RSS to draw 22 days x 3 series of 1-minute
# memory data (MemTotal, MemAvailable, MemFree of the simulated rock-pi-s), 900x400 PNG:
#   soak plot (from SQLite, per-pixel min/max, cairo) vs rrdtool graph on an RRD holding
#   the same samples (only the `graph` step is timed) and gnuplot when installed.
# Medians of 5 runs: wall time around each process, its peak RSS (getrusage of the child),
# its CPU time (perf stat task-clock, when perf is installed); then one run of each under
# valgrind's callgrind for its instruction count (when valgrind is installed).
# Writes bench/out/plot.md.
set -eu
BUILD=${1:?usage: bench/plot.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
SOAK=$BUILD/src/server/soak
OUT=$HERE/out/plot.md
RUNS=5
NOW=1764201600
DAYS=22
W=900
H=400
[ -x "$SOAK" ] || { echo "plot.sh: no $SOAK (build first)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/soak-bench-plot.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$HERE/out"

# 1. The samples: the simulator's rock-pi-s, its last 22 days every minute; MemTotal carried
#    forward to every minute so each tool gets exactly 3 x 31,680 samples.
"$SOAK" sim history --out "$work/h" --device rock-pi-s --days "$DAYS" --step 60 --now "$NOW" \
    2>/dev/null
python3 - "$work/h/rock-pi-s.om" "$work/bench.om" "$work/rrd-updates" "$work/gnuplot.dat" <<'PY'
import sys
want = {'node_memory_MemTotal_bytes': 0, 'node_memory_MemAvailable_bytes': 1,
        'node_memory_MemFree_bytes': 2}
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 3 and f[0] in want:
        t = int(float(f[2]))
        rows.setdefault(t, [None, None, None])[want[f[0]]] = float(f[1])
ts = sorted(t for t, r in rows.items() if r[1] is not None and r[2] is not None)
total = None
om, upd, dat = open(sys.argv[2], 'w'), open(sys.argv[3], 'w'), open(sys.argv[4], 'w')
series = ([], [], [])
for t in ts:
    r = rows[t]
    total = r[0] if r[0] is not None else total
    if total is None:
        continue
    v = (total, r[1], r[2])
    for i in range(3):
        series[i].append((t, v[i]))
    upd.write('%d:%.0f:%.0f:%.0f\n' % (t, v[0], v[1], v[2]))
    dat.write('%d %.0f %.0f %.0f\n' % (t, v[0], v[1], v[2]))
names = sorted(want, key=want.get)
for i, n in enumerate(names):
    om.write('# TYPE %s gauge\n' % n)
    for t, v in series[i]:
        om.write('%s %.0f %d\n' % (n, v, t))
om.write('# EOF\n')
print(len(series[1]), ts[0], ts[-1])
PY
set -- $(python3 -c "
import sys
f=open('$work/rrd-updates').read().split()
print(len(f), f[0].split(':')[0], f[-1].split(':')[0])")
nsamples=$1
t0=$2
t1=$3
"$SOAK" import --db "$work/bench.db" --device bench "$work/bench.om" >/dev/null

# run_once NAME CMD...: one run timed on its own: wall time (perf_counter around the child)
# and peak RSS (the child's ru_maxrss), then, when perf is installed, a second run for the
# CPU time (perf stat's task-clock: getrusage's CPU times are tick-sampled and useless for
# a 50 ms process). Appends "ms rss_kb cpu_ms" (cpu_ms 0 without perf) to $work/NAME.runs
run_once() {
    name=$1
    shift
    python3 -c '
import os, resource, shutil, subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
ms = (time.perf_counter() - t) * 1000
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
cpu = 0.0
if shutil.which("perf"):
    p = subprocess.run(["perf", "stat", "-x,", "-e", "task-clock", "--"] + sys.argv[1:],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in p.stderr.splitlines():
        f = line.split(",")
        if len(f) > 2 and f[2].startswith("task-clock"):
            cpu = float(f[0])
print("%.1f %d %.1f" % (ms, rss, cpu))
' "$@" >>"$work/$name.runs"
}

median() { # FILE COLUMN
    sort -n -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'
}

have_rrd=0
if command -v rrdtool >/dev/null 2>&1; then
    rows=$((DAYS * 1440 + 60))
    rrdtool create "$work/mem.rrd" --start $((t0 - 60)) --step 60 \
        DS:total:GAUGE:120:0:U DS:avail:GAUGE:120:0:U DS:free:GAUGE:120:0:U \
        RRA:AVERAGE:0.5:1:$rows RRA:MIN:0.5:1:$rows RRA:MAX:0.5:1:$rows
    xargs -n 500 rrdtool update "$work/mem.rrd" <"$work/rrd-updates"
    have_rrd=1
fi
have_gp=0
if command -v gnuplot >/dev/null 2>&1; then
    cat >"$work/plot.gp" <<GP
set terminal pngcairo size $W,$H
set output '$work/gnuplot.png'
set xdata time
set timefmt '%s'
set format x '%b %d'
plot '$work/gnuplot.dat' using 1:2 with lines title 'MemTotal', \
     '' using 1:3 with lines title 'MemAvailable', '' using 1:4 with lines title 'MemFree'
GP
    have_gp=1
fi

# The runs, interleaved (soak, soak with the leak analysis, rrdtool, gnuplot, then again)
# so that a change in the machine's load hits every tool alike.
load=$(cut -d' ' -f1-3 /proc/loadavg)
for tool in soak soak_leak rrdtool gnuplot; do : >"$work/$tool.runs"; done
i=0
while [ $i -le $RUNS ]; do
    # run 0 warms the caches and is not kept
    run_once soak "$SOAK" plot --db "$work/bench.db" --device bench --panel memory --no-leak \
        --from "$t0" --to "$t1" --width $W --height $H -o "$work/soak.png"
    run_once soak_leak "$SOAK" plot --db "$work/bench.db" --device bench --panel memory \
        --from "$t0" --to "$t1" --width $W --height $H -o "$work/soak-leak.png"
    if [ $have_rrd = 1 ]; then
        run_once rrdtool rrdtool graph "$work/rrd.png" --start "$t0" --end "$t1" \
            --width $W --height $H --imgformat PNG --base 1024 --title "rock-pi-s memory" \
            DEF:total="$work/mem.rrd":total:AVERAGE DEF:avail="$work/mem.rrd":avail:AVERAGE \
            DEF:free="$work/mem.rrd":free:AVERAGE \
            LINE2:total#8000a0:MemTotal LINE1:avail#1f5fd0:MemAvailable LINE1:free#2a9d2a:MemFree
    fi
    [ $have_gp = 1 ] && run_once gnuplot gnuplot "$work/plot.gp"
    if [ $i -eq 0 ]; then
        for tool in soak soak_leak rrdtool gnuplot; do : >"$work/$tool.runs"; done
    fi
    i=$((i + 1))
done
[ -s "$work/soak.runs" ] || { echo "plot.sh: soak plot failed" >&2; exit 1; }

# instructions NAME CMD...: user-space instructions of one run under callgrind (valgrind),
# which no other job on a shared machine changes; "" without valgrind.
instructions() {
    _n=$1
    shift
    if command -v valgrind >/dev/null 2>&1; then
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" >/dev/null 2>"$work/$_n.cg"
        sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$work/$_n.cg" | tail -n 1
    fi
}
ir_soak=$(instructions soak "$SOAK" plot --db "$work/bench.db" --device bench --panel memory \
    --no-leak --from "$t0" --to "$t1" --width $W --height $H -o "$work/soak.png")
ir_soak_leak=$(instructions soak_leak "$SOAK" plot --db "$work/bench.db" --device bench \
    --panel memory --from "$t0" --to "$t1" --width $W --height $H -o "$work/soak-leak.png")
ir_rrdtool=
if [ $have_rrd = 1 ]; then
    ir_rrdtool=$(instructions rrdtool rrdtool graph "$work/rrd.png" --start "$t0" --end "$t1" \
        --width $W --height $H --imgformat PNG --base 1024 --title "rock-pi-s memory" \
        DEF:total="$work/mem.rrd":total:AVERAGE DEF:avail="$work/mem.rrd":avail:AVERAGE \
        DEF:free="$work/mem.rrd":free:AVERAGE \
        LINE2:total#8000a0:MemTotal LINE1:avail#1f5fd0:MemAvailable LINE1:free#2a9d2a:MemFree)
fi

# row LABEL NAME: one table line (medians), ratios against rrdtool's medians
row() {
    _ms=$(median "$work/$2.runs" 1)
    _rss=$(median "$work/$2.runs" 2)
    _cpu=$(median "$work/$2.runs" 3)
    eval "_ir=\${ir_$2:-0}"
    python3 -c "
ms, rss, cpu, rms, rrss, rcpu = $_ms, $_rss, $_cpu, $rrd_ms, $rrd_rss, $rrd_cpu
ir, rir = ${_ir:-0}, ${ir_rrdtool:-0}
r = lambda a, b: '%.2fx' % (a / b) if b > 0 and a > 0 else 'n/a'
print('| %s | %.0f | %.0f | %s | %.1f | %s | %s | %s | %s |' % ('$1', ms, cpu,
      '%.0f' % (ir / 1e6) if ir else 'n/a', rss / 1024.0, r(ms, rms), r(cpu, rcpu), r(ir, rir),
      r(rss, rrss)))"
}
rrd_ms=0
rrd_rss=0
rrd_cpu=0
if [ $have_rrd = 1 ]; then
    rrd_ms=$(median "$work/rrdtool.runs" 1)
    rrd_rss=$(median "$work/rrdtool.runs" 2)
    rrd_cpu=$(median "$work/rrdtool.runs" 3)
fi
{
    echo "# Charts: 22 days x 3 series of 1-minute memory data, ${W}x${H} PNG"
    echo
    echo "$nsamples samples per series ($(date -u -d "@$t0" +%F) .. $(date -u -d "@$t1" +%F)," \
        "the simulated rock-pi-s), medians of $RUNS runs: wall time of the whole process"
    echo "(start-up, reading the data, drawing, writing the file), its CPU time (perf stat"
    echo "task-clock; 0 when perf is missing) and its peak RSS (getrusage). soak reads from"
    echo "SQLite through the store; rrdtool reads"
    echo "its RRD (the \`rrdtool create\` + \`update\` steps are not timed); rrdtool's"
    echo "--width/--height size the plot area, soak's the whole image. Load average at the"
    echo "start: $load. Instructions: user-space instructions of one run counted by valgrind's"
    echo "callgrind (start-up and dynamic linking included, the kernel's work not), the one"
    echo "figure here that other jobs on the machine do not move."
    echo
    printf '| tool | wall (ms) | CPU (ms) | instructions (M) | peak RSS (MB) | wall vs rrdtool '
    echo '| CPU vs rrdtool | instructions vs rrdtool | RSS vs rrdtool |'
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    row "soak plot --no-leak" soak
    row "soak plot (leak analysis + projection)" soak_leak
    if [ $have_rrd = 1 ]; then
        row "rrdtool graph" rrdtool
    else
        echo "| rrdtool graph | not installed | | | | | | | |"
    fi
    if [ $have_gp = 1 ]; then
        row "gnuplot (pngcairo)" gnuplot
    else
        echo "| gnuplot | not installed | | | | | | | |"
    fi
    echo
    echo "Goal (issue 6): faster than rrdtool graph, at most 30 MB peak."
    echo "Machine: $(nproc) cores, $(uname -m), shared with other jobs: wall times vary with"
    echo "the load; CPU times less so."
} >"$OUT"
cat "$OUT"
