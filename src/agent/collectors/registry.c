/* SPDX-License-Identifier: MIT */
/* registry.c - the table of every collector, in the order their output appears. */
#include <string.h>

#include "collector.h"

extern const struct collector_ops meminfo_collector;
extern const struct collector_ops load_collector;
extern const struct collector_ops uptime_collector;
extern const struct collector_ops filefd_collector;
extern const struct collector_ops vmstat_collector;
extern const struct collector_ops slabinfo_collector;
extern const struct collector_ops fds_collector;
extern const struct collector_ops thermal_collector;
extern const struct collector_ops hwmon_collector;
extern const struct collector_ops net_collector;
extern const struct collector_ops build_collector;
extern const struct collector_ops kmsg_collector;
extern const struct collector_ops pstore_collector;
extern const struct collector_ops kmemleak_collector;
extern const struct collector_ops sensors_collector;

const struct collector_ops *const collector_registry[] = {
    &meminfo_collector,
    &load_collector,
    &uptime_collector,
    &filefd_collector,
    &vmstat_collector,
    &slabinfo_collector,
    &fds_collector,
    &thermal_collector,
    &hwmon_collector,
    &net_collector,
    &build_collector,
    &kmsg_collector,
    &pstore_collector,
    &kmemleak_collector,
    &sensors_collector,
    NULL,
};

const struct collector_ops *
collector_find(const char *name)
{
    for (size_t i = 0; collector_registry[i]; i++)
        if (strcmp(collector_registry[i]->name, name) == 0)
            return collector_registry[i];
    return NULL;
}
