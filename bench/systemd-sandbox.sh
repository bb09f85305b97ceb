#!/bin/sh
# bench/systemd-sandbox.sh BUILD_DIR: soakd started by systemd with contrib/systemd/soakd.service
# exactly as shipped (root inside its sandbox: four capabilities, read-only file system,
# system call filter, device policy), in a VM, to show what it can still read and write:
# /proc/slabinfo (mode 0400), the drop_caches knob (a write through ProtectKernelTunables=),
# /dev/kmsg, and every other collector. Not a test: it boots a kernel under TCG (a minute
# or more) and downloads Debian's amd64 cloud kernel once.
#
# The VM: Debian's linux-image-cloud-amd64 in qemu-system-x86_64, an initramfs holding this
# machine's systemd (PID 1, with the libraries it links), /lib/systemd/system's targets, the
# unit, a static soakd (bench/agent.sh's static build, else the one in BUILD_DIR when static)
# with drop_caches every 4 s and its ring persisted every 5 s, and a oneshot check unit that scrapes soakd after 12 s with
# curl and prints the result on the serial console. $server_text

kmemleak is not exercised: the cloud
# kernel has no CONFIG_DEBUG_KMEMLEAK.
#
# Writes bench/out/sandbox.md. Env: VM_DIR (downloads, default bench/out/sandbox-vm),
# SANDBOX_SOAKD (a static soakd to use).
set -u
BUILD=${1:?usage: bench/systemd-sandbox.sh BUILD_DIR}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
VM_DIR=${VM_DIR:-$HERE/out/sandbox-vm}
OUT="$HERE/out/sandbox.md"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/soak-bench-sandbox.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
mkdir -p "$HERE/out" "$VM_DIR"

command -v qemu-system-x86_64 >/dev/null 2>&1 ||
    { echo "no qemu-system-x86_64: scripts/install-deps.sh bench (qemu-system-x86)" >&2; exit 1; }
[ -x /lib/systemd/systemd ] || { echo "no /lib/systemd/systemd on this machine" >&2; exit 1; }
SOAKD=${SANDBOX_SOAKD:-$BUILD/bench-agent-static/build/src/agent/soakd}
if [ ! -x "$SOAKD" ]; then
    SOAKD=$BUILD/src/agent/soakd
    file "$SOAKD" | grep -q "statically linked" ||
        { echo "no static soakd: run bench/agent.sh first (it builds one) or set SANDBOX_SOAKD" >&2; exit 1; }
fi

KPKG=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
[ -n "$KPKG" ] || { echo "cannot resolve linux-image-cloud-amd64" >&2; exit 1; }
if [ ! -d "$VM_DIR/x-$KPKG" ]; then
    (cd "$VM_DIR" && apt-get download "$KPKG" >/dev/null 2>&1) || { echo "apt-get download $KPKG failed" >&2; exit 1; }
    mkdir -p "$VM_DIR/x-$KPKG"
    dpkg-deb -x "$(ls "$VM_DIR"/"$KPKG"_*.deb | head -1)" "$VM_DIR/x-$KPKG"
fi
KERNEL=$(ls "$VM_DIR/x-$KPKG"/boot/vmlinuz-* | head -1)

R="$WORK/root"
mkdir -p "$R"
copy() { # FILE...: copy into the initramfs with the shared libraries ldd names
    for f in "$@"; do
        mkdir -p "$R$(dirname "$f")"
        cp -L "$f" "$R$f"
        for l in $(ldd "$f" 2>/dev/null | awk '/=>/ {print $3} /^\t\// {print $1}'); do
            [ -e "$R$l" ] || { mkdir -p "$R$(dirname "$l")"; cp -L "$l" "$R$l"; }
        done
    done
}
copy /lib/systemd/systemd /bin/systemctl /bin/sh /bin/grep /bin/sleep /usr/bin/wc /usr/bin/curl
mkdir -p "$R/lib/systemd/system" "$R/etc/systemd/system" "$R/etc/soak" "$R/usr/sbin" \
    "$R/proc" "$R/sys" "$R/dev" "$R/run" "$R/tmp" "$R/var/lib" "$R/root"
