/* SPDX-License-Identifier: MIT */
/*
 * server.c - the `soak server` loop. One thread: the poller (libcurl multi)
 * drives every transfer; completions parse the body, store the samples with
 * the poll's latency and outcome in one transaction per poll, derive events
 * and evaluate alerts. Nothing here blocks on a target.
 */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "buf.h"
#include "events.h"
#include "expo-parse.h"
#include "farmconf.h"
#include "judge.h"
#include "log.h"
#include "parse.h"
#include "poller.h"
#include "store.h"
#include "web.h"

#define HISTORY_LIMIT 1440          /* records asked per /history request */
#define FOLLOW_MAX 1000             /* /history follow-ups per poll (X-Soak-More) */
#define STORE_RETRY_MIN 1.0         /* seconds before reopening a failed store */
#define STORE_RETRY_MAX 30.0
#define WAIT_MAX_MS 250             /* longest sleep of the loop (signal latency) */
#define STOP_GRACE 3.0              /* seconds in-flight polls get on SIGTERM */
#define KEYS_PER_BODY 4             /* key bytes kept per body byte, at most */

enum dev_kind { KIND_UNKNOWN, KIND_SOAKD, KIND_EXPORTER };
enum req_kind { REQ_NONE, REQ_METRICS, REQ_HISTORY };

struct srv_dev {
    struct server *s;
    char *name;
    char *metrics_url;
    char *base_url;              /* NULL: cannot be a soakd */
    char *token;
    double interval, timeout, connect_timeout;
    enum farm_history history;
    int64_t store_id;            /* 0 = not resolved on the current store connection */
    int loaded;                  /* state read from the store */
    enum dev_kind kind;
    uint64_t seq;                /* last /history SEQ committed */
    char ring[64];               /* ring id of seq, "" unknown */
    struct events_state ev;
    char *ev_saved;              /* events state as last written */
    double next_due;             /* monotonic seconds */
    enum req_kind req;           /* in flight */
    int64_t cycle_t_ms;          /* wall time the current poll started */
    int cycle_recorded;          /* soak_poll_up written for this cycle */
    unsigned follow;             /* follow-ups in this cycle */
    int removed;                 /* dropped by a reload while in flight */
    unsigned long cycles, failures;
    double next_leak;            /* monotonic time of the next leak analysis */
    struct complaint complaint;
};

struct server {
    const struct server_opts *opts;
    struct farm_conf *conf;
    char *store_spec;
    struct store *st;
    double store_retry_at, store_backoff;
    struct complaint store_complaint;
    struct poller *poller;
    struct srv_dev **dev;
    size_t n_dev;
    struct alerts *alerts;
    struct web *web;
    struct buf key;              /* scratch: canonical key */
    unsigned long polls, poll_failures, store_errors, samples;
    int stopping;
    int shutdown;                /* poller_free() is aborting what is left */
};

struct batch_sample {
    size_t key;                  /* offset into keys */
    int64_t t_ms;
    double v;
};

struct batch {
    struct server *s;
    struct buf keys;
    struct batch_sample *v;
    size_t n, cap;
    int64_t t_ms;                /* for samples without a timestamp */
    int saw_agent_info;
};

static volatile sig_atomic_t got_term, got_hup;

static void
on_signal(int sig)
{
    if (sig == SIGHUP)
        got_hup = 1;
    else
        got_term = 1;
}

