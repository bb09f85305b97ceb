#!/bin/sh
# bench/agent.sh BUILD_DIR: soakd against Debian's prometheus-node-exporter on the same
# --root tree, in one run: resident memory after a few hundred scrapes and CPU time
# (run time of its threads from /proc/PID/task/*/schedstat) per scrape; medians of several runs, ratio. Then
# soakd's RSS over a long run of scrapes at full speed, to show it does not grow; and
# collectd's RSS for scale when it runs.
#
# Both agents read the same tree: ../shared/fixtures/node-exporter (node_exporter's
# own fixture tree) when present, else tests/fixtures/roots/rockpis-6.17.
# node_exporter runs only the collectors matching soakd's: meminfo loadavg stat filefd
# vmstat slabinfo thermal_zone hwmon netclass uname. soakd runs its equivalents
# (meminfo load uptime filefd vmstat slabinfo thermal hwmon net build) with its
# collector interval equal to the scrape period, so it collects once per scrape as
# node_exporter does; its other collectors (fds, kmsg, pstore, sensors) are off.
#
# soakd is measured twice: as built in BUILD_DIR (Debian's shared libmicrohttpd, which
# drags GnuTLS and its libraries into the RSS) and as the boards run it: a static build
# with libmicrohttpd compiled from Debian's source without HTTPS (what
# scripts/build-agent-aarch64.sh does), made once in BUILD_DIR/bench-agent-static.
#
# Writes bench/out/agent.md. Env: AGENT_RUNS=5, AGENT_SCRAPES=300, AGENT_PERIOD=0.1 (s),
# AGENT_LONG=100000 (scrapes of the growth run; 0 skips it), AGENT_STATIC=1 (0 skips the
# static build).
set -u
BUILD=${1:?usage: bench/agent.sh BUILD_DIR}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/agent-set.inc
. "$HERE/agent-set.inc"
SOAKD="$BUILD/src/agent/soakd"
NE=/usr/bin/prometheus-node-exporter
RUNS=${AGENT_RUNS:-5}
SCRAPES=${AGENT_SCRAPES:-300}
PERIOD=${AGENT_PERIOD:-0.1}
LONG=${AGENT_LONG:-100000}
OUT="$HERE/out/agent.md"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/soak-bench-agent.XXXXXX")
PID=
mkdir -p "$HERE/out"
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
[ -x "$SOAKD" ] || { echo "no $SOAKD: build first" >&2; exit 1; }
[ -x "$NE" ] || { echo "no $NE: apt-get install prometheus-node-exporter" >&2; exit 1; }

SHARED=${SOAK_SHARED:-$SRC/../shared}
if [ -d "$SHARED/fixtures/node-exporter/proc" ]; then
    ROOT=$(cd "$SHARED/fixtures/node-exporter" && pwd)
    ROOT_NAME="../shared/fixtures/node-exporter"
else
    ROOT="$SRC/tests/fixtures/roots/rockpis-6.17"
    ROOT_NAME="tests/fixtures/roots/rockpis-6.17"
fi
TICK=$(getconf CLK_TCK)
SOAKD_DYN=$SOAKD

