#!/bin/sh
# Leak and memory-exhaustion alerts end to end: `soak server` polls two real soakd
# agents on loopback whose --root trees (copies of tests/fixtures/roots/rockpis-6.17)
# this test writes. On "leaky", unreclaimable slab and filp objects grow and
# MemAvailable falls at 100 MiB/day; "healthy" stays flat. Between polls the test
# rewrites the leaky board's /proc/meminfo, /proc/slabinfo and file-nr.
#
# The leak analysis bins a boot into 10-minute medians after a 45-minute warm-up and
# needs 8 bins at least (src/server/analysis/leak.c), on the poll times the server
# stamps; no [alerts] setting shortens that. So each board's boot so far (5 h, one
# sample per 5 min) is imported first, written by the same soakd (--once) over the
# same tree at each past time; the live polls continue that boot. Only the server's
# own evaluation raises alerts (import never does): the test asserts that
# leak_suspected and exhaustion open for leaky, through `soak alerts` and
# /api/v1/alerts, and that healthy raises none.
set -u
. "$SOAK_SRC/tests/lib/tap.sh"

SOAK=$SOAK_BUILD/src/server/soak
SOAKD=$SOAK_BUILD/src/agent/soakd
tap_workdir t063

command -v python3 >/dev/null || skip_all "python3 not installed"
command -v curl >/dev/null || skip_all "curl not installed"
"$SOAK" alerts --help >/dev/null 2>&1 || skip_all "soak alerts is not available in this build"

# board.py MODE ...: the boards' /proc files over time.
#   history ROOT OUT BOOT LEAK: OUT = OpenMetrics of the boot from BOOT + 5 min to now - 30 s,
#       every 5 min, from `soakd --once --root ROOT` run on ROOT rewritten for each time
#   live ROOT BOOT LEAK: rewrite ROOT for the current time every 0.3 s, until killed
cat >"$WORK/board.py" <<'EOF'
import os, subprocess, sys, time

RATE = 100 * 1024 * 1024 / 86400.0  # bytes per second (100 MiB/day)
FILP = 192                           # filp object size

def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)  # soakd never reads half a file

