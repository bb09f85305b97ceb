/* SPDX-License-Identifier: MIT */
/*
 * web-data.c - what the farm page, the device page and /api/v1/devices show,
 * read from the store once per request: newest build, reachability, uptime,
 * poll latency, memory and its sparkline, open alerts, event counts, and the
 * leak and verdict badges. Pages and the API render the same struct web_dev,
 * so the JSON API is behind every page.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "expo-parse.h"
#include "web-internal.h"

#define SPARK_BUCKETS 60                     /* sparkline columns (each keeps min and max) */
#define LATEST_WINDOW_MS (6 * 3600 * 1000LL) /* first look for the newest sample here */
#define STALE_MIN_MS (5 * 60 * 1000LL)       /* a poll older than max(this, 3 intervals) is stale */

int64_t
web_now_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
web_key_label(const char *key, const char *label)
{
    char v[EXPO_LABEL_VALUE_MAX * 2 + 8];

    if (expo_key_label(key, label, v, sizeof(v)) < 0)
        return NULL;
    return strdup(v);
}

int
web_latest(struct store *st, int64_t dev, const char *key, int64_t last_ms, int64_t *ret_t,
           double *ret_v)
{
    struct sample_array a = {0};
    int r;

    r = store_read(st, dev, key, last_ms - LATEST_WINDOW_MS, last_ms, &a);
    if (r == 0)
        r = store_read(st, dev, key, 0, last_ms, &a);
    if (r > 0) {
        *ret_t = a.s[a.n - 1].t_ms;
        *ret_v = a.s[a.n - 1].v;
        r = 0;
    } else if (r == 0) {
        r = -ENOENT;
    }
    sample_array_free(&a);
    return r;
}

int
web_latest_key(struct store *st, int64_t dev, const char *metric, int64_t last_ms, char **ret_key,
               int64_t *ret_t, double *ret_v)
{
    char **keys = NULL;
    int r = store_series(st, dev, metric, &keys);
    int64_t best_t = INT64_MIN;
    double best_v = NAN;
    const char *best = NULL;

    if (r < 0)
        return r;
    for (size_t i = 0; keys && keys[i]; i++) {
        int64_t t;
        double v;
        if (web_latest(st, dev, keys[i], last_ms, &t, &v) == 0 && t > best_t) {
            best_t = t;
            best_v = v;
            best = keys[i];
        }
    }
    if (!best) {
        store_strv_free(keys);
        return -ENOENT;
    }
    if (ret_key) {
        *ret_key = strdup(best);
        if (!*ret_key) {
            store_strv_free(keys);
            return -ENOMEM;
        }
    }
    if (ret_t)
        *ret_t = best_t;
    if (ret_v)
        *ret_v = best_v;
    store_strv_free(keys);
    return 0;
}

static double
latest_value(struct store *st, int64_t dev, const char *key, int64_t last_ms, int64_t *ret_t)
{
    int64_t t = 0;
    double v = NAN;

    if (web_latest(st, dev, key, last_ms, &t, &v) < 0)
        return NAN;
    if (ret_t)
        *ret_t = t;
    return v;
}

int64_t
web_anchor_ms(struct web_ctx *c)
{
    struct store_device *d = NULL;
    size_t n = 0;
    int64_t best = 0;

    if (store_devices(c->st, &d, &n) >= 0) {
        for (size_t i = 0; i < n; i++)
            best = MAX(best, d[i].last_ms);
        store_devices_free(d, n);
    }
    return best > 0 ? best : web_now_ms();
}

const struct web_device *
web_configured(const struct web_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->n_devices; i++)
        if (strcmp(c->devices[i].name, name) == 0)
            return &c->devices[i];
    return NULL;
}

void
web_dev_free(struct web_dev *d)
{
    if (!d)
        return;
    free(d->name);
    free(d->url);
    free(d->build);
    free(d->kernel);
    free(d->leak_signal);
    free(d->deploy_failed);
    free(d->verdict_build);
    sample_array_free(&d->spark);
    if (d->alerts)
        for (size_t i = 0; d->alerts[i]; i++)
            free(d->alerts[i]);
    free(d->alerts);
    *d = (struct web_dev){0};
}

/* Open alerts: the newest EVENT_ALERT of each subject has value != 0 (fired). */
static int
load_alerts(struct store *st, struct web_dev *d)
{
    struct store_event_array ev = {0};
    int r = store_events(st, d->id, 0, INT64_MAX, &ev);

    if (r < 0)
        return r;
    for (size_t i = 0; i < ev.n; i++) {
        const struct store_event *e = &ev.e[i];
        bool newest = true;

        if (e->kind != EVENT_ALERT || !e->subject)
            continue;
        for (size_t j = i + 1; j < ev.n && newest; j++)
            if (ev.e[j].kind == EVENT_ALERT && ev.e[j].subject &&
                strcmp(ev.e[j].subject, e->subject) == 0)
                newest = false;
        if (!newest || isnan(e->value) || e->value == 0)
            continue;
        char **na = realloc(d->alerts, (d->n_alerts + 2) * sizeof(*na));
        if (!na) {
            r = -ENOMEM;
            break;
        }
        d->alerts = na;
        d->alerts[d->n_alerts] = strdup(e->subject);
        d->alerts[d->n_alerts + 1] = NULL;
        if (!d->alerts[d->n_alerts]) {
            r = -ENOMEM;
            break;
        }
        d->n_alerts++;
    }
    store_event_array_free(&ev);
    return r < 0 ? r : 0;
}

