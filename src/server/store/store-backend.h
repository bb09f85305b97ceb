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
 *   hrec(id, device_id, t, n, data)                    head records; index (device_id, t)
 *   event(id, device_id, t_ms, kind, subject, detail, value)
 *   state(device_id, key, value)                       primary key (device_id, key)
 *   meta(key, value)                                   schema version
 */
#ifndef SOAK_STORE_BACKEND_H
#define SOAK_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_SCHEMA_VERSION 2 /* 1: one head row per sample; 2: head records */

/* Called for each chunk row: blob is NULL when the scan was asked for ranges only. */
typedef int (*store_chunk_fn)(void *ctx, int64_t id, int64_t t_start, int64_t t_end, int64_t step,
                              const void *blob, size_t len);
/* Called for each head record of a scan (ordered by time, then id). */
typedef int (*store_rec_fn)(void *ctx, int64_t id, int64_t t, const void *blob, size_t len);
/* Called for each id (devices with head records, all series, ...). */
typedef int (*store_id_fn)(void *ctx, int64_t id);

/* What a device's head records look like now (all 0 when it has none). */
struct store_rec_info {
    int64_t n;     /* number of records */
    int64_t t_min; /* their smallest and largest times */
    int64_t t_max;
    int64_t max_id; /* ids are never reused: (n, max_id) changes with every change */
};

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
    /* Largest time in the chunks of a series (INT64_MIN when none). */
    int (*series_max)(struct store *st, int64_t sid, int64_t *ret_max_t);
    int (*rec_info)(struct store *st, int64_t dev, struct store_rec_info *ret);
    /* Add a head record: n samples of dev at time t, encoded by hrec_encode(). */
    int (*rec_put)(struct store *st, int64_t dev, int64_t t, size_t n, const void *blob,
                   size_t len);
    /* Records of dev with from <= t <= to, by (t, id), via fn; with del, delete them. */
    int (*rec_get)(struct store *st, int64_t dev, int64_t from, int64_t to, int del,
                   store_rec_fn fn, void *ctx);
    /* Ids of the devices that have head records. */
    int (*rec_devices)(struct store *st, store_id_fn fn, void *ctx);
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
    /*
     * Upgrading a schema-1 database (one head row per sample) in a transaction:
     * schema_get reads meta's version; v1_prepare creates the tables schema 2 adds;
     * v1_head_series lists the series with old head rows, v1_head_take reads and
     * deletes one series' rows (sorted by time); v1_finish drops the old table and
     * sets the version to 2.
     */
    int (*schema_get)(struct store *st, int *ret_version);
    int (*v1_prepare)(struct store *st);
    int (*v1_head_series)(struct store *st, store_id_fn fn, void *ctx);
    int (*v1_head_take)(struct store *st, int64_t sid, struct sample_array *out);
    int (*v1_finish)(struct store *st);
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
