/* SPDX-License-Identifier: MIT */
#include "sampler.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "parse.h"
#include "procfile.h"
#include "ring.h"
#include "rootfs.h"

struct job {
    const struct collector_ops *ops;
    void *ctx;
    double interval;      /* configured, seconds */
    double effective;     /* after backoff */
    double next_run;      /* monotonic seconds */
    int slow;
    /* Published under s->lock: */
    struct buf block;     /* latest output */
    int up;               /* last read succeeded */
    int ran;              /* has run at least once */
    uint64_t errors;
    double duration;      /* seconds of the last read */
    /* Private to the thread that runs it: */
    struct buf spare;     /* written by the next read, then swapped with block */
    struct complaint complaint;
};

struct sampler;

/* What each worker thread runs: the fast or the slow collectors. */
struct loop {
    struct sampler *s;
    int slow;
};

struct sampler {
    struct loop loops[2];
    char *root;
    struct job *jobs;
    size_t njobs;
    struct ring *ring;
    pthread_mutex_t lock;  /* jobs' published fields */
    pthread_mutex_t wake_lock;
    pthread_cond_t wake;
    int stop;
    int started;
    pthread_t fast, slow;
    double history_interval;
    char *persist_path;
    double persist_interval;
    struct buf scratch;    /* snapshot for history ticks (fast thread only) */
    struct procfile_keep statm; /* /proc/self/statm, under lock */
    struct complaint persist_complaint;
};

static double
mono_of(const struct timespec *ts)
{
    return (double)ts->tv_sec + (double)ts->tv_nsec / 1e9;
}