# The static soakd, as on the boards. Prints its path, or nothing when it cannot be built.
build_static() {
    st="$BUILD/bench-agent-static"
    if [ -f "$st/build/build.ninja" ]; then
        # Built before: bring it up to date with the sources.
        ninja -C "$st/build" src/agent/soakd >/dev/null 2>&1 || return 1
        echo "$st/build/src/agent/soakd"
        return 0
    fi
    mkdir -p "$st/src" || return 1
    (
        set -e
        cd "$st/src"
        if ! ls libmicrohttpd_*.orig.tar.* >/dev/null 2>&1; then
            apt-get source -qq --download-only libmicrohttpd >/dev/null 2>&1
        fi
        rm -rf mhd
        mkdir mhd
        tar -xf libmicrohttpd_*.orig.tar.* -C mhd --strip-components=1
        cd mhd
        ./configure -q --prefix="$st/deps" --enable-static --disable-shared --disable-https \
            --without-gnutls --disable-curl --disable-doc --disable-examples --disable-nls \
            >/dev/null 2>&1
        make -s -j2 -C src/microhttpd install >/dev/null 2>&1
        make -s install-pkgconfigDATA >/dev/null 2>&1 || cp libmicrohttpd.pc "$st/deps/lib/pkgconfig/"
        PKG_CONFIG_PATH="$st/deps/lib/pkgconfig" meson setup "$st/build" "$SRC" \
            -Dserver=disabled -Dtests=disabled -Dpostgresql=disabled -Dstatic_agent=true \
            --buildtype=minsize -Dstrip=true >/dev/null 2>&1
        ninja -C "$st/build" src/agent/soakd >/dev/null 2>&1
    ) || return 1
    echo "$st/build/src/agent/soakd"
}
SOAKD_STATIC=""
if [ "${AGENT_STATIC:-1}" = 1 ]; then
    echo "building a static soakd without HTTPS (once)..." >&2
    SOAKD_STATIC=$(build_static) || SOAKD_STATIC=""
    [ -n "$SOAKD_STATIC" ] || echo "static soakd could not be built: skipped" >&2
