#!/bin/sh
# soak server killed with SIGKILL in the middle of ingesting: the database opens
# clean and every poll it had committed is there; restarted after a gap, it
# backfills the gap from soakd's /history (seq and ring id remembered in the store).
. "$(dirname "$0")/t-05x-lib.sh"

"$SOAK" export --help >/dev/null 2>&1 || skip_all "soak export is not built yet"

start_soakd A "$ROOTS/rockpis-6.17" || exit 1
DB="$WORK/farm.db"
cat >"$WORK/farm.conf" <<CONF
[server]
store = sqlite:$DB
interval = 1

[device rockpis-1]
url = http://127.0.0.1:$A
CONF

"$SOAK" server --config "$WORK/farm.conf" -v 2>"$WORK/run1.log" &
SRV=$!
PIDS="$PIDS $SRV"
sleep 4
kill -9 "$SRV"
wait "$SRV" 2>/dev/null
t_kill=$(date +%s)

"$SOAK" export --db "$DB" --device rockpis-1 >"$WORK/after-kill.om" 2>"$WORK/export.err"
check "the database opens clean after kill -9" [ $? -eq 0 ]
if command -v sqlite3 >/dev/null; then
    check "SQLite's integrity check passes" \
        [ "$(sqlite3 "$DB" 'PRAGMA integrity_check;')" = ok ]
fi
# Every poll the server logged as committed has its soak_poll_up sample.
sed -n 's/.*rockpis-1: committed poll \([0-9]*\) .*poll recorded.*/\1/p' "$WORK/run1.log" \
    >"$WORK/committed"
awk '$1 == "soak_poll_up" { split($3, a, "."); printf "%s%03d\n", a[1], substr(a[2] "000", 1, 3) }' \
    "$WORK/after-kill.om" | sort -u >"$WORK/stored"
ncommit=$(wc -l <"$WORK/committed")
check "the server committed polls before it was killed ($ncommit)" [ "$ncommit" -ge 2 ]
missing=$(sort -u "$WORK/committed" | comm -23 - "$WORK/stored" | wc -l)
check "every committed poll is in the database ($missing missing)" [ "$missing" -eq 0 ]

# A gap: the server stays down while the agent keeps sampling every second.
sleep 4
t_back=$(date +%s)
"$SOAK" server --config "$WORK/farm.conf" --once 2>"$WORK/run2.log"
check "the restarted server polls (--once exits 0)" [ $? -eq 0 ]
"$SOAK" export --db "$DB" --device rockpis-1 >"$WORK/after-restart.om"
gap=$(awk -v a="$t_kill" -v b="$t_back" \
    '$1 == "node_memory_MemTotal_bytes" && $3 > a + 0.5 && $3 < b - 0.5' "$WORK/after-restart.om" | wc -l)
check "the gap is filled from /history ($gap samples inside it)" [ "$gap" -ge 2 ]
before=$(grep -c '^node_memory_MemTotal_bytes ' "$WORK/after-kill.om")
after=$(grep -c '^node_memory_MemTotal_bytes ' "$WORK/after-restart.om")
check "nothing stored before was lost ($before <= $after)" [ "$before" -le "$after" ]

# Backfilling again brings nothing twice (idempotent appends).
"$SOAK" server --config "$WORK/farm.conf" --once 2>/dev/null
again=$("$SOAK" export --db "$DB" --device rockpis-1 | awk -v b="$t_back" \
    '$1 == "node_memory_MemTotal_bytes" && $3 < b' | wc -l)
first=$(awk -v b="$t_back" '$1 == "node_memory_MemTotal_bytes" && $3 < b' \
    "$WORK/after-restart.om" | wc -l)
check "a second backfill duplicates nothing" [ "$again" -eq "$first" ]

done_testing