cp /lib/systemd/system/*.target "$R/lib/systemd/system/"
cp /etc/passwd /etc/group "$R/etc/"
cp -L /etc/os-release "$R/etc/os-release"
: >"$R/etc/machine-id"
cp "$SOAKD" "$R/usr/sbin/soakd"
printf '[agent]\ninterval = 2\n[history]\ninterval = 2\npersist = /var/lib/soakd/history.ring\npersist_interval = 5\n[collector.slabinfo]\ndrop_caches = 4\n' \
    >"$R/etc/soak/soakd.conf"
cp "$SRC/contrib/systemd/soakd.service" "$R/etc/systemd/system/soakd.service"
# The server too, when built: soak-server.service as shipped, polling this soakd every 2 s
# into SQLite under its state directory and serving the dashboard, as the system user soak.
SOAK=${SANDBOX_SOAK:-$BUILD/src/server/soak}
SERVER=
if [ -x "$SOAK" ]; then
    SERVER=soak-server.service
    copy "$SOAK"
    mkdir -p "$R/usr/bin"
    cp "$SOAK" "$R/usr/bin/soak"
    echo "soak:x:990:990:soak server:/var/lib/soak:/usr/sbin/nologin" >>"$R/etc/passwd"
    echo "soak:x:990:" >>"$R/etc/group"
    printf '[server]\nstore = sqlite:/var/lib/soak/farm.db\nlisten = 127.0.0.1:8080\ninterval = 2\n[device vm]\nurl = http://127.0.0.1:9123\n' \
        >"$R/etc/soak/farm.conf"
    cp "$SRC/contrib/systemd/soak-server.service" "$R/etc/systemd/system/soak-server.service"
fi
cat >"$R/etc/systemd/system/soakcheck.service" <<'EOF'
[Unit]
After=soakd.service soak-server.service
Requires=soakd.service
[Service]
Type=oneshot
StandardOutput=tty
TTYPath=/dev/ttyS0
ExecStart=/bin/sh -c 'sleep 12; echo SANDBOX-BEGIN; curl -s http://127.0.0.1:9123/metrics >/tmp/m; echo "bytes $(wc -c </tmp/m)"; grep -E "^soak_slabinfo_readable|^soak_collector_up|^soak_collector_errors_total" /tmp/m; echo "slab_caches $(grep -c ^node_slabinfo_objects /tmp/m)"; systemctl show soakd -p ActiveState -p NRestarts -p Result; echo "ring $(wc -c </var/lib/soakd/history.ring)"; echo SERVER-BEGIN; systemctl show soak-server -p ActiveState -p NRestarts -p Result; echo "dashboard $(curl -s -o /dev/null -w %%{http_code} http://127.0.0.1:8080/)"; echo "store $(wc -c </var/lib/soak/farm.db)"; echo LOGS-BEGIN; grep -H . /run/*.log; echo SANDBOX-END'
ExecStartPost=/bin/systemctl --force --force poweroff
EOF
# No journald in the VM: the services' stderr goes to /run/NAME.log (a drop-in; systemd opens
# the file before it applies the sandbox; the units themselves are untouched), which the
# check prints.
for u in soakd $SERVER; do
    u=${u%.service}
    mkdir -p "$R/etc/systemd/system/$u.service.d"
    printf '[Service]\nStandardError=append:/run/%s.log\n' "$u" >"$R/etc/systemd/system/$u.service.d/log.conf"
done
printf '[Unit]\nWants=soakd.service soakcheck.service %s\n' "$SERVER" >"$R/etc/systemd/system/soak-test.target"
ln -s /lib/systemd/systemd "$R/init"
python3 "$HERE/mkinitramfs.py" "$R" "$WORK/initrd.gz"

echo "booting $KPKG with systemd $(/lib/systemd/systemd --version | awk 'NR == 1 {print $2}') as PID 1 (TCG)..." >&2
timeout 900 qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic -no-reboot -nic none \
    -kernel "$KERNEL" -initrd "$WORK/initrd.gz" \
    -append "console=ttyS0 rdinit=/init systemd.unit=soak-test.target panic=-1" \
    </dev/null >"$WORK/console.log" 2>&1
tr -d '\r' <"$WORK/console.log" | sed 's/\x1b\[[0-9;]*m//g' >"$VM_DIR/console.log"
C="$VM_DIR/console.log"
grep -q "^SANDBOX-END" "$C" || { echo "no result; console in $C" >&2; tail -20 "$C" >&2; exit 1; }
v() { sed -n "s/^$1 //p" "$C" | head -1; }
up=$(grep -c '^soak_collector_up{.*} 1' "$C")
down=$(grep '^soak_collector_up{.*} 0' "$C" | sed 's/.*collector="\([a-z]*\)".*/\1/' | tr '\n' ' ')
drops=$(grep -c 'soakd ([0-9]*): drop_caches: 2' "$C")
ok_word() { [ "$1" = "$2" ] && echo yes || echo "NO ($1)"; }
server_text="soak-server.service: not built in $(basename "$BUILD"), not exercised."
if [ -n "$SERVER" ]; then
    sed -n '/^SERVER-BEGIN/,/^SANDBOX-END/p' "$C" >"$WORK/server"
    sv() { sed -n "s/^$1[= ]//p" "$WORK/server" | head -1; }
    server_text="soak-server.service as user soak, polling this soakd every 2 s: $(sv ActiveState),
NRestarts=$(sv NRestarts), dashboard HTTP $(sv dashboard), SQLite store $(sv store) bytes after 12 s."
fi
cat >"$OUT" <<EOF
## soakd under its systemd sandbox (contrib/systemd/soakd.service as shipped)

systemd $(/lib/systemd/systemd --version | awk 'NR == 1 {print $2}') as PID 1 in a VM (Debian's $KPKG, qemu-system-x86_64), soakd
with \`drop_caches = 4\` s, scraped after 12 s (bench/systemd-sandbox.sh).

| what the sandbox must still allow | result |
|---|---|
| /proc/slabinfo read (mode 0400) | $(ok_word "$(v soak_slabinfo_readable)" 1), $(v slab_caches) caches |
| drop_caches written through ProtectKernelTunables= (ReadWritePaths=) | $drops writes logged by the kernel |
| collectors up | $up; down: ${down:-none} (the VM has no hwmon chip) |
| soakd restarts, state | NRestarts=$(sed -n 's/^NRestarts=//p' "$C" | head -1), $(sed -n 's/^ActiveState=//p' "$C" | head -1) |
| ring file written to the state directory (persist every 5 s) | $(v ring) bytes in /var/lib/soakd |
| scrape | $(v bytes) bytes |

$server_text

kmemleak is not exercised (the cloud kernel lacks CONFIG_DEBUG_KMEMLEAK).
\`systemd-analyze security --offline=true\`: soakd.service $(systemd-analyze security --offline=true "$SRC/contrib/systemd/soakd.service" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'), soak-server.service $(systemd-analyze security --offline=true "$SRC/contrib/systemd/soak-server.service" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p') (0 best, 10 worst).
EOF
cat "$OUT"
