#!/bin/sh
# soakd's /history: the contract the server's poller relies on (headers, since=,
# limit=, More), OpenMetrics that Prometheus's own parser accepts, and /info's view
# of the ring. The ring records every second here ([history] interval = 1).
. "$(dirname "$0")/t-02x-lib.sh"
need_promtool

printf '[agent]\ninterval = 1\n[history]\ninterval = 1\n' >"$WORK/soakd.conf"
if ! start_soakd "$WORK/soakd.log" --config "$WORK/soakd.conf"; then
    not_ok "soakd starts"
    done_testing
    exit 1
fi
newest=$(wait_for_seq 4) # 4, so that limit=3 from 0 always leaves more
check "the ring holds 3 records after 3 ticks (newest $newest)" [ "$newest" -ge 3 ]

fetch '/history' "$WORK/all.om" "$WORK/all.h"
check "/history: 200" grep -q '^HTTP/1.1 200' "$WORK/all.h"
check "content type is OpenMetrics 1.0.0" [ "$(header "$WORK/all.h" Content-Type)" = \
    "application/openmetrics-text; version=1.0.0; charset=utf-8" ]
check "X-Soak-Seq-Oldest is 1" [ "$(header "$WORK/all.h" X-Soak-Seq-Oldest)" = 1 ]
n_all=$(header "$WORK/all.h" X-Soak-Seq-Newest)
check "X-Soak-Seq-Newest >= 3 ($n_all)" [ "$n_all" -ge 3 ]
rid=$(header "$WORK/all.h" X-Soak-Ring-Id)
check "X-Soak-Ring-Id is 16 hex digits ($rid)" sh -c "echo '$rid' | grep -Eq '^[0-9a-f]{16}$'"
check "no X-Soak-More when everything fits" [ -z "$(header "$WORK/all.h" X-Soak-More)" ]
check "the reply ends with # EOF" [ "$(tail -n 1 "$WORK/all.om")" = "# EOF" ]
check "timestamps are seconds with milliseconds" \
    grep -Eq '^node_load1 0.42 [0-9]{10}\.[0-9]{3}$' "$WORK/all.om"
check "the agent's own RSS is recorded" grep -q '^process_resident_memory_bytes ' "$WORK/all.om"
python3 - "$WORK/all.om" >"$WORK/shape.out" 2>&1 <<'PY'
import sys
fams, last, cur, series_ts, seen_series = set(), None, None, {}, []
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line == "# EOF":
        break
    if line.startswith("# TYPE "):
        cur = line.split()[2]
        assert cur not in fams, "family %s is not contiguous" % cur
        fams.add(cur)
        continue
    key, value, ts = line.rsplit(" ", 2)
    assert key.split("{")[0].startswith(cur), "%s outside its family %s" % (key, cur)
    if key != last:
        assert key not in series_ts, "series %s is not contiguous" % key
        last = key
    t = float(ts)
    assert series_ts.get(key, 0) < t, "series %s out of time order" % key
    series_ts[key] = t
print("ok %d families %d series" % (len(fams), len(series_ts)))
PY
check "families and series contiguous, samples in time order ($(cat "$WORK/shape.out"))" \
    grep -q '^ok ' "$WORK/shape.out"
rm -rf "$WORK/tsdb"
promtool tsdb create-blocks-from openmetrics "$WORK/all.om" "$WORK/tsdb" >"$WORK/tsdb.out" 2>&1
check "promtool's OpenMetrics importer accepts /history" [ $? -eq 0 ]

# since= returns exactly the newer records: records 2..3 are records 1..3 minus record 1.
fetch '/history?since=0&limit=3' "$WORK/r123.om" "$WORK/r123.h"
fetch '/history?since=1&limit=2' "$WORK/r23.om" "$WORK/r23.h"
check "limit=3 from 0: newest is 3" [ "$(header "$WORK/r123.h" X-Soak-Seq-Newest)" = 3 ]
check "limit cut the reply: X-Soak-More: 1" [ "$(header "$WORK/r123.h" X-Soak-More)" = 1 ]
ts1=$(grep '^node_load1 ' "$WORK/r123.om" | head -n 1 | awk '{print $3}')
check "three records, one timestamp each" [ "$(grep -c '^node_load1 ' "$WORK/r123.om")" = 3 ]
grep -v '^#' "$WORK/r123.om" | awk -v t="$ts1" '$NF != t' | sort >"$WORK/want"
grep -v '^#' "$WORK/r23.om" | sort >"$WORK/got"
check "since=1 returns exactly the samples of records 2 and 3" cmp -s "$WORK/want" "$WORK/got"
check "... and they are not empty" [ -s "$WORK/got" ]
fetch '/history?since=2&limit=1' "$WORK/r3.om" "$WORK/r3.h"
check "since=2&limit=1: newest is 3" [ "$(header "$WORK/r3.h" X-Soak-Seq-Newest)" = 3 ]
check "one record: every sample has the same timestamp" \
    [ "$(grep -v '^#' "$WORK/r3.om" | awk '{print $NF}' | sort -u | wc -l)" = 1 ]
fetch '/history?since=999999' "$WORK/none.om" "$WORK/none.h"
check "nothing newer: newest equals since" [ "$(header "$WORK/none.h" X-Soak-Seq-Newest)" = 999999 ]
check "nothing newer: only # EOF" [ "$(cat "$WORK/none.om")" = "# EOF" ]
check "the ring id is stable" [ "$(header "$WORK/none.h" X-Soak-Ring-Id)" = "$rid" ]
check "HEAD /history: 200" [ "$(http_status /history -I)" = 200 ]

curl -s "http://127.0.0.1:$PORT/info" >"$WORK/info.json"
check "/info shows the ring" python3 -c "import json,sys; h=json.load(open('$WORK/info.json'))['history'];
sys.exit(not (h['oldest_seq']==1 and h['newest_seq']>=3 and h['ring_id']=='$rid'))"

stop_soakd
check "soakd stops cleanly" [ $? -eq 0 ]
done_testing
