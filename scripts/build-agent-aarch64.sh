#!/bin/sh
# Cross-build a fully static soakd for aarch64 boards (rock-pi-s, rock-pi-e, zero-3e, rock-5b).
#
# Debian's libmicrohttpd is built with GnuTLS, whose static archive needs p11-kit, which Debian
# ships only as a shared library. soakd speaks plain HTTP, so this script builds libmicrohttpd
# from Debian's own source package without HTTPS, as a static aarch64 archive, and links soakd
# against it, inih and jansson (Debian's arm64 static archives) and static glibc.
#
# Usage: scripts/build-agent-aarch64.sh [OUTDIR]   (default build-aarch64; result OUTDIR/soakd)
set -eu
out=${1:-build-aarch64}
top=$(cd "$(dirname "$0")/.." && pwd)
case "$out" in /*) ;; *) out="$top/$out" ;; esac
deps="$out/deps"
host=aarch64-linux-gnu

"$top/scripts/install-deps.sh" cross

# Debian's arm64 -dev packages for inih and jansson (multiarch), and deb-src for libmicrohttpd.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    apt-get update -qq
fi
for p in libinih-dev:arm64 libjansson-dev:arm64; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null
done

if [ ! -f "$deps/lib/libmicrohttpd.a" ]; then
    mkdir -p "$deps/src"
    cd "$deps/src"
    if [ ! -d libmicrohttpd ]; then
        if ! ls libmicrohttpd_*.orig.tar.* >/dev/null 2>&1; then
            if ! grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
                printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
                    >/etc/apt/sources.list.d/soak-debsrc.sources
                apt-get update -qq
            fi
            apt-get source -qq --download-only libmicrohttpd 2>/dev/null
        fi
        mkdir libmicrohttpd
        tar -xf libmicrohttpd_*.orig.tar.* -C libmicrohttpd --strip-components=1
    fi
    cd libmicrohttpd
    ./configure -q --host=$host --prefix="$deps" --enable-static --disable-shared \
        --disable-https --without-gnutls --disable-curl --disable-doc --disable-examples \
        --disable-tools --disable-nls >/dev/null
    make -s -j2 -C src/microhttpd install >/dev/null
    make -s install-pkgconfigDATA >/dev/null 2>&1 || cp libmicrohttpd.pc "$deps/lib/pkgconfig/"
fi

cross="$out/cross.ini"
mkdir -p "$out"
sed "s|^pkg_config_libdir = .*|pkg_config_libdir = '$deps/lib/pkgconfig:/usr/lib/aarch64-linux-gnu/pkgconfig'|" \
    "$top/contrib/cross/aarch64-linux-gnu.ini" >"$cross"
if [ ! -f "$out/build.ninja" ]; then
    meson setup "$out" "$top" --cross-file "$cross" -Dserver=disabled -Dtests=disabled \
        -Dpostgresql=disabled -Dstatic_agent=true --buildtype=minsize -Dstrip=true >/dev/null
fi
ninja -C "$out" src/agent/soakd >/dev/null
cp "$out/src/agent/soakd" "$out/soakd"
"$host-strip" "$out/soakd"
file "$out/soakd" 2>/dev/null || true
ls -l "$out/soakd"
