#!/bin/sh
# soak server on PostgreSQL: PostgreSQL stops under the running server; the server
# logs it, keeps polling, reconnects when PostgreSQL is back, and the next /history
# backfill fills the outage; SIGTERM then stops it cleanly.
. "$(dirname "$0")/t-05x-lib.sh"
. "$SOAK_SRC/tests/lib/pg.sh"

pg_available || skip_all "PostgreSQL server binaries (or the postgres user) not available"
"$SOAK" export --help >/dev/null 2>&1 || skip_all "soak export is not built yet"
pg_cleanup() { pg_stop; cleanup; }
trap pg_cleanup EXIT
trap "exit 1" INT TERM
pg_start || { echo "Bail out! cannot start PostgreSQL"; exit 1; }

start_soakd A "$ROOTS/rockpis-6.17" || exit 1
cat >"$WORK/farm.conf" <<CONF
[server]
store = $PG_URL
interval = 1

[device rockpis-1]
url = http://127.0.0.1:$A
CONF

"$SOAK" server --config "$WORK/farm.conf" -v 2>"$WORK/server.log" &
SRV=$!
PIDS="$PIDS $SRV"
sleep 3
$PG_AS "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
t_down=$(date +%s)
sleep 4
t_up=$(date +%s)
$PG_AS "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
    -o "-c listen_addresses= -k $PG_DIR -p $PG_PORT -c fsync=off" start >/dev/null 2>&1
check "PostgreSQL is back" [ $? -eq 0 ]
i=0
while [ $i -lt 40 ] && ! grep -q 'back$' "$WORK/server.log"; do sleep 0.5; i=$((i + 1)); done
sleep 2
check "the server is still running" kill -0 "$SRV"
kill -TERM "$SRV"
wait "$SRV"
check "SIGTERM stops it with exit 0" [ $? -eq 0 ]
check "the outage was reported" grep -q 'store.*reconnecting\|store .*retrying' "$WORK/server.log"
check "the server reconnected" grep -q "store .*: back" "$WORK/server.log"

"$SOAK" export --db "$PG_URL" --device rockpis-1 >"$WORK/out.om" 2>"$WORK/export.err"
check "soak export reads the PostgreSQL store" [ -s "$WORK/out.om" ]
gap=$(awk -v a="$t_down" -v b="$t_up" \
    '$1 == "node_memory_MemTotal_bytes" && $3 > a + 0.5 && $3 < b - 0.5' "$WORK/out.om" | wc -l)
check "the outage is filled from /history ($gap samples inside it)" [ "$gap" -ge 2 ]
polls=$(grep -c '^soak_poll_up 1' "$WORK/out.om")
check "polls before and after the outage are stored ($polls)" [ "$polls" -ge 5 ]

check "no sanitizer report in the server's log" sh -c "! grep -q 'runtime error\\|Sanitizer' '$WORK/server.log'"

done_testing
