/* SPDX-License-Identifier: MIT */
/*
 * sht3x.c - Sensirion SHT30/31/35 over i2c-dev: break + soft reset, status
 * read as the presence/identity check (the chip has no ID register),
 * single-shot high repeatability without clock stretching, 15 ms wait,
 * CRC-checked 6-byte read.
 */
#include <errno.h>

#include "sensor.h"

#define SHT3X_WAIT_HIGH_US 15000 /* datasheet max, high repeatability */
#define SHT3X_RESET_US 1500      /* soft-reset time */
#define SHT3X_RETRY_US 2000      /* extra wait before the one retry of an early read */

static int
sht3x_cmd(struct sensor_dev *d, uint8_t hi, uint8_t lo)
{
    uint8_t c[2] = {hi, lo};

    return sensor_i2c_write(d->bus, d->addr, c, 2);
}

static int
sht3x_probe(struct sensor_dev *d)
{
    uint8_t st[3];
    int r;

    /*
     * Break first: a chip left in periodic mode ignores the soft reset. Its
     * result is ignored (an absent chip NACKs the reset below anyway).
     */
    (void)sht3x_cmd(d, 0x30, 0x93);
    sensor_sleep_us(d->bus, 1000);
    r = sht3x_cmd(d, 0x30, 0xa2);
    if (r < 0)
        return r;
    sensor_sleep_us(d->bus, SHT3X_RESET_US);
    r = sht3x_cmd(d, 0xf3, 0x2d);
    if (r < 0)
        return r;
    r = sensor_i2c_read(d->bus, d->addr, st, 3);
    if (r < 0)
        return r;
    if (sensor_crc8_sensirion(st, 2) != st[2])
        return -EBADMSG;
    return sht3x_cmd(d, 0x30, 0x41);
}

static int
sht3x_read(struct sensor_dev *d, struct sensor_reading *ret)
{
    struct sensor_reading rd = {0};
    uint8_t b[6];
    uint16_t st, srh;
    double t, rh;
    int r;

    r = sht3x_cmd(d, 0x24, 0x00);
    if (r < 0)
        return r;
    sensor_sleep_us(d->bus, SHT3X_WAIT_HIGH_US);
    r = sensor_i2c_read(d->bus, d->addr, b, 6);
    if (r == -ENXIO) {
        /* Not ready yet (no-stretch mode NACKs the read header): wait and retry once. */
        sensor_sleep_us(d->bus, SHT3X_RETRY_US);
        r = sensor_i2c_read(d->bus, d->addr, b, 6);
    }
    if (r < 0)
        return r;
    r = sensirion_frame(b, &st, &srh);
    if (r < 0)
        return r;
    sht3x_convert(st, srh, &t, &rh);
    if (sensor_reading_add(&rd, SENSOR_TEMPERATURE, t, NULL) < 0 ||
        sensor_reading_add(&rd, SENSOR_HUMIDITY, rh, NULL) < 0)
        return -E2BIG;
    *ret = rd;
    return 0;
}

const struct sensor_driver sensor_driver_sht3x = {
    .name = "sht3x",
    .chip = "sht3x",
    .bus = SENSOR_BUS_I2C,
    .default_addr = 0x44,
    .probe = sht3x_probe,
    .read = sht3x_read,
};
