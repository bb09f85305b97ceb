/* SPDX-License-Identifier: MIT */
#include "indgen.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

#define MB (1024.0 * 1024.0)
#define DAY 86400.0
#define FILP_SIZE 256.0
#define CRED_SIZE 192.0

static const char *const names[_IG_PATTERN_MAX] = {
    [IG_QUIET] = "quiet",       [IG_PAGECACHE] = "pagecache", [IG_STEP] = "step",
    [IG_SAWTOOTH] = "sawtooth", [IG_RECLAIM] = "reclaim",     [IG_BURSTY] = "bursty_anon",
    [IG_LEAK] = "leak",
};

const char *
ig_pattern_name(enum ig_pattern p)
{
    return (unsigned)p < _IG_PATTERN_MAX ? names[p] : NULL;
}

struct rng {
    uint64_t s;
};

static uint64_t
next64(struct rng *r)
{
    /* splitmix64 */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double
unif(struct rng *r)
{
    return (double)(next64(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double
normal(struct rng *r)
{
    /* Marsaglia's polar method, one value per call. */
    double u, v, q;

    do {
        u = 2 * unif(r) - 1;
        v = 2 * unif(r) - 1;
        q = u * u + v * v;
    } while (q >= 1 || q == 0);
    return u * sqrt(-2 * log(q) / q);
}

/* Student t with 3 degrees of freedom: heavy-tailed spikes. */
static double
student3(struct rng *r)
{
    double z = normal(r), c = 0;

    for (int i = 0; i < 3; i++) {
        double x = normal(r);
        c += x * x;
    }
    return z / sqrt(c / 3);
}

/* Ornstein-Uhlenbeck (AR(1) on uneven steps): time constant tau, stationary sd. */
struct ou {
    double x, tau, sd;
};

static void
ou_init(struct ou *o, struct rng *r, double tau, double sd)
{
    o->tau = tau;
    o->sd = sd;
    o->x = sd * normal(r);
}

static double
ou_step(struct ou *o, struct rng *r, double dt)
{
    double phi = exp(-dt / o->tau);

    o->x = phi * o->x + o->sd * sqrt(1 - phi * phi) * normal(r);
    return o->x;
}

static int
poisson_hit(struct rng *r, double per_day, double dt)
{
    return unif(r) < per_day * dt / DAY;
}

void
ig_trace_free(struct ig_trace *t)
{
    free(t->t_ms);
    free(t->mem_available);
    free(t->sunreclaim);
    free(t->filp);
    free(t->cred);
    free(t->km192);
    free(t->open_fds);
    free(t->filefd);
    memset(t, 0, sizeof(*t));
}

struct row {
    int64_t t;
    double avail, sun, filp, cred, km, fds, filefd;
};

static int
push(struct ig_trace *t, size_t *cap, const struct row *w)
{
    if (t->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4096;
#define GROW(f, T)                                                                                 \
    do {                                                                                           \
        T *x = realloc(t->f, sizeof(T) * nc);                                                      \
        if (!x)                                                                                    \
            return -ENOMEM;                                                                        \
        t->f = x;                                                                                  \
    } while (0)
        GROW(t_ms, int64_t);
        GROW(mem_available, double);
        GROW(sunreclaim, double);
        GROW(filp, double);
        GROW(cred, double);
        GROW(km192, double);
        GROW(open_fds, double);
        GROW(filefd, double);
#undef GROW
        *cap = nc;
    }
    t->t_ms[t->n] = w->t;
    t->mem_available[t->n] = w->avail;
    t->sunreclaim[t->n] = w->sun;
    t->filp[t->n] = w->filp;
    t->cred[t->n] = w->cred;
    t->km192[t->n] = w->km;
    t->open_fds[t->n] = w->fds;
    t->filefd[t->n] = w->filefd;
    t->n++;
    return 0;
}

static void
swap_last_two(struct ig_trace *t)
{
    size_t a = t->n - 2, b = t->n - 1;
#define SW(f, T)                                                                                   \
    do {                                                                                           \
        T x = t->f[a];                                                                             \
        t->f[a] = t->f[b];                                                                         \
        t->f[b] = x;                                                                               \
    } while (0)
    SW(t_ms, int64_t);
    SW(mem_available, double);
    SW(sunreclaim, double);
    SW(filp, double);
    SW(cred, double);
    SW(km192, double);
    SW(open_fds, double);
    SW(filefd, double);
#undef SW
}

int
ig_generate(const struct ig_params *p, struct ig_trace *ret)
{
    struct ig_trace t;
    struct rng rng = {.s = p->seed * 7919 + 0xabcdef12345ULL};
    struct ou sun_fast, sun_slow, anon_ou, fds_ou, filp_ou, km_ou, cred_ou;
    double ram = p->ram_mb * MB, s = 0, dt;
    double kernel_other, anon0, sun0, wlow;
    double leaked_bytes_files = 0, leaked_bytes_creds = 0;
    double burst_left = 0, burst_size = 0;
    double outage_left = 0, step_at = (0.5 + 2.5 * unif(&rng)) * DAY;
    double burst_rate = p->pattern == IG_BURSTY ? 12 : 4,
           burst_scale = p->pattern == IG_BURSTY ? 0.05 : 0.02;
    int slab_fail = 0, scrape = 0;
    size_t cap = 0;
    int r;

    if (!(p->days > 0) || !(p->ram_mb > 0) || (unsigned)p->pattern >= _IG_PATTERN_MAX)
        return -EINVAL;
    memset(&t, 0, sizeof(t));
    t.mem_total = floor((ram - (18 * MB + 0.045 * ram)) / 1024) * 1024;
    t.oom_floor = fmax(4 * MB, 0.02 * t.mem_total);
    t.panic_ms = -1;
    wlow = 0.008 * t.mem_total;
    kernel_other = 30 * MB + 0.03 * ram;
    anon0 = 25 * MB + 0.08 * ram;
    sun0 = 7 * MB + 0.012 * ram;
    ou_init(&sun_fast, &rng, 3 * 3600, 120e3 + 2e-4 * ram);
    ou_init(&sun_slow, &rng, 2 * DAY, 300e3);
    ou_init(&anon_ou, &rng, 45 * 60, 0.012 * ram);
    ou_init(&fds_ou, &rng, 20 * 60, 40);
    ou_init(&filp_ou, &rng, 40 * 60, 50);
    ou_init(&km_ou, &rng, 6 * 3600, 220);
    ou_init(&cred_ou, &rng, 2 * 3600, 30);

    for (;;) {
        double tod, act, warm, anon, sun, srec, shmem, file, fre, avail, fds, filp, cred, km;
        double filefd, dentry, churn = 0;
        struct row w;
        int emit = 1;

        dt = 60 + 40 * (unif(&rng) - 0.5); /* 40..80 s */
        if (s < 2700 && s + dt >= 2700)
            t.leaked_warm = leaked_bytes_files + leaked_bytes_creds;
        if (s < DAY && s + dt >= DAY)
            t.leaked_day = leaked_bytes_files + leaked_bytes_creds;
        s += dt;
        if (s > p->days * DAY)
            break;
        tod = fmod((double)p->boot_ms / 1000.0 + s, DAY);
        act = 1 + 0.5 * sin(2 * M_PI * (tod - 6 * 3600) / DAY); /* busier by day */
        warm = 1 - exp(-s / 1200);

        /* The leak: batches of struct file and struct cred, Poisson, 48 a day on average. */
        if (p->pattern == IG_LEAK && unif(&rng) < 48 * act * dt / DAY) {
            double bytes = p->leak_per_day / 48 * -log(1 - unif(&rng));
            leaked_bytes_files += FILP_SIZE * round(0.8 * bytes / FILP_SIZE);
            leaked_bytes_creds += CRED_SIZE * round(0.2 * bytes / CRED_SIZE);
        }
        /* Anonymous bursts: Pareto sizes (alpha 1.5), exponential durations. */
        if (burst_left <= 0 && poisson_hit(&rng, burst_rate, dt)) {
            burst_size = fmin(burst_scale * ram * pow(1 - unif(&rng), -1 / 1.5), 0.25 * ram);
            burst_left = 1200 * -log(1 - unif(&rng));
        }
        burst_left -= dt;

        anon = anon0 * (0.6 + 0.4 * warm) + ou_step(&anon_ou, &rng, dt) +
               (burst_left > 0 ? burst_size : 0);
        sun = sun0 + 2 * MB * (1 - exp(-s / 1800)) + ou_step(&sun_fast, &rng, dt) +
              ou_step(&sun_slow, &rng, dt) + 40e3 * student3(&rng) + leaked_bytes_files +
              leaked_bytes_creds;
        dentry = 6 * MB * (1 - exp(-s / 3600));
        shmem = 3 * MB;
        file = 15 * MB + 0.03 * ram * warm;
        fds = 250 + 120 * (1 - exp(-s / 900)) + 80 * (act - 1) / 0.5 + ou_step(&fds_ou, &rng, dt);
        if (fmod(tod, 3600) < 180)
            fds += 250; /* hourly cron job */
        filp = fds + 500 + ou_step(&filp_ou, &rng, dt) + leaked_bytes_files / FILP_SIZE;
        cred = 600 + ou_step(&cred_ou, &rng, dt) + leaked_bytes_creds / CRED_SIZE;
        km = 15000 * (0.7 + 0.3 * warm) + ou_step(&km_ou, &rng, dt);

        switch (p->pattern) {
        case IG_STEP:
            if (s >= step_at) {
                fds += 4000;
                filp += 4000;
                sun += 4000 * FILP_SIZE + 2.5 * MB + 0.004 * ram;
                km += (2.5 * MB + 0.004 * ram) / 192;
                anon += 0.03 * ram;
            }
            break;
        case IG_SAWTOOTH: {
            double since = fmod(tod - 2.5 * 3600 + DAY, DAY);
            shmem += 0.05 * ram * since / DAY;
            if (since < 2400) /* a nightly job's slab, freed when it ends */
                churn = 3 * MB;
            sun += churn;
            km += churn / 192;
            break;
        }
        case IG_RECLAIM:
            dentry += 0.15 * ram * (1 - exp(-s / (1.2 * DAY)));
            break;
        default:
            break;
        }
        srec = 3 * MB + dentry;
        fre = t.mem_total - kernel_other - anon - sun - srec - shmem - file;
        if (p->pattern == IG_PAGECACHE && fre > 3 * wlow) {
            double fill = 0.8 * (fre - 3 * wlow) * (1 - exp(-s / (1.5 * DAY)));
            file += fill;
            fre -= fill;
        }
        if (fre < wlow && file > 10 * MB) { /* reclaim the page cache first */
            double take = fmin(wlow - fre, file - 10 * MB);
            file -= take;
            fre += take;
        }
        avail = fre + file - fmin(file / 2, wlow) + srec - fmin(srec / 2, wlow);
        filefd = filp - 200 + 15 * normal(&rng);

        if (avail <= t.oom_floor && p->pattern == IG_LEAK) {
            t.panic_ms = p->boot_ms + (int64_t)(s * 1000);
            break;
        }
        /* The delivery: outages, lost polls, agent restarts, repeats, reordering. */
        if (outage_left > 0) {
            outage_left -= dt;
            emit = 0;
        } else if (poisson_hit(&rng, 0.7, dt)) {
            outage_left = exp(log(300) + unif(&rng) * (log(6 * 3600) - log(300)));
            t.outages++;
            emit = 0;
        } else if (poisson_hit(&rng, 0.3, dt)) {
            slab_fail = 3; /* the restarted agent's first slabinfo reads fail */
            t.restarts++;
            emit = 0;
        } else if (unif(&rng) < 0.03) {
            emit = 0;
        }
        if (!emit)
            continue;
        w = (struct row){.t = p->boot_ms + (int64_t)(s * 1000),
                         .avail = floor(avail / 1024) * 1024,
                         .sun = floor(sun / 1024) * 1024,
                         .filp = NAN,
                         .cred = NAN,
                         .km = NAN,
                         .fds = round(fds),
                         .filefd = round(filefd)};
        if (scrape++ % 5 == 0) {
            if (slab_fail > 0) {
                slab_fail--;
            } else {
                w.filp = round(filp);
                w.cred = round(cred);
                w.km = round(km);
            }
        }
        r = push(&t, &cap, &w);
        if (r == 0 && unif(&rng) < 0.02) {
            r = push(&t, &cap, &w);
            t.repeated++;
        }
        if (r < 0) {
            ig_trace_free(&t);
            return r;
        }
        if (t.n >= 2 && unif(&rng) < 0.01) {
            swap_last_two(&t);
            t.swapped++;
        }
    }
    *ret = t;
    return 0;
}

void
ig_series_free(struct ig_series *s)
{
    for (size_t i = 0; i < ARRAY_SIZE(s->buf); i++)
        free(s->buf[i]);
    memset(s, 0, sizeof(*s));
}

int
ig_series_make(const struct ig_trace *t, struct ig_series *ret)
{
    struct ig_series s;

    memset(&s, 0, sizeof(s));
    for (size_t i = 0; i < ARRAY_SIZE(s.buf); i++) {
        s.buf[i] = malloc(sizeof(double) * (t->n ? t->n : 1));
        if (!s.buf[i]) {
            ig_series_free(&s);
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < t->n; i++) {
        s.buf[0][i] = t->filp[i] * FILP_SIZE;
        s.buf[1][i] = t->cred[i] * CRED_SIZE;
        s.buf[2][i] = t->km192[i] * 192;
        s.buf[3][i] = (t->filp[i] - t->open_fds[i]) * FILP_SIZE;
        s.buf[4][i] = (t->filefd[i] - t->open_fds[i]) * FILP_SIZE;
    }
    s.s[s.n++] =
        (struct leak_series){"SUnreclaim", LEAK_SIG_SUNRECLAIM, t->t_ms, t->sunreclaim, t->n};
    s.s[s.n++] = (struct leak_series){"slab filp", LEAK_SIG_SLAB_CACHE, t->t_ms, s.buf[0], t->n};
    s.s[s.n++] =
        (struct leak_series){"slab cred_jar", LEAK_SIG_SLAB_CACHE, t->t_ms, s.buf[1], t->n};
    s.s[s.n++] =
        (struct leak_series){"slab kmalloc-192", LEAK_SIG_SLAB_CACHE, t->t_ms, s.buf[2], t->n};
    s.s[s.n++] =
        (struct leak_series){"filp - open fds", LEAK_SIG_FILP_GAP, t->t_ms, s.buf[3], t->n};
    s.s[s.n++] =
        (struct leak_series){"file-nr - open fds", LEAK_SIG_FILEFD_GAP, t->t_ms, s.buf[4], t->n};
    s.s[s.n++] = (struct leak_series){"MemAvailable", LEAK_SIG_MEM_AVAILABLE, t->t_ms,
                                      t->mem_available, t->n};
    *ret = s;
    return 0;
}
