#!/bin/sh
# Install the Debian packages soak needs to build, test, benchmark and run its demo.
# Idempotent: packages already present are skipped; apt runs only when something is missing.
# Usage: scripts/install-deps.sh [build|test|all]   (default: all)
set -eu

what=${1:-all}

build_pkgs="gcc make meson ninja-build pkg-config libmicrohttpd-dev libcurl4-openssl-dev
libsqlite3-dev libpq-dev libcairo2-dev libjansson-dev libinih-dev libzstd-dev"
test_pkgs="libcmocka-dev clang libclang-rt-14-dev postgresql prometheus prometheus-node-exporter
chromium curl python3 sqlite3 procps iproute2 jq"
bench_pkgs="rrdtool hyperfine collectd-core qemu-system-arm qemu-system-x86"
cross_pkgs="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"

case "$what" in
build) want="$build_pkgs" ;;
test) want="$build_pkgs $test_pkgs $cross_pkgs" ;;
bench) want="$build_pkgs $test_pkgs $bench_pkgs" ;;
cross) want="$build_pkgs $cross_pkgs" ;;
all) want="$build_pkgs $test_pkgs $bench_pkgs $cross_pkgs" ;;
*) echo "usage: $0 [build|test|bench|cross|all]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "install-deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be stale or absent on a fresh machine.
$SUDO apt-get update -qq >/dev/null || true
# Do not start services on install: tests start their own PostgreSQL and exporters.
if [ ! -e /usr/sbin/policy-rc.d ] && [ -z "$SUDO" ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
