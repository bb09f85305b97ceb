/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the server's farm config ([server], [alerts], [device NAME])
 * parsed from memory, and an argv template expanded. Must never crash; on success
 * every device has an http(s) URL, the shard is in range and the timeouts fit
 * the intervals.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "farmconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *const kv[] = {"device", "rockpis-1", "alert", "oom_kill", NULL};
    struct farm_conf *c = NULL;
    char *text = malloc(size + 1);
    char err[256];
    char **argv = NULL;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (farmconf_parse_string(text, &c, err, sizeof(err)) == 0) {
        if (c->shard_i >= c->shard_n)
            abort();
        for (size_t i = 0; i < c->n_dev; i++) {
            const struct farm_device *d = &c->dev[i];
            if (strncmp(d->url, "http", 4) != 0 || d->n_ram_sizes > FARM_RAM_SIZES_MAX)
                abort();
            if (farm_device_timeout(c, d) > farm_device_interval(c, d))
                abort();
            if (farmconf_device(c, d->name) != d)
                abort();
        }
        if (c->alert_exec && farm_argv_expand(c->alert_exec, kv, &argv) == 0) {
            if (!argv[0])
                abort();
            farm_argv_free(argv);
        }
        farmconf_free(c);
    }
    if (farm_argv_expand(text, kv, &argv) == 0)
        farm_argv_free(argv);
    free(text);
    return 0;
}
