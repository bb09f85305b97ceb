/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: soakd's configuration ([agent], [history], [collector.NAME],
 * [sensor LABEL]) parsed from memory against a stand-in collector that accepts a few
 * keys. Must never crash; on success the values must be inside their bounds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent-conf.h"
#include "conf.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fz_init(void **ret)
{
    *ret = malloc(1);
    return *ret ? 0 : -ENOMEM;
}

static int
fz_configure(void *ctx, const char *key, const char *value)
{
    uint64_t v;

    (void)ctx;
    if (strcmp(key, "top") == 0 || strchr(key, '.'))
        return conf_uint(value, &v) < 0 ? -EINVAL : 0;
    return -ENOENT;
}

static int
fz_read(void *ctx, const char *root, struct expo_writer *w)
{
    (void)ctx;
    (void)root;
    (void)w;
    return 0;
}

static const struct collector_ops fz_a = {
    .name = "sensors", .init = fz_init, .configure = fz_configure, .read = fz_read, .fini = free,
};
static const struct collector_ops fz_b = {
    .name = "slow", .flags = COLLECTOR_DEFAULT_OFF | COLLECTOR_SLOW, .init = fz_init,
    .read = fz_read, .fini = free,
};
static const struct collector_ops *const registry[] = {&fz_a, &fz_b, NULL};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct agent_conf *c = NULL;
    char *text, err[256];

    if (size > 65536)
        return 0;
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (agent_conf_new(registry, &c) < 0)
        abort();
    if (agent_conf_load_string(c, text, err, sizeof(err)) == 0) {
        FUZZ_ASSERT(c->interval > 0 && c->history_interval > 0);
        FUZZ_ASSERT(c->history_samples >= 2 && c->history_max_series >= 16);
        FUZZ_ASSERT(!c->token || strlen(c->token) <= AGENT_TOKEN_MAX);
        FUZZ_ASSERT(c->n_collectors == 2); /* one entry per registry collector */
        for (size_t i = 0; i < c->n_collectors; i++)
            FUZZ_ASSERT(agent_conf_collector_interval(c, &c->collectors[i]) > 0);
    } else {
        /* A failed load says why, NUL-terminated within err. */
        FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
    }
    (void)agent_conf_free(c);
    free(text);
    return 0;
}
