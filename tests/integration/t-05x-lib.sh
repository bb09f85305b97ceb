# shellcheck shell=sh
# Shared by the t-05x tests of `soak server`: TAP helpers, real soakd agents,
# node_exporter and bad targets on free loopback ports, all stopped on exit.
: "${SOAK_BUILD:?}" "${SOAK_SRC:?}"

SOAK="$SOAK_BUILD/src/server/soak"
SOAKD="$SOAK_BUILD/src/agent/soakd"
ROOTS="$SOAK_SRC/tests/fixtures/roots"
HERE="$SOAK_SRC/tests/integration"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/soak-t05x.XXXXXX")
PIDS=
n=0
failed=0

cleanup() {
    for _p in $PIDS; do kill -9 "$_p" 2>/dev/null; done
    for _p in $PIDS; do wait "$_p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 1" INT TERM

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    shift
    for _l in "$@"; do echo "# $_l"; done
}
check() {
    _d=$1
    shift
    if "$@"; then ok "$_d"; else not_ok "$_d" "command: $*"; fi
}
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
done_testing() { echo "1..$n"; [ "$failed" -eq 0 ]; }

# free_port: a TCP port nobody listens on right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_soakd VAR ROOT: soakd on a free port with a 1-second history; port in $VAR.
# With SOAKD_TOKEN set, the agent asks for that bearer token.
start_soakd() {
    _var=$1
    _root=$2
    _log="$WORK/soakd-$_var.log"
    printf '[history]\ninterval = 1\n' >"$WORK/soakd-$_var.conf"
    [ -z "${SOAKD_TOKEN:-}" ] || printf '[agent]\ntoken = %s\n' "$SOAKD_TOKEN" >>"$WORK/soakd-$_var.conf"
    : >"$_log"
    "$SOAKD" --config "$WORK/soakd-$_var.conf" --root "$_root" --listen 127.0.0.1:0 -v \
        2>"$_log" &
    _pid=$!
    PIDS="$PIDS $_pid"
    eval "${_var}_PID=$_pid"
    _i=0
    while [ $_i -lt 100 ]; do
        _port=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$_log" | head -n 1)
        if [ -n "$_port" ]; then
            eval "$_var=$_port"
            return 0
        fi
        sleep 0.1
        _i=$((_i + 1))
    done
    echo "# soakd did not start:"; sed 's/^/#   /' "$_log"
    return 1
}

# start_node_exporter VAR: Debian's node_exporter (meminfo only) on a fixture /proc.
start_node_exporter() {
    _port=$(free_port)
    /usr/bin/prometheus-node-exporter --web.listen-address="127.0.0.1:$_port" \
        --path.procfs="$ROOTS/minimal/proc" --collector.disable-defaults \
        --collector.meminfo >"$WORK/node_exporter.log" 2>&1 &
    PIDS="$PIDS $!"
    eval "$1=$_port"
    _i=0
    while [ $_i -lt 100 ]; do
        curl -sf "http://127.0.0.1:$_port/metrics" >/dev/null 2>&1 && return 0
        sleep 0.1
        _i=$((_i + 1))
    done
    return 1
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
