/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the pure sensor functions: CRCs, datasheet conversions
 * (worked examples from the datasheet formulas, range ends, negative
 * temperatures), the w1_slave and sysfs number parsers, IIO channel names and
 * the MCP300x frame decoder.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sensor.h"

#define NEAR(a, b, eps) assert_true(fabs((a) - (b)) <= (eps))

static void
test_crc_sensirion(void **state)
{
    static const uint8_t beef[2] = {0xbe, 0xef};
    static const struct {
        uint8_t b[2];
        uint8_t crc;
    } v[] = {
        {{0x00, 0x00}, 0x81}, {{0xff, 0xff}, 0xac}, {{0x66, 0x66}, 0x93},
        {{0x80, 0x00}, 0xa2}, {{0x66, 0x67}, 0xa2},
    };
    uint8_t with[3] = {0xbe, 0xef, 0x92};

    (void)state;
    /* The datasheet's example. */
    assert_int_equal(sensor_crc8_sensirion(beef, 2), 0x92);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        assert_int_equal(sensor_crc8_sensirion(v[i].b, 2), v[i].crc);
    /* Data plus its CRC gives 0. */
    assert_int_equal(sensor_crc8_sensirion(with, 3), 0);
}

static void
test_crc_dallas(void **state)
{
    static const uint8_t rom[7] = {0x02, 0x1c, 0xb8, 0x01, 0x00, 0x00, 0x00};
    static const uint8_t sp[8] = {0x72, 0x01, 0x4b, 0x46, 0x7f, 0xff, 0x0e, 0x10};
    uint8_t zero[8] = {0}, ff[8];

    (void)state;
    memset(ff, 0xff, sizeof(ff));
    assert_int_equal(sensor_crc8_dallas(rom, 7), 0xa2); /* Maxim's ROM example */
    assert_int_equal(sensor_crc8_dallas(sp, 8), 0x57);
    assert_int_equal(sensor_crc8_dallas(zero, 8), 0x00);
    assert_int_equal(sensor_crc8_dallas(ff, 8), 0xc9);
}

static void
test_sht3x(void **state)
{
    static const struct {
        uint8_t b[6];
        double t, rh;
    } v[] = {
        {{0x66, 0x66, 0x93, 0x80, 0x00, 0xa2}, 25.0, 50.0008},
        {{0x5e, 0x2e, 0x92, 0x6b, 0x7a, 0xed}, 19.3816, 41.9837},
        {{0x33, 0x33, 0x88, 0xcc, 0xcc, 0xa5}, -10.0, 80.0},
        {{0x40, 0x00, 0x08, 0x40, 0x00, 0x08}, -1.2493, 25.0004},
        {{0x00, 0x00, 0x81, 0x00, 0x00, 0x81}, -45.0, 0.0},
        {{0xff, 0xff, 0xac, 0xff, 0xff, 0xac}, 130.0, 100.0},
    };
    static const uint8_t bad[6] = {0x66, 0x67, 0x93, 0x80, 0x00, 0xa2};
    uint16_t st, srh;
    double t, rh;

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(sensirion_frame(v[i].b, &st, &srh), 0);
        sht3x_convert(st, srh, &t, &rh);
        NEAR(t, v[i].t, 0.0001);
        NEAR(rh, v[i].rh, 0.0001);
    }
    /* 66 67 carries CRC 0xA2, not 0x93. */
    assert_int_equal(sensirion_frame(bad, &st, &srh), -EBADMSG);
}

static void
test_shtc3(void **state)
{
    double t, rh;

    (void)state;
    /* 2^16 divisor: ST 0x6666 -> -45 + 175*26214/65536 */
    shtc3_convert(0x6666, 0x8000, &t, &rh);
    NEAR(t, 24.998932, 0.000001);
    NEAR(rh, 50.0, 1e-9);
    shtc3_convert(0, 0, &t, &rh);
    NEAR(t, -45.0, 1e-9);
    NEAR(rh, 0.0, 1e-9);
    shtc3_convert(0xffff, 0xffff, &t, &rh);
    NEAR(t, 129.99733, 0.00001);
    NEAR(rh, 99.99847, 0.00001);
}

