/* SPDX-License-Identifier: MIT */
/*
 * server.c - the `soak server` loop. Two threads:
 *   the loop   - the poller (libcurl multi) drives every transfer; a completion
 *                parses the body into a batch and queues it as a job;
 *   the writer - takes jobs in order and stores each poll (samples, latency,
 *                outcome, events, state) in one transaction, then evaluates alerts.
 * So nothing blocks the loop: neither a target nor the disk (a WAL checkpoint,
 * fsync, a PostgreSQL round trip). Ownership: the loop owns a device's poll
 * fields (kind, seq, ring, schedule), the writer its store-side fields (store id,
 * event state, committed seq/ring); the few fields both read are under s->mu.
 */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
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
#define STOP_DRAIN 10.0             /* seconds the writer gets to store what is queued */
#define KEYS_PER_BODY 4             /* key bytes kept per body byte, at most */
#define QUEUE_MAX 4096              /* jobs waiting for the writer before the loop waits */
#define QUEUE_BYTES_MAX (64u << 20) /* bytes of queued batches before the loop waits */
#define WEBHOOK_TIMEOUT 10.0        /* seconds */
#define GROUP_MAX 32                /* polls stored in one transaction, at most */
#define GROUP_WAIT 0.1              /* seconds the writer waits for more polls to group */

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
    /* writer-owned */
    int64_t store_id;            /* 0 = not resolved on the current store connection */
    int resolved_state;          /* state read from the store */
    struct events_state ev;
    char *ev_saved;              /* events state as last written */
    uint64_t c_seq;              /* last /history SEQ committed */
    char c_ring[64];             /* its ring id */
    /* under s->mu */
    int loaded;                  /* the writer has read the device's state (or gave up) */
    int rewind;                  /* a history poll was not committed: fetch from c_seq again */
    unsigned pending;            /* jobs of this device not yet done by the writer */
    /* loop-owned (written by the writer only before loaded is set) */
    enum dev_kind kind;
    uint64_t seq;                /* /history SEQ fetched so far */
    char ring[64];               /* ring id of seq, "" unknown */
    double next_due;             /* monotonic seconds */
    enum req_kind req;           /* in flight */
    int64_t cycle_t_ms;          /* wall time the current poll started */
    int cycle_recorded;          /* soak_poll_up written for this cycle */
    unsigned follow;             /* follow-ups in this cycle */
    int removed;                 /* dropped by a reload (freed once idle) */
    int loaded_seen;             /* loop's cache of loaded */
    unsigned long cycles, failures;
    int last_failed;             /* the last cycle failed: resolve the host name again */
    size_t last_n, last_len;     /* samples and bytes of the last body parsed (size hints) */
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
    struct alerts *alerts;       /* writer-owned */
    struct web *web;
    struct buf key;              /* scratch: canonical key (loop) */
    unsigned long polls, poll_failures; /* loop */
    unsigned long store_errors, samples, dropped; /* writer (read after it stopped) */
    int stopping;
    int shutdown;                /* poller_free() is aborting what is left */
    /* the writer thread and its queue */
    pthread_t writer;
    int writer_started;
    pthread_mutex_t mu;
    pthread_cond_t cv_job, cv_space;
    struct job *q_head, *q_tail;
    size_t q_n, q_bytes;
    int q_stop;
    double q_deadline;           /* after stop: queued jobs past this are dropped */
    int w_busy;
    int w_gathering;             /* the writer waits for a group of polls to fill */
    double w_leak_every, w_exhaustion_days; /* writer's copies of [alerts] settings */
    struct outbox *out_head;     /* webhooks for the loop to send */
    unsigned webhooks_in_flight; /* loop */
    struct srv_dev **graveyard;  /* removed devices waiting for their jobs */
    size_t n_graveyard;
};

enum job_kind { JOB_LOAD, JOB_POLL, JOB_KIND, JOB_CONF };

struct job {
    struct job *next;
    enum job_kind kind;
    struct srv_dev *d;
    struct batch *b;             /* owned; NULL when the poll brought no samples */
    int64_t t_ms;                /* the poll's start */
    int record_poll, up, complete;
    double duration;
    char *error;                 /* owned; NULL when none */
    int history;                 /* a /history reply: check and save seq/ring */
    uint64_t since;              /* the SEQ it was fetched from ... */
    char since_ring[64];         /* ... in this ring */
    uint64_t seq;                /* newest SEQ it brought */
    char ring[64];
    enum dev_kind dev_kind;      /* JOB_KIND */
    struct farm_conf *conf;      /* JOB_CONF, owned */
    size_t bytes;                /* memory the job holds (queue accounting) */
};

