/* SPDX-License-Identifier: MIT */
/*
 * lps25.c - ST LPS25H/LPS25HB over i2c-dev: WHO_AM_I (0xBD), SWRESET, one-shot
 * measurement (CTRL_REG1 = 0x84, CTRL_REG2 ONE_SHOT), polling ONE_SHOT with a
 * 100 ms budget, STATUS P_DA/T_DA check, auto-increment reads of the pressure
 * and temperature outputs, and a 260..1260 hPa plausibility check.
 */
#include <errno.h>

#include "sensor.h"

#define LPS25_WHO_AM_I 0x0f
#define LPS25_ID 0xbd
#define LPS25_CTRL_REG1 0x20
#define LPS25_CTRL_REG2 0x21
#define LPS25_STATUS 0x27
#define LPS25_PRESS_OUT_XL 0x28
#define LPS25_TEMP_OUT_L 0x2b
#define LPS25_AUTO_INC 0x80
#define LPS25_POLL_US 5000 /* one-shot poll step */
#define LPS25_POLL_MAX 20  /* 100 ms budget */

static int
lps25_reg_read(struct sensor_dev *d, uint8_t reg, uint8_t *buf, size_t n)
{
    uint8_t sub = (uint8_t)(n > 1 ? reg | LPS25_AUTO_INC : reg);

    return sensor_i2c_write_read(d->bus, d->addr, &sub, 1, buf, n);
}

static int
lps25_reg_write(struct sensor_dev *d, uint8_t reg, uint8_t val)
{
    uint8_t b[2] = {reg, val};

    return sensor_i2c_write(d->bus, d->addr, b, 2);
}

/* Poll reg until (reg & mask) == 0. */
static int
lps25_wait_clear(struct sensor_dev *d, uint8_t reg, uint8_t mask)
{
    uint8_t v;
    int r;

    for (int i = 0; i <= LPS25_POLL_MAX; i++) {
        r = lps25_reg_read(d, reg, &v, 1);
        if (r < 0)
            return r;
        if (!(v & mask))
            return 0;
        sensor_sleep_us(d->bus, LPS25_POLL_US);
    }
    return -ETIMEDOUT;
}

static int
lps25_probe(struct sensor_dev *d)
{
    uint8_t id;
    int r;

    r = lps25_reg_read(d, LPS25_WHO_AM_I, &id, 1);
    if (r < 0)
        return r;
    if (id != LPS25_ID)
        return -ENODEV;
    r = lps25_reg_write(d, LPS25_CTRL_REG2, 0x04); /* SWRESET */
    if (r < 0)
        return r;
    r = lps25_wait_clear(d, LPS25_CTRL_REG2, 0x04);
    if (r < 0)
        return r;
    return lps25_reg_write(d, LPS25_CTRL_REG1, 0x84); /* PD=1, one-shot, BDU */
}

static int
lps25_read(struct sensor_dev *d, struct sensor_reading *ret)
{
    struct sensor_reading rd = {0};
    uint8_t p[3], t[2], status;
    double pa, c;
    int r;

    r = lps25_reg_write(d, LPS25_CTRL_REG1, 0x84);
    if (r < 0)
        return r;
    r = lps25_reg_write(d, LPS25_CTRL_REG2, 0x01); /* ONE_SHOT */
    if (r < 0)
        return r;
    r = lps25_wait_clear(d, LPS25_CTRL_REG2, 0x01);
    if (r < 0)
        return r;
    r = lps25_reg_read(d, LPS25_STATUS, &status, 1);
    if (r < 0)
        return r;
    if ((status & 0x03) != 0x03)
        return -EAGAIN; /* P_DA/T_DA not set: no new data */
    r = lps25_reg_read(d, LPS25_PRESS_OUT_XL, p, 3);
    if (r < 0)
        return r;
    r = lps25_reg_read(d, LPS25_TEMP_OUT_L, t, 2);
    if (r < 0)
        return r;
    lps25_convert(p, t, &pa, &c);
    if (pa < 26000.0 || pa > 126000.0)
        return -ERANGE; /* outside the chip's range: garbage (or no auto-increment) */
    if (sensor_reading_add(&rd, SENSOR_PRESSURE, pa, NULL) < 0 ||
        sensor_reading_add(&rd, SENSOR_TEMPERATURE, c, NULL) < 0)
        return -E2BIG;
    *ret = rd;
    return 0;
}

const struct sensor_driver sensor_driver_lps25 = {
    .name = "lps25",
    .chip = "lps25h",
    .bus = SENSOR_BUS_I2C,
    .default_addr = 0x5d,
    .probe = lps25_probe,
    .read = lps25_read,
};
