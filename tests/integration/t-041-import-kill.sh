#!/bin/sh
# SIGKILL during a big import: the database opens clean (PRAGMA integrity_check), what an
# earlier import committed is all there, nothing of the killed file is, and importing it
# again completes.
. "$SOAK_SRC/tests/integration/t-04x-lib.sh"
DB="$WORK/k.db"

write_om "$WORK/small.om" 1000 1750000000
check "import a small file (acknowledged)" "$SOAK" import --db "$DB" --device acked "$WORK/small.om"
python3 "$SOAK_SRC/bench/store-gen.py" --days 8 --seed 7 >"$WORK/big.om"
total=$(grep -vc '^#' "$WORK/big.om")

"$SOAK" import --db "$DB" --device big "$WORK/big.om" >"$WORK/imp.log" 2>&1 &
pid=$!
sleep 0.4
if kill -9 "$pid" 2>/dev/null; then
    wait "$pid"
    expect_eq "import killed with SIGKILL in the middle" 137 $?
else
    wait "$pid"
    not_ok "import killed with SIGKILL in the middle" "it had already finished: $(cat "$WORK/imp.log")"
fi

if command -v sqlite3 >/dev/null 2>&1; then
    expect_eq "database opens clean: integrity_check" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check')"
else
    ok "database opens clean: integrity_check # SKIP sqlite3 CLI not installed"
fi
expect_eq "every acknowledged sample is there" 3000 "$("$SOAK" export --db "$DB" --device acked | grep -vc '^#')"
"$SOAK" export --db "$DB" --device big >"$WORK/partial.om" 2>/dev/null
expect_eq "nothing of the killed import is stored" 0 "$(grep -vc '^#' "$WORK/partial.om")"
check "the import runs again to the end" "$SOAK" import --db "$DB" --device big "$WORK/big.om"
expect_grep "and adds every sample" "$total samples read, $total added, 0 duplicates" "$WORK/.out"
expect_eq "export has them all" "$total" "$("$SOAK" export --db "$DB" --device big | grep -vc '^#')"
done_testing