static int
load_counts(struct store *st, struct web_dev *d, const struct web_range *rg)
{
    struct store_event_array ev = {0};
    /* Unless the request fixed the end, the view runs to now: a deploy after the newest
     * sample (the board never answered again) is still the board's latest news. */
    int64_t to = rg->explicit_to ? rg->to_ms : INT64_MAX;
    int r = store_events(st, d->id, rg->from_ms, to, &ev);

    if (r < 0)
        return r;
    for (size_t i = 0; i < ev.n; i++) {
        if (ev.e[i].t_ms > rg->to_ms && ev.e[i].kind != EVENT_DEPLOY)
            continue;
        switch (ev.e[i].kind) {
        case EVENT_OOM_KILL:
            d->n_oom++;
            break;
        case EVENT_PANIC:
            d->n_panic++;
            break;
        case EVENT_REBOOT:
            d->n_reboot++;
            break;
        case EVENT_DEPLOY:
            /* events come oldest first: the newest deploy decides */
            free(d->deploy_failed);
            d->deploy_failed = NULL;
            if (ev.e[i].value == 0 && ev.e[i].subject)
                d->deploy_failed = strdup(ev.e[i].subject);
            break;
        default:
            break;
        }
    }
    store_event_array_free(&ev);
    return 0;
}

static int
load_stored(struct web_ctx *c, struct web_dev *d, const struct web_range *rg)
{
    struct store *st = c->st;
    _cleanup_free_ char *bkey = NULL;
    int64_t t = 0;
    double up;
    int r;

    if (web_latest_key(st, d->id, "soak_build_info", d->last_ms, &bkey, NULL, NULL) == 0) {
        d->build = web_key_label(bkey, "build");
        d->kernel = web_key_label(bkey, "kernel_release");
    }
    up = latest_value(st, d->id, "soak_poll_up", d->last_ms, &t);
    if (!isnan(up)) {
        const struct web_device *cd = web_configured(c, d->name);
        double iv = cd && cd->interval > 0 ? cd->interval : 60;
        int64_t stale = MAX(STALE_MIN_MS, (int64_t)(3 * iv * 1000));

        d->reach = up > 0 ? REACH_UP : REACH_DOWN;
        if (d->reach == REACH_UP && web_now_ms() - t > stale)
            d->reach = REACH_STALE;
        d->last_poll_ms = t;
    }
    d->latency_s = latest_value(st, d->id, "soak_poll_duration_seconds", d->last_ms, NULL);
    d->uptime_s = latest_value(st, d->id, "soak_uptime_seconds", d->last_ms, NULL);
    d->mem_total = latest_value(st, d->id, "node_memory_MemTotal_bytes", d->last_ms, NULL);
    d->mem_avail = latest_value(st, d->id, "node_memory_MemAvailable_bytes", d->last_ms, NULL);

    struct sample_array a = {0};
    r = store_read(st, d->id, "node_memory_MemAvailable_bytes", rg->from_ms, rg->to_ms, &a);
    if (r > 0) {
        d->spark.s = calloc(2 * SPARK_BUCKETS, sizeof(struct sample));
        if (!d->spark.s) {
            sample_array_free(&a);
            return -ENOMEM;
        }
        d->spark.cap = 2 * SPARK_BUCKETS;
        d->spark.n = samples_minmax(a.s, a.n, rg->from_ms, rg->to_ms, SPARK_BUCKETS, d->spark.s);
    }
    sample_array_free(&a);
    if (r < 0)
        return r;
    r = load_alerts(st, d);
    if (r < 0)
        return r;
    return load_counts(st, d, rg);
}

static int
dev_fill(struct web_ctx *c, const struct store_device *sd, const char *name,
         const struct web_range *rg, struct web_dev *d)
{
    const struct web_device *cd = web_configured(c, name);

    *d = (struct web_dev){.id = -1,
                          .uptime_s = NAN,
                          .latency_s = NAN,
                          .mem_total = NAN,
                          .mem_avail = NAN,
                          .leak = -1,
                          .leak_rate = NAN,
                          .verdict = -1};
    d->name = strdup(name);
    if (!d->name)
        return -ENOMEM;
    if (cd && cd->url) {
        d->url = strdup(cd->url);
        if (!d->url)
            return -ENOMEM;
    }
    if (!sd)
        return 0;
    d->id = sd->id;
    d->first_ms = sd->first_ms;
    d->last_ms = sd->last_ms;
    int r = load_stored(c, d, rg);
    if (r < 0)
        return r;
    return web_dev_judge(c, d, rg->to_ms);
}

