#!/bin/sh
# Events derived from imported data: `soak import` (and `soak events --rebuild`) finds the
# reboot, the build change, the OOM kill (across a counter reset), the panic and the
# interface and sensor changes, exactly once however often it runs; --json and --kind.
. "$(dirname "$0")/t-05x-lib.sh"

"$SOAK" import --help >/dev/null 2>&1 || skip_all "soak import is not built yet"
DB="$WORK/imp.db"
python3 - "$WORK/trace.om" <<'PY'
import sys
t0 = 1764000000
out = []
def fam(name, typ):
    out.append("# TYPE %s %s" % (name, typ))
rows = {}
for i in range(12):
    t = t0 + 60 * i
    boot = "b1" if i < 6 else "b2"
    build = "6.12.55" if i < 6 else "6.17.6"
    rows.setdefault("soak_boot_info", []).append('soak_boot_info{boot_id="%s"} 1 %d' % (boot, t))
    rows.setdefault("soak_build_info", []).append('soak_build_info{build="%s"} 1 %d' % (build, t))
    oom = [0, 0, 0, 2, 2, 2, 0, 0, 1, 1, 1, 1][i]
    rows.setdefault("node_vmstat_oom_kill", []).append("node_vmstat_oom_kill %d %d" % (oom, t))
    pst = 0 if i < 6 else 1
    rows.setdefault("soak_pstore_records", []).append('soak_pstore_records{type="dmesg"} %d %d' % (pst, t))
    up = 1 if i != 9 else 0
    rows.setdefault("soak_sensor_up", []).append('soak_sensor_up{sensor="bh1750"} %d %d' % (up, t))
    eth = 1 if i < 10 else 0
    rows.setdefault("node_network_up_eth0", []).append('node_network_up{device="eth0"} %d %d' % (eth, t))
for name, typ in (("soak_boot_info", "gauge"), ("soak_build_info", "gauge"),
                  ("node_vmstat_oom_kill", "gauge"), ("soak_pstore_records", "gauge"),
                  ("soak_sensor_up", "gauge"), ("node_network_up_eth0", "gauge")):
    fam(name.replace("_eth0", ""), typ)
    out.extend(rows[name])
out.append("# EOF")
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
"$SOAK" import --db "$DB" --device rockpis-1 "$WORK/trace.om" >/dev/null 2>"$WORK/import.err"
check "the trace imports" [ $? -eq 0 ]
check "soak import derives the events itself" grep -q "rockpis-1: [0-9]* event(s) derived" "$WORK/import.err"
"$SOAK" events --db "$DB" --device rockpis-1 --rebuild >"$WORK/rebuild1" 2>&1
check "--rebuild exits 0" [ $? -eq 0 ]
check "--rebuild after the import adds nothing" grep -q ': 0 event(s) added' "$WORK/rebuild1"
"$SOAK" events --db "$DB" --device rockpis-1 --json >"$WORK/ev.json"
kinds=$(python3 -c "import json; print(' '.join(e['kind'] for e in json.load(open('$WORK/ev.json'))['events']))")
echo "# events: $kinds"
has() { python3 -c "import json,sys; e=json.load(open('$WORK/ev.json'))['events']; sys.exit(not any($1 for x in e))"; }
check "the build change is found" has "x['kind']=='build_change' and x['subject']=='6.17.6' and x['detail']=='6.12.55'"
check "the reboot is found, as an update (value 1)" has "x['kind']=='reboot' and x['subject']=='b2' and x['value']==1"
check "the OOM kill before the reboot is found (2 kills)" has "x['kind']=='oom_kill' and x['value']==2 and x['time']==1764000180"
check "the OOM kill after the counter reset is found (1 kill)" has "x['kind']=='oom_kill' and x['value']==1 and x['time']==1764000480"
check "the panic record on the new boot is found" has "x['kind']=='panic' and x['time']==1764000360"
check "the sensor loss is found" has "x['kind']=='sensor_lost' and x['subject']=='bh1750' and x['time']==1764000540"
check "the sensor's return is found" has "x['kind']=='sensor_back' and x['subject']=='bh1750' and x['time']==1764000600"
check "the interface loss is found" has "x['kind']=='iface_change' and x['subject']=='-eth0'"
n1=$(python3 -c "import json; print(len(json.load(open('$WORK/ev.json'))['events']))")
"$SOAK" events --db "$DB" --device rockpis-1 --rebuild >"$WORK/rebuild2" 2>&1
check "a second --rebuild adds nothing" grep -q ': 0 event(s) added' "$WORK/rebuild2"
n2=$("$SOAK" events --db "$DB" --device rockpis-1 --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)['events']))")
check "the event count is unchanged ($n1 = $n2)" [ "$n1" -eq "$n2" ]
"$SOAK" events --db "$DB" --device rockpis-1 --kind oom_kill >"$WORK/oom.txt"
check "--kind filters (2 OOM kill lines)" [ "$(wc -l <"$WORK/oom.txt")" -eq 2 ]
"$SOAK" events --db "$DB" --kind bogus >/dev/null 2>&1
check "an unknown --kind exits 2" [ $? -eq 2 ]

done_testing