struct outbox {
    struct outbox *next;
    char *url, *token, *json;
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
batch_init(struct batch *b, struct server *s, int64_t t_ms, size_t body_len, size_t n_hint)
{
    memset(b, 0, sizeof(*b));
    b->s = s;
    b->t_ms = t_ms;
    buf_init(&b->keys, MAX(body_len * KEYS_PER_BODY, (size_t)65536));
    /* The keys take about the body's size; the device's last poll tells the count.
     * Allocated once instead of grown (and copied) by doubling. */
    if (buf_reserve(&b->keys, body_len + 1) < 0)
        buf_reset(&b->keys); /* no memory now: it grows as keys come */
    if (n_hint > 0 && n_hint < body_len) {
        b->v = reallocarray(NULL, n_hint + 8, sizeof(*b->v));
        b->cap = b->v ? n_hint + 8 : 0;
    }
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

/* ---- the store connection (writer thread) ---- */

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
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n_dev; i++)
        s->dev[i]->store_id = 0;
    for (size_t i = 0; i < s->n_graveyard; i++)
        s->graveyard[i]->store_id = 0;
    pthread_mutex_unlock(&s->mu);
    s->store_backoff = s->store_backoff > 0 ? MIN(s->store_backoff * 2, STORE_RETRY_MAX)
                                            : STORE_RETRY_MIN;
    s->store_retry_at = mono_now() + s->store_backoff;
}

/* Is the store open (reopening it when its retry time has come)? */
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

static int
state_get(struct store *st, int64_t id, const char *key, char **ret)
{
    int r = store_state_get(st, id, key, ret);

    if (r == -ENOENT) {
        *ret = NULL;
        return 0;
    }
    return r;
}

/* Resolve the device's id and, the first time, read its remembered state. 0 or store error. */
static int
dev_resolve(struct server *s, struct srv_dev *d)
{
    char *kind = NULL, *seq = NULL, *ring = NULL, *ev = NULL;
    int r;

    if (d->store_id > 0)
        return 0;
    r = store_device(s->st, d->name, 1, &d->store_id);
    if (r < 0 || d->resolved_state)
        return r;
    r = state_get(s->st, d->store_id, "kind", &kind);
    if (r >= 0)
        r = state_get(s->st, d->store_id, "history_seq", &seq);
    if (r >= 0)
        r = state_get(s->st, d->store_id, "history_ring", &ring);
    if (r >= 0)
        r = state_get(s->st, d->store_id, "events", &ev);
    if (r >= 0) {
        uint64_t c_seq = 0;
        if (seq && parse_u64(seq, &c_seq) < 0)
            c_seq = 0;
        if (ev && events_state_from_json(&d->ev, ev) < 0)
            log_warnx("%s: stored event state unreadable, starting afresh", d->name);
        else if (ev)
            d->ev_saved = TAKE_PTR(ev);
        pthread_mutex_lock(&s->mu);
        /* The loop reads c_seq/c_ring (under the lock) when it must fetch again. */
        d->c_seq = c_seq;
        (void)snprintf(d->c_ring, sizeof(d->c_ring), "%s", ring ? ring : "");
        if (!d->loaded) {
            /* The loop does not touch these until loaded is set. */
            d->kind = kind && strcmp(kind, "soakd") == 0      ? KIND_SOAKD
                      : kind && strcmp(kind, "exporter") == 0 ? KIND_EXPORTER
                                                              : KIND_UNKNOWN;
            d->seq = d->c_seq;
            (void)snprintf(d->ring, sizeof(d->ring), "%s", d->c_ring);
            d->loaded = 1;
        }
        pthread_mutex_unlock(&s->mu);
        d->resolved_state = 1;
    }
    free(kind);
    free(seq);
    free(ring);
    free(ev);
    return r;
}

static int
state_set_u64(struct store *st, int64_t id, const char *key, uint64_t v)
{
    char num[24];

    (void)snprintf(num, sizeof(num), "%" PRIu64, v);
    return store_state_set(st, id, key, num);
}

/* ---- the writer ---- */

static void
job_free(struct job *j)
{
    if (!j)
        return;
    if (j->b) {
        batch_done(j->b);
        free(j->b);
    }
    free(j->error);
    farmconf_free(j->conf);
    free(j);
}

/* The loop queues a job (waits while the queue is full: the writer is behind). */
static void
enqueue(struct server *s, struct job *j)
{
    if (j->b)
        j->bytes = j->b->keys.cap + j->b->cap * sizeof(*j->b->v);
    pthread_mutex_lock(&s->mu);
    while ((s->q_n >= QUEUE_MAX || (s->q_bytes > QUEUE_BYTES_MAX && s->q_n > 0)) && !s->q_stop)
        pthread_cond_wait(&s->cv_space, &s->mu);
    s->q_bytes += j->bytes;
    if (j->d)
        j->d->pending++;
    if (s->q_tail)
        s->q_tail->next = j;
    else
        s->q_head = j;
    s->q_tail = j;
    s->q_n++;
    if (!s->w_gathering || s->q_n >= GROUP_MAX || j->kind != JOB_POLL)
        pthread_cond_signal(&s->cv_job);
    pthread_mutex_unlock(&s->mu);
}

/* Webhook POSTs go back to the loop, which owns the poller. */
static void
post_webhook(void *ctx, const char *url, const char *token, const char *json)
{
    struct server *s = ctx;
    struct outbox *o = calloc(1, sizeof(*o));

    if (!o || !(o->url = strdup(url)) || !(o->json = strdup(json)) ||
        (token && !(o->token = strdup(token)))) {
        if (o) {
            free(o->url);
            free(o->json);
            free(o);
        }
        log_warnx("alerts: out of memory, webhook not sent");
        return;
    }
    pthread_mutex_lock(&s->mu);
    o->next = s->out_head;
    s->out_head = o;
    pthread_mutex_unlock(&s->mu);
    poller_wakeup(s->poller);
}

