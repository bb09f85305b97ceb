#!/bin/sh
# The dashboard's JSON API and pages over a small imported history: every
# endpoint (200 and JSON shape), 400 on bad parameters, 401 without the token,
# 404 for unknown devices and paths, HTML escaping of names from the data.
set -u
. "$(dirname "$0")/t-08x-lib.sh"

command -v curl >/dev/null || skip_all "curl not installed"
command -v python3 >/dev/null || skip_all "python3 not installed"
need_cmd import
need_cmd web

gen_fixture "$tmp"
db=$tmp/farm.db
check "import device A" "$SOAK" import -q --db "$db" --device rockpis-t "$tmp/a.om"
check "import device B (name with HTML)" "$SOAK" import -q --db "$db" --device '<b>x&y<b>' "$tmp/b.om"
check "derive events of the imported history" sh -c "'$SOAK' events --db '$db' --device rockpis-t --rebuild >/dev/null"
tok=s3cret-tok
check "soak web starts on a free port" start_web --db "$db" --token "$tok"
[ -n "$url" ] || { cat "$tmp/web.err"; finish; exit 1; }
H="Authorization: Bearer $tok"

# --- access control
check "401 without token (API)" test "$(get /api/v1/devices)" = 401
check "401 body is JSON with an error" json '"error" in j and j["status"] == 401'
check "401 with a wrong token" test "$(get /api/v1/devices -H 'Authorization: Bearer nope')" = 401
check "401 page (HTML) has a token form" sh -c "test \"\$(curl -s -o $tmp/p -w '%{http_code}' $url/)\" = 401 && grep -q 'name=\"token\"' $tmp/p"
check "?token= accepted and sets the cookie" sh -c \
    "curl -s -D $tmp/h -o /dev/null '$url/?token=$tok' && grep -qi 'set-cookie: soak_token=$tok' $tmp/h"
check "cookie accepted" test "$(get /api/v1/devices -H "Cookie: soak_token=$tok")" = 200

# --- devices
check "GET /api/v1/devices 200" test "$(get /api/v1/devices -H "$H")" = 200
check "devices lists both, problems first (rockpis-t is down)" \
    json '[d["name"] for d in j["devices"]] == ["rockpis-t", "<b>x&y<b>"]'
check "device A: build, reachability, memory, uptime" json '
    (lambda d: d["build"] == "6.17.6-yocto poky-5.0" and d["kernel_release"] == "6.17.6-yocto"
     and d["reachable"] == "down" and d["memory"]["total_bytes"] == 235958272
     and abs(d["uptime_seconds"] - 86400 + 600) < 1 and d["poll_latency_seconds"] == 0.012
     and d["events"]["reboot"] >= 0 and d["leak"]["state"] in ("leak", "none", "unknown"))(j["devices"][0])'
check "device B: history only" json 'j["devices"][1]["reachable"] == "unknown" and j["devices"][1]["build"] == "6.12.55-yocto poky-5.0"'
check "range is reported in unix seconds" json 'j["to"] == 1764000000 + 287 * 600 and j["to"] - j["from"] == 7 * 86400'
check "range=6h" sh -c "test \"\$(curl -s -o $tmp/body -w '%{http_code}' -H '$H' '$url/api/v1/devices?range=6h')\" = 200"
check "range=6h spans 6 hours" json 'j["to"] - j["from"] == 6 * 3600'
check "400 on range=week" test "$(get '/api/v1/devices?range=week' -H "$H")" = 400
check "400 body names the parameter" json '"range" in j["error"] and j["status"] == 400'
check "400 on from after to" test "$(get '/api/v1/devices?from=1764100000&to=1764000000' -H "$H")" = 400
check "400 on from=garbage" test "$(get '/api/v1/devices?from=yesterday' -H "$H")" = 400

check "GET /api/v1/devices/rockpis-t 200" test "$(get /api/v1/devices/rockpis-t -H "$H")" = 200
check "device has its series keys" json '"node_slabinfo_active_objects{slab=\"filp\"}" in j["series"] and j["device"]["name"] == "rockpis-t"'
check "escaped name reachable by URL" test "$(get '/api/v1/devices/%3Cb%3Ex%26y%3Cb%3E' -H "$H")" = 200
check "404 unknown device" test "$(get /api/v1/devices/nosuch -H "$H")" = 404
check "404 body is JSON" json 'j["status"] == 404 and "nosuch" in j["error"]'

