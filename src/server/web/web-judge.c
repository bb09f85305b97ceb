/* SPDX-License-Identifier: MIT */
/*
 * web-judge.c - leak analysis and verdicts for the dashboard, through the
 * judge (core/judge.h: the same code as `soak leak` and `soak verdict`).
 *
 * The farm page needs the leak and verdict badges of every device on every
 * load (and on every auto refresh), and an analysis reads a device's whole
 * history, so the badges are cached per device: the leak analysis (~0.1 s) is
 * run again when the asked-for data time moved by WEB_JUDGE_TTL_MS, the verdict
 * (~1.5 s over weeks of data) by WEB_VERDICT_TTL_MS or when the build changed.
 * The cache lives in struct web_ctx and is touched by the web thread only.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "judge.h"
#include "web-internal.h"

#define WEB_JUDGE_TTL_MS (5 * 60 * 1000LL)    /* leak badge: recomputed after this much data */
#define WEB_VERDICT_TTL_MS (30 * 60 * 1000LL) /* verdict badge (about 1.5 s per device) */

struct web_judge_entry {
    char *name;
    int64_t at_ms;         /* the data time the leak badge was computed for */
    int64_t verdict_at_ms; /* ... and the verdict badge */
    int leak;
    double leak_rate;
    int64_t exhaustion_ms;
    char *signal;
    int verdict;
    char *verdict_build;
};

void
web_judge_cache_free(struct web_ctx *c)
{
    for (size_t i = 0; i < c->n_judged; i++) {
        free(c->judged[i].name);
        free(c->judged[i].signal);
        free(c->judged[i].verdict_build);
    }
    free(c->judged);
    c->judged = NULL;
    c->n_judged = 0;
}

static struct web_judge_entry *
cache_slot(struct web_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->n_judged; i++)
        if (strcmp(c->judged[i].name, name) == 0)
            return &c->judged[i];
    struct web_judge_entry *n = realloc(c->judged, (c->n_judged + 1) * sizeof(*n));
    if (!n)
        return NULL;
    c->judged = n;
    struct web_judge_entry *e = &n[c->n_judged];
    *e = (struct web_judge_entry){
        .name = strdup(name), .at_ms = INT64_MIN, .verdict_at_ms = INT64_MIN};
    if (!e->name)
        return NULL;
    c->n_judged++;
    return e;
}

static char *
dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

/* Run the leak analysis of the newest boot up to at_ms, into e. */
static int
leak_into(struct web_ctx *c, const struct web_dev *d, int64_t at_ms, struct web_judge_entry *e)
{
    struct judge_leak jl = {0};
    int r = judge_leak_load(c->st, d->name, at_ms, &jl);

    free(e->signal);
    e->signal = NULL;
    e->leak = -1;
    e->leak_rate = NAN;
    e->exhaustion_ms = 0;
    if (r < 0 && r != -ENOENT)
        return r;
    if (r >= 0 && jl.n > 0 && jl.seg[jl.n - 1].analyzed) {
        const struct leak_result *lr = &jl.seg[jl.n - 1].leak;
        if (lr->judged) {
            e->leak = lr->leak ? 1 : 0;
            if (lr->leak) {
                e->leak_rate = lr->rate;
                e->exhaustion_ms = lr->exhaustion_ms > 0 ? lr->exhaustion_ms : 0;
                e->signal = dup_or_null(lr->signal);
            }
        }
    }
    judge_leak_free(&jl);
    e->at_ms = at_ms;
    return 0;
}