/*
 * The leak alerts (leak_suspected, exhaustion) come from the analysis of the
 * device's stored history; it runs every [alerts] leak_every per device, not
 * every poll.
 */
static void
leak_alerts(struct server *s, struct srv_dev *d, int64_t t_ms)
{
    struct judge_alert_state js;
    double now = mono_now();
    int r;

    if (!s->alerts || s->w_leak_every <= 0 || now < d->next_leak)
        return;
    d->next_leak = now + s->w_leak_every;
    memset(&js, 0, sizeof(js));
    r = judge_alert_eval(s->st, d->name, t_ms, s->w_exhaustion_days, &js);
    if (r >= 0 && !js.judged)
        d->next_leak = now + MIN(s->w_leak_every, 300.0); /* not enough data yet */
    if (r < 0) {
        log_debug("%s: leak analysis: %s", d->name, strerror(-r));
        return;
    }
    if (!js.judged)
        return;
    (void)alerts_set(s->alerts, s->st, d->name, d->store_id, "leak_suspected", NULL, js.leak,
                     t_ms, js.leak ? js.leak_summary : "no leak any more");
    (void)alerts_set(s->alerts, s->st, d->name, d->store_id, "exhaustion", NULL, js.exhaustion,
                     t_ms, js.exhaustion ? js.exh_summary : "no memory exhaustion projected");
}

/* A history job that does not continue what is committed must not be stored. */
static int
contiguous(const struct srv_dev *d, const struct job *j)
{
    return j->since == d->c_seq && strcmp(j->since_ring, d->c_ring) == 0;
}

static void
rewind_dev(struct server *s, struct srv_dev *d)
{
    pthread_mutex_lock(&s->mu);
    d->rewind = 1;
    pthread_mutex_unlock(&s->mu);
}

/* One poll on its way into the store (write_polls()). */
struct wpoll {
    struct job *j;
    struct store_event_array evs;
    char *before;                /* events state before, when not d->ev_saved */
    char *after;                 /* events state after, to save */
};

/* The events of an uncommitted poll never happened: restore the device's state. */
static void
poll_restore(struct server *s, struct wpoll *w)
{
    struct srv_dev *d = w->j->d;
    const char *before = w->before ? w->before : d->ev_saved;

    if (before && events_state_from_json(&d->ev, before) < 0)
        log_warnx("%s: event state lost after a store error", d->name);
    if (w->j->history)
        rewind_dev(s, d);
    free(w->before);
    free(w->after);
    w->before = w->after = NULL;
    store_event_array_free(&w->evs);
}

/*
 * Before the transaction: the store and the device are there, a history poll
 * continues what is committed, the poll's events are derived. 0, or -1 when the
 * poll is not stored (already accounted for).
 */
static int
poll_prepare(struct server *s, struct wpoll *w)
{
    struct job *j = w->j;
    struct srv_dev *d = j->d;
    int r = 0;

    if (!store_ready(s)) {
        s->dropped++;
        if (j->history)
            rewind_dev(s, d);
        return -1;
    }
    r = dev_resolve(s, d);
    if (r < 0) {
        store_lost(s, r, "device");
        if (j->history)
            rewind_dev(s, d);
        return -1;
    }
    if (j->history && !contiguous(d, j)) {
        /* An earlier poll of this range failed to store: the loop fetches it again. */
        s->dropped++;
        rewind_dev(s, d);
        return -1;
    }
    /* After every commit d->ev_saved is the state as JSON: no copy needed then. */
    if (!d->ev_saved)
        r = events_state_to_json(&d->ev, &w->before);
    if (r >= 0 && j->record_poll) {
        if (j->up)
            r = events_poll_ok(&d->ev, j->t_ms, &w->evs);
        else
            r = events_poll_failed(&d->ev, j->t_ms, j->error, &w->evs);
    }
    if (r >= 0 && j->b)
        r = batch_events(j->b, d, j->complete, &w->evs);
    if (r < 0) {
        poll_restore(s, w);
        return -1;
    }
    return 0;
}

/* In the transaction: samples, poll series, events, state. */
static int
poll_append(struct server *s, struct wpoll *w, const char **what)
{
    struct job *j = w->j;
    struct srv_dev *d = j->d;
    struct batch *b = j->b;
    int r = 0;

    for (size_t i = 0; r >= 0 && b && i < b->n; i++) {
        *what = "append";
        r = store_append(s->st, d->store_id, batch_key(b, i), b->v[i].t_ms, b->v[i].v);
        if (r == -EINVAL)
            r = 0; /* a value this store refuses (e.g. NaN) costs that sample only */
    }
    if (r >= 0 && j->record_poll) {
        *what = "append";
        r = store_append(s->st, d->store_id, "soak_poll_up", j->t_ms, j->up ? 1 : 0);
        if (r >= 0)
            r = store_append(s->st, d->store_id, "soak_poll_duration_seconds", j->t_ms,
                             j->duration);
    }
    for (size_t i = 0; r >= 0 && i < w->evs.n; i++) {
        *what = "event";
        w->evs.e[i].device_id = d->store_id;
        r = store_event_add(s->st, &w->evs.e[i]);
    }
    if (r >= 0 && j->history) {
        *what = "state";
        r = state_set_u64(s->st, d->store_id, "history_seq", j->seq);
        if (r >= 0)
            r = store_state_set(s->st, d->store_id, "history_ring", j->ring);
    }
    if (r >= 0) {
        r = events_state_to_json(&d->ev, &w->after);
        if (r >= 0 && (!d->ev_saved || strcmp(w->after, d->ev_saved) != 0)) {
            *what = "state";
            r = store_state_set(s->st, d->store_id, "events", w->after);
        }
    }
    return r;
}

