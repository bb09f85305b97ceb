#!/bin/sh
# bench/vm-aarch64.sh BUILD_DIR: the static aarch64 soakd (make agent-aarch64) measured on a
# real aarch64 kernel, not under qemu-user (whose RSS is mostly qemu's own): Debian's arm64
# cloud kernel booted in qemu-system-aarch64 (virt machine, Cortex-A53, 256 MB like the
# story's rock-pi-s) with a small initramfs holding soakd, Debian's static busybox (arm64) and
# Debian's node_exporter (arm64, with the arm64 libc it links against). Inside the VM each
# agent runs alone, is scraped VM_SCRAPES times from the VM's own loopback, and its VmRSS and
# VmHWM are read from /proc/PID/status; VM_RUNS runs, medians. Two trees:
#   fixture  tests/fixtures/roots/rockpis-6.17 through --root / --path.* with the collector
#            set and interval of bench/agent.sh (the same figure as its x86_64 table)
#   board    the VM's own /proc and /sys, soakd with its defaults (no config), as on a board
# The native x86_64 soakd (the static build bench/agent.sh makes, else BUILD_DIR's) and
# x86_64 node_exporter run the fixture case on this machine for the side-by-side.
#
# Downloads (apt-get download, never committed) go to VM_DIR (default bench/out/vm-aarch64,
# gitignored). TCG emulates the CPU: timings in the VM mean nothing and are not reported.
# Writes bench/out/aarch64.md. Env: VM_RUNS=3, VM_SCRAPES=100, VM_PERIOD=0.2 (s), VM_MEM=256
# (MB), VM_DIR, A64_SOAKD (default BUILD_DIR/aarch64/soakd, built when missing), X86_SOAKD
# (default: bench/agent.sh's static build in BUILD_DIR, which bench/run.sh makes first as it
# runs the scripts in name order, else BUILD_DIR's soakd).
set -u
BUILD=${1:?usage: bench/vm-aarch64.sh BUILD_DIR}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/agent-set.inc
. "$HERE/agent-set.inc"
RUNS=${VM_RUNS:-3}
SCRAPES=${VM_SCRAPES:-100}
PERIOD=${VM_PERIOD:-0.2}
MEM=${VM_MEM:-256}
VM_DIR=${VM_DIR:-$HERE/out/vm-aarch64}
A64=${A64_SOAKD:-$BUILD/aarch64/soakd}
OUT="$HERE/out/aarch64.md"
FIXTURE="$SRC/tests/fixtures/roots/rockpis-6.17"
NE=/usr/bin/prometheus-node-exporter
WORK=$(mktemp -d "${TMPDIR:-/tmp}/soak-bench-a64.XXXXXX")
PID=
mkdir -p "$HERE/out" "$VM_DIR"
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

command -v qemu-system-aarch64 >/dev/null 2>&1 ||
    { echo "no qemu-system-aarch64: scripts/install-deps.sh bench (qemu-system-arm)" >&2; exit 1; }
if [ -n "${A64_SOAKD:-}" ]; then
    [ -x "$A64" ] || { echo "no $A64" >&2; exit 1; }
elif [ ! -x "$A64" ] || [ "$BUILD/src/agent/soakd" -nt "$A64" ]; then
    echo "building the static aarch64 soakd in $(dirname "$A64")..." >&2
    "$SRC/scripts/build-agent-aarch64.sh" "$(dirname "$A64")" >"$WORK/a64-build.log" 2>&1 ||
        { cat "$WORK/a64-build.log" >&2; exit 1; }
fi

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64 && apt-get update -qq || exit 1
fi
# Debian's arm64 packages, downloaded once: the cloud kernel (virt machine drivers built in),
# busybox-static for the VM's shell and wget, node_exporter and the libc it needs.
fetch() { # PACKAGE: download and unpack into VM_DIR/root-PACKAGE unless done
    [ -d "$VM_DIR/x-$1" ] && return 0
    (cd "$VM_DIR" && apt-get download "$1:arm64" >/dev/null 2>&1) || return 1
    mkdir -p "$VM_DIR/x-$1"
    dpkg-deb -x "$VM_DIR/$(ls -t "$VM_DIR" | grep "^${1}_.*_arm64.deb" | head -1)" "$VM_DIR/x-$1"
}
KPKG=$(apt-cache depends linux-image-cloud-arm64:arm64 2>/dev/null | awk '/Depends: linux-image-/ {sub(":arm64", "", $2); print $2; exit}')
[ -n "$KPKG" ] || { echo "cannot resolve linux-image-cloud-arm64 (dpkg --add-architecture arm64; apt-get update)" >&2; exit 1; }
for p in "$KPKG" busybox-static prometheus-node-exporter libc6; do
    fetch "$p" || { echo "apt-get download $p:arm64 failed" >&2; exit 1; }
done
KERNEL=$(ls "$VM_DIR/x-$KPKG"/boot/vmlinuz-* | head -1)
NE_A64="$VM_DIR/x-prometheus-node-exporter/usr/bin/prometheus-node-exporter"

