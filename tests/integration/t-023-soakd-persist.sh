#!/bin/sh
# soakd's persisted ring: written at [history] persist_interval and on exit, reloaded
# at start-up with the same ring id and SEQs; a corrupt file is logged and ignored.
. "$(dirname "$0")/t-02x-lib.sh"

ring="$WORK/ring.dat"
printf '[agent]\ninterval = 1\n[history]\ninterval = 1\npersist = %s\npersist_interval = 1\n' \
    "$ring" >"$WORK/soakd.conf"
if ! start_soakd "$WORK/log1" --config "$WORK/soakd.conf"; then
    not_ok "soakd starts"
    done_testing
    exit 1
fi
s1=$(wait_for_seq 3)
check "records accumulate ($s1)" [ "$s1" -ge 3 ]
i=0
while [ ! -s "$ring" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "the ring file is written at persist_interval" [ -s "$ring" ]
fetch /history "$WORK/before.om" "$WORK/before.h"
rid=$(header "$WORK/before.h" X-Soak-Ring-Id)
stop_soakd
check "soakd stops cleanly" [ $? -eq 0 ]
# (checked once stopped: while running, a write may be in progress at any moment)
check "no temporary file is left behind" [ ! -e "$ring.tmp" ]

start_soakd "$WORK/log2" --config "$WORK/soakd.conf"
fetch '/history?since=0&limit=1440' "$WORK/after.om" "$WORK/after.h"
check "after a restart the ring id is the same" [ "$(header "$WORK/after.h" X-Soak-Ring-Id)" = "$rid" ]
check "the old records are still there (oldest 1)" [ "$(header "$WORK/after.h" X-Soak-Seq-Oldest)" = 1 ]
n2=$(header "$WORK/after.h" X-Soak-Seq-Newest)
check "SEQs continue ($n2 >= $s1)" [ "$n2" -ge "$s1" ]
grep -v '^#' "$WORK/before.om" | sort >"$WORK/b"
grep -v '^#' "$WORK/after.om" | sort >"$WORK/a"
check "every sample served before the restart is served after it" \
    sh -c "[ -s '$WORK/b' ] && [ -z \"\$(comm -23 '$WORK/b' '$WORK/a')\" ]"
check "the reload is logged" grep -q 'history reloaded from' "$WORK/log2"
s3=$(wait_for_seq $((n2 + 1)))
check "recording goes on after the reload ($s3)" [ "$s3" -gt "$n2" ]
stop_soakd

# A corrupt file: logged, ignored, a fresh ring with a new id; never a crash.
printf 'SOAKRNG1 this is not a ring file' >"$ring"
start_soakd "$WORK/log3" --config "$WORK/soakd.conf"
check "soakd starts on a corrupt ring file" [ -n "$SOAKD_PID" ]
check "the corrupt file is reported" grep -q 'corrupt' "$WORK/log3"
s4=$(wait_for_seq 1)
fetch /history "$WORK/fresh.om" "$WORK/fresh.h"
check "the fresh ring has a new id" [ "$(header "$WORK/fresh.h" X-Soak-Ring-Id)" != "$rid" ]
check "the fresh ring records from SEQ 1 ($s4)" [ "$(header "$WORK/fresh.h" X-Soak-Seq-Oldest)" = 1 ]
stop_soakd
check "... and stops cleanly" [ $? -eq 0 ]

# An unwritable persist path: reported, the agent keeps serving.
printf '[history]\ninterval = 1\npersist = /nonexistent-dir/ring\npersist_interval = 1\n' \
    >"$WORK/bad.conf"
start_soakd "$WORK/log4" --config "$WORK/bad.conf"
i=0 # the first write is due after 1 s: wait for it (up to 10 s on a loaded machine)
while ! grep -q 'cannot write /nonexistent-dir/ring' "$WORK/log4" && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
check "an unwritable ring file is reported" grep -q 'cannot write /nonexistent-dir/ring' "$WORK/log4"
check "... and the agent still answers" [ "$(http_status /metrics)" = 200 ]
stop_soakd
done_testing
