#!/bin/sh
# Run every test: the normal build, then the same suites under ASan+UBSan.
# Usage: scripts/run-tests.sh BUILD_DIR ASAN_BUILD_DIR
set -eu
build=${1:-build}
asan=${2:-build-asan}

# Both passes run even when the first fails, so one CI run shows every failure.
rc=0
echo "== tests ($build)"
meson test -C "$build" --print-errorlogs --num-processes 2 --no-suite slow || rc=1

echo "== tests under ASan+UBSan ($asan)"
# Quiet when it works; the compiler's messages when it does not (ninja prints them on stdout).
quiet() {
    if ! "$@" >"${TMPDIR:-/tmp}/soak-run-tests.$$.log" 2>&1; then
        cat "${TMPDIR:-/tmp}/soak-run-tests.$$.log"
        rm -f "${TMPDIR:-/tmp}/soak-run-tests.$$.log"
        echo "run-tests: failed: $*" >&2
        exit 1
    fi
    rm -f "${TMPDIR:-/tmp}/soak-run-tests.$$.log"
}
if [ ! -f "$asan/build.ninja" ]; then
    quiet meson setup "$asan" --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
fi
quiet ninja -C "$asan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C "$asan" --print-errorlogs --num-processes 2 --no-suite slow --no-suite browser \
    --no-suite cross || rc=1
[ "$rc" -eq 0 ] || echo "run-tests: FAILED (see the summaries above)" >&2
exit "$rc"
