/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: a kmemleak report through the shared parser, fed in two
 * chunks split at a data-chosen point, into small tables (so they overflow).
 * Checks the accounting: every object lands in a group or in "other".
 */
#include <stdint.h>
#include <string.h>

#include "kmemleak.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct kmemleak_table *t, uint64_t objects)
{
    uint64_t sum = t->other_objects;

    if (t->n > t->cap)
        __builtin_trap();
    for (size_t i = 0; i < t->n; i++) {
        const struct kmemleak_group *g = &t->g[i];
        if (g->nframes > KMEMLEAK_FRAMES_MAX || g->objects == 0)
            __builtin_trap();
        if (memchr(g->site, 0, sizeof(g->site)) == NULL ||
            memchr(g->caller, 0, sizeof(g->caller)) == NULL ||
            memchr(g->comm, 0, sizeof(g->comm)) == NULL)
            __builtin_trap();
        if (g->first_jiffies > g->last_jiffies)
            __builtin_trap();
        sum += g->objects;
    }
    if (sum != objects)
        __builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kmemleak_group tg[4], sg[4];
    struct kmemleak_table bt, bs;
    struct kmemleak_parser p;
    size_t cut = size ? data[0] % (size + 1) : 0;
    uint64_t n;

    kmemleak_table_init(&bt, tg, 4);
    kmemleak_table_init(&bs, sg, 4);
    kmemleak_parser_init(&p, &bt, &bs);
    (void)kmemleak_parser_feed(&p, (const char *)data, cut);
    (void)kmemleak_parser_feed(&p, (const char *)data + cut, size - cut);
    n = kmemleak_parser_finish(&p);
    check(&bt, n);
    check(&bs, n);
    kmemleak_table_sort(&bt);
    check(&bt, n);
    return 0;
}
