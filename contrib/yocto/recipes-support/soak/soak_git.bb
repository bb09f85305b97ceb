SUMMARY = "soak - soak-test embedded Linux builds on a board farm"
DESCRIPTION = "soakd, a small agent that reports kernel state (meminfo, slabinfo, open files, \
kmemleak, OOM kills, pstore panics, build identity) and sensors over HTTP, and soak, the \
server that polls a farm, detects kernel leaks and judges builds."
HOMEPAGE = "https://example.org/soak"
SECTION = "devel"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://LICENSE;md5=ace1db72061e4a17a238ff55395f46ca"

# Point SRC_URI at your soak repository (or use externalsrc while developing).
SRC_URI = "git://example.org/soak.git;protocol=https;branch=main"
SRCREV = "${AUTOREV}"
PV = "0.1.0+git${SRCPV}"
S = "${WORKDIR}/git"

inherit meson pkgconfig systemd useradd

# The agent needs only these (libmicrohttpd, libinih and jansson are in meta-oe).
DEPENDS = "libmicrohttpd libinih jansson"

# The server and command line are optional: boards usually need only soakd.
PACKAGECONFIG ??= ""
PACKAGECONFIG[server] = "-Dserver=enabled,-Dserver=disabled,curl sqlite3 cairo zstd"
PACKAGECONFIG[postgresql] = "-Dpostgresql=enabled,-Dpostgresql=disabled,postgresql"
EXTRA_OEMESON = "-Dtests=disabled -Dsystemdsystemunitdir=${systemd_system_unitdir}"

PACKAGES =+ "soakd"

FILES:soakd = " \
    ${sbindir}/soakd \
    ${sysconfdir}/soak/soakd.conf \
    ${systemd_system_unitdir}/soakd.service \
"
CONFFILES:soakd = "${sysconfdir}/soak/soakd.conf"
# With PACKAGECONFIG server: the soak command and soak-server.service in ${PN}, run as the
# system user soak (made by useradd here, by sysusers.d/soak.conf elsewhere). The server unit
# is installed disabled: it needs /etc/soak/farm.conf first (docs/examples/farm.conf).
FILES:${PN} += "${systemd_system_unitdir}/soak-server.service ${nonarch_libdir}/sysusers.d/soak.conf"

SYSTEMD_PACKAGES = "soakd ${@bb.utils.contains('PACKAGECONFIG', 'server', '${PN}', '', d)}"
SYSTEMD_SERVICE:soakd = "soakd.service"
SYSTEMD_AUTO_ENABLE:soakd = "enable"
SYSTEMD_SERVICE:${PN} = "soak-server.service"
SYSTEMD_AUTO_ENABLE:${PN} = "disable"

USERADD_PACKAGES = "${PN}"
USERADD_PARAM:${PN} = "--system --home-dir ${localstatedir}/lib/soak --no-create-home --shell /sbin/nologin --user-group soak"

# soakd runs as root (slabinfo is mode 0400, kmemleak lives in debugfs): see soakd.service.
# The previous boot's panic reaches soakd through pstore: ramoops where the board has it.
RRECOMMENDS:soakd = "kernel-module-ramoops"
