#!/bin/sh
# soak import / export / devices / query on SQLite: round trip, idempotent re-import,
# Prometheus text with ms timestamps, stdin, broken files leave nothing behind.
. "$SOAK_SRC/tests/integration/t-04x-lib.sh"
DB="$WORK/farm.db"

for c in import export devices query retention; do
    if "$SOAK" "$c" --help >"$WORK/help" 2>&1 && grep -q "Usage: soak $c" "$WORK/help"; then
        ok "soak $c --help"
    else
        not_ok "soak $c --help" "$(cat "$WORK/help")"
    fi
done

write_om "$WORK/a.om" 500 1760000000
check "import an OpenMetrics file" "$SOAK" import --db "$DB" --device rockpis-1 "$WORK/a.om"
expect_grep "summary counts what was read and added" "1500 samples read, 1500 added, 0 duplicates, 3 series" "$WORK/.out"
check "import the same file again" "$SOAK" import --db "$DB" --device rockpis-1 "$WORK/a.om"
expect_grep "second import adds nothing" "1500 samples read, 0 added, 1500 duplicates" "$WORK/.out"

"$SOAK" export --db "$DB" --device rockpis-1 >"$WORK/e1.om" 2>"$WORK/err"
expect_eq "export has every sample" 1500 "$(grep -vc '^#' "$WORK/e1.om")"
expect_eq "export ends with # EOF" "# EOF" "$(tail -n 1 "$WORK/e1.om")"
check "exported text imports into a new database" "$SOAK" import --db "$WORK/copy.db" --device rockpis-1 "$WORK/e1.om"
"$SOAK" export --db "$WORK/copy.db" --device rockpis-1 >"$WORK/e2.om"
if cmp -s "$WORK/e1.om" "$WORK/e2.om"; then ok "export of the copy is identical"; else not_ok "export of the copy is identical" "$(diff "$WORK/e1.om" "$WORK/e2.om" | head -5)"; fi
expect_grep "escaped label values survive" 'label="a \\"q\\" \\\\ b"' "$WORK/e1.om"

# A time window, in unix seconds and RFC 3339.
"$SOAK" export --db "$DB" --device rockpis-1 --from 1760000600 --to 2025-10-09T11:05:20.5+02:00 >"$WORK/w.om"
expect_eq "export --from/--to selects the window (inclusive)" 3 "$(grep -c '^node_memory' "$WORK/w.om")"

# Prometheus text with millisecond timestamps, from stdin, another device.
printf '# TYPE up gauge\nup{job="x"} 1 1760000000000\nup{job="x"} 0 1760000060000\nup 1 1760000000123\n' |
    "$SOAK" import --db "$DB" --device zero3e - >"$WORK/.out" 2>&1
expect_grep "Prometheus text on stdin" "3 samples read, 3 added" "$WORK/.out"
"$SOAK" query --db "$DB" --device zero3e --metric 'up{job="x"}' --csv >"$WORK/q.csv"
expect_eq "query --csv" 'time,series,value
1760000000.000,"up{job=""x""}",1
1760000060.000,"up{job=""x""}",0' "$(cat "$WORK/q.csv")"
"$SOAK" query --db "$DB" --device zero3e --metric up --json >"$WORK/q.json"
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["series"]; assert len(s)==2, s; assert s[0]["key"]=="up" and s[0]["samples"]==[[1760000000.123,1]], s; assert s[1]["labels"]=={"job":"x"}' "$WORK/q.json"; then
    ok "query --json"
else
    not_ok "query --json" "$(cat "$WORK/q.json")"
fi
"$SOAK" devices --db "$DB" --json >"$WORK/d.json"
if python3 -c 'import json,sys; d={x["name"]: x for x in json.load(open(sys.argv[1]))}; r=d["rockpis-1"]; assert r["series"]==3 and r["first"]==1760000000.0 and r["last"]==1760000000+499*60+0.499, r; assert d["zero3e"]["series"]==2' "$WORK/d.json"; then
    ok "devices --json: series and time range"
else
    not_ok "devices --json: series and time range" "$(cat "$WORK/d.json")"
fi
"$SOAK" devices --db "$DB" >"$WORK/d.txt"
expect_grep "devices table" "rockpis-1 .* 3  2025-10-09T08:53:20Z" "$WORK/d.txt"

# A broken file: clear FILE:LINE error, exit 1, nothing of it imported (the good file still is).
write_om "$WORK/b.om" 300 1770000000
sed -i '450s/.*/soak_sensor_celsius{sensor="soc} 41 1770000000/' "$WORK/b.om"
write_om "$WORK/good.om" 10 1780000000
"$SOAK" import --db "$DB" --device rockpis-2 "$WORK/b.om" "$WORK/good.om" >"$WORK/.out" 2>&1
expect_eq "broken file: exit 1" 1 $?
expect_grep "broken file: FILE:LINE: reason" "b.om:450: .*unterminated value of label 'sensor'" "$WORK/.out"
expect_grep "the next file is still imported" "good.om: 30 samples read, 30 added" "$WORK/.out"
expect_eq "nothing of the broken file is stored" 30 "$("$SOAK" export --db "$DB" --device rockpis-2 | grep -vc '^#')"
# Truncated OpenMetrics (no # EOF) and a sample without a timestamp.
head -n 100 "$WORK/a.om" >"$WORK/t.om"
"$SOAK" import --db "$DB" --device rockpis-3 "$WORK/t.om" >"$WORK/.out" 2>&1
expect_grep "truncated OpenMetrics is refused" "t.om:101: missing '# EOF'" "$WORK/.out"
printf 'x 1\n' | "$SOAK" import --db "$DB" --device rockpis-3 - >"$WORK/.out" 2>&1
expect_grep "a sample without timestamp is refused" "<stdin>:1: sample of 'x' has no timestamp" "$WORK/.out"
"$SOAK" devices --db "$DB" --json >"$WORK/d.json"
if python3 -c 'import json,sys; d={x["name"]: x for x in json.load(open(sys.argv[1]))}; assert "rockpis-3" not in d, d' "$WORK/d.json"; then
    ok "a failed import does not even create the device"