# --- series
check "series 200" test "$(get '/api/v1/devices/rockpis-t/series?metric=node_slabinfo_active_objects&from=1764000000&to=1764200000' -H "$H")" = 200
check "series: both slabs with labels and samples" json '
    sorted(s["labels"]["slab"] for s in j["series"]) == ["dentry", "filp"]
    and all(len(s["samples"]) > 100 and len(s["samples"][0]) == 2 for s in j["series"])
    and j["downsampled"] is False'
check "series points=10 downsamples" sh -c "test \"\$(curl -s -o $tmp/body -w '%{http_code}' -H '$H' '$url/api/v1/devices/rockpis-t/series?metric=node_memory_MemAvailable_bytes&points=10&range=30d')\" = 200"
check "downsampled to at most 10 points" json 'j["downsampled"] is True and 0 < len(j["series"][0]["samples"]) <= 10'
check "400 without metric" test "$(get /api/v1/devices/rockpis-t/series -H "$H")" = 400
check "400 on a bad metric name" test "$(get '/api/v1/devices/rockpis-t/series?metric=a%7Bb%7D' -H "$H")" = 400
check "400 on points=1" test "$(get '/api/v1/devices/rockpis-t/series?metric=up&points=1' -H "$H")" = 400
check "404 series of an unknown device" test "$(get '/api/v1/devices/nosuch/series?metric=up' -H "$H")" = 404

# --- events, leak, verdict, alerts
check "events 200" test "$(get /api/v1/devices/rockpis-t/events -H "$H")" = 200
check "events shape" json 'j["device"] == "rockpis-t" and isinstance(j["events"], list) and all(set(e) == {"time","kind","subject","detail","value"} for e in j["events"])'
check "400 on an unknown event kind" test "$(get '/api/v1/devices/rockpis-t/events?kind=party' -H "$H")" = 400
check "events kind=reboot 200" test "$(get '/api/v1/devices/rockpis-t/events?kind=reboot' -H "$H")" = 200
check "the reboot into 6.17.6 is an event" json 'len(j["events"]) == 1 and j["events"][0]["kind"] == "reboot" and j["events"][0]["time"] == 1764086400'
check "and so is the build change" sh -c "curl -s -H '$H' '$url/api/v1/devices/rockpis-t/events?kind=build_change' | grep -q '6.17.6-yocto poky-5.0'"
check "leak 200" test "$(get /api/v1/devices/rockpis-t/leak -H "$H")" = 200
check "leak has segments" json 'j["device"] == "rockpis-t" and isinstance(j["segments"], list)'
check "400 on a bad at" test "$(get '/api/v1/devices/rockpis-t/leak?at=soon' -H "$H")" = 400
check "verdict 200" test "$(get '/api/v1/builds/6.17.6-yocto%20poky-5.0/verdict' -H "$H")" = 200
check "verdict lists the device with a result and reasons" json '
    j["build"] == "6.17.6-yocto poky-5.0" and any(d["device"] == "rockpis-t"
    and d["result"] in ("pass", "fail", "not enough data") and isinstance(d["reasons"], list) for d in j["devices"])'
check "404 verdict of an unknown build" test "$(get /api/v1/builds/0.0.0/verdict -H "$H")" = 404
check "builds 200" test "$(get /api/v1/builds -H "$H")" = 200
check "builds: both builds, oldest first, and a row per device" json '
    [b["build"] for b in j["builds"]] == ["6.12.55-yocto poky-5.0", "6.17.6-yocto poky-5.0"]
    and (lambda r: [x["build"] for x in r] == ["6.12.55-yocto poky-5.0", "6.17.6-yocto poky-5.0"]
         and r[1]["baseline"] == "6.12.55-yocto poky-5.0" and r[1]["boots"] == 1
         and r[1]["result"] in ("pass", "fail", "not enough data") and r[0]["first"] < r[1]["first"])(
        [d for d in j["devices"] if d["device"] == "rockpis-t"][0]["builds"])'
check "alerts 200" test "$(get /api/v1/alerts -H "$H")" = 200
check "alerts shape" json 'isinstance(j["alerts"], list)'
check "404 unknown API path (JSON)" test "$(get /api/v1/nothing -H "$H")" = 404
check "404 under /api is JSON" json 'j["status"] == 404'
check "405 on POST" test "$(get /api/v1/devices -H "$H" -X POST)" = 405

