#!/bin/sh
# soak sim: --help and bad arguments; a live tree a REAL soakd serves
# (soakd --root DIR --once), changing between two ticks; every device's tree
# with --out; the history files end in # EOF and are the same for the same seed;
# live --soakd runs the board's agent, `soak sim install` of the rename update takes
# it off the network until RAUC falls back to the old build (new boot id).
. "$(dirname "$0")/t-07x-lib.sh"

"$SOAK" sim --help >"$WORK/help" 2>&1
check "sim --help exits 0" [ $? -eq 0 ]
check "sim --help documents the modes" \
    grep -q 'soak sim live --root DIR --device NAME' "$WORK/help"
check "sim --help names the devices" grep -q 'rock-pi-s rock-pi-e zero-3e rock-5b' "$WORK/help"
"$SOAK" sim history --out "$WORK/x" --device nosuch >/dev/null 2>"$WORK/err"
check "an unknown device exits 2" [ $? -eq 2 ]
check "... and says so" grep -q "unknown device 'nosuch'" "$WORK/err"
"$SOAK" sim history --out "$WORK/x" --step 0 >/dev/null 2>&1
check "--step 0 exits 2" [ $? -eq 2 ]
"$SOAK" sim bogus >/dev/null 2>&1
check "an unknown mode exits 2" [ $? -eq 2 ]
"$SOAK" sim live --device rock-pi-s >/dev/null 2>&1
check "live without --root exits 2" [ $? -eq 2 ]

# A live rock-pi-s, one simulated hour per real second, served by soakd --once.
root="$WORK/rockpis"
"$SOAK" sim live --root "$root" --device rock-pi-s --now "$NOW" --speed 3600 --interval 0.25 \
    >"$WORK/live.log" 2>&1 &
PIDS="$PIDS $!"
# The first tick creates ~1,300 /proc/<pid>/fd entries (slow on some file systems).
i=0
while ! grep -q 'tree(s) written' "$WORK/live.log" && [ $i -lt 300 ]; do
    sleep 0.1
    i=$((i + 1))
done
check "live mode writes /proc/meminfo" [ -e "$root/proc/meminfo" ]
"$SOAKD" --root "$root" --once >"$WORK/a.prom" 2>"$WORK/a.err"
check "soakd --root serves the live tree" [ $? -eq 0 ]
sleep 1
"$SOAKD" --root "$root" --once >"$WORK/b.prom" 2>"$WORK/b.err"
a=$(metric "$WORK/a.prom" node_memory_MemAvailable_bytes)
b=$(metric "$WORK/b.prom" node_memory_MemAvailable_bytes)
check "soakd reports MemAvailable from the tree ($a)" [ -n "$a" ]
check "MemAvailable changes between two ticks ($a -> $b)" [ -n "$b" ] && [ "$a" != "$b" ]
check "MemTotal is the 6.17.6 one (229636 kB)" \
    [ "$(metric "$WORK/a.prom" node_memory_MemTotal_bytes)" = 235147264 ]
ua=$(metric "$WORK/a.prom" soak_uptime_seconds)
ub=$(metric "$WORK/b.prom" soak_uptime_seconds)
check "uptime runs faster than real time ($ua -> $ub)" \
    python3 -c "import sys; sys.exit(0 if float('$ub') - float('$ua') > 600 else 1)"
check "the build is 6.17.6" grep -q 'soak_build_info{build="6.17.6-yocto-standard 2025.11"' \
    "$WORK/a.prom"
check "the boot id comes from the tree" grep -q '^soak_boot_info{boot_id="[0-9a-f-]\{36\}"} 1' \
    "$WORK/a.prom"
check "the panic of the previous boot is in pstore" grep -q '^soak_pstore_panic 1' "$WORK/a.prom"
check "filp is the largest slab cache" \
    grep -q '^node_slabinfo_active_objects{slab="filp"} [0-9]\{6\}' "$WORK/a.prom"
check "open descriptors are counted over /proc/*/fd" grep -q '^soak_open_fds 1[0-9][0-9][0-9]$' \
    "$WORK/a.prom"
check "eth0 is up" grep -q '^node_network_up{device="eth0"} 1' "$WORK/a.prom"

# Every device with --out, one tick.
"$SOAK" sim live --out "$WORK/roots" --now "$NOW" --ticks 1 >/dev/null 2>&1
check "live --out --ticks 1 exits 0" [ $? -eq 0 ]
for d in rock-pi-s rock-pi-e zero-3e rock-5b; do
    check "live --out made $d's tree" [ -s "$WORK/roots/$d/proc/slabinfo" ]