/* After the commit: the poll is acknowledged. */
static void
poll_done(struct server *s, struct wpoll *w)
{
    struct job *j = w->j;
    struct srv_dev *d = j->d;
    struct batch *b = j->b;

    if (w->after) {
        free(d->ev_saved);
        d->ev_saved = TAKE_PTR(w->after);
    }
    if (j->history) {
        pthread_mutex_lock(&s->mu);
        d->c_seq = j->seq;
        (void)snprintf(d->c_ring, sizeof(d->c_ring), "%s", j->ring);
        pthread_mutex_unlock(&s->mu);
    }
    s->samples += b ? b->n : 0;
    log_debug("%s: committed poll %" PRId64 " (%zu samples%s)", d->name, j->t_ms,
              b ? b->n : 0, j->record_poll ? ", poll recorded" : "");
    if (s->alerts)
        alerts_observe(s->alerts, s->st, d->name, d->store_id, &d->ev, &w->evs, j->t_ms);
    if (j->record_poll && j->up)
        leak_alerts(s, d, j->t_ms);
    free(w->before);
    w->before = NULL;
    store_event_array_free(&w->evs);
}

/*
 * Store what n polls (of distinct devices) brought in ONE transaction (group
 * commit: one BEGIN/COMMIT and one write of the shared pages for all of them):
 * samples, poll series, events, state. A poll is acknowledged (its /history SEQ
 * counts as stored) only after the commit. On failure nothing of any of them is
 * kept (and each device's event state is rolled back); a history poll then makes
 * the loop fetch its range again.
 */
static void
write_polls(struct server *s, struct job **jobs, size_t n)
{
    struct wpoll w[GROUP_MAX];
    size_t m = 0;
    unsigned long errs = s->store_errors;
    const char *what = "begin";
    int r;

    for (size_t i = 0; i < n; i++) {
        memset(&w[m], 0, sizeof(w[m]));
        w[m].j = jobs[i];
        if (poll_prepare(s, &w[m]) == 0)
            m++;
    }
    if (m > 0 && s->store_errors != errs) {
        /* The store went away while preparing: none of them can be stored now. */
        for (size_t i = 0; i < m; i++) {
            s->dropped++;
            poll_restore(s, &w[i]);
        }
        return;
    }
    if (m == 0)
        return;
    r = store_begin(s->st);
    for (size_t i = 0; r >= 0 && i < m; i++)
        r = poll_append(s, &w[i], &what);
    if (r >= 0) {
        what = "commit";
        r = store_commit(s->st);
    }
    if (r < 0) {
        store_lost(s, r, what);
        for (size_t i = 0; i < m; i++)
            poll_restore(s, &w[i]);
        return;
    }
    for (size_t i = 0; i < m; i++)
        poll_done(s, &w[i]);
}

static void
write_kind(struct server *s, struct job *j)
{
    struct srv_dev *d = j->d;
    int r;

    if (!store_ready(s))
        return;
    r = dev_resolve(s, d);
    if (r >= 0)
        r = store_begin(s->st);
    if (r >= 0)
        r = store_state_set(s->st, d->store_id, "kind",
                            j->dev_kind == KIND_SOAKD ? "soakd" : "exporter");
    if (r >= 0)
        r = store_commit(s->st);
    if (r < 0)
        store_lost(s, r, "state");
}

static void
write_load(struct server *s, struct job *j)
{
    struct srv_dev *d = j->d;
    int r = -EAGAIN;

    if (store_ready(s)) {
        r = dev_resolve(s, d);
        if (r < 0)
            store_lost(s, r, "device");
    }
    if (r < 0) {
        /* No store now: poll with what we know (nothing); the state is read later. */
        pthread_mutex_lock(&s->mu);
        d->loaded = 1;
        pthread_mutex_unlock(&s->mu);
    }
}

/* New [alerts] settings after a reload: the writer owns the alerts. */
static void
write_conf(struct server *s, struct job *j)
{
    alerts_configure(s->alerts, j->conf);
    s->w_leak_every = j->conf->leak_every;
    s->w_exhaustion_days = j->conf->exhaustion_days;
}

