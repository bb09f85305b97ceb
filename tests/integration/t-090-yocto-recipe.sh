#!/bin/sh
# The Yocto recipe sets what bitbake needs (no bitbake here): license checksum matches LICENSE,
# meson/systemd classes, the agent's dependencies, soakd in its own package with its config and
# unit, and every PACKAGECONFIG flag names a real meson option; the server's user (useradd) and
# unit; and, with a build directory, every file `meson install` would install lands in a path
# one of the recipe's packages takes (bitbake's installed-vs-shipped check).
set -u
src=${SOAK_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SOAK_BUILD:-}
exec python3 - "$src" "$build" <<'PY'
import hashlib, json, re, subprocess, sys, os
src, build = sys.argv[1], sys.argv[2]
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
check("inherits useradd", "useradd" in inh)
check("USERADD_PARAM makes the system user soak",
      re.search(r"--system\b.*\bsoak$", vars.get("USERADD_PARAM:${PN}", "")))
check("the server's unit and sysusers file are packaged",
      "soak-server.service" in vars.get("FILES:${PN}", "")
      and "${nonarch_libdir}/sysusers.d/soak.conf" in vars.get("FILES:${PN}", ""))
check("soak-server.service is a systemd service of ${PN}",
      vars.get("SYSTEMD_SERVICE:${PN}") == "soak-server.service")

# installed-vs-shipped: every installed path is under a FILES entry of soakd or ${PN}, or
# under bitbake's defaults (${bindir}, ${sbindir}, ${sysconfdir} in ${PN}, ${docdir} in -doc).
if build and os.path.exists(os.path.join(build, "build.ninja")):
    run = lambda *a: json.loads(subprocess.run(["meson", "introspect", *a, build],
                                               capture_output=True, text=True).stdout)
    inst = run("--installed")
    o = {x["name"]: x["value"] for x in run("--buildoptions")}
    P = o["prefix"]
    a = lambda d: d if d.startswith("/") else os.path.join(P, d)
    unitdir = [v for v in inst.values() if v.endswith("/soakd.service")]
    yvars = {"${sbindir}": a(o["sbindir"]), "${bindir}": a(o["bindir"]),
             "${sysconfdir}": a(o["sysconfdir"]), "${nonarch_libdir}": os.path.join(P, "lib"),
             "${docdir}": os.path.join(a(o["datadir"]), "doc"),
             "${systemd_system_unitdir}": os.path.dirname(unitdir[0]) if unitdir else "/nonexistent"}
    def expand(v):
        for k, val in yvars.items():
            v = v.replace(k, val)
        return v
    shipped = [expand(f) for k in ("FILES:soakd", "FILES:${PN}") for f in vars.get(k, "").split()]
    shipped += [expand(d) for d in ("${bindir}", "${sbindir}", "${sysconfdir}", "${docdir}")]
    def covered(path):
        return any(path == s or path.startswith(s.rstrip("/") + "/") for s in shipped)
    lost = sorted(d for d in inst.values() if not covered(d))
    check(f"every file meson installs ({len(inst)}) is in a package" +
          (f"; not shipped: {lost}" if lost else ""), not lost)
    check("soakd's config and unit are installed where FILES:soakd expects them",
          any(d == expand("${sysconfdir}/soak/soakd.conf") for d in inst.values()) and unitdir)

print(f"1..{len(tests)}")
bad = 0
for i, (n, ok) in enumerate(tests, 1):
    print(("ok" if ok else "not ok"), i, "-", n)
    bad += not ok
sys.exit(1 if bad else 0)
PY
