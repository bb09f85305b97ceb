# shellcheck shell=sh
# tests/lib/tap.sh - TAP helpers shared by the integration tests (sourced, POSIX sh).
#
#   ok DESC / not_ok DESC [DIAG...]    one test line; every line of each DIAG is
#                                      printed as a "# " comment
#   check DESC CMD...                  ok when CMD succeeds (its stdout goes to stderr)
#   skip_all REASON                    prints "1..0 # SKIP REASON" and exits 0
#                                      (meson treats exit 77 from a TAP test as an error)
#   tap_done                           prints the plan "1..N"; fails when a test failed
#   done_testing                       tap_done (a group may redefine it, e.g. to exit)
#   tap_workdir NAME                   WORK=<fresh temp dir>; on exit `cleanup` runs
#                                      $CLEANUP_EXTRA (eval), kills the PIDs listed in
#                                      $PIDS with $TAP_KILL_SIGNAL (TERM), waits for
#                                      them and removes $WORK; INT/TERM exit 1
#   free_port                          a loopback TCP port nobody listens on right now
#   wait_for_log FILE SED-EXPR [PID]   up to 10 s until `sed -n SED-EXPR FILE` prints
#                                      something; prints its first line; fails early
#                                      when PID dies
#   wait_for_url URL                   up to 10 s until URL answers 2xx
#   tap_start_soakd LOG ARGS...        soakd --listen 127.0.0.1:0 -v ARGS (stderr to LOG);
#                                      sets TAP_PID and TAP_PORT (from its log line);
#                                      on failure prints the log as diagnostics, fails

n=0
failed=0
WORK=
PIDS=
CLEANUP_EXTRA=
TAP_KILL_SIGNAL=TERM
TAP_PID=
TAP_PORT=

ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}

not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    shift
    for _l in "$@"; do printf '%s\n' "$_l" | sed 's/^/# /'; done
}

check() {
    _d=$1
    shift
    # What the command prints goes to stderr: on stdout it would break the TAP stream.
    if "$@" >&2; then ok "$_d"; else not_ok "$_d" "command: $*"; fi
}

skip_all() {
    echo "1..0 # SKIP $*"
    exit 0
}

tap_done() {
    echo "1..$n"
    [ "$failed" -eq 0 ]
}

done_testing() { tap_done; }

cleanup() {
    if [ -n "$CLEANUP_EXTRA" ]; then
        eval "$CLEANUP_EXTRA"
    fi
    for _p in $PIDS; do kill -"$TAP_KILL_SIGNAL" "$_p" 2>/dev/null; done
    for _p in $PIDS; do wait "$_p" 2>/dev/null; done
    [ -z "$WORK" ] || rm -rf "$WORK"
}

tap_workdir() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/soak-$1.XXXXXX") || exit 1
    trap cleanup EXIT
    trap 'exit 1' INT TERM
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_for_log() {
    _i=0
    while [ $_i -lt 100 ]; do
        _m=$(sed -n "$2" "$1" 2>/dev/null | head -n 1)
        if [ -n "$_m" ]; then
            echo "$_m"
            return 0
        fi
        if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then
            return 1
        fi
        sleep 0.1
        _i=$((_i + 1))
    done
    return 1
}

wait_for_url() {
    _i=0
    while [ $_i -lt 100 ]; do
        curl -sf "$1" >/dev/null 2>&1 && return 0
        sleep 0.1
        _i=$((_i + 1))
    done
    return 1
}

tap_start_soakd() {
    _log=$1
    shift
    "$SOAK_BUILD/src/agent/soakd" --listen 127.0.0.1:0 -v "$@" 2>"$_log" &
    TAP_PID=$!
    if TAP_PORT=$(wait_for_log "$_log" 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$TAP_PID"); then
        return 0
    fi
    echo "# soakd did not start:"
    sed 's/^/#   /' "$_log"
    return 1
}
