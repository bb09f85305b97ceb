/* SPDX-License-Identifier: MIT */
/*
 * collector.h - THE collector interface of soakd.
 *
 * A collector reads one kernel interface (meminfo, slabinfo, ...) under the
 * --root prefix and writes metric families into an expo_writer sink. It never
 * touches HTTP, the history ring or the config parser: the sampler calls it,
 * and the config layer hands it its own `key = value` options.
 *
 * Life cycle, all called from one thread:
 *   init(&ctx)                 allocate the context with defaults (the only allocation
 *                              a collector should need; size tables from the options)
 *   configure(ctx, key, val)   once per key of its [collector.NAME] section, before start
 *   start(ctx, root)           optional: open long-lived fds (kmsg), size buffers
 *   read(ctx, root, w)         write the current values; may be called many times
 *   fini(ctx)                  free everything; accepts NULL
 *
 * read() returns 0 on success, or a negative errno when the source could not be
 * read (missing file, EACCES, garbage). On error it may still have written the
 * metrics it could; the sampler counts the failure in
 * soak_collector_errors_total{collector} and reports soak_collector_up 0.
 */
#ifndef SOAK_COLLECTOR_H
#define SOAK_COLLECTOR_H

#include "expo.h"
#include "macro.h"

enum collector_flags {
    COLLECTOR_DEFAULT_OFF = 1 << 0, /* opt-in (kmemleak, drop_caches, sensors) */
    COLLECTOR_SLOW = 1 << 1,        /* may take long: never run on the scrape path */
};

struct collector_ops {
    const char *name;       /* also the config section suffix and the collector label */
    const char *help;       /* one line for --help / docs */
    unsigned flags;         /* enum collector_flags */
    unsigned interval;      /* default seconds between reads (0 = the sampler's interval) */
    int (*init)(void **ret_ctx);
    int (*configure)(void *ctx, const char *key, const char *value); /* -ENOENT unknown key */
    int (*start)(void *ctx, const char *root);
    int (*read)(void *ctx, const char *root, struct expo_writer *w);
    void (*fini)(void *ctx);
};

/* The table of every collector, in registry.c; NULL-terminated. */
extern const struct collector_ops *const collector_registry[];

/* Find a collector by name; NULL when unknown. */
const struct collector_ops *collector_find(const char *name);

#endif
