# Helpers shared by the t-08x dashboard tests (sourced, not a test itself).
# Needs: SOAK_BUILD, SOAK_SRC (meson test env), python3, curl. TAP helpers, $tmp
# (= $WORK) and cleanup: tests/lib/tap.sh; finish = tap_done.

SOAK=${SOAK_BUILD:?SOAK_BUILD not set}/src/server/soak
SOAKD=$SOAK_BUILD/src/agent/soakd
. "${SOAK_SRC:?SOAK_SRC not set}/tests/lib/tap.sh"
tap_workdir web
tmp=$WORK
web_pid=
CLEANUP_EXTRA='[ -z "$web_pid" ] || { kill "$web_pid"; wait "$web_pid"; } 2>/dev/null'

finish() { tap_done; }

# need_cmd SUBCOMMAND: skip the whole test when soak lacks it.
need_cmd() {
    "$SOAK" "$1" --help >/dev/null 2>&1 || skip_all "soak $1 is not available in this build"
}

# gen_fixture DIR: small deterministic OpenMetrics histories (python3), two devices.
# dev A "rockpis-t": 2 days at 10-minute steps, a reboot into build 6.17.6 after 1 day,
#   filp slab growing, MemAvailable falling, polls recorded (last one failed), a sensor.
# dev B '<b>x&y<b>': a name that must be escaped, one day, no polls.
gen_fixture() {
    python3 - "$1" <<'EOF'
import sys, os
out = sys.argv[1]
T0 = 1764000000  # 2025-11-24T16:00:00Z
def fam(f, name, typ, rows):
    f.write(f"# TYPE {name} {typ}\n")
    for labels, v, t in rows:
        lab = "{" + ",".join(f'{k}="{val}"' for k, val in labels) + "}" if labels else ""
        f.write(f"{name}{lab} {v} {t}\n")
def dev(path, steps, polls, reboot_at):
    ts = [T0 + 600 * i for i in range(steps)]
    with open(path, "w") as f:
        def boot(t): return T0 - 3600 if t < reboot_at else reboot_at
        def build(t): return ("6.12.55-yocto poky-5.0", "6.12.55-yocto") if t < reboot_at else ("6.17.6-yocto poky-5.0", "6.17.6-yocto")
        fam(f, "node_memory_MemTotal_bytes", "gauge", [((), 235958272, t) for t in ts])
        fam(f, "node_memory_MemAvailable_bytes", "gauge",
            [((), 180000000 - (0 if t < reboot_at else (t - reboot_at) * 300), t) for t in ts])
        fam(f, "node_memory_MemFree_bytes", "gauge", [((), 60000000, t) for t in ts])
        fam(f, "node_memory_SUnreclaim_bytes", "gauge",
            [((), 20000000 + (0 if t < reboot_at else (t - reboot_at) * 60), t) for t in ts])
        fam(f, "soak_build_info", "gauge",
            [((("build", build(t)[0]), ("kernel_release", build(t)[1])), 1, t) for t in ts])
        fam(f, "node_boot_time_seconds", "gauge", [((), boot(t), t) for t in ts])
        fam(f, "soak_boot_info", "gauge", [((("boot_id", "a" if t < reboot_at else "b"),), 1, t) for t in ts])
        fam(f, "soak_uptime_seconds", "gauge", [((), t - boot(t), t) for t in ts])
        rows = []
        for t in ts:
            rows.append(((("slab", "filp"),), 20000 + (0 if t < reboot_at else (t - reboot_at) // 6), t))
            rows.append(((("slab", "dentry"),), 50000, t))
        fam(f, "node_slabinfo_active_objects", "gauge", rows)
        fam(f, "soak_sensor_temperature_celsius", "gauge",
            [((("chip", "sht30"), ("sensor", "sht30-indoor")), 21.5, t) for t in ts])
        fam(f, "soak_sensor_up", "gauge", [((("sensor", "sht30-indoor"),), 1, t) for t in ts])
        if polls:
            fam(f, "soak_poll_up", "gauge", [((), 0 if t == ts[-1] else 1, t) for t in ts])
            fam(f, "soak_poll_duration_seconds", "gauge", [((), 0.012, t) for t in ts])
        f.write("# EOF\n")
dev(os.path.join(out, "a.om"), 288, True, T0 + 86400)
dev(os.path.join(out, "b.om"), 144, False, T0 + 10 ** 9)
EOF
}

# start_web ARGS...: start `soak web` on a free loopback port; sets web_pid and url.
start_web() {
    "$SOAK" web --listen 127.0.0.1:0 "$@" >"$tmp/web.out" 2>"$tmp/web.err" &
    web_pid=$!
    url=$(wait_for_log "$tmp/web.out" 's/^soak web: serving \(http:[^ ]*\)$/\1/p' "$web_pid")
    url=${url%/}
    [ -n "$url" ]
}

# get PATH [CURL ARGS...]: body to $tmp/body, status code on stdout.
get() {
    p=$1
    shift
    curl -s -o "$tmp/body" -w '%{http_code}' "$@" "$url$p"
}

# json PYTHON-EXPR: evaluate an expression over the JSON in $tmp/body (bound to j).
json() {
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval("(" + sys.argv[2].strip() + ")") else 1)' \
        "$tmp/body" "$1"
}
