#!/bin/sh
# soak server reloads its config on SIGHUP: a device added is polled, a device removed
# is no longer polled, a device kept keeps its schedule; a broken config is refused and
# the running one kept. Also: shards split a farm between pollers, and --help/exit codes.
. "$(dirname "$0")/t-05x-lib.sh"

"$SOAK" export --help >/dev/null 2>&1 || skip_all "soak export is not built yet"

start_soakd A "$ROOTS/rockpis-6.17" || exit 1
start_soakd B "$ROOTS/minimal" || exit 1
DB="$WORK/farm.db"
printf '[server]\nstore = sqlite:%s\ninterval = 1\n\n[device one]\nurl = http://127.0.0.1:%s\n' \
    "$DB" "$A" >"$WORK/farm.conf"

"$SOAK" server --config "$WORK/farm.conf" -v 2>"$WORK/server.log" &
SRV=$!
PIDS="$PIDS $SRV"
sleep 2.5
printf '[server]\nstore = sqlite:%s\ninterval = 1\n\n[device two]\nurl = http://127.0.0.1:%s/metrics\n' \
    "$DB" "$B" >"$WORK/farm.conf"
kill -HUP "$SRV"
sleep 3
t_removed=$(date +%s)
printf '[server]\nstore = sqlite:%s\nbogus = 1\n' "$DB" >"$WORK/farm.conf"
kill -HUP "$SRV"
sleep 2
check "the server survives a broken config" kill -0 "$SRV"
kill -TERM "$SRV"
wait "$SRV"
check "it stops with exit 0" [ $? -eq 0 ]
check "the reload is logged" grep -q 'reloaded .*: 1 device' "$WORK/server.log"
check "the broken config is refused, naming the line" grep -q "unknown key 'bogus'" "$WORK/server.log"
two=$(series_count "$DB" two soak_poll_up)
check "the added device is polled ($two polls)" [ "$two" -ge 3 ]
late=$("$SOAK" export --db "$DB" --device one | awk -v t="$t_removed" '$1 == "soak_poll_up" && $3 > t' | wc -l)
check "the removed device is no longer polled" [ "$late" -eq 0 ]
check "the kept device kept being polled after the bad reload" \
    [ "$("$SOAK" export --db "$DB" --device two | awk -v t="$t_removed" '$1 == "soak_poll_up" && $3 > t' | wc -l)" -ge 1 ]

# Shards: every device is polled by exactly one of n pollers.
{
    printf '[server]\nstore = sqlite:%s/shard.db\ninterval = 1\nshard = 0/2\n' "$WORK"
    for i in 1 2 3 4 5 6 7 8; do
        printf '[device board-%s]\nurl = http://127.0.0.1:%s/metrics\n' "$i" "$B"
    done
} >"$WORK/s0.conf"
sed 's#shard = 0/2#shard = 1/2#; s#shard.db#shard1.db#' "$WORK/s0.conf" >"$WORK/s1.conf"
"$SOAK" server --config "$WORK/s0.conf" --once 2>/dev/null
"$SOAK" server --config "$WORK/s1.conf" --once 2>/dev/null
n0=$("$SOAK" devices --db "$WORK/shard.db" 2>/dev/null | grep -c 'board-')
n1=$("$SOAK" devices --db "$WORK/shard1.db" 2>/dev/null | grep -c 'board-')
check "two shards split the farm ($n0 + $n1 = 8, neither empty)" \
    [ $((n0 + n1)) -eq 8 ] && [ "$n0" -gt 0 ] && [ "$n1" -gt 0 ]

# The dashboard runs beside the poller when [server] listen is set.
WP=$(free_port)
printf '[server]\nstore = sqlite:%s/web.db\nlisten = 127.0.0.1:%s\ninterval = 1\n[device two]\nurl = http://127.0.0.1:%s/metrics\n' \
    "$WORK" "$WP" "$B" >"$WORK/web.conf"
"$SOAK" server --config "$WORK/web.conf" --duration 4 2>"$WORK/web.log" &
WS=$!
PIDS="$PIDS $WS"
sleep 2.5
check "the dashboard answers beside the poller" \
    sh -c "curl -sf 'http://127.0.0.1:$WP/api/v1/devices' | grep -q '\"name\": *\"two\"'"
wait "$WS"
check "the server with a dashboard stops with exit 0" [ $? -eq 0 ]

"$SOAK" server --help >/dev/null
check "soak server --help exits 0" [ $? -eq 0 ]
"$SOAK" server >/dev/null 2>&1
check "soak server without --config exits 2" [ $? -eq 2 ]
"$SOAK" server --config "$WORK/farm.conf" --once >/dev/null 2>"$WORK/bad.err"
check "a broken config exits 2 naming file and line" \
    sh -c "[ $? -eq 2 ] && grep -q 'farm.conf:3: unknown key' '$WORK/bad.err'"
"$SOAK" events --db "$DB" --device nosuch >/dev/null 2>&1
check "soak events on an unknown device exits 2" [ $? -eq 2 ]

check "no sanitizer report in the server's log" sh -c "! grep -q 'runtime error\\|Sanitizer' '$WORK/server.log'"

done_testing