static void *
writer_main(void *arg)
{
    struct server *s = arg;
    unsigned long dropped_at_exit = 0;

    for (;;) {
        struct job *jobs[GROUP_MAX], *j;
        size_t n = 0;
        int drop, wake = 0;

        pthread_mutex_lock(&s->mu);
        while (!s->q_head && !s->q_stop)
            pthread_cond_wait(&s->cv_job, &s->mu);
        if (!s->q_head) {
            pthread_mutex_unlock(&s->mu);
            if (dropped_at_exit)
                log_warnx("stopping: %lu queued poll(s) not stored in %.0f s, dropped",
                          dropped_at_exit, STOP_DRAIN);
            break; /* stopped and drained */
        }
        s->w_busy = 1;
        if (s->q_head->kind == JOB_POLL && !s->opts->once && !s->q_stop) {
            /* Group commit: give more polls GROUP_WAIT to arrive (enqueue() signals only
             * when the group is full), then store them in one transaction. */
            struct timespec until;
            double t = GROUP_WAIT;
            (void)clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += (time_t)t;
            until.tv_nsec += (long)((t - (double)(time_t)t) * 1e9);
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            s->w_gathering = 1;
            while (s->q_n < GROUP_MAX && !s->q_stop && s->q_tail->kind == JOB_POLL &&
                   pthread_cond_timedwait(&s->cv_job, &s->mu, &until) == 0)
                ;
            s->w_gathering = 0;
        }
        /* A group: polls of distinct devices, in queue order; anything else alone. */
        while ((j = s->q_head) && n < GROUP_MAX) {
            int dup = 0;
            if (n > 0 && (j->kind != JOB_POLL || jobs[0]->kind != JOB_POLL))
                break;
            for (size_t i = 0; i < n && !dup; i++)
                dup = jobs[i]->d == j->d;
            if (dup)
                break;
            s->q_head = j->next;
            if (!s->q_head)
                s->q_tail = NULL;
            s->q_n--;
            s->q_bytes -= j->bytes;
            jobs[n++] = j;
        }
        pthread_cond_signal(&s->cv_space);
        drop = s->q_stop && mono_now() > s->q_deadline;
        pthread_mutex_unlock(&s->mu);

        if (drop) {
            /* Out of time at exit: soakd polls come back from /history on the next start. */
            s->dropped += n;
            dropped_at_exit += n;
        } else switch (jobs[0]->kind) {
        case JOB_LOAD: write_load(s, jobs[0]); break;
        case JOB_POLL: write_polls(s, jobs, n); break;
        case JOB_KIND: write_kind(s, jobs[0]); break;
        case JOB_CONF: write_conf(s, jobs[0]); break;
        }
        alerts_tick(s->alerts);

        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < n; i++) {
            j = jobs[i];
            if (j->d)
                j->d->pending--;
            /* The loop waits for the writer only after a load (the device may poll now),
             * for a removed device (to free it) and in --once mode (for the queue to
             * drain); a stored poll needs nothing from it, and waking it 200 times a
             * second costs. */
            wake |= j->kind != JOB_POLL || (j->d && j->d->removed) ||
                    (s->opts->once && s->q_n == 0);
        }
        s->w_busy = 0;
        pthread_mutex_unlock(&s->mu);
        if (wake)
            poller_wakeup(s->poller);
        for (size_t i = 0; i < n; i++)
            job_free(jobs[i]);
    }
    return NULL;
}

/* ---- polling (the loop) ---- */

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
        .fresh_dns = d->last_failed,
        .size_hint = kind == REQ_METRICS ? d->last_len : 0,
    };
    char *url = NULL;
    int r;

    if (kind == REQ_HISTORY) {
        pthread_mutex_lock(&s->mu);
        if (d->rewind) {
            d->rewind = 0;
            d->seq = d->c_seq;
            (void)snprintf(d->ring, sizeof(d->ring), "%s", d->c_ring);
        }
        pthread_mutex_unlock(&s->mu);
        r = asprintf(&url, "%s/history?since=%" PRIu64 "&limit=%d", d->base_url,
                     d->ring[0] ? d->seq : 0, HISTORY_LIMIT);
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
    d->last_failed = !ok;
    if (!ok) {
        d->failures++;
        s->poll_failures++;
    }
}

static struct job *
job_new(struct srv_dev *d, enum job_kind kind)
{
    struct job *j = calloc(1, sizeof(*j));

    if (j) {
        j->kind = kind;
        j->d = d;
        j->t_ms = d->cycle_t_ms;
    }
    return j;
}

static void
queue_kind(struct server *s, struct srv_dev *d)
{
    struct job *j = job_new(d, JOB_KIND);

    if (!j)
        return;
    j->dev_kind = d->kind;
    enqueue(s, j);
}

static void
poll_failed(struct server *s, struct srv_dev *d, const struct poller_response *resp,
            const char *why)
{
    complain(&d->complaint, mono_now(), "%s: poll failed: %s", d->name, why);
    if (!d->cycle_recorded) {
        struct job *j = job_new(d, JOB_POLL);
        if (j) {
            j->record_poll = 1;
            j->up = 0;
            j->duration = resp->duration;
            j->error = strdup(why);
            enqueue(s, j);
        }
    }
    cycle_end(s, d, 0);
}

/* Parse a body into a new batch. 0, or a negative errno with why filled in. */
static int
parse_body(struct server *s, struct srv_dev *d, const struct poller_response *resp,
           struct batch **ret, char *why, size_t n, const char *what)
{
    char err[256];
    struct batch *b = malloc(sizeof(*b));
    int r;

    if (!b) {
        (void)snprintf(why, n, "out of memory");
        return -ENOMEM;
    }
    batch_init(b, s, d->cycle_t_ms, resp->len, d->last_n);
    r = batch_parse(b, resp->body, resp->len, err, sizeof(err));
    if (r < 0) {
        (void)snprintf(why, n, "%s: line %s", what, err);
        batch_done(b);
        free(b);
        return r;
    }
    d->last_n = b->n;
    d->last_len = resp->len;
    *ret = b;
    return 0;
}

