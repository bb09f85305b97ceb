/* SPDX-License-Identifier: MIT */
/*
 * Every userspace driver against its chip simulator: the right value when
 * healthy (including range ends and negative temperatures), the right error
 * for each injected fault, and recovery on the next read once healed. Then
 * the manager: config keys, up/error metrics, recovery and backoff.
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
#include <time.h>

#include <cmocka.h>

#include "buf.h"
#include "conf.h"
#include "expo.h"
#include "sensors.h"
#include "sim.h"

#define NEAR(a, b, eps) assert_true(fabs((a) - (b)) <= (eps))

struct rig {
    struct sim_bus *sb;
    struct sensor_bus *bus;
    struct sim_chip *chip;
    struct sensor_dev dev;
    const struct sensor_driver *drv;
};

static void
rig_init(struct rig *r, const char *driver, const char *kind, uint16_t addr, const char *w1_id)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(sim_bus_new(&r->sb), 0);
    r->chip = sim_bus_add(r->sb, kind, addr, w1_id);
    assert_non_null(r->chip);
    assert_int_equal(sim_bus_to_sensor_bus(r->sb, &r->bus), 0);
    r->drv = sensor_driver_find(driver);
    assert_non_null(r->drv);
    r->dev.bus = r->bus;
    r->dev.addr = addr;
    r->dev.vref = 3.3;
    if (w1_id)
        (void)snprintf(r->dev.device, sizeof(r->dev.device), "%s", w1_id);
}

static void
rig_fini(struct rig *r)
{
    r->bus = sensor_bus_close(r->bus);
}

/* What the manager does: probe when not ready, read, drop readiness on failure. */
static int
rig_read(struct rig *r, struct sensor_reading *rd)
{
    int ret;

    memset(rd, 0, sizeof(*rd));
    if (!r->dev.ready) {
        ret = r->drv->probe(&r->dev);
        if (ret < 0)
            return ret;
        r->dev.ready = 1;
    }
    ret = r->drv->read(&r->dev, rd);
    if (ret < 0)
        r->dev.ready = 0;
    return ret;
}

static double
value_of(const struct sensor_reading *rd, enum sensor_quantity q)
{
    for (size_t i = 0; i < rd->n; i++)
        if (rd->v[i].quantity == q)
            return rd->v[i].value;
    fail_msg("quantity %d missing", q);
    return NAN;
}

/* Inject a fault, expect err, heal, expect a good reading again. */
static void
fault_then_recover(struct rig *r, unsigned fault, int err)
{
    struct sensor_reading rd;

    sim_chip_set_faults(r->chip, fault);
    if (err)
        assert_int_equal(rig_read(r, &rd), err);
    else
        assert_true(rig_read(r, &rd) < 0);
    sim_chip_set_faults(r->chip, 0);
    assert_int_equal(rig_read(r, &rd), 0);
    assert_true(rd.n > 0);
}

static void
test_sht3x(void **state)
{
    struct sensor_reading rd;
    struct rig r;
    uint64_t t0;

    (void)state;
    rig_init(&r, "sht3x", "sht3x", 0x45, NULL);
    t0 = sim_bus_now_us(r.sb);
    assert_int_equal(rig_read(&r, &rd), 0);
    assert_true(sim_bus_now_us(r.sb) - t0 >= 15000); /* the datasheet wait happened */
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), 25.0, 0.003);
    NEAR(value_of(&rd, SENSOR_HUMIDITY), 50.0, 0.002);
    sim_chip_set_temperature(r.chip, -10.0);
    sim_chip_set_humidity(r.chip, 80.0);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), -10.0, 0.003);
    NEAR(value_of(&rd, SENSOR_HUMIDITY), 80.0, 0.002);
    /* Range ends: the chip clamps to its 16-bit codes. */
    sim_chip_set_temperature(r.chip, 200.0);
    sim_chip_set_humidity(r.chip, 120.0);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), 130.0, 1e-9);
    NEAR(value_of(&rd, SENSOR_HUMIDITY), 100.0, 1e-9);
    sim_chip_set_temperature(r.chip, -45.0);
    sim_chip_set_humidity(r.chip, 0.0);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), -45.0, 1e-9);
    NEAR(value_of(&rd, SENSOR_HUMIDITY), 0.0, 1e-9);

    fault_then_recover(&r, SIM_FAULT_NACK, -ENXIO);
    fault_then_recover(&r, SIM_FAULT_CRC, -EBADMSG);
    fault_then_recover(&r, SIM_FAULT_BUSY, -ENXIO); /* read NACKed, retried once */
    fault_then_recover(&r, SIM_FAULT_ALL_FF, -EBADMSG);
    /* A slow chip (a real delay per transfer) still reads right. */
    sim_chip_set_slow_us(r.chip, 500);
    sim_chip_set_faults(r.chip, SIM_FAULT_SLOW);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), -45.0, 1e-9);
    assert_true(sim_chip_transfers(r.chip) > 0);
    sim_chip_set_faults(r.chip, 0);
    /* Wrong address: nobody answers. */
    r.dev.addr = 0x44;
    r.dev.ready = 0;
    assert_int_equal(rig_read(&r, &rd), -ENXIO);
    rig_fini(&r);
}

static void
test_shtc3(void **state)
{
    struct sensor_reading rd;
    struct rig r;

    (void)state;
    rig_init(&r, "shtc3", "shtc3", 0x70, NULL);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), 25.0, 0.003);
    NEAR(value_of(&rd, SENSOR_HUMIDITY), 50.0, 0.002);
    /* The driver left the chip asleep; the next read must wake it. */
    sim_chip_set_temperature(r.chip, -20.5);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), -20.5, 0.003);
    fault_then_recover(&r, SIM_FAULT_CRC, -EBADMSG);
    fault_then_recover(&r, SIM_FAULT_NACK, -ENXIO);
    fault_then_recover(&r, SIM_FAULT_BUSY, -ENXIO);
    /* An SHTC1 fitted instead: the ID check (at probe) refuses it. */
    r.dev.ready = 0;
    fault_then_recover(&r, SIM_FAULT_WRONG_ID, -ENODEV);
    rig_fini(&r);
}