# The initramfs.
R="$WORK/initramfs"
mkdir -p "$R/bin" "$R/lib" "$R/proc" "$R/sys" "$R/dev" "$R/tmp"
cp "$VM_DIR/x-busybox-static/bin/busybox" "$R/bin/busybox"
cp "$A64" "$R/soakd"
cp "$NE_A64" "$R/node_exporter"
for f in ld-linux-aarch64.so.1 libc.so.6; do
    cp "$(find "$VM_DIR/x-libc6" -type f -name "$f" | head -1)" "$R/lib/$f"
done
mkdir -p "$R/lib/aarch64-linux-gnu"
cp "$R/lib/libc.so.6" "$R/lib/aarch64-linux-gnu/"
cp -r "$FIXTURE" "$R/fixture"
soakd_bench_conf "$R/soakd-fixture.conf" "$PERIOD"
cat >"$R/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
ip link set lo up
echo "SOAKBENCH kernel \$(uname -r) \$(uname -m) MemTotal \$(awk '/^MemTotal/ {print \$2}' /proc/meminfo)"
up() { i=0; while [ \$i -lt 600 ]; do wget -q -O /dev/null "http://127.0.0.1:\$1/metrics" && return 0; sleep 0.2; i=\$((i + 1)); done; return 1; }
# measure NAME PORT CMD...: run CMD alone, scrape it, print its memory.
measure() {
    name=\$1; port=\$2; shift 2
    "\$@" >/tmp/\$name.log 2>&1 &
    pid=\$!
    if ! up \$port; then echo "SOAKBENCH fail \$name"; tail -5 /tmp/\$name.log; kill \$pid; return; fi
    n=0
    while [ \$n -lt $SCRAPES ]; do wget -q -O /tmp/m "http://127.0.0.1:\$port/metrics"; sleep $PERIOD; n=\$((n + 1)); done
    [ -s /tmp/m ] || { echo "SOAKBENCH fail \$name: empty scrape"; wget -S -O - "http://127.0.0.1:\$port/metrics" 2>&1 | head -20; tail -20 /tmp/\$name.log; }
    echo "SOAKBENCH \$name \$(awk '/^VmRSS/ {r = \$2} /^VmHWM/ {h = \$2} END {print r, h}' /proc/\$pid/status) \$(wc -c </tmp/m) \$(grep -vc '^#' /tmp/m)"
    kill \$pid
    wait \$pid 2>/dev/null
}
r=1
while [ \$r -le $RUNS ]; do
    measure soakd-fixture 9123 /soakd --config /soakd-fixture.conf --root /fixture --listen 127.0.0.1:9123
    measure ne-fixture 9100 /node_exporter --path.procfs=/fixture/proc --path.sysfs=/fixture/sys --path.rootfs=/fixture $NE_COLLECTORS --web.listen-address=127.0.0.1:9100
    measure soakd-board 9123 /soakd --listen 127.0.0.1:9123
    measure ne-board 9100 /node_exporter $NE_COLLECTORS --web.listen-address=127.0.0.1:9100
    r=\$((r + 1))
done
echo SOAKBENCH done
poweroff -f
EOF
chmod +x "$R/init"
python3 "$HERE/mkinitramfs.py" "$R" "$WORK/initrd.gz"

echo "booting $KPKG in qemu-system-aarch64 ($MEM MB, $RUNS runs x $SCRAPES scrapes per agent)..." >&2
timeout 1800 qemu-system-aarch64 -M virt -cpu cortex-a53 -smp 1 -m "$MEM" -nographic \
    -no-reboot -nic none -kernel "$KERNEL" -initrd "$WORK/initrd.gz" \
    -append "console=ttyAMA0 rdinit=/init panic=-1 quiet" </dev/null >"$WORK/console.log" 2>&1
tr -d '\r' <"$WORK/console.log" >"$VM_DIR/console.log"
grep -q "^SOAKBENCH done" "$VM_DIR/console.log" ||
    { echo "the VM did not finish; console in $VM_DIR/console.log" >&2; tail -20 "$VM_DIR/console.log" >&2; exit 1; }
if grep -q "^SOAKBENCH fail" "$VM_DIR/console.log"; then
    grep -A5 "^SOAKBENCH fail" "$VM_DIR/console.log" >&2
    exit 1
fi

median() {
    sort -n | awk '{a[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'
}
vm() { # NAME COLUMN (1 rss, 2 hwm, 3 bytes, 4 samples)
    awk -v n="$1" -v c="$2" '$1 == "SOAKBENCH" && $2 == n {print $(c + 2)}' "$VM_DIR/console.log" | median
}

