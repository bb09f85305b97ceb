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
#include "fuzz-common.h"

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
        FUZZ_ASSERT(c->shard_i < c->shard_n);
        for (size_t i = 0; i < c->n_dev; i++) {
            const struct farm_device *d = &c->dev[i];
            FUZZ_ASSERT(strncmp(d->url, "http", 4) == 0);
            FUZZ_ASSERT(d->n_ram_sizes <= FARM_RAM_SIZES_MAX);
            FUZZ_ASSERT(farm_device_timeout(c, d) <= farm_device_interval(c, d));
            /* names are unique, non-empty and blank-free */
            FUZZ_ASSERT(farmconf_device(c, d->name) == d);
            FUZZ_ASSERT(d->name[0] != '\0' && !strpbrk(d->name, " \t/"));
        }
        if (c->alert_exec && farm_argv_expand(c->alert_exec, kv, &argv) == 0) {
            FUZZ_ASSERT(argv[0] != NULL);
            farm_argv_free(argv);
        }
        farmconf_free(c);
    } else {
        FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
    }
    if (farm_argv_expand(text, kv, &argv) == 0) {
        /* Words are split on blanks; the values of kv have none, so no word has one. */
        FUZZ_ASSERT(argv[0] != NULL);
        for (size_t i = 0; argv[i]; i++)
            FUZZ_ASSERT(argv[i][0] != '\0' && !strpbrk(argv[i], " \t"));
        farm_argv_free(argv);
    }
    free(text);
    return 0;
}