int
web_dev_load(struct web_ctx *c, const char *name, const struct web_range *rg, struct web_dev *ret)
{
    struct store_device *sd = NULL;
    size_t n = 0;
    int r = store_devices(c->st, &sd, &n);

    if (r < 0)
        return r;
    const struct store_device *found = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(sd[i].name, name) == 0)
            found = &sd[i];
    if (!found && !web_configured(c, name)) {
        store_devices_free(sd, n);
        return -ENOENT;
    }
    r = dev_fill(c, found, name, rg, ret);
    store_devices_free(sd, n);
    if (r < 0)
        web_dev_free(ret);
    return r;
}

int
web_dev_score(const struct web_dev *d)
{
    int s = 0;

    if (d->reach == REACH_DOWN)
        s += 1000;
    if (d->reach == REACH_STALE)
        s += 200;
    if (d->leak == 1)
        s += 500;
    if (d->verdict == 1)
        s += 400;
    if (d->n_panic > 0)
        s += 300;
    if (d->deploy_failed)
        s += 300;
    s += 100 * (int)MIN(d->n_alerts, 5u);
    if (d->n_oom > 0)
        s += 50;
    if (d->id < 0)
        s += 10; /* configured but never seen */
    return s;
}

static int
dev_cmp(const void *a, const void *b)
{
    const struct web_dev *x = a, *y = b;
    int sx = web_dev_score(x), sy = web_dev_score(y);

    if (sx != sy)
        return sy - sx;
    return strcmp(x->name, y->name);
}

void
web_farm_free(struct web_farm *f)
{
    for (size_t i = 0; i < f->n; i++)
        web_dev_free(&f->devs[i]);
    free(f->devs);
    *f = (struct web_farm){0};
}

int
web_farm_load(struct web_ctx *c, const struct web_range *rg, struct web_farm *ret)
{
    struct store_device *sd = NULL;
    size_t n = 0;
    int r = store_devices(c->st, &sd, &n);
    struct web_farm f = {0};

    if (r < 0)
        return r;
    f.devs = calloc(n + c->n_devices + 1, sizeof(*f.devs));
    if (!f.devs) {
        store_devices_free(sd, n);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n && r >= 0; i++) {
        r = dev_fill(c, &sd[i], sd[i].name, rg, &f.devs[f.n]);
        f.n++;
    }
    for (size_t i = 0; i < c->n_devices && r >= 0; i++) {
        bool stored = false;
        for (size_t j = 0; j < n; j++)
            stored |= strcmp(sd[j].name, c->devices[i].name) == 0;
        if (stored)
            continue;
        r = dev_fill(c, NULL, c->devices[i].name, rg, &f.devs[f.n]);
        f.n++;
    }
    store_devices_free(sd, n);
    if (r < 0) {
        web_farm_free(&f);
        return r;
    }
    qsort(f.devs, f.n, sizeof(*f.devs), dev_cmp);
    *ret = f;
    return 0;
}

const char *
web_reach_name(enum web_reach r)
{
    switch (r) {
    case REACH_UP:
        return "up";
    case REACH_DOWN:
        return "down";
    case REACH_STALE:
        return "stale";
    default:
        return "unknown";
    }
}

const char *
web_verdict_name(int v)
{
    switch (v) {
    case 0:
        return "pass";
    case 1:
        return "fail";
    case 2:
        return "not enough data";
    default:
        return NULL;
    }
}

json_t *
web_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *
web_time_json(int64_t t_ms)
{
    return t_ms > 0 ? json_real((double)t_ms / 1000.0) : json_null();
}

json_t *
web_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *
web_dev_json(const struct web_dev *d)
{
    json_t *alerts = json_array();
    const char *verdict = web_verdict_name(d->verdict);

    for (size_t i = 0; i < d->n_alerts; i++)
        (void)json_array_append_new(alerts, json_string(d->alerts[i]));
    return json_pack("{s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:{s:o, s:o}, s:o,"
                     " s:{s:I, s:I, s:I}, s:{s:s, s:o, s:o, s:o}, s:{s:o, s:o}, s:o}",
                     "name", d->name, "configured", d->url != NULL, "url", web_str(d->url), "first",
                     web_time_json(d->first_ms), "last", web_time_json(d->last_ms), "build",
                     web_str(d->build), "kernel_release", web_str(d->kernel), "reachable",
                     web_reach_name(d->reach), "last_poll", web_time_json(d->last_poll_ms),
                     "uptime_seconds", web_num(d->uptime_s), "poll_latency_seconds",
                     web_num(d->latency_s), "memory", "total_bytes", web_num(d->mem_total),
                     "available_bytes", web_num(d->mem_avail), "alerts", alerts, "events",
                     "oom_kill", (json_int_t)d->n_oom, "panic", (json_int_t)d->n_panic, "reboot",
                     (json_int_t)d->n_reboot, "leak", "state",
                     d->leak < 0 ? "unknown"
                     : d->leak   ? "leak"
                                 : "none",
                     "rate_bytes_per_day", web_num(d->leak_rate), "exhaustion_time",
                     web_time_json(d->exhaustion_ms), "signal", web_str(d->leak_signal), "verdict",
                     "build", web_str(d->verdict_build), "result", web_str(verdict),
                     "deploy_failed", web_str(d->deploy_failed));
}
