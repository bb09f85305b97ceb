/* SPDX-License-Identifier: MIT */
/*
 * web-judge.c - leak analysis and verdicts for the dashboard, through the
 * judge (core/judge.h: the same code as `soak leak` and `soak verdict`).
 *
 * The farm page needs the leak and verdict badges of every device on every
 * load (and on every auto refresh), and an analysis reads a device's whole
 * history, so the badges are cached per device: the leak analysis (~0.1 s over
 * weeks of 1-minute data) is run again when the asked-for data time moved by
 * WEB_JUDGE_TTL_MS, the verdict by WEB_VERDICT_TTL_MS or when the build changed.
 * When both are due, the history is loaded and analysed once (judge_verdict_from).
 *
 * The cache (struct web_judge_cache) is shared by the web threads: its mutex is
 * held only to look an entry up and to store a result, never during an analysis.
 * One thread at a time analyses a device (entry->busy); another request that
 * needs the same device's badges meanwhile waits for that result instead of
 * computing it again, while requests for other devices go on.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "judge.h"
#include "web-internal.h"

#define WEB_JUDGE_TTL_MS (5 * 60 * 1000LL)    /* leak badge: recomputed after this much data */
#define WEB_VERDICT_TTL_MS (30 * 60 * 1000LL) /* verdict badge */

/* The badges of one device and the data times they were computed for. */
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
    bool busy; /* a thread is computing this device's badges */
};

struct web_judge_cache {
    pthread_mutex_t lock; /* guards e, n and every entry */
    pthread_cond_t done;  /* an entry stopped being busy */
    struct web_judge_entry *e;
    size_t n;
};

static void
entry_done(struct web_judge_entry *e)
{
    free(e->name);
    free(e->signal);
    free(e->verdict_build);
    *e = (struct web_judge_entry){0};
}

int
web_judge_cache_new(struct web_ctx *c)
{
    struct web_judge_cache *jc = calloc(1, sizeof(*jc));

    if (!jc)
        return -ENOMEM;
    if (pthread_mutex_init(&jc->lock, NULL) != 0) {
        free(jc);
        return -ENOMEM;
    }
    if (pthread_cond_init(&jc->done, NULL) != 0) {
        (void)pthread_mutex_destroy(&jc->lock);
        free(jc);
        return -ENOMEM;
    }
    c->judge = jc;
    return 0;
}

void
web_judge_cache_free(struct web_ctx *c)
{
    struct web_judge_cache *jc = c->judge;

    if (!jc)
        return;
    for (size_t i = 0; i < jc->n; i++)
        entry_done(&jc->e[i]);
    free(jc->e);
    (void)pthread_cond_destroy(&jc->done);
    (void)pthread_mutex_destroy(&jc->lock);
    free(jc);
    c->judge = NULL;
}

/* The entry of name, created when missing (NULL on ENOMEM). Called with the lock held. */
static struct web_judge_entry *
cache_slot(struct web_judge_cache *jc, const char *name)
{
    for (size_t i = 0; i < jc->n; i++)
        if (strcmp(jc->e[i].name, name) == 0)
            return &jc->e[i];
    struct web_judge_entry *n = realloc(jc->e, (jc->n + 1) * sizeof(*n));
    if (!n)
        return NULL;
    jc->e = n;
    struct web_judge_entry *e = &n[jc->n];
    *e = (struct web_judge_entry){
        .name = strdup(name), .at_ms = INT64_MIN, .verdict_at_ms = INT64_MIN};
    if (!e->name)
        return NULL;
    jc->n++;
    return e;
}

static char *
dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

/* The leak badge of the newest boot of jl (NULL: nothing stored) into e. */
static int
leak_into(const struct judge_leak *jl, int64_t at_ms, struct web_judge_entry *e)
{
    free(e->signal);
    e->signal = NULL;
    e->leak = -1;
    e->leak_rate = NAN;
    e->exhaustion_ms = 0;
    e->at_ms = at_ms;
    if (jl && jl->n > 0 && jl->seg[jl->n - 1].analyzed) {
        const struct leak_result *lr = &jl->seg[jl->n - 1].leak;
        if (lr->judged) {
            e->leak = lr->leak ? 1 : 0;
            if (lr->leak) {
                e->leak_rate = lr->rate;
                e->exhaustion_ms = lr->exhaustion_ms > 0 ? lr->exhaustion_ms : 0;
                e->signal = dup_or_null(lr->signal);
                if (*lr->signal && !e->signal)
                    return -ENOMEM;
            }
        }
    }
    return 0;
}

