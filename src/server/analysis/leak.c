/* SPDX-License-Identifier: MIT */
#include "leak.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trend.h"

#define DAY_S 86400.0
#define MIB (1024.0 * 1024.0)

void
leak_params_default(struct leak_params *p)
{
    p->warmup_s = 45 * 60;   /* services and caches settle after boot */
    p->min_bin_s = 600;      /* 10-minute medians */
    p->min_bins = 8;         /* 80 minutes of data at least */
    p->alpha = 1e-3;         /* one-sided */
    p->conf = 0.90;          /* two-sided CI of the rate */
    p->rate_min = 0.5 * MIB; /* bytes/day */
    p->rate_min_frac = 0.01; /* of MemTotal per 30 days */
    p->growth_min = 1 * MIB; /* bytes over the window */
    p->alone_min_s = DAY_S;  /* one quiet signal alone needs a day */
    p->alone_slab_min_s = 3 * DAY_S;
    p->noise_k = 3; /* growth over the window >= k robust sigmas */
    p->noise_k_avail = 4;
    p->tail_frac = 0.35;
    p->avail_min_s = 2 * DAY_S;
    p->oom_floor_frac = 0.02;   /* of MemTotal */
    p->oom_floor_min = 4 * MIB; /* bytes */
    p->gap_note_s = 2 * 3600;
    p->reset_min = 4 * MIB;
    p->reset_frac = 0.5;
}

const char *
leak_kind_name(enum leak_kind k)
{
    static const char *const names[_LEAK_SIG_MAX] = {
        [LEAK_SIG_SUNRECLAIM] = "sunreclaim",       [LEAK_SIG_SLAB_CACHE] = "slab_cache",
        [LEAK_SIG_FILP_GAP] = "filp_gap",           [LEAK_SIG_FILEFD_GAP] = "filefd_gap",
        [LEAK_SIG_MEM_AVAILABLE] = "mem_available",
    };

    if ((unsigned)k >= _LEAK_SIG_MAX)
        return "unknown";
    return names[k];
}

