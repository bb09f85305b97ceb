/* SPDX-License-Identifier: MIT */
/*
 * store-backend.h - what a store back end (SQLite, PostgreSQL) provides to the
 * common store logic in store.c. The back end only moves rows; buffering,
 * deduplication, chunk encoding and compaction live in store.c, so both back ends
 * behave the same.
 *
 * Tables (see docs/internals/STORE.md):
 *   device(id, name, first_ms, last_ms[, gen])         gen: PostgreSQL only
 *   series(id, device_id, key, metric)                 unique (device_id, key)
 *   chunk(id, series_id, t_start, t_end, n, step, data) index (series_id, t_start, t_end)
 *   head(series_id, t, v)                              primary key (series_id, t)
 *   event(id, device_id, t_ms, kind, subject, detail, value)
 *   state(device_id, key, value)                       primary key (device_id, key)
 *   meta(key, value)                                   schema version
 */
#ifndef SOAK_STORE_BACKEND_H
#define SOAK_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_SCHEMA_VERSION 1

/* Called for each chunk row: blob is NULL when the scan was asked for ranges only. */
typedef int (*store_chunk_fn)(void *ctx, int64_t id, int64_t t_start, int64_t t_end, int64_t step,
                              const void *blob, size_t len);
/* Called for each id (series with head rows, all series, ...). */
typedef int (*store_id_fn)(void *ctx, int64_t id);

struct store_ops {
    int version; /* 1 */
    const char *name;
    /* Open spec (already stripped of "sqlite:"), create the schema; sets st->be. */
    int (*open)(struct store *st, const char *spec, char *err, size_t errlen);
    void (*close)(struct store *st);
    int (*begin)(struct store *st);
    int (*commit)(struct store *st);
    void (*rollback)(struct store *st);
    /*
     * Did another process write since the last call? 1 yes (caches must go), 0 no.
     * Called inside a transaction, right after begin.
     */
    int (*changed)(struct store *st);
    int (*device_get)(struct store *st, const char *name, int create, int64_t *ret_id);
    int (*devices)(struct store *st, struct store_device **ret, size_t *ret_n);
    /*
     * Widen the device's [first_ms, last_ms] to include [t0, t1]; back ends with
     * device_gen also bump the device's generation and return it in *ret_gen.
     */
    int (*device_touch)(struct store *st, int64_t dev, int64_t t0, int64_t t1, int64_t *ret_gen);
    /*
     * Optional (NULL: changed() covers it): the device's write generation, bumped by every
     * commit that wrote to it. A value other than the one this handle last saw means
     * another writer touched the device: its cached series must be re-read.
     */
    int (*device_gen)(struct store *st, int64_t dev, int64_t *ret_gen);
    /* Recompute first_ms/last_ms from the data (after retention). */
    int (*device_refresh)(struct store *st, int64_t dev);
    /* Look up (and with create, add) a series. 0, -ENOENT, error. */
    int (*series_get)(struct store *st, int64_t dev, const char *key, const char *metric,
                      int create, int64_t *ret_id);
    int (*series_list)(struct store *st, int64_t dev, const char *metric, char ***ret);
    /* Ids of every series (dev < 0) or of one device. */
    int (*series_ids)(struct store *st, int64_t dev, store_id_fn fn, void *ctx);
    /* Largest stored time (INT64_MIN when none) and number of head rows of a series. */
    int (*series_info)(struct store *st, int64_t sid, int64_t *ret_max_t, size_t *ret_head_n);
    /* 1 when head has (sid, t), 0 when not. */
    int (*head_has)(struct store *st, int64_t sid, int64_t t);
    /* Insert head rows (an existing (sid, t) is left alone). */
    int (*head_put)(struct store *st, int64_t sid, const struct sample *s, size_t n);
    /* Append head rows with from <= t <= to to out; with del, delete them. Count or error. */
    int (*head_get)(struct store *st, int64_t sid, int64_t from, int64_t to, int del,
                    struct sample_array *out);
    /* Ids of series that have head rows. */
    int (*head_series)(struct store *st, store_id_fn fn, void *ctx);
    int (*chunk_put)(struct store *st, int64_t sid, int64_t t_start, int64_t t_end, size_t n,
                     int64_t step, const void *blob, size_t len, int64_t *ret_id);
    /* Chunks of sid overlapping [from, to], by t_start. */
    int (*chunk_scan)(struct store *st, int64_t sid, int64_t from, int64_t to, int want_blob,
                      store_chunk_fn fn, void *ctx);
    /* The blob of one chunk, via fn. */
    int (*chunk_get)(struct store *st, int64_t id, store_chunk_fn fn, void *ctx);
    int (*chunk_del)(struct store *st, int64_t id);
    int (*event_add)(struct store *st, struct store_event *ev);
    int (*events)(struct store *st, int64_t dev, int64_t from, int64_t to,
                  struct store_event_array *out);
    int (*state_get)(struct store *st, int64_t dev, const char *key, char **ret);
    int (*state_set)(struct store *st, int64_t dev, const char *key, const char *value);
    const char *(*errmsg)(const struct store *st);
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

/* Access to the back-end pointer (struct store is private to store.c). */
void *store_be(const struct store *st);
void store_set_be(struct store *st, void *be);

/* Helpers shared by the back ends. */
_warn_unused_result_ int store_event_array_push(struct store_event_array *a,
                                                const struct store_event *ev);
_warn_unused_result_ int store_strv_push(char ***v, size_t *n, const char *s);

#endif