static double
now_mono(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return mono_of(&ts);
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
sampler_new(struct agent_conf *conf, struct ring *ring, struct sampler **ret)
{
    struct sampler *s = calloc(1, sizeof(*s));
    pthread_condattr_t ca;
    int r = 0;

    if (!s)
        return -ENOMEM;
    (void)pthread_mutex_init(&s->lock, NULL);
    (void)pthread_mutex_init(&s->wake_lock, NULL);
    (void)pthread_condattr_init(&ca);
    (void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    (void)pthread_cond_init(&s->wake, &ca);
    (void)pthread_condattr_destroy(&ca);
    s->ring = ring;
    procfile_keep_init(&s->statm);
    buf_init(&s->scratch, SAMPLER_SNAPSHOT_MAX);
    if (conf->root && agent_conf_set_string(&s->root, conf->root) < 0)
        r = -ENOMEM;
    s->jobs = calloc(conf->n_collectors ? conf->n_collectors : 1, sizeof(*s->jobs));
    if (!s->jobs)
        r = -ENOMEM;
    if (r < 0) {
        (void)sampler_free(s);
        return r;
    }
    /* Take every context, so conf no longer finalises any of them. */
    for (size_t i = 0; i < conf->n_collectors; i++) {
        struct agent_collector_conf *cc = &conf->collectors[i];
        struct job *j;

        if (!cc->enabled)
            continue;
        j = &s->jobs[s->njobs++];
        j->ops = cc->ops;
        j->ctx = TAKE_PTR(cc->ctx);
        j->interval = agent_conf_collector_interval(conf, cc);
        j->effective = j->interval;
        j->slow = !!(cc->ops->flags & COLLECTOR_SLOW);
        buf_init(&j->block, SAMPLER_BLOCK_MAX);
        buf_init(&j->spare, SAMPLER_BLOCK_MAX);
    }
    for (size_t i = 0; i < s->njobs; i++) {
        struct job *j = &s->jobs[i];
        if (j->ops->start) {
            r = j->ops->start(j->ctx, s->root);
            if (r < 0) {
                log_errno(r, "collector %s: cannot start", j->ops->name);
                (void)sampler_free(s);
                return r;
            }
        }
    }
    *ret = s;
    return 0;
}

/* Run one collector and publish its output; called by the thread that owns the job. */
static void
run_job(struct sampler *s, struct job *j)
{
    struct expo_writer w;
    struct timespec ts0, ts1;
    struct buf tmp;
    double t0, t1, duration;
    int r;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts0);
    buf_reset(&j->spare);
    expo_writer_init(&w, &j->spare, EXPO_PROMETHEUS);
    r = j->ops->read(j->ctx, s->root, &w);
    if (r >= 0 && expo_error(&w) < 0)
        r = expo_error(&w);
    (void)clock_gettime(CLOCK_MONOTONIC, &ts1);
    t0 = mono_of(&ts0);
    t1 = mono_of(&ts1);
    /* Whole nanoseconds over 1e9: the value prints in a few digits, where a difference
     * of two large doubles needs all 17 (and three printf passes to find that out). */
    duration = (double)((int64_t)(ts1.tv_sec - ts0.tv_sec) * 1000000000 +
                        (ts1.tv_nsec - ts0.tv_nsec)) / 1e9;

    (void)pthread_mutex_lock(&s->lock);
    /* Keep what the collector wrote even on failure: it may be partial but valid. */
    tmp = j->block;
    j->block = j->spare;
    j->spare = tmp;
    j->ran = 1;
    j->up = r >= 0;
    j->duration = duration;
    if (r < 0)
        j->errors++;
    (void)pthread_mutex_unlock(&s->lock);

    if (r < 0) {
        double cap = MAX(SAMPLER_BACKOFF_MAX, j->interval);
        j->effective = MIN(j->effective * 2, cap);
        if (s->started)
            complain(&j->complaint, t1, "collector %s: read failed: %s; next try in %.3g s",
                     j->ops->name, strerror(-r), j->effective);
        else
            complain(&j->complaint, t1, "collector %s: read failed: %s", j->ops->name,
                     strerror(-r));
    } else {
        if (j->effective != j->interval)
            complain_release(&j->complaint, "collector %s: reading again", j->ops->name);
        j->effective = j->interval;
    }
    /* Stay on the schedule's grid (not t1 + interval), so collectors with the same
     * interval stay together and share one wake-up; skip the slots already missed. */
    j->next_run = j->next_run > 0 ? j->next_run + j->effective : t0 + j->effective;
    if (j->next_run < t1)
        j->next_run = t1 + j->effective;
}

void
sampler_run_all(struct sampler *s)
{
    for (size_t i = 0; i < s->njobs; i++)
        run_job(s, &s->jobs[i]);
}

/* RSS of this very process, whatever --root says; called under s->lock. */
static double
self_rss(struct sampler *s)
{
    char line[128];
    const char *p;
    uint64_t size, resident;

    if (procfile_keep_read_line(&s->statm, NULL, "/proc/self/statm", line, sizeof(line)) < 0)
        return -1;
    p = line;
    if (parse_u64_field(&p, &size) < 0 || parse_u64_field(&p, &resident) < 0)
        return -1;
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

static int
self_metrics(struct sampler *s, struct buf *out, unsigned flags)
{
    struct expo_writer w;
    double rss;

    expo_writer_init(&w, out, EXPO_PROMETHEUS);
    (void)expo_family(&w, "soak_collector_up", METRIC_GAUGE,
                      "1 when the collector's last read succeeded.");
    for (size_t i = 0; i < s->njobs; i++) {
        struct expo_label l = {"collector", s->jobs[i].ops->name};
        if (s->jobs[i].ran)
            (void)expo_sample(&w, "soak_collector_up", &l, 1, s->jobs[i].up);
    }
    (void)expo_family(&w, "soak_collector_errors_total", METRIC_COUNTER,
                      "Failed reads of the collector since the agent started.");
    for (size_t i = 0; i < s->njobs; i++) {
        struct expo_label l = {"collector", s->jobs[i].ops->name};
        (void)expo_sample(&w, "soak_collector_errors_total", &l, 1, (double)s->jobs[i].errors);
    }
    if (!(flags & SNAPSHOT_STABLE)) {
        (void)expo_family(&w, "soak_collector_duration_seconds", METRIC_GAUGE,
                          "Time the collector's last read took.");
        for (size_t i = 0; i < s->njobs; i++) {
            struct expo_label l = {"collector", s->jobs[i].ops->name};
            if (s->jobs[i].ran)
                (void)expo_sample(&w, "soak_collector_duration_seconds", &l, 1,
                                  s->jobs[i].duration);
        }
        rss = self_rss(s);
        if (rss >= 0)
            (void)expo_single(&w, "process_resident_memory_bytes", METRIC_GAUGE,
                              "Resident memory size of soakd in bytes.", rss);
    }
    {
        struct expo_label l = {"version", SOAK_VERSION};
        (void)expo_family(&w, "soak_agent_info", METRIC_GAUGE, "The soakd agent's version.");
        (void)expo_sample(&w, "soak_agent_info", &l, 1, 1);
    }
    return expo_error(&w);
}

int
sampler_snapshot(struct sampler *s, struct buf *out, unsigned flags)
{
    int r = 0;

    buf_reset(out);
    (void)pthread_mutex_lock(&s->lock);
    for (size_t i = 0; r == 0 && i < s->njobs; i++)
        if (s->jobs[i].block.len)
            r = buf_append(out, s->jobs[i].block.data, s->jobs[i].block.len);
    if (r == 0)
        r = self_metrics(s, out, flags);
    (void)pthread_mutex_unlock(&s->lock);
    return r;
}

static enum metric_type
type_from_name(const char *p, size_t n)
{
    if (n == 5 && memcmp(p, "gauge", 5) == 0)
        return METRIC_GAUGE;
    if (n == 7 && memcmp(p, "counter", 7) == 0)
        return METRIC_COUNTER;
    return METRIC_UNTYPED;
}

int
sampler_feed_text(const char *text, size_t len, expo_observer_fn fn, void *ctx)
{
    char family[EXPO_NAME_MAX + 1] = "";
    char key[EXPO_KEY_MAX];
    enum metric_type type = METRIC_UNTYPED;
    const char *p = text, *end = text + len;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *sp;
        size_t n;
        double v;
        int r;

        if (!eol)
            eol = end;
        n = (size_t)(eol - p);
        if (n > 7 && memcmp(p, "# TYPE ", 7) == 0) {
            const char *name = p + 7, *tsp = memchr(name, ' ', n - 7);
            if (tsp && (size_t)(tsp - name) <= EXPO_NAME_MAX) {
                memcpy(family, name, (size_t)(tsp - name));
                family[tsp - name] = '\0';
                type = type_from_name(tsp + 1, (size_t)(eol - tsp - 1));
            }
        } else if (n > 0 && p[0] != '#') {
            /* The value is after the last blank: label values may hold blanks, values not. */
            sp = eol;
            while (sp > p && sp[-1] != ' ')
                sp--;
            if (sp > p + 1 && (size_t)(sp - 1 - p) < sizeof(key) &&
                parse_double_n(sp, (size_t)(eol - sp), &v) == 0) {
                memcpy(key, p, (size_t)(sp - 1 - p));
                key[sp - 1 - p] = '\0';
                r = fn(ctx, family, type, key, v);
                if (r < 0)
                    return r;
            }
        }
        p = eol + 1;
    }
    return 0;
}

int
sampler_record(struct sampler *s, int64_t ts_ms)
{
    int r;
    int64_t seq;

    if (!s->ring)
        return 0;
    r = sampler_snapshot(s, &s->scratch, 0);
    if (r < 0)
        return r;
    ring_begin(s->ring, ts_ms);
    r = sampler_feed_text(s->scratch.data ? s->scratch.data : "", s->scratch.len, ring_observe,
                          s->ring);
    seq = ring_commit(s->ring);
    if (r == 0 && seq < 0)
        r = (int)seq;
    return r;
}

/* Sleep until the monotonic time t or until woken for stop. Returns 1 when stopping. */
static int
sleep_until(struct sampler *s, double t)
{
    struct timespec ts;
    int stop;

    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    (void)pthread_mutex_lock(&s->wake_lock);
    if (!s->stop)
        (void)pthread_cond_timedwait(&s->wake, &s->wake_lock, &ts);
    stop = s->stop;
    (void)pthread_mutex_unlock(&s->wake_lock);
    return stop;
}

static void
persist(struct sampler *s)
{
    int r = ring_save(s->ring, s->persist_path);

    if (r < 0)
        complain(&s->persist_complaint, now_mono(), "cannot write %s: %s, ignoring",
                 s->persist_path, strerror(-r));
    else
        complain_release(&s->persist_complaint, "wrote %s again", s->persist_path);
}

static void *
worker(void *arg)
{
    struct loop *l = arg;
    struct sampler *s = l->s;
    double next_tick = now_mono() + s->history_interval;
    double next_persist = now_mono() + s->persist_interval;
    int ticks = !l->slow && s->ring && s->history_interval > 0;
    int persists = l->slow && s->ring && s->persist_path;

    for (;;) {
        double now = now_mono(), wake = now + 3600;

        for (size_t i = 0; i < s->njobs; i++) {
            struct job *j = &s->jobs[i];
            if (j->slow != l->slow)
                continue;
            if (j->next_run <= now + SAMPLER_SLACK) {
                run_job(s, j);
                now = now_mono();
            }
            wake = MIN(wake, j->next_run);
        }
        if (ticks) {
            if (next_tick <= now) {
                int r = sampler_record(s, now_ms());
                if (r < 0)
                    log_errno(r, "history record, ignoring");
                /* Keep the cadence; skip ticks that were missed. */
                while (next_tick <= now)
                    next_tick += s->history_interval;
            }
            wake = MIN(wake, next_tick);
        }
        if (persists) {
            if (next_persist <= now) {
                persist(s);
                next_persist = now_mono() + s->persist_interval;
            }
            wake = MIN(wake, next_persist);
        }
        if (sleep_until(s, wake))
            break;
    }
    return NULL;
}

int
sampler_start(struct sampler *s, double history_interval, const char *persist_path,
              double persist_interval)
{
    int r;

    s->history_interval = history_interval;
    s->persist_interval = persist_interval;
    if (persist_path && agent_conf_set_string(&s->persist_path, persist_path) < 0)
        return -ENOMEM;
    s->loops[0] = (struct loop){s, 0};
    s->loops[1] = (struct loop){s, 1};
    /* The fast collectors are cheap: run them once here, so an agent that has just
     * started (or rebooted) never answers /info or /metrics without its build, boot id
     * and memory figures. The slow ones (sensors, fds, kmemleak) start on their thread. */
    {
        double base = now_mono();

        for (size_t i = 0; i < s->njobs; i++)
            if (!s->jobs[i].slow)
                run_job(s, &s->jobs[i]);
        /* One grid from one start time: each job ran at its own moment, and offsets
         * wider than SAMPLER_SLACK (a slow first read, a loaded board) would cost a
         * wake-up per group on every cycle from then on. */
        for (size_t i = 0; i < s->njobs; i++)
            if (!s->jobs[i].slow)
                s->jobs[i].next_run = base + s->jobs[i].effective;
    }
    s->started = 1; /* before the threads run: run_job() reads it */
    r = -pthread_create(&s->fast, NULL, worker, &s->loops[0]);
    if (r < 0) {
        s->started = 0;
        return r;
    }
    r = -pthread_create(&s->slow, NULL, worker, &s->loops[1]);
    if (r < 0) {
        (void)pthread_mutex_lock(&s->wake_lock);
        s->stop = 1;
        (void)pthread_cond_broadcast(&s->wake);
        (void)pthread_mutex_unlock(&s->wake_lock);
        (void)pthread_join(s->fast, NULL);
        s->started = 0;
        return r;
    }
    return 0;
}

void
sampler_stop(struct sampler *s)
{
    if (!s || !s->started)
        return;
    (void)pthread_mutex_lock(&s->wake_lock);
    s->stop = 1;
    (void)pthread_cond_broadcast(&s->wake);
    (void)pthread_mutex_unlock(&s->wake_lock);
    (void)pthread_join(s->fast, NULL);
    (void)pthread_join(s->slow, NULL);
    s->started = 0;
}

struct sampler *
sampler_free(struct sampler *s)
{
    if (!s)
        return NULL;
    sampler_stop(s);
    for (size_t i = 0; s->jobs && i < s->njobs; i++) {
        struct job *j = &s->jobs[i];
        if (j->ops->fini)
            j->ops->fini(j->ctx);
        buf_free(&j->block);
        buf_free(&j->spare);
    }
    free(s->jobs);
    buf_free(&s->scratch);
    procfile_keep_close(&s->statm);
    free(s->root);
    free(s->persist_path);
    (void)pthread_mutex_destroy(&s->lock);
    (void)pthread_mutex_destroy(&s->wake_lock);
    (void)pthread_cond_destroy(&s->wake);
    free(s);
    return NULL;
}