/* The verdict of the device's current build against the baseline, into e. */
static int
verdict_into(struct web_ctx *c, const struct web_dev *d, int64_t at_ms, struct web_judge_entry *e)
{
    struct judge_verdict v = {0};
    struct judge_verdict_opts o = {.baseline = c->baseline, .at_ms = at_ms};
    int r;

    free(e->verdict_build);
    e->verdict_build = NULL;
    e->verdict = -1;
    e->verdict_at_ms = at_ms;
    if (!d->build)
        return 0;
    r = judge_verdict(c->st, d->name, d->build, &o, &v);
    /* The baseline build itself (or a build with nothing to compare to) has no verdict. */
    if (r >= 0 && !(c->baseline && strcmp(c->baseline, d->build) == 0) && v.baseline)
        e->verdict = (int)v.res.outcome;
    e->verdict_build = strdup(d->build);
    judge_verdict_free(&v);
    if (!e->verdict_build)
        return -ENOMEM;
    return r < 0 && r != -ENOENT ? r : 0;
}

int
web_dev_judge(struct web_ctx *c, struct web_dev *d, int64_t at_ms)
{
    struct web_judge_entry *e;
    int r;

    if (d->id < 0)
        return 0;
    e = cache_slot(c, d->name);
    if (!e)
        return -ENOMEM;
    int64_t eff = MIN(at_ms, d->last_ms);
    if (e->at_ms == INT64_MIN || llabs(eff - e->at_ms) >= WEB_JUDGE_TTL_MS) {
        r = leak_into(c, d, eff, e);
        if (r < 0)
            return r;
    }
    bool same_build = (!d->build && !e->verdict_build) ||
                      (d->build && e->verdict_build && strcmp(d->build, e->verdict_build) == 0);
    if (e->verdict_at_ms == INT64_MIN || !same_build ||
        llabs(eff - e->verdict_at_ms) >= WEB_VERDICT_TTL_MS) {
        r = verdict_into(c, d, eff, e);
        if (r < 0)
            return r;
    }
    d->leak = e->leak;
    d->leak_rate = e->leak_rate;
    d->exhaustion_ms = e->exhaustion_ms;
    d->verdict = e->verdict;
    free(d->leak_signal);
    free(d->verdict_build);
    d->leak_signal = dup_or_null(e->signal);
    d->verdict_build = dup_or_null(e->verdict_build);
    return 0;
}

int
web_leak_json(struct web_ctx *c, const struct web_dev *d, int64_t at_ms, json_t **ret)
{
    struct judge_leak jl = {0};
    int r = judge_leak_load(c->st, d->name, at_ms, &jl);

    if (r == -ENOENT) {
        /* configured but never stored: no segments */
        *ret = json_pack("{s:s, s:[]}", "device", d->name, "segments");
        return *ret ? 0 : -ENOMEM;
    }
    if (r < 0)
        return r;
    *ret = judge_leak_json(&jl);
    judge_leak_free(&jl);
    return *ret ? 0 : -ENOMEM;
}

int
web_verdict_json(struct web_ctx *c, const char *build, const char *baseline, json_t **ret)
{
    char **devs = NULL;
    int r = judge_devices_with_build(c->st, build, &devs);

    if (r < 0)
        return r;
    if (!devs || !devs[0]) {
        store_strv_free(devs);
        return -ENOENT;
    }
    json_t *arr = json_array();
    for (size_t i = 0; devs[i] && r >= 0; i++) {
        struct judge_verdict v = {0};
        struct judge_verdict_opts o = {.baseline = baseline, .at_ms = INT64_MAX};
        r = judge_verdict(c->st, devs[i], build, &o, &v);
        if (r == -ENOENT)
            r = 0; /* the judge has nothing to say: reported as not enough data */
        if (r >= 0) {
            json_t *j = judge_verdict_json(&v);
            if (!j)
                r = -ENOMEM;
            else
                (void)json_array_append_new(arr, j);
        }
        judge_verdict_free(&v);
    }
    store_strv_free(devs);
    if (r < 0) {
        json_decref(arr);
        return r;
    }
    *ret =
        json_pack("{s:s, s:o, s:o}", "build", build, "baseline", web_str(baseline), "devices", arr);
    return *ret ? 0 : -ENOMEM;
}