static void
test_aht20(void **state)
{
    struct sensor_reading rd;
    struct rig r;
    uint64_t t0;

    (void)state;
    rig_init(&r, "aht20", "aht20", 0x38, NULL);
    t0 = sim_bus_now_us(r.sb);
    assert_int_equal(rig_read(&r, &rd), 0);
    assert_true(sim_bus_now_us(r.sb) - t0 >= 80000);
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), 25.0, 0.001);
    NEAR(value_of(&rd, SENSOR_HUMIDITY), 50.0, 0.001);
    sim_chip_set_temperature(r.chip, -40.0);
    sim_chip_set_humidity(r.chip, 0.0);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), -40.0, 0.001);
    NEAR(value_of(&rd, SENSOR_HUMIDITY), 0.0, 1e-9);
    sim_chip_set_temperature(r.chip, 150.0); /* past the 20-bit range: 150 - 200/2^20 */
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), 150.0, 0.001);

    fault_then_recover(&r, SIM_FAULT_BUSY, -ETIMEDOUT);
    fault_then_recover(&r, SIM_FAULT_CRC, -EBADMSG);
    fault_then_recover(&r, SIM_FAULT_NACK, -ENXIO);
    fault_then_recover(&r, SIM_FAULT_ALL_FF, 0);
    /* Uncalibrated and the init command does not help: refused; once fixed it reads again. */
    fault_then_recover(&r, SIM_FAULT_UNCAL, -EIO);
    rig_fini(&r);
}

static void
test_bh1750(void **state)
{
    struct sensor_reading rd;
    struct rig r;
    uint64_t t0;

    (void)state;
    rig_init(&r, "bh1750", "bh1750", 0x23, NULL);
    t0 = sim_bus_now_us(r.sb);
    assert_int_equal(rig_read(&r, &rd), 0);
    assert_true(sim_bus_now_us(r.sb) - t0 >= 180000);
    NEAR(value_of(&rd, SENSOR_ILLUMINANCE), 100.0, 1e-9); /* raw 120 */
    sim_chip_set_illuminance(r.chip, 0.0);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_ILLUMINANCE), 0.0, 1e-12);
    sim_chip_set_illuminance(r.chip, 1e6); /* saturates at 0xFFFF */
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_ILLUMINANCE), 54612.5, 1e-6);
    fault_then_recover(&r, SIM_FAULT_NACK, -ENXIO);
    rig_fini(&r);

    /* MTreg 138 doubles the sensitivity; the lux value stays right. */
    rig_init(&r, "bh1750", "bh1750", 0x5c, NULL);
    r.dev.model = 138;
    sim_chip_set_illuminance(r.chip, 1000.0);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_ILLUMINANCE), 1000.0, 0.5);
    rig_fini(&r);
}

static void
test_lps25(void **state)
{
    struct sensor_reading rd;
    struct rig r;

    (void)state;
    rig_init(&r, "lps25", "lps25", 0x5d, NULL);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_PRESSURE), 101325.0, 0.025); /* 1/4096 hPa steps */
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), 25.0, 0.002);
    sim_chip_set_pressure(r.chip, 26000.0);
    sim_chip_set_temperature(r.chip, -25.0); /* 42.5 + int16/480 bottoms out at -25.77 */
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_PRESSURE), 26000.0, 0.025);
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), -25.0, 0.002);
    sim_chip_set_pressure(r.chip, 126000.0);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_PRESSURE), 126000.0, 0.025);
    sim_chip_set_pressure(r.chip, 101325.0);

    r.dev.ready = 0;
    fault_then_recover(&r, SIM_FAULT_WRONG_ID, -ENODEV);
    fault_then_recover(&r, SIM_FAULT_BUSY, -ETIMEDOUT);
    fault_then_recover(&r, SIM_FAULT_NACK, -ENXIO);
    fault_then_recover(&r, SIM_FAULT_ALL_ZERO, 0);
    /* Garbage pressure (the 260..1260 hPa check). */
    sim_chip_set_pressure(r.chip, 1000.0);
    assert_int_equal(rig_read(&r, &rd), -ERANGE);
    rig_fini(&r);
}

static void
test_mcp3002(void **state)
{
    struct sensor_reading rd;
    struct rig r;

    (void)state;
    rig_init(&r, "mcp3002", "mcp3002", 0, NULL);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_VOLTAGE), 1.65, 1e-9); /* code 512 */
    sim_chip_set_voltage(r.chip, 1, 3.3);
    r.dev.channel = 1;
    r.dev.ready = 0;
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_VOLTAGE), 1023 * 3.3 / 1024, 1e-9); /* full scale */
    sim_chip_set_voltage(r.chip, 1, 0.0);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_VOLTAGE), 0.0, 1e-12);
    /* Differential CH1-CH0 (ODD=1): 2.0 - 1.0 V. */
    sim_chip_set_voltage(r.chip, 0, 1.0);
    sim_chip_set_voltage(r.chip, 1, 2.0);
    r.dev.differential = 1;
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_VOLTAGE), 1.0, 3.3 / 1024);
    r.dev.differential = 0;
    fault_then_recover(&r, SIM_FAULT_NACK, -EIO); /* MISO floats high: null bit 1 */
    fault_then_recover(&r, SIM_FAULT_ALL_FF, -EIO);
    fault_then_recover(&r, SIM_FAULT_CRC, -EBADMSG); /* LSB-first repeat disagrees */
    /* MISO shorted low reads as 0 V: SPI cannot tell (documented). */
    sim_chip_set_faults(r.chip, SIM_FAULT_ALL_ZERO);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_VOLTAGE), 0.0, 1e-12);
    rig_fini(&r);

    /* MCP3008: 3-byte frame, channel 5. */
    rig_init(&r, "mcp3002", "mcp3008", 0, NULL);
    r.dev.model = 8;
    r.dev.channel = 5;
    sim_chip_set_voltage(r.chip, 5, 2.5);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_VOLTAGE), 776 * 3.3 / 1024, 1e-9);
    r.dev.channel = 9;
    r.dev.ready = 0;
    assert_int_equal(rig_read(&r, &rd), -EINVAL);
    rig_fini(&r);
}

