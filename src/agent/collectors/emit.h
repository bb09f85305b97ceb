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
    uint32_t *used;   /* the slots filled, so a reset clears only those */
    size_t n, max;    /* names held, most allowed */
    size_t slots;     /* table size, a power of two >= 2 * max */
};

/* Allocate room for max names. 0 or -ENOMEM. */
_warn_unused_result_ int emit_nameset_init(struct emit_nameset *s, size_t max);
/* Add name: 1 when new, 0 when already there, -E2BIG when full. */
int emit_nameset_add(struct emit_nameset *s, const char *name);
void emit_nameset_reset(struct emit_nameset *s);
void emit_nameset_free(struct emit_nameset *s);

struct procfile;
struct procfile_keep;

/* A "name value" file turned into one family per field (meminfo, vmstat). */
struct emit_fields_spec {
    const char *path;   /* "/proc/meminfo", under the root */
    const char *prefix; /* metric name prefix parse_line puts in front: "node_memory_" */
    const char *help;   /* HELP text before the field name: "Memory information field " */
    enum metric_type type;
    /* One line -> metric name and value; negative errno for a line it cannot read. */
    int (*parse_line)(char *line, char *ret_name, size_t size, double *ret_value);
    /* Keep this field (the name without prefix)? NULL keeps all. */
    int (*wanted)(void *ctx, const char *field);
    void *wanted_ctx;
};

/*
 * Read spec->path with pf (through the kept file keep, or opened and closed when
 * keep is NULL) and write a family per field, first occurrence of a name
 * only (seen is reset first). Returns 0; -EINVAL when a line was garbled or too long
 * (the good fields are still written); -ENODATA when no field was read; the open
 * error; or the writer's sticky error.
 */
int emit_fields_file(struct procfile *pf, struct procfile_keep *keep, struct emit_nameset *seen,
                     const char *root, const struct emit_fields_spec *spec, struct expo_writer *w);

#endif
