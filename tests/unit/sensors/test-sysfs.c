/* SPDX-License-Identifier: MIT */
/*
 * Kernel-driver paths on fixture trees (tests/fixtures/sysfs/): discovery of
 * hwmon, IIO and w1 devices laid out as the kernel does, their values in SI
 * units through the manager with zero configuration, configured sensors taking
 * precedence over discovered ones, faulty files, and a vanishing device.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "expo.h"
#include "parse.h"
#include "sensors.h"

#define NEAR(a, b, eps) assert_true(fabs((a) - (b)) <= (eps))

static char farm[512], faults[512];

static char *
render(struct sensors *s)
{
    struct expo_writer w;
    struct buf b;

    buf_init(&b, 1 << 20);
    expo_writer_init(&w, &b, EXPO_PROMETHEUS);
    assert_int_equal(sensors_write(s, &w), 0);
    return buf_take(&b);
}

/* The value of series key ("name{labels}") in out; fails the test when absent. */
static double
value(const char *out, const char *key)
{
    const char *p = out;
    size_t l = strlen(key);

    while ((p = strstr(p, key))) {
        if ((p == out || p[-1] == '\n') && p[l] == ' ') {
            const char *q = p + l + 1;
            double v;

            assert_int_equal(parse_double_field(&q, &v), 0);
            return v;
        }
        p += l;
    }
    fail_msg("series %s missing in:\n%s", key, out);
    return NAN;
}

static struct sensors *
fresh(void)
{
    struct sensors *s;

    assert_int_equal(sensors_new(&s), 0);
    return s;
}

static void
sample_all(struct sensors *s)
{
    for (size_t i = 0; i < sensors_count(s); i++)
        (void)sensors_sample(s, i);
}

static void
test_discover(void **state)
{
    static const char *labels[] = {
        "28-0000075a1b2c", "28-0316a2791aff", "28-04160b1e64ff", "ads1015@1-0049",
        "aht20@1-0038",    "bh1750@1-0023",   "bme280@1-0076",   "lps25h@1-005d",
        "mcp3002@spi0.0",  "sht3x@1-0044",    "sht3x@1-0045",    "shtc3@1-0070",
    };
    struct sensor_found found[32];
    int n;

    (void)state;
    /* 28-0316a2791aff also has the w1 core's hwmon node (w1_slave_temp): found once, as w1. */
    n = sensor_discover(farm, found, 32);
    assert_int_equal(n, (int)(sizeof(labels) / sizeof(labels[0])));
    for (int i = 0; i < n; i++)
        assert_string_equal(found[i].label, labels[i]);
    assert_ptr_equal(found[0].driver, &sensor_driver_w1);
    assert_string_equal(found[0].chip, "ds18b20");
    assert_ptr_equal(found[4].driver, &sensor_driver_hwmon);
    /* The bus device path: stable when the driver is rebound and hwmonK changes. */
    assert_string_equal(found[4].device, "/sys/bus/i2c/devices/1-0038");
    assert_ptr_equal(found[5].driver, &sensor_driver_iio);
    assert_string_equal(found[5].device, "/sys/bus/i2c/devices/1-0023");
    assert_string_equal(found[8].label, "mcp3002@spi0.0");
    assert_string_equal(found[8].device, "/sys/bus/spi/devices/spi0.0");
    /* A too-small array still reports the total. */
    assert_int_equal(sensor_discover(farm, found, 2), n);
    /* No tree at all: nothing, no error. */
    assert_int_equal(sensor_discover("/nonexistent", found, 32), 0);
}

