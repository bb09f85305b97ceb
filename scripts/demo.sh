#!/bin/bash
# scripts/demo.sh BUILD_DIR - the story's board farm, simulated, polled and shown.
#
# 1. `soak sim history` writes the farm's past weeks (rock-pi-s, rock-pi-e, zero-3e,
#    rock-5b: 6.12.55, then 6.17.6 leaking filp) and `soak import` loads them into SQLite;
# 2. `soak sim live` keeps a simulated /proc + /sys tree per board going (time accelerated)
#    and runs a REAL soakd on each tree on a loopback port while the board is up and on the
#    network (stopped while it reboots or is unreachable);
# 3. `soak server` polls them into the same database and serves the dashboard
#    on 127.0.0.1:8080 (or the next free port);
# 4. the verdict table for each board's current build (6.17.6) is printed;
# 5. `soak deploy` installs the next release candidate, 2025.12-rc1, on the rock-pi-e: its
#    udev rules rename eth0 to end0, the board never comes back on the network (the farm
#    page shows it unreachable) and the deploy and the build's verdict fail; RAUC falls
#    back to 2025.11 two simulated hours later. Then everything runs until Ctrl-C.
#
# Environment: DEMO_SECONDS=N stops by itself after N seconds (tests, CI);
# DEMO_DIR=DIR works there (kept afterwards) instead of a temporary directory;
# DEMO_PORT=P first dashboard port to try (default 8080); DEMO_DAYS=D history length;
# DEMO_SPEED=X simulated seconds per real second (default 60); DEMO_DEPLOY=0 skips step 5.
set -eu

build=${1:-build}
soak=$build/src/server/soak
soakd=$build/src/agent/soakd
seconds=${DEMO_SECONDS:-0}
port0=${DEMO_PORT:-8080}
speed=${DEMO_SPEED:-60}
deploy=${DEMO_DEPLOY:-1}
rename_device=rock-pi-e
rename_bundle=2025.12-rc1
rename_build="6.17.6-yocto-standard 2025.12-rc1"

say() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# --- what is there
[ -x "$soak" ] || die "no $soak: build first (make)"
[ -x "$soakd" ] || die "no $soakd: build first (make)"
missing=
for c in sim import events server verdict web deploy; do
    "$soak" "$c" --help >/dev/null 2>&1 || missing="$missing soak-$c"
done
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
if [ -n "$missing" ]; then
    die "this build lacks:${missing} - the demo needs all of them (see issues 4, 5 and 6)"
fi

if [ -n "${DEMO_DIR:-}" ]; then
    work=$DEMO_DIR
    mkdir -p "$work"
    keep=1
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/soak-demo.XXXXXX")
    keep=0
