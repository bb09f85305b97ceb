#!/bin/sh
# The board of the network-namespace test: a real soakd inside network namespace $NS, reached
# over a veth pair. `reboot` after a "rename" install renames the board's eth0 to end0, as the
# story's update did: nothing configures end0, so the board never comes back on the network.
#   fake-netns-board.sh start | install BUNDLE | reboot | stop
set -eu
: "${NS:?}" "${FAKE_ROOT:?}" "${SOAKD:?}"

start() {
    ip netns exec "$NS" "$SOAKD" --root "$FAKE_ROOT" --listen 0.0.0.0:9123 >/dev/null 2>>"$FAKE_ROOT/.log" &
    echo $! >"$FAKE_ROOT/.pid"
}

stop() {
    [ -f "$FAKE_ROOT/.pid" ] || return 0
    kill "$(cat "$FAKE_ROOT/.pid")" 2>/dev/null || true
    sleep 0.3
    rm -f "$FAKE_ROOT/.pid"
}

case "$1" in
start) start ;;
install) echo "$2" >"$FAKE_ROOT/.staged" ;;
reboot)
    stop
    python3 -c 'import uuid; print(uuid.uuid4())' >"$FAKE_ROOT/proc/sys/kernel/random/boot_id"
    scenario=$(cat "$FAKE_ROOT/.staged")
    echo "${scenario#*-}" >"$FAKE_ROOT/proc/sys/kernel/osrelease"
    case "$scenario" in
    rename-*)
        ip netns exec "$NS" ip link set eth0 down
        ip netns exec "$NS" ip link set eth0 name end0
        mv "$FAKE_ROOT/sys/class/net/eth0" "$FAKE_ROOT/sys/class/net/end0"
        echo down >"$FAKE_ROOT/sys/class/net/end0/operstate"
        ;;
    esac
    (sleep 1; start) >/dev/null 2>&1 &
    ;;
stop) stop ;;
*) echo "usage: $0 start|install BUNDLE|reboot|stop" >&2; exit 2 ;;
esac