static void
test_aht20(void **state)
{
    static const uint8_t cap1[7] = {0x1c, 0x3b, 0x5e, 0x86, 0x88, 0xb2, 0xd2};
    static const uint8_t cap2[7] = {0x1c, 0x26, 0x9a, 0x76, 0x42, 0xe7, 0x76};
    static const uint8_t syn[7] = {0x1c, 0x80, 0x00, 0x06, 0x00, 0x00, 0x4e};
    static const uint8_t busy[7] = {0x9c, 0x80, 0x00, 0x06, 0x00, 0x00, 0xa2};
    uint8_t ff[7];
    double t, rh;

    (void)state;
    assert_int_equal(aht20_convert(cap1, &t, &rh), 0);
    NEAR(rh, 23.191071, 0.000001);
    NEAR(t, 31.674576, 0.000001);
    assert_int_equal(aht20_convert(cap2, &t, &rh), 0);
    NEAR(rh, 15.079403, 0.000001);
    NEAR(t, 28.266716, 0.000001);
    assert_int_equal(aht20_convert(syn, &t, &rh), 0);
    NEAR(rh, 50.0, 1e-9);
    NEAR(t, 25.0, 1e-9);
    assert_int_equal(aht20_convert(busy, &t, &rh), -EBUSY);
    memset(ff, 0xff, sizeof(ff));
    assert_int_equal(aht20_convert(ff, &t, &rh), -EBADMSG);
}

static void
test_bh1750(void **state)
{
    (void)state;
    NEAR(bh1750_lux(33680, 69, 0), 28066.667, 0.001); /* datasheet p.10 */
    NEAR(bh1750_lux(120, 69, 0), 100.0, 1e-9);
    NEAR(bh1750_lux(500, 69, 0), 416.667, 0.001);
    NEAR(bh1750_lux(65535, 69, 0), 54612.5, 1e-6);
    NEAR(bh1750_lux(0, 69, 0), 0.0, 1e-12);
    NEAR(bh1750_lux(120, 138, 0), 50.0, 1e-9);
    NEAR(bh1750_lux(120, 69, 1), 50.0, 1e-9);
}

static void
test_lps25(void **state)
{
    static const struct {
        uint8_t p[3], t[2];
        double hpa, c;
    } v[] = {
        {{0x00, 0x54, 0x3f}, {0x30, 0xdf}, 1013.25, 25.0},
        {{0x00, 0x60, 0x3b}, {0x90, 0x9d}, 950.0, -10.0},
        {{0x00, 0xc8, 0x44}, {0x00, 0x00}, 1100.5, 42.5},
        {{0x00, 0x40, 0x10}, {0x50, 0xb0}, 260.0, 0.0},
    };
    double pa, c;

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        lps25_convert(v[i].p, v[i].t, &pa, &c);
        NEAR(pa, v[i].hpa * 100.0, 1e-6);
        NEAR(c, v[i].c, 1e-9);
    }
}