# --- pages
check "farm page 200" test "$(get / -H "$H")" = 200
check "farm page lists both devices and builds" sh -c "grep -q 'rockpis-t' $tmp/body && grep -q '6.17.6-yocto poky-5.0' $tmp/body"
check "farm page escapes names from the data" sh -c "grep -q '&lt;b&gt;x&amp;y&lt;b&gt;' $tmp/body && ! grep -q '<b>x&y<b>' $tmp/body"
check "farm page says UNREACHABLE in text" grep -q 'UNREACHABLE' "$tmp/body"
check "... and no poll latency for it, but no answer" grep -q "<td class=\"wide\" data-label=\"Poll latency\">no answer</td>" "$tmp/body"
check "farm page has viewport meta and auto refresh" sh -c "grep -q 'name=\"viewport\"' $tmp/body && grep -q 'http-equiv=\"refresh\"' $tmp/body"
check "refresh=0 turns auto refresh off" sh -c "! curl -s -H '$H' '$url/?refresh=0' | grep -q 'http-equiv=\"refresh\"'"
check "farm page has an inline SVG sparkline" grep -q '<svg class="spark"' "$tmp/body"
check "device page 200" test "$(get /device/rockpis-t -H "$H")" = 200
check "device page links its charts" grep -q '<img src="/device/rockpis-t/plot/memory.svg?from=' "$tmp/body"
check "device page shows slab growth of filp" sh -c "grep -q 'Slab growth' $tmp/body && grep -q '>filp<' $tmp/body"
check "device page shows the sensor" grep -q 'sht30-indoor' "$tmp/body"
check "device page has the reboot with a zoom link" sh -c "grep -q '>reboot<' $tmp/body && grep -q '>zoom</a>' $tmp/body"
plot=$(sed -n 's/.*<img src="\(\/device\/rockpis-t\/plot\/memory.svg[^"]*\)".*/\1/p' "$tmp/body" | head -n 1 | sed 's/&amp;/\&/g')
check "chart URL returns SVG" sh -c "test \"\$(curl -s -o $tmp/svg -w '%{http_code} %{content_type}' -H '$H' '$url$plot')\" = '200 image/svg+xml' && grep -q '<svg' $tmp/svg"
check "PNG chart" sh -c "curl -s -H '$H' '$url/device/rockpis-t/plot/latency.png?range=1d' | head -c 8 | od -An -c | grep -q 'P   N   G'"
check "build page 200" test "$(get '/build/6.17.6-yocto%20poky-5.0' -H "$H")" = 200
check "build page names the device and a verdict" sh -c "grep -q rockpis-t $tmp/body && grep -Eq 'PASS|FAIL|NOT ENOUGH DATA' $tmp/body"
check "builds page 200" test "$(get /builds -H "$H")" = 200
check "builds page: the devices, a column per build, verdict words" sh -c "grep -q 'rockpis-t' $tmp/body && grep -q '6.12.55-yocto poky-5.0' $tmp/body && grep -q '6.17.6-yocto poky-5.0' $tmp/body && grep -Eq '>(PASS|FAIL|NOT ENOUGH DATA)<' $tmp/body && grep -q 'FIRST BUILD' $tmp/body"
check "every page links the builds page" grep -q '<a href="/builds">builds</a>' "$tmp/body"
check "404 page for an unknown URL" test "$(get /no/such/page -H "$H")" = 404
check "404 page is HTML" grep -q '<h1>404 Not found</h1>' "$tmp/body"
check "404 page for an unknown device" test "$(get /device/nosuch -H "$H")" = 404
check "400 page for a bad range" test "$(get '/device/rockpis-t?range=forever' -H "$H")" = 400
# --- the farm config: store, listen_token, and a configured device that never answered
kill "$web_pid" 2>/dev/null; wait "$web_pid" 2>/dev/null; web_pid=
# rockpis-t answers as a board (a static /info and /metrics) until its install command kills
# that server: an update after which the board never comes back
mkdir -p "$tmp/board"
printf '{"device": "rockpis-t", "boot_id": "b", "build": "6.17.6-yocto poky-5.0"}\n' >"$tmp/board/info"
printf 'soak_boot_info{boot_id="b"} 1\n' >"$tmp/board/metrics"
bport=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/board" "$bport" >/dev/null 2>&1 &
board_pid=$!
PIDS="$PIDS $board_pid"
wait_for_url "http://127.0.0.1:$bport/info" || echo "# the fake board did not start"
cat >"$tmp/farm.conf" <<EOF
[server]
store = sqlite:$db
listen = 127.0.0.1:0
listen_token = conf-tok

