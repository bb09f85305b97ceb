#!/bin/sh
# soak server against two real soakd agents, Debian's node_exporter and bad targets
# (dead port, 30 s sleeper, garbage, endless body, HTTP 500): the live targets are
# polled on time, every poll stores soak_poll_up and soak_poll_duration_seconds,
# the bad ones cost only their own polls; events and alerts are derived.
. "$(dirname "$0")/t-05x-lib.sh"

[ -x /usr/bin/prometheus-node-exporter ] || skip_all "prometheus-node-exporter not installed"
command -v python3 >/dev/null || skip_all "python3 not installed"
"$SOAK" export --help >/dev/null 2>&1 || skip_all "soak export is not built yet"

SOAKD_TOKEN=s3cret start_soakd A "$ROOTS/rockpis-6.17" || exit 1
start_soakd B "$ROOTS/minimal" || exit 1
start_node_exporter NE || exit 1
start_bad_targets || exit 1
DEAD=$(free_port)
DB="$WORK/farm.db"

cat >"$WORK/farm.conf" <<CONF
[server]
store = sqlite:$DB
interval = 1
timeout = 2
max_body = 1M

[alerts]
unreachable_after = 3
exec = $WORK/hook.sh {alert} {device} {state}
webhook = http://127.0.0.1:$SINK_PORT/hook

[device rockpis-1]
url = http://127.0.0.1:$A
token = s3cret
model = rock-pi-s
ram_sizes = 256M,512M

[device notoken]
url = http://127.0.0.1:$A/metrics
token = wrong

[device zero3e-1]
url = http://127.0.0.1:$B/metrics

[device node-1]
url = http://127.0.0.1:$NE/metrics

[device dead]
url = http://127.0.0.1:$DEAD/metrics

[device sleeper]
url = http://127.0.0.1:$SLEEP_PORT/metrics

[device garbage]
url = http://127.0.0.1:$GARBAGE_PORT/metrics

[device endless]
url = http://127.0.0.1:$ENDLESS_PORT/metrics

[device error500]
url = http://127.0.0.1:$ERROR_PORT/metrics
CONF
cat >"$WORK/hook.sh" <<'HOOK'
#!/bin/sh
# argv: alert device state; the JSON notification arrives on stdin
{ printf '%s %s %s ' "$1" "$2" "$3"; cat; echo; } >>"${0%/*}/hook.out"
HOOK
chmod +x "$WORK/hook.sh"

t0=$(date +%s)
"$SOAK" server --config "$WORK/farm.conf" --duration 10 2>"$WORK/server.log"
rc=$?
t1=$(date +%s)
check "soak server --duration 10 exits 0" [ "$rc" -eq 0 ]
check "it stops on time although a target sleeps 30 s" [ $((t1 - t0)) -le 14 ]

for d in rockpis-1 zero3e-1 node-1; do
    c=$(series_count "$DB" "$d" soak_poll_up)
    check "$d: polled on time ($c polls in 10 s at 1 s)" [ "$c" -ge 8 ] && [ "$c" -le 12 ]
    up0=$("$SOAK" export --db "$DB" --device "$d" | grep -c '^soak_poll_up 0')
    check "$d: every poll up" [ "$up0" -eq 0 ]
done
for d in dead sleeper garbage endless error500; do
    c=$(series_count "$DB" "$d" soak_poll_up)
    up1=$("$SOAK" export --db "$DB" --device "$d" | grep -c '^soak_poll_up 1')
    check "$d: its failed polls are recorded ($c)" [ "$c" -ge 3 ] && [ "$up1" -eq 0 ]
done
check "node_exporter's samples are stored" \
    sh -c "'$SOAK' export --db '$DB' --device node-1 | grep -q '^node_memory_MemTotal_bytes '"
check "soakd's samples are stored" \
    sh -c "'$SOAK' export --db '$DB' --device rockpis-1 | grep -q '^soak_agent_info{'"
check "poll latency is stored" \
    sh -c "'$SOAK' export --db '$DB' --device zero3e-1 | grep -q '^soak_poll_duration_seconds 0\.'"
check "the endless body is cut at max_body" grep -q 'endless: poll failed: body larger than' \
    "$WORK/server.log"
check "garbage is an unparsable reply" grep -q 'garbage: poll failed: unparsable' "$WORK/server.log"
check "nothing of the garbage is stored" \
    sh -c "! '$SOAK' export --db '$DB' --device garbage | grep -q '^[^#s]'"

"$SOAK" events --db "$DB" --json >"$WORK/events.json"
check "the dead target has an unreachable event" \
    python3 -c "import json,sys; e=json.load(open('$WORK/events.json'))['events']; sys.exit(not any(x['device']=='dead' and x['kind']=='unreachable' for x in e))"
check "the rock-pi-s's pstore record is a panic event" \
    python3 -c "import json,sys; e=json.load(open('$WORK/events.json'))['events']; sys.exit(not any(x['device']=='rockpis-1' and x['kind']=='panic' for x in e))"
"$SOAK" alerts --db "$DB" --json >"$WORK/alerts.json"
check "soak alerts exits 1 while alerts are open" [ $? -eq 1 ]
check "an unreachable alert is open for the dead target, once" \
    python3 -c "import json,sys; a=json.load(open('$WORK/alerts.json')); sys.exit(sum(1 for x in a['open'] if x['device']=='dead' and x['alert']=='unreachable') != 1)"
check "the exec hook got the notification as JSON on stdin" \
    grep -q '^unreachable dead firing {"alert": *"unreachable"' "$WORK/hook.out"
check "the hook ran once per alert and device (dedup)" \
    [ "$(grep -c '^unreachable dead firing' "$WORK/hook.out")" -eq 1 ]
check "the webhook got the notification as a JSON POST" \
    grep -q '^application/json {"alert": *"unreachable", *"device": *"dead"' "$WORK/webhook.out"
check "the webhook fired once per alert and device (dedup)" \
    [ "$(grep -c '"device": *"dead"' "$WORK/webhook.out")" -eq 1 ]
check "a device without the agent's token is refused (HTTP 401)" \
    grep -q 'notoken: poll failed: HTTP 401' "$WORK/server.log"

check "no sanitizer report in the server's log" sh -c "! grep -q 'runtime error\\|Sanitizer' '$WORK/server.log'"

done_testing
