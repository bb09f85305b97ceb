#!/bin/sh
# bench/web.sh BUILD_DIR: the dashboard over the demo's history (soak sim history, 45 days
# of the 4 simulated boards every minute, imported into SQLite like scripts/demo.sh does):
#   - the first farm page of a fresh `soak web` (every device's leak and verdict badges
#     computed), and a series request sent 0.1 s after it, while it is being computed,
#     side by side with the same request as the first one of a fresh server (ratio: how
#     much the first page holds up the others; 1.0 = not at all);
#   - the second farm page (badges cached), the first /api/v1/devices of a fresh server,
#     the first build page.
# Medians of 3 fresh servers, curl's time_total. No peer: the dashboard has no counterpart
# that reads this store. Writes bench/out/web.md.
set -eu
BUILD=${1:?usage: bench/web.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
SOAK=$BUILD/src/server/soak
OUT=$HERE/out/web.md
RUNS=3
NOW=1764201600
[ -x "$SOAK" ] || { echo "web.sh: no $SOAK (build first)" >&2; exit 1; }
command -v curl >/dev/null || { echo "web.sh: curl not installed" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/soak-bench-web.XXXXXX")
pid=
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$HERE/out"

"$SOAK" sim history --out "$work/h" --now "$NOW" >/dev/null 2>&1
db=$work/farm.db
for f in "$work"/h/*.om; do
    name=$(basename "$f" .om)
    "$SOAK" import --quiet --db "$db" --device "$name" "$f"
    "$SOAK" events --db "$db" --device "$name" --rebuild >/dev/null
done

start() {
    "$SOAK" web --db "$db" --listen 127.0.0.1:0 >"$work/web.out" 2>"$work/web.err" &
    pid=$!
    url=
    i=0
    while [ -z "$url" ] && [ $i -lt 100 ]; do
        url=$(sed -n 's/^soak web: serving \(http:[^ ]*\)$/\1/p' "$work/web.out" | head -n 1)
        sleep 0.1
        i=$((i + 1))
    done
    url=${url%/}
    [ -n "$url" ] || { cat "$work/web.err" >&2; exit 1; }
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
t() { curl -s -o /dev/null -w '%{time_total}\n' "$url$1"; }
series='/api/v1/devices/rock-pi-s/series?metric=node_memory_MemAvailable_bytes&range=1d'

: >"$work/first"; : >"$work/during"; : >"$work/alone"; : >"$work/second"
: >"$work/api"; : >"$work/build"
r=0
while [ $r -lt $RUNS ]; do
    start
    t / >>"$work/first" &
    f=$!
    sleep 0.1
    t "$series" >>"$work/during"
    wait $f
    t / >>"$work/second"
    stop
    start
    t "$series" >>"$work/alone"
    stop
    start
    t /api/v1/devices >>"$work/api"
    stop
    start
    t '/build/6.17.6-yocto-standard%202025.11' >>"$work/build"
    stop
    r=$((r + 1))
done
med() { sort -n "$1" | awk '{v[NR] = $1} END {printf "%.3f", v[int((NR + 1) / 2)]}'; }
during=$(med "$work/during")
alone=$(med "$work/alone")
{
    echo "## soak web over the demo's history (45 days, 4 boards, 1-minute samples)"
    echo
    echo "Medians of $RUNS fresh servers, seconds (curl time_total)."
    echo
    echo "| request | time |"
    echo "| --- | --- |"
    echo "| \`/\` first (leak and verdict badges of 4 devices) | $(med "$work/first") |"
    echo "| \`/\` second (cached badges) | $(med "$work/second") |"
    echo "| \`/api/v1/devices\` first | $(med "$work/api") |"
    echo "| \`/build/6.17.6-yocto-standard 2025.11\` first | $(med "$work/build") |"
    echo "| 1-day series, sent during the first \`/\` | $during |"
    echo "| the same series, first request of a fresh server | $alone |"
    echo "| ratio (during / alone; 1.0 = not held up) | $(awk -v a="$during" -v b="$alone" 'BEGIN {printf "%.1f", (b > 0 ? a / b : 0)}') |"
} >"$OUT"
cat "$OUT"
