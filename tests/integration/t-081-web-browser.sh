#!/bin/sh
# The dashboard as a person sees it: Debian's headless Chromium opens the farm
# page and a device page served by `soak web` over the story's farm history
# (`soak sim history` imported with `soak import`): every device is listed with
# its build, the device page shows its charts (and the chart URL is a valid
# SVG), the screenshot is not blank, and an unknown URL gives an error page.
# SOAK_SCREENSHOTS=DIR also keeps the screenshots there (docs/screenshots).
set -u
. "$(dirname "$0")/t-08x-lib.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || skip_all "chromium not installed ($CHROMIUM)"
command -v python3 >/dev/null || skip_all "python3 not installed"
command -v curl >/dev/null || skip_all "curl not installed"
need_cmd sim
need_cmd import
need_cmd web

# browser ARGS... URL: one headless Chromium run with its own profile, bounded in time.
browser() {
    prof=$(mktemp -d "$tmp/chromium.XXXXXX")
    timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$prof" "$@" 2>>"$tmp/chromium.err"
}

# png_colours FILE: width height distinct-colours (in the top 480 rows) of a PNG (zlib, no PIL).
png_colours() {
    python3 - "$1" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, hdr = 8, b"", None
while pos < len(data):
    ln, typ = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + ln]
    if typ == b"IHDR":
        hdr = struct.unpack(">IIBBBBB", body)
    elif typ == b"IDAT":
        idat += body
    pos += 12 + ln
w, h, depth, ctype, _, _, interlace = hdr
assert depth == 8 and interlace == 0 and ctype in (2, 6), hdr
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
colours = set()
i = 0
# Rows depend only on the rows above them, so decoding the top 480 rows is exact for those
# (and keeps the test quick); colours are counted there.
for y in range(min(h, 480)):
    f = raw[i]; i += 1
    line = bytearray(raw[i:i + stride]); i += stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    if y % 4 == 0:
        for x in range(0, stride, bpp * 2):
            colours.add(bytes(line[x:x + 3]))
    prev = line
print(w, h, len(colours))
EOF
}

# --- the story's farm history, imported
hist=$tmp/history
mkdir -p "$hist"
if ! "$SOAK" sim history --out "$hist" --days 3 >"$tmp/sim.out" 2>&1; then
    cat "$tmp/sim.out" >&2
    not_ok "soak sim history --out DIR --days 3"
    finish
    exit 1
fi
ok "soak sim history wrote the farm's history"
db=$tmp/farm.db
devices=
for f in "$hist"/*.om; do
    name=$(basename "$f" .om)
    devices="$devices $name"
    "$SOAK" import --db "$db" --device "$name" "$f" >/dev/null 2>>"$tmp/import.err" ||
        not_ok "import $name"
    "$SOAK" events --db "$db" --device "$name" --rebuild >/dev/null 2>>"$tmp/import.err" ||
        not_ok "derive the events of $name"
done
check "imported every device of the history (${devices# })" test -n "$devices" -a -s "$db"
tok=browser-tok
check "soak web starts" start_web --db "$db" --token "$tok"
[ -n "$url" ] || { cat "$tmp/web.err"; finish; exit 1; }
H="Authorization: Bearer $tok"

# --- farm page: every device with its build (builds read back through the API)
browser --dump-dom "$url/?token=$tok&refresh=0" >"$tmp/farm.html"
check "Chromium rendered the farm page" grep -q '<h1>Farm</h1>' "$tmp/farm.html"
get /api/v1/devices -H "$H" >/dev/null
for d in $devices; do
    b=$(python3 -c 'import json,sys,html; j=json.load(open(sys.argv[1]));
print(html.escape(next(x["build"] or "" for x in j["devices"] if x["name"] == sys.argv[2]), quote=True))' "$tmp/body" "$d")
    check "farm page lists $d with its build '$b'" sh -c \
        "grep -q '>$d</a>' '$tmp/farm.html' && test -n '$b' && grep -qF -- '$b' '$tmp/farm.html'"
done
check "farm page flags something with a text badge" grep -Eq '>(LEAK|FAIL|UNREACHABLE|PANIC x[0-9]+|OOM x[0-9]+)<' "$tmp/farm.html"
# The story: the 256 MB rock-pi-s and the 1 GB boards on 6.17.6 leak, and the page says so in text.
for d in rock-pi-s rock-pi-e zero-3e; do
    case " $devices " in *" $d "*) ;; *) continue ;; esac
    check "farm page row of $d says LEAK" sh -c "grep '>$d</a>' '$tmp/farm.html' | grep -q '>LEAK<'"
done

browser --screenshot="$tmp/farm.png" --window-size=1280,900 "$url/?token=$tok&refresh=0" >/dev/null
set -- $(png_colours "$tmp/farm.png" 2>/dev/null || echo 0 0 0)
check "farm screenshot is 1280x900 and not blank ($3 colours)" test "$1" = 1280 -a "$2" = 900 -a "$3" -ge 16

# --- a device page: its charts
first=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["devices"][0]["name"])' "$tmp/body")
browser --dump-dom "$url/device/$first?token=$tok&refresh=0" >"$tmp/dev.html"
check "device page of $first rendered" grep -q "<h1>$first</h1>" "$tmp/dev.html"
check "device page has chart images" test "$(grep -o '<img src="/device/[^"]*/plot/[a-z]*\.svg' "$tmp/dev.html" | wc -l)" -ge 4
check "device page has inline SVG" grep -q '<svg' "$tmp/dev.html"
plot=$(grep -o '<img src="/device/[^"]*/plot/memory\.svg[^"]*"' "$tmp/dev.html" | head -n 1 | sed 's/^<img src="//; s/"$//; s/&amp;/\&/g')
code=$(curl -s -o "$tmp/mem.svg" -w '%{http_code} %{content_type}' -H "$H" "$url$plot")
check "chart URL returns SVG ($code)" test "$code" = "200 image/svg+xml"
check "chart is a valid SVG document with drawn paths" python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag.endswith("svg"), root.tag
assert sum(1 for e in root.iter() if e.tag.endswith("path")) > 3' "$tmp/mem.svg"
browser --screenshot="$tmp/device.png" --window-size=1280,1000 "$url/device/$first?token=$tok&refresh=0" >/dev/null
set -- $(png_colours "$tmp/device.png" 2>/dev/null || echo 0 0 0)
check "device screenshot not blank ($3 colours)" test "$1" = 1280 -a "$3" -ge 16
curl -s -o "$tmp/memory.png" -H "$H" "$url/device/$first/plot/memory.png?range=30d"
set -- $(png_colours "$tmp/memory.png" 2>/dev/null || echo 0 0 0)
check "memory chart PNG decodes and is not blank ($3 colours)" test "$1" -gt 100 -a "$3" -ge 4

