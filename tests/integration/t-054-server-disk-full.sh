#!/bin/sh
# soak server on a store that fills up (SQLite max_pages, like a full disk): the error
# is logged and counted, polling goes on, every poll committed before is still there
# and the database opens clean.
. "$(dirname "$0")/t-05x-lib.sh"

"$SOAK" export --help >/dev/null 2>&1 || skip_all "soak export is not built yet"

start_soakd A "$ROOTS/rockpis-6.17" || exit 1
DB="$WORK/full.db"
cat >"$WORK/farm.conf" <<CONF
[server]
store = sqlite:$DB?max_pages=${SOAK_T054_PAGES:-15}
interval = 1

[device rockpis-1]
url = http://127.0.0.1:$A
CONF

"$SOAK" server --config "$WORK/farm.conf" --duration 6 -v 2>"$WORK/server.log"
check "the server runs to the end despite the full store" [ $? -eq 0 ]
check "the full store is reported" grep -q 'store: .*full' "$WORK/server.log"
polls=$(sed -n 's/.*stopped: \([0-9]*\) poll(s).*/\1/p' "$WORK/server.log")
check "polling went on ($polls polls in 6 s)" [ "${polls:-0}" -ge 5 ]
errors=$(sed -n 's/.* \([0-9]*\) store error(s).*/\1/p' "$WORK/server.log")
check "store errors are counted ($errors)" [ "${errors:-0}" -ge 1 ]

"$SOAK" export --db "$DB" --device rockpis-1 >"$WORK/out.om" 2>"$WORK/export.err"
check "the database opens clean" [ $? -eq 0 ]
sed -n 's/.*rockpis-1: committed poll \([0-9]*\) .*poll recorded.*/\1/p' "$WORK/server.log" \
    | sort -u >"$WORK/committed"
awk '$1 == "soak_poll_up" { split($3, a, "."); printf "%s%03d\n", a[1], substr(a[2] "000", 1, 3) }' \
    "$WORK/out.om" | sort -u >"$WORK/stored"
missing=$(comm -23 "$WORK/committed" "$WORK/stored" | wc -l)
check "every committed poll is there ($(wc -l <"$WORK/committed") committed, $missing missing)" \
    [ "$missing" -eq 0 ]

done_testing