static double
mono_now(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t
wall_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
server_target_urls(const char *url, char **ret_metrics, char **ret_base)
{
    const char *p, *path;
    size_t blen;
    char *metrics = NULL, *base = NULL;

    p = strstr(url, "://");
    if (!p)
        return -EINVAL;
    path = strchr(p + 3, '/');
    if (!path) {
        blen = strlen(url);
    } else if (strcmp(path, "/") == 0 || strcmp(path, "/metrics") == 0) {
        blen = (size_t)(path - url);
    } else {
        /* Any other path is some exporter's own: poll it as it is. */
        metrics = strdup(url);
        if (!metrics)
            return -ENOMEM;
        *ret_metrics = metrics;
        *ret_base = NULL;
        return 0;
    }
    base = strndup(url, blen);
    if (!base || asprintf(&metrics, "%s/metrics", base) < 0) {
        free(base);
        return -ENOMEM;
    }
    *ret_metrics = metrics;
    *ret_base = base;
    return 0;
}

/* ---- the store connection ---- */

/* The store's message on one line (libpq's span several). */
static void
one_line(char *dst, size_t n, const char *src)
{
    size_t k = 0;

    for (; src && *src && k + 1 < n; src++) {
        char c = (*src == '\n' || *src == '\t' || *src == '\r') ? ' ' : *src;
        if (c == ' ' && (k == 0 || dst[k - 1] == ' '))
            continue;
        dst[k++] = c;
    }
    while (k > 0 && dst[k - 1] == ' ')
        k--;
    dst[k] = '\0';
}

static void
store_lost(struct server *s, int r, const char *what)
{
    char msg[512];

    one_line(msg, sizeof(msg), s->st ? store_errmsg(s->st) : "");
    s->store_errors++;
    complain(&s->store_complaint, mono_now(), "store: %s: %s (%s), reconnecting", what, msg,
             strerror(-r));
    if (s->st) {
        store_rollback(s->st);
        s->st = store_close(s->st);
    }
    for (size_t i = 0; i < s->n_dev; i++)
        s->dev[i]->store_id = 0;
    s->store_backoff = s->store_backoff > 0 ? MIN(s->store_backoff * 2, STORE_RETRY_MAX)
                                            : STORE_RETRY_MIN;
    s->store_retry_at = mono_now() + s->store_backoff;
}

static int
store_ready(struct server *s)
{
    char err[256];
    int r;

    if (s->st)
        return 1;
    if (mono_now() < s->store_retry_at)
        return 0;
    r = store_open(s->store_spec, &s->st, err, sizeof(err));
    if (r < 0) {
        char msg[512];
        one_line(msg, sizeof(msg), err);
        s->st = NULL;
        s->store_errors++;
        complain(&s->store_complaint, mono_now(), "store %s: %s, retrying", s->store_spec, msg);
        s->store_backoff = s->store_backoff > 0 ? MIN(s->store_backoff * 2, STORE_RETRY_MAX)
                                                : STORE_RETRY_MIN;
        s->store_retry_at = mono_now() + s->store_backoff;
        return 0;
    }
    if (s->store_errors)
        complain_release(&s->store_complaint, "store %s: back", s->store_spec);
    s->store_backoff = 0;
    return 1;
}

/* Resolve the device's id and, the first time, its remembered state. 0 or store error. */
static int
dev_resolve(struct server *s, struct srv_dev *d)
{
    char *v = NULL;
    int r;

    if (d->store_id > 0)
        return 0;
    r = store_device(s->st, d->name, 1, &d->store_id);
    if (r < 0)
        return r;
    if (d->loaded)
        return 0;
    r = store_state_get(s->st, d->store_id, "kind", &v);
    if (r >= 0 && v) {
        if (strcmp(v, "soakd") == 0)
            d->kind = KIND_SOAKD;
        else if (strcmp(v, "exporter") == 0)
            d->kind = KIND_EXPORTER;
    }
    free(v);
    v = NULL;
    if (r >= 0 || r == -ENOENT)
        r = store_state_get(s->st, d->store_id, "history_seq", &v);
    if (r >= 0 && v && parse_u64(v, &d->seq) < 0)
        d->seq = 0;
    free(v);
    v = NULL;
    if (r >= 0 || r == -ENOENT)
        r = store_state_get(s->st, d->store_id, "history_ring", &v);
    if (r >= 0 && v)
        (void)snprintf(d->ring, sizeof(d->ring), "%s", v);
    free(v);
    v = NULL;
    if (r >= 0 || r == -ENOENT)
        r = store_state_get(s->st, d->store_id, "events", &v);
    if (r >= 0 && v) {
        if (events_state_from_json(&d->ev, v) < 0)
            log_warnx("%s: stored event state unreadable, starting afresh", d->name);
        d->ev_saved = TAKE_PTR(v);
    }
    free(v);
    if (r < 0 && r != -ENOENT)
        return r;
    d->loaded = 1;
    return 0;
}

/* ---- parsing a body into a batch ---- */

static int
on_sample(void *ctx, const struct expo_parsed_sample *ps)
{
    struct batch *b = ctx;
    struct server *s = b->s;
    int r;

    if (strcmp(ps->name, "soak_agent_info") == 0)
        b->saw_agent_info = 1;
    r = expo_canonical_key(ps->name, ps->labels, ps->n, &s->key);
    if (r < 0)
        return r;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 512;
        struct batch_sample *nv = reallocarray(b->v, cap, sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        b->v = nv;
        b->cap = cap;
    }
    b->v[b->n].key = b->keys.len;
    b->v[b->n].t_ms = ps->has_ts ? ps->ts_ms : b->t_ms;
    b->v[b->n].v = ps->value;
    r = buf_append(&b->keys, s->key.data, s->key.len + 1);
    if (r < 0)
        return r;
    b->n++;
    return 0;
}

static void
batch_init(struct batch *b, struct server *s, int64_t t_ms, size_t body_len)
{
    memset(b, 0, sizeof(*b));
    b->s = s;
    b->t_ms = t_ms;
    buf_init(&b->keys, MAX(body_len * KEYS_PER_BODY, (size_t)65536));
}

static void
batch_done(struct batch *b)
{
    buf_free(&b->keys);
    free(b->v);
}

static int
batch_parse(struct batch *b, const char *body, size_t len, char *err, size_t errlen)
{
    struct expo_parse_opts o = {
        .format = EXPO_PARSE_AUTO,
        .on_sample = on_sample,
        .ctx = b,
    };

    return expo_parse_buffer(&o, body, len, err, errlen);
}

static const char *
batch_key(const struct batch *b, size_t i)
{
    return b->keys.data + b->v[i].key;
}

static int
cmp_time(const void *x, const void *y)
{
    const struct batch_sample *a = x, *c = y;

    if (a->t_ms != c->t_ms)
        return a->t_ms < c->t_ms ? -1 : 1;
    return a->key < c->key ? -1 : a->key > c->key;
}

/* Feed the batch to the event derivation, one group per timestamp. */
static int
batch_events(struct batch *b, struct srv_dev *d, int complete, struct store_event_array *out)
{
    struct events_sample *es;
    int r = 0;

    if (b->n == 0)
        return 0;
    es = calloc(b->n, sizeof(*es));
    if (!es)
        return -ENOMEM;
    if (!complete)
        qsort(b->v, b->n, sizeof(*b->v), cmp_time);
    for (size_t i = 0; i < b->n && r >= 0;) {
        size_t j = i, n = 0;
        for (; j < b->n && (complete || b->v[j].t_ms == b->v[i].t_ms); j++) {
            const char *k = batch_key(b, j);
            const char *brace = strchr(k, '{');
            if (events_wants_metric(k, brace ? (size_t)(brace - k) : strlen(k)))
                es[n++] = (struct events_sample){k, b->v[j].v};
        }
        if (n)
            r = events_scrape(&d->ev, complete ? b->t_ms : b->v[i].t_ms, es, n, complete, out);
        i = j;
    }
    free(es);
    return r;
}

/* ---- storing one poll ---- */

struct poll_outcome {
    struct batch *b;             /* samples, may be NULL */
    int record_poll;             /* write soak_poll_up / soak_poll_duration_seconds */
    int up;
    double duration;
    const char *error;
    int complete;                /* batch is a whole /metrics scrape */
    int save_history;            /* write seq/ring */
    uint64_t seq;
    const char *ring;
};

static int
state_set_u64(struct store *st, int64_t id, const char *key, uint64_t v)
{
    char num[24];

    (void)snprintf(num, sizeof(num), "%" PRIu64, v);
    return store_state_set(st, id, key, num);
}

/*
 * The leak alerts (leak_suspected, exhaustion) come from the analysis of the
 * device's stored history; it runs every [alerts] leak_every per device, not
 * every poll.
 */
static void
leak_alerts(struct server *s, struct srv_dev *d)
{
    struct judge_alert_state js;
    double now = mono_now();
    int r;

    if (!s->alerts || s->conf->leak_every <= 0 || now < d->next_leak)
        return;
    d->next_leak = now + s->conf->leak_every;
    memset(&js, 0, sizeof(js));
    r = judge_alert_eval(s->st, d->name, d->cycle_t_ms, s->conf->exhaustion_days, &js);
    if (r < 0) {
        log_debug("%s: leak analysis: %s", d->name, strerror(-r));
        return;
    }
    if (!js.judged)
        return;
    (void)alerts_set(s->alerts, s->st, d->name, d->store_id, "leak_suspected", NULL, js.leak,
                     d->cycle_t_ms, js.leak ? js.leak_summary : "no leak any more");
    (void)alerts_set(s->alerts, s->st, d->name, d->store_id, "exhaustion", NULL, js.exhaustion,
                     d->cycle_t_ms, js.exhaustion ? js.exh_summary
                                                  : "no memory exhaustion projected");
}

/*
 * Store what a poll brought in one transaction: samples, poll series, events,
 * state. On failure nothing of it is kept (and the device's event state is
 * rolled back), so a later backfill can bring it again.
 */
static int
commit_poll(struct server *s, struct srv_dev *d, const struct poll_outcome *o)
{
    struct store_event_array evs = {0};
    char *before = NULL, *after = NULL;
    const char *what = "begin";
    int r;

    if (!store_ready(s))
        return -EAGAIN;
    r = dev_resolve(s, d);
    if (r < 0) {
        store_lost(s, r, "device");
        return r;
    }
    r = events_state_to_json(&d->ev, &before);
    if (r < 0)
        return r;

    if (o->record_poll) {
        if (o->up)
            r = events_poll_ok(&d->ev, d->cycle_t_ms, &evs);
        else
            r = events_poll_failed(&d->ev, d->cycle_t_ms, o->error, &evs);
    }
    if (r >= 0 && o->b)
        r = batch_events(o->b, d, o->complete, &evs);
    if (r < 0)
        goto fail_state;

    r = store_begin(s->st);
    for (size_t i = 0; r >= 0 && o->b && i < o->b->n; i++) {
        what = "append";
        r = store_append(s->st, d->store_id, batch_key(o->b, i), o->b->v[i].t_ms, o->b->v[i].v);
        if (r == -EINVAL)
            r = 0; /* a value this store refuses (e.g. NaN) costs that sample only */
    }
    if (r >= 0 && o->record_poll) {
        what = "append";
        r = store_append(s->st, d->store_id, "soak_poll_up", d->cycle_t_ms, o->up ? 1 : 0);
        if (r >= 0)
            r = store_append(s->st, d->store_id, "soak_poll_duration_seconds", d->cycle_t_ms,
                             o->duration);
    }
    for (size_t i = 0; r >= 0 && i < evs.n; i++) {
        what = "event";
        evs.e[i].device_id = d->store_id;
        r = store_event_add(s->st, &evs.e[i]);
    }
    if (r >= 0 && o->save_history) {
        what = "state";
        r = state_set_u64(s->st, d->store_id, "history_seq", o->seq);
        if (r >= 0)
            r = store_state_set(s->st, d->store_id, "history_ring", o->ring);
    }
    if (r >= 0) {
        r = events_state_to_json(&d->ev, &after);
        if (r >= 0 && (!d->ev_saved || strcmp(after, d->ev_saved) != 0)) {
            what = "state";
            r = store_state_set(s->st, d->store_id, "events", after);
        }
    }
    if (r >= 0) {
        what = "commit";
        r = store_commit(s->st);
    }
    if (r < 0) {
        store_lost(s, r, what);
        goto fail_state;
    }
    if (after) {
        free(d->ev_saved);
        d->ev_saved = TAKE_PTR(after);
    }
    s->samples += o->b ? o->b->n : 0;
    log_debug("%s: committed poll %" PRId64 " (%zu samples%s)", d->name, d->cycle_t_ms,
              o->b ? o->b->n : 0, o->record_poll ? ", poll recorded" : "");
    if (s->alerts)
        alerts_observe(s->alerts, s->st, d->name, d->store_id, &d->ev, &evs, d->cycle_t_ms);
    if (o->record_poll && o->up)
        leak_alerts(s, d);
    free(before);
    store_event_array_free(&evs);
    return 0;

fail_state:
    /* The events of an uncommitted poll never happened: restore the state. */
    if (events_state_from_json(&d->ev, before) < 0)
        log_warnx("%s: event state lost after a store error", d->name);
    free(before);
    free(after);
    store_event_array_free(&evs);
    return r;
}

static int
save_kind(struct server *s, struct srv_dev *d)
{
    int r;

    if (!store_ready(s) || dev_resolve(s, d) < 0)
        return -EAGAIN;
    r = store_begin(s->st);
    if (r >= 0)
        r = store_state_set(s->st, d->store_id, "kind",
                            d->kind == KIND_SOAKD ? "soakd" : "exporter");
    if (r >= 0)
        r = store_commit(s->st);
    if (r < 0)
        store_lost(s, r, "state");
    return r;
}

/* ---- polling ---- */

static void on_done(void *ctx, const struct poller_response *resp);

static int
use_history(const struct srv_dev *d)
{
    if (!d->base_url || d->history == FARM_HISTORY_NO)
        return 0;
    if (d->history == FARM_HISTORY_YES)
        return 1;
    return d->kind != KIND_EXPORTER;
}

static int
submit(struct server *s, struct srv_dev *d, enum req_kind kind)
{
    struct poller_request req = {
        .token = d->token,
        .connect_timeout = d->connect_timeout,
        .timeout = d->timeout,
        .max_body = s->conf->max_body,
    };
    char *url = NULL;
    int r;

    if (kind == REQ_HISTORY) {
        if (d->ring[0])
            r = asprintf(&url, "%s/history?since=%" PRIu64 "&limit=%d", d->base_url, d->seq,
                         HISTORY_LIMIT);
        else
            r = asprintf(&url, "%s/history?since=0&limit=%d", d->base_url, HISTORY_LIMIT);
        if (r < 0)
            return -ENOMEM;
        req.url = url;
    } else {
        req.url = d->metrics_url;
    }
    r = poller_submit(s->poller, &req, on_done, d);
    free(url);
    if (r >= 0)
        d->req = kind;
    return r;
}

static void
poll_start(struct server *s, struct srv_dev *d)
{
    int r;

    d->cycle_t_ms = wall_ms();
    d->cycle_recorded = 0;
    d->follow = 0;
    s->polls++;
    r = submit(s, d, use_history(d) ? REQ_HISTORY : REQ_METRICS);
    if (r < 0) {
        log_errno(r, "%s: cannot start a poll, ignoring", d->name);
        d->cycles++;
    }
}

static void
cycle_end(struct server *s, struct srv_dev *d, int ok)
{
    d->req = REQ_NONE;
    d->cycles++;
    if (!ok) {
        d->failures++;
        s->poll_failures++;
    }
}

static void
poll_failed(struct server *s, struct srv_dev *d, const struct poller_response *resp,
            const char *why)
{
    struct poll_outcome o = {
        .record_poll = !d->cycle_recorded,
        .up = 0,
        .duration = resp->duration,
        .error = why,
    };

    complain(&d->complaint, mono_now(), "%s: poll failed: %s", d->name, why);
    if (o.record_poll)
        (void)commit_poll(s, d, &o);
    cycle_end(s, d, 0);
}

static void
handle_history(struct server *s, struct srv_dev *d, const struct poller_response *resp)
{
    char newest_s[32], oldest_s[32], ring[64], more[8], err[256];
    uint64_t newest = 0, oldest = 0;
    struct batch b;
    size_t got;
    int has_seq, r, again = 0;
    struct poll_outcome o = {0};

    has_seq = poller_header(resp, "X-Soak-Seq-Newest", newest_s, sizeof(newest_s)) > 0 &&
              parse_u64(newest_s, &newest) >= 0;
    if (!has_seq) {
        if (!resp->ok && resp->status == 0) {
            poll_failed(s, d, resp, resp->error); /* not reached at all */
            return;
        }
        if (d->history == FARM_HISTORY_YES) {
            poll_failed(s, d, resp, resp->ok ? "no /history on this target" : resp->error);
            return;
        }
        /*
         * Not a soakd (or one without history): poll /metrics from now on, starting
         * right now. A soakd seen again in /metrics (soak_agent_info) is tried again.
         */
        if (d->kind != KIND_EXPORTER) {
            log_info("%s: no soakd /history, polling %s", d->name, d->metrics_url);
            d->kind = KIND_EXPORTER;
            (void)save_kind(s, d);
        }
        if (submit(s, d, REQ_METRICS) < 0)
            poll_failed(s, d, resp, "cannot start a poll");
        return;
    }
    if (!resp->ok) {
        poll_failed(s, d, resp, resp->error);
        return;
    }
    if (poller_header(resp, "X-Soak-Ring-Id", ring, sizeof(ring)) <= 0)
        ring[0] = '\0';
    if (poller_header(resp, "X-Soak-Seq-Oldest", oldest_s, sizeof(oldest_s)) <= 0 ||
        parse_u64(oldest_s, &oldest) < 0)
        oldest = 0;
    if (d->kind != KIND_SOAKD) {
        d->kind = KIND_SOAKD;
        (void)save_kind(s, d);
    }
    batch_init(&b, s, d->cycle_t_ms, resp->len);
    r = batch_parse(&b, resp->body, resp->len, err, sizeof(err));
    if (r < 0) {
        char why[300];
        (void)snprintf(why, sizeof(why), "bad /history reply: %s", err);
        batch_done(&b);
        poll_failed(s, d, resp, why);
        return;
    }
    if (d->ring[0] && ring[0] && strcmp(d->ring, ring) != 0) {
        /* The agent's SEQs restarted: what we got is valid, but fetch its whole ring. */
        log_info("%s: agent history restarted (ring %s), fetching it all", d->name, ring);
        newest = 0;
        again = 1;
    } else if (d->seq > 0 && oldest > d->seq + 1) {
        log_warnx("%s: %" PRIu64 " history records were gone from the agent's ring, "
                  "a gap remains", d->name, oldest - d->seq - 1);
    }
    o.b = &b;
    o.record_poll = !d->cycle_recorded;
    o.up = 1;
    o.duration = resp->duration;
    o.save_history = 1;
    o.seq = newest;
    o.ring = ring;
    r = commit_poll(s, d, &o);
    got = b.n;
    batch_done(&b);
    if (r < 0) {
        cycle_end(s, d, 0);
        return;
    }
    d->cycle_recorded = 1;
    d->seq = newest;
    (void)snprintf(d->ring, sizeof(d->ring), "%s", ring);
    if (poller_header(resp, "X-Soak-More", more, sizeof(more)) > 0 && strcmp(more, "1") == 0)
        again = 1;
    if (again && d->follow < FOLLOW_MAX && !s->stopping) {
        d->follow++;
        if (submit(s, d, REQ_HISTORY) >= 0)
            return;
    }
    /*
     * Nothing new in the ring (its interval is longer than ours, or it has no
     * history): take the live values too, so every poll stores a sample.
     */
    if (got == 0 && d->follow == 0 && !s->stopping && submit(s, d, REQ_METRICS) >= 0)
        return;
    cycle_end(s, d, 1);
}

static void
handle_metrics(struct server *s, struct srv_dev *d, const struct poller_response *resp)
{
    char err[256], why[300];
    struct batch b;
    struct poll_outcome o = {0};
    int r;

    if (!resp->ok) {
        poll_failed(s, d, resp, resp->error);
        return;
    }
    batch_init(&b, s, d->cycle_t_ms, resp->len);
    r = batch_parse(&b, resp->body, resp->len, err, sizeof(err));
    if (r < 0) {
        (void)snprintf(why, sizeof(why), "unparsable reply: line %s", err);
        batch_done(&b);
        poll_failed(s, d, resp, why);
        return;
    }
    o.b = &b;
    o.record_poll = !d->cycle_recorded;
    o.up = 1;
    o.duration = resp->duration;
    o.complete = 1;
    r = commit_poll(s, d, &o);
    batch_done(&b);
    complain_release(&d->complaint, "%s: polled again", d->name);
    if (r >= 0 && b.saw_agent_info && d->kind != KIND_SOAKD && d->base_url &&
        d->history != FARM_HISTORY_NO) {
        /* A soakd behind a /metrics URL: backfill from its /history from the next poll on. */
        d->kind = KIND_SOAKD;
        (void)save_kind(s, d);
    }
    cycle_end(s, d, r >= 0);
}

static void dev_free(struct srv_dev *d);

static void
on_done(void *ctx, const struct poller_response *resp)
{
    struct srv_dev *d = ctx;
    struct server *s = d->s;
    enum req_kind kind = d->req;

    d->req = REQ_NONE;
    if (d->removed) {
        dev_free(d);
        return;
    }
    if (s->shutdown)
        return; /* aborted at exit: neither an outage nor data */
    if (kind == REQ_HISTORY)
        handle_history(s, d, resp);
    else
        handle_metrics(s, d, resp);
}

/* ---- devices and config ---- */

static void
dev_free(struct srv_dev *d)
{
    if (!d)
        return;
    free(d->name);
    free(d->metrics_url);
    free(d->base_url);
    free(d->token);
    free(d->ev_saved);
    events_state_done(&d->ev);
    free(d);
}

/* Fill d's poll settings from the config. 0 or -ENOMEM. */
static int
dev_configure(struct srv_dev *d, const struct farm_conf *c, const struct farm_device *fd)
{
    char *m = NULL, *b = NULL, *t = NULL;
    const char *tok = farm_device_token(c, fd);

    if (server_target_urls(fd->url, &m, &b) < 0)
        return -ENOMEM;
    if (tok && !(t = strdup(tok))) {
        free(m);
        free(b);
        return -ENOMEM;
    }
    if (d->base_url && (!b || strcmp(d->base_url, b) != 0)) {
        /* Another target now: learn what it is, and its history, afresh. */
        d->kind = KIND_UNKNOWN;
        d->seq = 0;
        d->ring[0] = '\0';
    }
    free(d->metrics_url);
    free(d->base_url);
    free(d->token);
    d->metrics_url = m;
    d->base_url = b;
    d->token = t;
    d->interval = farm_device_interval(c, fd);
    d->timeout = farm_device_timeout(c, fd);
    d->connect_timeout = farm_device_connect_timeout(c, fd);
    d->history = fd->history;
    return 0;
}

/* First poll at a stable phase within the interval, so a farm's polls spread out. */
static double
first_due(const struct srv_dev *d, double now)
{
    double phase = (double)(farm_hash(d->name) % 10007) / 10007.0;

    return now + phase * MIN(d->interval, 60.0);
}

static int
apply_conf(struct server *s, struct farm_conf *c)
{
    struct srv_dev **nd = calloc(c->n_dev ? c->n_dev : 1, sizeof(*nd));
    unsigned char *kept = calloc(s->n_dev ? s->n_dev : 1, 1);
    const struct farm_device **cfg = calloc(c->n_dev ? c->n_dev : 1, sizeof(*cfg));
    size_t n = 0;
    double now = mono_now();

    if (!nd || !kept || !cfg)
        goto oom;
    /* Pass 1: match or create; nothing of the running state changes yet. */
    for (size_t i = 0; i < c->n_dev; i++) {
        const struct farm_device *fd = &c->dev[i];
        struct srv_dev *d = NULL;

        if (!farm_shard_owns(c->shard_i, c->shard_n, fd->name))
            continue;
        for (size_t k = 0; k < s->n_dev && !d; k++)
            if (strcmp(s->dev[k]->name, fd->name) == 0) {
                d = s->dev[k];
                kept[k] = 1;
            }
        if (!d) {
            d = calloc(1, sizeof(*d));
            if (!d || !(d->name = strdup(fd->name))) {
                free(d);
                goto oom;
            }
            d->s = s;
            events_state_init(&d->ev);
            if (dev_configure(d, c, fd) < 0) {
                dev_free(d);
                goto oom;
            }
            d->next_due = first_due(d, now);
            /* The first analysis once some data is in, spread like the polls. */
            d->next_leak = first_due(d, now) + MIN(c->leak_every > 0 ? c->leak_every : 0, 60.0);
        }
        cfg[n] = fd;
        nd[n++] = d;
    }
    /* Pass 2: new settings for the devices kept (on failure one keeps its old ones). */
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < s->n_dev; k++)
            if (nd[i] == s->dev[k] && dev_configure(nd[i], c, cfg[i]) < 0)
                log_warnx("%s: out of memory, keeping its old settings", nd[i]->name);
    /* Devices no longer configured (or owned): free now, or when their poll ends. */
    for (size_t k = 0; k < s->n_dev; k++) {
        struct srv_dev *d = s->dev[k];
        if (kept[k])
            continue;
        log_info("%s: no longer polled", d->name);
        if (d->req != REQ_NONE)
            d->removed = 1;
        else
            dev_free(d);
    }
    free(s->dev);
    free(kept);
    free(cfg);
    s->dev = nd;
    s->n_dev = n;
    farmconf_free(s->conf);
    s->conf = c;
    return 0;
oom:
    for (size_t i = 0; nd && i < n; i++) {
        int old = 0;
        for (size_t k = 0; k < s->n_dev; k++)
            old |= nd[i] == s->dev[k];
        if (!old)
            dev_free(nd[i]);
    }
    free(nd);
    free(kept);
    free(cfg);
    farmconf_free(c);
    return -ENOMEM;
}