static void
test_ds18b20(void **state)
{
    static const char *id = "28-04160b1e64ff";
    struct sensor_reading rd;
    struct rig r;
    uint64_t t0;

    (void)state;
    rig_init(&r, "ds18b20", "ds18b20", 0, id);
    t0 = sim_bus_now_us(r.sb);
    sim_chip_set_temperature(r.chip, 23.125);
    assert_int_equal(rig_read(&r, &rd), 0);
    assert_true(sim_bus_now_us(r.sb) - t0 >= 750000); /* the 12-bit conversion */
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), 23.125, 1e-12);
    sim_chip_set_temperature(r.chip, -10.125);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), -10.125, 1e-12);
    sim_chip_set_temperature(r.chip, 125.0);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), 125.0, 1e-12);
    sim_chip_set_temperature(r.chip, -55.0);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), -55.0, 1e-12);
    /* A real 85 °C is a reading; the power-on 85 °C (byte 6 0x0C) is not. */
    sim_chip_set_temperature(r.chip, 85.0);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), 85.0, 1e-12);
    fault_then_recover(&r, SIM_FAULT_POWER_ON, -EAGAIN);
    fault_then_recover(&r, SIM_FAULT_BUSY, -EAGAIN);
    /* Kernels >= 5.9: an empty w1_slave after failed CRCs. */
    fault_then_recover(&r, SIM_FAULT_CRC, -EBADMSG);
    fault_then_recover(&r, SIM_FAULT_ALL_FF, -EBADMSG);
    fault_then_recover(&r, SIM_FAULT_ALL_ZERO, -EIO); /* passes the CRC, fails byte 7 */
    fault_then_recover(&r, SIM_FAULT_NACK, -ENOENT);  /* unplugged: the slave dir is gone */
    /* Older kernels print "crc=xx NO" and a t= from the bad bytes. */
    sim_chip_set_w1_new_kernel(r.chip, 0);
    fault_then_recover(&r, SIM_FAULT_CRC, -EBADMSG);
    fault_then_recover(&r, SIM_FAULT_ALL_FF, -EBADMSG);
    rig_fini(&r);

    /* The generic w1 driver decodes the same probe. */
    rig_init(&r, "w1", "ds18b20", 0, "28-0316a2791aff");
    sim_chip_set_temperature(r.chip, -25.0625);
    assert_int_equal(rig_read(&r, &rd), 0);
    NEAR(value_of(&rd, SENSOR_TEMPERATURE), -25.0625, 1e-12);
    rig_fini(&r);
}

/* ---- the manager ---- */

static char *
render(struct sensors *s)
{
    struct expo_writer w;
    struct buf b;
    char *out;

    buf_init(&b, 1 << 20);
    expo_writer_init(&w, &b, EXPO_PROMETHEUS);
    assert_int_equal(sensors_write(s, &w), 0);
    out = buf_take(&b); /* NULL when nothing was written */
    if (!out)
        out = strdup("");
    assert_non_null(out);
    return out;
}

static void
configure(struct sensors *s, const char *label, const char *key, const char *value)
{
    assert_int_equal(sensors_configure(s, label, key, value), 0);
}

