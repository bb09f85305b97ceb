/* SPDX-License-Identifier: MIT */
/*
 * ring.h - soakd's history: a fixed-size ring of recent samples.
 *
 * Everything is allocated once by ring_new() from the options; recording a
 * tick allocates only when a series appears for the first time (its key).
 *
 * Series keys ("name{labels}", as the exposition writer renders them) are
 * interned in a bounded table. A tick is stored as one record: a header
 * (length, timestamp) and an entry per series whose value changed since the
 * previous tick, or that disappeared ("gone"). Integer values are stored as
 * a varint delta from the previous value, others as 8 raw bytes. Records sit
 * in a byte ring; when it is full (or max_records is reached) the oldest
 * record is folded into a base state (the values just before the oldest
 * retained record), so every retained record can be rebuilt by replaying
 * from the base. A series slot is recycled once no retained record, the base
 * or the current state refer to it.
 *
 * Records carry a monotonic SEQ starting at 1 and a random ring id that
 * changes when a ring starts afresh (not when it is reloaded from its file).
 *
 * Thread safety: every function takes the ring's own lock, except that
 * ring_begin() takes it and ring_commit() releases it, with ring_observe()
 * called in between by the same thread.
 */
#ifndef SOAK_RING_H
#define SOAK_RING_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "expo.h"
#include "macro.h"

#define RING_LIMIT_DEFAULT 60    /* records per /history reply unless asked */
#define RING_LIMIT_MAX 1440      /* most records per /history reply */
#define RING_POINTS_MAX 200000   /* most samples per /history reply (12 bytes each) */

struct ring;
struct ring_query;

struct ring_options {
    size_t max_records; /* records retained at most */
    size_t max_series;  /* distinct series the table can hold */
    size_t max_bytes;   /* size of the byte ring; 0 = 1024 bytes per record */
};

struct ring_stats {
    uint64_t oldest_seq;      /* 0 when empty */
    uint64_t newest_seq;      /* 0 when empty */
    uint64_t ring_id;
    size_t records;
    size_t series;            /* slots in use */
    size_t bytes_used;
    size_t bytes_cap;
    size_t memory_bytes;      /* everything the ring holds: tables, byte ring, keys */
    uint64_t dropped_samples; /* samples refused because the series table was full */
    uint64_t dropped_records; /* ticks that did not fit in the byte ring at all */
};

/* Allocate a ring with a fresh random id. 0 and *ret, -EINVAL on bad options, -ENOMEM. */
_warn_unused_result_ int ring_new(const struct ring_options *opt, struct ring **ret);

/* Free everything. Accepts NULL; returns NULL. */
struct ring *ring_free(struct ring *r);

/* Start a tick stamped ts_ms (ms since the epoch): takes the ring's lock. */
void ring_begin(struct ring *r, int64_t ts_ms);

/*
 * Stage one sample of the current tick (an expo_observer_fn, so an
 * expo_writer can tee into the ring; ctx is the ring). Always returns 0: a
 * sample that cannot be interned is counted in dropped_samples, never an error.
 */
int ring_observe(void *ctx, const char *family, enum metric_type type, const char *key,
                 double value);

/*
 * End the tick: append the record of what changed and release the lock.
 * Returns the record's SEQ (> 0), or -E2BIG when even an empty ring could
 * not hold it (counted in dropped_records; the state is still updated).
 */
int64_t ring_commit(struct ring *r);

/* Counters and sizes. */
void ring_get_stats(struct ring *r, struct ring_stats *ret);

/*
 * Collect the records newer than since (at most limit, 0 = RING_LIMIT_DEFAULT,
 * capped at RING_LIMIT_MAX and by RING_POINTS_MAX samples) into a query that
 * owns copies of everything it needs, so it can be rendered without the lock.
 * Returns 0 and *ret, or -ENOMEM.
 */
_warn_unused_result_ int ring_query_new(struct ring *r, uint64_t since, size_t limit,
                                        struct ring_query **ret);

/* Header values of a query: newest SEQ in the reply (= since when none), oldest held, more. */
uint64_t ring_query_newest(const struct ring_query *q);
uint64_t ring_query_oldest(const struct ring_query *q);
uint64_t ring_query_ring_id(const struct ring_query *q);
int ring_query_more(const struct ring_query *q);
size_t ring_query_records(const struct ring_query *q);

/*
 * Append the next part of the query's OpenMetrics text to out, stopping once
 * out holds at least chunk bytes. Families are contiguous, each series'
 * samples are contiguous and in time order, timestamps are seconds with
 * milliseconds, and the text ends with "# EOF".
 * Returns 1 when more text follows, 0 when done, or a negative errno.
 */
_warn_unused_result_ int ring_query_render(struct ring_query *q, struct buf *out, size_t chunk);

/* Free a query. Accepts NULL; returns NULL. */
struct ring_query *ring_query_free(struct ring_query *q);

/*
 * Write the ring to path atomically: path.tmp, fsync, rename, fsync of the
 * directory. The lock is held only while the bytes are written, not during
 * fsync. 0 or negative errno (path is then left as it was).
 */
_warn_unused_result_ int ring_save(struct ring *r, const char *path);

/*
 * Load a file written by ring_save() into a ring that has recorded nothing
 * yet, keeping its ring id and SEQs. Returns 0; -ENOENT when there is no
 * file; -EBADMSG when the file is corrupt or does not fit these options (the
 * ring is then left empty and fresh); another negative errno on I/O errors.
 */
_warn_unused_result_ int ring_load(struct ring *r, const char *path);

#endif
