#!/bin/sh
# The story's other failure: an update renames the board's network interface and it never
# comes back. A board in its own network namespace (veth pair, link-local addresses that exist
# only inside this test) runs a real soakd; `soak server` polls it; `soak deploy` installs an
# update whose reboot renames eth0 to end0. Expect: deploy reports the board unreachable with
# eth0 last seen up, the server records the outage, and the verdict fails the build.
set -u
: "${SOAK_BUILD:?}" "${SOAK_SRC:?}"
SOAK="$SOAK_BUILD/src/server/soak"
SOAKD="$SOAK_BUILD/src/agent/soakd"
FAKE="$SOAK_SRC/tests/integration/deploy/fake-netns-board.sh"
NS="soakt$$"
HOSTIF="sk$$h"
BOARDIF="sk$$b"
SERVER_PID=
export SOAKD NS
. "$SOAK_SRC/tests/lib/tap.sh"
tap_workdir t092
# shellcheck disable=SC2016 # expanded when the cleanup runs
CLEANUP_EXTRA='[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
FAKE_ROOT="$WORK/board" "$FAKE" stop 2>/dev/null
ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null
ip link del "$HOSTIF" 2>/dev/null
ip netns del "$NS" 2>/dev/null'

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! ip netns add "$NS" 2>/dev/null; then
    skip_all "needs root and ip netns (iproute2) to make the board's namespace"
fi
# A link-local /30 no other interface has: two runs of this test at once (two build
# directories on one machine) with the same subnet would route one run's probes to the other
# run's board ("unreachable before the update", or the wrong board answering).
x=0
i=0
while [ $i -lt 250 ]; do
    x=$((($$ + i) % 250 + 1))
    ip -o -4 addr show | grep -q " 169\.254\.$x\." || break
    i=$((i + 1))
done
NET=169.254.$x
ip link add "$HOSTIF" type veth peer name "$BOARDIF"
ip link set "$BOARDIF" netns "$NS"
ip netns exec "$NS" ip link set "$BOARDIF" name eth0
ip addr add "$NET.1/30" dev "$HOSTIF"
ip link set "$HOSTIF" up
ip netns exec "$NS" ip addr add "$NET.2/30" dev eth0
ip netns exec "$NS" ip link set eth0 up
ip netns exec "$NS" ip link set lo up

cp -r "$SOAK_SRC/tests/fixtures/roots/rockpis-6.17" "$WORK/board"
echo "6.12.55-yocto-standard" >"$WORK/board/proc/sys/kernel/osrelease"
FAKE_ROOT="$WORK/board" "$FAKE" start
i=0
if ! ip route get "$NET.2" | grep -q "dev $HOSTIF "; then
    echo "Bail out! $NET.2 is not routed through $HOSTIF: $(ip route get "$NET.2")"
    exit 1
fi
until curl -sf -m 1 "http://$NET.2:9123/info" >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -gt 50 ] && { echo "Bail out! soakd in the namespace does not answer"; exit 1; }
    sleep 0.1
done
ok "the board answers over the veth pair from its namespace"

cat >"$WORK/farm.conf" <<CONF
[server]
store = sqlite:$WORK/farm.db

[alerts]
unreachable_after = 2s

[device board]
url = http://$NET.2:9123
interval = 1
timeout = 1
connect_timeout = 1
install = env NS=$NS FAKE_ROOT=$WORK/board SOAKD=$SOAKD $FAKE install {bundle}
reboot = env NS=$NS FAKE_ROOT=$WORK/board SOAKD=$SOAKD $FAKE reboot
CONF

"$SOAK" server --config "$WORK/farm.conf" 2>"$WORK/server.log" &
SERVER_PID=$!
sleep 4

NEW="6.17.6-yocto-standard 5.0.13"
"$SOAK" deploy --config "$WORK/farm.conf" --device board --bundle "rename-6.17.6-yocto-standard" \
    --build "$NEW" --wait 8 >"$WORK/deploy.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "board: FAIL unreachable after update (.*); last seen with interfaces eth0 up" "$WORK/deploy.out"; then
    ok "soak deploy: unreachable after update, last seen with interfaces eth0 up"
else
    not_ok "soak deploy reports the renamed interface" "exit $rc" "$(cat "$WORK/deploy.out")"
fi

sleep 4
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=

"$SOAK" events --db "sqlite:$WORK/farm.db" --device board >"$WORK/events.out" 2>&1
if grep -qi "unreachable" "$WORK/events.out"; then
    ok "the server recorded the outage"
else
    not_ok "the server recorded the outage" "$(cat "$WORK/events.out")"
fi

"$SOAK" verdict --db "sqlite:$WORK/farm.db" --device board --build "$NEW" >"$WORK/verdict.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "deploy.*unreachable after update" "$WORK/verdict.out"; then
    ok "the verdict fails the build that never came back, naming the deploy"
else
    not_ok "the verdict fails the build that never came back" "exit $rc" "$(cat "$WORK/verdict.out")"
fi
# It never booted where soak could see it: its baseline is what the board ran at the deploy.
if head -n 1 "$WORK/verdict.out" | grep -q "against .*: FAIL" &&
    ! head -n 1 "$WORK/verdict.out" | grep -q "(no baseline)"; then
    ok "... against the build the board ran when it was deployed"
else
    not_ok "... against the build the board ran when it was deployed" "$(head -n 1 "$WORK/verdict.out")"
fi

done_testing