static void
test_zero_config(void **state)
{
    struct sensors *s = fresh();
    char *out;

    (void)state;
    assert_int_equal(sensors_configure(s, NULL, "timing_metrics", "no"), 0);
    assert_int_equal(sensors_prepare(s, farm), 0);
    assert_int_equal(sensors_count(s), 12);
    sample_all(s);
    out = render(s);
    /* Nothing that varies from run to run (golden files stay stable). */
    assert_null(strstr(out, "_duration_seconds"));
    assert_null(strstr(out, "_timestamp_seconds"));
    assert_null(strstr(out, "_age_seconds"));
    /* hwmon: m°C and m%RH */
    NEAR(value(out, "soak_sensor_temperature_celsius{sensor=\"sht3x@1-0044\",chip=\"sht3x\"}"),
         24.998, 1e-9);
    NEAR(value(out, "soak_sensor_humidity_percent{sensor=\"sht3x@1-0044\",chip=\"sht3x\"}"), 50.0,
         1e-9);
    NEAR(value(out, "soak_sensor_temperature_celsius{sensor=\"sht3x@1-0045\",chip=\"sht3x\"}"),
         -10.001, 1e-9);
    NEAR(value(out, "soak_sensor_humidity_percent{sensor=\"aht20@1-0038\",chip=\"aht20\"}"), 23.19,
         1e-9);
    NEAR(value(out, "soak_sensor_temperature_celsius{sensor=\"shtc3@1-0070\",chip=\"shtc3\"}"),
         19.38, 1e-9);
    /* IIO raw * scale: lux; kPa -> Pa; (raw + offset) * scale m°C */
    NEAR(value(out, "soak_sensor_illuminance_lux{sensor=\"bh1750@1-0023\",chip=\"bh1750\"}"),
         99.99996, 1e-9);
    NEAR(value(out, "soak_sensor_pressure_pascals{sensor=\"lps25h@1-005d\",chip=\"lps25h\"}"),
         101324.740608, 1e-6);
    NEAR(value(out, "soak_sensor_temperature_celsius{sensor=\"lps25h@1-005d\",chip=\"lps25h\"}"),
         25.0, 1e-8);
    /* IIO shared in_voltage_scale (mV) per channel */
    NEAR(value(out,
               "soak_sensor_voltage_volts{sensor=\"mcp3002@spi0.0_voltage0\",chip=\"mcp3002\"}"),
         1.65, 1e-12);
    NEAR(value(out,
               "soak_sensor_voltage_volts{sensor=\"mcp3002@spi0.0_voltage1\",chip=\"mcp3002\"}"),
         3.29677734375, 1e-12);
    /* mcp320x's differential channels (in_voltage1-voltage0_raw) are channels of their own. */
    NEAR(value(out, "soak_sensor_voltage_volts{sensor=\"mcp3002@spi0.0_voltage1-voltage0\","
                    "chip=\"mcp3002\"}"),
         1.64677734375, 1e-12);
    NEAR(value(out, "soak_sensor_voltage_volts{sensor=\"mcp3002@spi0.0_voltage0-voltage1\","
                    "chip=\"mcp3002\"}"),
         0.0, 0);
    /* One channel of its quantity: no suffix; its own in_voltage2_scale. */
    NEAR(value(out, "soak_sensor_voltage_volts{sensor=\"ads1015@1-0049\",chip=\"ads1015\"}"), 3.0,
         1e-12);
    /* IIO _input: m°C, m%, kPa */
    NEAR(value(out, "soak_sensor_temperature_celsius{sensor=\"bme280@1-0076\",chip=\"bme280\"}"),
         25.73, 1e-9);
    NEAR(value(out, "soak_sensor_humidity_percent{sensor=\"bme280@1-0076\",chip=\"bme280\"}"),
         48.56, 1e-9);
    NEAR(value(out, "soak_sensor_pressure_pascals{sensor=\"bme280@1-0076\",chip=\"bme280\"}"),
         101325.0, 1e-6);
    /* w1: w1_slave with crc YES (exact, not the kernel's truncated t=), and `temperature` */
    NEAR(value(out, "soak_sensor_temperature_celsius{sensor=\"28-04160b1e64ff\",chip=\"ds18b20\"}"),
         23.125, 1e-12);
    NEAR(value(out, "soak_sensor_temperature_celsius{sensor=\"28-0316a2791aff\",chip=\"ds18b20\"}"),
         25.0625, 1e-12);
    NEAR(value(out, "soak_sensor_temperature_celsius{sensor=\"28-0000075a1b2c\",chip=\"ds18b20\"}"),
         -10.125, 1e-12);
    NEAR(value(out, "soak_sensor_up{sensor=\"lps25h@1-005d\"}"), 1, 0);
    /* The SoC's own hwmon and an accelerometer are not sensors of ours. */
    assert_null(strstr(out, "cpu_thermal"));
    assert_null(strstr(out, "mma8452"));
    assert_null(strstr(out, "w1_slave_temp"));
    free(out);
    s = sensors_free(s);
}

