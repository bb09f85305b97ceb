/* SPDX-License-Identifier: MIT */
/*
 * aht20.c - Aosong AHT20 (AHT10/AHT21) over i2c-dev: soft reset, calibration
 * check (status bit 3) with BE 08 00 init when needed, trigger AC 33 00,
 * 80 ms wait, busy polling with a 200 ms budget, 7-byte CRC-checked read.
 */
#include <errno.h>

#include "sensor.h"

#define AHT20_RESET_US 20000 /* soft reset, max */
#define AHT20_INIT_US 10000  /* after BE 08 00 */
#define AHT20_MEAS_US 80000  /* measurement */
#define AHT20_POLL_US 10000  /* busy poll step */
#define AHT20_POLL_MAX 12    /* polls after the 80 ms wait: 200 ms overall */

static int
aht20_status(struct sensor_dev *d, uint8_t *ret)
{
    return sensor_i2c_read(d->bus, d->addr, ret, 1);
}

static int
aht20_calibrate(struct sensor_dev *d)
{
    static const uint8_t init[3] = {0xbe, 0x08, 0x00};
    uint8_t st;
    int r;

    r = aht20_status(d, &st);
    if (r < 0)
        return r;
    if (st & 0x08)
        return 0;
    r = sensor_i2c_write(d->bus, d->addr, init, 3);
    if (r < 0)
        return r;
    sensor_sleep_us(d->bus, AHT20_INIT_US);
    r = aht20_status(d, &st);
    if (r < 0)
        return r;
    return (st & 0x08) ? 0 : -EIO;
}

static int
aht20_probe(struct sensor_dev *d)
{
    static const uint8_t reset = 0xba;
    int r;

    r = sensor_i2c_write(d->bus, d->addr, &reset, 1);
    if (r < 0)
        return r;
    sensor_sleep_us(d->bus, AHT20_RESET_US);
    return aht20_calibrate(d);
}

static int
aht20_read(struct sensor_dev *d, struct sensor_reading *ret)
{
    static const uint8_t trigger[3] = {0xac, 0x33, 0x00};
    struct sensor_reading rd = {0};
    uint8_t b[7], st;
    double t, rh;
    int r, i;

    r = aht20_calibrate(d);
    if (r < 0)
        return r;
    r = sensor_i2c_write(d->bus, d->addr, trigger, 3);
    if (r < 0)
        return r;
    sensor_sleep_us(d->bus, AHT20_MEAS_US);
    for (i = 0;; i++) {
        r = aht20_status(d, &st);
        if (r < 0)
            return r;
        if (!(st & 0x80))
            break;
        if (i == AHT20_POLL_MAX)
            return -ETIMEDOUT; /* busy bit stuck */
        sensor_sleep_us(d->bus, AHT20_POLL_US);
    }
    r = sensor_i2c_read(d->bus, d->addr, b, 7);
    if (r < 0)
        return r;
    r = aht20_convert(b, &t, &rh);
    if (r < 0)
        return r;
    if (sensor_reading_add(&rd, SENSOR_TEMPERATURE, t, NULL) < 0 ||
        sensor_reading_add(&rd, SENSOR_HUMIDITY, rh, NULL) < 0)
        return -E2BIG;
    *ret = rd;
    return 0;
}

const struct sensor_driver sensor_driver_aht20 = {
    .name = "aht20",
    .chip = "aht20",
    .bus = SENSOR_BUS_I2C,
    .default_addr = 0x38,
    .probe = aht20_probe,
    .read = aht20_read,
};