# The native side: the same fixture, config and scrapes on this machine.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
host_measure() { # NAME PORT CMD...: prints "rss hwm"
    name=$1; port=$2; shift 2
    "$@" >"$WORK/$name.log" 2>&1 &
    PID=$!
    i=0
    until curl -sf -o /dev/null "http://127.0.0.1:$port/metrics"; do
        i=$((i + 1)); [ $i -gt 100 ] && { cat "$WORK/$name.log" >&2; exit 1; }
        sleep 0.1
    done
    n=0
    while [ $n -lt "$SCRAPES" ]; do
        curl -s -o /dev/null "http://127.0.0.1:$port/metrics"; sleep "$PERIOD"; n=$((n + 1))
    done
    awk '/^VmRSS/ {r = $2} /^VmHWM/ {h = $2} END {print r, h}' "/proc/$PID/status"
    kill "$PID"; wait "$PID" 2>/dev/null; PID=
}
X86=${X86_SOAKD:-$BUILD/bench-agent-static/build/src/agent/soakd}
X86_KIND="static, as bench/agent.sh builds it"
[ -x "$X86" ] || { X86=$BUILD/src/agent/soakd; X86_KIND="$(basename "$BUILD"), Debian's shared libmicrohttpd"; }
: >"$WORK/x86-soakd.runs"
: >"$WORK/x86-ne.runs"
r=1
while [ $r -le "$RUNS" ]; do
    p=$(free_port)
    host_measure soakd "$p" "$X86" --config "$R/soakd-fixture.conf" --root "$FIXTURE" \
        --listen "127.0.0.1:$p" >>"$WORK/x86-soakd.runs"
    if [ -x "$NE" ]; then
        p=$(free_port)
        # shellcheck disable=SC2086 # the collector flags are separate words
        host_measure ne "$p" "$NE" --path.procfs="$FIXTURE/proc" --path.sysfs="$FIXTURE/sys" \
            --path.rootfs="$FIXTURE" $NE_COLLECTORS --web.listen-address="127.0.0.1:$p" \
            >>"$WORK/x86-ne.runs"
    fi
    r=$((r + 1))
done
col() { awk -v c="$2" '{print $c}' "$1" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a > 0 && b > 0) printf "%.1f", b / a; else print "-"}'; }
mb() { awk -v b="$1" 'BEGIN {printf "%.2f MB", b / 1048576}'; }

s_a64=$(stat -c %s "$A64"); s_ne=$(stat -c %s "$NE_A64"); s_x86=$(stat -c %s "$X86")
s_nex=$( [ -x "$NE" ] && stat -c %s "$NE" || echo 0)
sf=$(vm soakd-fixture 1); sfh=$(vm soakd-fixture 2); nf=$(vm ne-fixture 1); nfh=$(vm ne-fixture 2)
sb=$(vm soakd-board 1); sbh=$(vm soakd-board 2); nb=$(vm ne-board 1); nbh=$(vm ne-board 2)
xs=$(col "$WORK/x86-soakd.runs" 1); xsh=$(col "$WORK/x86-soakd.runs" 2)
xn=$(col "$WORK/x86-ne.runs" 1); xnh=$(col "$WORK/x86-ne.runs" 2)
kernel=$(awk '$1 == "SOAKBENCH" && $2 == "kernel" {print $3, $4; exit}' "$VM_DIR/console.log")
cat >"$OUT" <<EOF
## soakd on aarch64: size and resident memory on a real aarch64 kernel

Debian's arm64 cloud kernel ($kernel) in qemu-system-aarch64 (virt, Cortex-A53, one CPU,
$MEM MB), an initramfs with the static soakd of \`make agent-aarch64\`, Debian's static busybox
and Debian's node_exporter $(basename "$(ls "$VM_DIR"/prometheus-node-exporter_*_arm64.deb | head -1)" .deb | cut -d_ -f2) (arm64). Each agent alone,
$SCRAPES scrapes every $PERIOD s from the VM's loopback, then VmRSS/VmHWM from /proc/PID/status;
medians of $RUNS runs (bench/vm-aarch64.sh). "fixture": tests/fixtures/roots/rockpis-6.17 with
bench/agent.sh's collector set; "board": the VM's own /proc and /sys, soakd with no config.
x86_64: the same fixture case on this machine (soakd $X86_KIND).

| where | agent | binary | VmRSS | VmHWM | node_exporter / soakd (RSS) |
|---|---|---|---|---|---|
| aarch64 VM, fixture | soakd (static) | $(mb "$s_a64") | $sf kB | $sfh kB | |
| aarch64 VM, fixture | node_exporter | $(mb "$s_ne") | $nf kB | $nfh kB | $(ratio "$sf" "$nf")x |
| aarch64 VM, board | soakd (static) | $(mb "$s_a64") | $sb kB | $sbh kB | |
| aarch64 VM, board | node_exporter | $(mb "$s_ne") | $nb kB | $nbh kB | $(ratio "$sb" "$nb")x |
| x86_64 host, fixture | soakd | $(mb "$s_x86") | $xs kB | $xsh kB | |
| x86_64 host, fixture | node_exporter | $(mb "$s_nex") | $xn kB | $xnh kB | $(ratio "$xs" "$xn")x |

Exposition per scrape in the VM (fixture): soakd $(vm soakd-fixture 3) bytes / $(vm soakd-fixture 4)
samples, node_exporter $(vm ne-fixture 3) bytes / $(vm ne-fixture 4) samples. TCG emulates the CPU, so no
timings are given.
EOF
cat "$OUT"
