#!/bin/sh
# The dashboard over PostgreSQL: the same history imported into a throwaway
# PostgreSQL server (tests/lib/pg.sh) and served by `soak web --store URL`:
# every API endpoint answers with the data, pages and charts render.
# Skips (77) without the PostgreSQL server binaries.
set -u
. "$(dirname "$0")/t-08x-lib.sh"
. "$SOAK_SRC/tests/lib/pg.sh"

command -v curl >/dev/null || skip_all "curl not installed"
command -v python3 >/dev/null || skip_all "python3 not installed"
need_cmd import
need_cmd web
pg_available || skip_all "PostgreSQL server binaries not installed"
trap 'cleanup; pg_stop' EXIT INT TERM
pg_start || { not_ok "start a throwaway PostgreSQL"; finish; exit 1; }
ok "start a throwaway PostgreSQL"

gen_fixture "$tmp"
check "import into PostgreSQL" "$SOAK" import -q --db "$PG_URL" --device rockpis-t "$tmp/a.om"
check "derive its events" sh -c "'$SOAK' events --db '$PG_URL' --device rockpis-t --rebuild >/dev/null"
check "soak web --store postgresql:// starts" start_web --store "$PG_URL"
[ -n "$url" ] || { cat "$tmp/web.err"; finish; exit 1; }

check "devices 200" test "$(get /api/v1/devices)" = 200
check "device with its build and reachability" json '
    j["devices"][0]["name"] == "rockpis-t" and j["devices"][0]["build"] == "6.17.6-yocto poky-5.0"
    and j["devices"][0]["reachable"] == "down"'
check "series 200" test "$(get '/api/v1/devices/rockpis-t/series?metric=node_slabinfo_active_objects&range=30d')" = 200
check "series: both slabs, every sample" json '
    sorted(s["labels"]["slab"] for s in j["series"]) == ["dentry", "filp"]
    and all(len(s["samples"]) == 288 for s in j["series"])'
check "events: the reboot" sh -c "test \"\$(curl -s -o $tmp/body -w '%{http_code}' '$url/api/v1/devices/rockpis-t/events?kind=reboot')\" = 200"
check "one reboot at the build change" json 'len(j["events"]) == 1 and j["events"][0]["time"] == 1764086400'
check "leak 200 with segments" sh -c "test \"\$(curl -s -o $tmp/body -w '%{http_code}' '$url/api/v1/devices/rockpis-t/leak')\" = 200"
check "leak has two boots" json 'len(j["segments"]) == 2'
check "verdict 200" test "$(get '/api/v1/builds/6.17.6-yocto%20poky-5.0/verdict')" = 200
check "400 on a bad range" test "$(get '/api/v1/devices?range=x')" = 400
check "farm page lists the device" sh -c "test \"\$(curl -s -o $tmp/body -w '%{http_code}' '$url/')\" = 200 && grep -q '>rockpis-t</a>' $tmp/body"
check "device page 200" test "$(get /device/rockpis-t)" = 200
check "memory chart is SVG" sh -c "curl -s '$url/device/rockpis-t/plot/memory.svg?range=7d' | grep -q '<svg'"

# --- a slow request does not hold up the others: a transaction locks every table
# of the store for a few seconds, so the farm page waits for it; meanwhile
# /style.css (which needs no store) is answered at once by another web thread.
pg_sql "BEGIN;
DO \$\$DECLARE t text; BEGIN
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
    EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', t);
  END LOOP; END\$\$;
SELECT pg_sleep(5); COMMIT;" >/dev/null 2>&1 &
lock_pid=$!
locked() {
    _i=0
    while [ $_i -lt 50 ]; do
        [ "$(pg_sql "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'relation'
                     AND mode = 'AccessExclusiveLock' AND granted
                     AND pid <> pg_backend_pid()")" = t ] && return 0
        sleep 0.1
        _i=$((_i + 1))
    done
    return 1
}
check "the store's tables are locked by another session" locked
curl -s -o "$tmp/slow" -w '%{http_code}' "$url/" >"$tmp/slow.code" &
slow_pid=$!
sleep 0.5
check "the farm page waits for the lock" kill -0 "$slow_pid"
check "/style.css is answered meanwhile" sh -c "test \"\$(curl -s -m 2 -o /dev/null -w '%{http_code}' '$url/style.css')\" = 200"
check "... while the farm page is still waiting" kill -0 "$slow_pid"
wait "$lock_pid"
wait "$slow_pid"
check "the farm page is served once the lock is gone" test "$(cat "$tmp/slow.code")" = 200
finish
