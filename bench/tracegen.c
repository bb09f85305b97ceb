/* SPDX-License-Identifier: MIT */
#include "tracegen.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

#define MB (1024.0 * 1024.0)
#define DAY 86400.0

static const char *const pattern_names[_TG_PATTERN_MAX] = {
    [TG_QUIET] = "quiet",       [TG_PAGECACHE] = "pagecache", [TG_STEP] = "step",
    [TG_SAWTOOTH] = "sawtooth", [TG_RECLAIM] = "reclaim",     [TG_NOISY_ANON] = "noisy_anon",
    [TG_LEAK] = "leak",
};

const char *
tg_pattern_name(enum tg_pattern p)
{
    if ((unsigned)p >= _TG_PATTERN_MAX)
        return NULL;
    return pattern_names[p];
}

int
tg_pattern_from_name(const char *s)
{
    for (int i = 0; i < _TG_PATTERN_MAX; i++)
        if (strcmp(s, pattern_names[i]) == 0)
            return i;
    return -1;
}

struct rng {
    uint64_t s;
    int have;
    double spare;
};

static double
rng_u(struct rng *r)
{
    /* xorshift64* */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (double)((r->s * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

static double
rng_gauss(struct rng *r)
{
    double u, v;

    if (r->have) {
        r->have = 0;
        return r->spare;
    }
    do
        u = rng_u(r);
    while (u <= 1e-300);
    v = rng_u(r);
    r->spare = sqrt(-2 * log(u)) * sin(2 * M_PI * v);
    r->have = 1;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* AR(1) with time constant tau_s and stationary deviation sd. */
struct ar {
    double x, phi, sd;
};

static void
ar_init(struct ar *a, struct rng *r, double tau_s, double dt, double sd)
{
    a->phi = exp(-dt / tau_s);
    a->sd = sd;
    a->x = sd * rng_gauss(r);
}

static double
ar_step(struct ar *a, struct rng *r)
{
    a->x = a->phi * a->x + a->sd * sqrt(1 - a->phi * a->phi) * rng_gauss(r);
    return a->x;
}

void
tg_trace_free(struct tg_trace *t)
{
    free(t->t_ms);
    free(t->mem_free);
    free(t->mem_available);
    free(t->cached);
    free(t->sunreclaim);
    free(t->sreclaimable);
    free(t->anon);
    free(t->shmem);
    free(t->filp_objects);
    free(t->open_fds);
    free(t->filefd_allocated);
    free(t->kmalloc192_objects);
    free(t->dentry_objects);
    memset(t, 0, sizeof(*t));
}

int
tg_generate(const struct tg_params *p, struct tg_trace *ret)
{
    struct tg_trace t;
    struct rng rng = {.s = p->seed * 0x9e3779b97f4a7c15ULL + 0x1234567ULL};
    struct ar sun_ar, anon_ar, fd_ar, filp_ar, km_ar;
    double ram = p->ram_mb * MB, dt = p->interval_s;
    double frac = p->ram_mb <= 256 ? 0.88 : p->ram_mb <= 1024 ? 0.93 : 0.96;
    double used0 = 45 * MB + 0.075 * ram; /* not available after boot */
    double sun0 = 8 * MB + 0.01 * ram;    /* unreclaimable slab after boot */
    double anon0 = 0.6 * used0;
    double other = used0 - sun0 - anon0;             /* kernel text, page tables, ... */
    double step_t = (1.6 + 0.3 * rng_u(&rng)) * DAY; /* TG_STEP: when */
    double burst_end = -1, burst_size = 0;
    size_t cap;

    if (!(p->days > 0) || !(dt > 0) || !(p->ram_mb > 0) || (unsigned)p->pattern >= _TG_PATTERN_MAX)
        return -EINVAL;
    for (int i = 0; i < 7; i++)
        (void)rng_u(&rng);
    memset(&t, 0, sizeof(t));
    cap = (size_t)(p->days * DAY / dt) + 1;
    t.t_ms = malloc(sizeof(int64_t) * cap);
#define ALLOC(f) t.f = malloc(sizeof(double) * cap)
    ALLOC(mem_free);
    ALLOC(mem_available);
    ALLOC(cached);
    ALLOC(sunreclaim);
    ALLOC(sreclaimable);
    ALLOC(anon);
    ALLOC(shmem);
    ALLOC(filp_objects);
    ALLOC(open_fds);
    ALLOC(filefd_allocated);
    ALLOC(kmalloc192_objects);
    ALLOC(dentry_objects);
#undef ALLOC
    if (!t.t_ms || !t.mem_free || !t.mem_available || !t.cached || !t.sunreclaim ||
        !t.sreclaimable || !t.anon || !t.shmem || !t.filp_objects || !t.open_fds ||
        !t.filefd_allocated || !t.kmalloc192_objects || !t.dentry_objects) {
        tg_trace_free(&t);
        return -ENOMEM;
    }
    t.mem_total = floor(ram * frac / 1024) * 1024;
    t.filp_size = 192;
    t.oom_floor = fmax(4 * MB, 0.02 * t.mem_total);
    t.panic_ms = -1;

    ar_init(&sun_ar, &rng, 2 * 3600, dt, 100e3 + 1e-4 * ram);
    ar_init(&anon_ar, &rng, 3600, dt,
            (1.5 * MB + 0.002 * ram) * (p->pattern == TG_NOISY_ANON ? 5 : 1));
    ar_init(&fd_ar, &rng, 1800, dt, 25);
    ar_init(&filp_ar, &rng, 1200, dt, 40);
    ar_init(&km_ar, &rng, 3 * 3600, dt, 200);

    for (size_t i = 0; i < cap; i++) {
        double s = (double)i * dt;    /* seconds since boot */
        double w = 1 - exp(-s / 900); /* warm-up, 15 min */
        double leak = p->pattern == TG_LEAK ? p->leak_per_day * s / DAY : 0;
        double sun, anon, shmem = 2 * MB, fds, filp, cached, srec, dentry, km, avail, freem;
        int64_t now_ms = p->boot_ms + (int64_t)(s * 1000);

        fds = 300 + 900 * w + ar_step(&fd_ar, &rng);
        filp = fds + 700 * w + ar_step(&filp_ar, &rng) + leak / t.filp_size;
        km = 20000 + 3000 * w + ar_step(&km_ar, &rng);
        dentry = 8000 + 20000 * w;
        sun = sun0 + 3 * MB * w + ar_step(&sun_ar, &rng) + 30e3 * rng_gauss(&rng) + leak;
        anon = anon0 + 0.1 * used0 * w + ar_step(&anon_ar, &rng);

        switch (p->pattern) {
        case TG_STEP:
            if (s >= step_t) {
                double st = 3 * MB + 0.005 * ram;
                sun += st;
                km += st / 192;
                anon += 0.05 * ram;
            }
            break;
        case TG_SAWTOOTH: {
            double tod = fmod((double)now_ms / 1000.0 - 3 * 3600, DAY); /* since 03:00 UTC */
            if (tod < 0)
                tod += DAY;
            shmem += 0.06 * ram * tod / DAY;
            /* cron at night: a little slab churn every day */
            sun += 150e3 * sin(2 * M_PI * (double)now_ms / 1000.0 / DAY);
            break;
        }
        case TG_RECLAIM:
            dentry += 200000 * (1 - exp(-s / (1.5 * DAY)));
            break;
        case TG_NOISY_ANON:
            if (s > burst_end && rng_u(&rng) < dt / (6 * 3600)) {
                burst_end = s + 600 + 3000 * rng_u(&rng);
                burst_size = (0.05 + 0.15 * rng_u(&rng)) * (t.mem_total - used0);
            }
            if (s <= burst_end)
                anon += burst_size;
            break;
        default:
            break;
        }
        srec = 4 * MB + dentry * 192;
        avail = t.mem_total - other - anon - shmem - sun;
        /* The page cache takes what is free; MemAvailable counts it as available. */
        cached = 20 * MB + 10 * MB * w;
        if (p->pattern == TG_PAGECACHE)
            cached += 0.7 * (avail - 30 * MB) * (1 - exp(-s / (2 * DAY)));
        freem = avail - cached - srec / 2;
        if (freem < 2 * MB)
            freem = 2 * MB;

        t.t_ms[i] = now_ms;
        t.mem_available[i] = floor(avail / 1024) * 1024;
        t.mem_free[i] = floor(freem / 1024) * 1024;
        t.cached[i] = floor(cached / 1024) * 1024;
        t.sunreclaim[i] = floor(sun / 1024) * 1024;
        t.sreclaimable[i] = floor(srec / 1024) * 1024;
        t.anon[i] = floor(anon / 1024) * 1024;
        t.shmem[i] = floor(shmem / 1024) * 1024;
        t.open_fds[i] = round(fds);
        t.filp_objects[i] = round(filp);
        t.filefd_allocated[i] = round(filp - 300 + 10 * rng_gauss(&rng));
        t.kmalloc192_objects[i] = round(km);
        t.dentry_objects[i] = round(dentry);
        t.n = i + 1;
        if (avail <= t.oom_floor) {
            t.panic_ms = now_ms;
            break;
        }
    }
    *ret = t;
    return 0;
}

void
tg_series_free(struct tg_series *s)
{
    for (size_t i = 0; i < ARRAY_SIZE(s->buf); i++)
        free(s->buf[i]);
    memset(s, 0, sizeof(*s));
}

int
tg_series_make(const struct tg_trace *t, int with_slab, struct tg_series *ret)
{
    struct tg_series s;

    memset(&s, 0, sizeof(s));
    for (size_t i = 0; i < ARRAY_SIZE(s.buf); i++) {
        s.buf[i] = malloc(sizeof(double) * (t->n ? t->n : 1));
        if (!s.buf[i]) {
            tg_series_free(&s);
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < t->n; i++) {
        s.buf[0][i] = t->filp_objects[i] * t->filp_size;
        s.buf[1][i] = t->kmalloc192_objects[i] * 192;
        s.buf[2][i] = (t->filp_objects[i] - t->open_fds[i]) * t->filp_size;
        s.buf[3][i] = (t->filefd_allocated[i] - t->open_fds[i]) * t->filp_size;
    }
    if (with_slab) {
        s.s[s.n++] =
            (struct leak_series){"SUnreclaim", LEAK_SIG_SUNRECLAIM, t->t_ms, t->sunreclaim, t->n};
        s.s[s.n++] =
            (struct leak_series){"slab filp", LEAK_SIG_SLAB_CACHE, t->t_ms, s.buf[0], t->n};
        s.s[s.n++] =
            (struct leak_series){"slab kmalloc-192", LEAK_SIG_SLAB_CACHE, t->t_ms, s.buf[1], t->n};
        s.s[s.n++] =
            (struct leak_series){"filp - open fds", LEAK_SIG_FILP_GAP, t->t_ms, s.buf[2], t->n};
        s.s[s.n++] = (struct leak_series){"file-nr - open fds", LEAK_SIG_FILEFD_GAP, t->t_ms,
                                          s.buf[3], t->n};
    }
    s.s[s.n++] = (struct leak_series){"MemAvailable", LEAK_SIG_MEM_AVAILABLE, t->t_ms,
                                      t->mem_available, t->n};
    *ret = s;
    return 0;
}