static void
handle_history(struct server *s, struct srv_dev *d, const struct poller_response *resp)
{
    char newest_s[32], oldest_s[32], ring[64], more[8], why[320];
    uint64_t newest = 0, oldest = 0;
    struct batch *b = NULL;
    struct job *j;
    size_t got;
    int has_seq, again = 0;

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
            queue_kind(s, d);
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
        queue_kind(s, d);
    }
    if (parse_body(s, d, resp, &b, why, sizeof(why), "bad /history reply") < 0) {
        poll_failed(s, d, resp, why);
        return;
    }
    j = job_new(d, JOB_POLL);
    if (!j) {
        batch_done(b);
        free(b);
        poll_failed(s, d, resp, "out of memory");
        return;
    }
    j->history = 1;
    j->since = d->ring[0] ? d->seq : 0;
    (void)snprintf(j->since_ring, sizeof(j->since_ring), "%s", d->ring);
    if (d->ring[0] && ring[0] && strcmp(d->ring, ring) != 0) {
        /* The agent's SEQs restarted: what we got is valid, but fetch its whole ring. */
        log_info("%s: agent history restarted (ring %s), fetching it all", d->name, ring);
        newest = 0;
        again = 1;
    } else if (d->seq > 0 && oldest > d->seq + 1) {
        log_warnx("%s: %" PRIu64 " history records were gone from the agent's ring, "
                  "a gap remains", d->name, oldest - d->seq - 1);
    }
    got = b->n;
    j->b = b;
    j->record_poll = !d->cycle_recorded;
    j->up = 1;
    j->duration = resp->duration;
    j->seq = newest;
    (void)snprintf(j->ring, sizeof(j->ring), "%s", ring);
    enqueue(s, j);
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
    char why[320];
    struct batch *b = NULL;
    struct job *j;
    int agent;

    if (!resp->ok) {
        poll_failed(s, d, resp, resp->error);
        return;
    }
    if (parse_body(s, d, resp, &b, why, sizeof(why), "unparsable reply") < 0) {
        poll_failed(s, d, resp, why);
        return;
    }
    agent = b->saw_agent_info;
    j = job_new(d, JOB_POLL);
    if (!j) {
        batch_done(b);
        free(b);
        poll_failed(s, d, resp, "out of memory");
        return;
    }
    j->b = b;
    j->record_poll = !d->cycle_recorded;
    j->up = 1;
    j->duration = resp->duration;
    j->complete = 1;
    enqueue(s, j);
    complain_release(&d->complaint, "%s: polled again", d->name);
    if (agent && d->kind != KIND_SOAKD && d->base_url && d->history != FARM_HISTORY_NO) {
        /* A soakd behind a /metrics URL: backfill from its /history from the next poll on. */
        d->kind = KIND_SOAKD;
        queue_kind(s, d);
    }
    cycle_end(s, d, 1);
}

static void dev_free(struct srv_dev *d);

static void
on_done(void *ctx, const struct poller_response *resp)
{
    struct srv_dev *d = ctx;
    struct server *s = d->s;
    enum req_kind kind = d->req;

    d->req = REQ_NONE;
    if (d->removed || s->shutdown)
        return; /* removed by a reload, or aborted at exit: neither an outage nor data */
    if (kind == REQ_HISTORY)
        handle_history(s, d, resp);
    else
        handle_metrics(s, d, resp);
}

static void
on_webhook(void *ctx, const struct poller_response *resp)
{
    struct server *s = ctx;

    if (s->webhooks_in_flight)
        s->webhooks_in_flight--;
    if (!resp->ok)
        log_warnx("alerts: webhook failed: %s, ignoring", resp->error);
}