int
leak_slab_reclaimable(const char *c)
{
    static const char *const prefixes[] = {
        "dentry",
        "kmalloc-rcl-",
        "buffer_head",
        "radix_tree_node",
        "ext4_",
        "xfs_",
        "btrfs_",
        "f2fs_",
        "nfs_",
        "fuse_",
        "ovl_",
        "squashfs_",
        "jbd2_",
        "mbcache",
        "shmem_inode_cache",
        "proc_inode_cache",
        "sock_inode_cache",
        "inode_cache",
        "bdev_cache",
        "kernfs_node_cache",
        "ubifs_",
        "vfat_",
        "fat_",
        "isofs_",
        "nls_",
        "jffs2_",
        "erofs_",
        "tmpfs_",
        "hugetlbfs_",
        "debugfs_inode_cache",
        "tracefs_inode_cache",
        "sysfs_",
        "configfs_",
        "mqueue_inode_cache",
    };

    for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
        if (strncmp(c, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    /* Any "*_inode_cache" / "*inode*" cache is reclaimable on every filesystem. */
    return strstr(c, "inode_cache") != NULL;
}

static double
rate_floor(const struct leak_input *in, const struct leak_params *p)
{
    double r = p->rate_min;

    if (isfinite(in->mem_total) && in->mem_total * p->rate_min_frac / 30.0 > r)
        r = in->mem_total * p->rate_min_frac / 30.0;
    return r;
}

/* A series in time order: the caller's arrays, or a sorted copy when they were not. */
struct ordered {
    const int64_t *t;
    const double *v;
    size_t n;
    int64_t *t_own;
    double *v_own;
    size_t out_of_order, repeated;
};

struct tv {
    int64_t t;
    double v;
    size_t i;
};

static int
cmp_tv(const void *a, const void *b)
{
    const struct tv *x = a, *y = b;

    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i); /* stable: arrival order among equal times */
}

static void
ordered_done(struct ordered *o)
{
    free(o->t_own);
    free(o->v_own);
    o->t_own = NULL;
    o->v_own = NULL;
}

static int
order_series(const struct leak_series *s, struct ordered *o)
{
    struct tv *tv;

    memset(o, 0, sizeof(*o));
    o->t = s->t_ms;
    o->v = s->v;
    o->n = s->n;
    for (size_t i = 1; i < s->n; i++)
        if (s->t_ms[i] < s->t_ms[i - 1])
            o->out_of_order++;
    if (o->out_of_order > 0) {
        tv = malloc(sizeof(*tv) * s->n);
        o->t_own = malloc(sizeof(int64_t) * s->n);
        o->v_own = malloc(sizeof(double) * s->n);
        if (!tv || !o->t_own || !o->v_own) {
            free(tv);
            ordered_done(o);
            return -ENOMEM;
        }
        for (size_t i = 0; i < s->n; i++)
            tv[i] = (struct tv){s->t_ms[i], s->v[i], i};
        qsort(tv, s->n, sizeof(*tv), cmp_tv);
        for (size_t i = 0; i < s->n; i++) {
            o->t_own[i] = tv[i].t;
            o->v_own[i] = tv[i].v;
        }
        free(tv);
        o->t = o->t_own;
        o->v = o->v_own;
    }
    for (size_t i = 1; i < o->n; i++)
        if (o->t[i] == o->t[i - 1])
            o->repeated++;
    return 0;
}

/* Longest stretch without a finite sample in [from_ms, to_ms], the one after the last included. */
static double
longest_gap_s(const struct ordered *o, int64_t from_ms, int64_t to_ms, int64_t *ret_at)
{
    int64_t prev = -1, best = 0, at = -1;

    for (size_t i = 0; i < o->n; i++) {
        if (o->t[i] < from_ms || !isfinite(o->v[i]))
            continue;
        if (o->t[i] > to_ms)
            break;
        if (prev >= 0 && o->t[i] - prev > best) {
            best = o->t[i] - prev;
            at = prev;
        }
        prev = o->t[i];
    }
    if (prev >= 0 && to_ms != INT64_MAX && to_ms - prev > best) {
        best = to_ms - prev;
        at = prev;
    }
    *ret_at = at;
    return (double)best / 1000.0;
}

struct binned {
    double *t; /* seconds since the first bin */
    double *y;
    size_t n;
    double t0; /* absolute seconds of t[0] */
    double bin_s;
};

static int
bin_series(const struct ordered *s, int64_t from_ms, int64_t to_ms, const struct leak_params *p,
           struct binned *b)
{
    size_t i = 0, j;
    double span, width;
    int r;

    memset(b, 0, sizeof(*b));
    while (i < s->n && s->t[i] < from_ms)
        i++;
    j = i;
    while (j < s->n && s->t[j] <= to_ms)
        j++;
    if (j - i < 2)
        return 0;
    span = (double)(s->t[j - 1] - s->t[i]) / 1000.0;
    width = p->min_bin_s;
    if (span / width > LEAK_MAX_BINS)
        width = ceil(span / LEAK_MAX_BINS);
    b->bin_s = width;
    b->t = malloc(sizeof(double) * (LEAK_MAX_BINS + 2));
    b->y = malloc(sizeof(double) * (LEAK_MAX_BINS + 2));
    if (!b->t || !b->y)
        return -ENOMEM;
    r = trend_bin_median(s->t + i, s->v + i, j - i, s->t[i], to_ms == INT64_MAX ? to_ms : to_ms + 1,
                         (int64_t)(width * 1000), LEAK_MAX_BINS + 2, b->t, b->y);
    if (r < 0)
        return r;
    b->n = (size_t)r;
    if (b->n > 0) {
        b->t0 = b->t[0];
        for (size_t k = 0; k < b->n; k++)
            b->t[k] -= b->t0;
    }
    return 0;
}

static void
binned_done(struct binned *b)
{
    free(b->t);
    free(b->y);
    b->t = b->y = NULL;
}

static int
is_quiet(enum leak_kind k)
{
    return k == LEAK_SIG_SUNRECLAIM || k == LEAK_SIG_SLAB_CACHE || k == LEAK_SIG_FILP_GAP ||
           k == LEAK_SIG_FILEFD_GAP;
}

/*
 * Direction of a signal with too few bins for its own test: Theil-Sen rate and
 * Kendall tau. sparse_up when it rises in nearly every pair (tau >= 0.8).
 */
static void
sparse_trend(const struct binned *b, struct leak_evidence *ev)
{
    struct trend_sen ts;
    struct trend_mk mk;
    double nn = (double)b->n;

    if (trend_theil_sen(b->t, b->y, b->n, 0.9, nn * (nn - 1) * (2 * nn + 5) / 18.0, &ts) < 0 ||
        trend_mann_kendall(NULL, b->y, b->n, 0, NAN, &mk) < 0)
        return;
    ev->rate = ts.slope * DAY_S;
    ev->z = mk.z;
    ev->p = mk.p_up;
    ev->sparse_up = mk.tau >= 0.8 && ts.slope > 0;
}

/* The statistics and shape tests on one binned signal (y grows on a leak). */
static int
judge_signal(const struct binned *b, double alpha, double rmin, const struct leak_params *p,
             int is_avail, struct leak_evidence *ev)
{
    struct trend_mk mk;
    struct trend_sen ts;
    double var0, nn = (double)b->n, span = b->t[b->n - 1];
    double sse_step;
    size_t k;
    int r;

    var0 = nn * (nn - 1) * (2 * nn + 5) / 18.0;
    r = trend_theil_sen(b->t, b->y, b->n, p->conf, var0, &ts);
    if (r < 0)
        return r;
    r = trend_mann_kendall(b->t, b->y, b->n, 0, ts.slope, &mk);
    if (r < 0)
        return r;
    r = trend_theil_sen(b->t, b->y, b->n, p->conf, mk.var_corr, &ts);
    if (r < 0)
        return r;
    ev->rate = ts.slope * DAY_S;
    ev->rate_lo = ts.lo * DAY_S;
    ev->rate_hi = ts.hi * DAY_S;
    ev->z = mk.z;
    ev->p = mk.p_up;
    ev->hr_factor = mk.factor;
    /* Nearly monotone growth backs another signal even when not significant on its own. */
    ev->sparse_up = mk.tau >= 0.8 && ts.slope > 0;

    if (mk.p_up > alpha || ts.lo <= 0) {
        ev->why = "no trend";
        return 0;
    }
    if (ev->rate < rmin || ev->rate * span / DAY_S < p->growth_min) {
        ev->why = "too slow";
        return 0;
    }
    if (is_avail && span < p->avail_min_s) {
        ev->why = "needs 2 days";
        return 0;
    }
    {
        /* The growth must stand out of the signal's own noise around the line. */
        double *res = malloc(sizeof(double) * b->n), sigma;
        if (!res)
            return -ENOMEM;
        /* The intercept is median(y - slope t): residuals are centred on 0, so this is the MAD. */
        for (size_t i = 0; i < b->n; i++)
            res[i] = fabs(b->y[i] - (ts.intercept + ts.slope * b->t[i]));
        sigma = 1.4826 * trend_median(res, b->n);
        free(res);
        if (ts.slope * span < (is_avail ? p->noise_k_avail : p->noise_k) * sigma) {
            ev->why = "within noise";
            return 0;
        }
    }
    /*
     * A one-time step: at the best two-level split, the growth within its two parts
     * (first to last quarter of each) is a small part of the whole growth. A leak
     * grows throughout, even when it comes in batches, so most of its growth lies
     * within the parts; a step's lies between them.
     */
    if (trend_step_sse(b->y, b->n, MAX(2, b->n / 10), &sse_step, &k) == 0) {
        double total = 0, dt = 0, left = 0, right = 0;
        r = trend_end_growth(b->t, b->y, b->n, &total, &dt);
        if (r == 0 && k >= 4 && trend_end_growth(b->t, b->y, k, &left, &dt) == -ENOMEM)
            r = -ENOMEM;
        if (r == 0 && b->n - k >= 4 &&
            trend_end_growth(b->t + k, b->y + k, b->n - k, &right, &dt) == -ENOMEM)
            r = -ENOMEM;
        if (r == -ENOMEM)
            return r;
        if (r == 0 && total > 0 && left + right < p->tail_frac * total) {
            ev->why = "step";
            return 0;
        }
        r = 0;
    }
    if (b->n >= 12) {
        size_t from = b->n - b->n / 3;
        struct trend_sen tail;
        double m = (double)(b->n - from);
        r = trend_theil_sen(b->t + from, b->y + from, b->n - from, p->conf,
                            m * (m - 1) * (2 * m + 5) / 18.0, &tail);
        if (r < 0)
            return r;
        if (tail.slope < p->tail_frac * ts.slope) {
            ev->why = "plateau";
            return 0;
        }
    }
    if (span >= 1.5 * DAY_S) {
        double med = 0, frac = 0;
        size_t nd = trend_lag_diff(b->t, b->y, b->n, DAY_S, b->bin_s, &med, &frac);
        if (nd > 0 && (med <= 0 || frac < 0.75)) {
            ev->why = "daily cycle";
            return 0;
        }
    }
    ev->growing = 1;
    ev->why = "growing";
    return 0;
}

static void
note_add(struct leak_result *r, const char *s)
{
    size_t len = strlen(r->note);

    if (len + 1 >= sizeof(r->note))
        return;
    (void)snprintf(r->note + len, sizeof(r->note) - len, "%s%s", len ? "; " : "", s);
}

/*
 * A reboot (or a counter reset) the boot markers missed: a quiet signal that falls
 * at once, between two bins, by at least reset_min bytes, by far more than its
 * bin-to-bin noise, losing at least reset_frac of what it grew since its low.
 * Returns the absolute time (ms) of the first bin after the newest such fall, -1 if none.
 */
static int64_t
find_reset(const struct binned *b, const struct leak_params *p)
{
    double *d, sigma, low;
    int64_t at = -1;

    if (b->n < 4)
        return -1;
    d = malloc(sizeof(double) * (b->n - 1));
    if (!d)
        return -1;
    for (size_t k = 0; k + 1 < b->n; k++)
        d[k] = fabs(b->y[k + 1] - b->y[k]);
    sigma = 1.4826 * trend_median(d, b->n - 1);
    free(d);
    low = b->y[0];
    for (size_t k = 0; k + 1 < b->n; k++) {
        double fall = b->y[k] - b->y[k + 1];
        low = fmin(low, b->y[k]);
        if (fall >= p->reset_min && fall > 10 * sigma && fall >= p->reset_frac * (b->y[k] - low) &&
            b->y[k] > low) {
            at = (int64_t)((b->t0 + b->t[k + 1]) * 1000);
            low = b->y[k + 1];
        }
    }
    return at;
}

/*
 * Where MemAvailable stands on the leak's line at the last bin, and how deep it
 * dips below that line. The level is the median of the bins of the last 6 h,
 * each carried forward at the leak rate (never below 0): one bin caught in a
 * burst does not move it. The dip is the 99.9th percentile of how far the raw
 * samples of the last 3 days fall below the line: the kernel runs out at the
 * bottom of a burst, not at the median, so the projection counts from there.
 */
static int
project(const struct ordered *raw, const double *bt, const double *by, size_t bn, int64_t from_ms,
        int64_t to_ms, double rate_day, struct leak_result *res)
{
    double t_last = bt[bn - 1], rate = rate_day / DAY_S, keep = 6 * 3600.0, *v;
    size_t m = 0, cap = MAX(bn, raw->n);

    v = malloc(sizeof(double) * (cap ? cap : 1));
    if (!v)
        return -ENOMEM;
    for (size_t k = 0; k < bn; k++)
        if (bt[k] >= t_last - keep)
            v[m++] = by[k] - rate * (t_last - bt[k]);
    res->mem_available = MAX(0, trend_median(v, m));
    m = 0;
    for (size_t i = 0; i < raw->n; i++) {
        double at = (double)raw->t[i] / 1000.0;
        if (raw->t[i] < from_ms || raw->t[i] > to_ms || !isfinite(raw->v[i]) ||
            at < t_last - 3 * DAY_S)
            continue;
        v[m++] = res->mem_available + rate * (t_last - at) - raw->v[i];
    }
    res->dip = m > 0 ? MAX(0, trend_quantile(v, m, 0.999)) : 0;
    free(v);
    return 0;
}

int
leak_analyze(const struct leak_input *in, const struct leak_params *params, struct leak_result *ret)
{
    struct leak_params def;
    const struct leak_params *p = params;
    struct leak_result res;
    size_t n_caches = 0, judged = 0, n_quiet = 0;
    int64_t from_ms;
    double rmin, last_avail_t = NAN;
    int have_quiet = 0, have_avail = 0, sun = -1, best = -1, av_idx = -1;
    double *av_t = NULL, *av_y = NULL;
    size_t av_n = 0;
    struct ordered *ord;
    int r = 0;

    if (!p) {
        leak_params_default(&def);
        p = &def;
    }
    if (!in || (in->n_series > 0 && !in->series))
        return -EINVAL;
    memset(&res, 0, sizeof(res));
    res.rate = res.rate_lo = res.rate_hi = NAN;
    res.mem_available = res.mem_available0 = NAN;
    res.dip = 0;
    res.exhaustion_ms = -1;
    res.last_ms = -1;
    res.oom_floor = p->oom_floor_min;
    if (isfinite(in->mem_total) && in->mem_total * p->oom_floor_frac > res.oom_floor)
        res.oom_floor = in->mem_total * p->oom_floor_frac;
    res.ev = calloc(in->n_series ? in->n_series : 1, sizeof(*res.ev));
    if (!res.ev)
        return -ENOMEM;
    res.n_ev = in->n_series;

    from_ms = in->start_ms + (int64_t)(p->warmup_s * 1000);
    rmin = rate_floor(in, p);
    res.reset_ms = -1;
    ord = calloc(in->n_series ? in->n_series : 1, sizeof(*ord));
    if (!ord) {
        leak_result_done(&res);
        return -ENOMEM;
    }
    for (size_t i = 0; i < in->n_series && r == 0; i++) {
        r = order_series(&in->series[i], &ord[i]);
        if (in->series[i].kind == LEAK_SIG_SLAB_CACHE)
            n_caches++;
    }
    /*
     * A reboot the boot markers missed shows as unreclaimable slab (or, without it,
     * a struct-file gap) falling back at once: judge every signal after the newest one.
     */
    for (int pass = 0; pass < 3 && in->unmarked && r == 0 && res.reset_ms < 0; pass++) {
        static const enum leak_kind order[] = {LEAK_SIG_SUNRECLAIM, LEAK_SIG_FILP_GAP,
                                               LEAK_SIG_FILEFD_GAP};
        for (size_t i = 0; i < in->n_series && r == 0; i++) {
            struct binned b;
            int64_t at;
            if (in->series[i].kind != order[pass])
                continue;
            r = bin_series(&ord[i], from_ms, in->end_ms, p, &b);
            at = r == 0 ? find_reset(&b, p) : -1;
            binned_done(&b);
            if (at > res.reset_ms)
                res.reset_ms = at;
        }
    }
    if (res.reset_ms >= 0) {
        char buf[160];
        (void)snprintf(buf, sizeof(buf),
                       "a quiet signal fell back at once %.1f h after the start (a reboot the boot "
                       "time missed?): judged after it",
                       (double)(res.reset_ms - in->start_ms) / 3.6e6);
        note_add(&res, buf);
        from_ms = MAX(from_ms, res.reset_ms + (int64_t)(p->warmup_s * 1000));
    }

    for (size_t i = 0; i < in->n_series && r == 0; i++) {
        const struct leak_series *s = &in->series[i];
        struct leak_evidence *ev = &res.ev[i];
        struct binned b;
        double alpha = p->alpha;
        int is_avail = s->kind == LEAK_SIG_MEM_AVAILABLE;
        int64_t gap_at;

        (void)snprintf(ev->name, sizeof(ev->name), "%s", s->name ? s->name : "?");
        ev->kind = s->kind;
        ev->rate = ev->rate_lo = ev->rate_hi = ev->z = ev->p = NAN;
        ev->hr_factor = NAN;
        ev->why = "too little data";
        ev->out_of_order = ord[i].out_of_order;
        ev->repeated = ord[i].repeated;
        ev->gap_s = longest_gap_s(&ord[i], from_ms, in->end_ms, &gap_at);
        if (ev->out_of_order > 0 || ev->repeated > 0) {
            char buf[256];
            (void)snprintf(buf, sizeof(buf),
                           "%s: %zu sample(s) out of time order (sorted), %zu at "
                           "a repeated time (binned together)",
                           ev->name, ev->out_of_order, ev->repeated);
            note_add(&res, buf);
        }
        if (ev->gap_s >= p->gap_note_s && gap_at >= 0) {
            char buf[256];
            int stale = gap_at + (int64_t)(ev->gap_s * 1000) >= in->end_ms;
            (void)snprintf(buf, sizeof(buf),
                           stale ? "%s: no data for the last %.1f h"
                                 : "%s: no data for %.1f h from %.1f h after the start",
                           ev->name, ev->gap_s / 3600, (double)(gap_at - in->start_ms) / 3.6e6);
            note_add(&res, buf);
        }
        r = bin_series(&ord[i], from_ms, in->end_ms, p, &b);
        if (r < 0) {
            binned_done(&b);
            break;
        }
        ev->bins = b.n;
        ev->bin_s = b.bin_s;
        if (b.n < p->min_bins) {
            /*
             * Too sparse for a test of its own (slabinfo is often sampled far less
             * often than meminfo), but its direction can still back another signal.
             */
            if (b.n >= 4 && is_quiet(s->kind))
                sparse_trend(&b, ev);
            binned_done(&b);
            continue;
        }
        judged++;
        if (is_avail) {
            have_avail = 1;
            res.mem_available = b.y[b.n - 1];
            res.mem_available0 = b.y[0];
            last_avail_t = b.t0 + b.t[b.n - 1];
            free(av_t);
            free(av_y);
            av_t = malloc(sizeof(double) * b.n);
            av_y = malloc(sizeof(double) * b.n);
            if (!av_t || !av_y) {
                binned_done(&b);
                r = -ENOMEM;
                break;
            }
            for (size_t k = 0; k < b.n; k++) {
                av_t[k] = b.t0 + b.t[k];
                av_y[k] = b.y[k];
            }
            av_n = b.n;
            av_idx = (int)i;
            for (size_t k = 0; k < b.n; k++)
                b.y[k] = -b.y[k];
        } else {
            have_quiet = 1;
        }
        if (s->kind == LEAK_SIG_SLAB_CACHE && n_caches > 1)
            alpha /= (double)n_caches; /* many caches: Bonferroni */
        if (s->kind == LEAK_SIG_SLAB_CACHE) {
            /* Cheap screen first: most caches are flat, skip the O(n^2) work. */
            double ob, oa, sse;
            if (trend_ols(b.t, b.y, b.n, &ob, &oa, &sse) == 0 && ob * DAY_S < 0.5 * rmin) {
                ev->rate = ob * DAY_S;
                ev->why = "too slow";
                binned_done(&b);
                continue;
            }
        }
        r = judge_signal(&b, alpha, rmin, p, is_avail, ev);
        binned_done(&b);
        if (s->kind == LEAK_SIG_SUNRECLAIM && sun < 0)
            sun = (int)i;
    }
    if (r < 0)
        goto fail;

    /* A single cache or a gap must show in unreclaimable slab too, when we have it. */
    for (size_t i = 0; i < res.n_ev; i++) {
        struct leak_evidence *ev = &res.ev[i];
        if (!ev->growing || ev->kind == LEAK_SIG_SUNRECLAIM || !is_quiet(ev->kind) || sun < 0)
            continue;
        if (!(res.ev[sun].rate >= 0.25 * ev->rate)) {
            ev->growing = 0;
            ev->why = "not confirmed by SUnreclaim";
        }
    }
    /*
     * Autocorrelated noise can fake a trend in one signal over a few hours; a real
     * leak shows in two (a cache and unreclaimable slab, or a gap). One quiet
     * signal alone must hold for alone_min_s.
     */
    for (size_t i = 0; i < res.n_ev; i++)
        if (res.ev[i].growing && is_quiet(res.ev[i].kind))
            n_quiet++;
    if (n_quiet == 1)
        for (size_t i = 0; i < res.n_ev; i++) {
            struct leak_evidence *ev = &res.ev[i];
            double need = p->alone_min_s;
            /*
             * Unreclaimable slab can wander for days; a leak with slabinfo at hand
             * also shows in a cache (judge.c picks the fastest growing ones).
             */
            if (ev->kind == LEAK_SIG_SUNRECLAIM)
                for (size_t k = 0; k < res.n_ev; k++)
                    if (res.ev[k].kind == LEAK_SIG_SLAB_CACHE && res.ev[k].bins >= p->min_bins)
                        need = MAX(need, p->alone_slab_min_s);
            if (!ev->growing || !is_quiet(ev->kind) || (double)ev->bins * ev->bin_s >= need)
                continue;
            /* A sparse quiet signal rising almost monotonically at a similar rate backs it. */
            int backed = 0;
            for (size_t k = 0; k < res.n_ev; k++) {
                struct leak_evidence *x = &res.ev[k];
                if (k == i || !x->sparse_up || !is_quiet(x->kind) || !(x->rate >= 0.3 * ev->rate) ||
                    !(x->rate <= 3 * ev->rate))
                    continue;
                x->why = "backs the trend (sparse)";
                backed = 1;
            }
            if (!backed) {
                ev->growing = 0;
                ev->why = need > p->alone_min_s ? "alone, in no slab cache: needs 3 days"
                                                : "alone, needs a day";
            }
        }
    /*
     * MemAvailable falling while the quiet kernel signals were judged and none grows
     * is most often user space or a one-time allocation hidden in bursty noise: it
     * needs twice the data it needs alone.
     */
    n_quiet = 0;
    for (size_t i = 0; i < res.n_ev; i++)
        if (res.ev[i].growing && is_quiet(res.ev[i].kind))
            n_quiet++;
    for (size_t i = 0; i < res.n_ev && have_quiet && n_quiet == 0; i++) {
        struct leak_evidence *ev = &res.ev[i];
        if (ev->growing && ev->kind == LEAK_SIG_MEM_AVAILABLE &&
            (double)ev->bins * ev->bin_s < 2 * p->avail_min_s) {
            ev->growing = 0;
            ev->why = "no slab signal grows: needs 4 days";
        }
    }
    for (size_t i = 0; i < res.n_ev; i++) {
        const struct leak_evidence *ev = &res.ev[i];
        if (!ev->growing)
            continue;
        res.leak = 1;
        if (best < 0)
            best = (int)i;
        else if (ev->kind == LEAK_SIG_SUNRECLAIM && res.ev[best].kind != LEAK_SIG_SUNRECLAIM)
            best = (int)i;
        else if (res.ev[best].kind == LEAK_SIG_MEM_AVAILABLE && is_quiet(ev->kind))
            best = (int)i;
        else if (res.ev[best].kind != LEAK_SIG_SUNRECLAIM && is_quiet(ev->kind) &&
                 ev->rate > res.ev[best].rate)
            best = (int)i;
    }

    res.judged = judged > 0;
    if (!have_quiet) {
        note_add(&res, "no slab or file-handle signal (slabinfo needs root): MemAvailable only, "
                       "which needs 2 days");
    } else {
        int have_detail = 0;
        for (size_t i = 0; i < in->n_series; i++)
            if (in->series[i].kind == LEAK_SIG_SLAB_CACHE ||
                in->series[i].kind == LEAK_SIG_FILP_GAP)
                have_detail = 1;
        if (!have_detail)
            note_add(&res, "no slab caches (slabinfo needs root): one quiet signal alone needs a "
                           "day");
    }
    if (!have_avail)
        note_add(&res, "no MemAvailable: no exhaustion projection");
    if (!res.judged)
        note_add(&res, "too little data after the warm-up");

    if (best >= 0) {
        const struct leak_evidence *ev = &res.ev[best];
        (void)snprintf(res.signal, sizeof(res.signal), "%s", ev->name);
        res.rate = ev->rate;
        res.rate_lo = ev->rate_lo;
        res.rate_hi = ev->rate_hi;
        if (av_n > 0 && res.rate > 0) {
            double days;
            r = project(&ord[av_idx], av_t, av_y, av_n, from_ms, in->end_ms, res.rate, &res);
            if (r < 0)
                goto fail;
            days = (res.mem_available - res.dip - res.oom_floor) / res.rate;
            if (days < 0)
                days = 0;
            res.last_ms = (int64_t)(last_avail_t * 1000);
            res.exhaustion_ms = res.last_ms + (int64_t)(days * DAY_S * 1000);
        }
    }
    if (isfinite(last_avail_t))
        res.last_ms = (int64_t)(last_avail_t * 1000);
    {
        double first = INFINITY, last = -INFINITY;
        for (size_t i = 0; i < in->n_series; i++) {
            const struct leak_series *s = &in->series[i];
            for (size_t k = 0; k < s->n; k++)
                if (s->t_ms[k] >= from_ms && s->t_ms[k] <= in->end_ms) {
                    first = MIN(first, (double)s->t_ms[k]);
                    last = MAX(last, (double)s->t_ms[k]);
                }
        }
        res.hours = last > first ? (last - first) / 3.6e6 : 0;
    }
    for (size_t i = 0; i < in->n_series; i++)
        ordered_done(&ord[i]);
    free(ord);
    free(av_t);
    free(av_y);
    *ret = res;
    return 0;
fail:
    for (size_t i = 0; i < in->n_series; i++)
        ordered_done(&ord[i]);
    free(ord);
    free(av_t);
    free(av_y);
    leak_result_done(&res);
    return r;
}

void
leak_result_done(struct leak_result *r)
{
    free(r->ev);
    r->ev = NULL;
    r->n_ev = 0;
}

double
leak_days_on_ram(double rate, double mem_total, double avail0, double ram_bytes, double board_ram,
                 const struct leak_params *params)
{
    struct leak_params def;
    const struct leak_params *p = params;
    double reserve, total_r, used, floor_r;

    if (!p) {
        leak_params_default(&def);
        p = &def;
    }
    if (!(rate > 0) || !isfinite(mem_total) || !isfinite(avail0) || !(ram_bytes > 0))
        return NAN;
    if (!(board_ram > 0)) {
        board_ram = 1;
        while (board_ram < mem_total)
            board_ram *= 2;
    }
    reserve = board_ram - mem_total;
    if (reserve < 0)
        reserve = 0;
    total_r = ram_bytes - reserve * ram_bytes / board_ram;
    used = mem_total - avail0;
    floor_r = MAX(p->oom_floor_min, p->oom_floor_frac * total_r);
    if (total_r - used - floor_r <= 0)
        return 0;
    return (total_r - used - floor_r) / rate;
}