static void
test_manager(void **state)
{
    struct sensors_state st;
    struct sensors *s;
    struct sim_bus *sb;
    char *out;
    int i;

    (void)state;
    assert_int_equal(sensors_new(&s), 0);
    configure(s, NULL, "discover", "no");
    configure(s, NULL, "backoff_max", "60");
    configure(s, "outdoor", "driver", "sht30");
    configure(s, "outdoor", "bus", "sim");
    configure(s, "outdoor", "address", "0x45");
    configure(s, "outdoor", "interval", "10s");
    configure(s, "tank", "driver", "ds18b20");
    configure(s, "tank", "device", "28-04160b1e64ff");
    configure(s, "tank", "bus", "sim");
    configure(s, "tank", "label", "water");
    assert_int_equal(sensors_prepare(s, "/nonexistent"), 0);
    assert_int_equal(sensors_count(s), 2);
    i = sensors_find(s, "outdoor");
    assert_int_equal(i, 0);
    assert_int_equal(sensors_find(s, "water"), 1);

    /* Before its first read a sensor is neither up nor down: not exported at all. */
    out = render(s);
    assert_null(strstr(out, "sensor=\"outdoor\""));
    assert_null(strstr(out, "soak_sensor_up"));
    assert_null(strstr(out, "soak_sensor_temperature_celsius"));
    free(out);

    assert_int_equal(sensors_sample(s, 0), 0);
    assert_int_equal(sensors_sample(s, 1), 0);
    out = render(s);
    assert_non_null(strstr(out, "# TYPE soak_sensor_temperature_celsius gauge\n"));
    assert_non_null(
        strstr(out, "soak_sensor_temperature_celsius{sensor=\"outdoor\",chip=\"sht3x\"} 25\n"));
    assert_non_null(
        strstr(out, "soak_sensor_humidity_percent{sensor=\"outdoor\",chip=\"sht3x\"} 50.00"));
    assert_non_null(
        strstr(out, "soak_sensor_temperature_celsius{sensor=\"water\",chip=\"ds18b20\"} 25\n"));
    assert_non_null(strstr(out, "soak_sensor_up{sensor=\"outdoor\"} 1\n"));
    assert_non_null(strstr(out, "soak_sensor_read_errors_total{sensor=\"outdoor\"} 0\n"));
    assert_non_null(strstr(out, "soak_sensor_last_read_timestamp_seconds{sensor=\"water\"} "));
    assert_non_null(strstr(out, "soak_sensor_reading_age_seconds{sensor=\"water\"} "));
    free(out);

    /* Unplug the outdoor sensor: up 0, the error counted, its value gone, backoff doubles. */
    sb = sim_bus_from(sensors_bus(s, 0));
    assert_non_null(sb);
    sim_chip_set_faults(sim_bus_chip(sb, 0), SIM_FAULT_NACK);
    assert_int_equal(sensors_sample(s, 0), -ENXIO);
    sensors_get_state(s, 0, &st);
    assert_int_equal(st.up, 0);
    assert_int_equal(st.errors, 1);
    NEAR(st.next_interval, 20.0, 1e-9);
    assert_int_equal(sensors_sample(s, 0), -ENXIO);
    sensors_get_state(s, 0, &st);
    NEAR(st.next_interval, 40.0, 1e-9);
    assert_int_equal(sensors_sample(s, 0), -ENXIO);
    sensors_get_state(s, 0, &st);
    NEAR(st.next_interval, 60.0, 1e-9); /* capped by backoff_max */
    out = render(s);
    assert_non_null(strstr(out, "soak_sensor_up{sensor=\"outdoor\"} 0\n"));
    assert_non_null(strstr(out, "soak_sensor_read_errors_total{sensor=\"outdoor\"} 3\n"));
    assert_non_null(strstr(out, "soak_sensor_error_info{sensor=\"outdoor\",error=\"ENXIO\"} 1\n"));
    assert_null(strstr(out, "soak_sensor_error_info{sensor=\"water\""));
    assert_null(strstr(out, "soak_sensor_temperature_celsius{sensor=\"outdoor\""));
    assert_non_null(strstr(out, "soak_sensor_up{sensor=\"water\"} 1\n"));
    free(out);

    /* Plugged back: the next read recovers (re-probed), the interval is restored. */
    sim_chip_set_faults(sim_bus_chip(sb, 0), 0);
    assert_int_equal(sensors_sample(s, 0), 0);
    sensors_get_state(s, 0, &st);
    assert_int_equal(st.up, 1);
    assert_int_equal(st.errors, 3);
    NEAR(st.next_interval, 10.0, 1e-9);
    out = render(s);
    assert_non_null(strstr(out, "soak_sensor_up{sensor=\"outdoor\"} 1\n"));
    assert_non_null(
        strstr(out, "soak_sensor_temperature_celsius{sensor=\"outdoor\",chip=\"sht3x\"}"));
    free(out);

    /* The DS18B20's power-on value is discarded and counted. */
    sb = sim_bus_from(sensors_bus(s, 1));
    sim_chip_set_faults(sim_bus_chip(sb, 0), SIM_FAULT_POWER_ON);
    assert_int_equal(sensors_sample(s, 1), -EAGAIN);
    out = render(s);
    assert_non_null(strstr(out, "soak_sensor_up{sensor=\"water\"} 0\n"));
    assert_non_null(strstr(out, "soak_sensor_read_errors_total{sensor=\"water\"} 1\n"));
    assert_non_null(strstr(out, "soak_sensor_error_info{sensor=\"water\",error=\"EAGAIN\"} 1\n"));
    assert_null(strstr(out, "soak_sensor_temperature_celsius{sensor=\"water\""));
    free(out);
    s = sensors_free(s);

    /* A wrong chip on a simulated bus: refused, then read once the right one answers. */
    assert_int_equal(sensors_new(&s), 0);
    configure(s, NULL, "discover", "no");
    configure(s, "baro", "driver", "lps25hb");
    configure(s, "baro", "bus", "sim");
    configure(s, "baro", "address", "0x5c");
    assert_int_equal(sensors_prepare(s, "/nonexistent"), 0);
    assert_int_equal(sensors_sample(s, 0), 0);
    sb = sim_bus_from(sensors_bus(s, 0));
    sim_chip_set_faults(sim_bus_chip(sb, 0), SIM_FAULT_NACK);
    assert_int_equal(sensors_sample(s, 0), -ENXIO);
    sim_chip_set_faults(sim_bus_chip(sb, 0), SIM_FAULT_WRONG_ID);
    assert_int_equal(sensors_sample(s, 0), -ENODEV);
    assert_int_equal(sensors_sample(s, 0), -ENODEV);
    assert_ptr_equal(sim_bus_from(sensors_bus(s, 0)), sb); /* the simulated chip is kept */
    sim_chip_set_faults(sim_bus_chip(sb, 0), 0);
    assert_int_equal(sensors_sample(s, 0), 0);
    out = render(s);
    assert_non_null(
        strstr(out, "soak_sensor_pressure_pascals{sensor=\"baro\",chip=\"lps25h\"} 101325"));
    free(out);
    s = sensors_free(s);
}

/* ---- every chip and fault through the manager's metrics ---- */

