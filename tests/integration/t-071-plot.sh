#!/bin/sh
# soak plot: the simulated rock-pi-s's history imported into SQLite, each panel
# drawn as PNG (valid, sized as asked) and SVG (the series' strokes in it);
# an empty range draws "no data"; bad arguments exit 2, an unknown device 1.
. "$(dirname "$0")/t-07x-lib.sh"

db="$WORK/farm.db"
"$SOAK" sim history --out "$WORK/h" --device rock-pi-s --days 8 --step 120 --now "$NOW" \
    2>"$WORK/sim.err"
check "sim history for the rock-pi-s" [ -s "$WORK/h/rock-pi-s.om" ]
"$SOAK" import --db "$db" --device rock-pi-s "$WORK/h/rock-pi-s.om" >/dev/null 2>"$WORK/import.err"
check "soak import loads it" [ $? -eq 0 ]

for p in memory slab sensors latency; do
    "$SOAK" plot --db "$db" --device rock-pi-s --panel "$p" --width 700 --height 320 \
        -o "$WORK/$p.png" 2>"$WORK/$p.err"
    check "plot $p exits 0" [ $? -eq 0 ]
    check "plot $p writes a 700x320 PNG" [ "$(png_size "$WORK/$p.png")" = 700x320 ]
    "$SOAK" plot --db "$db" --device rock-pi-s --panel "$p" -o "$WORK/$p.svg" 2>>"$WORK/$p.err"
    check "plot $p writes an SVG" grep -q '<svg' "$WORK/$p.svg"
done
# memory: MemTotal purple (0x8000a0), MemAvailable blue (0x1f5fd0), MemFree green (0x2a9d2a)
check "the memory SVG strokes MemTotal in purple" grep -q 'rgb(50.196078%, *0%, *62.745098%)' \
    "$WORK/memory.svg"
check "... MemAvailable in blue" grep -q 'rgb(12.156863%, *37.254902%, *81.568627%)' \
    "$WORK/memory.svg"
check "... MemFree in green, dotted" grep -q 'rgb(16.470588%, *61.568627%, *16.470588%)' \
    "$WORK/memory.svg"
check "... with dash patterns, not only colour" grep -q 'stroke-dasharray' "$WORK/memory.svg"
check "the memory SVG names its lines in <desc>" \
    grep -q '<desc>memory: MemTotal, MemAvailable, MemFree' "$WORK/memory.svg"
check "... and the events" grep -q 'events: .*kernel panic (Nov' "$WORK/memory.svg"
check "the memory SVG has the 900x400 default size" grep -q 'width="900px" height="400px"' \
    "$WORK/memory.svg"
"$SOAK" plot --db "$db" --device rock-pi-s --panel slab --width 700 --height 320 \
    -o "$WORK/slab700.svg" 2>/dev/null
check "an SVG is sized as asked, in CSS pixels" grep -q 'width="700px" height="320px"' \
    "$WORK/slab700.svg"
# The panic and reboot: the kernel-panic mark is a 2 px red line (0xc00000).
check "the panic is marked" grep -q 'stroke-width:2;.*rgb(75.294118%, *0%, *0%)' "$WORK/memory.svg"

# Pixels: the MemTotal line crosses the chart at its value.
check "the PNG carries MemTotal's purple" python3 - "$WORK/memory.png" <<'PY'
import sys, zlib, struct
d = open(sys.argv[1], 'rb').read()
w, h, depth, ctype = struct.unpack('>IIBB', d[16:26])
raw, i = b'', 8
while i < len(d):
    n, t = struct.unpack('>I4s', d[i:i + 8])
    if t == b'IDAT':
        raw += d[i + 8:i + 8 + n]
    i += 12 + n
px = zlib.decompress(raw)
bpp = {2: 3, 6: 4}[ctype]
stride = w * bpp + 1
rows, prev = [], bytearray(w * bpp)
for y in range(h):
    f, line = px[y * stride], bytearray(px[y * stride + 1:(y + 1) * stride])
    for x in range(len(line)):
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line); prev = line
purple = sum(1 for r in rows for x in range(0, len(r), bpp)
             if abs(r[x] - 0x80) < 30 and r[x + 1] < 40 and abs(r[x + 2] - 0xa0) < 30)
sys.exit(0 if purple > 300 else 1)
PY

"$SOAK" plot --db "$db" --device rock-pi-s --panel memory --from 2020-01-01 --to 2020-01-02 \
    -o "$WORK/empty.png" 2>"$WORK/empty.err"
check "an empty range still draws (no data)" [ "$(png_size "$WORK/empty.png")" = 900x400 ]
"$SOAK" plot --db "$db" --device rock-pi-s --panel memory --from "$((NOW - 60))" --to "$NOW" \
    -o "$WORK/one.svg" 2>/dev/null
check "a range with a single sample draws" grep -q '<svg' "$WORK/one.svg"
"$SOAK" plot --db "$db" --device nosuch --panel memory -o "$WORK/x.png" 2>"$WORK/nodev.err"
check "an unknown device exits 1" [ $? -eq 1 ]
check "... and says so" grep -q "no device 'nosuch'" "$WORK/nodev.err"
check "... leaving no file" [ ! -e "$WORK/x.png" ]
"$SOAK" plot --db "$db" --device rock-pi-s --panel cpu -o "$WORK/x.png" 2>/dev/null
check "an unknown panel exits 2" [ $? -eq 2 ]
"$SOAK" plot --db "$db" --device rock-pi-s --panel memory -o "$WORK/x.jpg" 2>/dev/null
check "an unknown extension exits 2" [ $? -eq 2 ]
"$SOAK" plot --db "$db" --device rock-pi-s --panel memory --width 5 -o "$WORK/x.png" 2>/dev/null
check "a bad width exits 2" [ $? -eq 2 ]
"$SOAK" plot --help >"$WORK/help" 2>&1
check "plot --help documents the panels" grep -q 'latency  poll latency' "$WORK/help"
left=$(find "$WORK" -name '*.png.*' -o -name '*.svg.*' | wc -l)
check "no temporary files are left behind" [ "$left" -eq 0 ]

done_testing