fi
pids=
cleanup() {
    trap - EXIT INT TERM
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    if [ "$keep" = 0 ]; then rm -rf "$work"; else say "kept $work"; fi
    say "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port FIRST: the first port from FIRST on that nothing listens on (loopback).
free_port() {
    python3 - "$1" <<'EOF'
import socket, sys
p = int(sys.argv[1])
for port in range(p, p + 200):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
EOF
}

# --- 1. history
say "simulating the farm's history into $work/history"
mkdir -p "$work/history"
"$soak" sim history --out "$work/history" ${DEMO_DAYS:+--days "$DEMO_DAYS"} >"$work/sim-history.log" 2>&1 ||
    { cat "$work/sim-history.log" >&2; die "soak sim history failed"; }
db=$work/farm.db
devices=
for f in "$work/history"/*.om; do
    [ -e "$f" ] || die "soak sim history wrote no *.om files"
    name=$(basename "$f" .om)
    devices="$devices $name"
    say "importing $name"
    "$soak" import --quiet --db "$db" --device "$name" "$f" || die "soak import of $name failed"
    "$soak" events --db "$db" --device "$name" --rebuild >/dev/null ||
        die "soak events --rebuild of $name failed"
done

# --- 2. live boards served by real soakd processes, which `soak sim live` runs
say "starting the live simulated boards (${speed}x real time)"
mkdir -p "$work/roots"
conf=$work/farm.conf
webport=$(free_port "$port0")
[ -n "$webport" ] || die "no free port from $port0"
{
    printf '[server]\nstore = sqlite:%s\nlisten = 127.0.0.1:%s\ninterval = 10\n\n' "$db" "$webport"
    # a board off the network for 30 s raises an alert (the default, 5 min, outlasts the demo's)
    printf '[alerts]\nunreachable_after = 30\n\n'
} >"$conf"
agentport=9201
listen=
for name in $devices; do
    agentport=$(free_port "$agentport")
    [ -n "$agentport" ] || die "no free port for $name's soakd"
    listen="$listen --listen $name=127.0.0.1:$agentport"
    # The RAM sizes each board is sold with: the verdict projects a leak onto each.
    case $name in
    rock-pi-s) ram="256M,512M" ;;
    rock-pi-e) ram="512M,1G,2G" ;;
    zero-3e) ram="1G,2G,4G" ;;
    rock-5b) ram="4G,8G,16G" ;;
    *) ram="" ;;
    esac
    printf '[device %s]\nurl = http://127.0.0.1:%s\nmodel = %s\n' "$name" "$agentport" "$name" >>"$conf"
    [ -n "$ram" ] && printf 'ram_sizes = %s\n' "$ram" >>"$conf"
    # soak deploy installs on a simulated board through the simulator (an argv template, no shell)
    printf 'install = %s sim install --root %s {bundle}\n\n' "$(realpath "$soak")" "$work/roots/$name" >>"$conf"
    agentport=$((agentport + 1))
done
# shellcheck disable=SC2086 # $listen is a list of options
"$soak" sim live --out "$work/roots" --speed "$speed" --soakd "$soakd" $listen >"$work/sim-live.log" 2>&1 &
sim_pid=$!
pids="$pids $sim_pid"
for name in $devices; do
    root=$work/roots/$name
    for _ in $(seq 1 150); do [ -e "$root/proc/meminfo" ] && break; sleep 0.1; done
    [ -e "$root/proc/meminfo" ] || { cat "$work/sim-live.log" >&2; die "soak sim live made no root for $name ($root)"; }
done

# --- 3. the server: poller and dashboard
say "starting soak server (config $conf)"
"$soak" server --config "$conf" >"$work/server.log" 2>&1 &
server_pid=$!
pids="$pids $server_pid"
url=http://127.0.0.1:$webport/
for _ in $(seq 1 100); do
    curl -s -o /dev/null "$url" && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; die "soak server exited"; }
    sleep 0.2
done
curl -s -o /dev/null "$url" || die "the dashboard does not answer at $url"

# --- 4. the verdict table: each device's current build (6.17.6 on the farm) against the one before
curl -s "${url}api/v1/devices" >"$work/devices.json"
echo
say "dashboard: $url"
echo
say "verdicts (soak verdict --build <the device's current build>):"
printf '%-12s %-8s %s\n' DEVICE VERDICT "BUILD AND REASONS"
for name in $devices; do
    b=$(python3 -c 'import json, sys
d = [x for x in json.load(open(sys.argv[1]))["devices"] if x["name"] == sys.argv[2]]
print(d[0]["build"] or "" if d else "")' "$work/devices.json" "$name")
    if [ -z "$b" ]; then
        printf '%-12s %-8s %s\n' "$name" "-" "no build reported"
        continue
    fi
    set +e
    out=$("$soak" verdict --db "$db" --config "$conf" --device "$name" --build "$b" 2>&1)
    rc=$?
    set -e
    case $rc in 0) v=PASS ;; 1) v=FAIL ;; 2) v="NO DATA" ;; *) v=ERROR ;; esac
    printf '%-12s %-8s %s\n' "$name" "$v" "$(printf '%s\n' "$out" | head -n 1)"
    printf '%s\n' "$out" | tail -n +2 | grep -v '^ *ok ' | sed 's/^ */                      /'
done
echo

# --- 5. the update that renames a network interface, deployed on the live rock-pi-e
case " $devices " in *" $rename_device "*) ;; *) deploy=0 ;; esac
if [ "$deploy" != 0 ]; then
    # soak deploy waits one simulated hour for the board to come back
    wait_s=$(python3 -c "import sys; print(max(5, round(3600 / float(sys.argv[1]))))" "$speed")
    fallback_s=$(python3 -c "import sys; print(round(7560 / float(sys.argv[1])))" "$speed")
    say "deploying bundle $rename_bundle on $rename_device: its udev rules rename eth0 to end0"
    say "(soak deploy --device $rename_device --bundle $rename_bundle, waits ${wait_s}s;"
    say " watch ${url}: $rename_device goes unreachable, RAUC falls back in ~${fallback_s}s)"
    set +e
    out=$("$soak" deploy --config "$conf" --device "$rename_device" --bundle "$rename_bundle" \
        --build "$rename_build" --wait "$wait_s" --settle 5 2>&1)
    rc=$?
    set -e
    printf '%s\n' "$out" | sed 's/^/  /'
    [ "$rc" -le 1 ] || die "soak deploy failed to run (exit $rc)"
    set +e
    out=$("$soak" verdict --db "$db" --config "$conf" --device "$rename_device" --build "$rename_build" 2>&1)
    rc=$?
    set -e
    case $rc in 0) v=PASS ;; 1) v=FAIL ;; 2) v="NO DATA" ;; *) v=ERROR ;; esac
    say "verdict for $rename_build on $rename_device:"
    printf '%-12s %-8s %s\n' "$rename_device" "$v" "$(printf '%s\n' "$out" | head -n 1)"
    printf '%s\n' "$out" | tail -n +2 | grep -v '^ *ok ' | sed 's/^ */                      /'
    echo
fi

if [ "$seconds" -gt 0 ]; then
    say "running for ${seconds}s (DEMO_SECONDS)"
    sleep "$seconds"
    curl -s -o /dev/null -w 'demo: dashboard still answers: HTTP %{http_code}\n' "$url"
else
    say "dashboard: $url - press Ctrl-C to stop"
    while kill -0 "$server_pid" 2>/dev/null; do sleep 1; done
    set +e
    wait "$server_pid"
    rc=$?
    set -e
    # Ctrl-C reaches soak server too, which then stops cleanly (0): not a failure
    [ "$rc" != 0 ] || exit 130
    keep=1
    die "soak server exited with status $rc: see $work/server.log"
fi
