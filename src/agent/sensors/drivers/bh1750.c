/* SPDX-License-Identifier: MIT */
/*
 * bh1750.c - ROHM BH1750FVI over i2c-dev: power on, reset, MTreg, one-time
 * H-resolution measurement (0x20), the datasheet's 180 ms max wait scaled by
 * MTreg/69, 2-byte big-endian read. The chip has no ID, status or CRC: a NACK
 * is the only failure it can report; 0xFFFF (saturation) is reported as is.
 */
#include <errno.h>

#include "sensor.h"

#define BH1750_MT_DEFAULT 69
#define BH1750_HRES_MAX_US 180000 /* H-res measurement at MTreg 69, max */

static unsigned
bh1750_mt(const struct sensor_dev *d)
{
    return d->model >= 31 && d->model <= 254 ? d->model : BH1750_MT_DEFAULT;
}

static int
bh1750_op(struct sensor_dev *d, uint8_t op)
{
    /* Every opcode is its own transaction. */
    return sensor_i2c_write(d->bus, d->addr, &op, 1);
}

static int
bh1750_probe(struct sensor_dev *d)
{
    unsigned mt = bh1750_mt(d);
    int r;

    r = bh1750_op(d, 0x01); /* power on: reset is refused in power-down */
    if (r < 0)
        return r;
    r = bh1750_op(d, 0x07);
    if (r < 0)
        return r;
    r = bh1750_op(d, (uint8_t)(0x40 | (mt >> 5)));
    if (r < 0)
        return r;
    return bh1750_op(d, (uint8_t)(0x60 | (mt & 0x1f)));
}

static int
bh1750_read(struct sensor_dev *d, struct sensor_reading *ret)
{
    struct sensor_reading rd = {0};
    unsigned mt = bh1750_mt(d);
    uint8_t b[2];
    int r;

    r = bh1750_op(d, 0x20);
    if (r < 0)
        return r;
    sensor_sleep_us(d->bus, (unsigned)((uint64_t)BH1750_HRES_MAX_US * mt / BH1750_MT_DEFAULT));
    r = sensor_i2c_read(d->bus, d->addr, b, 2);
    if (r < 0)
        return r;
    if (sensor_reading_add(&rd, SENSOR_ILLUMINANCE, bh1750_lux((uint16_t)(b[0] << 8 | b[1]), mt, 0),
                           NULL) < 0)
        return -E2BIG;
    *ret = rd;
    return 0;
}

const struct sensor_driver sensor_driver_bh1750 = {
    .name = "bh1750",
    .chip = "bh1750",
    .bus = SENSOR_BUS_I2C,
    .default_addr = 0x23,
    .probe = bh1750_probe,
    .read = bh1750_read,
};