def render(root, boot, t, leak):
    up = t - boot
    grown = RATE * up if leak else 0.0
    wobble = 40960 * ((int(t) // 60) % 3)  # a little noise, not a trend
    avail = 150e6 - grown - wobble
    sunreclaim = 20e6 + grown + wobble / 4
    filp = 2000 + int(grown / FILP)
    with open(os.path.join(root, "proc/meminfo")) as f:
        lines = f.read().splitlines()
    out = []
    for l in lines:
        k = l.split(":")[0]
        if k == "MemAvailable":
            l = "MemAvailable:   %8d kB" % (avail / 1024)
        elif k == "SUnreclaim":
            l = "SUnreclaim:     %8d kB" % (sunreclaim / 1024)
        out.append(l)
    write(os.path.join(root, "proc/meminfo"), "\n".join(out) + "\n")
    with open(os.path.join(root, "proc/slabinfo")) as f:
        lines = f.read().splitlines()
    out = []
    for l in lines:
        if l.startswith("filp "):
            slabs = (filp + 20) // 21
            l = ("filp %6d %6d %4d %4d %4d : tunables 0 0 0 : slabdata %6d %6d 0"
                 % (filp, slabs * 21, FILP, 21, 1, slabs, slabs))
        out.append(l)
    write(os.path.join(root, "proc/slabinfo"), "\n".join(out) + "\n")
    write(os.path.join(root, "proc/sys/fs/file-nr"), "%d\t0\t22422\n" % (filp + 800))
    write(os.path.join(root, "proc/uptime"), "%.2f %.2f\n" % (up, up * 0.9))

def prep(root, boot, boot_id):
    p = os.path.join(root, "proc/stat")
    with open(p) as f:
        lines = f.read().splitlines()
    lines = ["btime %d" % boot if l.startswith("btime ") else l for l in lines]
    write(p, "\n".join(lines) + "\n")
    write(os.path.join(root, "proc/sys/kernel/random/boot_id"), boot_id + "\n")

def history(soakd, root, out, boot, leak):
    fams, order = {}, []
    t, end = boot + 300, int(time.time()) - 30
    while t <= end:
        render(root, boot, t, leak)
        text = subprocess.run([soakd, "--root", root, "--once"], check=True,
                              capture_output=True, text=True).stdout
        fam = None
        for l in text.splitlines():
            if l.startswith("# TYPE ") or l.startswith("# HELP "):
                fam = l.split()[2]
                if fam not in fams:
                    fams[fam] = ([], [])
                    order.append(fam)
                if l not in fams[fam][0]:
                    fams[fam][0].append(l)
            elif l and not l.startswith("#") and fam:
                fams[fam][1].append("%s %d" % (l, t))
        t += 300
    with open(out, "w") as f:
        for name in order:
            meta, samples = fams[name]
            f.write("\n".join(meta + samples) + "\n")
        f.write("# EOF\n")

def live(root, boot, leak):
    while True:
        render(root, boot, time.time(), leak)
        time.sleep(0.3)

mode = sys.argv[1]
if mode == "prep":
    prep(sys.argv[2], int(sys.argv[3]), sys.argv[4])
elif mode == "history":
    history(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6] == "1")
else:
    live(sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1")
EOF

# --- the boards: booted 5 h ago, their boot so far in the store
BOOT=$(($(date +%s) - 5 * 3600))
DB=$WORK/farm.db
for b in leaky healthy; do
    mkdir -p "$WORK/roots"
    cp -R "$SOAK_SRC/tests/fixtures/roots/rockpis-6.17" "$WORK/roots/$b"
    chmod -R u+w "$WORK/roots/$b"
    rm -f "$WORK/roots/$b"/sys/fs/pstore/* # the fixture's crash records would raise 'panic'
    leak=0
    [ "$b" = leaky ] && leak=1
    id=0000000$leak-7d43-4f0e-9b1a-2c3d4e5f6a7b
    python3 "$WORK/board.py" prep "$WORK/roots/$b" "$BOOT" "$id"
    check "$b: 5 h of its boot written by soakd --once" \
        python3 "$WORK/board.py" history "$SOAKD" "$WORK/roots/$b" "$WORK/$b.om" "$BOOT" "$leak"
    check "$b: history imported" "$SOAK" import -q --db "$DB" --device "$b" "$WORK/$b.om"
done
if [ "$("$SOAK" alerts --db "$DB" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["open"]))')" = 0 ]; then
    ok "no alert before the server ran (import raises none)"
else
    not_ok "no alert before the server ran"
fi

# --- live: soakd per board, the leaky board's files keep moving
for b in leaky healthy; do
    leak=0
    [ "$b" = leaky ] && leak=1
    python3 "$WORK/board.py" live "$WORK/roots/$b" "$BOOT" "$leak" &
    PIDS="$PIDS $!"
    if tap_start_soakd "$WORK/soakd-$b.log" --root "$WORK/roots/$b"; then
        PIDS="$PIDS $TAP_PID"
        eval "port_$b=$TAP_PORT"
        ok "$b: soakd serves its tree"
    else
        not_ok "$b: soakd serves its tree"
        tap_done
        exit 1
    fi
done
webport=$(free_port)
cat >"$WORK/farm.conf" <<EOF
[server]
store = sqlite:$DB
listen = 127.0.0.1:$webport
interval = 1

[alerts]
leak_every = 1
exhaustion_days = 7

[device leaky]
url = http://127.0.0.1:$port_leaky

[device healthy]
url = http://127.0.0.1:$port_healthy
EOF
"$SOAK" server --config "$WORK/farm.conf" >"$WORK/server.log" 2>&1 &
server_pid=$!
PIDS="$PIDS $server_pid"

# open_alerts DEVICE: the names of DEVICE's open alerts, sorted, comma-separated.
open_alerts() {
    "$SOAK" alerts --db "$DB" --json 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin)
print(",".join(sorted(a["alert"] for a in j["open"] if a["device"] == sys.argv[1])))' "$1"
}
# polls DEVICE: polls stored by the server (soak_poll_up samples).
polls() {
    "$SOAK" query --db "$DB" --device "$1" --metric soak_poll_up --csv 2>/dev/null | grep -c .
}

got=
i=0
while [ $i -lt 60 ]; do
    got=$(open_alerts leaky)
    case $got in *exhaustion*leak_suspected*) break ;; esac
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.5
    i=$((i + 1))
done
if [ "$got" = "exhaustion,leak_suspected" ]; then
    ok "leaky: leak_suspected and exhaustion are open (soak alerts)"
else
    not_ok "leaky: leak_suspected and exhaustion are open (soak alerts)" "open: '$got'" \
        "$(tail -n 20 "$WORK/server.log")"
fi
# A few more polls of both boards, each followed by a leak evaluation (leak_every = 1 s).
p0=$(polls healthy)
i=0
while [ $i -lt 40 ] && [ "$(polls healthy)" -lt $((p0 + 3)) ]; do
    sleep 0.25
    i=$((i + 1))
done
check "healthy: polled 3 more times after that" test "$(polls healthy)" -ge $((p0 + 3))
check "healthy: no alert open" test -z "$(open_alerts healthy)"
"$SOAK" alerts --db "$DB" --json >"$WORK/alerts.json" 2>/dev/null
check "healthy: no alert in the recent notifications either" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(1 if [a for a in j["recent"] if a["device"] == "healthy"] else 0)' "$WORK/alerts.json"
check "the leak alert says where and how fast" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
s = [a["summary"] for a in j["open"] if a["device"] == "leaky" and a["alert"] == "leak_suspected"]
sys.exit(0 if s and "leak in" in s[0] and "MB/day" in s[0] else 1)' "$WORK/alerts.json"
check "the exhaustion alert gives days" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
s = [a["summary"] for a in j["open"] if a["device"] == "leaky" and a["alert"] == "exhaustion"]
sys.exit(0 if s and "memory exhausted in" in s[0] and "days" in s[0] else 1)' "$WORK/alerts.json"
check "soak alerts --device healthy exits 0 (nothing open)" \
    sh -c "'$SOAK' alerts --db '$DB' --device healthy >/dev/null"
"$SOAK" leak --db "$DB" --device leaky --json >"$WORK/leak.json" 2>/dev/null
check "the live polls continue the imported boot (one segment, data of the last seconds)" \
    python3 -c '
import json, sys, time
j = json.load(open(sys.argv[1]))
s = j["segments"]
sys.exit(0 if len(s) == 1 and s[0]["leak"] and s[0]["end"] > time.time() - 15 else 1)' "$WORK/leak.json"
"$SOAK" alerts --db "$DB" --device leaky >/dev/null 2>&1
check "soak alerts --device leaky exits 1 (alerts open)" test $? -eq 1
check "/api/v1/alerts lists the same two, for leaky only" sh -c "
    curl -s http://127.0.0.1:$webport/api/v1/alerts | python3 -c '
import json, sys
j = json.load(sys.stdin)
sys.exit(0 if sorted((a[\"device\"], a[\"alert\"]) for a in j[\"alerts\"])
         == [(\"leaky\", \"exhaustion\"), (\"leaky\", \"leak_suspected\")] else 1)'"
tap_done
