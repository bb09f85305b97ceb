#!/bin/sh
# Golden files: `soakd --root tests/fixtures/roots/<case> --once` must print
# exactly tests/fixtures/expected/<case>.prom (minus the wall time and the
# agent's own process metrics). SOAK_UPDATE_GOLDEN=1 rewrites the expected
# files instead (review the diff before committing). promtool, when installed,
# must accept every output.
set -u
: "${SOAK_BUILD:?}" "${SOAK_SRC:?}"
. "$SOAK_SRC/tests/integration/t-01x-lib.sh"

soakd="$SOAK_BUILD/src/agent/soakd"
roots="$SOAK_SRC/tests/fixtures/roots"
expected="$SOAK_SRC/tests/fixtures/expected"
cases=$(cd "$roots" && ls -d */ | tr -d /)
n=$(echo "$cases" | wc -w)
have_promtool=0
command -v promtool >/dev/null 2>&1 && have_promtool=1
echo "1..$((n * 2))"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

i=0
for c in $cases; do
    i=$((i + 1))
    out="$tmp/$c.prom"
    if ! "$soakd" --root "$roots/$c" --once >"$tmp/$c.raw" 2>"$tmp/$c.err"; then
        echo "not ok $i - $c: soakd --once failed"
        sed 's/^/# /' "$tmp/$c.err"
        i=$((i + 1))
        echo "not ok $i - $c: promtool"
        continue
    fi
    soak_stable <"$tmp/$c.raw" >"$out"
    if [ "${SOAK_UPDATE_GOLDEN:-0}" = 1 ]; then
        mkdir -p "$expected"
        cp "$out" "$expected/$c.prom"
        echo "ok $i - $c: expected/$c.prom rewritten"
    elif [ ! -f "$expected/$c.prom" ]; then
        echo "not ok $i - $c: no expected/$c.prom (run with SOAK_UPDATE_GOLDEN=1)"
    elif diff -u "$expected/$c.prom" "$out" >"$tmp/$c.diff"; then
        echo "ok $i - $c: identical to expected/$c.prom ($(grep -vc '^#' "$out") samples)"
    else
        echo "not ok $i - $c: differs from expected/$c.prom"
        head -40 "$tmp/$c.diff" | sed 's/^/# /'
    fi
    i=$((i + 1))
    if [ "$have_promtool" = 0 ]; then
        echo "ok $i - $c: promtool # SKIP promtool not installed"
    else
        # node_exporter's own names (node_memory_MemTotal_bytes) are camelCase
        # by contract: that lint is expected, anything else is a failure.
        promtool check metrics <"$tmp/$c.raw" >"$tmp/$c.promtool" 2>&1
        rc=$?
        grep -v "should be written in 'snake_case' not 'camelCase'" "$tmp/$c.promtool" \
            >"$tmp/$c.lint"
        if [ "$rc" -ne 1 ] && [ ! -s "$tmp/$c.lint" ]; then
            echo "ok $i - $c: promtool check metrics"
        else
            echo "not ok $i - $c: promtool check metrics"
            head -20 "$tmp/$c.lint" | sed 's/^/# /'
        fi
    fi
done
