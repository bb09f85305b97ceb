#!/bin/sh
# `make demo` end to end, non-interactive (DEMO_SECONDS): the story's history is
# simulated and imported, live boards are served by real soakd processes (run by
# `soak sim live --soakd`) and polled by soak server, the dashboard answers, the
# verdict table fails the 6.17.6 build on the leaking boards; the rename update
# deployed on the rock-pi-e takes it off the network (the dashboard shows it down,
# the server records the outage, deploy and verdict fail the build) until RAUC falls
# back; everything is stopped afterwards.
set -u
: "${SOAK_BUILD:?}" "${SOAK_SRC:?}"
. "$SOAK_SRC/tests/lib/tap.sh"
command -v python3 >/dev/null || skip_all "python3 not installed"
command -v curl >/dev/null || skip_all "curl not installed"
tap_workdir demo-test
work=$WORK

port=$(free_port)
# 300x: the rename update's outage (2 simulated hours) lasts ~25 s; deploy waits 12 s.
DEMO_DIR=$work/demo DEMO_SECONDS=25 DEMO_DAYS=30 DEMO_PORT=$port DEMO_SPEED=300 \
    timeout 400 bash "$SOAK_SRC/scripts/demo.sh" "$SOAK_BUILD" >"$work/out" 2>&1 &
demo=$!
PIDS="$PIDS $demo"
# Watch the farm page's API while the demo runs: rock-pi-e must show down, then up again.
: >"$work/reach"
while kill -0 "$demo" 2>/dev/null; do
    url=$(sed -n 's/^demo: dashboard: \(http:[^ ]*\)$/\1/p' "$work/out" | head -n 1)
    if [ -n "$url" ]; then
        curl -s -m 2 "${url}api/v1/devices" | python3 -c '
import json, sys
for d in json.load(sys.stdin)["devices"]:
    if d["name"] == "rock-pi-e":
        print(d["reachable"], d["build"])' >>"$work/reach" 2>/dev/null
        [ -s "$work/verdict.json" ] ||
            curl -s -m 20 "${url}api/v1/builds/6.17.6-yocto-standard%202025.11/verdict" >"$work/verdict.json"
        [ -s "$work/builds.html" ] || curl -s -m 20 "${url}builds" >"$work/builds.html"
    fi
    sleep 1
done
wait "$demo"
rc=$?
sed 's/^/# /' "$work/out"
check "demo exits 0 by itself after DEMO_SECONDS" test "$rc" = 0
check "prints the dashboard URL" grep -q "^demo: dashboard: http://127.0.0.1:[0-9]*/$" "$work/out"
check "the dashboard still answered at the end" grep -q "dashboard still answers: HTTP 200" "$work/out"
check "verdict table fails rock-pi-s (leak, panics)" grep -Eq "^rock-pi-s +FAIL" "$work/out"
check "verdict table fails the 1 GB boards too" sh -c "grep -Eq '^rock-pi-e +FAIL' '$work/out' && grep -Eq '^zero-3e +FAIL' '$work/out'"
check "the server polled the real soakd processes" grep -Eq "stopped: [1-9][0-9]* poll\(s\), [0-9]+ failed" "$work/demo/server.log"
check "deploying the rename update: rock-pi-e never came back" \
    grep -q "rock-pi-e: FAIL unreachable after update" "$work/out"
check "the rc build's verdict fails on the deploy" \
    grep -Eq "FAIL deploy +1 of 1 deploy\(s\) failed: .*unreachable after update" "$work/out"
sed 's/^/# reach: /' "$work/reach"
check "the dashboard showed rock-pi-e unreachable" grep -q "^down " "$work/reach"
check "... and back on the fallback build afterwards" \
    sh -c "sed -n '/^down /,\$p' '$work/reach' | grep -q '^up 6.17.6-yocto-standard 2025.11$'"
check "the dashboard's verdict projects the leak onto the configured RAM sizes" \
    grep -q "would exhaust a 256 MB rock-pi-s in" "$work/verdict.json"
check "the builds page has the boards and their builds side by side" sh -c \
    "grep -q '>rock-pi-s<' '$work/builds.html' && grep -q '>zero-3e<' '$work/builds.html' && grep -q '6.12.55-yocto-standard 2025.09' '$work/builds.html' && grep -q '6.17.6-yocto-standard 2025.11-server' '$work/builds.html'"
"$SOAK_BUILD/src/server/soak" events --db "$work/demo/farm.db" --device rock-pi-e >"$work/events" 2>&1
check "the server recorded the outage and the deploy" \
    sh -c "grep -q ' unreachable ' '$work/events' && grep -q ' deploy .*2025.12-rc1' '$work/events' && grep -q ' reachable ' '$work/events'"
# pgrep's own command line must not contain the pattern: it is built from two pieces.
leftover() { pgrep -f "[s]oak.* .*$work/demo" >/dev/null; }
check "soak server, soak sim and every soakd are gone afterwards" eval '! leftover'
done_testing
