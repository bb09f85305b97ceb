/* SPDX-License-Identifier: MIT */
/*
 * sampler.h - runs the collectors on their own schedules and keeps the latest
 * output of each as a cached text block; /metrics serves the concatenation.
 *
 * Two worker threads: the fast one runs ordinary collectors, records the
 * history ring at its interval; the slow one runs the collectors flagged
 * COLLECTOR_SLOW (kmemleak, sensors, fd counting) and writes the persisted
 * ring file, so neither can delay the other. A scrape (sampler_snapshot())
 * only copies the cached blocks under a lock: it never runs a collector.
 *
 * A collector whose read fails has its interval doubled up to
 * SAMPLER_BACKOFF_MAX (or its own interval when longer); the first success
 * restores it. Failures are logged through complain(), so at most once per
 * quiet interval.
 */
#ifndef SOAK_SAMPLER_H
#define SOAK_SAMPLER_H

#include <stddef.h>

#include "agent-conf.h"
#include "buf.h"
#include "expo.h"
#include "macro.h"

struct ring;
struct sampler;

#define SAMPLER_BLOCK_MAX (1024 * 1024)   /* bytes of one collector's output */
#define SAMPLER_SNAPSHOT_MAX (8 * 1024 * 1024) /* bytes of one full exposition */
#define SAMPLER_BACKOFF_MAX 3600.0        /* longest backed-off interval, seconds */
#define SAMPLER_SLACK 0.005               /* jobs due this soon run in the same wake-up, s */

enum sampler_snapshot_flags {
    /* Leave out what changes from run to run on the same input (RSS, read durations),
     * so `soakd --root DIR --once` is byte-for-byte reproducible. */
    SNAPSHOT_STABLE = 1 << 0,
};

/*
 * Create a sampler from conf: takes over every collector context of conf
 * (conf->collectors[i].ctx becomes NULL) and calls ops->start for the enabled
 * ones. ring may be NULL (no history) and stays owned by the caller; it must
 * outlive the sampler. Returns 0 and *ret, -ENOMEM, or the first start() error.
 */
_warn_unused_result_ int sampler_new(struct agent_conf *conf, struct ring *ring,
                                     struct sampler **ret);

/* Run every enabled collector once, in registry order, on the calling thread. */
void sampler_run_all(struct sampler *s);

/*
 * Render the latest exposition (Prometheus text 0.0.4) into out, replacing
 * its contents: every cached block, then the agent's own metrics.
 * Returns 0, or -E2BIG/-ENOMEM when out is too small.
 */
_warn_unused_result_ int sampler_snapshot(struct sampler *s, struct buf *out, unsigned flags);

/*
 * Record the current snapshot into the ring as one history record stamped
 * ts_ms (what the fast thread does every history interval). 0 or negative errno.
 */
_warn_unused_result_ int sampler_record(struct sampler *s, int64_t ts_ms);

/*
 * Run the fast collectors once on the calling thread, then start the worker
 * threads, so what is served from then on has every fast collector's output
 * (slow collectors appear after their first run). history_interval (seconds, 0 = no history ticks)
 * and persist_path/persist_interval (NULL = no persistence) drive the ring.
 * 0 or a negative errno.
 */
_warn_unused_result_ int sampler_start(struct sampler *s, double history_interval,
                                       const char *persist_path, double persist_interval);

/* Stop and join the worker threads (no-op when not started). */
void sampler_stop(struct sampler *s);

/* Stop, call every collector's fini, free. Accepts NULL; returns NULL. */
struct sampler *sampler_free(struct sampler *s);

/*
 * Feed every sample line of a Prometheus text exposition (as the sampler
 * writes it: "# TYPE" lines, then "key value" lines without timestamps) to fn.
 * Returns 0, or the first negative value fn returned.
 */
_warn_unused_result_ int sampler_feed_text(const char *text, size_t len, expo_observer_fn fn,
                                           void *ctx);

#endif
