/* SPDX-License-Identifier: MIT */
/*
 * store.h - THE store interface of the soak server: one API, two back ends
 * (SQLite, the default; PostgreSQL via libpq). Everything above the store
 * (poller, import/export, analysis commands, plots, the dashboard) goes
 * through these functions and never sees SQL.
 *
 * Data model
 *   device  - a name ("rockpis-1"), created on first use.
 *   series  - a canonical key "name{a=\"x\",b=\"y\"}" (labels sorted by name,
 *             values escaped as in the exposition format), per device.
 *   sample  - (t_ms, value): milliseconds since the epoch and a double.
 *             Appending a sample whose (series, t_ms) already exists is a no-op
 *             (idempotent import); samples may arrive out of order.
 *   event   - derived facts (reboot, build change, OOM kill, ...), see struct store_event.
 *
 * Durability: samples appended between store_begin() and store_commit() are
 * durable once store_commit() returns 0 ("acknowledged"). A crash at any point
 * loses nothing committed and the database opens clean.
 *
 * Errors: functions return 0 (or a count) on success and a negative errno on
 * failure; store_errmsg() gives the back end's last message.
 */
#ifndef SOAK_STORE_H
#define SOAK_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct store;

struct sample {
    int64_t t_ms;
    double v;
};

/* A growable array of samples, sorted by time when returned by the store. */
struct sample_array {
    struct sample *s;
    size_t n;
    size_t cap;
};

struct store_device {
    int64_t id;
    char *name;
    int64_t first_ms; /* first sample, 0 if none */
    int64_t last_ms;  /* last sample, 0 if none */
    size_t series;    /* number of series */
};

enum store_event_kind {
    EVENT_REBOOT,        /* boot time or boot id changed */
    EVENT_BUILD_CHANGE,  /* soak_build_info{build} changed */
    EVENT_UNREACHABLE,   /* polls failing; detail has the error */
    EVENT_REACHABLE,     /* back after an outage; value = outage seconds */
    EVENT_OOM_KILL,      /* node_vmstat_oom_kill rose or kmsg said so; value = kills */
    EVENT_PANIC,         /* pstore record on the next boot; detail has its text */
    EVENT_SENSOR_LOST,   /* soak_sensor_up went 0 or vanished; subject = sensor */
    EVENT_SENSOR_BACK,
    EVENT_IFACE_CHANGE,  /* set of network interfaces up changed; detail lists it */
    EVENT_DEPLOY,        /* soak deploy installed a bundle; detail = bundle */
    EVENT_ALERT,         /* an alert fired or resolved; subject = alert name */
    _EVENT_KIND_MAX,
};

struct store_event {
    int64_t id;           /* set by the store */
    int64_t device_id;
    int64_t t_ms;
    enum store_event_kind kind;
    char *subject;        /* short: a build, a sensor, an alert name; may be NULL */
    char *detail;         /* free text (pstore excerpt, interface list); may be NULL */
    double value;         /* kind-specific number (outage seconds, kills), NaN if none */
};

struct store_event_array {
    struct store_event *e;
    size_t n;
    size_t cap;
};

/* Names of event kinds as used in JSON and the CLI ("reboot", "build_change", ...). */
const char *store_event_kind_name(enum store_event_kind k);
/* Reverse lookup; -EINVAL when unknown. */
int store_event_kind_from_name(const char *name);

/*
 * Open (and create, with the schema, if needed) a store.
 * spec: "sqlite:PATH", a plain PATH (SQLite), or "postgresql://..." / "postgres://...".
 * On failure returns a negative errno and, when err is not NULL, a message.
 */
_warn_unused_result_ int store_open(const char *spec, struct store **ret, char *err,
                                    size_t errlen);

/*
 * store_open() for commands that only read: an SQLite file that does not exist is
 * -ENOENT ("PATH: no such store") instead of a new empty store, so a mistyped --db
 * is reported rather than answered with "no data". PostgreSQL specs: as store_open().
 */
_warn_unused_result_ int store_open_existing(const char *spec, struct store **ret, char *err,
                                             size_t errlen);

/* Flush and close; accepts NULL; returns NULL. */
struct store *store_close(struct store *st);

/* The back end's last error message ("" if none). */
const char *store_errmsg(const struct store *st);

/* Back end name: "sqlite" or "postgresql". */
const char *store_backend(const struct store *st);

/* Look a device up by name; with create, add it. 0, -ENOENT (not found, !create), or error. */
_warn_unused_result_ int store_device(struct store *st, const char *name, int create,
                                      int64_t *ret_id);

/* Every device with its time range; *ret is an array the caller frees with store_devices_free(). */
_warn_unused_result_ int store_devices(struct store *st, struct store_device **ret, size_t *ret_n);
void store_devices_free(struct store_device *d, size_t n);

/* Transactions around appends. Nested begin is an error (-EBUSY). */
_warn_unused_result_ int store_begin(struct store *st);
_warn_unused_result_ int store_commit(struct store *st);
void store_rollback(struct store *st);

/*
 * Append one sample. key must be canonical (see expo_parse's canonical key).
 * Returns 1 when stored, 0 when the (series, t_ms) already existed, or an error.
 */
_warn_unused_result_ int store_append(struct store *st, int64_t device_id, const char *key,
                                      int64_t t_ms, double value);

/*
 * Series keys of a device whose metric name is metric (exactly, before '{'),
 * or every series when metric is NULL. *ret is a NULL-terminated array of strings,
 * freed with store_strv_free().
 */
_warn_unused_result_ int store_series(struct store *st, int64_t device_id, const char *metric,
                                      char ***ret);
void store_strv_free(char **v);

/*
 * Samples of one series with from_ms <= t <= to_ms, sorted by time, appended to *out
 * (which the caller owns; free with sample_array_free()). Returns the number added.
 */
_warn_unused_result_ int store_read(struct store *st, int64_t device_id, const char *key,
                                    int64_t from_ms, int64_t to_ms, struct sample_array *out);

/* Record an event (ev->id is set). 0 or error. */
_warn_unused_result_ int store_event_add(struct store *st, struct store_event *ev);

/* Events of a device (device_id < 0: all) in [from_ms, to_ms], oldest first. */
_warn_unused_result_ int store_events(struct store *st, int64_t device_id, int64_t from_ms,
                                      int64_t to_ms, struct store_event_array *out);
void store_event_array_free(struct store_event_array *a);

/* Small key/value state per device (e.g. the last /history SEQ, last boot id). */
_warn_unused_result_ int store_state_get(struct store *st, int64_t device_id, const char *key,
                                         char **ret);
_warn_unused_result_ int store_state_set(struct store *st, int64_t device_id, const char *key,
                                         const char *value);

/*
 * Apply retention: drop samples older than keep_ms before now_ms and downsample
 * samples older than downsample_after_ms to one per step_ms. 0 or error.
 */
_warn_unused_result_ int store_retention(struct store *st, int64_t now_ms, int64_t keep_ms,
                                         int64_t downsample_after_ms, int64_t step_ms);

/* sample_array helpers. */
_warn_unused_result_ int sample_array_push(struct sample_array *a, int64_t t_ms, double v);
void sample_array_free(struct sample_array *a);

#endif