static void
test_mcp3002(void **state)
{
    /* 24-clock MSBF=0 frame: [4 x][null][B9..B0][B1..B9]. */
    static const uint8_t f512[3] = {0x04, 0x00, 0x01};
    uint8_t f[3];
    unsigned code;

    (void)state;
    NEAR(mcp3002_volts(512, 3.3), 1.65, 1e-12);
    NEAR(mcp3002_volts(677, 3.3), 2.18174, 0.00001);
    NEAR(mcp3002_volts(1023, 3.3), 3.29678, 0.00001);
    NEAR(mcp3002_volts(310, 5.0), 1.51367, 0.00001);
    NEAR(mcp3002_volts(0, 3.3), 0.0, 1e-12);

    /* code 512 = B9 set: bit 5 of the frame; its repeat B9 is the frame's last bit. */
    (void)f512;
    memset(f, 0, sizeof(f));
    f[0] = 0x04; /* bit index 5 -> 0x04 */
    f[2] = 0x01; /* bit index 23 (B9 repeat) */
    assert_int_equal(mcp300x_decode(2, f, &code), 0);
    assert_int_equal(code, 512);
    /* MISO high: the null bit is 1. */
    memset(f, 0xff, sizeof(f));
    assert_int_equal(mcp300x_decode(2, f, &code), -EIO);
    /* Word without a matching repeat. */
    f[0] = 0x04;
    f[1] = 0x00;
    f[2] = 0x00;
    assert_int_equal(mcp300x_decode(2, f, &code), -EBADMSG);
    /* MCP3008 frame: rx1 low 2 bits + rx2; null bit is rx1 bit 2. */
    f[0] = 0;
    f[1] = 0x02;
    f[2] = 0xa5;
    assert_int_equal(mcp300x_decode(8, f, &code), 0);
    assert_int_equal(code, 677);
    f[1] = 0x06;
    assert_int_equal(mcp300x_decode(8, f, &code), -EIO);
}

static void
test_w1_parse(void **state)
{
    static const char ok[] = "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n"
                             "72 01 4b 46 7f ff 0e 10 57 t=23125\n";
    static const char no[] = "ff ff ff ff ff ff ff ff ff : crc=c9 NO\n"
                             "ff ff ff ff ff ff ff ff ff t=-62\n";
    struct w1_slave_text w;

    (void)state;
    assert_int_equal(w1_parse_slave(ok, sizeof(ok) - 1, &w), 0);
    assert_true(w.crc_yes);
    assert_true(w.has_t);
    assert_int_equal(w.t_milli, 23125);
    assert_int_equal(w.bytes[0], 0x72);
    assert_int_equal(w.bytes[8], 0x57);
    assert_int_equal(w1_parse_slave(no, sizeof(no) - 1, &w), 0);
    assert_false(w.crc_yes);
    assert_int_equal(w.t_milli, -62);
    assert_int_equal(w1_parse_slave("", 0, &w), -ENODATA);
    assert_int_equal(w1_parse_slave("72 01 4b", 8, &w), -EINVAL);
    assert_int_equal(w1_parse_slave("72 01 4b 46 7f ff 0e 10 57 : crc=57 MAYBE\n", 44, &w),
                     -EINVAL);
    assert_int_equal(w1_parse_slave("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\nxx t=1\n", 48, &w),
                     -EINVAL);
    /* Line 1 alone is accepted (t= is optional). */
    assert_int_equal(w1_parse_slave(ok, 40, &w), 0);
    assert_false(w.has_t);
}

