/* SPDX-License-Identifier: MIT */
/* registry.c - the table of sensor drivers. */
#include <string.h>

#include "sensor.h"

const struct sensor_driver *const sensor_drivers[] = {
    &sensor_driver_sht3x,
    &sensor_driver_shtc3,
    &sensor_driver_aht20,
    &sensor_driver_bh1750,
    &sensor_driver_lps25,
    &sensor_driver_mcp3002,
    &sensor_driver_ds18b20,
    &sensor_driver_w1,
    &sensor_driver_hwmon,
    &sensor_driver_iio,
    NULL,
};

const struct sensor_driver *
sensor_driver_find(const char *name)
{
    for (size_t i = 0; sensor_drivers[i]; i++)
        if (strcmp(sensor_drivers[i]->name, name) == 0)
            return sensor_drivers[i];
    return NULL;
}