static const char *
errno_name(int err)
{
    static const struct {
        int err;
        const char *name;
    } names[] = {
        {ENXIO, "ENXIO"},   {EBADMSG, "EBADMSG"}, {ETIMEDOUT, "ETIMEDOUT"}, {EIO, "EIO"},
        {ENODEV, "ENODEV"}, {EAGAIN, "EAGAIN"},   {ENOENT, "ENOENT"},       {ERANGE, "ERANGE"},
    };

    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (names[i].err == -err)
            return names[i].name;
    return "other";
}

static void
expect_line(const char *out, const char *fmt, ...)
{
    char line[256];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (!strstr(out, line))
        fail_msg("missing \"%s\" in:\n%s", line, out);
}

/*
 * For every chip on its simulator and every fault it can show: a good read,
 * then the fault: the read fails with the expected error, the scrape says
 * up 0, names the error, counts it once and drops the stale value; then the
 * fault is healed and the very next read recovers (up 1, the value back).
 */
static void
test_fault_matrix(void **state)
{
    static const struct {
        const char *driver, *address, *device, *family;
        unsigned fault;
        int err;
        int swap; /* a chip swap: unplugged first (an identity is only checked at probe) */
    } cases[] = {
        {"sht30", "0x44", NULL, "soak_sensor_temperature_celsius", SIM_FAULT_NACK, -ENXIO},
        {"sht30", "0x44", NULL, "soak_sensor_temperature_celsius", SIM_FAULT_CRC, -EBADMSG},
        {"sht30", "0x45", NULL, "soak_sensor_humidity_percent", SIM_FAULT_BUSY, -ENXIO},
        {"sht31", "0x44", NULL, "soak_sensor_temperature_celsius", SIM_FAULT_ALL_FF, -EBADMSG},
        {"sht35", "0x44", NULL, "soak_sensor_temperature_celsius", SIM_FAULT_ALL_ZERO, -EBADMSG},
        {"shtc3", NULL, NULL, "soak_sensor_humidity_percent", SIM_FAULT_NACK, -ENXIO},
        {"shtc3", NULL, NULL, "soak_sensor_temperature_celsius", SIM_FAULT_CRC, -EBADMSG},
        {"shtc3", NULL, NULL, "soak_sensor_temperature_celsius", SIM_FAULT_BUSY, -ENXIO},
        {"shtc3", NULL, NULL, "soak_sensor_temperature_celsius", SIM_FAULT_WRONG_ID, -ENODEV, 1},
        {"aht20", NULL, NULL, "soak_sensor_humidity_percent", SIM_FAULT_NACK, -ENXIO},
        {"aht20", NULL, NULL, "soak_sensor_temperature_celsius", SIM_FAULT_CRC, -EBADMSG},
        {"aht20", NULL, NULL, "soak_sensor_temperature_celsius", SIM_FAULT_BUSY, -ETIMEDOUT},
        {"aht10", NULL, NULL, "soak_sensor_temperature_celsius", SIM_FAULT_UNCAL, -EIO},
        {"aht21", NULL, NULL, "soak_sensor_temperature_celsius", SIM_FAULT_ALL_FF, -ETIMEDOUT},
        {"bh1750", NULL, NULL, "soak_sensor_illuminance_lux", SIM_FAULT_NACK, -ENXIO},
        {"lps25h", "0x5c", NULL, "soak_sensor_pressure_pascals", SIM_FAULT_NACK, -ENXIO},
        {"lps25hb", NULL, NULL, "soak_sensor_pressure_pascals", SIM_FAULT_BUSY, -ETIMEDOUT},
        {"lps25", NULL, NULL, "soak_sensor_pressure_pascals", SIM_FAULT_WRONG_ID, -ENODEV, 1},
        {"lps25", NULL, NULL, "soak_sensor_temperature_celsius", SIM_FAULT_ALL_ZERO, -EAGAIN},
        {"mcp3002", NULL, NULL, "soak_sensor_voltage_volts", SIM_FAULT_NACK, -EIO},
        {"mcp3002", NULL, NULL, "soak_sensor_voltage_volts", SIM_FAULT_ALL_FF, -EIO},
        {"mcp3002", NULL, NULL, "soak_sensor_voltage_volts", SIM_FAULT_CRC, -EBADMSG},
        {"mcp3008", NULL, NULL, "soak_sensor_voltage_volts", SIM_FAULT_ALL_FF, -EIO},
        {"ds18b20", NULL, "28-04160b1e64ff", "soak_sensor_temperature_celsius", SIM_FAULT_POWER_ON,
         -EAGAIN},
        {"ds18b20", NULL, "28-04160b1e64ff", "soak_sensor_temperature_celsius", SIM_FAULT_CRC,
         -EBADMSG},
        {"ds18b20", NULL, "28-04160b1e64ff", "soak_sensor_temperature_celsius", SIM_FAULT_ALL_FF,
         -EBADMSG},
        {"ds18b20", NULL, "28-04160b1e64ff", "soak_sensor_temperature_celsius", SIM_FAULT_ALL_ZERO,
         -EIO},
        {"ds18b20", NULL, "28-0516b2c3d4e5", "soak_sensor_temperature_celsius", SIM_FAULT_BUSY,
         -EAGAIN},
        {"ds18b20", NULL, "28-0516b2c3d4e5", "soak_sensor_temperature_celsius", SIM_FAULT_NACK,
         -ENOENT},
        {"w1", NULL, "28-0316a2791aff", "soak_sensor_temperature_celsius", SIM_FAULT_CRC, -EBADMSG},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct sensors_state st;
        struct sim_chip *chip;
        struct sensors *s;
        char *out;
        int r;

        assert_int_equal(sensors_new(&s), 0);
        configure(s, NULL, "discover", "no");
        configure(s, "x", "driver", cases[i].driver);
        configure(s, "x", "bus", "sim");
        if (cases[i].address)
            configure(s, "x", "address", cases[i].address);
        if (cases[i].device)
            configure(s, "x", "device", cases[i].device);
        assert_int_equal(sensors_prepare(s, "/nonexistent"), 0);
        assert_int_equal(sensors_sample(s, 0), 0);
        chip = sim_bus_chip(sim_bus_from(sensors_bus(s, 0)), 0);
        assert_non_null(chip);
        if (cases[i].swap) {
            sim_chip_set_faults(chip, SIM_FAULT_NACK);
            assert_int_equal(sensors_sample(s, 0), -ENXIO);
        }
        sim_chip_set_faults(chip, cases[i].fault);
        r = sensors_sample(s, 0);
        if (r != cases[i].err)
            fail_msg("%s fault %#x: %d (%s), expected %s", cases[i].driver, cases[i].fault, r,
                     errno_name(r), errno_name(cases[i].err));
        out = render(s);
        expect_line(out, "soak_sensor_up{sensor=\"x\"} 0\n");
        expect_line(out, "soak_sensor_read_errors_total{sensor=\"x\"} %d\n", 1 + cases[i].swap);
        expect_line(out, "soak_sensor_error_info{sensor=\"x\",error=\"%s\"} 1\n",
                    errno_name(cases[i].err));
        expect_line(out, "soak_sensor_reading_age_seconds{sensor=\"x\"} ");
        assert_null(strstr(out, "{sensor=\"x\",chip="));
        free(out);

        sim_chip_set_faults(chip, 0);
        assert_int_equal(sensors_sample(s, 0), 0);
        sensors_get_state(s, 0, &st);
        assert_int_equal(st.up, 1);
        assert_int_equal(st.errors, 1 + cases[i].swap);
        out = render(s);
        expect_line(out, "soak_sensor_up{sensor=\"x\"} 1\n");
        expect_line(out, "%s{sensor=\"x\",chip=", cases[i].family);
        assert_null(strstr(out, "soak_sensor_error_info{sensor=\"x\""));
        free(out);
        s = sensors_free(s);
    }
}

