#!/bin/sh
# soak deploy against a real soakd whose fake install/reboot commands restart it with a new
# boot id and build: a good update, a RAUC fallback to the old build, an update that renames
# the network interface, one that loses a sensor, a board that never comes back, an install
# that fails, --dry-run, and --all stopping at the first failure.
set -u
: "${SOAK_BUILD:?}" "${SOAK_SRC:?}"
SOAK="$SOAK_BUILD/src/server/soak"
SOAKD="$SOAK_BUILD/src/agent/soakd"
FAKE="$SOAK_SRC/tests/integration/deploy/fake-board.sh"
export SOAKD
. "$SOAK_SRC/tests/lib/tap.sh"
tap_workdir t091
# shellcheck disable=SC2016 # expanded when the cleanup runs
CLEANUP_EXTRA='for b in "$WORK"/board*; do
    [ -d "$b" ] && FAKE_ROOT=$b FAKE_PORT=0 "$FAKE" stop 2>/dev/null
done'

# new_board NAME: a fixture root copy and a soakd on a free port; sets PORT_<NAME>.
new_board() {
    root="$WORK/$1"
    cp -r "$SOAK_SRC/tests/fixtures/roots/rockpis-6.17" "$root"
    echo "6.12.55-yocto-standard" >"$root/proc/sys/kernel/osrelease"
    mkdir -p "$root/sys/bus/w1/devices/28-0000075a1b2c"
    echo 21437 >"$root/sys/bus/w1/devices/28-0000075a1b2c/temperature"
    port=$(free_port)
    FAKE_ROOT=$root FAKE_PORT=$port "$FAKE" start || { echo "Bail out! cannot start soakd"; exit 1; }
    eval "PORT_$1=$port"
}

# conf NAME...: a farm config with one device per board, install/reboot through fake-board.sh.
conf() {
    : >"$WORK/farm.conf"
    printf '[server]\nstore = sqlite:%s/farm.db\n' "$WORK" >>"$WORK/farm.conf"
    for b in "$@"; do
        eval "port=\$PORT_$b"
        # FAKE_ROOT/FAKE_PORT reach the fake board through env: argv templates run no shell.
        printf '[device %s]\nurl = http://127.0.0.1:%s\ninstall = env FAKE_ROOT=%s FAKE_PORT=%s %s install {bundle}\nreboot = env FAKE_ROOT=%s FAKE_PORT=%s %s reboot\n' \
            "$b" "$port" "$WORK/$b" "$port" "$FAKE" "$WORK/$b" "$port" "$FAKE" >>"$WORK/farm.conf"
    done
}

deploy() {
    "$SOAK" deploy --config "$WORK/farm.conf" --wait 20 "$@" >"$WORK/out" 2>&1
    echo $? >"$WORK/rc"
}

expect() { # DESC RC PATTERN
    rc=$(cat "$WORK/rc")
    if [ "$rc" = "$2" ] && grep -q -- "$3" "$WORK/out"; then ok "$1"; else not_ok "$1" "exit $rc (want $2), output:" "$(cat "$WORK/out")"; fi
}

new_board board1
new_board board2
new_board board3
new_board board4
conf board1 board2 board3 board4
B="6.17.6-yocto-standard 5.0.13"

deploy --device board1 --bundle good-6.17.6-yocto-standard --dry-run
expect "--dry-run prints the expanded install command" 0 "install: env FAKE_ROOT=.* install good-6.17.6-yocto-standard"

deploy --all --batch 2 --bundle good-6.17.6-yocto-standard --dry-run
if [ "$(cat "$WORK/rc")" = 0 ] && grep -q "4 device(s), 2 at a time, stopping at the first batch with a failure" "$WORK/out" &&
    grep -q "^board3 (batch 2):" "$WORK/out" && ! grep -q "on build" "$WORK/out"; then
    ok "--dry-run --all shows the batches and touches no board"
else
    not_ok "--dry-run --all" "$(cat "$WORK/out")"
fi

deploy --device board1 --bundle good-6.17.6-yocto-standard --build "$B"
expect "a good update comes back with a new boot id and the expected build" 0 "board1: OK back on build '$B'"

deploy --device board2 --bundle fallback-6.17.6-yocto-standard --build "$B"
expect "a RAUC fallback to the old build fails the deploy" 1 "board2: FAIL came back on the old build"

deploy --device board3 --bundle rename-6.17.6-yocto-standard --build "$B" --settle 3
expect "an update that renames eth0 fails with the missing interface once --settle is over" 1 \
    "board3: FAIL interface eth0 was up before"

deploy --device board2 --bundle nosensor-6.17.6-yocto-standard --build "$B" --settle 3
expect "an update that loses the 1-Wire probe fails with the missing sensor once --settle is over" 1 \
    "board2: FAIL sensor probe read before the update and does not now"

deploy --device board1 --bundle late-6.17.6-yocto-standard --build "$B" --settle 15
expect "an interface that comes up seconds after the board is back passes within --settle" 0 \
    "board1: OK back on build '$B'"

deploy --device board4 --bundle gone-6.17.6-yocto-standard --build "$B" --wait 6
expect "a board that never comes back: unreachable after update, last seen with eth0 up" 1 \
    "board4: FAIL unreachable after update (.*); last seen with interfaces eth0 up"

ev4=$("$SOAK" events --db "sqlite:$WORK/farm.db" --device board4 2>&1 | grep -c deploy)
deploy --device board4 --bundle good-6.17.6-yocto-standard --build "$B"
ev4b=$("$SOAK" events --db "sqlite:$WORK/farm.db" --device board4 2>&1 | grep -c deploy)
if [ "$(cat "$WORK/rc")" = 1 ] && grep -q "board4: FAIL unreachable before the update (.*); not touched" "$WORK/out" &&
    [ "$ev4" = "$ev4b" ] && ! grep -q "installing" "$WORK/out"; then
    ok "a board down before the update is not touched and gets no deploy event (the build was not tried)"
else
    not_ok "a board down before the update" "events $ev4 -> $ev4b" "$(cat "$WORK/out")"
fi

deploy --device board1 --bundle broken
expect "a failing install command is reported with its stderr" 1 "board1: FAIL install failed (exit 1): rauc: bundle signature"

# --all in batches of one stops at the first failure: board4 is down, board1..3 come first.
conf board2 board4 board1
FAKE_ROOT=$WORK/board2 FAKE_PORT=$PORT_board2 "$FAKE" stop
FAKE_ROOT=$WORK/board2 FAKE_PORT=$PORT_board2 "$FAKE" start
deploy --all --bundle fallback-x --build "never-this"
if [ "$(cat "$WORK/rc")" = 1 ] && grep -q "stopping: 1 board(s) failed; 2 not updated" "$WORK/out" &&
    ! grep -q "board1:" "$WORK/out"; then
    ok "--all stops at the first failed batch and leaves the rest untouched"
else
    not_ok "--all stops at the first failed batch" "$(cat "$WORK/out")"
fi

k=$("$SOAK" events --db "sqlite:$WORK/farm.db" --device board1 2>&1 | grep -c deploy)
if [ "${k:-0}" -ge 2 ]; then ok "deploy events are recorded in the store ($k for board1)"; else not_ok "deploy events recorded" "got ${k:-0}: $("$SOAK" events --db "sqlite:$WORK/farm.db" --device board1 2>&1 | head -5)"; fi

"$SOAK" deploy --config "$WORK/farm.conf" --device nosuch --bundle x >/dev/null 2>&1
[ $? -eq 2 ] && ok "an unknown device is a usage error (exit 2)" || not_ok "unknown device exit 2"

done_testing