static void
test_configured_wins(void **state)
{
    struct sensors *s = fresh();
    char *out;

    (void)state;
    assert_int_equal(sensors_configure(s, "indoor", "driver", "hwmon"), 0);
    assert_int_equal(
        sensors_configure(s, "indoor", "device", "/sys/devices/platform/ff150000.i2c/i2c-1/1-0044"),
        0);
    assert_int_equal(sensors_configure(s, "tank", "driver", "ds18b20"), 0);
    assert_int_equal(sensors_configure(s, "tank", "device", "28-04160b1e64ff"), 0);
    assert_int_equal(sensors_configure(s, "baro", "driver", "iio"), 0);
    assert_int_equal(sensors_configure(s, "baro", "device", "/sys/bus/iio/devices/iio:device1"), 0);
    assert_int_equal(sensors_configure(s, "baro", "chip", "lps25hb"), 0);
    assert_int_equal(sensors_prepare(s, farm), 0);
    assert_int_equal(sensors_count(s), 12); /* 3 configured + 9 discovered */
    sample_all(s);
    out = render(s);
    NEAR(value(out, "soak_sensor_temperature_celsius{sensor=\"indoor\",chip=\"sht3x\"}"), 24.998,
         1e-9);
    NEAR(value(out, "soak_sensor_temperature_celsius{sensor=\"tank\",chip=\"ds18b20\"}"), 23.125,
         1e-12);
    NEAR(value(out, "soak_sensor_pressure_pascals{sensor=\"baro\",chip=\"lps25hb\"}"),
         101324.740608, 1e-6);
    assert_null(strstr(out, "sht3x@1-0044"));
    assert_null(strstr(out, "28-04160b1e64ff"));
    assert_null(strstr(out, "lps25h@1-005d"));
    assert_non_null(strstr(out, "sht3x@1-0045"));
    free(out);
    s = sensors_free(s);
}

static void
test_faults(void **state)
{
    static const struct {
        const char *label;
        int err;
    } want[] = {
        {"28-00000000aaaa", -EBADMSG}, /* empty w1_slave (kernel >= 5.9 CRC failure) */
        {"28-00000000bbbb", -EAGAIN},  /* 85 °C power-on value */
        {"28-00000000cccc", -EBADMSG}, /* crc=c9 NO, bus stuck high */
        {"28-00000000dddd", -EIO},     /* all zeros: CRC passes, bytes 5/7 wrong */
        {"28-00000000eeee", -EBADMSG}, /* only `temperature`, empty (kernel CRC failure) */
        {"28-00000000ffff", -ERANGE},  /* only `temperature`: 127.937 C, past the chip's range */
        {"bh1750@1-0023", -EINVAL},    /* empty in_illuminance_raw */
        {"sht3x@1-0044", -EINVAL},     /* garbage in temp1_input */
    };
    struct sensors *s = fresh();
    char *out;

    (void)state;
    assert_int_equal(sensors_prepare(s, faults), 0);
    assert_int_equal(sensors_count(s), sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int k = sensors_find(s, want[i].label);

        assert_true(k >= 0);
        assert_int_equal(sensors_sample(s, (size_t)k), want[i].err);
    }
    out = render(s);
    assert_null(strstr(out, "soak_sensor_temperature_celsius"));
    assert_null(strstr(out, "soak_sensor_illuminance_lux"));
    NEAR(value(out, "soak_sensor_up{sensor=\"28-00000000bbbb\"}"), 0, 0);
    NEAR(value(out, "soak_sensor_read_errors_total{sensor=\"28-00000000bbbb\"}"), 1, 0);
    NEAR(value(out, "soak_sensor_up{sensor=\"sht3x@1-0044\"}"), 0, 0);
    free(out);
    s = sensors_free(s);
}

