/* SPDX-License-Identifier: MIT */
/*
 * mock-collectors.h - stand-in collectors for the daemon's unit tests: the
 * whole collector interface is replaced, so the tests never depend on the
 * real collectors (collectd's plugin_mock.c idea).
 *
 *   mock       fast, writes mock_value{n="<reads>"}-style gauges; accepts key "scale"
 *   failing    fails every read (-EIO) after writing one sample
 *   blocker    COLLECTOR_SLOW; read() blocks until blocker_release() (to prove a slow
 *              collector never delays the fast ones or a snapshot)
 *   optin      COLLECTOR_DEFAULT_OFF
 */
#ifndef SOAK_TEST_MOCK_COLLECTORS_H
#define SOAK_TEST_MOCK_COLLECTORS_H

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "conf.h"

struct mock_ctx {
    unsigned reads;
    uint64_t scale;
    int started;
};

static pthread_mutex_t blocker_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t blocker_cond = PTHREAD_COND_INITIALIZER;
static int blocker_open, blocker_waiting;

_unused_ static void
blocker_release(void)
{
    (void)pthread_mutex_lock(&blocker_lock);
    blocker_open = 1;
    (void)pthread_cond_broadcast(&blocker_cond);
    (void)pthread_mutex_unlock(&blocker_lock);
}

static int
mock_init(void **ret)
{
    struct mock_ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    c->scale = 1;
    *ret = c;
    return 0;
}

static int
mock_configure(void *ctx, const char *key, const char *value)
{
    struct mock_ctx *c = ctx;

    if (strcmp(key, "scale") != 0)
        return -ENOENT;
    return conf_uint(value, &c->scale) < 0 ? -EINVAL : 0;
}

static int
mock_start(void *ctx, const char *root)
{
    (void)root;
    ((struct mock_ctx *)ctx)->started = 1;
    return 0;
}

static int
mock_read(void *ctx, const char *root, struct expo_writer *w)
{
    struct mock_ctx *c = ctx;
    struct expo_label l = {"kind", "a b"}; /* a blank inside a label value */

    (void)root;
    c->reads++;
    (void)expo_family(w, "mock_reads_total", METRIC_COUNTER, "Reads.");
    (void)expo_sample(w, "mock_reads_total", NULL, 0, c->reads);
    (void)expo_family(w, "mock_value", METRIC_GAUGE, "A value.");
    (void)expo_sample(w, "mock_value", &l, 1, 2.5 * (double)c->scale);
    return expo_error(w);
}

static int
failing_read(void *ctx, const char *root, struct expo_writer *w)
{
    (void)ctx;
    (void)root;
    (void)expo_single(w, "failing_partial", METRIC_GAUGE, "Written before failing.", 1);
    return -EIO;
}

static int
blocker_read(void *ctx, const char *root, struct expo_writer *w)
{
    struct mock_ctx *c = ctx;

    (void)root;
    (void)pthread_mutex_lock(&blocker_lock);
    blocker_waiting = 1;
    while (!blocker_open)
        (void)pthread_cond_wait(&blocker_cond, &blocker_lock);
    (void)pthread_mutex_unlock(&blocker_lock);
    c->reads++;
    return expo_single(w, "blocker_value", METRIC_GAUGE, "Slow.", 7);
}

static void
mock_fini(void *ctx)
{
    free(ctx);
}

static const struct collector_ops mock_collector = {
    .name = "mock", .help = "test", .init = mock_init, .configure = mock_configure,
    .start = mock_start, .read = mock_read, .fini = mock_fini,
};
static const struct collector_ops failing_collector = {
    .name = "failing", .init = mock_init, .read = failing_read, .fini = mock_fini,
};
static const struct collector_ops blocker_collector = {
    .name = "blocker", .flags = COLLECTOR_SLOW, .init = mock_init, .read = blocker_read,
    .fini = mock_fini,
};
static const struct collector_ops optin_collector = {
    .name = "optin", .flags = COLLECTOR_DEFAULT_OFF, .interval = 600, .init = mock_init,
    .read = mock_read, .fini = mock_fini,
};

#endif
