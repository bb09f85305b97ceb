#!/bin/sh
# A full disk during import: a clear error, exit 1, and nothing committed before is lost.
# Simulated with SQLite's max_page_count (spec option ?max_pages=N) and, when this runs
# as root and may mount, with a small tmpfs.
. "$SOAK_SRC/tests/integration/t-04x-lib.sh"

write_om "$WORK/small.om" 200 1750000000
python3 "$SOAK_SRC/bench/store-gen.py" --days 2 --seed 3 >"$WORK/big.om"

spec="sqlite:$WORK/full.db?max_pages=30"
check "import a small file into a small database" "$SOAK" import --db "$spec" --device ok "$WORK/small.om"
"$SOAK" import --db "$spec" --device big "$WORK/big.om" >"$WORK/.out" 2>&1
expect_eq "import into a full database fails" 1 $?
expect_grep "with a clear error" "big.om.*disk is full.*nothing" "$WORK/.out"
expect_eq "what was committed before is intact" 600 "$("$SOAK" export --db "$spec" --device ok | grep -vc '^#')"
expect_eq "nothing of the failed file" 0 "$("$SOAK" export --db "$spec" --device big 2>/dev/null | grep -vc '^#')"

mnt="$WORK/tmpfs"
mkdir -p "$mnt"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=1m soak-t042 "$mnt" 2>/dev/null; then
    CLEANUP_EXTRA="umount '$mnt' 2>/dev/null"
    check "tmpfs: import a small file" "$SOAK" import --db "$mnt/t.db" --device ok "$WORK/small.om"
    "$SOAK" import --db "$mnt/t.db" --device big "$WORK/big.om" >"$WORK/.out" 2>&1
    expect_eq "tmpfs full: import fails" 1 $?
    expect_grep "tmpfs full: clear error" "big.om.*full" "$WORK/.out"
    expect_eq "tmpfs full: committed data intact" 600 "$("$SOAK" export --db "$mnt/t.db" --device ok | grep -vc '^#')"
    umount "$mnt" 2>/dev/null
    CLEANUP_EXTRA=
else
    ok "tmpfs full disk # SKIP cannot mount a tmpfs here (needs root in a mount namespace that allows it)"
fi
done_testing
