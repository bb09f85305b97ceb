/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the text of a w1_slave file, through the parser, the
 * scratchpad validation and the whole ds18b20/w1 driver read (a fake w1 bus
 * serves the input as the file; an input starting with 'T' is served as the
 * newer `temperature` file instead, with w1_slave absent).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "sensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fake {
    const uint8_t *data;
    size_t size;
    int temperature_file;
};

static ssize_t
fake_w1_read(void *ctx, const char *id, const char *attr, char *out, size_t size)
{
    struct fake *f = ctx;
    size_t n;

    (void)id;
    if ((strcmp(attr, "temperature") == 0) != f->temperature_file)
        return -ENOENT;
    n = f->size < size - 1 ? f->size : size - 1;
    memcpy(out, f->data, n);
    out[n] = '\0';
    return (ssize_t)n;
}

static void
fake_sleep(void *ctx, unsigned us)
{
    (void)ctx;
    (void)us;
}

static const struct sensor_bus_ops fake_ops = {
    .name = "fuzz",
    .w1_read = fake_w1_read,
    .sleep_us = fake_sleep,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fake f = {data, size, size > 0 && data[0] == 'T'};
    struct sensor_bus bus = {&fake_ops, &f};
    const struct sensor_driver *drivers[2] = {&sensor_driver_ds18b20, &sensor_driver_w1};
    struct w1_slave_text w;
    char text[256];
    size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    double c;

    memcpy(text, data, n);
    text[n] = '\0';
    if (w1_parse_slave(text, n, &w) == 0) {
        static const unsigned families[] = {0x10, 0x22, 0x28, 0x3b, 0x42};

        for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
            if (ds18b20_decode(families[i], w.bytes, &c) == 0)
                FUZZ_ASSERT(isfinite(c));
        if (ds18b20_decode(0x28, w.bytes, &c) == 0)
            FUZZ_ASSERT(c >= -55.0 && c <= 125.0); /* DS18B20 datasheet range */
    }
    for (size_t i = 0; i < 2; i++) {
        struct sensor_dev d;
        struct sensor_reading rd;

        memset(&d, 0, sizeof(d));
        d.bus = &bus;
        memcpy(d.device, "28-04160b1e64ff", 16);
        FUZZ_ASSERT(drivers[i]->probe(&d) >= 0);
        if (drivers[i]->read(&d, &rd) == 0)
            FUZZ_ASSERT(rd.n == 1 && isfinite(rd.v[0].value));
    }
    return 0;
}
