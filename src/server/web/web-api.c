/* SPDX-License-Identifier: MIT */
/*
 * web-api.c - the JSON API under /api/v1 (docs/API.md). Every reply is built
 * with jansson; bad parameters are 400 with {"error": "..."}, an unknown
 * device or path is 404 in the same shape.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "expo-parse.h"
#include "parse.h"
#include "web-internal.h"

void
web_error_json(struct web_reply *rep, unsigned status, const char *msg)
{
    json_t *o = json_pack("{s:s, s:i}", "error", msg, "status", (int)status);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

    rep->status = status;
    rep->ctype = "application/json";
    buf_reset(&rep->body);
    if (!s || buf_puts(&rep->body, s) < 0 || buf_putc(&rep->body, '\n') < 0) {
        buf_reset(&rep->body);
        if (buf_puts(&rep->body, "{\"error\":\"out of memory\"}\n") < 0)
            buf_reset(&rep->body);
    }
    free(s);
    json_decref(o);
}

/* Serialise o (stolen) as the 200 reply. */
static void
reply_json(struct web_reply *rep, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;

    json_decref(o);
    if (!s) {
        web_error_json(rep, 500, "out of memory");
        return;
    }
    rep->status = 200;
    rep->ctype = "application/json";
    buf_reset(&rep->body);
    if (buf_puts(&rep->body, s) < 0 || buf_putc(&rep->body, '\n') < 0)
        web_error_json(rep, 500, "reply too large: narrow the time range");
    free(s);
}

static void
store_error(struct web_reply *rep, struct web_ctx *c, int r)
{
    char msg[384];

    (void)snprintf(msg, sizeof(msg), "store error: %s (%s)", strerror(-r), store_errmsg(c->st));
    web_error_json(rep, 500, msg);
}

/* Parse the range arguments; on failure the 400 reply is set and -EINVAL returned. */
static int
req_range(const struct web_req *q, struct web_reply *rep, struct web_range *rg)
{
    char err[200];

    if (web_range_parse(web_arg(q, "range"), web_arg(q, "from"), web_arg(q, "to"),
                        web_anchor_ms(q->c), rg, err, sizeof(err)) < 0) {
        web_error_json(rep, 400, err);
        return -EINVAL;
    }
    return 0;
}

static json_t *
range_json(const struct web_range *rg)
{
    return json_pack("{s:o, s:o}", "from", web_time_json(rg->from_ms), "to",
                     web_time_json(rg->to_ms));
}

static void
api_devices(const struct web_req *q, struct web_reply *rep)
{
    struct web_range rg;
    struct web_farm f = {0};
    int r;

    if (req_range(q, rep, &rg) < 0)
        return;
    r = web_farm_load(q->c, &rg, &f);
    if (r < 0) {
        store_error(rep, q->c, r);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < f.n; i++)
        (void)json_array_append_new(arr, web_dev_json(&f.devs[i]));
    web_farm_free(&f);
    json_t *o = range_json(&rg);
    (void)json_object_set_new(o, "devices", arr);
    reply_json(rep, o);
}

/* Load the device of the route; 404 / 500 replies set on failure. */
static int
req_device(const struct web_req *q, struct web_reply *rep, const struct web_range *rg,
           struct web_dev *d)
{
    int r = web_dev_load(q->c, q->rt->name, rg, d);

    if (r == -ENOENT) {
        char msg[WEB_NAME_MAX + 32];
        (void)snprintf(msg, sizeof(msg), "no device '%s'", q->rt->name);
        web_error_json(rep, 404, msg);
    } else if (r < 0) {
        store_error(rep, q->c, r);
    }
    return r;
}

static void
api_device(const struct web_req *q, struct web_reply *rep)
{
    struct web_range rg;
    struct web_dev d;
    char **keys = NULL;

    if (req_range(q, rep, &rg) < 0 || req_device(q, rep, &rg, &d) < 0)
        return;
    json_t *o = range_json(&rg);
    (void)json_object_set_new(o, "device", web_dev_json(&d));
    json_t *arr = json_array();
    if (d.id >= 0 && store_series(q->c->st, d.id, NULL, &keys) >= 0)
        for (size_t i = 0; keys && keys[i]; i++)
            (void)json_array_append_new(arr, json_string(keys[i]));
    store_strv_free(keys);
    (void)json_object_set_new(o, "series", arr);
    web_dev_free(&d);
    reply_json(rep, o);
}