# --- kmemleak: the simulated rock-pi-s runs a kmemleak kernel on its leaking 6.17.6
case " $devices " in
*" rock-pi-s "*)
    browser --dump-dom "$url/device/rock-pi-s?token=$tok&refresh=0" >"$tmp/rps.html"
    check "rock-pi-s page summarises kmemleak: struct file from path_openat via alloc_empty_file, largest first" \
        python3 -c '
import re, sys
h = open(sys.argv[1]).read()
i = h.index("<h2>kmemleak</h2>")
rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([0-9]+)</td></tr>", h[i:])
assert rows, "no site rows"
site, caller, typ, n = rows[0]
assert site.startswith("alloc_empty_file") and caller.startswith("path_openat") and typ == "struct file", rows[0]
assert all(int(n) >= int(r[3]) for r in rows), rows' "$tmp/rps.html"
    ;;
esac

# --- phone width
browser --screenshot="$tmp/phone.png" --window-size=390,844 "$url/?token=$tok&refresh=0" >/dev/null
set -- $(png_colours "$tmp/phone.png" 2>/dev/null || echo 0 0 0)
check "phone-width screenshot renders ($3 colours)" test "$1" = 390 -a "$3" -ge 8
# Below 640 px the farm table is one card per device with labelled cells (no sideways scroll).
ndev=$(echo $devices | wc -w)
check "on a phone the farm table becomes cards" sh -c \
    "grep -q '@media (max-width:640px){[^}]*}[^@]*table.farm thead{display:none}' '$tmp/farm.html' &&
     test \$(grep -o 'data-label=\"Build\"' '$tmp/farm.html' | wc -l) -eq $ndev &&
     test \$(grep -o 'data-label=\"Memory available\"' '$tmp/farm.html' | wc -l) -eq $ndev"

# --- unknown URL: a proper error page
browser --dump-dom "$url/no/such/page?token=$tok" >"$tmp/404.html"
check "unknown URL shows the 404 page" sh -c "grep -q '404 Not found' '$tmp/404.html' && grep -q 'Back to the farm' '$tmp/404.html'"
browser --dump-dom "$url/device/nosuch-board?token=$tok" >"$tmp/404b.html"
check "unknown device shows the 404 page" grep -q "No device called" "$tmp/404b.html"

if [ -n "${SOAK_SCREENSHOTS:-}" ]; then
    mkdir -p "$SOAK_SCREENSHOTS"
    cp "$tmp/farm.png" "$SOAK_SCREENSHOTS/farm.png"
    cp "$tmp/memory.png" "$SOAK_SCREENSHOTS/memory-chart.png"
    cp "$tmp/device.png" "$SOAK_SCREENSHOTS/device.png"
fi
finish
