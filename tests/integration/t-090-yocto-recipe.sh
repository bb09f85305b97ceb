#!/bin/sh
# The Yocto recipe sets what bitbake needs (no bitbake here): license checksum matches LICENSE,
# meson/systemd classes, the agent's dependencies, soakd in its own package with its config and
# unit, and every PACKAGECONFIG flag names a real meson option.
set -u
src=${SOAK_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
exec python3 - "$src" <<'PY'
import hashlib, re, sys, os
src = sys.argv[1]
recipe = os.path.join(src, "contrib/yocto/recipes-support/soak/soak_git.bb")
text = open(recipe).read().replace("\\\n", " ")
vars = {}
for line in text.splitlines():
    m = re.match(r'^([A-Za-z0-9_:${}\[\]\-]+)\s*(\?\?=|\?=|=|\+=|=\+|\.=)\s*"(.*)"\s*$', line)
    if m:
        k, op, v = m.groups()
        vars[k] = (vars.get(k, "") + " " + v).strip() if op in ("+=", "=+", ".=") else v
    elif line.startswith("inherit "):
        vars.setdefault("inherit", "")
        vars["inherit"] += " " + line[len("inherit "):]
tests = []
def check(name, cond):
    tests.append((name, bool(cond)))
lic = open(os.path.join(src, "LICENSE"), "rb").read()
md5 = hashlib.md5(lic).hexdigest()
check("LICENSE is MIT", vars.get("LICENSE") == "MIT")
check("LIC_FILES_CHKSUM matches LICENSE", f"file://LICENSE;md5={md5}" in vars.get("LIC_FILES_CHKSUM", ""))
for k in ("SUMMARY", "SRC_URI", "S", "PV"):
    check(f"{k} is set", vars.get(k))
inh = vars.get("inherit", "").split()
for c in ("meson", "pkgconfig", "systemd"):
    check(f"inherits {c}", c in inh)
deps = vars.get("DEPENDS", "").split()
for d in ("libmicrohttpd", "libinih", "jansson"):
    check(f"DEPENDS has {d}", d in deps)
check("soakd is its own package", "soakd" in vars.get("PACKAGES", "").split())
files = vars.get("FILES:soakd", "")
check("soakd package holds the binary", "${sbindir}/soakd" in files)
check("soakd package holds its config", "${sysconfdir}/soak/soakd.conf" in files)
check("config is a CONFFILE", "soakd.conf" in vars.get("CONFFILES:soakd", ""))
check("systemd service for soakd", vars.get("SYSTEMD_SERVICE:soakd") == "soakd.service")
opts = open(os.path.join(src, "meson_options.txt")).read()
pcs = [(k, v) for k, v in vars.items() if k.startswith("PACKAGECONFIG[")]
check("PACKAGECONFIG flags present", pcs)
for k, v in pcs:
    for flag in re.findall(r"-D([a-z_]+)=", v):
        check(f"{k} option -D{flag} exists in meson_options.txt", f"option('{flag}'" in opts)
for flag in re.findall(r"-D([a-z_]+)=", vars.get("EXTRA_OEMESON", "")):
    check(f"EXTRA_OEMESON -D{flag} exists", f"option('{flag}'" in opts)
print(f"1..{len(tests)}")
bad = 0
for i, (n, ok) in enumerate(tests, 1):
    print(("ok" if ok else "not ok"), i, "-", n)
    bad += not ok
sys.exit(1 if bad else 0)
PY
