/* SPDX-License-Identifier: MIT */
/*
 * shtc3.c - Sensirion SHTC3 over i2c-dev: wake-up, soft reset, ID check
 * ((id & 0x083F) == 0x0807), normal-mode T-first measurement without clock
 * stretching, 12.1 ms wait, CRC-checked read, back to sleep.
 */
#include <errno.h>

#include "sensor.h"

#define SHTC3_WAKE_US 240   /* wake-up time, max */
#define SHTC3_RESET_US 1000 /* soft reset */
#define SHTC3_MEAS_US 12100 /* normal mode measurement, max */
#define SHTC3_RETRY_US 2000 /* before the one retry of an early read */

static int
shtc3_cmd(struct sensor_dev *d, uint8_t hi, uint8_t lo)
{
    uint8_t c[2] = {hi, lo};

    return sensor_i2c_write(d->bus, d->addr, c, 2);
}

static int
shtc3_wake(struct sensor_dev *d)
{
    int r = shtc3_cmd(d, 0x35, 0x17);

    if (r == 0)
        sensor_sleep_us(d->bus, SHTC3_WAKE_US);
    return r;
}

static int
shtc3_probe(struct sensor_dev *d)
{
    uint8_t id[3];
    uint16_t w;
    int r;

    r = shtc3_wake(d);
    if (r < 0)
        return r;
    r = shtc3_cmd(d, 0x80, 0x5d);
    if (r < 0)
        return r;
    sensor_sleep_us(d->bus, SHTC3_RESET_US);
    r = shtc3_cmd(d, 0xef, 0xc8);
    if (r < 0)
        return r;
    r = sensor_i2c_read(d->bus, d->addr, id, 3);
    if (r < 0)
        return r;
    if (sensor_crc8_sensirion(id, 2) != id[2])
        return -EBADMSG;
    w = (uint16_t)(id[0] << 8 | id[1]);
    if ((w & 0x083f) != 0x0807)
        return -ENODEV; /* an SHTC1/SHTW1 or something else */
    return 0;
}

static int
shtc3_read(struct sensor_dev *d, struct sensor_reading *ret)
{
    struct sensor_reading rd = {0};
    uint8_t b[6];
    uint16_t st, srh;
    double t, rh;
    int r;

    r = shtc3_wake(d);
    if (r < 0)
        return r;
    r = shtc3_cmd(d, 0x78, 0x66);
    if (r < 0)
        return r;
    sensor_sleep_us(d->bus, SHTC3_MEAS_US);
    r = sensor_i2c_read(d->bus, d->addr, b, 6);
    if (r == -ENXIO) {
        sensor_sleep_us(d->bus, SHTC3_RETRY_US);
        r = sensor_i2c_read(d->bus, d->addr, b, 6);
    }
    /* Sleep between reads (a few µA); a failure here does not spoil the sample. */
    (void)shtc3_cmd(d, 0xb0, 0x98);
    if (r < 0)
        return r;
    r = sensirion_frame(b, &st, &srh);
    if (r < 0)
        return r;
    shtc3_convert(st, srh, &t, &rh);
    if (sensor_reading_add(&rd, SENSOR_TEMPERATURE, t, NULL) < 0 ||
        sensor_reading_add(&rd, SENSOR_HUMIDITY, rh, NULL) < 0)
        return -E2BIG;
    *ret = rd;
    return 0;
}

const struct sensor_driver sensor_driver_shtc3 = {
    .name = "shtc3",
    .chip = "shtc3",
    .bus = SENSOR_BUS_I2C,
    .default_addr = 0x70,
    .probe = shtc3_probe,
    .read = shtc3_read,
};
