/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: a kmemleak report through the shared parser, fed in two
 * chunks split at a data-chosen point, into small tables (so they overflow).
 * Checks the accounting: every object lands in a group or in "other".
 */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "kmemleak.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct kmemleak_table *t, uint64_t objects)
{
    uint64_t sum = t->other_objects;

    FUZZ_ASSERT(t->n <= t->cap);
    for (size_t i = 0; i < t->n; i++) {
        const struct kmemleak_group *g = &t->g[i];
        FUZZ_ASSERT(g->nframes <= KMEMLEAK_FRAMES_MAX);
        FUZZ_ASSERT(g->objects > 0);
        FUZZ_ASSERT(memchr(g->site, 0, sizeof(g->site)) != NULL);
        FUZZ_ASSERT(memchr(g->caller, 0, sizeof(g->caller)) != NULL);
        FUZZ_ASSERT(memchr(g->comm, 0, sizeof(g->comm)) != NULL);
        FUZZ_ASSERT(g->first_jiffies <= g->last_jiffies);
        FUZZ_ASSERT(g->objects <= objects);
        sum += g->objects;
    }
    FUZZ_ASSERT(sum == objects); /* group counts + "other" = the records counted */
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
    FUZZ_ASSERT(n <= size / 2 + 1); /* a record takes more than 2 bytes of input */
    check(&bt, n);
    check(&bs, n);
    kmemleak_table_sort(&bt);
    check(&bt, n);
    return 0;
}