static void
reload(struct server *s)
{
    struct farm_conf *c = NULL;
    char err[512];
    int r;

    r = farmconf_load(s->opts->config_path, &c, err, sizeof(err));
    if (r < 0) {
        log_warnx("reload: %s; keeping the running config", err);
        return;
    }
    r = apply_conf(s, c);
    if (r < 0) {
        log_errno(r, "reload failed; keeping the running config");
        return;
    }
    if (s->alerts)
        alerts_configure(s->alerts, s->conf);
    log_info("reloaded %s: %zu device(s) on this shard", s->opts->config_path, s->n_dev);
}

static int
all_done_once(const struct server *s)
{
    for (size_t i = 0; i < s->n_dev; i++)
        if (s->dev[i]->cycles == 0 || s->dev[i]->req != REQ_NONE)
            return 0;
    return 1;
}

static int
start_web(struct server *s)
{
    struct web_config wc = {0};
    struct web_device *wd;
    int r;

    wd = calloc(s->conf->n_dev ? s->conf->n_dev : 1, sizeof(*wd));
    if (!wd)
        return -ENOMEM;
    for (size_t i = 0; i < s->conf->n_dev; i++) {
        wd[i].name = s->conf->dev[i].name;
        wd[i].url = s->conf->dev[i].url;
        wd[i].interval = farm_device_interval(s->conf, &s->conf->dev[i]);
    }
    wc.listen = s->conf->listen;
    wc.store_spec = s->store_spec;
    wc.token = s->conf->listen_token;
    wc.farm_config = s->opts->config_path;
    wc.devices = wd;
    wc.n_devices = s->conf->n_dev;
    wc.baseline = s->conf->baseline;
    r = web_start(&wc, &s->web);
    free(wd);
    return r;
}

