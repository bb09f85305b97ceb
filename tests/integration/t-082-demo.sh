#!/bin/sh
# `make demo` end to end, non-interactive (DEMO_SECONDS): the story's history is
# simulated and imported, live boards are served by real soakd processes and
# polled by soak server, the dashboard answers, the verdict table fails the
# 6.17.6 build on the leaking boards, and everything is stopped afterwards.
set -u
: "${SOAK_BUILD:?}" "${SOAK_SRC:?}"
. "$SOAK_SRC/tests/lib/tap.sh"
command -v python3 >/dev/null || skip_all "python3 not installed"
command -v curl >/dev/null || skip_all "curl not installed"
tap_workdir demo-test
work=$WORK

port=$(free_port)
DEMO_DIR=$work/demo DEMO_SECONDS=10 DEMO_DAYS=30 DEMO_PORT=$port \
    timeout 400 bash "$SOAK_SRC/scripts/demo.sh" "$SOAK_BUILD" >"$work/out" 2>&1
rc=$?
sed 's/^/# /' "$work/out"
check "demo exits 0 by itself after DEMO_SECONDS" test "$rc" = 0
check "prints the dashboard URL" grep -q "^demo: dashboard: http://127.0.0.1:[0-9]*/$" "$work/out"
check "the dashboard still answered at the end" grep -q "dashboard still answers: HTTP 200" "$work/out"
check "verdict table fails rock-pi-s (leak, panics)" grep -Eq "^rock-pi-s +FAIL" "$work/out"
check "verdict table fails the 1 GB boards too" sh -c "grep -Eq '^rock-pi-e +FAIL' '$work/out' && grep -Eq '^zero-3e +FAIL' '$work/out'"
check "the server polled the real soakd processes" grep -Eq "stopped: [1-9][0-9]* poll\(s\), 0 failed" "$work/demo/server.log"
# pgrep's own command line must not contain the pattern: it is built from two pieces.
leftover() { pgrep -f "[s]oak.* .*$work/demo" >/dev/null; }
check "soak server and every soakd are gone afterwards" eval '! leftover'
done_testing
