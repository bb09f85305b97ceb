#!/bin/sh
# soakd's command line: --once on a root with no config, --help/--version, exit codes,
# configuration errors reported with file:line.
. "$(dirname "$0")/t-02x-lib.sh"
need_promtool

out="$WORK/once.prom"
"$SOAKD" --root "$ROOT" --once >"$out" 2>"$WORK/once.err"
check "--once exits 0 with no config" [ $? -eq 0 ]
check "--once prints the collectors' samples" grep -q '^node_memory_MemTotal_bytes 235147264$' "$out"
check "--once reports each collector" grep -q '^soak_collector_up{collector="meminfo"} 1$' "$out"
check "--once counts a collector that cannot read its file" \
    grep -q '^soak_collector_errors_total{collector="slabinfo"} 1$' "$out"
check "--once carries the agent's version" grep -q '^soak_agent_info{version="' "$out"
check "promtool accepts the --once exposition" promtool_ok "$out"
"$SOAKD" --root "$ROOT" --once 2>/dev/null | grep -v '^node_time_seconds' >"$WORK/a"
"$SOAKD" --root "$ROOT" --once 2>/dev/null | grep -v '^node_time_seconds' >"$WORK/b"
check "--once is reproducible (no RSS or durations)" cmp -s "$WORK/a" "$WORK/b"

"$SOAKD" --help >"$WORK/help" 2>&1
check "--help exits 0" [ $? -eq 0 ]
check "--help documents the exit codes" grep -q '2 usage or' "$WORK/help"
check "--version prints the version" sh -c "'$SOAKD' --version | grep -q '^soakd [0-9]'"
"$SOAKD" --bogus >/dev/null 2>&1
check "an unknown option exits 2" [ $? -eq 2 ]
"$SOAKD" --once extra >/dev/null 2>&1
check "a stray argument exits 2" [ $? -eq 2 ]

printf '[agent]\ninterval = 5\n\n[collector.meminfo]\nbogus_key = 1\n' >"$WORK/bad.conf"
"$SOAKD" --config "$WORK/bad.conf" --root "$ROOT" --once >/dev/null 2>"$WORK/bad.err"
check "an unknown collector key exits 2" [ $? -eq 2 ]
check "the error names file and line" grep -q "bad.conf:5: unknown key 'bogus_key'" "$WORK/bad.err"
printf '[collector.nosuch]\nenabled = yes\n' >"$WORK/bad2.conf"
"$SOAKD" --config "$WORK/bad2.conf" --once >/dev/null 2>"$WORK/bad2.err"
check "an unknown collector exits 2" [ $? -eq 2 ]
check "the error names the collector" grep -q "no collector named 'nosuch'" "$WORK/bad2.err"
"$SOAKD" --config "$WORK/missing.conf" --once >/dev/null 2>&1
check "a missing config file exits 2" [ $? -eq 2 ]
"$SOAKD" --config "$WORK" --root "$ROOT" --once >/dev/null 2>"$WORK/dir.err"
check "a directory as config exits 2" [ $? -eq 2 ]
check "a directory as config is named" grep -q "cannot read: Is a directory" "$WORK/dir.err"
printf '[agent\ninterval = 5\n' >"$WORK/bad3.conf"
"$SOAKD" --config "$WORK/bad3.conf" --root "$ROOT" --once >/dev/null 2>"$WORK/bad3.err"
check "a section header without ']' is a syntax error on its line" \
    sh -c "grep -q 'bad3.conf:1: syntax error' '$WORK/bad3.err' && ! grep -q 'unknown' '$WORK/bad3.err'"
"$SOAKD" --root "$ROOT" --listen nonsense >/dev/null 2>&1
check "a bad --listen exits 2" [ $? -eq 2 ]
"$SOAKD" --root "$WORK/nosuch" --once >"$WORK/noroot.prom" 2>"$WORK/noroot.err"
check "a missing --root exits 2" [ $? -eq 2 ]
check "a missing --root is named, nothing printed on stdout" \
    sh -c "grep -q 'root $WORK/nosuch: No such file or directory' '$WORK/noroot.err' && ! [ -s '$WORK/noroot.prom' ]"

printf '[collector.meminfo]\nenabled = no\n' >"$WORK/off.conf"
"$SOAKD" --config "$WORK/off.conf" --root "$ROOT" --once >"$WORK/off.prom" 2>/dev/null
check "a disabled collector is not run" sh -c "! grep -q '^node_memory_' '$WORK/off.prom' &&
    ! grep -q 'collector=\"meminfo\"' '$WORK/off.prom'"

# contrib/soakd.conf documents every option: as shipped and with every option
# uncommented (the secrets and paths that must exist left out), soakd accepts it.
conf="$SOAK_SRC/contrib/soakd.conf"
"$SOAKD" --config "$conf" --root "$ROOT" --once >/dev/null 2>"$WORK/contrib.err"
check "contrib/soakd.conf as shipped is accepted" [ $? -eq 0 ]
sed -e 's/^;\([a-z_]* = \)/\1/' -e 's/^;\[sensor/[sensor/' \
    -e '/^token = /d' -e '/^token_file = /d' -e '/^persist = /d' -e '/^rauc_status_file = /d' \
    -e '/^root = /d' -e 's/^start_wait = .*/start_wait = 0/' "$conf" >"$WORK/all.conf"
check "contrib/soakd.conf uncommented has many options" [ "$(grep -c '^[a-z_]* = ' "$WORK/all.conf")" -gt 40 ]
"$SOAKD" --config "$WORK/all.conf" --root "$ROOT" --once >/dev/null 2>"$WORK/all.err"
check "every option of contrib/soakd.conf is accepted" [ $? -eq 0 ]

done_testing