/* The configured board model and RAM sizes of device name into o (as `soak verdict --config`). */
static void
web_verdict_opts_for(const struct web_ctx *c, const char *name, struct judge_verdict_opts *o)
{
    const struct web_device *cd = web_configured(c, name);

    if (!cd)
        return;
    o->model = cd->model;
    o->ram_sizes = cd->n_ram_sizes ? cd->ram_sizes : NULL;
    o->n_ram_sizes = cd->n_ram_sizes;
}

/* The verdict of the device's current build against the baseline, from jl, into e. */
static int
verdict_into(struct web_ctx *c, const struct web_dev *d, const struct judge_leak *jl, int64_t at_ms,
             struct web_judge_entry *e)
{
    struct judge_verdict v = {0};
    struct judge_verdict_opts o = {.baseline = c->baseline, .at_ms = at_ms};
    int r;

    web_verdict_opts_for(c, d->name, &o);
    free(e->verdict_build);
    e->verdict_build = NULL;
    e->verdict = -1;
    e->verdict_at_ms = at_ms;
    if (!d->build)
        return 0;
    r = jl ? judge_verdict_from(c->st, jl, d->build, &o, &v) : -ENOENT;
    /* The baseline build itself (or a build with nothing to compare to) has no verdict. */
    if (r >= 0 && !(c->baseline && strcmp(c->baseline, d->build) == 0) && v.baseline)
        e->verdict = (int)v.res.outcome;
    e->verdict_build = strdup(d->build);
    judge_verdict_free(&v);
    if (!e->verdict_build)
        return -ENOMEM;
    return r < 0 && r != -ENOENT ? r : 0;
}

/* Copy the badges of e into d. */
static int
badges_to_dev(const struct web_judge_entry *e, struct web_dev *d)
{
    d->leak = e->leak;
    d->leak_rate = e->leak_rate;
    d->exhaustion_ms = e->exhaustion_ms;
    d->verdict = e->verdict;
    free(d->leak_signal);
    free(d->verdict_build);
    d->leak_signal = dup_or_null(e->signal);
    d->verdict_build = dup_or_null(e->verdict_build);
    if ((e->signal && *e->signal && !d->leak_signal) ||
        (e->verdict_build && *e->verdict_build && !d->verdict_build))
        return -ENOMEM;
    return 0;
}

/* Whether the leak and the verdict badges of e are due again for data time eff and d's build. */
static void
badges_due(const struct web_judge_entry *e, const struct web_dev *d, int64_t eff, bool *ret_leak,
           bool *ret_verdict)
{
    bool same_build = (!d->build && !e->verdict_build) ||
                      (d->build && e->verdict_build && strcmp(d->build, e->verdict_build) == 0);

    *ret_leak = e->at_ms == INT64_MIN || llabs(eff - e->at_ms) >= WEB_JUDGE_TTL_MS;
    *ret_verdict = e->verdict_at_ms == INT64_MIN || !same_build ||
                   llabs(eff - e->verdict_at_ms) >= WEB_VERDICT_TTL_MS;
}

/* Compute the badges of d due at eff (both when jc is NULL) into fresh. */
static int
badges_compute(struct web_ctx *c, const struct web_dev *d, int64_t eff, bool verdict_due,
               struct web_judge_entry *fresh)
{
    struct judge_leak jl = {0};
    bool loaded;
    int r;

    /* one load of the history serves both badges */
    r = judge_leak_load(c->st, d->name, eff, &jl);
    if (r < 0 && r != -ENOENT)
        return r;
    loaded = r >= 0;
    r = leak_into(loaded ? &jl : NULL, eff, fresh);
    if (r >= 0 && verdict_due)
        r = verdict_into(c, d, loaded ? &jl : NULL, eff, fresh);
    judge_leak_free(&jl);
    return r;
}