fi
PAGE=$(getconf PAGESIZE)

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# cpu_ticks PID: utime + stime (fields 14 and 15 of /proc/PID/stat; comm may hold blanks).
cpu_ticks() {
    sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

# cpu_ns PID: CPU time in ns, the sum over the process's threads of the first field of
# /proc/PID/task/*/schedstat (exact, where utime+stime counts 10 ms ticks: ±33 µs a scrape
# over 300 scrapes). A thread that exits in between takes its time with it, which can only
# lower a figure; both agents keep their threads. Without schedstat: ticks, in ns.
cpu_ns() {
    if [ -r "/proc/$1/schedstat" ]; then
        cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'
    else
        echo $(($(cpu_ticks "$1") * 1000000000 / TICK))
    fi
}

rss_kb() {
    awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

hwm_kb() {
    awk '/^VmHWM:/ {print $2}' "/proc/$1/status"
}

# scrape PORT COUNT PERIOD: GET /metrics COUNT times, one every PERIOD seconds (0 = at once),
# a new connection each time; fails on any non-200 reply.
scrape() {
    python3 - "$1" "$2" "$3" <<'PY'
import http.client, sys, time
port, count, period = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
nxt = time.monotonic()
for i in range(count):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/metrics")
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200 or not body:
        sys.exit("scrape %d: status %d" % (i, r.status))
    if period > 0:
        nxt += period
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)
PY
}

wait_up() {
    i=0
    while [ $i -lt 100 ]; do
        curl -sf -o /dev/null "http://127.0.0.1:$1/metrics" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

start_soakd() {
    soakd_bench_conf "$WORK/soakd.conf" "$PERIOD"
    "$SOAKD" --config "$WORK/soakd.conf" --root "$ROOT" --listen "127.0.0.1:$1" 2>"$WORK/soakd.log" &
    PID=$!
}

start_ne() {
    # shellcheck disable=SC2086 # NE_COLLECTORS is a list of flags
    "$NE" --path.procfs="$ROOT/proc" --path.sysfs="$ROOT/sys" --path.rootfs="$ROOT" \
        $NE_COLLECTORS --web.listen-address="127.0.0.1:$1" >"$WORK/ne.log" 2>&1 &
    PID=$!
}

stop_agent() {
    kill "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
    PID=
}

# measure soakd|ne: one run; prints "rss_kb hwm_kb us_per_scrape bytes samples"
measure() {
    port=$(free_port)
    "start_$1" "$port"
    wait_up "$port" || { echo "$1 did not start" >&2; cat "$WORK"/*.log >&2; exit 1; }
    scrape "$port" 10 "$PERIOD" || exit 1
    t0=$(cpu_ns "$PID")
    scrape "$port" "$SCRAPES" "$PERIOD" || exit 1
    t1=$(cpu_ns "$PID")
    curl -s "http://127.0.0.1:$port/metrics" >"$WORK/$1.prom"
    bytes=$(wc -c <"$WORK/$1.prom")
    samples=$(grep -vc '^#' "$WORK/$1.prom")
    echo "$(rss_kb "$PID") $(hwm_kb "$PID") $(((t1 - t0) / 1000 / SCRAPES)) $bytes $samples"
    stop_agent
}

median() {
    sort -n | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'
}

: >"$WORK/soakd.runs"
: >"$WORK/static.runs"
: >"$WORK/ne.runs"
r=1
while [ $r -le "$RUNS" ]; do
    echo "run $r/$RUNS: $SCRAPES scrapes every $PERIOD s" >&2
    SOAKD=$SOAKD_DYN
    measure soakd >>"$WORK/soakd.runs"
    if [ -n "$SOAKD_STATIC" ]; then
        SOAKD=$SOAKD_STATIC
        measure soakd >>"$WORK/static.runs"
    fi
    measure ne >>"$WORK/ne.runs"
    r=$((r + 1))
done
SOAKD=${SOAKD_STATIC:-$SOAKD_DYN}
col() { awk -v c="$2" '{print $c}' "$1" | median; }
s_rss=$(col "$WORK/soakd.runs" 1); n_rss=$(col "$WORK/ne.runs" 1)
s_hwm=$(col "$WORK/soakd.runs" 2); n_hwm=$(col "$WORK/ne.runs" 2)
s_cpu=$(col "$WORK/soakd.runs" 3); n_cpu=$(col "$WORK/ne.runs" 3)
s_bytes=$(col "$WORK/soakd.runs" 4); n_bytes=$(col "$WORK/ne.runs" 4)
s_samp=$(col "$WORK/soakd.runs" 5); n_samp=$(col "$WORK/ne.runs" 5)
if [ -s "$WORK/static.runs" ]; then
    t_rss=$(col "$WORK/static.runs" 1); t_hwm=$(col "$WORK/static.runs" 2)
    t_cpu=$(col "$WORK/static.runs" 3)
else
    t_rss=-; t_hwm=-; t_cpu=-
fi
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a > 0) printf "%.1f", b / a; else print "-"}'; }

# soakd's RSS over a long run at full speed (collector interval 1 s).
growth=""
if [ "$LONG" -gt 0 ]; then
    PERIOD_SAVED=$PERIOD
    PERIOD=1
    port=$(free_port)
    start_soakd "$port"
    PERIOD=$PERIOD_SAVED
    wait_up "$port" || exit 1
    growth="| 0 | $(rss_kb "$PID") |"
    done_n=0
    for target in 1000 10000 "$LONG"; do
        [ "$target" -le "$LONG" ] || continue
        [ "$target" -gt "$done_n" ] || continue
        echo "growth run: $target scrapes" >&2
        scrape "$port" $((target - done_n)) 0 || exit 1
        done_n=$target
        growth="$growth
| $target | $(rss_kb "$PID") |"
    done
    growth_hwm=$(hwm_kb "$PID")
    stop_agent
fi

# collectd for scale (optional): memory, load and vmem plugins reading the real /proc
# every second, written to CSV (Debian's write_prometheus plugin needs libprotobuf-c,
# which is not installed by default); RSS after 10 s.
cd_rss="-"
if command -v collectd >/dev/null 2>&1; then
    mkdir -p "$WORK/csv"
    cat >"$WORK/collectd.conf" <<EOF
Interval 1
LoadPlugin memory
LoadPlugin load
LoadPlugin vmem
LoadPlugin csv
<Plugin csv>
  DataDir "$WORK/csv"
</Plugin>
EOF
    collectd -f -C "$WORK/collectd.conf" >"$WORK/collectd.log" 2>&1 &
    PID=$!
    sleep 10
    kill -0 "$PID" 2>/dev/null && cd_rss=$(rss_kb "$PID")
    stop_agent
fi

cpus=$(nproc)
{
    echo "# Agent: soakd vs prometheus-node-exporter"
    echo
    echo "Same --root tree ($ROOT_NAME), same collector set (node_exporter: meminfo"
    echo "loadavg stat filefd vmstat slabinfo thermal_zone hwmon netclass uname; soakd: its"
    echo "equivalents, fds/kmsg/pstore/sensors off). $SCRAPES scrapes of /metrics, one every"
    echo "$PERIOD s, each on a new connection; soakd's collector interval is $PERIOD s too, so it"
    echo "collects once per scrape like node_exporter. CPU = the agent's run time summed over its"
    echo "threads (/proc/PID/task/*/schedstat, ns) over the scrapes / scrapes; RSS = VmRSS after them. Medians of $RUNS"
    echo "runs, each agent started fresh. $cpus cores shared with other jobs, $(date +%Y-%m-%d)."
    echo "node_exporter $("$NE" --version 2>&1 | head -n 1 | awk '{print $3}'), soakd $("$SOAKD" --version | awk '{print $2}')."
    echo
    echo "| | soakd static (boards) | soakd (Debian libs) | node_exporter | node_exporter / soakd static | node_exporter / soakd |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    echo "| RSS after $SCRAPES scrapes (KB) | $t_rss | $s_rss | $n_rss | $(ratio "$t_rss" "$n_rss") | $(ratio "$s_rss" "$n_rss") |"
    echo "| peak RSS (KB) | $t_hwm | $s_hwm | $n_hwm | $(ratio "$t_hwm" "$n_hwm") | $(ratio "$s_hwm" "$n_hwm") |"
    echo "| CPU per scrape (µs) | $t_cpu | $s_cpu | $n_cpu | $(ratio "$t_cpu" "$n_cpu") | $(ratio "$s_cpu" "$n_cpu") |"
    echo "| exposition bytes | $s_bytes | $s_bytes | $n_bytes | | |"
    echo "| samples | $s_samp | $s_samp | $n_samp | | |"
    echo
    echo "Both use their default vmstat field set (soakd: node_exporter's oom_kill, pgpg*, pswp*,"
    echo "pg*fault plus nr_slab_*, nr_free_pages, workingset_*); soakd adds its soak_* identity"
    echo "and per-collector health, node_exporter its Go runtime and scrape metrics."
    echo "soakd's figures include its sampler and history threads (history ring: 1440 records"
    echo "allocated at start-up). With Debian's shared libmicrohttpd, about 4 MB of soakd's RSS"
    echo "are file pages of GnuTLS, p11-kit, nettle, gmp ... that plain-HTTP soakd never uses;"
    echo "the static build is what the boards run (make agent-aarch64)."
    if [ -n "$growth" ]; then
        echo
        echo "## soakd RSS over many scrapes"
        echo
        echo "$( [ -n "$SOAKD_STATIC" ] && echo "Static soakd;" || echo "soakd;") scrapes back to back (no pause), collector interval 1 s, one process."
        echo
        echo "| scrapes | RSS (KB) |"
        echo "| ---: | ---: |"
        echo "$growth"
        echo
        echo "Peak RSS over the whole run: $growth_hwm KB. A history record is taken every 60 s"
        echo "during the run; the first records touch pages of the preallocated ring and intern"
        echo "the series keys, which is the small step after the first thousand scrapes, not a"
        echo "per-scrape cost. (LeakSanitizer also runs on every soakd test under ASan.)"
    fi
    echo
    echo "collectd $(collectd -h 2>/dev/null | sed -n 's/^collectd \([0-9][0-9.]*[0-9]\).*/\1/p' | head -n 1) (memory, load, vmem plugins every 1 s to CSV; real /proc; no HTTP): RSS $cd_rss KB after 10 s."
} >"$OUT"
cat "$OUT"
