#!/bin/sh
# run-fuzz.sh BUILD SECONDS - run every libFuzzer harness built in BUILD/tests/fuzz
# for SECONDS each. Seeds come from tests/fuzz/corpus/<name>/ (checked in, made
# from the fixture trees); new inputs go to BUILD/fuzz-corpus/<name>/ so the
# source tree is not touched. A crash leaves its input in BUILD/fuzz-crashes/<name>/
# and makes the script exit 1 after all harnesses ran.
set -u
if [ $# -ne 2 ]; then
    echo "usage: $0 BUILD SECONDS" >&2
    exit 2
fi
build=$1
seconds=$2
src=$(cd "$(dirname "$0")/.." && pwd)
failed=0
found=0
for exe in "$build"/tests/fuzz/fuzz-*; do
    [ -x "$exe" ] && [ -f "$exe" ] || continue
    name=${exe##*/fuzz-}
    found=$((found + 1))
    work="$build/fuzz-corpus/$name"
    crashes="$build/fuzz-crashes/$name"
    mkdir -p "$work" "$crashes"
    seeds="$src/tests/fuzz/corpus/$name"
    [ -d "$seeds" ] || seeds=""
    echo "== fuzz-$name: ${seconds}s"
    if "$exe" -max_total_time="$seconds" -rss_limit_mb=512 -max_len=16384 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$work" $seeds \
        >"$build/fuzz-$name.log" 2>&1; then
        grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$build/fuzz-$name.log" |
            sed "s/^/   /"
    else
        echo "   FAILED: see $build/fuzz-$name.log and $crashes/"
        tail -20 "$build/fuzz-$name.log"
        failed=1
    fi
done
if [ "$found" -eq 0 ]; then
    echo "no harness in $build/tests/fuzz (configure with CC=clang meson setup -Dfuzz=true)" >&2
    exit 2
fi
exit $failed
