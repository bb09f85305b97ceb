#!/bin/sh
# Run every test: the normal build, then the same suites under ASan+UBSan.
# Usage: scripts/run-tests.sh BUILD_DIR ASAN_BUILD_DIR
set -eu
build=${1:-build}
asan=${2:-build-asan}

echo "== tests ($build)"
meson test -C "$build" --print-errorlogs --num-processes 2 --no-suite slow

echo "== tests under ASan+UBSan ($asan)"
if [ ! -f "$asan/build.ninja" ]; then
    meson setup "$asan" --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$asan" >/dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C "$asan" --print-errorlogs --num-processes 2 --no-suite slow --no-suite browser --no-suite cross