static void
test_ds18b20(void **state)
{
    static const struct {
        uint8_t sp[9];
        double c;
    } v[] = {
        {{0x72, 0x01, 0x4b, 0x46, 0x7f, 0xff, 0x0e, 0x10, 0x57}, 23.125},
        {{0x91, 0x01, 0x4b, 0x46, 0x7f, 0xff, 0x0f, 0x10, 0x25}, 25.0625},
        {{0x00, 0x00, 0x4b, 0x46, 0x7f, 0xff, 0x10, 0x10, 0x69}, 0.0},
        {{0x5e, 0xff, 0x4b, 0x46, 0x7f, 0xff, 0x02, 0x10, 0xb6}, -10.125},
        {{0x6f, 0xfe, 0x4b, 0x46, 0x7f, 0xff, 0x01, 0x10, 0x61}, -25.0625},
        {{0x90, 0xfc, 0x4b, 0x46, 0x7f, 0xff, 0x10, 0x10, 0xee}, -55.0},
        {{0xd0, 0x07, 0x4b, 0x46, 0x7f, 0xff, 0x10, 0x10, 0x55}, 125.0},
        {{0x70, 0x01, 0x4b, 0x46, 0x1f, 0xff, 0x10, 0x10, 0x71}, 23.0},
    };
    static const uint8_t poweron[9] = {0x50, 0x05, 0x4b, 0x46, 0x7f, 0xff, 0x0c, 0x10, 0x1c};
    static const uint8_t poweron_7ff[9] = {0xff, 0x07, 0x4b, 0x46, 0x7f, 0xff, 0x0c, 0x10, 0xa6};
    static const uint8_t over[9] = {0x00, 0x08, 0x4b, 0x46, 0x7f, 0xff, 0x10, 0x10, 0x98};
    static const uint8_t under[9] = {0x80, 0xfc, 0x4b, 0x46, 0x7f, 0xff, 0x10, 0x10, 0xba};
    static const uint8_t max_7ff[9] = {0xff, 0x07, 0x4b, 0x46, 0x7f, 0xff, 0x01, 0x10, 0x2f};
    uint8_t zero[9] = {0}, ff[9], bad[9];
    double c;

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(ds18b20_decode(0x28, v[i].sp, &c), 0);
        NEAR(c, v[i].c, 1e-9);
    }
    assert_int_equal(ds18b20_decode(0x28, poweron, &c), -EAGAIN);
    /* 0x07FF with byte 6 = 0x0C is the other no-conversion value (the kernel's check_result). */
    assert_int_equal(ds18b20_decode(0x28, poweron_7ff, &c), -EAGAIN);
    /* Past the chip's range (+128 °C, -56 °C, 127.94 °C after a conversion): refused. */
    assert_int_equal(ds18b20_decode(0x28, over, &c), -ERANGE);
    assert_int_equal(ds18b20_decode(0x28, under, &c), -ERANGE);
    assert_int_equal(ds18b20_decode(0x28, max_7ff, &c), -ERANGE);
    assert_int_equal(ds18b20_decode(0x28, zero, &c), -EIO); /* passes CRC, fails byte 7 */
    memset(ff, 0xff, sizeof(ff));
    assert_int_equal(ds18b20_decode(0x28, ff, &c), -EBADMSG);
    memcpy(bad, v[0].sp, sizeof(bad));
    bad[0] ^= 0x01;
    assert_int_equal(ds18b20_decode(0x28, bad, &c), -EBADMSG);
}

/* Family 0x3B: a DS1825 (config bit 7 = 0) decodes as a DS18B20; a MAX31850 (bit 7 = 1) has a
 * fault flag in bit 0 and reads past 125 °C. */
static void
test_family_3b(void **state)
{
    /* 25.0625 °C = 0x0191 (bit 0 set: data on a DS1825, a fault on a MAX31850) */
    uint8_t ds1825[9] = {0x91, 0x01, 0x4b, 0x46, 0x70, 0xff, 0x0f, 0x10, 0};
    uint8_t max_fault[9] = {0x91, 0x01, 0x01, 0x00, 0xf0, 0xff, 0xff, 0xff, 0};
    uint8_t max_ok[9] = {0x90, 0x01, 0x00, 0x00, 0xf0, 0xff, 0xff, 0xff, 0};
    uint8_t max_hot[9] = {0x00, 0x19, 0x00, 0x00, 0xf0, 0xff, 0xff, 0xff, 0}; /* 400 °C */
    uint8_t ds1825_hot[9] = {0x00, 0x19, 0x4b, 0x46, 0x70, 0xff, 0x10, 0x10, 0};
    double c = 0;

    (void)state;
    ds1825[8] = sensor_crc8_dallas(ds1825, 8);
    max_fault[8] = sensor_crc8_dallas(max_fault, 8);
    max_ok[8] = sensor_crc8_dallas(max_ok, 8);
    max_hot[8] = sensor_crc8_dallas(max_hot, 8);
    ds1825_hot[8] = sensor_crc8_dallas(ds1825_hot, 8);
    assert_int_equal(ds18b20_decode(0x3b, ds1825, &c), 0);
    NEAR(c, 25.0625, 1e-9);
    assert_int_equal(ds18b20_decode(0x3b, max_fault, &c), -EIO);
    assert_int_equal(ds18b20_decode(0x3b, max_ok, &c), 0);
    NEAR(c, 25.0, 1e-9);
    assert_int_equal(ds18b20_decode(0x3b, max_hot, &c), 0);
    NEAR(c, 400.0, 1e-9);
    assert_int_equal(ds18b20_decode(0x3b, ds1825_hot, &c), -ERANGE);
}

