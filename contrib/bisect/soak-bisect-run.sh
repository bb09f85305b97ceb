#!/bin/sh
# soak-bisect-run.sh - one step of `git bisect run` on a board farm:
#
#   cd linux-yocto && git bisect start v6.17.6 v6.12.55
#   SOAK_DB=sqlite:/var/lib/soak/farm.db SOAK_DEVICE=rockpis-1 SOAK_HOURS=6 \
#   SOAK_BUILD_CMD='bitbake core-image-minimal' \
#   SOAK_DEPLOY_CMD='soak deploy --config /etc/soak/farm.conf --device rockpis-1 --bundle tmp/deploy/images/rockpi-s/update.raucb' \
#   git bisect run /path/to/soak/contrib/bisect/soak-bisect-run.sh
#
# Builds the checked-out revision (SOAK_BUILD_CMD), installs it on the device
# (SOAK_DEPLOY_CMD), waits until `soak server` (running elsewhere, storing into
# SOAK_DB) has seen the device boot the new build, lets it soak SOAK_HOURS hours
# (a 25 MB/day leak shows within ~3 h, 3 MB/day within a day), then asks
# `soak judge`. Exit: 0 good, 1 bad, 125 skip (build or deploy failed, board
# unreachable, too little data), 128 abort (configuration error).
# Env: SOAK (path of the soak binary, default "soak"), SOAK_BASELINE (known-good
# build label), SOAK_BOOT_TIMEOUT (seconds to wait for the new build, default 1800),
# SOAK_POLL (seconds between checks, default 60).
#
# SOAK_COMMIT (the checked-out commit, 12 hex digits) is exported to both commands: put it
# in the build label (docs/BISECT.md step 2), because `soak judge --build B` judges the first
# hours of B, and two commits that report the same label cannot be told apart: a label
# already seen in an earlier boot of the device aborts the bisection (exit 128).
set -u
SOAK=${SOAK:-soak}
: "${SOAK_DB:?set SOAK_DB}" "${SOAK_DEVICE:?set SOAK_DEVICE}"
: "${SOAK_BUILD_CMD:?set SOAK_BUILD_CMD}" "${SOAK_DEPLOY_CMD:?set SOAK_DEPLOY_CMD}"
HOURS=${SOAK_HOURS:-6}
BOOT_TIMEOUT=${SOAK_BOOT_TIMEOUT:-1800}
POLL=${SOAK_POLL:-60}
command -v jq >/dev/null 2>&1 || { echo "soak-bisect-run: needs jq" >&2; exit 128; }

newest_build() {
    "$SOAK" leak --db "$SOAK_DB" --device "$SOAK_DEVICE" --json 2>/dev/null |
        jq -r '.segments[-1] | "\(.boot_time) \(.build)"'
}

before=$(newest_build)
SOAK_COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null) || SOAK_COMMIT=unknown
export SOAK_COMMIT
echo "soak-bisect-run: building $SOAK_COMMIT"
sh -c "$SOAK_BUILD_CMD" || { echo "soak-bisect-run: build failed: skip"; exit 125; }
sh -c "$SOAK_DEPLOY_CMD" || { echo "soak-bisect-run: deploy failed: skip"; exit 125; }

# Wait for a new boot in the store.
waited=0
now=$before
while [ "$now" = "$before" ]; do
    if [ "$waited" -ge "$BOOT_TIMEOUT" ]; then
        echo "soak-bisect-run: no new boot of $SOAK_DEVICE after ${BOOT_TIMEOUT}s: skip"
        exit 125
    fi
    sleep "$POLL"
    waited=$((waited + POLL))
    now=$(newest_build)
done
build=${now#* }
seen=$("$SOAK" leak --db "$SOAK_DB" --device "$SOAK_DEVICE" --json 2>/dev/null |
    jq -r --arg b "$build" '[.segments[:-1][] | select(.build == $b)] | length')
if [ "${seen:-0}" != 0 ]; then
    echo "soak-bisect-run: $SOAK_DEVICE booted build '$build', a label it already had in an" \
        "earlier boot: soak judge cannot tell commit $SOAK_COMMIT from that one. Put" \
        "\$SOAK_COMMIT in the build label (docs/BISECT.md, step 2). Aborting." >&2
    exit 128
fi
echo "soak-bisect-run: $SOAK_DEVICE booted build '$build' (commit $SOAK_COMMIT); soaking ${HOURS} h"

# Judge as soon as the judge is sure: a failure is final at once, a pass needs HOURS.
while :; do
    set -- --db "$SOAK_DB" --device "$SOAK_DEVICE" --build "$build" --hours "$HOURS"
    [ -n "${SOAK_BASELINE:-}" ] && set -- "$@" --baseline "$SOAK_BASELINE"
    "$SOAK" judge "$@"
    rc=$?
    case $rc in
    0 | 1) exit "$rc" ;;
    125) ;;
    *) exit 128 ;;
    esac
    boot=${now%% *}
    if [ "$(date +%s)" -gt $((boot + HOURS * 3600 + 3600)) ]; then
        echo "soak-bisect-run: still not enough data an hour after the soak time: skip"
        exit 125
    fi
    sleep "$POLL"
done
