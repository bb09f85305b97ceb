#!/bin/sh
# soak sim: --help and bad arguments; a live tree a REAL soakd serves
# (soakd --root DIR --once), changing between two ticks; every device's tree
# with --out; the history files end in # EOF and are the same for the same seed.
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

# History: 2 days every 5 minutes, twice with the same seed.
"$SOAK" sim history --out "$WORK/h1" --days 2 --step 300 --now "$NOW" 2>/dev/null
check "history exits 0" [ $? -eq 0 ]
"$SOAK" sim history --out "$WORK/h2" --days 2 --step 300 --now "$NOW" 2>/dev/null
for d in rock-pi-s rock-pi-e zero-3e rock-5b; do
    check "history of $d ends in # EOF" [ "$(tail -n 1 "$WORK/h1/$d.om")" = "# EOF" ]
done
check "the same seed gives the same files" cmp -s "$WORK/h1/rock-5b.om" "$WORK/h2/rock-5b.om"
"$SOAK" sim history --out "$WORK/h3" --days 2 --step 300 --now "$NOW" --seed 2 \
    --device rock-5b 2>/dev/null
check "another seed gives other noise" sh -c "! cmp -s '$WORK/h1/rock-5b.om' '$WORK/h3/rock-5b.om'"
check "the rock-5b's OOM kills are in its history" \
    sh -c "grep '^node_vmstat_oom_kill ' '$WORK/h1/rock-5b.om' | awk '\$2 > 0' | grep -q ."

done_testing