/* The high-temperature probe is a DS18B20 too: its whole range through the manager. */
static void
test_high_temp_probe(void **state)
{
    static const double temps[] = {125.0, 118.5, 85.0, 0.0, -0.0625, -55.0};
    struct sim_chip *chip;
    struct sensors *s;

    (void)state;
    assert_int_equal(sensors_new(&s), 0);
    configure(s, NULL, "discover", "no");
    configure(s, NULL, "timing_metrics", "no");
    configure(s, "hot-probe", "driver", "ds18b20");
    configure(s, "hot-probe", "bus", "sim");
    configure(s, "hot-probe", "device", "28-0516b2c3d4e5");
    assert_int_equal(sensors_prepare(s, "/nonexistent"), 0);
    assert_int_equal(sensors_sample(s, 0), 0);
    chip = sim_bus_chip(sim_bus_from(sensors_bus(s, 0)), 0);
    for (size_t i = 0; i < ARRAY_SIZE(temps); i++) {
        char line[128];
        char *out;

        sim_chip_set_temperature(chip, temps[i]);
        assert_int_equal(sensors_sample(s, 0), 0);
        out = render(s);
        (void)snprintf(
            line, sizeof(line),
            "soak_sensor_temperature_celsius{sensor=\"hot-probe\",chip=\"ds18b20\"} %g\n",
            temps[i]);
        if (!strstr(out, line))
            fail_msg("missing \"%s\" in:\n%s", line, out);
        free(out);
    }
    s = sensors_free(s);
}

/*
 * Plausibility bounds: an MCP3002 input shorted to ground reads as a valid
 * 0 V (SPI has no acknowledge); with voltage_min it is a failed read instead.
 */
static void
test_bounds(void **state)
{
    struct sensors_state st;
    struct sim_chip *chip;
    struct sensors *s;
    char *out;

    (void)state;
    assert_int_equal(sensors_new(&s), 0);
    configure(s, NULL, "discover", "no");
    configure(s, "adc0", "driver", "mcp3002");
    configure(s, "adc0", "bus", "sim");
    configure(s, "adc0", "voltage_min", "0.05");
    configure(s, "adc0", "voltage_max", "3.2");
    configure(s, "room", "driver", "sht30");
    configure(s, "room", "bus", "sim");
    configure(s, "room", "temperature_min", "-20");
    configure(s, "room", "humidity_max", "95");
    assert_int_equal(sensors_prepare(s, "/nonexistent"), 0);
    assert_int_equal(sensors_sample(s, 0), 0); /* 1.65 V */
    assert_int_equal(sensors_sample(s, 1), 0); /* 25 °C, 50 % */
    chip = sim_bus_chip(sim_bus_from(sensors_bus(s, 0)), 0);

    sim_chip_set_faults(chip, SIM_FAULT_ALL_ZERO); /* MISO shorted low: code 0 */
    assert_int_equal(sensors_sample(s, 0), -ERANGE);
    out = render(s);
    expect_line(out, "soak_sensor_up{sensor=\"adc0\"} 0\n");
    expect_line(out, "soak_sensor_error_info{sensor=\"adc0\",error=\"ERANGE\"} 1\n");
    expect_line(out, "soak_sensor_read_errors_total{sensor=\"adc0\"} 1\n");
    assert_null(strstr(out, "soak_sensor_voltage_volts{sensor=\"adc0\""));
    free(out);
    sim_chip_set_faults(chip, 0);
    assert_int_equal(sensors_sample(s, 0), 0);
    sensors_get_state(s, 0, &st);
    assert_int_equal(st.up, 1);
    /* Full scale (3.297 V) is above voltage_max; 3.1 V is within. */
    sim_chip_set_voltage(chip, 0, 3.3);
    assert_int_equal(sensors_sample(s, 0), -ERANGE);
    sim_chip_set_voltage(chip, 0, 3.1);
    assert_int_equal(sensors_sample(s, 0), 0);

    /* Bounds per quantity: humidity above 95 % fails the SHT30, its temperature is fine. */
    chip = sim_bus_chip(sim_bus_from(sensors_bus(s, 1)), 0);
    sim_chip_set_humidity(chip, 99.0);
    assert_int_equal(sensors_sample(s, 1), -ERANGE);
    sim_chip_set_humidity(chip, 60.0);
    sim_chip_set_temperature(chip, -30.0);
    assert_int_equal(sensors_sample(s, 1), -ERANGE);
    sim_chip_set_temperature(chip, -19.0);
    assert_int_equal(sensors_sample(s, 1), 0);
    s = sensors_free(s);

    /* Bad bounds: unparsable, not finite, or min above max (refused at start, named). */
    assert_int_equal(sensors_new(&s), 0);
    assert_int_equal(sensors_configure(s, "a", "voltage_min", "low"), -EINVAL);
    assert_int_equal(sensors_configure(s, "a", "voltage_min", "nan"), -EINVAL);
    assert_int_equal(sensors_configure(s, "a", "voltage_min", "inf"), -EINVAL);
    assert_int_equal(sensors_configure(s, "a", "voltage_mid", "1"), -ENOENT);
    assert_int_equal(sensors_configure(s, "a", "colour_min", "1"), -ENOENT);
    configure(s, "a", "driver", "mcp3002");
    configure(s, "a", "bus", "sim");
    configure(s, "a", "voltage_min", "2");
    configure(s, "a", "voltage_max", "1");
    assert_int_equal(sensors_prepare(s, "/nonexistent"), -EINVAL);
    assert_non_null(strstr(sensors_error(s), "[sensor a]: voltage_min is above voltage_max"));
    s = sensors_free(s);
}