static json_t *
labels_json(const char *key)
{
    struct expo_series s = {0};
    json_t *o = json_object();

    if (expo_series_parse(key, &s) == 0)
        for (size_t i = 0; i < s.n; i++)
            (void)json_object_set_new(o, s.labels[i].name, json_string(s.labels[i].value));
    expo_series_done(&s);
    return o;
}

static void
api_series(const struct web_req *q, struct web_reply *rep)
{
    struct web_range rg;
    struct web_dev d;
    const char *metric = web_arg(q, "metric");
    const char *pts = web_arg(q, "points");
    uint64_t points = 0;
    char **keys = NULL;

    if (!metric || !web_metric_valid(metric)) {
        web_error_json(rep, 400,
                       "metric is required and must be a metric name "
                       "(e.g. metric=node_memory_MemAvailable_bytes)");
        return;
    }
    if (pts && (parse_u64(pts, &points) < 0 || points < 2 || points > WEB_SERIES_POINTS_MAX)) {
        web_error_json(rep, 400, "points must be a whole number from 2 to 20000");
        return;
    }
    if (req_range(q, rep, &rg) < 0 || req_device(q, rep, &rg, &d) < 0)
        return;
    json_t *o = range_json(&rg);
    (void)json_object_set_new(o, "device", json_string(d.name));
    (void)json_object_set_new(o, "metric", json_string(metric));
    json_t *arr = json_array();
    int r = d.id >= 0 ? store_series(q->c->st, d.id, metric, &keys) : 0;
    bool reduced = false;
    for (size_t i = 0; r >= 0 && keys && keys[i]; i++) {
        struct sample_array a = {0};
        r = store_read(q->c->st, d.id, keys[i], rg.from_ms, rg.to_ms, &a);
        if (r < 0)
            break;
        size_t limit = points ? points : WEB_SERIES_POINTS_MAX;
        const struct sample *s = a.s;
        size_t n = a.n;
        _cleanup_free_ struct sample *red = NULL;
        if (n > limit) {
            red = calloc(limit, sizeof(*red));
            if (!red) {
                sample_array_free(&a);
                r = -ENOMEM;
                break;
            }
            n = samples_minmax(a.s, a.n, rg.from_ms, rg.to_ms, limit / 2, red);
            s = red;
            reduced = true;
        }
        json_t *samples = json_array();
        for (size_t k = 0; k < n; k++)
            (void)json_array_append_new(
                samples, json_pack("[f, o]", (double)s[k].t_ms / 1000.0, web_num(s[k].v)));
        (void)json_array_append_new(arr, json_pack("{s:s, s:o, s:o}", "key", keys[i], "labels",
                                                   labels_json(keys[i]), "samples", samples));
        sample_array_free(&a);
    }
    store_strv_free(keys);
    web_dev_free(&d);
    if (r < 0) {
        json_decref(arr);
        json_decref(o);
        store_error(rep, q->c, r);
        return;
    }
    (void)json_object_set_new(o, "downsampled", json_boolean(reduced));
    (void)json_object_set_new(o, "series", arr);
    reply_json(rep, o);
}

json_t *
web_event_json(const struct store_event *e)
{
    return json_pack("{s:o, s:s, s:o, s:o, s:o}", "time", web_time_json(e->t_ms), "kind",
                     store_event_kind_name(e->kind), "subject", web_str(e->subject), "detail",
                     web_str(e->detail), "value", web_num(e->value));
}

static void
api_events(const struct web_req *q, struct web_reply *rep)
{
    struct web_range rg = {.from_ms = 0, .to_ms = INT64_MAX};
    struct web_dev d;
    const char *kind = web_arg(q, "kind");
    int want = -1;

    if (kind) {
        want = store_event_kind_from_name(kind);
        if (want < 0) {
            web_error_json(rep, 400,
                           "unknown kind: use reboot, build_change, unreachable, reachable, "
                           "oom_kill, panic, sensor_lost, sensor_back, iface_change, deploy "
                           "or alert");
            return;
        }
    }
    /* Without range arguments the whole history is listed. */
    if ((web_arg(q, "range") || web_arg(q, "from") || web_arg(q, "to")) &&
        req_range(q, rep, &rg) < 0)
        return;
    if (req_device(q, rep, &rg, &d) < 0)
        return;
    struct store_event_array ev = {0};
    int r = d.id >= 0 ? store_events(q->c->st, d.id, rg.from_ms, rg.to_ms, &ev) : 0;
    if (r < 0) {
        web_dev_free(&d);
        store_error(rep, q->c, r);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < ev.n; i++)
        if (want < 0 || (int)ev.e[i].kind == want)
            (void)json_array_append_new(arr, web_event_json(&ev.e[i]));
    store_event_array_free(&ev);
    json_t *o = json_pack("{s:s, s:o}", "device", d.name, "events", arr);
    web_dev_free(&d);
    reply_json(rep, o);
}