/* Send the webhooks the writer queued. */
static void
drain_outbox(struct server *s)
{
    struct outbox *o;

    pthread_mutex_lock(&s->mu);
    o = s->out_head;
    s->out_head = NULL;
    pthread_mutex_unlock(&s->mu);
    while (o) {
        struct outbox *next = o->next;
        struct poller_request req = {
            .url = o->url,
            .token = o->token,
            .connect_timeout = WEBHOOK_TIMEOUT / 2,
            .timeout = WEBHOOK_TIMEOUT,
            .max_body = 64 * 1024,
            .post = o->json,
            .post_len = strlen(o->json),
            .content_type = "application/json",
        };
        if (s->shutdown || poller_submit(s->poller, &req, on_webhook, s) < 0)
            log_warnx("alerts: cannot post the webhook to %s, ignoring", o->url);
        else
            s->webhooks_in_flight++;
        free(o->url);
        free(o->token);
        free(o->json);
        free(o);
        o = next;
    }
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

/* Free removed devices once neither the loop nor the writer needs them. */
static void
bury(struct server *s)
{
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n_graveyard;) {
        struct srv_dev *d = s->graveyard[i];
        if (d->req == REQ_NONE && d->pending == 0) {
            dev_free(d);
            s->graveyard[i] = s->graveyard[--s->n_graveyard];
            continue;
        }
        i++;
    }
    pthread_mutex_unlock(&s->mu);
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
    unsigned char *fresh = calloc(c->n_dev ? c->n_dev : 1, 1);
    const struct farm_device **cfg = calloc(c->n_dev ? c->n_dev : 1, sizeof(*cfg));
    struct srv_dev **grave = NULL;
    size_t n = 0, n_gone = 0;
    double now = mono_now();

    if (!nd || !kept || !fresh || !cfg)
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
            /* The first leak analysis once some data is in, spread like the polls. */
            d->next_leak = d->next_due + MIN(c->leak_every > 0 ? c->leak_every : 0, 60.0);
            fresh[n] = 1;
        }
        cfg[n] = fd;
        nd[n++] = d;
    }
    for (size_t k = 0; k < s->n_dev; k++)
        n_gone += !kept[k];
    if (n_gone) {
        grave = reallocarray(s->graveyard, s->n_graveyard + n_gone, sizeof(*grave));
        if (!grave)
            goto oom;
        s->graveyard = grave;
    }
    /* Pass 2: new settings for the devices kept (on failure one keeps its old ones). */
    for (size_t i = 0; i < n; i++)
        if (!fresh[i] && dev_configure(nd[i], c, cfg[i]) < 0)
            log_warnx("%s: out of memory, keeping its old settings", nd[i]->name);
    pthread_mutex_lock(&s->mu);
    /* Devices no longer configured (or owned) go once their poll and jobs are done. */
    for (size_t k = 0; k < s->n_dev; k++) {
        if (kept[k])
            continue;
        log_info("%s: no longer polled", s->dev[k]->name);
        s->dev[k]->removed = 1;
        s->graveyard[s->n_graveyard++] = s->dev[k];
    }
    free(s->dev);
    s->dev = nd;
    s->n_dev = n;
    pthread_mutex_unlock(&s->mu);
    /* The writer reads each new device's state before it is polled. */
    for (size_t i = 0; i < n; i++) {
        struct job *j;
        if (!fresh[i])
            continue;
        j = calloc(1, sizeof(*j));
        if (!j) {
            nd[i]->loaded = 1; /* poll without the remembered state */
            continue;
        }
        j->kind = JOB_LOAD;
        j->d = nd[i];
        enqueue(s, j);
    }
    free(kept);
    free(fresh);
    free(cfg);
    farmconf_free(s->conf);
    s->conf = c;
    return 0;
oom:
    for (size_t i = 0; nd && i < n; i++)
        if (fresh && fresh[i])
            dev_free(nd[i]);
    free(nd);
    free(kept);
    free(fresh);
    free(cfg);
    farmconf_free(c);
    return -ENOMEM;
}

static void
reload(struct server *s)
{
    struct farm_conf *c = NULL, *wc = NULL;
    struct job *j;
    char err[512];
    int r;

    r = farmconf_load(s->opts->config_path, &c, err, sizeof(err));
    if (r < 0) {
        log_warnx("reload: %s; keeping the running config", err);
        return;
    }
    /* The writer gets its own copy for the [alerts] settings. */
    r = farmconf_load(s->opts->config_path, &wc, err, sizeof(err));
    j = r >= 0 ? calloc(1, sizeof(*j)) : NULL;
    if (!j) {
        farmconf_free(c);
        farmconf_free(wc);
        log_warnx("reload failed; keeping the running config");
        return;
    }
    r = apply_conf(s, c);
    if (r < 0) {
        farmconf_free(wc);
        free(j);
        log_errno(r, "reload failed; keeping the running config");
        return;
    }
    j->kind = JOB_CONF;
    j->conf = wc;
    enqueue(s, j);
    log_info("reloaded %s: %zu device(s) on this shard", s->opts->config_path, s->n_dev);
}

static int
dev_loaded(struct server *s, struct srv_dev *d)
{
    int l;

    if (d->loaded_seen)
        return 1;
    pthread_mutex_lock(&s->mu);
    l = d->loaded;
    pthread_mutex_unlock(&s->mu);
    d->loaded_seen = l;
    return l;
}