static void
test_sysfs_number(void **state)
{
    double v;

    (void)state;
    assert_int_equal(sysfs_parse_number("-12345\n", 7, &v), 0);
    NEAR(v, -12345.0, 0);
    assert_int_equal(sysfs_parse_number("0.000024414\n", 12, &v), 0);
    NEAR(v, 0.000024414, 1e-15);
    assert_int_equal(sysfs_parse_number("20400.000000000", 15, &v), 0);
    NEAR(v, 20400.0, 0);
    assert_int_equal(sysfs_parse_number("", 0, &v), -EINVAL);
    assert_int_equal(sysfs_parse_number("\n", 1, &v), -EINVAL);
    assert_int_equal(sysfs_parse_number("12 34\n", 6, &v), -EINVAL);
    assert_int_equal(sysfs_parse_number("nan\n", 4, &v), -EINVAL);
    assert_int_equal(sysfs_parse_number("1\nx\n", 4, &v), -EINVAL);
}

static void
test_iio_channel(void **state)
{
    struct sensor_sysfs_channel c;

    (void)state;
    assert_int_equal(iio_channel_parse("in_voltage0_raw", &c), 0);
    assert_int_equal(c.quantity, SENSOR_VOLTAGE);
    assert_string_equal(c.base, "in_voltage0");
    assert_string_equal(c.type_base, "in_voltage");
    assert_string_equal(c.channel, "voltage0");
    assert_false(c.has_input);
    assert_int_equal(iio_channel_parse("in_voltage0-voltage1_raw", &c), 0);
    assert_string_equal(c.channel, "voltage0-voltage1");
    assert_int_equal(iio_channel_parse("in_temp_input", &c), 0);
    assert_int_equal(c.quantity, SENSOR_TEMPERATURE);
    assert_string_equal(c.channel, "");
    assert_true(c.has_input);
    assert_int_equal(iio_channel_parse("in_pressure_raw", &c), 0);
    assert_int_equal(c.quantity, SENSOR_PRESSURE);
    assert_int_equal(iio_channel_parse("in_humidityrelative_input", &c), 0);
    assert_int_equal(c.quantity, SENSOR_HUMIDITY);
    assert_int_equal(iio_channel_parse("in_illuminance_raw", &c), 0);
    assert_int_equal(c.quantity, SENSOR_ILLUMINANCE);
    assert_int_equal(iio_channel_parse("in_temp_ambient_raw", &c), 0);
    assert_string_equal(c.channel, "ambient");
    assert_int_equal(iio_channel_parse("in_illuminance_scale", &c), -EINVAL);
    assert_int_equal(iio_channel_parse("in_accel_x_raw", &c), -EINVAL);
    assert_int_equal(iio_channel_parse("in_tempx_raw", &c), -EINVAL);
    assert_int_equal(iio_channel_parse("_raw", &c), -EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_sensirion), cmocka_unit_test(test_crc_dallas),
        cmocka_unit_test(test_sht3x),         cmocka_unit_test(test_shtc3),
        cmocka_unit_test(test_aht20),         cmocka_unit_test(test_bh1750),
        cmocka_unit_test(test_lps25),         cmocka_unit_test(test_mcp3002),
        cmocka_unit_test(test_w1_parse),      cmocka_unit_test(test_ds18b20), cmocka_unit_test(test_family_3b),
        cmocka_unit_test(test_sysfs_number),  cmocka_unit_test(test_iio_channel),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
