/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: IIO/hwmon sysfs text. The first line is taken as an
 * attribute file name (iio_channel_parse), the rest as the file's contents
 * (sysfs_parse_number, which must reject junk and non-finite numbers).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
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
            char back[sizeof(c.base) + 8];

            FUZZ_ASSERT(c.quantity >= 0 && c.quantity < _SENSOR_QUANTITY_MAX);
            FUZZ_ASSERT(strlen(c.base) < sizeof(c.base) && strncmp(c.base, "in_", 3) == 0);
            FUZZ_ASSERT(strncmp(c.base, c.type_base, strlen(c.type_base)) == 0);
            /* base + "_input" or "_raw" is the file name it came from */
            (void)snprintf(back, sizeof(back), "%s%s", c.base, c.has_input ? "_input" : "_raw");
            FUZZ_ASSERT(strcmp(back, name) == 0);
        }
    }
    if (nl) {
        const char *rest = (const char *)nl + 1;

        if (sysfs_parse_number(rest, size - namelen - 1, &v) == 0)
            FUZZ_ASSERT(isfinite(v));
    }
    if (sysfs_parse_number((const char *)data, size, &v) == 0) {
        /* a number parsed OK is finite and came from text holding a digit */
        FUZZ_ASSERT(isfinite(v));
        FUZZ_ASSERT(memchr(data, '0', size) || memchr(data, '1', size) ||
                    memchr(data, '2', size) || memchr(data, '3', size) ||
                    memchr(data, '4', size) || memchr(data, '5', size) ||
                    memchr(data, '6', size) || memchr(data, '7', size) ||
                    memchr(data, '8', size) || memchr(data, '9', size));
    }
    return 0;
}
