#!/bin/sh
# Sensors through the real soakd: zero-config discovery of hwmon, IIO and w1
# devices on a fixture tree (tests/fixtures/sysfs/farm), SI units, a stable
# --once with timing_metrics = no, a sensor stuck forever in a read (a
# FIFO as its sysfs file) that neither blocks a scrape nor the other sensors,
# and devices plugged in and out under a running soakd.
. "$(dirname "$0")/t-02x-lib.sh"
need_promtool

FARM="$SOAK_SRC/tests/fixtures/sysfs/farm"
out="$WORK/once.prom"
"$SOAKD" --root "$FARM" --once >"$out" 2>"$WORK/once.err"
check "--once on the sensor tree exits 0" [ $? -eq 0 ]
check "an SHT30 through hwmon, labelled by its i2c address" \
    grep -q '^soak_sensor_temperature_celsius{sensor="sht3x@1-0045",chip="sht3x"} -10.001$' "$out"
check "a BH1750 through IIO raw * scale" \
    grep -q '^soak_sensor_illuminance_lux{sensor="bh1750@1-0023",chip="bh1750"} 99.99996$' "$out"
check "an LPS25 pressure in pascals (the ABI's kPa * 1000)" \
    grep -q '^soak_sensor_pressure_pascals{sensor="lps25h@1-005d",chip="lps25h"} 101324.740608$' "$out"
check "an MCP3002 channel in volts" \
    grep -q '^soak_sensor_voltage_volts{sensor="mcp3002@spi0.0_voltage1",chip="mcp3002"} 3.29677734375$' "$out"
check "a DS18B20 from its w1_slave" \
    grep -q '^soak_sensor_temperature_celsius{sensor="28-04160b1e64ff",chip="ds18b20"} 23.125$' "$out"
check "every discovered sensor is up" sh -c "! grep -q '^soak_sensor_up{.*} 0$' '$out'"
check "promtool accepts the sensor families" promtool_ok "$out"

"$SOAKD" --root "$FARM" --once 2>/dev/null | grep -v '^node_time_seconds' >"$WORK/a"
"$SOAKD" --root "$FARM" --once 2>/dev/null | grep -v '^node_time_seconds' >"$WORK/b"
check "--once is reproducible (no sensor read times or ages)" cmp -s "$WORK/a" "$WORK/b"
check "--once leaves out the sensors' timing" \
    sh -c "! grep -q '^soak_sensor_read_duration_seconds' '$WORK/a'"

printf '[sensor x]\ndriver = sht3x\nbus = sim\n' >"$WORK/sim.conf"
"$SOAKD" --config "$WORK/sim.conf" --root "$FARM" --once >/dev/null 2>"$WORK/sim.err"
check "bus = sim is refused by the shipped soakd (exit 2)" [ $? -eq 2 ]
check "naming the file and line" grep -q "sim.conf:3: " "$WORK/sim.err"
printf '[sensor x]\naddress = 0x44\n' >"$WORK/nodrv.conf"
"$SOAKD" --config "$WORK/nodrv.conf" --root "$FARM" --once >/dev/null 2>"$WORK/nodrv.err"
check "a sensor without a driver is refused" [ $? -ne 0 ]
check "with a message naming it" grep -q '\[sensor x\]: no driver' "$WORK/nodrv.err"
"$SOAKD" --config "$SOAK_SRC/contrib/soakd-rockpie.conf" --root "$FARM" --once >"$WORK/rockpie.prom" 2>/dev/null
check "contrib/soakd-rockpie.conf: the outdoor SHT30 through its i2c device's hwmon" \
    grep -q '^soak_sensor_temperature_celsius{sensor="outdoor",chip="sht3x"} -10.001$' "$WORK/rockpie.prom"
check "a configured userspace sensor on a missing bus is down with its reason" \
    grep -q '^soak_sensor_error_info{sensor="baro",error="ENOTTY"} 1$' "$WORK/rockpie.prom"