static void
write_file(const char *dir, const char *name, const char *text)
{
    char p[1024];
    FILE *f;

    (void)snprintf(p, sizeof(p), "%s/%s", dir, name);
    f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void
test_vanishing(void **state)
{
    char root[] = "/tmp/soak-sensors-XXXXXX", dev[1024], file[1100];
    struct sensors *s;
    struct sensors_state st;

    (void)state;
    assert_non_null(mkdtemp(root));
    (void)snprintf(dev, sizeof(dev), "%s/sys", root);
    assert_int_equal(mkdir(dev, 0755), 0);
    (void)snprintf(dev, sizeof(dev), "%s/sys/hum", root);
    assert_int_equal(mkdir(dev, 0755), 0);
    write_file(dev, "name", "sht3x\n");
    write_file(dev, "temp1_input", "21500\n");
    write_file(dev, "humidity1_input", "40000\n");

    assert_int_equal(sensors_new(&s), 0);
    assert_int_equal(sensors_configure(s, NULL, "discover", "no"), 0);
    assert_int_equal(sensors_configure(s, "hum", "driver", "hwmon"), 0);
    assert_int_equal(sensors_configure(s, "hum", "device", "/sys/hum"), 0);
    assert_int_equal(sensors_prepare(s, root), 0);
    assert_int_equal(sensors_sample(s, 0), 0);
    /* The device goes away (module unloaded, chip unplugged): ENOENT, up 0. */
    (void)snprintf(file, sizeof(file), "%s/temp1_input", dev);
    assert_int_equal(unlink(file), 0);
    assert_int_equal(sensors_sample(s, 0), -ENOENT);
    sensors_get_state(s, 0, &st);
    assert_int_equal(st.up, 0);
    /* It comes back; the next read re-probes and recovers. */
    write_file(dev, "temp1_input", "22000\n");
    assert_int_equal(sensors_sample(s, 0), 0);
    sensors_get_state(s, 0, &st);
    assert_int_equal(st.up, 1);
    assert_int_equal(st.errors, 1);
    s = sensors_free(s);

    (void)unlink(file);
    (void)snprintf(file, sizeof(file), "%s/humidity1_input", dev);
    (void)unlink(file);
    (void)snprintf(file, sizeof(file), "%s/name", dev);
    (void)unlink(file);
    (void)rmdir(dev);
    (void)snprintf(dev, sizeof(dev), "%s/sys", root);
    (void)rmdir(dev);
    (void)rmdir(root);
}

static void
mkdirs(const char *root, const char *rel)
{
    char p[1024];

    (void)snprintf(p, sizeof(p), "%s/%s", root, rel);
    for (char *q = p + strlen(root) + 1; *q; q++)
        if (*q == '/') {
            *q = '\0';
            (void)mkdir(p, 0755);
            *q = '/';
        }
    assert_int_equal(mkdir(p, 0755), 0);
}

static void
test_rebind(void **state)
{
    char root[] = "/tmp/soak-sensors-XXXXXX", dir[1024], a[1100], b[1100], cmd[1200];
    struct sensors *s;

    (void)state;
    assert_non_null(mkdtemp(root));
    mkdirs(root, "sys/bus/i2c/devices/1-0044/hwmon/hwmon1");
    (void)snprintf(dir, sizeof(dir), "%s/sys/bus/i2c/devices/1-0044", root);
    write_file(dir, "name", "sht3x\n");
    (void)snprintf(dir, sizeof(dir), "%s/sys/bus/i2c/devices/1-0044/hwmon/hwmon1", root);
    write_file(dir, "name", "sht3x\n");
    write_file(dir, "temp1_input", "21500\n");

    assert_int_equal(sensors_new(&s), 0);
    assert_int_equal(sensors_configure(s, NULL, "discover", "no"), 0);
    assert_int_equal(sensors_configure(s, "indoor", "driver", "hwmon"), 0);
    assert_int_equal(sensors_configure(s, "indoor", "device", "/sys/bus/i2c/devices/1-0044"), 0);
    assert_int_equal(sensors_prepare(s, root), 0);
    assert_int_equal(sensors_sample(s, 0), 0);
    /* rmmod sht3x; modprobe sht3x: the node comes back as hwmon7. */
    (void)snprintf(a, sizeof(a), "%s/sys/bus/i2c/devices/1-0044/hwmon/hwmon1", root);
    (void)snprintf(b, sizeof(b), "%s/sys/bus/i2c/devices/1-0044/hwmon/hwmon7", root);
    assert_int_equal(rename(a, b), 0);
    assert_int_equal(sensors_sample(s, 0), -ENOENT);
    assert_int_equal(sensors_sample(s, 0), 0); /* re-probed: found hwmon7 */
    s = sensors_free(s);
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

/* A writable copy of the farm tree under a fresh temporary directory. */
static void
farm_copy(char *root)
{
    char cmd[1200];

    assert_non_null(mkdtemp(root));
    (void)snprintf(cmd, sizeof(cmd), "cp -a '%s/.' '%s/'", farm, root);
    assert_int_equal(system(cmd), 0);
}

static void
rm_rf(const char *root, const char *rel)
{
    char cmd[1200];

    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s/%s'", root, rel);
    assert_int_equal(system(cmd), 0);
}

static void
link_at(const char *root, const char *target, const char *rel)
{
    char p[1024];

    (void)snprintf(p, sizeof(p), "%s/%s", root, rel);
    assert_int_equal(symlink(target, p), 0);
}

#define DS_HOT "sys/bus/w1/devices/28-0516b2c3d4e5"
#define DS_REG "sys/bus/w1/devices/28-04160b1e64ff"
#define LUX2 "sys/devices/platform/ff150000.i2c/i2c-1/1-005c"
#define SHT_OUT "sys/devices/platform/ff150000.i2c/i2c-1/1-0045"

/* Plug in a high-temperature DS18B20 (w1) and a second BH1750 at 0x5c (IIO). */
static void
plug_new(const char *root)
{
    char dir[1024];

    mkdirs(root, DS_HOT);
    (void)snprintf(dir, sizeof(dir), "%s/%s", root, DS_HOT);
    write_file(dir, "w1_slave",
               "28 06 4b 46 7f ff 08 10 ff : crc=ff YES\n28 06 4b 46 7f ff 08 10 ff t=98500\n");
    mkdirs(root, LUX2 "/iio:device6");
    (void)snprintf(dir, sizeof(dir), "%s/%s", root, LUX2);
    write_file(dir, "name", "bh1750\n");
    (void)snprintf(dir, sizeof(dir), "%s/%s/iio:device6", root, LUX2);
    write_file(dir, "name", "bh1750\n");
    write_file(dir, "in_illuminance_raw", "600\n");
    write_file(dir, "in_illuminance_scale", "0.833333\n");
    link_at(root, "../../../devices/platform/ff150000.i2c/i2c-1/1-005c",
            "sys/bus/i2c/devices/1-005c");
    link_at(root, "../../../devices/platform/ff150000.i2c/i2c-1/1-005c/iio:device6",
            "sys/bus/iio/devices/iio:device6");
}

/* Unplug the regular DS18B20 (w1 search drops its slave) and the outdoor SHT30 (delete_device). */
static void
unplug_old(const char *root)
{
    rm_rf(root, DS_REG);
    rm_rf(root, SHT_OUT);
    rm_rf(root, "sys/class/hwmon/hwmon2");
    rm_rf(root, "sys/bus/i2c/devices/1-0045");
}

/*
 * Devices plugged in after start are found by a rescan; devices that went
 * away stay in the list and report up 0 with ENOENT (the server's "sensor
 * lost" rule sees them); a device that comes back reads again.
 */
static void
test_hotplug(void **state)
{
    char root[] = "/tmp/soak-sensors-XXXXXX", dir[1024];
    struct sensors_state st;
    struct sensors *s;
    char *out;
    int k;

    (void)state;
    farm_copy(root);
    s = fresh();
    assert_int_equal(sensors_configure(s, NULL, "timing_metrics", "no"), 0);
    assert_int_equal(sensors_prepare(s, root), 0);
    assert_int_equal(sensors_count(s), 12);
    assert_int_equal(sensors_rescan(s), 0); /* nothing new: no duplicates */
    assert_int_equal(sensors_count(s), 12);
    sample_all(s);

    plug_new(root);
    unplug_old(root);
    assert_int_equal(sensors_rescan(s), 2);
    assert_int_equal(sensors_count(s), 14);
    assert_true(sensors_find(s, "28-0516b2c3d4e5") >= 12);
    assert_true(sensors_find(s, "bh1750@1-005c") >= 12);
    /* Not read yet: neither up nor down (a server would call "up 0" a lost sensor). */
    out = render(s);
    assert_null(strstr(out, "bh1750@1-005c"));
    assert_null(strstr(out, "28-0516b2c3d4e5"));
    free(out);
    sample_all(s);
    out = render(s);
    NEAR(value(out, "soak_sensor_temperature_celsius{sensor=\"28-0516b2c3d4e5\",chip=\"ds18b20\"}"),
         98.5, 1e-12); /* the high-temperature probe at 98.5 °C (0x0628) */
    NEAR(value(out, "soak_sensor_illuminance_lux{sensor=\"bh1750@1-005c\",chip=\"bh1750\"}"),
         499.9998, 1e-9);
    NEAR(value(out, "soak_sensor_up{sensor=\"28-04160b1e64ff\"}"), 0, 0);
    NEAR(value(out, "soak_sensor_error_info{sensor=\"28-04160b1e64ff\",error=\"ENOENT\"}"), 1, 0);
    NEAR(value(out, "soak_sensor_read_errors_total{sensor=\"28-04160b1e64ff\"}"), 1, 0);
    NEAR(value(out, "soak_sensor_up{sensor=\"sht3x@1-0045\"}"), 0, 0);
    NEAR(value(out, "soak_sensor_error_info{sensor=\"sht3x@1-0045\",error=\"ENOENT\"}"), 1, 0);
    assert_null(strstr(out, "{sensor=\"28-04160b1e64ff\",chip="));
    NEAR(value(out, "soak_sensor_up{sensor=\"sht3x@1-0044\"}"), 1, 0);
    free(out);
    assert_int_equal(sensors_rescan(s), 0);
    assert_int_equal(sensors_count(s), 14);

    /* The probe is plugged back: same id, same sensor, reading again. */
    mkdirs(root, DS_REG);
    (void)snprintf(dir, sizeof(dir), "%s/%s", root, DS_REG);
    write_file(dir, "w1_slave",
               "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n");
    assert_int_equal(sensors_rescan(s), 0);
    k = sensors_find(s, "28-04160b1e64ff");
    assert_true(k >= 0);
    assert_int_equal(sensors_sample(s, (size_t)k), 0);
    sensors_get_state(s, (size_t)k, &st);
    assert_int_equal(st.up, 1);
    s = sensors_free(s);

    /* discover = no: nothing is ever added. */
    s = fresh();
    assert_int_equal(sensors_configure(s, NULL, "discover", "no"), 0);
    assert_int_equal(sensors_prepare(s, root), 0);
    assert_int_equal(sensors_rescan(s), 0);
    assert_int_equal(sensors_count(s), 0);
    s = sensors_free(s);
    rm_rf(root, "");
}

/*
 * With the workers running and a read interval of an hour: a rescan wakes a
 * discovered sensor whose device went away, so it reports up 0 now rather
 * than an hour later, and wakes it again (despite its backoff) once the
 * device is back. Bounded waits on state, no timing assertion.
 */
static void
test_hotplug_running(void **state)
{
    char root[] = "/tmp/soak-sensors-XXXXXX", dir[1024], cmd[2400];
    struct sensors_state st;
    struct sensors *s;
    int k, i;

    (void)state;
    farm_copy(root);
    s = fresh();
    assert_int_equal(sensors_configure(s, NULL, "default_interval", "1h"), 0);
    assert_int_equal(sensors_configure(s, NULL, "backoff_max", "2h"), 0);
    assert_int_equal(sensors_configure(s, NULL, "start_wait", "10s"), 0);
    /* A configured kernel-driven sensor is watched the same way as the discovered ones. */
    assert_int_equal(sensors_configure(s, "outdoor", "driver", "hwmon"), 0);
    assert_int_equal(sensors_configure(s, "outdoor", "device", "/sys/bus/i2c/devices/1-0045"), 0);
    assert_int_equal(sensors_start(s, root), 0);
    k = sensors_find(s, "28-04160b1e64ff");
    assert_true(k >= 0);
    sensors_get_state(s, (size_t)k, &st);
    assert_int_equal(st.up, 1);
    sensors_get_state(s, 0, &st);
    assert_int_equal(st.up, 1);

    rm_rf(root, DS_REG);
    unplug_old(root); /* also the outdoor SHT30 */
    plug_new(root);
    assert_int_equal(sensors_rescan(s), 2);
    for (i = 0; i < 5000; i++) {
        struct timespec ts = {0, 1000000L};
        struct sensors_state o;

        sensors_get_state(s, (size_t)k, &st);
        sensors_get_state(s, 0, &o);
        if (!st.up && st.attempts >= 2 && !o.up && o.attempts >= 2)
            break;
        (void)nanosleep(&ts, NULL);
    }
    assert_int_equal(st.up, 0);
    assert_int_equal(st.last_error, -ENOENT);
    sensors_get_state(s, 0, &st);
    assert_int_equal(st.up, 0);
    assert_int_equal(st.last_error, -ENOENT);
    /* The new sensors got their own workers and read at once. */
    for (i = 0; i < 5000; i++) {
        struct timespec ts = {0, 1000000L};
        struct sensors_state a, b;

        sensors_get_state(s, (size_t)sensors_find(s, "28-0516b2c3d4e5"), &a);
        sensors_get_state(s, (size_t)sensors_find(s, "bh1750@1-005c"), &b);
        if (a.up && b.up)
            break;
        (void)nanosleep(&ts, NULL);
    }
    assert_true(i < 5000);

    mkdirs(root, DS_REG);
    (void)snprintf(dir, sizeof(dir), "%s/%s", root, DS_REG);
    write_file(dir, "w1_slave",
               "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n");
    (void)snprintf(cmd, sizeof(cmd),
                   "cp -a '%s/%s' '%s/%s' && ln -s %s '%s/sys/bus/i2c/devices/1-0045' && "
                   "ln -s %s '%s/sys/class/hwmon/hwmon2'",
                   farm, SHT_OUT, root, SHT_OUT,
                   "../../../devices/platform/ff150000.i2c/i2c-1/1-0045", root,
                   "../../devices/platform/ff150000.i2c/i2c-1/1-0045/hwmon/hwmon2", root);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(sensors_rescan(s), 0);
    for (i = 0; i < 5000; i++) {
        struct timespec ts = {0, 1000000L};
        struct sensors_state o;

        sensors_get_state(s, (size_t)k, &st);
        sensors_get_state(s, 0, &o);
        if (st.up && o.up)
            break;
        (void)nanosleep(&ts, NULL);
    }
    assert_int_equal(st.up, 1);
    sensors_get_state(s, 0, &st);
    assert_int_equal(st.up, 1);
    s = sensors_free(s);
    rm_rf(root, "");
}

#define W1 "sys/bus/w1/devices/"
#define I2C1 "sys/devices/platform/ff150000.i2c/i2c-1/"
#define TEMP "soak_sensor_temperature_celsius"

/*
 * The kernel paths recover too: each faulty file of the faults tree, once the
 * kernel writes a good value again, reads at the very next attempt (up 1, the
 * error counted once).
 */
static void
test_faults_recover(void **state)
{
    static const char *good_w1 =
        "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n";
    static const struct {
        const char *label, *dir, *file, *text, *family, *chip;
        double want;
    } fix[] = {
        {"28-00000000aaaa", W1 "28-00000000aaaa", "w1_slave", NULL, TEMP, "ds18b20", 23.125},
        {"28-00000000bbbb", W1 "28-00000000bbbb", "w1_slave", NULL, TEMP, "ds18b20", 23.125},
        {"28-00000000cccc", W1 "28-00000000cccc", "w1_slave", NULL, TEMP, "ds18b20", 23.125},
        {"28-00000000dddd", W1 "28-00000000dddd", "w1_slave", NULL, TEMP, "ds18b20", 23.125},
        {"28-00000000eeee", W1 "28-00000000eeee", "temperature", "-10125\n", TEMP, "ds18b20",
         -10.125},
        {"28-00000000ffff", W1 "28-00000000ffff", "temperature", "98500\n", TEMP, "ds18b20", 98.5},
        {"bh1750@1-0023", I2C1 "1-0023/iio:device0", "in_illuminance_raw", "120\n",
         "soak_sensor_illuminance_lux", "bh1750", 99.99996},
        {"sht3x@1-0044", I2C1 "1-0044/hwmon/hwmon5", "temp1_input", "24998\n", TEMP, "sht3x",
         24.998},
    };
    char root[] = "/tmp/soak-sensors-XXXXXX", cmd[1200];
    struct sensors *s;

    (void)state;
    assert_non_null(mkdtemp(root));
    (void)snprintf(cmd, sizeof(cmd), "cp -a '%s/.' '%s/'", faults, root);
    assert_int_equal(system(cmd), 0);
    s = fresh();
    assert_int_equal(sensors_prepare(s, root), 0);
    for (size_t i = 0; i < sizeof(fix) / sizeof(fix[0]); i++) {
        struct sensors_state st;
        char dir[1024], key[160], *out;
        int k = sensors_find(s, fix[i].label);

        assert_true(k >= 0);
        assert_true(sensors_sample(s, (size_t)k) < 0);
        (void)snprintf(dir, sizeof(dir), "%s/%s", root, fix[i].dir);
        write_file(dir, fix[i].file, fix[i].text ? fix[i].text : good_w1);
        assert_int_equal(sensors_sample(s, (size_t)k), 0);
        sensors_get_state(s, (size_t)k, &st);
        assert_int_equal(st.up, 1);
        assert_int_equal(st.errors, 1);
        out = render(s);
        (void)snprintf(key, sizeof(key), "%s{sensor=\"%s\",chip=\"%s\"}", fix[i].family,
                       fix[i].label, fix[i].chip);
        NEAR(value(out, key), fix[i].want, 1e-9);
        (void)snprintf(key, sizeof(key), "soak_sensor_up{sensor=\"%s\"}", fix[i].label);
        NEAR(value(out, key), 1, 0);
        free(out);
    }
    s = sensors_free(s);
    rm_rf(root, "");
}

/* Plausibility bounds work on the kernel path too (here a BH1750 through IIO). */
static void
test_bounds_sysfs(void **state)
{
    char root[] = "/tmp/soak-sensors-XXXXXX", dir[1024];
    struct sensors *s;
    char *out;

    (void)state;
    farm_copy(root);
    s = fresh();
    assert_int_equal(sensors_configure(s, NULL, "discover", "no"), 0);
    assert_int_equal(sensors_configure(s, "light", "driver", "iio"), 0);
    assert_int_equal(sensors_configure(s, "light", "device", "/sys/bus/i2c/devices/1-0023"), 0);
    assert_int_equal(sensors_configure(s, "light", "illuminance_max", "50"), 0);
    assert_int_equal(sensors_prepare(s, root), 0);
    assert_int_equal(sensors_sample(s, 0), -ERANGE); /* 99.99996 lx */
    out = render(s);
    NEAR(value(out, "soak_sensor_error_info{sensor=\"light\",error=\"ERANGE\"}"), 1, 0);
    free(out);
    (void)snprintf(dir, sizeof(dir), "%s/%s", root,
                   "sys/devices/platform/ff150000.i2c/i2c-1/1-0023/iio:device0");
    write_file(dir, "in_illuminance_raw", "30\n");
    assert_int_equal(sensors_sample(s, 0), 0);
    out = render(s);
    NEAR(value(out, "soak_sensor_illuminance_lux{sensor=\"light\",chip=\"bh1750\"}"), 24.99999,
         1e-9);
    free(out);
    s = sensors_free(s);
    rm_rf(root, "");
}

/*
 * An IIO driver that wakes its chip for every read (the LPS25 through
 * st_pressure: 2000 / ODR ms per _raw read, 4 s for two channels at 1 Hz)
 * gets that time plus a margin as its budget, unless its section sets one.
 */
static void
test_iio_budget(void **state)
{
    struct sensors_state st;
    struct sensors *s = fresh();

    (void)state;
    assert_int_equal(sensors_configure(s, "baro-fast", "driver", "iio"), 0);
    assert_int_equal(sensors_configure(s, "baro-fast", "device", "/sys/bus/i2c/devices/1-005d"), 0);
    assert_int_equal(sensors_configure(s, "baro-fast", "timeout", "2s"), 0);
    assert_int_equal(sensors_prepare(s, farm), 0);
    sample_all(s);
    sensors_get_state(s, (size_t)sensors_find(s, "baro-fast"), &st);
    NEAR(st.timeout, 2.0, 0); /* its own timeout stands */
    sensors_get_state(s, (size_t)sensors_find(s, "mcp3002@spi0.0"), &st);
    NEAR(st.timeout, 5.0, 0); /* no sampling_frequency: the default */
    sensors_get_state(s, (size_t)sensors_find(s, "ads1015@1-0049"), &st);
    NEAR(st.timeout, 5.0, 0); /* 1600 Hz: far below the default */
    s = sensors_free(s);

    s = fresh();
    assert_int_equal(sensors_prepare(s, farm), 0);
    sample_all(s);
    sensors_get_state(s, (size_t)sensors_find(s, "lps25h@1-005d"), &st);
    assert_int_equal(st.up, 1);
    NEAR(st.timeout, 4.0 * 1.5 + 1.0, 1e-9); /* two _raw channels at 1 Hz */
    s = sensors_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discover),        cmocka_unit_test(test_zero_config),
        cmocka_unit_test(test_configured_wins), cmocka_unit_test(test_faults),
        cmocka_unit_test(test_vanishing),       cmocka_unit_test(test_rebind),
        cmocka_unit_test(test_hotplug),         cmocka_unit_test(test_hotplug_running),
        cmocka_unit_test(test_faults_recover),  cmocka_unit_test(test_bounds_sysfs),
        cmocka_unit_test(test_iio_budget),
    };

    (void)snprintf(farm, sizeof(farm), "%s/tests/fixtures/sysfs/farm", SOAK_SRC);
    (void)snprintf(faults, sizeof(faults), "%s/tests/fixtures/sysfs/faults", SOAK_SRC);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
