#!/bin/sh
# A fake board for `soak deploy` tests: a real soakd serving a copy of a fixture root.
# Commands (the deploy templates call install and reboot):
#   fake-board.sh start                  start soakd on $FAKE_PORT over $FAKE_ROOT
#   fake-board.sh install BUNDLE         "install" a bundle: BUNDLE names the scenario
#        good-K      the next boot runs kernel K
#        fallback-K  the install succeeds but the board boots the old slot again
#        rename-K    kernel K, and the update renames eth0 to end0 (the board keeps its sensors)
#        late-K      kernel K; eth0 only comes up 3 s after soakd answers (DHCP, a slow link)
#        nosensor-K  kernel K, and the board's 1-Wire probe is gone (a device-tree change)
#        gone-K      the board never comes back after the reboot
#        broken      the install itself fails
#   fake-board.sh reboot                 stop soakd, new boot id, apply the staged state, start
set -eu
: "${FAKE_ROOT:?}" "${FAKE_PORT:?}" "${SOAKD:?}"
state="$FAKE_ROOT/.staged"

start() {
    # Collectors every second, so a late interface shows within a probe or two. The sensor
    # "probe" reads the 1-Wire temperature file when the root has one.
    printf '[agent]\ninterval = 1\n[sensor probe]\ndriver = w1\ndevice = 28-0000075a1b2c\ninterval = 1s\n' \
        >"$FAKE_ROOT/.soakd.conf"
    "$SOAKD" --config "$FAKE_ROOT/.soakd.conf" --root "$FAKE_ROOT" \
        --listen "127.0.0.1:$FAKE_PORT" >/dev/null 2>>"$FAKE_ROOT/.log" &
    echo $! >"$FAKE_ROOT/.pid"
    i=0
    while [ $i -lt 50 ]; do
        curl -sf "http://127.0.0.1:$FAKE_PORT/info" >/dev/null 2>&1 && return 0
        sleep 0.1
        i=$((i + 1))
    done
    echo "fake-board: soakd did not start" >&2
    return 1
}

# running PID: the process exists and is not a zombie (soakd was started in the background of
# a shell that has exited, so its parent is init, which may take seconds to reap it).
running() {
    [ -r "/proc/$1/stat" ] && ! sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^Z'
}

stop() {
    if [ -f "$FAKE_ROOT/.pid" ]; then
        kill "$(cat "$FAKE_ROOT/.pid")" 2>/dev/null || true
        i=0
        while running "$(cat "$FAKE_ROOT/.pid")" && [ $i -lt 50 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        rm -f "$FAKE_ROOT/.pid"
    fi
}

case "$1" in
start) start ;;
install)
    case "$2" in
    broken) echo "rauc: bundle signature verification failed" >&2; exit 1 ;;
    *) echo "$2" >"$state" ;;
    esac
    ;;
reboot)
    stop
    python3 -c 'import uuid; print(uuid.uuid4())' >"$FAKE_ROOT/proc/sys/kernel/random/boot_id"
    scenario=$(cat "$state" 2>/dev/null || echo none)
    kernel=${scenario#*-}
    case "$scenario" in
    good-*) echo "$kernel" >"$FAKE_ROOT/proc/sys/kernel/osrelease" ;;
    fallback-*) ;;
    rename-*)
        echo "$kernel" >"$FAKE_ROOT/proc/sys/kernel/osrelease"
        mv "$FAKE_ROOT/sys/class/net/eth0" "$FAKE_ROOT/sys/class/net/end0"
        ;;
    late-*)
        echo "$kernel" >"$FAKE_ROOT/proc/sys/kernel/osrelease"
        echo down >"$FAKE_ROOT/sys/class/net/eth0/operstate"
        (sleep 4; echo up >"$FAKE_ROOT/sys/class/net/eth0/operstate") >/dev/null 2>&1 &
        ;;
    nosensor-*)
        echo "$kernel" >"$FAKE_ROOT/proc/sys/kernel/osrelease"
        rm -rf "$FAKE_ROOT/sys/bus/w1/devices/28-0000075a1b2c"
        ;;
    gone-*) exit 0 ;;
    esac
    # The board takes a moment to boot; detach so the reboot command returns at once.
    (sleep 1; FAKE_ROOT=$FAKE_ROOT FAKE_PORT=$FAKE_PORT SOAKD=$SOAKD "$0" start) >/dev/null 2>&1 &
    ;;
stop) stop ;;
*) echo "usage: $0 start|install BUNDLE|reboot|stop" >&2; exit 2 ;;
esac
