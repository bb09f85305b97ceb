#!/bin/sh
# bench/run.sh BUILD_DIR: run every benchmark script bench/*.sh (except this one) with
# the build directory, then print the figures each wrote to bench/out/*.md.
# Exit status: 0 when every benchmark ran, 1 otherwise (the others still run).
set -u
BUILD=${1:?usage: bench/run.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
mkdir -p "$HERE/out"
failed=""
for b in "$HERE"/*.sh; do
    [ "$(basename "$b")" = run.sh ] && continue
    echo "== $(basename "$b") $BUILD"
    if ! sh "$b" "$BUILD"; then
        echo "!! $(basename "$b") failed" >&2
        failed="$failed $(basename "$b")"
    fi
done
echo
for f in "$HERE"/out/*.md; do
    [ -e "$f" ] || continue
    echo "==== bench/out/$(basename "$f")"
    cat "$f"
    echo
done
if [ -n "$failed" ]; then
    echo "failed:$failed" >&2
    exit 1
fi
exit 0
