#!/bin/sh
# The story end to end on simulated boots: a 256 MB rock-pi-s runs 6.12.55 for two
# days (tmpfs sawtooth), then 6.17.6 that leaks struct file at 25 MB/day; a 1 GB
# board runs 6.12.55 with the page cache filling up. Through `soak import`:
# soak leak flags 6.17.6 within hours with rate and projection (and not before the
# data says so, --at), soak verdict fails 6.17.6 and passes 6.12.55, soak judge
# answers git bisect, soak slab shows filp on top.
set -u
. "$SOAK_SRC/tests/integration/t-06x-lib.sh"
echo "1..53"

T0=1764000000
T1=$((T0 + 2 * 86400 + 300))
DB="sqlite:$WORK/farm.db"
gen "$WORK/a.om" --pattern sawtooth --ram 256 --days 2 --interval 120 --boot $T0 \
    --build 6.12.55 --boot-id aaaa-1 --seed 3
gen "$WORK/b.om" --pattern leak --rate $((25 * MB)) --ram 256 --days 0.25 --interval 120 \
    --boot $T1 --build 6.17.6 --boot-id bbbb-2 --seed 4
gen "$WORK/c.om" --pattern pagecache --ram 1024 --days 3 --interval 300 --boot $T0 \
    --build 6.12.55 --boot-id cccc-1 --seed 5

expect_rc 0 "import the rock-pi-s boots" "$SOAK" import --db "$DB" --device rockpis-1 \
    "$WORK/a.om" "$WORK/b.om"
expect_rc 0 "import the 1 GB board" "$SOAK" import --db "$DB" --device rockpie-1 "$WORK/c.om"

expect_rc 1 "soak leak: the newest boot leaks (exit 1)" "$SOAK" leak --db "$DB" \
    --device rockpis-1 --json
cp "$WORK/out" "$WORK/leak.json"
jcheck "two segments, oldest first" '.segments | length == 2 and .[0].build == "6.12.55" and .[1].build == "6.17.6"' "$WORK/leak.json"
jcheck "6.12.55 (daily tmpfs sawtooth) is no leak" '.segments[0].leak == false and .segments[0].judged == true' "$WORK/leak.json"
jcheck "6.17.6 leaks at 15..40 MB/day" ".segments[1].leak == true and .segments[1].rate_bytes_per_day > 15 * $MB and .segments[1].rate_bytes_per_day < 40 * $MB" "$WORK/leak.json"
jcheck "the rate has a CI around it" '.segments[1].rate_ci | length == 2 and .[0] <= .[1]' "$WORK/leak.json"
jcheck "exhaustion projected 3..9 days after boot" ".segments[1].exhaustion_time > $T1 + 3 * 86400 and .segments[1].exhaustion_time < $T1 + 9 * 86400" "$WORK/leak.json"
jcheck "evidence names filp and the gap to open fds" '[.segments[1].evidence[] | select(.growing) | .signal] | (index("slab filp") != null and index("filp - open fds") != null)' "$WORK/leak.json"
jcheck "boot time and boot id per segment" ".segments[1].boot_time == $T1 and .segments[1].boot_id == \"bbbb-2\"" "$WORK/leak.json"

expect_rc 0 "--at 40 min after boot: no verdict yet (exit 0)" "$SOAK" leak --db "$DB" \
    --device rockpis-1 --at $((T1 + 2400)) --json
jcheck "--at uses only data up to then: not judged" ".segments[1].judged == false and .segments[1].end <= $((T1 + 2400))" "$WORK/out"
expect_rc 1 "--at 3 h after boot: the leak is flagged" "$SOAK" leak --db "$DB" \
    --device rockpis-1 --at $((T1 + 3 * 3600)) --json
cp "$WORK/out" "$WORK/at-secs.json"
AT_RFC=$(date -u -d "@$((T1 + 3 * 3600))" +%Y-%m-%dT%H:%M:%SZ)
expect_rc 1 "--at in RFC 3339 ($AT_RFC)" "$SOAK" leak --db "$DB" --device rockpis-1 \
    --at "$AT_RFC" --json