[device rockpis-t]
url = http://127.0.0.1:$bport
model = rock-pi-s
ram_sizes = 256M,512M
install = kill $board_pid

[device ghost]
url = http://127.0.0.1:9
EOF
check "soak web --config starts" start_web --config "$tmp/farm.conf"
check "config's listen_token is enforced" test "$(get /api/v1/devices -H "$H")" = 401
check "config's listen_token accepted" test "$(get /api/v1/devices -H 'Authorization: Bearer conf-tok')" = 200
check "a configured device without data is listed, configured, with its URL" json '
    any(d["name"] == "ghost" and d["configured"] and d["url"] == "http://127.0.0.1:9"
        and d["last"] is None for d in j["devices"])'
check "farm page says NO DATA for it" sh -c "curl -s -H 'Authorization: Bearer conf-tok' '$url/' | grep -q '>NO DATA<'"
# the verdicts use the config's model and RAM sizes, as soak verdict --config does
"$SOAK" verdict --db "$db" --config "$tmp/farm.conf" --device rockpis-t --build "6.17.6-yocto poky-5.0" --json >"$tmp/cli.json" 2>/dev/null
check "verdict API: the same reasons as soak verdict --config" sh -c "
    curl -s -H 'Authorization: Bearer conf-tok' '$url/api/v1/builds/6.17.6-yocto%20poky-5.0/verdict' >'$tmp/body' &&
    python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); a=a[\"devices\"][0] if \"devices\" in a else a; b=json.load(open(sys.argv[2]))[\"devices\"][0]; sys.exit(a[\"reasons\"] != b[\"reasons\"])' '$tmp/cli.json' '$tmp/body'"
# a build that was deployed but never reported (the board did not answer) has a page and a column
"$SOAK" deploy --config "$tmp/farm.conf" --device rockpis-t --bundle rc.raucb --build "7.0-yocto rc" \
    --wait 2 >"$tmp/deploy.out" 2>&1
check "soak deploy of an update after which the board never answers fails" \
    grep -q "rockpis-t: FAIL unreachable after update" "$tmp/deploy.out"
check "its build's page lists the device" sh -c "
    test \"\$(curl -s -o '$tmp/body' -w '%{http_code}' -H 'Authorization: Bearer conf-tok' '$url/build/7.0-yocto%20rc')\" = 200 &&
    grep -q rockpis-t '$tmp/body' && grep -q '>FAIL<' '$tmp/body' && grep -q 'deploy' '$tmp/body'"
check "the farm page says DEPLOY FAILED for the board, naming the build" sh -c "
    curl -s -H 'Authorization: Bearer conf-tok' '$url/' >'$tmp/body' &&
    grep '>rockpis-t</a>' '$tmp/body' | grep -q '>DEPLOY FAILED<' &&
    grep -q 'deploy of <a href=\"/build/7.0-yocto%20rc\">7.0-yocto rc</a> failed' '$tmp/body'"
check "... and the devices API has deploy_failed" sh -c "
    curl -s -H 'Authorization: Bearer conf-tok' '$url/api/v1/devices' >'$tmp/body' &&
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(not any(d[\"name\"]==\"rockpis-t\" and d[\"deploy_failed\"]==\"7.0-yocto rc\" for d in j[\"devices\"]))' '$tmp/body'"
check "... and the builds API has it in the device's row" sh -c "
    curl -s -H 'Authorization: Bearer conf-tok' '$url/api/v1/builds' >'$tmp/body' &&
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); r=[d for d in j[\"devices\"] if d[\"device\"]==\"rockpis-t\"][0][\"builds\"]; sys.exit(not any(x[\"build\"]==\"7.0-yocto rc\" and x[\"result\"]==\"fail\" and x[\"boots\"]==0 for x in r))' '$tmp/body'"

check "bad listen address is refused" sh -c "! '$SOAK' web --db '$db' --listen nonsense --duration 1 2>/dev/null"
check "missing database is an error" sh -c "! '$SOAK' web --db '$tmp/none.db' --duration 1 2>/dev/null"
finish