/* The value after `key ` in out (the series must be there). */
static double
series(const char *out, const char *key)
{
    const char *p = strstr(out, key);

    if (!p)
        fail_msg("missing %s in:\n%s", key, out);
    return strtod(p + strlen(key), NULL);
}

/*
 * A reading's age: the last good read's time and its age are exported, also
 * while the sensor is down, so a dashboard can say how stale the last value is.
 */
static void
test_age(void **state)
{
    struct timespec ts = {0, 60 * 1000000L};
    struct sim_chip *chip;
    struct sensors *s;
    double t1, t2, age;
    char *out;

    (void)state;
    assert_int_equal(sensors_new(&s), 0);
    configure(s, NULL, "discover", "no");
    configure(s, "room", "driver", "shtc3");
    configure(s, "room", "bus", "sim");
    assert_int_equal(sensors_prepare(s, "/nonexistent"), 0);
    assert_int_equal(sensors_sample(s, 0), 0);
    out = render(s);
    t1 = series(out, "soak_sensor_last_read_timestamp_seconds{sensor=\"room\"} ");
    assert_true(t1 > 1e9);
    age = series(out, "soak_sensor_reading_age_seconds{sensor=\"room\"} ");
    assert_true(age >= 0 && age < 60);
    free(out);

    (void)nanosleep(&ts, NULL);
    chip = sim_bus_chip(sim_bus_from(sensors_bus(s, 0)), 0);
    sim_chip_set_faults(chip, SIM_FAULT_NACK);
    assert_int_equal(sensors_sample(s, 0), -ENXIO);
    out = render(s);
    t2 = series(out, "soak_sensor_last_read_timestamp_seconds{sensor=\"room\"} ");
    assert_true(t2 == t1); /* the failed read is not a reading */
    age = series(out, "soak_sensor_reading_age_seconds{sensor=\"room\"} ");
    assert_true(age >= 0.059); /* at least the nap: it grows while the sensor is down */
    free(out);
    s = sensors_free(s);
}