if cmp -s "$WORK/out" "$WORK/at-secs.json"; then
    ok "--at RFC 3339 and --at UNIX seconds give the same analysis"
else
    not_ok "--at RFC 3339 differs from UNIX seconds" "$(diff "$WORK/at-secs.json" "$WORK/out" | head -20)"
fi
expect_rc 2 "--at yesterday: usage error (exit 2)" "$SOAK" leak --db "$DB" --device rockpis-1 \
    --at yesterday
if grep -q "bad --at 'yesterday' (UNIX seconds or RFC 3339" "$WORK/err"; then
    ok "--at error names both accepted forms"
else
    not_ok "--at error message" "$(cat "$WORK/err")"
fi
expect_rc 1 "soak slab --at RFC 3339 (filp on top after 3 h)" "$SOAK" slab --db "$DB" \
    --device rockpis-1 --at "$AT_RFC"
expect_rc 1 "soak verdict --at RFC 3339 fails 6.17.6 as with UNIX seconds" "$SOAK" verdict \
    --db "$DB" --device rockpis-1 --build 6.17.6 --at "$AT_RFC"
expect_rc 1 "leak: a missing database is a store error (exit 1)" "$SOAK" leak \
    --db "$WORK/none.db" --device rockpis-1
if grep -q "leak: cannot open store $WORK/none.db" "$WORK/err"; then
    ok "the error names the store"
else
    not_ok "missing store message" "$(cat "$WORK/err")"
fi

expect_rc 0 "1 GB board, page cache filling for 3 days: no leak" "$SOAK" leak --db "$DB" \
    --device rockpie-1
expect_rc 2 "soak leak on an unknown device: exit 2" "$SOAK" leak --db "$DB" --device nope

expect_rc 1 "verdict fails 6.17.6" "$SOAK" verdict --db "$DB" --device rockpis-1 --build 6.17.6 \
    --ram 256M,512M
if grep -q "FAIL leak" "$WORK/out" && grep -q "would exhaust a 512 MB" "$WORK/out" &&
    grep -q "against 6.12.55" "$WORK/out"; then
    ok "verdict says why: leak against 6.12.55, projected onto 256 and 512 MB"
else
    not_ok "verdict text" "$(cat "$WORK/out")"
fi
# The RAM sizes and the model from the farm config instead of --ram.
cat >"$WORK/farm.conf" <<EOF
[server]
store = $DB

[device rockpis-1]
url = http://127.0.0.1:9/metrics
model = rock-pi-s
ram_sizes = 256M,512M
EOF
expect_rc 1 "verdict --config farm.conf fails 6.17.6" "$SOAK" verdict --db "$DB" \
    --device rockpis-1 --build 6.17.6 --config "$WORK/farm.conf"
if grep -q "would exhaust a 256 MB rock-pi-s" "$WORK/out" &&
    grep -q "would exhaust a 512 MB rock-pi-s" "$WORK/out"; then
    ok "the projection uses the config's model and RAM sizes"
else
    not_ok "projection from --config" "$(cat "$WORK/out")"
fi
expect_rc 0 "verdict passes 6.12.55 on every device that ran it" "$SOAK" verdict --db "$DB" \
    --build 6.12.55 --json
jcheck "both devices judged, both pass" '.result == "pass" and (.devices | length == 2) and all(.devices[]; .result == "pass")' "$WORK/out"
expect_rc 2 "verdict on a build nobody ran: exit 2" "$SOAK" verdict --db "$DB" --build 9.9.9

expect_rc 1 "judge (git bisect): 6.17.6 is bad after 4 h" "$SOAK" judge --db "$DB" \
    --device rockpis-1 --build 6.17.6 --hours 4
expect_rc 0 "judge: 6.12.55 is good after 24 h" "$SOAK" judge --db "$DB" --device rockpis-1 \
    --build 6.12.55 --hours 24
expect_rc 125 "judge: asking for more hours than ran is a skip" "$SOAK" judge --db "$DB" \
    --device rockpis-1 --build 6.12.55 --hours 200