/* --once: every device polled, every job stored, every webhook sent. */
static int
all_done_once(struct server *s)
{
    int idle;

    for (size_t i = 0; i < s->n_dev; i++)
        if (s->dev[i]->cycles == 0 || s->dev[i]->req != REQ_NONE)
            return 0;
    pthread_mutex_lock(&s->mu);
    idle = s->q_n == 0 && !s->w_busy && !s->out_head;
    pthread_mutex_unlock(&s->mu);
    return idle && s->webhooks_in_flight == 0;
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
    for (size_t i = 0; i < s->conf->n_dev; i++)
        web_device_from_conf(&wd[i], s->conf, &s->conf->dev[i]);
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

static void
writer_stop(struct server *s)
{
    if (!s->writer_started)
        return;
    pthread_mutex_lock(&s->mu);
    s->q_stop = 1;
    s->q_deadline = mono_now() + STOP_DRAIN;
    pthread_cond_broadcast(&s->cv_job);
    pthread_cond_broadcast(&s->cv_space);
    pthread_mutex_unlock(&s->mu);
    (void)pthread_join(s->writer, NULL);
    s->writer_started = 0;
}

int
server_run(const struct server_opts *opts)
{
    struct server s = {.opts = opts};
    struct farm_conf *c = NULL;
    struct sigaction sa = {0};
    char err[512];
    double started = mono_now(), stop_at = 0, scan_at = 0;
    int r, code = 0;

    (void)pthread_mutex_init(&s.mu, NULL);
    (void)pthread_cond_init(&s.cv_job, NULL);
    (void)pthread_cond_init(&s.cv_space, NULL);
    r = farmconf_load(opts->config_path, &c, err, sizeof(err));
    if (r < 0) {
        log_warnx("%s", err);
        return 2;
    }
    s.store_spec = strdup(opts->store_spec ? opts->store_spec : c->store ? c->store : "");
    if (!s.store_spec || !s.store_spec[0]) {
        log_warnx("%s: no store: set [server] store = sqlite:PATH or use --store",
                  opts->config_path);
        farmconf_free(c);
        free(s.store_spec);
        return 2;
    }
    s.w_leak_every = c->leak_every;
    s.w_exhaustion_days = c->exhaustion_days;
    buf_init(&s.key, EXPO_KEY_MAX * 4);
    r = poller_new(&s.poller);
    if (r < 0) {
        log_errno(r, "cannot initialise libcurl");
        farmconf_free(c);
        free(s.store_spec);
        return 1;
    }
    /* The store must open at start-up: a wrong path is a config error, not an outage. */
    r = store_open(s.store_spec, &s.st, err, sizeof(err));
    if (r < 0) {
        log_warnx("store %s: %s", s.store_spec, err);
        s.st = NULL;
        if (opts->once || strncmp(s.store_spec, "postgres", 8) != 0) {
            farmconf_free(c);
            code = 1;
            goto out;
        }
        s.store_retry_at = mono_now() + STORE_RETRY_MIN;
        s.store_backoff = STORE_RETRY_MIN;
    }
    r = alerts_new(c, post_webhook, &s, &s.alerts);
    if (r < 0) {
        log_errno(r, "alerts");
        farmconf_free(c);
        code = 1;
        goto out;
    }
    r = pthread_create(&s.writer, NULL, writer_main, &s);
    if (r != 0) {
        log_errno(r, "cannot start the writer thread");
        farmconf_free(c);
        code = 1;
        goto out;
    }
    s.writer_started = 1;
    r = apply_conf(&s, c);
    if (r < 0) {
        log_errno(r, "config");
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
            scan_at = 0;
        }
        if ((got_term || (opts->duration > 0 && now - started >= opts->duration)) &&
            !s.stopping) {
            s.stopping = 1;
            stop_at = now + STOP_GRACE;
            log_info("stopping: %u poll(s) in flight", poller_active(s.poller));
        }
        drain_outbox(&s);
        bury(&s);
        if (s.stopping && (poller_active(s.poller) == 0 || now >= stop_at))
            break;
        if (opts->once && all_done_once(&s))
            break;
        /* The walk over every device runs only when one is due (scan_at: the soonest
         * next_due it saw): the loop wakes for every transfer event, ~10 per poll. */
        if (now < scan_at)
            soonest = MIN(soonest, scan_at);
        for (size_t i = 0; now >= scan_at && i < s.n_dev && !s.stopping; i++) {
            struct srv_dev *d = s.dev[i];
            if (opts->once && d->cycles > 0)
                continue;
            if (d->next_due <= now && dev_loaded(&s, d)) {
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
        if (now >= scan_at)
            scan_at = soonest;
        wait_ms = (int)ceil((soonest - mono_now()) * 1000.0);
        wait_ms = MAX(0, MIN(wait_ms, WAIT_MAX_MS));
        r = poller_wait(s.poller, wait_ms);
        if (r < 0) {
            log_errno(r, "poller");
            code = 1;
            break;
        }
    }
    /* Let the writer store everything queued, then send the last notifications. */
    writer_stop(&s);
    drain_outbox(&s);
    for (int i = 0; s.webhooks_in_flight && i < 20; i++)
        if (poller_wait(s.poller, 100) < 0)
            break;
    if (opts->once)
        for (size_t i = 0; i < s.n_dev; i++)
            if (s.dev[i]->failures)
                code = 1;
    if (opts->once && s.store_errors)
        code = 1;
    log_info("stopped: %lu poll(s), %lu failed, %lu sample(s) stored, %lu store error(s)",
             s.polls, s.poll_failures, s.samples, s.store_errors);
out:
    writer_stop(&s);
    s.web = web_stop(s.web);
    /* Aborting what is still in flight runs its callbacks: they must not queue. */
    s.stopping = 1;
    s.shutdown = 1;
    s.poller = poller_free(s.poller);
    drain_outbox(&s);
    while (s.q_head) { /* queued after the writer stopped (a poll that ended late) */
        struct job *j = s.q_head;
        s.q_head = j->next;
        job_free(j);
    }
    s.alerts = alerts_free(s.alerts);
    s.st = store_close(s.st);
    for (size_t i = 0; i < s.n_dev; i++)
        dev_free(s.dev[i]);
    for (size_t i = 0; i < s.n_graveyard; i++)
        dev_free(s.graveyard[i]);
    free(s.graveyard);
    free(s.dev);
    farmconf_free(s.conf);
    free(s.store_spec);
    buf_free(&s.key);
    (void)pthread_mutex_destroy(&s.mu);
    (void)pthread_cond_destroy(&s.cv_job);
    (void)pthread_cond_destroy(&s.cv_space);
    return code;
}
