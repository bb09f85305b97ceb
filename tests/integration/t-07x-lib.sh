# shellcheck shell=sh
# Shared by the t-07x tests of `soak sim` and `soak plot`: TAP helpers, a work
# directory, and background processes stopped on exit whatever happens.
: "${SOAK_BUILD:?}" "${SOAK_SRC:?}"

SOAK="$SOAK_BUILD/src/server/soak"
SOAKD="$SOAK_BUILD/src/agent/soakd"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/soak-t07x.XXXXXX")
NOW=1764201600 # 2025-11-27T00:00:00Z: the model's anchor in every t-07x test
BG_PIDS=
n=0
# Under ASan: fontconfig (cairo's text) keeps a few allocations for the process's life.
printf 'leak:libfontconfig.so\n' >"$WORK/lsan.supp"
LSAN_OPTIONS="suppressions=$WORK/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
failed=0

cleanup() {
    for _p in $BG_PIDS; do kill "$_p" 2>/dev/null; done
    for _p in $BG_PIDS; do wait "$_p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}

not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    shift
    for _l in "$@"; do echo "# $_l"; done
}

# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
    _d=$1
    shift
    if "$@"; then ok "$_d"; else not_ok "$_d" "command: $*"; fi
}

done_testing() {
    echo "1..$n"
    [ "$failed" -eq 0 ]
}

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