int
server_run(const struct server_opts *opts)
{
    struct server s = {.opts = opts};
    struct farm_conf *c = NULL;
    struct sigaction sa = {0};
    char err[512];
    double started = mono_now(), stop_at = 0;
    int r, code = 0;

    r = farmconf_load(opts->config_path, &c, err, sizeof(err));
    if (r < 0) {
        log_warnx("%s", err);
        return 2;
    }
    s.store_spec = strdup(opts->store_spec ? opts->store_spec
                                           : c->store ? c->store : "");
    if (!s.store_spec || !s.store_spec[0]) {
        log_warnx("%s: no store: set [server] store = sqlite:PATH or use --store",
                  opts->config_path);
        farmconf_free(c);
        free(s.store_spec);
        return 2;
    }
    buf_init(&s.key, EXPO_KEY_MAX * 4);
    r = poller_new(&s.poller);
    if (r < 0) {
        log_errno(r, "cannot initialise libcurl");
        farmconf_free(c);
        free(s.store_spec);
        return 1;
    }
    r = apply_conf(&s, c);
    if (r < 0) {
        log_errno(r, "config");
        code = 1;
        goto out;
    }
    /* The store must open at start-up: a wrong path is a config error, not an outage. */
    r = store_open(s.store_spec, &s.st, err, sizeof(err));
    if (r < 0) {
        log_warnx("store %s: %s", s.store_spec, err);
        s.st = NULL;
        if (opts->once || strncmp(s.store_spec, "postgres", 8) != 0) {
            code = 1;
            goto out;
        }
        s.store_retry_at = mono_now() + STORE_RETRY_MIN;
        s.store_backoff = STORE_RETRY_MIN;
    }
    r = alerts_new(s.conf, s.poller, &s.alerts);
    if (r < 0) {
        log_errno(r, "alerts");
        code = 1;
        goto out;
    }
    if (s.conf->listen && !opts->once) {
        r = start_web(&s);
        if (r < 0) {
            log_errno(r, "dashboard on %s", s.conf->listen);
            code = 1;
            goto out;
        }
    }

    sa.sa_handler = on_signal;
    (void)sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &sa, NULL);
    got_term = got_hup = 0;
    log_info("polling %zu device(s) (shard %u/%u), store %s", s.n_dev, s.conf->shard_i,
             s.conf->shard_n, s.store_spec);
    if (opts->once)
        for (size_t i = 0; i < s.n_dev; i++)
            s.dev[i]->next_due = started;

    for (;;) {
        double now = mono_now(), soonest = now + WAIT_MAX_MS / 1000.0;
        int wait_ms;

        if (got_hup && !opts->once) {
            got_hup = 0;
            reload(&s);
        }
        if ((got_term || (opts->duration > 0 && now - started >= opts->duration)) &&
            !s.stopping) {
            s.stopping = 1;
            stop_at = now + STOP_GRACE;
            log_info("stopping: %u poll(s) in flight", poller_active(s.poller));
        }
        if (s.stopping && (poller_active(s.poller) == 0 || now >= stop_at))
            break;
        if (opts->once && all_done_once(&s))
            break;
        for (size_t i = 0; i < s.n_dev && !s.stopping; i++) {
            struct srv_dev *d = s.dev[i];
            if (opts->once && d->cycles > 0)
                continue;
            if (d->next_due <= now) {
                double j = s.conf->jitter * (2.0 * drand48() - 1.0);
                if (d->req == REQ_NONE)
                    poll_start(&s, d);
                d->next_due += d->interval * (1.0 + j);
                if (d->next_due < now) /* far behind (a stall): do not burst to catch up */
                    d->next_due = now + d->interval * (0.5 + 0.5 * drand48());
            }
            if (d->next_due < soonest)
                soonest = d->next_due;
        }
        if (s.alerts)
            alerts_tick(s.alerts);
        wait_ms = (int)ceil((soonest - mono_now()) * 1000.0);
        wait_ms = MAX(0, MIN(wait_ms, WAIT_MAX_MS));
        r = poller_wait(s.poller, wait_ms);
        if (r < 0) {
            log_errno(r, "poller");
            code = 1;
            break;
        }
    }
    if (opts->once)
        for (size_t i = 0; i < s.n_dev; i++)
            if (s.dev[i]->failures)
                code = 1;
    log_info("stopped: %lu poll(s), %lu failed, %lu sample(s) stored, %lu store error(s)",
             s.polls, s.poll_failures, s.samples, s.store_errors);
out:
    if (s.alerts)
        alerts_flush(s.alerts, s.poller, 2.0);
    s.web = web_stop(s.web);
    /* Aborting what is still in flight runs its callbacks: they must not store. */
    s.stopping = 1;
    s.shutdown = 1;
    s.poller = poller_free(s.poller);
    s.alerts = alerts_free(s.alerts);
    s.st = store_close(s.st);
    for (size_t i = 0; i < s.n_dev; i++)
        dev_free(s.dev[i]);
    free(s.dev);
    farmconf_free(s.conf);
    free(s.store_spec);
    buf_free(&s.key);
    return code;
}