# A second rock-pi-s: 6.17.6 OOM-kills, panics (pstore on the next boot, which
# nobody asked for) and loses its sensor.
T2=$((T0 + 86400 + 300))
T3=$((T2 + 8 * 3600))
gen "$WORK/d.om" --pattern quiet --ram 256 --days 1 --interval 300 --boot $T0 --build 6.12.55 \
    --boot-id dddd-1 --seed 6
gen "$WORK/e.om" --pattern quiet --ram 256 --days 0.3 --interval 300 --boot $T2 --build 6.17.6 \
    --boot-id eeee-2 --seed 7 --oom-at 2
gen "$WORK/f.om" --pattern quiet --ram 256 --days 0.3 --interval 300 --boot $T3 --build 6.17.6 \
    --boot-id ffff-3 --seed 8 --pstore 1 --sensor-up 0
expect_rc 0 "import the second rock-pi-s" "$SOAK" import --db "$DB" --device rockpis-2 \
    "$WORK/d.om" "$WORK/e.om" "$WORK/f.om"
expect_rc 1 "verdict fails 6.17.6 on the second board" "$SOAK" verdict --db "$DB" \
    --device rockpis-2 --build 6.17.6 --json
jcheck "reboot, panic, OOM kill and the lost sensor are the reasons" '.devices[0] as $d | ($d.reasons | map(select(.status == "fail") | .rule) | sort) == ["oom", "reboots", "sensors"] and ($d.reasons[] | select(.rule == "reboots") | .text | test("1 unexpected reboot.*1 panic")) and ($d.reasons[] | select(.rule == "sensors") | .text | test("sht30-indoor"))' "$WORK/out"

expect_rc 1 "soak slab warns (exit 1)" "$SOAK" slab --db "$DB" --device rockpis-1
if grep -q "filp is the largest" "$WORK/out" && head -4 "$WORK/out" | grep -q "filp$"; then
    ok "slab: filp on top, flagged"
else
    not_ok "slab view" "$(cat "$WORK/out")"
fi
# Bad input through soak import: a 3 h outage, repeated and out-of-order lines, and
# no slabinfo or descriptor counts (what a non-root agent reports). The analysis
# says what it could not judge instead of calling the leak or the all-clear.
gen "$WORK/g.om" --pattern leak --rate $((25 * MB)) --ram 256 --days 0.3 --interval 120 \
    --boot $T0 --build 6.17.6 --boot-id gggg-1 --seed 9
awk -v t0=$T0 '/^#/ { print; next }
    { t = $NF; if (t >= t0 + 3 * 3600 && t < t0 + 6 * 3600) next
      if (NR % 11 == 0) { hold = $0; next }
      print; if (NR % 7 == 0) print
      if (hold != "") { print hold; hold = "" } }' "$WORK/g.om" |
    grep -v 'slabinfo\|filefd\|open_fds' >"$WORK/g2.om"
expect_rc 0 "import a damaged boot (outage, repeated and out-of-order lines)" "$SOAK" import \
    --db "$DB" --device rockpis-3 "$WORK/g2.om"
expect_rc 0 "soak leak on it: no leak called yet (exit 0)" "$SOAK" leak --db "$DB" \
    --device rockpis-3 --json
jcheck "it says the 3 h gap, the missing slabinfo and that SUnreclaim alone needs a day" '.segments[0] | .judged and (.leak | not) and (.note | test("SUnreclaim: no data for 3.0 h") and test("slabinfo needs root")) and ([.evidence[] | select(.signal == "SUnreclaim") | .why] == ["alone, needs a day"]) and ([.evidence[] | select(.signal == "SUnreclaim") | .longest_gap_seconds] | .[0] >= 10800)' "$WORK/out"
expect_rc 2 "soak slab on it: no slab data (exit 2)" "$SOAK" slab --db "$DB" --device rockpis-3
if grep -q "no slabinfo data for rockpis-3 (the agent needs root" "$WORK/err"; then
    ok "soak slab says why: the agent needs root"
else
    not_ok "soak slab without slabinfo" "$(cat "$WORK/err")"
fi
# The story's build names: `--build 6.17.6 --baseline 6.12.55` stand for every build
# of those kernels (6.17.6*), as a user types them. In a store of their own: a name
# some device ran exactly (6.17.6 above) is that build everywhere, not a family.
DB2="sqlite:$WORK/names.db"
gen "$WORK/h.om" --pattern quiet --ram 256 --days 1 --interval 300 --boot $T0 \
    --build "6.12.55-yocto-standard 2025.10" --boot-id hhhh-1 --seed 10
