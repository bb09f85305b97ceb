#!/bin/sh
# The store commands on PostgreSQL (a throwaway server, tests/lib/pg.sh): import,
# idempotent re-import, export round trip through SQLite and back, devices, query,
# and a broken file leaves nothing. Skips (77) without the PostgreSQL server binaries.
. "$SOAK_SRC/tests/integration/t-04x-lib.sh"
. "$SOAK_SRC/tests/lib/pg.sh"
pg_available || skip_all "PostgreSQL server binaries not installed"
CLEANUP_EXTRA=pg_stop
if ! pg_start; then
    not_ok "start a throwaway PostgreSQL"
    done_testing
fi
ok "start a throwaway PostgreSQL"

write_om "$WORK/a.om" 700 1760000000
check "import into PostgreSQL" "$SOAK" import --db "$PG_URL" --device rockpis-1 "$WORK/a.om"
expect_grep "summary" "2100 samples read, 2100 added, 0 duplicates, 3 series" "$WORK/.out"
check "import again" "$SOAK" import --db "$PG_URL" --device rockpis-1 "$WORK/a.om"
expect_grep "second import adds nothing" "2100 samples read, 0 added, 2100 duplicates" "$WORK/.out"
"$SOAK" export --db "$PG_URL" --device rockpis-1 >"$WORK/pg.om"
expect_eq "export from PostgreSQL has every sample" 2100 "$(grep -vc '^#' "$WORK/pg.om")"
check "PostgreSQL export imports into SQLite" "$SOAK" import --db "$WORK/s.db" --device rockpis-1 "$WORK/pg.om"
"$SOAK" export --db "$WORK/s.db" --device rockpis-1 >"$WORK/s.om"
if cmp -s "$WORK/pg.om" "$WORK/s.om"; then ok "SQLite and PostgreSQL export the same text"; else not_ok "SQLite and PostgreSQL export the same text" "$(diff "$WORK/pg.om" "$WORK/s.om" | head -5)"; fi
"$SOAK" query --db "$PG_URL" --device rockpis-1 --metric 'soak_sensor_celsius{sensor="soc"}' --csv >"$WORK/q.csv"
expect_eq "query --csv rows" 701 "$(wc -l <"$WORK/q.csv")"
expect_eq "query --csv first row" '1760000000.000,"soak_sensor_celsius{bus=""i2c-1"",sensor=""soc""}",40' "$(sed -n 2p "$WORK/q.csv")"
"$SOAK" devices --db "$PG_URL" >"$WORK/d.txt"
expect_grep "devices" "rockpis-1 .* 3  2025-10-09T08:53:20Z" "$WORK/d.txt"
sed '300s/.*/bad line here/' "$WORK/a.om" >"$WORK/bad.om"
"$SOAK" import --db "$PG_URL" --device rockpis-2 "$WORK/bad.om" >"$WORK/.out" 2>&1
expect_eq "broken file: exit 1" 1 $?
expect_grep "broken file: FILE:LINE" "bad.om:300: bad value 'line'" "$WORK/.out"
expect_eq "broken file: nothing stored" 0 "$(pg_sql "SELECT count(*) FROM device WHERE name = 'rockpis-2'")"
done_testing
