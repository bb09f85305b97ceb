/* SPDX-License-Identifier: MIT */
/*
 * expo.h - THE exposition writer: Prometheus text format 0.0.4 and OpenMetrics.
 *
 * Collectors and sensor drivers write metric families and samples into a
 * struct expo_writer (the "sink"); they never format text themselves. The
 * writer escapes label values, bounds their length, sanitises names, and
 * optionally tees every sample to an observer (the agent's history ring).
 *
 * Errors are sticky: after the first failure (e.g. -E2BIG when the output
 * buffer's cap is reached) later calls do nothing and expo_error() reports it,
 * so a collector can write many samples and check once.
 */
#ifndef SOAK_EXPO_H
#define SOAK_EXPO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "macro.h"

enum metric_type {
    METRIC_GAUGE,
    METRIC_COUNTER,
    METRIC_UNTYPED,
    _METRIC_TYPE_MAX,
};

enum expo_format {
    EXPO_PROMETHEUS, /* text 0.0.4: timestamps in integer milliseconds */
    EXPO_OPENMETRICS, /* OpenMetrics 1.0: timestamps in seconds, "# EOF" at the end */
};

#define EXPO_NAME_MAX 200        /* longest metric or label name we emit, bytes */
#define EXPO_LABEL_VALUE_MAX 256 /* label values are cut here (on a UTF-8 boundary) */
#define EXPO_KEY_MAX 2048        /* longest rendered series key name{labels} */

struct expo_label {
    const char *name;
    const char *value;
};

/*
 * Observer of every sample written: family name and type, the rendered series
 * key ("name{a=\"b\"}") and the value. A negative return makes the writer's
 * error sticky, like an output failure.
 */
typedef int (*expo_observer_fn)(void *ctx, const char *family, enum metric_type type,
                                const char *key, double value);

struct expo_writer {
    struct buf *out;           /* text goes here; NULL = observer only */
    enum expo_format format;
    expo_observer_fn observer; /* optional */
    void *observer_ctx;
    char family[EXPO_NAME_MAX + 1]; /* current family */
    enum metric_type type;
    char key[EXPO_KEY_MAX];    /* scratch for the series key */
    int err;                   /* first error, 0 if none */
    unsigned long samples;     /* samples written */
};

/* Start writing into out (may be NULL when only the observer is wanted). */
void expo_writer_init(struct expo_writer *w, struct buf *out, enum expo_format format);

/* Tee every sample to fn(ctx, ...). */
void expo_writer_observe(struct expo_writer *w, expo_observer_fn fn, void *ctx);

/*
 * Begin a metric family: writes "# HELP" and "# TYPE". Samples that follow belong
 * to it. name must already be a valid metric name (use expo_sanitize_name()).
 * Returns 0 or the sticky error.
 */
int expo_family(struct expo_writer *w, const char *name, enum metric_type type, const char *help);

/*
 * Write one sample of the current family; name is the family name or, for
 * OpenMetrics counters, name + "_total". Labels with a NULL value are skipped.
 * Returns 0 or the sticky error.
 */
int expo_sample(struct expo_writer *w, const char *name, const struct expo_label *labels,
                size_t nlabels, double value);

/* Same with a timestamp in milliseconds since the epoch. */
int expo_sample_ts(struct expo_writer *w, const char *name, const struct expo_label *labels,
                   size_t nlabels, double value, int64_t ts_ms);

/* A sample whose series key is already rendered ("name{...}"). */
int expo_sample_key(struct expo_writer *w, const char *key, double value, int64_t ts_ms,
                    int with_ts);

/* Shorthand: a family with one unlabelled sample. */
int expo_single(struct expo_writer *w, const char *name, enum metric_type type, const char *help,
                double value);

/* Write "# EOF" (OpenMetrics only; no-op for Prometheus text). */
int expo_finish(struct expo_writer *w);

/* The sticky error, 0 if none. */
int expo_error(const struct expo_writer *w);

/*
 * Copy src into dst (size bytes) as a valid metric name: [a-zA-Z_:][a-zA-Z0-9_:]*,
 * every other byte becomes '_', runs of '_' produced that way collapse, trailing
 * ones are dropped ("Active(anon)" -> "Active_anon"). Returns the length, or
 * -EINVAL when nothing valid is left.
 */
int expo_sanitize_name(char *dst, size_t size, const char *src);

/* Append src to b escaped as a label value (\\, \", \n), cut at max bytes on a UTF-8 boundary. */
_warn_unused_result_ int expo_escape_label(struct buf *b, const char *src, size_t max);

const char *metric_type_name(enum metric_type t);

#endif