gen "$WORK/i.om" --pattern leak --rate $((25 * MB)) --ram 256 --days 0.25 --interval 120 \
    --boot $((T0 + 86400 + 300)) --build "6.17.6-yocto-standard 2025.11" --boot-id iiii-2 --seed 11
expect_rc 0 "import boots with the story's build names" "$SOAK" import --db "$DB2" \
    --device rockpis-4 "$WORK/h.om" "$WORK/i.om"
expect_rc 1 "verdict --build 6.17.6 --baseline 6.12.55 fails" "$SOAK" verdict --db "$DB2" \
    --device rockpis-4 --build 6.17.6 --baseline 6.12.55 --json
jcheck "judged as 6.17.6* against 6.12.55*, the baseline compared, the leak the reason" '.devices[0] | .build == "6.17.6*" and .baseline == "6.12.55*" and ([.reasons[] | select(.status == "fail") | .rule] == ["leak"]) and ([.reasons[] | select(.rule == "sensors") | .status] == ["pass"])' "$WORK/out"
expect_rc 1 "judge --build 6.17.6 --hours 4: bad" "$SOAK" judge --db "$DB2" --device rockpis-4 \
    --build 6.17.6 --hours 4
# A counter reset: the agent restarted inside a boot and its kmsg OOM counter went
# 0, 2, (restart) 0, 1: three kills, not the two first-to-max would say.
gen "$WORK/j.om" --pattern quiet --ram 256 --days 0.3 --interval 300 --boot $T0 \
    --build 6.17.6 --boot-id jjjj-1 --seed 12
awk '/^# EOF/ { print "# TYPE soak_kmsg_oom_kills counter"; for (i = 0; i < n; i++)
        print "soak_kmsg_oom_kills_total " (i < 20 ? 0 : i < 40 ? 2 : i < 50 ? 0 : 1) " " t[i]
        print; next }
    /^soak_poll_up / { t[n++] = $NF } { print }' "$WORK/j.om" >"$WORK/j2.om"
expect_rc 0 "import a boot whose OOM counter reset" "$SOAK" import --db "$DB" --device rockpis-5 \
    "$WORK/j2.om"
expect_rc 1 "verdict fails on the OOM kills" "$SOAK" verdict --db "$DB" --device rockpis-5 \
    --build 6.17.6 --json
jcheck "three OOM kills counted across the reset" '.devices[0].reasons[] | select(.rule == "oom") | .status == "fail" and (.text | test("^3 OOM kill"))' "$WORK/out"
# No boot markers (an exporter without node_boot_time_seconds or a boot id): two boots
# of a leaking build read as one history. The reboot shows as unreclaimable slab
# falling back at once; the boot after it is judged on its own and the note says so.
gen "$WORK/k1.om" --pattern leak --rate $((25 * MB)) --ram 256 --days 1.5 --interval 300 \
    --boot $T0 --build 6.17.6 --boot-id kkkk-1 --seed 13
gen "$WORK/k2.om" --pattern leak --rate $((25 * MB)) --ram 256 --days 0.5 --interval 300 \
    --boot $((T0 + 129600 + 300)) --build 6.17.6 --boot-id kkkk-2 --seed 14
for f in k1 k2; do grep -v 'node_boot_time_seconds\|soak_boot_info' "$WORK/$f.om" >"$WORK/$f-u.om"; done
expect_rc 0 "import two boots without boot markers" "$SOAK" import --db "$DB" --device rockpis-6 \
    "$WORK/k1-u.om" "$WORK/k2-u.om"
expect_rc 1 "soak leak: one history, the leak found after the reset" "$SOAK" leak --db "$DB" \
    --device rockpis-6 --json
jcheck "the reset is found near the second boot and said" ".segments | length == 1 and (.[0].reset_time - $((T0 + 129600 + 300)) | fabs < 1800) and (.[0].note | test(\"fell back at once\")) and .[0].leak" "$WORK/out"
exit 0