static void
test_config_errors(void **state)
{
    const struct collector_ops *ops = &sensors_collector;
    struct sensors *s;
    void *ctx;

    (void)state;
    assert_int_equal(sensors_new(&s), 0);
    assert_int_equal(sensors_configure(s, "x", "driver", "bme999"), -EINVAL);
    assert_int_equal(sensors_configure(s, "x", "colour", "red"), -ENOENT);
    assert_int_equal(sensors_configure(s, "x", "address", "0x80"), -EINVAL);
    assert_int_equal(sensors_configure(s, "x", "address", "0x4g"), -EINVAL);
    assert_int_equal(sensors_configure(s, "x", "interval", "-1"), -EINVAL);
    assert_int_equal(sensors_configure(s, "x", "device", "../../etc"), -EINVAL);
    assert_int_equal(sensors_configure(s, NULL, "discover", "maybe"), -EINVAL);
    assert_int_equal(sensors_configure(s, NULL, "nonsense", "1"), -ENOENT);
    assert_int_equal(sensors_configure(s, NULL, "rescan", "0.5s"), -EINVAL); /* at least 1 s */
    assert_int_equal(sensors_configure(s, NULL, "rescan", "often"), -EINVAL);
    assert_int_equal(sensors_configure(s, NULL, "rescan", "-1"), -EINVAL);
    assert_int_equal(sensors_configure(s, NULL, "rescan", "no"), 0);
    assert_int_equal(sensors_configure(s, NULL, "rescan", "0"), 0);
    assert_int_equal(sensors_configure(s, NULL, "rescan", "2m"), 0);
    /* A sensor without a driver is refused at start with a message naming it. */
    assert_int_equal(sensors_configure(s, "x", "address", "0x44"), 0);
    assert_int_equal(sensors_prepare(s, "/nonexistent"), -EINVAL);
    assert_non_null(strstr(sensors_error(s), "[sensor x]"));
    s = sensors_free(s);

    /* An I2C driver without a bus. */
    assert_int_equal(sensors_new(&s), 0);
    assert_int_equal(sensors_configure(s, "lux", "driver", "bh1750"), 0);
    assert_int_equal(sensors_prepare(s, "/nonexistent"), -EINVAL);
    assert_non_null(strstr(sensors_error(s), "bus"));
    s = sensors_free(s);

    /* The collector interface: "LABEL.key" for sensors, plain keys for globals. */
    assert_string_equal(ops->name, "sensors");
    assert_true(ops->flags & COLLECTOR_SLOW);
    assert_int_equal(ops->init(&ctx), 0);
    assert_int_equal(ops->configure(ctx, "discover", "no"), 0);
    assert_int_equal(ops->configure(ctx, "indoor.driver", "sht3x"), 0);
    assert_int_equal(ops->configure(ctx, "indoor.bus", "sim"), 0);
    assert_int_equal(ops->configure(ctx, "indoor.address", "0x44"), 0);
    assert_int_equal(ops->configure(ctx, "indoor.colour", "red"), -ENOENT);
    assert_int_equal(ops->configure(ctx, ".driver", "sht3x"), -EINVAL);
    assert_int_equal(ops->start(ctx, "/nonexistent"), 0);
    {
        struct expo_writer w;
        struct buf b;

        buf_init(&b, 1 << 16);
        expo_writer_init(&w, &b, EXPO_PROMETHEUS);
        assert_int_equal(ops->read(ctx, "/nonexistent", &w), 0);
        /* start() waited for the first round. */
        assert_non_null(strstr(buf_str(&b), "soak_sensor_up{sensor=\"indoor\"} 1\n"));
        buf_free(&b);
    }
    ops->fini(ctx);
}

/* What the daemon does with a soakd config: [sensor X] k = v -> "X.k", [collector.sensors] -> k. */
static int
conf_route(void *ctx, const char *section, const char *key, const char *value, int line)
{
    (void)line;
    if (strncmp(section, "sensor ", 7) == 0)
        return sensors_configure(ctx, section + 7, key, value);
    if (strcmp(section, "collector.sensors") == 0 && strcmp(key, "enabled") != 0 &&
        strcmp(key, "interval") != 0) /* those two are the daemon's */
        return sensors_configure(ctx, NULL, key, value);
    return 0;
}

/*
 * The three board configs together wire the story's nine sensors, each once:
 * rock-pi-s the indoor SHT30, the BH1750 and the regular DS18B20; rock-pi-e
 * the outdoor SHT30 (through its kernel driver), the LPS25, the
 * high-temperature DS18B20 and the MCP3002; zero-3e the SHTC3 and the AHT20.
 */
static void
test_contrib_configs(void **state)
{
    static const struct {
        const char *board;
        const char *labels[5];
    } boards[] = {
        {"rockpis", {"indoor", "light", "probe"}},
        {"rockpie", {"outdoor", "baro", "hot-probe", "adc0"}},
        {"zero3e", {"shtc3", "aht20"}},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(boards); i++) {
        char path[512], err[256];
        struct sensors *s;
        size_t n = 0;

        (void)snprintf(path, sizeof(path), "%s/contrib/soakd-%s.conf", SOAK_SRC, boards[i].board);
        assert_int_equal(sensors_new(&s), 0);
        if (conf_parse_file(path, conf_route, s, err, sizeof(err)) != 0)
            fail_msg("%s", err);
        assert_int_equal(sensors_prepare(s, "/nonexistent"), 0);
        for (; n < ARRAY_SIZE(boards[i].labels) && boards[i].labels[n]; n++)
            if (sensors_find(s, boards[i].labels[n]) < 0)
                fail_msg("%s: no sensor %s", boards[i].board, boards[i].labels[n]);
        assert_int_equal(sensors_count(s), n);
        s = sensors_free(s);
    }
}

static void
test_real_buses(void **state)
{
    struct sensor_bus *b = NULL;
    char root[512];

    (void)state;
    /* A fixture's /dev/i2c-1 is a regular file: not an i2c-dev node. */
    (void)snprintf(root, sizeof(root), "%s/tests/fixtures/sysfs/farm", SOAK_SRC);
    assert_int_equal(sensor_bus_open_i2c(root, "/dev/i2c-1", 0x44, &b), -ENOTTY);
    assert_int_equal(sensor_bus_open_i2c(root, "/dev/i2c-9", 0x44, &b), -ENOENT);
    assert_int_equal(sensor_bus_open_spi(root, "/dev/spidev0.0", 1000000, &b), -ENOTTY);
    assert_null(b);
    /* The w1 bus refuses path tricks. */
    assert_int_equal(sensor_bus_open_w1(root, &b), 0);
    {
        char text[64];

        assert_int_equal(sensor_w1_read(b, "../..", "w1_slave", text, sizeof(text)), -EINVAL);
        assert_int_equal(sensor_w1_read(b, "28-000000000000", "w1_slave", text, sizeof(text)),
                         -ENOENT);
    }
    b = sensor_bus_close(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sht3x),
        cmocka_unit_test(test_shtc3),
        cmocka_unit_test(test_aht20),
        cmocka_unit_test(test_bh1750),
        cmocka_unit_test(test_lps25),
        cmocka_unit_test(test_mcp3002),
        cmocka_unit_test(test_ds18b20),
        cmocka_unit_test(test_manager),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_real_buses),
        cmocka_unit_test(test_contrib_configs),
        cmocka_unit_test(test_fault_matrix),
        cmocka_unit_test(test_high_temp_probe),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_age),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