done
check "the rock-5b has 4 GB" grep -q '^MemTotal: *3980320 kB$' "$WORK/roots/rock-5b/proc/meminfo"
# soakd names the sensors of a live tree as the history does (IIO by its i2c/spi device)
"$SOAKD" --root "$WORK/roots/rock-pi-e" --once >"$WORK/e.prom" 2>/dev/null
for s in sht3x@1-0045 lps25h@1-005c mcp3002@spi0.0 28-0516b2c3d4e5; do
    check "live rock-pi-e reads sensor $s" grep -q "^soak_sensor_up{sensor=\"$s\"} 1" "$WORK/e.prom"
done
grep -o '^soak_sensor_up{sensor="[^"]*"}' "$WORK/e.prom" | sort -u >"$WORK/e.sensors"

# live --soakd: the agent runs while the board is reachable; the rename update (2025.12-rc1)
# takes it off the network; RAUC falls back after 2 simulated hours (2 s at 3600x).
"$SOAK" sim live --out "$WORK/x" --soakd "$SOAKD" >/dev/null 2>"$WORK/err"
check "--soakd without a --listen per device exits 2" [ $? -eq 2 ]
check "... and names the device" grep -q "no --listen rock-pi-s=ADDR:PORT" "$WORK/err"
"$SOAK" sim live --out "$WORK/x" --listen rock-pi-s=127.0.0.1:1 >/dev/null 2>&1
check "--listen without --soakd exits 2" [ $? -eq 2 ]
"$SOAK" sim live --out "$WORK/x" --soakd "$SOAKD" --listen nosuch=127.0.0.1:1 >/dev/null 2>&1
check "--listen for an unknown device exits 2" [ $? -eq 2 ]
"$SOAK" sim install --root "$WORK/nosuchroot" 2025.12-rc1 >/dev/null 2>"$WORK/err"
check "install on a directory that is no live tree exits 1" [ $? -eq 1 ]
check "... and says so" grep -q "is not a live board's tree" "$WORK/err"

info() { # PORT: "build boot_id" from soakd's /info, or "down"
    curl -s -m 2 "http://127.0.0.1:$1/info" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["build"].split()[1], d["boot_id"])' 2>/dev/null || echo down
}
# wait_info PORT PATTERN: up to 10 s until info matches PATTERN (grep -E)
wait_info() {
    i=0
    while [ $i -lt 100 ]; do
        last=$(info "$1")
        echo "$last" | grep -Eq "$2" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    echo "# last /info: $last"
    return 1
}
aport=$(free_port)
eroot="$WORK/rockpie"
"$SOAK" sim live --root "$eroot" --device rock-pi-e --now "$NOW" --speed 3600 --interval 0.1     --soakd "$SOAKD" --listen "127.0.0.1:$aport" >"$WORK/agent.log" 2>&1 &
simpid=$!
PIDS="$PIDS $simpid"
check "the simulator starts soakd for the board" wait_info "$aport" '^2025.11 '
before=$(info "$aport")
"$SOAK" sim install --root "$eroot" nosuch-1.0.raucb >/dev/null 2>"$WORK/err"
check "install of an unknown bundle exits 1" [ $? -eq 1 ]
check "... and says so" grep -q "unknown bundle 'nosuch-1.0'" "$WORK/err"
"$SOAK" sim install --root "$eroot" /srv/bundles/2025.12-rc1.raucb >"$WORK/inst" 2>&1
check "install of the rename update exits 0" [ $? -eq 0 ]
check "... and names its build" grep -q "6.17.6-yocto-standard 2025.12-rc1" "$WORK/inst"
check "the board drops off the network: soakd stops answering" wait_info "$aport" '^down$'
check "the simulator says why" wait_for_log "$WORK/agent.log"     '/booted 6.17.6-yocto-standard 2025.12-rc1, whose network interface never comes up/p' "$simpid"
"$SOAKD" --root "$eroot" --once >"$WORK/rc1.prom" 2>/dev/null
check "meanwhile the tree shows end0 down" grep -q '^node_network_up{device="end0"} 0'     "$WORK/rc1.prom"
check "... on the rc build" grep -q 'soak_build_info{build="6.17.6-yocto-standard 2025.12-rc1"'     "$WORK/rc1.prom"
check "RAUC falls back: soakd answers again on 2025.11" wait_info "$aport" '^2025.11 '
after=$(info "$aport")
check "... with a new boot id ($before -> $after)" [ "${before#* }" != "${after#* }" ]
kill "$simpid"
wait "$simpid"
check "the simulator exits 0 on SIGTERM" [ $? -eq 0 ]
check "... and stops the board's soakd" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$aport/info)\" = 000 ]"

