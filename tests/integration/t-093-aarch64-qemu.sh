#!/bin/sh
# The static aarch64 soakd (make agent-aarch64) runs under qemu-user on every fixture tree and
# prints exactly what the native build prints. Reports its size and peak RSS under qemu (mostly
# qemu's own; soakd's RSS on a real aarch64 kernel is measured by bench/vm-aarch64.sh).
set -u
: "${SOAK_BUILD:?}" "${SOAK_SRC:?}"
A64="${SOAK_AARCH64_BUILD:-$SOAK_BUILD/aarch64}"
NATIVE="$SOAK_BUILD/src/agent/soakd"
. "$SOAK_SRC/tests/lib/tap.sh"

if ! command -v qemu-aarch64 >/dev/null 2>&1 || ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
    skip_all "qemu-user or the aarch64 cross compiler is missing (scripts/install-deps.sh cross)"
fi
if [ ! -x "$A64/soakd" ] || [ "$NATIVE" -nt "$A64/soakd" ]; then
    if ! "$SOAK_SRC/scripts/build-agent-aarch64.sh" "$A64" >"$SOAK_BUILD/aarch64-build.log" 2>&1; then
        skip_all "the aarch64 build failed (see $SOAK_BUILD/aarch64-build.log)"
    fi
fi
if file "$A64/soakd" | grep -q "ARM aarch64.*statically linked"; then
    ok "build-aarch64/soakd is a static aarch64 executable ($(stat -c %s "$A64/soakd") bytes)"
else
    not_ok "static aarch64 executable" "$(file "$A64/soakd")"
fi
for root in "$SOAK_SRC"/tests/fixtures/roots/*/; do
    case=$(basename "$root")
    "$NATIVE" --root "$root" --once >"$SOAK_BUILD/native-$case.prom" 2>/dev/null
    /usr/bin/time -f "%M" -o "$SOAK_BUILD/qemu-$case.rss" qemu-aarch64 "$A64/soakd" --root "$root" --once \
        >"$SOAK_BUILD/qemu-$case.prom" 2>/dev/null
    # node_time_seconds is the wall clock at the read: the one line allowed to differ.
    sed -i '/^node_time_seconds /d' "$SOAK_BUILD/native-$case.prom" "$SOAK_BUILD/qemu-$case.prom"
    if cmp -s "$SOAK_BUILD/native-$case.prom" "$SOAK_BUILD/qemu-$case.prom" && [ -s "$SOAK_BUILD/native-$case.prom" ]; then
        ok "$case: aarch64 output identical to native ($(wc -l <"$SOAK_BUILD/native-$case.prom") lines; qemu peak RSS $(cat "$SOAK_BUILD/qemu-$case.rss") kB)"
    else
        not_ok "$case: aarch64 output identical to native" "$(diff "$SOAK_BUILD/native-$case.prom" "$SOAK_BUILD/qemu-$case.prom" | head -10)"
    fi
done
done_testing