# A copy of the tree plus a TMP117-like IIO device whose in_temp_input is a FIFO
# nobody writes: its worker blocks in open() for good, like a wedged bus.
ROOT="$WORK/root"
cp -a "$FARM" "$ROOT"
dev="$ROOT/sys/devices/platform/ff150000.i2c/i2c-1/1-0048/iio:device7"
mkdir -p "$dev"
echo tmp117 >"$dev/name"
mkfifo "$dev/in_temp_input"
ln -s ../../../devices/platform/ff150000.i2c/i2c-1/1-0048/iio:device7 "$ROOT/sys/bus/iio/devices/iio:device7"
# start_wait (2 s) is longer than the stuck sensor's budget (1 s): by the first
# scrape it is over budget whatever the machine's speed.
printf '[collector.sensors]\ntimeout = 1s\nstart_wait = 2s\ninterval = 1\ndefault_interval = 0.5s\n' >"$WORK/stuck.conf"
if start_soakd "$WORK/soakd.log" --config "$WORK/stuck.conf"; then
    fetch /metrics "$WORK/m1" "$WORK/h1"
    check "a scrape answers while a sensor is stuck in the kernel" \
        grep -q '^soak_sensor_up{sensor="sht3x@1-0044"} 1$' "$WORK/m1"
    check "the stuck sensor reports up 0" grep -q '^soak_sensor_up{sensor="tmp117@1-0048"} 0$' "$WORK/m1"
    check "with the reason" grep -q '^soak_sensor_error_info{sensor="tmp117@1-0048",error="ETIMEDOUT"} 1$' "$WORK/m1"
    check "its overrun is counted" \
        grep -q '^soak_sensor_read_timeouts_total{sensor="tmp117@1-0048"} 1$' "$WORK/m1"
    sleep 1.5
    fetch /metrics "$WORK/m2" "$WORK/h2"
    a1=$(sed -n 's/^soak_sensor_last_read_timestamp_seconds{sensor="sht3x@1-0044"} //p' "$WORK/m1")
    a2=$(sed -n 's/^soak_sensor_last_read_timestamp_seconds{sensor="sht3x@1-0044"} //p' "$WORK/m2")
    check "the other sensors keep being read meanwhile ($a1 -> $a2)" \
        awk -v a="$a1" -v b="$a2" 'BEGIN { exit !(a != "" && b > a) }'
    check "the overrun is counted once" \
        grep -q '^soak_sensor_read_timeouts_total{sensor="tmp117@1-0048"} 1$' "$WORK/m2"
    kill "$SOAKD_PID"
    _i=0
    while kill -0 "$SOAKD_PID" 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
    check "soakd stops although a sensor worker is stuck" sh -c "! kill -0 $SOAKD_PID 2>/dev/null"
    kill -9 "$SOAKD_PID" 2>/dev/null
    wait "$SOAKD_PID" 2>/dev/null
    SOAKD_PID=