int
web_dev_judge(struct web_ctx *c, struct web_dev *d, int64_t at_ms)
{
    struct web_judge_cache *jc = c->judge;
    struct web_judge_entry fresh = {.at_ms = INT64_MIN, .verdict_at_ms = INT64_MIN};
    struct web_judge_entry *e;
    bool leak_due = true, verdict_due = true;
    int64_t eff;
    int r = 0, r2;

    if (d->id < 0)
        return 0;
    eff = MIN(at_ms, d->last_ms);
    if (!jc) {
        r = badges_compute(c, d, eff, true, &fresh);
        if (r >= 0)
            r = badges_to_dev(&fresh, d);
        entry_done(&fresh);
        return r;
    }

    (void)pthread_mutex_lock(&jc->lock);
    for (;;) {
        e = cache_slot(jc, d->name); /* looked up again after a wait: e may have moved */
        if (!e || !e->busy)
            break;
        (void)pthread_cond_wait(&jc->done, &jc->lock);
    }
    if (e) {
        badges_due(e, d, eff, &leak_due, &verdict_due);
        if (!leak_due && !verdict_due)
            r = badges_to_dev(e, d);
        else
            e->busy = true;
    } else {
        r = -ENOMEM;
    }
    (void)pthread_mutex_unlock(&jc->lock);
    if (r < 0 || (!leak_due && !verdict_due))
        return r;

    /* the analysis, without the lock */
    r = badges_compute(c, d, eff, verdict_due, &fresh);

    (void)pthread_mutex_lock(&jc->lock);
    e = cache_slot(jc, d->name); /* exists: it is busy, so nobody removed it */
    if (r >= 0) {
        /* the leak badge is fresh either way; the verdict only when it was due */
        free(e->signal);
        e->signal = TAKE_PTR(fresh.signal);
        e->at_ms = fresh.at_ms;
        e->leak = fresh.leak;
        e->leak_rate = fresh.leak_rate;
        e->exhaustion_ms = fresh.exhaustion_ms;
        if (verdict_due) {
            free(e->verdict_build);
            e->verdict_build = TAKE_PTR(fresh.verdict_build);
            e->verdict_at_ms = fresh.verdict_at_ms;
            e->verdict = fresh.verdict;
        }
        r2 = badges_to_dev(e, d);
        r = r2 < 0 ? r2 : r;
    }
    e->busy = false;
    (void)pthread_cond_broadcast(&jc->done);
    (void)pthread_mutex_unlock(&jc->lock);
    entry_done(&fresh);
    return r < 0 ? r : 0;
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

/*
 * Add to *devs (a NULL-terminated list) the devices that had build deployed (soak deploy
 * events) without running it: an update that never came back on the network left no
 * sample of its build, only the failed deploy. 0 or error.
 */
static int
add_deployed(struct web_ctx *c, const char *build, char ***devs)
{
    struct store_event_array ev = {0};
    struct store_device *sd = NULL;
    size_t n = 0, nd = 0;
    int r = store_devices(c->st, &sd, &n);

    if (r >= 0)
        r = store_events(c->st, -1, 0, INT64_MAX, &ev);
    while (*devs && (*devs)[nd])
        nd++;
    for (size_t i = 0; r >= 0 && i < ev.n; i++) {
        const struct store_event *e = &ev.e[i];
        const char *name = NULL;
        bool have = false;
        char **nv;

        if (e->kind != EVENT_DEPLOY || !e->subject || strcmp(e->subject, build) != 0)
            continue;
        for (size_t k = 0; k < n; k++)
            if (sd[k].id == e->device_id)
                name = sd[k].name;
        for (size_t k = 0; name && k < nd; k++)
            have |= strcmp((*devs)[k], name) == 0;
        if (!name || have)
            continue;
        nv = realloc(*devs, (nd + 2) * sizeof(*nv));
        if (!nv) {
            r = -ENOMEM;
            break;
        }
        *devs = nv;
        nv[nd] = strdup(name);
        nv[nd + 1] = NULL;
        if (!nv[nd])
            r = -ENOMEM;
        else
            nd++;
    }
    store_event_array_free(&ev);
    store_devices_free(sd, n);
    return r < 0 ? r : 0;
}

int
web_verdict_json(struct web_ctx *c, const char *build, const char *baseline, json_t **ret)
{
    char **devs = NULL;
    int r = judge_devices_with_build(c->st, build, &devs);

    if (r >= 0)
        r = add_deployed(c, build, &devs);
    if (r < 0) {
        store_strv_free(devs);
        return r;
    }
    if (!devs || !devs[0]) {
        store_strv_free(devs);
        return -ENOENT;
    }
    json_t *arr = json_array();
    for (size_t i = 0; devs[i] && r >= 0; i++) {
        struct judge_verdict v = {0};
        struct judge_verdict_opts o = {.baseline = baseline, .at_ms = INT64_MAX};
        web_verdict_opts_for(c, devs[i], &o);
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

/* A build a device ran (or had deployed), for web_builds_json(). */
struct dev_build {
    const char *build; /* borrowed from the leak analysis or the events */
    int64_t first_ms, last_ms;
    unsigned boots;
};

static int
dev_build_add(struct dev_build **v, size_t *n, const char *build, int64_t first_ms,
              int64_t last_ms, unsigned boots)
{
    struct dev_build *nv;

    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i].build, build) == 0) {
            (*v)[i].first_ms = MIN((*v)[i].first_ms, first_ms);
            (*v)[i].last_ms = MAX((*v)[i].last_ms, last_ms);
            (*v)[i].boots += boots;
            return 0;
        }
    nv = reallocarray(*v, *n + 1, sizeof(**v));
    if (!nv)
        return -ENOMEM;
    *v = nv;
    nv[(*n)++] = (struct dev_build){build, first_ms, last_ms, boots};
    return 0;
}

