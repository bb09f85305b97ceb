/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: IIO/hwmon sysfs text. The first line is taken as an
 * attribute file name (iio_channel_parse), the rest as the file's contents
 * (sysfs_parse_number, which must reject junk and non-finite numbers).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t namelen = nl ? (size_t)(nl - data) : size;
    struct sensor_sysfs_channel c;
    char name[256];
    double v;

    if (namelen < sizeof(name)) {
        memcpy(name, data, namelen);
        name[namelen] = '\0';
        if (iio_channel_parse(name, &c) == 0) {
            if (c.quantity < 0 || c.quantity >= _SENSOR_QUANTITY_MAX)
                __builtin_trap();
            if (strlen(c.base) >= sizeof(c.base) || strncmp(c.base, "in_", 3) != 0)
                __builtin_trap();
            if (strncmp(c.base, c.type_base, strlen(c.type_base)) != 0)
                __builtin_trap();
        }
    }
    if (nl) {
        const char *rest = (const char *)nl + 1;

        if (sysfs_parse_number(rest, size - namelen - 1, &v) == 0 && !isfinite(v))
            __builtin_trap();
    }
    if (sysfs_parse_number((const char *)data, size, &v) == 0 && !isfinite(v))
        __builtin_trap();
    return 0;
}
