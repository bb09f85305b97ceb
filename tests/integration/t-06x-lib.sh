# shellcheck shell=sh
# Shared by the t-06x tests of the leak analysis and verdicts (TAP helpers:
# tests/lib/tap.sh): exit-code and jq checks, and simulated boots written by
# bench/soak-leakbench (OpenMetrics, for soak import).
: "${SOAK_BUILD:?}" "${SOAK_SRC:?}"

# shellcheck disable=SC2034 # used by the scripts that source this file
SOAK="$SOAK_BUILD/src/server/soak"
GEN="$SOAK_BUILD/bench/soak-leakbench"
. "$SOAK_SRC/tests/lib/tap.sh"
tap_workdir t06x
# shellcheck disable=SC2034
MB=1048576

# expect_rc WANT NAME CMD...: run CMD, compare its exit code.
expect_rc() {
    _want=$1
    _name=$2
    shift 2
    "$@" >"$WORK/out" 2>"$WORK/err"
    _rc=$?
    if [ "$_rc" = "$_want" ]; then
        ok "$_name"
    else
        not_ok "$_name (exit $_rc, want $_want)" "$(head -c 600 "$WORK/out")" "$(head -c 300 "$WORK/err")"
    fi
}
# jcheck NAME JQ-EXPR FILE: the jq expression must be true on FILE.
jcheck() {
    if jq -e "$2" "$3" >/dev/null 2>&1; then
        ok "$1"
    else
        not_ok "$1" "jq: $2" "$(head -c 600 "$3")"
    fi
}
# gen FILE ARGS...: one simulated boot.
gen() {
    _f=$1
    shift
    "$GEN" emit "$@" >"$_f" || not_ok "soak-leakbench emit $*"
}
