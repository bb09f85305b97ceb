# shellcheck shell=sh
# Shared by the t-04x tests of the store commands (soak import, export, devices, query):
# TAP helpers and a scratch directory (tests/lib/tap.sh; tests may set CLEANUP_EXTRA),
# a check that shows the command's output, and small fixture writers.
: "${SOAK_BUILD:?}" "${SOAK_SRC:?}"

. "$SOAK_SRC/tests/lib/tap.sh"

SOAK="$SOAK_BUILD/src/server/soak"
tap_workdir t04x

# check DESCRIPTION COMMAND...: ok when the command succeeds; on failure its output
# (stdout and stderr, first 2000 bytes) is shown as diagnostics.
check() {
    _d=$1
    shift
    if "$@" >"$WORK/.out" 2>&1; then
        ok "$_d"
    else
        not_ok "$_d" "command: $*" "$(head -c 2000 "$WORK/.out")"
    fi
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
    if [ "$2" = "$3" ]; then
        ok "$1"
    else
        not_ok "$1" "expected: $2" "got:      $3"
    fi
}

# expect_grep DESCRIPTION PATTERN FILE
expect_grep() {
    if grep -q -- "$2" "$3"; then
        ok "$1"
    else
        not_ok "$1" "no '$2' in $3:" "$(head -c 2000 "$3")"
    fi
}

# done_testing: the plan, then exit (1 when a test failed).
done_testing() {
    tap_done
    exit $?
}

# A small OpenMetrics file: 3 series x COUNT samples from START (unix seconds), 60 s apart.
write_om() {
    _f=$1 _count=$2 _start=$3
    awk -v c="$_count" -v s="$_start" 'BEGIN {
        print "# HELP node_memory_MemAvailable_bytes Memory available."
        print "# TYPE node_memory_MemAvailable_bytes gauge"
        for (i = 0; i < c; i++) printf "node_memory_MemAvailable_bytes %d %d.%03d\n", 1000000 - i * 4096, s + i * 60, i % 1000
        print "# TYPE soak_sensor_celsius gauge"
        for (i = 0; i < c; i++) printf "soak_sensor_celsius{sensor=\"soc\",bus=\"i2c-1\"} %.3f %d.%03d\n", 40 + (i % 7) * 0.125, s + i * 60, i % 1000
        print "# TYPE soak_build_info gauge"
        for (i = 0; i < c; i++) printf "soak_build_info{build=\"6.17.6\",label=\"a \\\"q\\\" \\\\ b\"} 1 %d.%03d\n", s + i * 60, i % 1000
        print "# EOF"
    }' >"$_f"
}
