#!/bin/sh
# node_exporter's own fixture tree: for every series that both soakd and
# node_exporter export (memory, load, filefd, slabinfo, thermal, oom_kill,
# hwmon temperatures), soakd must report node_exporter's value (e2e-output.txt).
set -u
: "${SOAK_SHARED:?}"
. "$SOAK_SRC/tests/integration/t-01x-lib.sh"

fixture="$SOAK_SHARED/fixtures/node-exporter"
if [ ! -f "$fixture/e2e-output.txt" ]; then
    echo "1..0 # SKIP $fixture absent (needs ../shared)"
    exit 0
fi
echo "1..3"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# The shared copy stores symlinks as small files holding the target path:
# turn them back into links (in a copy) so sysfs paths resolve as on a board.
cp -R "$fixture/proc" "$fixture/sys" "$tmp/"
chmod -R u+w "$tmp"
python3 - "$tmp" <<'PY'
import os, sys
top = sys.argv[1]
for d, _, files in os.walk(top):
    for f in files:
        p = os.path.join(d, f)
        if os.path.islink(p) or os.path.getsize(p) > 300:
            continue
        t = open(p, 'rb').read()
        if not t.startswith(b'../') or b'\n' in t:
            continue
        target = t.decode()
        if os.path.exists(os.path.join(d, target)):
            os.unlink(p)
            os.symlink(target, p)
PY
if [ $? -eq 0 ]; then
    echo "ok 1 - fixture tree copied, links restored"
else
    echo "not ok 1 - fixture copy"
fi

soak_collect "$tmp" >"$tmp/soak.prom"
if grep -q '^node_memory_MemTotal_bytes ' "$tmp/soak.prom"; then
    echo "ok 2 - soakd reads the fixture"
else
    echo "not ok 2 - soakd reads the fixture"
fi

python3 - "$fixture/e2e-output.txt" "$tmp/soak.prom" <<'PY'
import re, sys
SCOPE = re.compile(r'^(node_memory_(?!numa_)\w+|node_load(1|5|15)|node_filefd_\w+|'
                   r'node_slabinfo_\w+|node_thermal_zone_temp|node_vmstat_oom_kill|'
                   r'node_hwmon_temp_celsius)$')
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"')

def load(path):
    out = {}
    for line in open(path, encoding='utf-8', errors='replace'):
        if line.startswith('#'):
            continue
        m = LINE.match(line)
        if not m or not SCOPE.match(m.group(1)):
            continue
        labels = tuple(sorted(LABEL.findall(m.group(3) or '')))
        out[(m.group(1), labels)] = float(m.group(4))
    return out

ne, soak = load(sys.argv[1]), load(sys.argv[2])
bad, compared, missing = [], 0, []
for k, v in sorted(ne.items()):
    if k not in soak:
        missing.append(k)
        continue
    compared += 1
    if not (soak[k] == v or abs(soak[k] - v) <= 1e-9 * abs(v)):
        bad.append((k, v, soak[k]))
for k, v, s in bad:
    print('# mismatch %s%s: node_exporter %r soak %r' % (k[0], dict(k[1]), v, s))
for k in missing:
    print('# missing in soak: %s%s' % (k[0], dict(k[1])))
print('# compared %d series (node_exporter has %d in scope)' % (compared, len(ne)))
ok = not bad and not missing and compared > 0
print('%s 3 - %d series identical to node_exporter' % ('ok' if ok else 'not ok', compared))
PY
