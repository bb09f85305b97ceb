/* SPDX-License-Identifier: MIT */
/*
 * alerts.h - alerts the server evaluates after every poll, deduplicated, with
 * a resolved notice, stored as EVENT_ALERT and delivered through an exec hook
 * and/or a webhook (DESIGN §5, issue 5 §6).
 *
 * Alerts (name, subject):
 *   unreachable            polls failing for [alerts] unreachable_after; resolves when back
 *   sensor_lost  SENSOR    soak_sensor_up is 0 (or the sensor vanished); resolves when back
 *   oom_kill               an OOM kill event; resolves after [alerts] hold without another
 *   panic                  a panic (pstore) event; resolves after hold
 *   unexpected_reboot      a reboot without a build change; resolves after hold
 *   leak_suspected, exhaustion  given by the caller through alerts_set() (analysis)
 * One alert per (device, name, subject) fires once and stays open until resolved,
 * whatever happens in between; the open set survives restarts (rebuilt from the
 * stored EVENT_ALERT events).
 *
 * Notification (JSON via jansson, on the hook's stdin and as the webhook body):
 *   {"alert": NAME, "device": D, "subject": S|null, "state": "firing"|"resolved",
 *    "since": UNIX_S, "time": UNIX_S, "summary": TEXT}
 * Exec hook: the [alerts] exec argv template with {alert} {device} {subject} {state}
 * {summary} replaced, run without a shell (posix_spawnp), never waited for in the loop.
 * Webhook: POST to [alerts] webhook, handed to the post callback (the server's
 * libcurl multi loop sends it).
 * Stored event: kind EVENT_ALERT, subject "NAME" or "NAME:SUBJECT", detail = summary,
 * value 1 firing / 0 resolved.
 */
#ifndef SOAK_ALERTS_H
#define SOAK_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "events.h"
#include "farmconf.h"
#include "macro.h"
#include "store.h"

struct alerts;

/* A notification, as passed to a sink (tests) and rendered to JSON. */
struct alert_note {
    const char *alert;
    const char *device;
    const char *subject; /* may be NULL */
    int firing;          /* 1 firing, 0 resolved */
    int64_t since_ms;
    int64_t t_ms;
    const char *summary;
};

typedef void (*alert_sink_fn)(void *ctx, const struct alert_note *n, const char *json);

/*
 * Hands a webhook POST (url, bearer token or NULL, JSON body; all copied by the
 * callee) to whoever runs the HTTP loop; the server queues it for its libcurl multi loop.
 */
typedef void (*alert_post_fn)(void *ctx, const char *url, const char *token, const char *json);

/*
 * New alert evaluator with conf's [alerts] settings (copied). post may be NULL
 * (no webhook delivery). 0 or -ENOMEM.
 */
_warn_unused_result_ int alerts_new(const struct farm_conf *conf, alert_post_fn post,
                                    void *post_ctx, struct alerts **ret);

/* Take new [alerts] settings after a reload. */
void alerts_configure(struct alerts *a, const struct farm_conf *conf);

/* Also hand every notification to fn (tests, logging). */
void alerts_set_sink(struct alerts *a, alert_sink_fn fn, void *ctx);

/*
 * Set the state of one alert at now_ms: active and not open fires it, not active
 * and open resolves it; anything else does nothing. st may be NULL (not stored).
 * Returns 1 when it fired, 2 when it resolved, 0 otherwise.
 */
int alerts_set(struct alerts *a, struct store *st, const char *device, int64_t device_id,
               const char *name, const char *subject, int active, int64_t now_ms,
               const char *summary);

/*
 * Evaluate the alerts of one device after a poll stored at now_ms: its event
 * state (reachability, sensors) and the events that poll produced.
 */
void alerts_observe(struct alerts *a, struct store *st, const char *device, int64_t device_id,
                    const struct events_state *ev, const struct store_event_array *evs,
                    int64_t now_ms);

/* Housekeeping: reap finished hook processes (never blocks). */
void alerts_tick(struct alerts *a);

/* Open alerts right now. */
size_t alerts_open_count(const struct alerts *a);

/* Notifications sent (fired + resolved) since alerts_new(). */
unsigned long alerts_sent(const struct alerts *a);

/*
 * Rebuild the open set from stored EVENT_ALERT events (the last state of each
 * (device, subject)), so a restarted server does not fire them again. 0 or store error.
 */
_warn_unused_result_ int alerts_load(struct alerts *a, struct store *st);

/* Free; accepts NULL; returns NULL. Hook processes still running are left to finish. */
struct alerts *alerts_free(struct alerts *a);

/* Render a notification as JSON (malloc'ed). NULL on OOM. */
char *alert_note_json(const struct alert_note *n);

#endif