static int
dev_build_cmp(const void *a, const void *b)
{
    const struct dev_build *x = a, *y = b;

    if (x->first_ms != y->first_ms)
        return x->first_ms < y->first_ms ? -1 : 1;
    return strcmp(x->build, y->build);
}

/* The row of one device: every build it ran, oldest first, judged. Appends to all. */
static int
device_builds(struct web_ctx *c, const struct store_device *sd,
              const struct store_event_array *ev, json_t *row, struct dev_build **all,
              size_t *n_all)
{
    struct judge_leak jl = {0};
    struct dev_build *v = NULL;
    size_t n = 0;
    int r = judge_leak_load(c->st, sd->name, INT64_MAX, &jl);

    if (r == -ENOENT)
        return 0;
    for (size_t i = 0; r >= 0 && i < jl.n; i++)
        if (jl.seg[i].build)
            r = dev_build_add(&v, &n, jl.seg[i].build, jl.seg[i].start_ms, jl.seg[i].end_ms, 1);
    for (size_t i = 0; r >= 0 && i < ev->n; i++) {
        const struct store_event *e = &ev->e[i];
        if (e->device_id == sd->id && e->kind == EVENT_DEPLOY && e->subject && *e->subject)
            r = dev_build_add(&v, &n, e->subject, e->t_ms, e->t_ms, 0);
    }
    if (r >= 0 && n > 1)
        qsort(v, n, sizeof(*v), dev_build_cmp);
    for (size_t i = 0; r >= 0 && i < n; i++) {
        struct judge_verdict jv = {0};
        struct judge_verdict_opts o = {.baseline = c->baseline, .at_ms = INT64_MAX};
        json_t *j;

        web_verdict_opts_for(c, sd->name, &o);
        r = judge_verdict_from(c->st, &jl, v[i].build, &o, &jv);
        if (r == -ENOENT)
            r = 0;
        j = r >= 0 ? judge_verdict_json(&jv) : NULL;
        judge_verdict_free(&jv);
        if (r >= 0 && !j)
            r = -ENOMEM;
        if (r < 0)
            break;
        (void)json_object_set_new(j, "first", web_time_json(v[i].first_ms));
        (void)json_object_set_new(j, "last", web_time_json(v[i].last_ms));
        (void)json_object_set_new(j, "boots", json_integer(v[i].boots));
        (void)json_array_append_new(row, j);
        /* the farm-wide column list keeps its own copy of the name */
        r = dev_build_add(all, n_all, json_string_value(json_object_get(j, "build")),
                          v[i].first_ms, v[i].last_ms, v[i].boots);
    }
    free(v);
    judge_leak_free(&jl);
    return r;
}

int
web_builds_json(struct web_ctx *c, json_t **ret)
{
    struct store_device *sd = NULL;
    struct store_event_array ev = {0};
    struct dev_build *all = NULL;
    size_t n = 0, n_all = 0;
    json_t *devs = json_array(), *builds = json_array();
    int r = store_devices(c->st, &sd, &n);

    if (r >= 0)
        r = store_events(c->st, -1, 0, INT64_MAX, &ev);
    if (!devs || !builds)
        r = -ENOMEM;
    for (size_t i = 0; r >= 0 && i < n; i++) {
        json_t *row = json_array();
        r = row ? device_builds(c, &sd[i], &ev, row, &all, &n_all) : -ENOMEM;
        if (r >= 0 && json_array_size(row) > 0)
            (void)json_array_append_new(devs,
                                        json_pack("{s:s, s:O}", "device", sd[i].name, "builds", row));
        json_decref(row);
    }
    if (r >= 0 && n_all > 1)
        qsort(all, n_all, sizeof(*all), dev_build_cmp);
    for (size_t i = 0; r >= 0 && i < n_all; i++)
        (void)json_array_append_new(builds, json_pack("{s:s, s:o, s:o}", "build", all[i].build,
                                                      "first", web_time_json(all[i].first_ms),
                                                      "last", web_time_json(all[i].last_ms)));
    if (r >= 0)
        *ret = json_pack("{s:O, s:O}", "builds", builds, "devices", devs);
    if (r >= 0 && !*ret)
        r = -ENOMEM;
    json_decref(builds); /* after the pack: the names in all belong to devs' objects */
    json_decref(devs);
    free(all);
    store_event_array_free(&ev);
    store_devices_free(sd, n);
    return r;
}
