#!/bin/sh
# soakd over HTTP: /metrics passes promtool, the bearer token is enforced, wrong
# methods, paths, queries, bodies and oversized requests are refused, and the
# daemon still answers afterwards.
. "$(dirname "$0")/t-02x-lib.sh"
need_promtool

TOKEN=t0ps3cret-token
printf '[agent]\ntoken = %s\ninterval = 1\n[history]\ninterval = 1\n' "$TOKEN" >"$WORK/soakd.conf"
if ! start_soakd "$WORK/soakd.log" --config "$WORK/soakd.conf"; then
    not_ok "soakd starts"
    done_testing
    exit 1
fi
AUTH="Authorization: Bearer $TOKEN"

check "no token: 401" [ "$(http_status /metrics)" = 401 ]
check "wrong token: 401" [ "$(http_status /metrics -H 'Authorization: Bearer t0ps3cret-tokeX')" = 401 ]
check "token prefix only: 401" [ "$(http_status /metrics -H 'Authorization: Bearer t0ps3cret')" = 401 ]
check "token with extra bytes: 401" \
    [ "$(http_status /metrics -H "Authorization: Bearer ${TOKEN}x")" = 401 ]
check "basic auth: 401" [ "$(http_status /info -u user:$TOKEN)" = 401 ]
check "/history needs the token too" [ "$(http_status /history)" = 401 ]
fetch /info "$WORK/401.body" "$WORK/401.h"
check "401 carries WWW-Authenticate: Bearer" [ "$(header "$WORK/401.h" WWW-Authenticate)" = Bearer ]

fetch /metrics "$WORK/metrics.prom" "$WORK/metrics.h" -H "$AUTH"
check "/metrics with the token: 200" grep -q '^HTTP/1.1 200' "$WORK/metrics.h"
check "/metrics content type is text 0.0.4" \
    [ "$(header "$WORK/metrics.h" Content-Type)" = "text/plain; version=0.0.4; charset=utf-8" ]
check "promtool accepts /metrics" promtool_ok "$WORK/metrics.prom"
check "/metrics has the agent's RSS" grep -Eq '^process_resident_memory_bytes [1-9][0-9]*$' \
    "$WORK/metrics.prom"
check "/metrics has collector durations" \
    grep -q '^soak_collector_duration_seconds{collector="meminfo"} ' "$WORK/metrics.prom"
check "/metrics has the collectors' samples" grep -q '^node_load1 0.42$' "$WORK/metrics.prom"
check "HEAD /metrics: 200" [ "$(http_status /metrics -I -H "$AUTH")" = 200 ]

fetch /info "$WORK/info.json" "$WORK/info.h" -H "$AUTH"
check "/info is JSON" [ "$(header "$WORK/info.h" Content-Type)" = application/json ]
check "/info has the build identity" \
    python3 -c "import json,sys; d=json.load(open('$WORK/info.json'));
sys.exit(not (d['kernel_release']=='6.17.6-soak' and d['model']=='Radxa ROCK Pi S'
 and d['boot_id'].startswith('2f7d1f4e') and d['uptime_seconds']==3600.5
 and d['rauc_slot'] is None and d['device']=='daemon-min' and d['agent_version']
 and 'ring_id' in d['history']))"

check "unknown path: 404" [ "$(http_status /nope -H "$AUTH")" = 404 ]
check "/metrics/: 404" [ "$(http_status /metrics/ -H "$AUTH")" = 404 ]
check "DELETE: 405" [ "$(http_status /metrics -X DELETE -H "$AUTH")" = 405 ]
fetch /metrics "$WORK/405.body" "$WORK/405.h" -X PUT -H "$AUTH"
check "405 carries Allow: GET, HEAD" [ "$(header "$WORK/405.h" Allow)" = "GET, HEAD" ]
check "since=abc: 400" [ "$(http_status '/history?since=abc' -H "$AUTH")" = 400 ]
check "since=-1: 400" [ "$(http_status '/history?since=-1' -H "$AUTH")" = 400 ]
check "limit=0: 400" [ "$(http_status '/history?limit=0' -H "$AUTH")" = 400 ]
check "limit=100000: 400" [ "$(http_status '/history?limit=100000' -H "$AUTH")" = 400 ]
check "a POST body: 413" [ "$(http_status /metrics --data-binary hello -H "$AUTH")" = 413 ]
check "a body on GET: 413" [ "$(http_status /metrics -X GET --data-binary hello -H "$AUTH")" = 413 ]
check "a chunked body: 413" [ "$(http_status /metrics -X GET -H 'Transfer-Encoding: chunked' \
    --data-binary hello -H "$AUTH")" = 413 ]

# A 1 MB URI and 10,000 headers: refused (or the connection dropped), never served.
python3 - "$PORT" >"$WORK/biguri" 2>&1 <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
req = b"GET /metrics?x=" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
try:
    s.sendall(req)
except OSError:
    pass
try:
    data = s.recv(200)
except OSError:
    data = b""
print(data.split(b"\r\n")[0].decode(errors="replace") or "closed")
PY
check "a 1 MB URI is refused ($(cat "$WORK/biguri"))" sh -c "! grep -q ' 200 ' '$WORK/biguri'"
python3 - "$PORT" >"$WORK/manyhdr" 2>&1 <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"".join(
    b"X-H%d: v\r\n" % i for i in range(10000)) + b"\r\n"
try:
    s.sendall(req)
except OSError:
    pass
try:
    data = s.recv(200)
except OSError:
    data = b""
print(data.split(b"\r\n")[0].decode(errors="replace") or "closed")
PY
check "10,000 headers are refused ($(cat "$WORK/manyhdr"))" sh -c "! grep -q ' 200 ' '$WORK/manyhdr'"
# Half-open connections up to the limit do not wedge the server.
python3 - "$PORT" <<'PY' &
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(8)]
for s in socks:
    s.sendall(b"GET /metrics HTTP/1.1\r\n")
time.sleep(2)
PY
holder=$!
sleep 0.3
check "the daemon still answers afterwards" [ "$(http_status /metrics -H "$AUTH")" = 200 ]
wait "$holder"
check "the daemon is still running" kill -0 "$SOAKD_PID"
stop_soakd
check "SIGTERM stops it with status 0" [ $? -eq 0 ]

done_testing