# An imported history, then soak server polling the same board live: the pstore record of the
# current boot was reported by the import, the server must not report that panic again.
"$SOAK" sim history --out "$WORK/hp" --days 7 --step 300 --now "$NOW" --device rock-pi-s 2>/dev/null
"$SOAK" import --quiet --db "$WORK/p.db" --device rock-pi-s "$WORK/hp/rock-pi-s.om"
check "import of rock-pi-s's week exits 0" [ $? -eq 0 ]
# the rock-pi-s's tree at --now from `live --out --ticks 1` above
tap_start_soakd "$WORK/pr-soakd.log" --root "$WORK/roots/rock-pi-s"
PIDS="$PIDS $TAP_PID"
printf '[server]\nstore = sqlite:%s\n\n[device rock-pi-s]\nurl = http://127.0.0.1:%s\n' \
    "$WORK/p.db" "$TAP_PORT" >"$WORK/p.conf"
panics() { "$SOAK" events --db "$WORK/p.db" --device rock-pi-s 2>/dev/null | grep -c ' panic '; }
p0=$(panics)
"$SOAK" server --config "$WORK/p.conf" --once >/dev/null 2>&1
check "soak server --once polled the live board" [ $? -eq 0 ]
p1=$(panics)
check "the import's panic is not reported again by the server ($p0 -> $p1)" \
    [ "$p0" -ge 1 ] && [ "$p1" = "$p0" ]

# History: 2 days every 5 minutes, twice with the same seed.
"$SOAK" sim history --out "$WORK/h1" --days 2 --step 300 --now "$NOW" 2>/dev/null
check "history exits 0" [ $? -eq 0 ]
"$SOAK" sim history --out "$WORK/h2" --days 2 --step 300 --now "$NOW" 2>/dev/null
for d in rock-pi-s rock-pi-e zero-3e rock-5b; do
    check "history of $d ends in # EOF" [ "$(tail -n 1 "$WORK/h1/$d.om")" = "# EOF" ]
done
check "the same seed gives the same files" cmp -s "$WORK/h1/rock-5b.om" "$WORK/h2/rock-5b.om"
check "the history names the sensors as the live tree's soakd" \
    sh -c "grep -o 'soak_sensor_up{sensor=\"[^\"]*\"}' '$WORK/h1/rock-pi-e.om' | sort -u | cmp -s - '$WORK/e.sensors'"
"$SOAK" sim history --out "$WORK/h3" --days 2 --step 300 --now "$NOW" --seed 2 \
    --device rock-5b 2>/dev/null
check "another seed gives other noise" sh -c "! cmp -s '$WORK/h1/rock-5b.om' '$WORK/h3/rock-5b.om'"
# The past rename update (2025.11-rc1, 30 days back): its samples reach the history (soakd's
# persisted ring after the fallback) beside soak_poll_up 0, so the rc fails, not 2025.10.
"$SOAK" sim history --out "$WORK/he" --days 30 --step 600 --now "$NOW" --device rock-pi-e 2>/dev/null
check "the rc build's samples are in the history" \
    grep -q 'soak_build_info{build="6.17.6-yocto-standard 2025.11-rc1"' "$WORK/he/rock-pi-e.om"
check "... with end0 down" grep -q '^node_network_up{device="end0"} 0 ' "$WORK/he/rock-pi-e.om"
"$SOAK" import --quiet --db "$WORK/e.db" --device rock-pi-e "$WORK/he/rock-pi-e.om"
"$SOAK" verdict --db "$WORK/e.db" --device rock-pi-e \
    --build "6.17.6-yocto-standard 2025.11-rc1" >"$WORK/rc1.v" 2>&1
check "the verdict fails the rename build" [ $? -eq 1 ]
check "... on reachability and the lost eth0" sh -c \
    "grep -q 'FAIL reachability  0.00 %' '$WORK/rc1.v' && grep -q 'FAIL interfaces .*eth0' '$WORK/rc1.v'"
"$SOAK" verdict --db "$WORK/e.db" --device rock-pi-e \
    --build "6.12.55-yocto-standard 2025.10" >"$WORK/b10.v" 2>&1
check "the build RAUC fell back to passes (the outage is not its)" [ $? -eq 0 ]
check "the rock-5b's OOM kills are in its history" \
    sh -c "grep '^node_vmstat_oom_kill ' '$WORK/h1/rock-5b.om' | awk '\$2 > 0' | grep -q ."

done_testing