fi
# Hot-plug under a running soakd: devices added to (and removed from) the tree
# after start are found by the rescan (every second here), without a restart.
ROOT="$WORK/hot"
cp -a "$FARM" "$ROOT"
printf '[collector.sensors]\ninterval = 1\ndefault_interval = 0.5s\nrescan = 1s\n' >"$WORK/hot.conf"
# until_metrics PATTERN: scrape (up to ~15 s) until a line matches PATTERN; the last scrape stays in $WORK/hm.
until_metrics() {
    _i=0
    while [ $_i -lt 60 ]; do
        fetch /metrics "$WORK/hm" "$WORK/hh"
        grep -q "$1" "$WORK/hm" && return 0
        sleep 0.25
        _i=$((_i + 1))
    done
    return 1
}
if start_soakd "$WORK/hot.log" --config "$WORK/hot.conf"; then
    # The server polls this soakd every second: the lost and returning sensor become events.
    SOAK="$SOAK_BUILD/src/server/soak"
    printf '[server]\nstore = sqlite:%s\ninterval = 1\ntimeout = 2\n\n[device hot]\nurl = http://127.0.0.1:%s/metrics\n' \
        "$WORK/farm.db" "$PORT" >"$WORK/farm.conf"
    "$SOAK" server --config "$WORK/farm.conf" --duration 60 2>"$WORK/server.log" &
    SERVER_PID=$!
    PIDS="$PIDS $SERVER_PID"
    sleep 2
    fetch /metrics "$WORK/hm" "$WORK/hh"
    check "before: the outdoor SHT30 is up" grep -q '^soak_sensor_up{sensor="sht3x@1-0045"} 1$' "$WORK/hm"
    check "before: no sensor at 1-005c" sh -c "! grep -q '1-005c' '$WORK/hm'"
    # A high-temperature DS18B20 and a second BH1750 (at 0x5c) are plugged in.
    hot="$ROOT/sys/bus/w1/devices/28-0516b2c3d4e5"
    mkdir -p "$hot"
    printf '28 06 4b 46 7f ff 08 10 ff : crc=ff YES\n28 06 4b 46 7f ff 08 10 ff t=98500\n' >"$hot/w1_slave"
    lux="$ROOT/sys/devices/platform/ff150000.i2c/i2c-1/1-005c"
    mkdir -p "$lux/iio:device6"
    echo bh1750 >"$lux/name"
    echo bh1750 >"$lux/iio:device6/name"
    echo 600 >"$lux/iio:device6/in_illuminance_raw"
    echo 0.833333 >"$lux/iio:device6/in_illuminance_scale"
    ln -s ../../../devices/platform/ff150000.i2c/i2c-1/1-005c "$ROOT/sys/bus/i2c/devices/1-005c"
    ln -s ../../../devices/platform/ff150000.i2c/i2c-1/1-005c/iio:device6 "$ROOT/sys/bus/iio/devices/iio:device6"
    # The outdoor SHT30 goes away (delete_device: its i2c device and hwmon node).
    rm -rf "$ROOT/sys/devices/platform/ff150000.i2c/i2c-1/1-0045" "$ROOT/sys/class/hwmon/hwmon2" \
        "$ROOT/sys/bus/i2c/devices/1-0045"
    until_metrics '^soak_sensor_illuminance_lux{sensor="bh1750@1-005c",chip="bh1750"}'
    check "a BH1750 plugged in after start is read" \
        grep -q '^soak_sensor_illuminance_lux{sensor="bh1750@1-005c",chip="bh1750"} 499.9998$' "$WORK/hm"
    until_metrics '^soak_sensor_temperature_celsius{sensor="28-0516b2c3d4e5"'
    check "so is a DS18B20 (98.5 C on the high-temperature probe)" \
        grep -q '^soak_sensor_temperature_celsius{sensor="28-0516b2c3d4e5",chip="ds18b20"} 98.5$' "$WORK/hm"
    until_metrics '^soak_sensor_up{sensor="sht3x@1-0045"} 0$'
    check "the SHT30 that went away still reports, up 0" \
        grep -q '^soak_sensor_up{sensor="sht3x@1-0045"} 0$' "$WORK/hm"
    check "with the reason" grep -q '^soak_sensor_error_info{sensor="sht3x@1-0045",error="ENOENT"} 1$' "$WORK/hm"
    check "and without its stale values" sh -c "! grep -q '{sensor=\"sht3x@1-0045\",chip=' '$WORK/hm'"
    check "soakd logged the new sensors" grep -q 'sensor bh1750@1-005c (bh1750) appeared' "$WORK/hot.log"
    # It comes back (same i2c device): read again at the next rescan despite its backoff.
    cp -a "$FARM/sys/devices/platform/ff150000.i2c/i2c-1/1-0045" "$ROOT/sys/devices/platform/ff150000.i2c/i2c-1/"
    ln -s ../../devices/platform/ff150000.i2c/i2c-1/1-0045/hwmon/hwmon2 "$ROOT/sys/class/hwmon/hwmon2"
    ln -s ../../../devices/platform/ff150000.i2c/i2c-1/1-0045 "$ROOT/sys/bus/i2c/devices/1-0045"
    until_metrics '^soak_sensor_up{sensor="sht3x@1-0045"} 1$'
    check "the SHT30 plugged back reads again" \
        grep -q '^soak_sensor_temperature_celsius{sensor="sht3x@1-0045",chip="sht3x"} -10.001$' "$WORK/hm"
    check "each sensor is listed once" sh -c \
        "[ \$(grep -c '^soak_sensor_up{sensor=\"sht3x@1-0045\"}' '$WORK/hm') -eq 1 ] && [ \$(grep -c '^soak_sensor_up{' '$WORK/hm') -eq 14 ]"
    check "promtool accepts it" promtool_ok "$WORK/hm"
    sleep 2
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    "$SOAK" events --db "$WORK/farm.db" --json >"$WORK/events.json" 2>"$WORK/events.err"
    check "the server recorded the SHT30 as lost" python3 -c "import json,sys; e=json.load(open('$WORK/events.json'))['events']; sys.exit(not any(x['kind']=='sensor_lost' and x['subject']=='sht3x@1-0045' for x in e))"
    check "and back" python3 -c "import json,sys; e=json.load(open('$WORK/events.json'))['events']; sys.exit(not any(x['kind']=='sensor_back' and x['subject']=='sht3x@1-0045' for x in e))"
    check "a sensor plugged in is never reported lost before its first read" python3 -c "import json,sys; e=json.load(open('$WORK/events.json'))['events']; sys.exit(any(x['kind']=='sensor_lost' and x['subject']!='sht3x@1-0045' for x in e))"
    stop_soakd
fi
done_testing
