#!/bin/sh
# The story's farm from `soak sim history` (an independent simulator, written
# apart from the analysis): through `soak import`, every board's 6.17.6 boot
# leaks and fails the verdict, the 6.12.55 boots do not leak, git-bisect judging
# says "bad" within hours of boot, and the 256 MB rock-pi-s is projected to run
# out in about the 4.5 days the real one took.
set -u
# shellcheck source=tests/integration/t-06x-lib.sh
. "$SOAK_SRC/tests/integration/t-06x-lib.sh"
"$SOAK" sim list >/dev/null 2>&1 || skip_all "soak sim is not built"
echo "1..18"
NOW=1766000000
DB="sqlite:$WORK/farm.db"
NEW="6.17.6-yocto-standard 2025.11"
expect_rc 0 "soak sim history" "$SOAK" sim history --out "$WORK/h" --days 45 --step 300 \
    --now $NOW --seed 1
for d in rock-pi-s rock-pi-e zero-3e rock-5b; do
    "$SOAK" import --db "$DB" --device $d "$WORK/h/$d.om" >/dev/null 2>&1 ||
        not_ok "import $d"
done

expect_rc 1 "verdict fails 6.17.6" "$SOAK" verdict --db "$DB" --build "$NEW" --ram 256M,512M --json
jcheck "on the three boards that ran it, each for a leak" '(.devices | length == 3) and all(.devices[]; .result == "fail" and any(.reasons[]; .rule == "leak" and .status == "fail"))' "$WORK/out"
jcheck "256 MB rock-pi-s projected to run out in 3.5..5.5 days (the story: 4.5)" '.devices[] | select(.device == "rock-pi-s") | .reasons[] | select(.rule == "leak") | .text | capture("256 MB rock-pi-s in (?<d>[0-9.]+) days").d | tonumber | (. > 3.5 and . < 5.5)' "$WORK/out"

for d in rock-pi-s rock-pi-e zero-3e rock-5b; do
    "$SOAK" leak --db "$DB" --device $d --json >"$WORK/$d.json" 2>/dev/null
    jcheck "$d: every 6.12.55 boot clean, every judged 6.17.6 boot leaks" '[.segments[] | select(.judged) | (.build | startswith("6.17.6")) == .leak] | all' "$WORK/$d.json"
done

# rock-pi-e ran 6.17.6's rc (eth0 renamed: 7 h unreachable until RAUC fell back to 6.12.55),
# then the release a day and a half later: the family's longest outage is the rc's 7 h, not
# the baseline's time in between.
expect_rc 1 "verdict fails the 6.17.6 family on rock-pi-e" "$SOAK" verdict --db "$DB" \
    --device rock-pi-e --build 6.17.6 --json
jcheck "... its longest outage is the rc's 6..8 h" '.devices[0].reasons[] | select(.rule == "reachability") | .status == "fail" and (.text | capture("longest outage (?<s>[0-9]+) s").s | tonumber | (. >= 21600 and . <= 28800))' "$WORK/out"
jcheck "... and its sensors rule names the high-temperature probe's 45-minute drop-out" '.devices[0].reasons[] | select(.rule == "sensors") | .status == "pass" and (.text | test("1 loss\\(es\\) while it ran, the longest 28-0516b2c3d4e5 for (4[5-9]|5[0-9]) min"))' "$WORK/out"

expect_rc 1 "verdict fails the server's 6.17.6 on the 4 GB rock-5b" "$SOAK" verdict --db "$DB" \
    --device rock-5b --build "$NEW-server"

expect_rc 1 "judge: 6.17.6 on the 256 MB rock-pi-s is bad after 4 h" "$SOAK" judge --db "$DB" \
    --device rock-pi-s --build "$NEW" --hours 4
expect_rc 1 "judge: 6.17.6 on the 1 GB zero-3e is bad after 6 h" "$SOAK" judge --db "$DB" \
    --device zero-3e --build "$NEW" --hours 6
expect_rc 0 "judge: 6.12.55 on zero-3e is good after 24 h" "$SOAK" judge --db "$DB" \
    --device zero-3e --build "6.12.55-yocto-standard 2025.10" --hours 24
# "Done when": what the server would have said 4 h into the first 6.17.6 boot of the
# 256 MB rock-pi-s (--at): 6.17.6 fails against 6.12.55 (as the user types them),
# with the rate and the projected panic (the story: after 4.5 days).
B=$(jq '[.segments[] | select(.build | startswith("6.17.6"))][0].boot_time' "$WORK/rock-pi-s.json")
expect_rc 1 "verdict --build 6.17.6 --baseline 6.12.55 --at boot+4h fails" "$SOAK" verdict \
    --db "$DB" --device rock-pi-s --build 6.17.6 --baseline 6.12.55 --ram 256M,512M \
    --at $((B + 4 * 3600)) --json
jcheck "4 h in: the leak rule fails with its rate (20..45 MB/day)" '.devices[0].reasons[] | select(.rule == "leak") | .status == "fail" and (.text | capture("leak in [^:]*: (?<r>[0-9.]+) MB/day").r | tonumber | (. > 20 and . < 45))' "$WORK/out"
jcheck "4 h in: the 256 MB board projected to run out in 2.5..6 days" '.devices[0].reasons[] | select(.rule == "leak") | .text | capture("256 MB rock-pi-s in (?<d>[0-9.]+) days").d | tonumber | (. > 2.5 and . < 6)' "$WORK/out"
exit 0
