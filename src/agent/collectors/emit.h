/* SPDX-License-Identifier: MIT */
/*
 * emit.h - small helpers the collectors share on top of the expo writer:
 * counters named right in both text formats, info-style series, and a fixed
 * set of names to keep a garbled file from producing duplicate families.
 */
#ifndef SOAK_EMIT_H
#define SOAK_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "expo.h"
#include "macro.h"

#define EMIT_NAME_MAX 128 /* longest field name handled by the collectors, bytes */

/*
 * A counter family: base is the name without "_total". In Prometheus text the
 * family and sample are base_total; in OpenMetrics the family is base and the
 * sample base_total. Returns 0 or the writer's sticky error.
 */
int emit_counter(struct expo_writer *w, const char *base, const char *help,
                 const struct expo_label *labels, size_t nlabels, double value);

/* Begin a counter family whose samples are written with emit_counter_sample(). */
int emit_counter_family(struct expo_writer *w, const char *base, const char *help);
int emit_counter_sample(struct expo_writer *w, const char *base, const struct expo_label *labels,
                        size_t nlabels, double value);

/* A gauge family with one labelled sample (info metrics: value 1). */
int emit_gauge_labels(struct expo_writer *w, const char *name, const char *help,
                      const struct expo_label *labels, size_t nlabels, double value);

/*
 * A fixed-capacity set of names, allocated once. It keeps 64-bit hashes of the
 * names (8 bytes each), not the names: two different names colliding would make
 * the second look like a duplicate, which for a few hundred names is ~1e-15.
 */
struct emit_nameset {
    uint64_t *hashes; /* open-addressing table of name hashes, 0 = free */
    size_t n, max;    /* names held, most allowed */
    size_t slots;     /* table size, a power of two >= 2 * max */
};

/* Allocate room for max names. 0 or -ENOMEM. */
_warn_unused_result_ int emit_nameset_init(struct emit_nameset *s, size_t max);
/* Add name: 1 when new, 0 when already there, -E2BIG when full. */
int emit_nameset_add(struct emit_nameset *s, const char *name);
void emit_nameset_reset(struct emit_nameset *s);
void emit_nameset_free(struct emit_nameset *s);

#endif
