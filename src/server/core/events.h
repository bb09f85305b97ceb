/* SPDX-License-Identifier: MIT */
/*
 * events.h - events derived from a device's samples: reboot, build change,
 * unreachable and back, OOM kill, panic, sensor lost and back, interface set
 * changed.
 *
 * The derivation is PURE: a per-device struct events_state (what was seen
 * last) plus one batch of samples in, events out. The server feeds every poll
 * through it; `soak events --rebuild` (and `soak import` through
 * events_derive_range()) feeds stored samples through the very same code.
 *
 * Signals (metric names from DESIGN §3):
 *   reboot        soak_boot_info{boot_id} changes; without a boot id,
 *                 node_boot_time_seconds moves by more than EVENTS_BOOT_SLACK s.
 *                 value = 1 when the build changed in the same batch (an update),
 *                 0 when not (unexpected); subject = new boot id (or boot time).
 *   build change  soak_build_info{build} changes; subject = new build, detail = old one.
 *   OOM kill      node_vmstat_oom_kill or soak_kmsg_oom_kills_total rises (a counter reset,
 *                 e.g. by a reboot, counts the new value); value = kills.
 *   panic         soak_pstore_panic or soak_pstore_records{type="dmesg"} becomes > 0 or
 *                 changes (records left by the crash before this boot); once per boot.
 *   sensor        soak_sensor_up{sensor} goes 0 (or, in a complete scrape, vanishes):
 *                 lost; goes 1 again: back. subject = sensor.
 *   interfaces    the set of node_network_up{device} == 1 changes; subject "+new -gone",
 *                 detail "up: a,b (was a,c)".
 *   unreachable   events_poll_failed() after a success (or first contact); back:
 *                 events_poll_ok() emits EVENT_REACHABLE with value = outage seconds.
 * The first batch ever only sets the baseline (no build/reboot/OOM event).
 */
#ifndef SOAK_EVENTS_H
#define SOAK_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "store.h"

#define EVENTS_BOOT_SLACK 60.0 /* seconds node_boot_time_seconds may wander (clock steps) */
#define EVENTS_ID_MAX 128      /* longest boot id / build string kept */

/* One sample of a batch: a canonical series key and its value. */
struct events_sample {
    const char *key;
    double v;
};

struct events_sensor {
    char *name;
    int up;
};

/* What the derivation remembers about one device. Zero-initialise, then events_state_done(). */
struct events_state {
    int seen;                      /* a batch was seen */
    char boot_id[EVENTS_ID_MAX];   /* "" = unknown */
    double boot_time;              /* 0 = unknown */
    char build[EVENTS_ID_MAX];     /* "" = unknown */
    double oom_vmstat, oom_kmsg;   /* last counter values, < 0 = unknown */
    double pstore;                 /* last panic-record count, < 0 = unknown */
    char panic_boot[EVENTS_ID_MAX];/* boot for which a panic was reported */
    struct events_sensor *sensors;
    size_t n_sensors;
    char *ifaces;                  /* sorted, comma-separated; NULL = unknown */
    int down;                      /* polls failing */
    int64_t down_since_ms;
    int64_t last_ok_ms;
};

/* Initialise an empty state (everything unknown). */
void events_state_init(struct events_state *st);

/* Free what the state holds (it can be reused after events_state_init()). */
void events_state_done(struct events_state *st);

/*
 * Feed one batch of samples taken at t_ms. complete = 1 when the batch is a
 * whole scrape (a sensor missing from it counts as lost); 0 for partial
 * batches (history backfill, stored data). Appends events to out (device_id
 * left 0; subject/detail owned by out). Returns the number of events added or
 * -ENOMEM (the state is then still consistent).
 */
_warn_unused_result_ int events_scrape(struct events_state *st, int64_t t_ms,
                                       const struct events_sample *s, size_t n, int complete,
                                       struct store_event_array *out);

/* A poll failed at t_ms with error (may be NULL). Emits EVENT_UNREACHABLE once per outage. */
_warn_unused_result_ int events_poll_failed(struct events_state *st, int64_t t_ms,
                                            const char *error, struct store_event_array *out);

/* A poll succeeded at t_ms. Emits EVENT_REACHABLE (value = outage seconds) after an outage. */
_warn_unused_result_ int events_poll_ok(struct events_state *st, int64_t t_ms,
                                        struct store_event_array *out);

/*
 * Serialise the state as a JSON string (malloc'ed, *ret) for store_state_set(),
 * and back. events_state_from_json() replaces st's contents; -EINVAL on bad text.
 */
_warn_unused_result_ int events_state_to_json(const struct events_state *st, char **ret);
_warn_unused_result_ int events_state_from_json(struct events_state *st, const char *json);

/* Append a copy of ev (subject/detail duplicated) to a. 0 or -ENOMEM. */
_warn_unused_result_ int events_array_push(struct store_event_array *a, int64_t t_ms,
                                           enum store_event_kind kind, const char *subject,
                                           const char *detail, double value);

/*
 * Derive events from stored samples of device_id in [from_ms, to_ms] (the
 * series named above plus soak_poll_up for reachability), in time order, through
 * events_scrape()/events_poll_*(). Appends to out (device_id set). For
 * `soak import` and `soak events --rebuild`. Returns the count or a store error.
 */
_warn_unused_result_ int events_derive_range(struct store *st, int64_t device_id, int64_t from_ms,
                                             int64_t to_ms, struct store_event_array *out);

/*
 * Derive a device's events from everything stored (events_derive_range()) and add
 * those not stored yet (same kind, time and subject), in one transaction. Running it
 * twice adds nothing. When the device has no saved derivation state ("events", what
 * soak server keeps) the final state is saved, so a server that polls the device
 * next goes on from there (no second panic event for the current boot's pstore
 * record). Returns the number added or a store error.
 */
_warn_unused_result_ int events_rebuild(struct store *st, int64_t device_id);

/* Is metric name one the derivation reads? (lets callers skip the rest cheaply) */
int events_wants_metric(const char *name, size_t len);

#endif
