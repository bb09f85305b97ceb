# shellcheck shell=sh
# Shared by the t-07x tests of `soak sim` and `soak plot` (TAP helpers, work directory
# and background processes in $PIDS stopped on exit: tests/lib/tap.sh).
: "${SOAK_BUILD:?}" "${SOAK_SRC:?}"

. "$SOAK_SRC/tests/lib/tap.sh"

SOAK="$SOAK_BUILD/src/server/soak"
SOAKD="$SOAK_BUILD/src/agent/soakd"
tap_workdir t07x
NOW=1764201600 # 2025-11-27T00:00:00Z: the model's anchor in every t-07x test
# Under ASan: fontconfig (cairo's text) keeps a few allocations for the process's life.
printf 'leak:libfontconfig.so\n' >"$WORK/lsan.supp"
LSAN_OPTIONS="suppressions=$WORK/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS

# metric FILE NAME: the value of the first sample of NAME (exact, no labels) in FILE.
metric() {
    awk -v m="$2" '$1 == m { print $2; exit }' "$1"
}

# png_size FILE: "WIDTHxHEIGHT" from the PNG header (fails when it is not a PNG).
png_size() {
    python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read(24)
if d[:8] != b'\x89PNG\r\n\x1a\n' or d[12:16] != b'IHDR':
    sys.exit(1)
w, h = struct.unpack('>II', d[16:24])
print('%dx%d' % (w, h))
PY
}
