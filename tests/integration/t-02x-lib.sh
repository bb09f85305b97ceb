# shellcheck shell=sh
# Shared by the t-02x tests of the soakd daemon (TAP helpers: tests/lib/tap.sh):
# soakd on a free loopback port (it picks the port: --listen 127.0.0.1:0, and logs
# it), stopped on exit whatever happens, and HTTP/promtool helpers.
: "${SOAK_BUILD:?}" "${SOAK_SRC:?}"

. "$SOAK_SRC/tests/lib/tap.sh"

SOAKD="$SOAK_BUILD/src/agent/soakd"
ROOT="$SOAK_SRC/tests/fixtures/roots/daemon-min"
tap_workdir t02x
SOAKD_PID=
PORT=
CLEANUP_EXTRA='[ -z "$SOAKD_PID" ] || { kill "$SOAKD_PID"; wait "$SOAKD_PID"; } 2>/dev/null'

# start_soakd LOGFILE [ARGS...]: start soakd on 127.0.0.1:<free port>, wait until it answers.
start_soakd() {
    _log=$1
    shift
    if tap_start_soakd "$_log" --root "$ROOT" "$@"; then
        SOAKD_PID=$TAP_PID
        PORT=$TAP_PORT
        return 0
    fi
    SOAKD_PID=
    PORT=
    return 1
}

stop_soakd() {
    [ -n "$SOAKD_PID" ] || return 0
    kill "$SOAKD_PID" 2>/dev/null
    wait "$SOAKD_PID"
    _rc=$?
    SOAKD_PID=
    return $_rc
}

# http_status URL [CURL ARGS...]: print the status code (000 when no answer).
http_status() {
    _u=$1
    shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" "http://127.0.0.1:$PORT$_u"
}

# fetch URL OUTFILE HEADERFILE [CURL ARGS...]
fetch() {
    _u=$1 _o=$2 _h=$3
    shift 3
    curl -s --max-time 10 -D "$_h" -o "$_o" "$@" "http://127.0.0.1:$PORT$_u"
}

# header FILE NAME: the value of a response header (CR stripped).
header() {
    grep -i "^$2:" "$1" | head -n 1 | sed 's/^[^:]*: *//' | tr -d '\r'
}

# promtool_ok FILE: promtool accepts the exposition. node_exporter's names
# (node_memory_MemFree_bytes ...) are part of the contract and only draw promtool's
# camelCase lint warning (exit 3); any other message fails.
promtool_ok() {
    promtool check metrics <"$1" >"$WORK/promtool.out" 2>&1
    _rc=$?
    [ $_rc -eq 0 ] && return 0
    [ $_rc -eq 3 ] || { sed 's/^/# /' "$WORK/promtool.out"; return 1; }
    if grep -v "should be written in 'snake_case' not 'camelCase'" "$WORK/promtool.out" |
        grep -q .; then
        sed 's/^/# /' "$WORK/promtool.out"
        return 1
    fi
    return 0
}

need_promtool() {
    command -v promtool >/dev/null 2>&1 ||
        skip_all "promtool not installed (Debian package prometheus)"
}

# wait_for_seq N [CURL ARGS...]: wait (up to 20 s) until /info reports newest_seq >= N;
# print it.
wait_for_seq() {
    _want=$1
    shift
    _i=0
    while [ $_i -lt 200 ]; do
        _s=$(curl -s --max-time 5 "$@" "http://127.0.0.1:$PORT/info" |
            sed -n 's/.*"newest_seq":\([0-9]*\).*/\1/p')
        if [ -n "$_s" ] && [ "$_s" -ge "$_want" ] 2>/dev/null; then
            echo "$_s"
            return 0
        fi
        sleep 0.1
        _i=$((_i + 1))
    done
    echo "${_s:-0}"
    return 1
}