static void
api_leak(const struct web_req *q, struct web_reply *rep)
{
    const char *at = web_arg(q, "at");
    int64_t at_ms = 0;
    struct web_range rg;
    struct web_dev d;
    json_t *o = NULL;

    if (at && web_time_parse(at, &at_ms) < 0) {
        web_error_json(rep, 400, "bad at: use unix seconds or YYYY-MM-DD[THH:MM[:SS]][Z]");
        return;
    }
    if (req_range(q, rep, &rg) < 0 || req_device(q, rep, &rg, &d) < 0)
        return;
    int r = web_leak_json(q->c, &d, at_ms ? at_ms : INT64_MAX, &o);
    web_dev_free(&d);
    if (r < 0) {
        store_error(rep, q->c, r);
        return;
    }
    reply_json(rep, o);
}

static void
api_verdict(const struct web_req *q, struct web_reply *rep)
{
    const char *base = web_arg(q, "baseline");
    json_t *o = NULL;

    if (base && !web_name_valid(base)) {
        web_error_json(rep, 400, "bad baseline: a build name of 1 to 128 characters");
        return;
    }
    int r = web_verdict_json(q->c, q->rt->name, base ? base : q->c->baseline, &o);
    if (r == -ENOENT) {
        char msg[WEB_NAME_MAX + 48];
        (void)snprintf(msg, sizeof(msg), "no device ran build '%s'", q->rt->name);
        web_error_json(rep, 404, msg);
        return;
    }
    if (r < 0) {
        store_error(rep, q->c, r);
        return;
    }
    reply_json(rep, o);
}

static void
api_builds(const struct web_req *q, struct web_reply *rep)
{
    json_t *o = NULL;
    int r = web_builds_json(q->c, &o);

    if (r < 0) {
        store_error(rep, q->c, r);
        return;
    }
    reply_json(rep, o);
}

static void
api_alerts(const struct web_req *q, struct web_reply *rep)
{
    struct store_event_array ev = {0};
    struct store_device *sd = NULL;
    size_t n = 0;
    int r = store_devices(q->c->st, &sd, &n);

    if (r >= 0)
        r = store_events(q->c->st, -1, 0, INT64_MAX, &ev);
    if (r < 0) {
        store_devices_free(sd, n);
        store_error(rep, q->c, r);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < ev.n; i++) {
        const struct store_event *e = &ev.e[i];
        bool newest = true;

        if (e->kind != EVENT_ALERT || !e->subject)
            continue;
        for (size_t j = i + 1; j < ev.n && newest; j++)
            if (ev.e[j].kind == EVENT_ALERT && ev.e[j].device_id == e->device_id &&
                ev.e[j].subject && strcmp(ev.e[j].subject, e->subject) == 0)
                newest = false;
        if (!newest || isnan(e->value) || e->value == 0)
            continue;
        const char *dev = NULL;
        for (size_t k = 0; k < n; k++)
            if (sd[k].id == e->device_id)
                dev = sd[k].name;
        (void)json_array_append_new(
            arr, json_pack("{s:o, s:s, s:o, s:o}", "device", web_str(dev), "alert", e->subject,
                           "since", web_time_json(e->t_ms), "detail", web_str(e->detail)));
    }
    store_event_array_free(&ev);
    store_devices_free(sd, n);
    reply_json(rep, json_pack("{s:o}", "alerts", arr));
}

void
web_api(const struct web_req *q, struct web_reply *rep)
{
    switch (q->rt->kind) {
    case ROUTE_API_DEVICES:
        api_devices(q, rep);
        break;
    case ROUTE_API_DEVICE:
        api_device(q, rep);
        break;
    case ROUTE_API_SERIES:
        api_series(q, rep);
        break;
    case ROUTE_API_EVENTS:
        api_events(q, rep);
        break;
    case ROUTE_API_LEAK:
        api_leak(q, rep);
        break;
    case ROUTE_API_VERDICT:
        api_verdict(q, rep);
        break;
    case ROUTE_API_ALERTS:
        api_alerts(q, rep);
        break;
    case ROUTE_API_BUILDS:
        api_builds(q, rep);
        break;
    default:
        web_error_json(rep, 404, "no such API endpoint (see docs/API.md)");
        break;
    }
}
