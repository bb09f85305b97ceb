# shellcheck shell=sh
# Shared by the t-05x tests of `soak server` (TAP helpers: tests/lib/tap.sh): real soakd agents,
# node_exporter and bad targets on free loopback ports, all stopped on exit.
: "${SOAK_BUILD:?}" "${SOAK_SRC:?}"

. "$SOAK_SRC/tests/lib/tap.sh"

SOAK="$SOAK_BUILD/src/server/soak"
SOAKD="$SOAK_BUILD/src/agent/soakd"
ROOTS="$SOAK_SRC/tests/fixtures/roots"
HERE="$SOAK_SRC/tests/integration"
tap_workdir t05x
TAP_KILL_SIGNAL=KILL

# start_soakd VAR ROOT: soakd on a free port with a 1-second history; port in $VAR.
# With SOAKD_TOKEN set, the agent asks for that bearer token.
start_soakd() {
    _var=$1
    printf '[history]\ninterval = 1\n' >"$WORK/soakd-$_var.conf"
    [ -z "${SOAKD_TOKEN:-}" ] || printf '[agent]\ntoken = %s\n' "$SOAKD_TOKEN" >>"$WORK/soakd-$_var.conf"
    tap_start_soakd "$WORK/soakd-$_var.log" --config "$WORK/soakd-$_var.conf" --root "$2"
    _rc=$?
    PIDS="$PIDS $TAP_PID"
    eval "${_var}_PID=$TAP_PID"
    [ $_rc -eq 0 ] || return 1
    eval "$_var=$TAP_PORT"
}

# start_node_exporter VAR: Debian's node_exporter (meminfo only) on a fixture /proc.
start_node_exporter() {
    _port=$(free_port)
    /usr/bin/prometheus-node-exporter --web.listen-address="127.0.0.1:$_port" \
        --path.procfs="$ROOTS/minimal/proc" --collector.disable-defaults \
        --collector.meminfo >"$WORK/node_exporter.log" 2>&1 &
    PIDS="$PIDS $!"
    eval "$1=$_port"
    wait_for_url "http://127.0.0.1:$_port/metrics"
}

# start_bad_targets: sets SLEEP_PORT GARBAGE_PORT ENDLESS_PORT ERROR_PORT, and SINK_PORT
# (a webhook receiver writing each POST to $WORK/webhook.out).
start_bad_targets() {
    : >"$WORK/bad.ports"
    python3 "$HERE/t-05x-badtargets.py" "$WORK/webhook.out" >"$WORK/bad.ports" &
    PIDS="$PIDS $!"
    _i=0
    while [ $_i -lt 100 ] && [ "$(wc -l <"$WORK/bad.ports")" -lt 5 ]; do
        sleep 0.1
        _i=$((_i + 1))
    done
    SLEEP_PORT=$(awk '$1 == "sleep" {print $2}' "$WORK/bad.ports")
    GARBAGE_PORT=$(awk '$1 == "garbage" {print $2}' "$WORK/bad.ports")
    ENDLESS_PORT=$(awk '$1 == "endless" {print $2}' "$WORK/bad.ports")
    ERROR_PORT=$(awk '$1 == "error" {print $2}' "$WORK/bad.ports")
    SINK_PORT=$(awk '$1 == "sink" {print $2}' "$WORK/bad.ports")
    [ -n "$SINK_PORT" ]
}

# series_count DB DEVICE METRIC: samples of METRIC (any labels) stored for DEVICE.
series_count() {
    "$SOAK" export --db "$1" --device "$2" 2>/dev/null | grep -c "^$3[ {]"
}
