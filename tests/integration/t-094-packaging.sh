#!/bin/sh
# Packaging: what `meson install` would put where (meson introspect of this build, nothing is
# installed), the installed units starting the installed binaries with the installed config,
# and both systemd units checked by systemd-analyze: `verify` must print nothing (it exits 0
# even for an unknown key, so its output is the verdict), and `security --offline=true`
# exposure is recorded and must stay at or below the level the units were written for.
set -u
: "${SOAK_BUILD:?}" "${SOAK_SRC:?}"
. "$SOAK_SRC/tests/lib/tap.sh"
tap_workdir t094
SOAKD_EXPOSURE_MAX=${SOAKD_EXPOSURE_MAX:-3.5}
SERVER_EXPOSURE_MAX=${SERVER_EXPOSURE_MAX:-2.0}

meson introspect --installed "$SOAK_BUILD" >"$WORK/installed.json" 2>"$WORK/introspect.err" ||
    skip_all "meson introspect failed: $(cat "$WORK/introspect.err")"
meson introspect --buildoptions "$SOAK_BUILD" >"$WORK/options.json"

# Absolute install paths from the build's options: "key path" lines.
python3 - "$WORK/installed.json" "$WORK/options.json" "$SOAK_BUILD" >"$WORK/paths" <<'PY'
import json, os, sys
inst = json.load(open(sys.argv[1]))
opts = {o["name"]: o["value"] for o in json.load(open(sys.argv[2]))}
build = sys.argv[3]
p = opts["prefix"]
absd = lambda d: d if d.startswith("/") else os.path.join(p, d)
dest = {}
for src, dst in inst.items():
    dest[os.path.relpath(src, build) if src.startswith(build + "/") else os.path.basename(src)] = dst
want = {
    "soakd": absd(opts["sbindir"]) + "/soakd",
    "soakd.conf": absd(opts["sysconfdir"]) + "/soak/soakd.conf",
}
for k, v in want.items():
    print("want-" + k, v)
for k in ("src/agent/soakd", "src/server/soak", "soakd.conf", "contrib/soakd.service",
          "contrib/soak-server.service", "soak.sysusers"):
    print("got-" + k, dest.get(k, "-"))
PY
get() { awk -v k="$1" '$1 == k {print $2}' "$WORK/paths"; }

[ "$(get got-src/agent/soakd)" = "$(get want-soakd)" ] &&
    ok "soakd installs to <sbindir>/soakd ($(get want-soakd))" ||
    not_ok "soakd installs to sbindir" "got $(get got-src/agent/soakd), want $(get want-soakd)"
[ "$(get got-soakd.conf)" = "$(get want-soakd.conf)" ] &&
    ok "its config installs to <sysconfdir>/soak/soakd.conf ($(get want-soakd.conf))" ||
    not_ok "soakd.conf installs to sysconfdir/soak" "got $(get got-soakd.conf), want $(get want-soakd.conf)"

unit="$SOAK_BUILD/contrib/soakd.service"
if [ "$(get got-contrib/soakd.service)" = "-" ]; then
    not_ok "soakd.service is installed" "$(cat "$WORK/installed.json")"
elif grep -qx "ExecStart=$(get want-soakd) --config $(get want-soakd.conf)" "$unit"; then
    ok "the installed soakd.service starts the installed soakd with the installed config"
else
    not_ok "installed soakd.service ExecStart" "$(grep ExecStart "$unit")"
fi
if [ -x "$SOAK_BUILD/src/server/soak" ]; then
    if [ "$(get got-contrib/soak-server.service)" != "-" ] && [ "$(get got-soak.sysusers)" != "-" ] &&
        grep -q "^ExecStart=$(dirname "$(get got-src/server/soak)")/soak server" \
            "$SOAK_BUILD/contrib/soak-server.service"; then
        ok "with the server: soak-server.service (starting $(get got-src/server/soak)) and sysusers.d/soak.conf are installed"
    else
        not_ok "soak-server.service and its sysusers file are installed" "$(cat "$WORK/installed.json")"
    fi
fi

if ! command -v systemd-analyze >/dev/null 2>&1; then
    ok "# SKIP systemd-analyze is missing (apt-get install systemd): units not verified"
    done_testing
    exit $?
fi
# The units point at /usr/sbin/soakd and /usr/bin/soak, which verify wants to exist: test
# copies point at this build's binaries, everything else unchanged.
sed "s|^ExecStart=/usr/sbin/soakd|ExecStart=$SOAK_BUILD/src/agent/soakd|" \
    "$SOAK_SRC/contrib/systemd/soakd.service" >"$WORK/soakd.service"
sed "s|^ExecStart=/usr/bin/soak |ExecStart=$SOAK_BUILD/src/server/soak |" \
    "$SOAK_SRC/contrib/systemd/soak-server.service" >"$WORK/soak-server.service"

# The check itself must be able to fail: a unit with a mistyped key and a bad value.
printf '[Service]\nExecStart=/bin/true\nRestrt=always\nProtectSystem=sometimes\n' >"$WORK/bad.service"
(cd "$WORK" && systemd-analyze verify bad.service) >"$WORK/bad.out" 2>&1
if grep -q "Restrt" "$WORK/bad.out" && grep -q "sometimes" "$WORK/bad.out"; then
    ok "systemd-analyze verify reports a mistyped key and a bad value (the check can fail)"
else
    not_ok "systemd-analyze verify flags a bad unit" "$(cat "$WORK/bad.out")"
fi
for u in soakd soak-server; do
    (cd "$WORK" && systemd-analyze verify "$u.service") >"$WORK/$u.verify" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && [ ! -s "$WORK/$u.verify" ]; then
        ok "systemd-analyze verify $u.service: no warning"
    else
        not_ok "systemd-analyze verify $u.service" "exit $rc" "$(cat "$WORK/$u.verify")"
    fi
done

exposure() { # UNIT: the overall exposure figure, e.g. 3.1
    (cd "$WORK" && systemd-analyze security --offline=true "$1.service" 2>&1) |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
for u in soakd:$SOAKD_EXPOSURE_MAX soak-server:$SERVER_EXPOSURE_MAX; do
    name=${u%%:*}
    max=${u#*:}
    e=$(exposure "$name")
    if [ -n "$e" ] && awk -v e="$e" -v m="$max" 'BEGIN {exit !(e <= m)}'; then
        ok "systemd-analyze security --offline: $name.service exposure $e (at most $max)"
    elif [ -z "$e" ]; then
        ok "# SKIP this systemd-analyze has no security --offline (systemd < 252)"
    else
        not_ok "$name.service exposure $e above $max" \
            "$( (cd "$WORK" && systemd-analyze security --offline=true "$name.service") 2>&1 | grep '✗')"
    fi
done
done_testing