else
    not_ok "a failed import does not even create the device" "$(cat "$WORK/d.json")"
fi
# The progress line: shown when stderr is a terminal and the input is large or of unknown
# size (a FIFO here, written in two parts with a pause between them).
if command -v script >/dev/null 2>&1; then
    mkfifo "$WORK/fifo"
    (head -n 700 "$WORK/a.om"; sleep 1; tail -n +701 "$WORK/a.om") >"$WORK/fifo" &
    script -qec "'$SOAK' import --db '$WORK/p.db' --device p '$WORK/fifo'" /dev/null >"$WORK/tty.out" 2>&1
    wait
    expect_grep "progress line on a terminal" "fifo: [0-9]* samples  [0-9]* added" "$WORK/tty.out"
    expect_grep "then the summary" "fifo: 1500 samples read, 1500 added" "$WORK/tty.out"
    "$SOAK" import --db "$WORK/p2.db" --device p "$WORK/a.om" >"$WORK/notty.out" 2>&1
    if grep -q "samples  " "$WORK/notty.out"; then not_ok "no progress line when stderr is not a terminal"; else ok "no progress line when stderr is not a terminal"; fi
else
    ok "progress line on a terminal # SKIP script(1) not installed"
fi

# Retention: keep 6 h before --now, one sample per 10 min beyond 2 h.
check "import for retention" "$SOAK" import --db "$WORK/r.db" --device r "$WORK/a.om"
check "soak retention" "$SOAK" retention --db "$WORK/r.db" --now 1760030000 --keep 6h --downsample-after 2h --step 10m
"$SOAK" query --db "$WORK/r.db" --device r --metric node_memory_MemAvailable_bytes --csv | tail -n +2 | cut -d. -f1 >"$WORK/r1"
if python3 -c '
import sys
t = [int(x) for x in open(sys.argv[1])]
assert min(t) >= 1760030000 - 6 * 3600, min(t)
old = [x for x in t if x < 1760030000 - 2 * 3600]
new = [x for x in t if x >= 1760030000 - 2 * 3600]
assert len(new) == 120, len(new)
assert 23 <= len(old) <= 25, len(old)
assert len(set(x // 600 for x in old)) == len(old)
' "$WORK/r1"; then ok "retention dropped and downsampled"; else not_ok "retention dropped and downsampled" "$(wc -l <"$WORK/r1") samples left"; fi
"$SOAK" retention --db "$WORK/r.db" --now 1760030000 --keep 6h --downsample-after 2h --step 10m
"$SOAK" query --db "$WORK/r.db" --device r --metric node_memory_MemAvailable_bytes --csv | tail -n +2 | cut -d. -f1 >"$WORK/r2"
if cmp -s "$WORK/r1" "$WORK/r2"; then ok "retention again changes nothing"; else not_ok "retention again changes nothing"; fi
"$SOAK" retention --db "$WORK/r.db" --keep 1h --downsample-after 2h --step 10m >/dev/null 2>&1
expect_eq "retention: downsample-after beyond keep is a usage error" 2 $?
"$SOAK" retention --db "$WORK/typo.db" --keep 30d >/dev/null 2>&1
expect_eq "retention on a missing store is an error (exit 1)" 1 $?
check "retention on a missing store does not create it" test ! -e "$WORK/typo.db"
"$SOAK" retention --db "$WORK/r.db" --keep 30 >/dev/null 2>&1
expect_eq "retention: a duration without a unit is a usage error" 2 $?

"$SOAK" import --db "$DB" "$WORK/a.om" >/dev/null 2>&1
expect_eq "usage error: exit 2" 2 $?
"$SOAK" export --db "$DB" --device nosuch >/dev/null 2>"$WORK/.out"
expect_grep "export of an unknown device is an error" "not in the store" "$WORK/.out"
for c in devices "export --device x" "query --device x --metric m"; do
    # shellcheck disable=SC2086
    "$SOAK" $c --db "$WORK/typo.db" >/dev/null 2>"$WORK/.out"
    expect_eq "soak $c on a missing database: exit 1" 1 $?
    expect_grep "soak $c on a missing database: named, not created" "typo.db: no such store" "$WORK/.out"
done
expect_eq "a missing database is not created by reading it" no "$([ -e "$WORK/typo.db" ] && echo yes || echo no)"
done_testing
