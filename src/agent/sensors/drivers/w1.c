/* SPDX-License-Identifier: MIT */
/*
 * w1.c - 1-Wire thermometers through the kernel's w1_therm sysfs files.
 *
 * ds18b20: reads w1_slave, requires "crc=xx YES", recomputes the Dallas CRC
 * and validates the scratchpad itself (power-on 85 °C, all-zero bus, range),
 * and decodes the exact value (the kernel's t= truncates to whole m°C).
 * w1: the same for any w1_therm family; when w1_slave is absent it falls back
 * to the newer `temperature` file (m°C). An empty w1_slave is what kernels
 * >= 5.9 return on a CRC failure or a missing presence pulse.
 */
#include <errno.h>
#include <string.h>

#include "sensor.h"

#define W1_TEXT_MAX 256

static int
w1_family(const char *id, unsigned *ret)
{
    int h, l;

    if (strlen(id) < 4 || id[2] != '-')
        return -EINVAL;
    h = id[0] >= 'a' ? id[0] - 'a' + 10 : id[0] - '0';
    l = id[1] >= 'a' ? id[1] - 'a' + 10 : id[1] - '0';
    if (h < 0 || h > 15 || l < 0 || l > 15)
        return -EINVAL;
    *ret = (unsigned)(h << 4 | l);
    return 0;
}

/* Chip name of a w1_therm family code; NULL when it is not a thermometer. */
const char *
w1_family_chip(unsigned family)
{
    switch (family) {
    case 0x10:
        return "ds18s20";
    case 0x22:
        return "ds1822";
    case 0x28:
        return "ds18b20";
    case 0x3b:
        return "ds1825";
    case 0x42:
        return "ds28ea00";
    default:
        return NULL;
    }
}

static int
w1_probe_any(struct sensor_dev *d, int ds18b20_only)
{
    unsigned fam;
    const char *chip;

    if (w1_family(d->device, &fam) < 0)
        return -EINVAL;
    chip = w1_family_chip(fam);
    if (!chip)
        return -ENODEV;
    if (ds18b20_only && fam != 0x28 && fam != 0x22 && fam != 0x3b)
        return -ENODEV;
    memcpy(d->chip, chip, strlen(chip) + 1); /* short literals from w1_family_chip() */
    return 0;
}

static int
ds18b20_probe(struct sensor_dev *d)
{
    return w1_probe_any(d, 1);
}

static int
w1_probe(struct sensor_dev *d)
{
    return w1_probe_any(d, 0);
}

static int
w1_read_any(struct sensor_dev *d, int allow_temperature_file, struct sensor_reading *ret)
{
    struct sensor_reading rd = {0};
    struct w1_slave_text w;
    char text[W1_TEXT_MAX];
    unsigned fam = 0;
    double c;
    ssize_t n;
    int r;

    (void)w1_family(d->device, &fam);
    n = sensor_w1_read(d->bus, d->device, "w1_slave", text, sizeof(text));
    if (n == -ENOENT && allow_temperature_file) {
        n = sensor_w1_read(d->bus, d->device, "temperature", text, sizeof(text));
        if (n < 0)
            return (int)n;
        r = sysfs_parse_number(text, (size_t)n, &c);
        if (r < 0)
            return n == 0 ? -EBADMSG : r; /* empty: the kernel's CRC check failed */
        c /= 1000.0;
        if ((fam == 0x28 || fam == 0x22) && (c < -55.0 || c > 125.0))
            return -ERANGE; /* as ds18b20_decode: outside the chip's range */
        goto out;
    }
    if (n < 0)
        return (int)n;
    r = w1_parse_slave(text, (size_t)n, &w);
    if (r == -ENODATA)
        return -EBADMSG; /* newer kernels: CRC failed 5 times, or no presence pulse */
    if (r < 0)
        return r;
    if (!w.crc_yes)
        return -EBADMSG;
    r = ds18b20_decode(fam, w.bytes, &c);
    if (r < 0)
        return r;
    if (fam != 0x28 && fam != 0x22 && fam != 0x3b && fam != 0x10 && w.has_t)
        c = (double)w.t_milli / 1000.0;
out:
    if (sensor_reading_add(&rd, SENSOR_TEMPERATURE, c, NULL) < 0)
        return -E2BIG;
    *ret = rd;
    return 0;
}

static int
ds18b20_read(struct sensor_dev *d, struct sensor_reading *ret)
{
    return w1_read_any(d, 0, ret);
}

static int
w1_read(struct sensor_dev *d, struct sensor_reading *ret)
{
    return w1_read_any(d, 1, ret);
}

const struct sensor_driver sensor_driver_ds18b20 = {
    .name = "ds18b20",
    .chip = "ds18b20",
    .bus = SENSOR_BUS_W1,
    .probe = ds18b20_probe,
    .read = ds18b20_read,
};

const struct sensor_driver sensor_driver_w1 = {
    .name = "w1",
    .chip = "w1_therm",
    .bus = SENSOR_BUS_W1,
    .probe = w1_probe,
    .read = w1_read,
};
