/* SPDX-License-Identifier: MIT */
#include "judge.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "expo-parse.h"
#include "parse.h"
#include "trend.h"

#define MIB (1024.0 * 1024.0)
#define BOOT_JITTER_S 60              /* boot time moving more than this = new boot */
#define JOIN_TOL_MS 2000              /* samples of one scrape are joined within this */
#define CACHES_KEEP 6                 /* slab caches analysed besides filp */
#define SCREEN_MS (2 * 3600 * 1000LL) /* windows used to pick the caches to analyse */

static char *
label_of(const char *key, const char *label)
{
    char buf[256];

    if (expo_key_label(key, label, buf, sizeof(buf)) < 0)
        return NULL;
    return strdup(buf);
}

static int
read_key(struct store *st, int64_t dev, const char *key, int64_t from, int64_t to,
         struct sample_array *out)
{
    int r = store_read(st, dev, key, from, to, out);

    return r < 0 ? r : 0;
}

/* Read the single series `metric` (no labels) or, failing that, its first series. */
static int
read_metric(struct store *st, int64_t dev, const char *metric, int64_t to, struct sample_array *out)
{
    char **keys = NULL;
    int r = store_series(st, dev, metric, &keys);

    if (r < 0)
        return r;
    if (keys && keys[0]) {
        const char *k = keys[0];
        for (size_t i = 0; keys[i]; i++)
            if (strcmp(keys[i], metric) == 0)
                k = keys[i];
        r = read_key(st, dev, k, INT64_MIN, to, out);
    }
    store_strv_free(keys);
    return r;
}

static void
seg_free(struct judge_segment *s)
{
    free(s->build);
    free(s->boot_id);
    if (s->analyzed)
        leak_result_done(&s->leak);
}

void
judge_leak_free(struct judge_leak *j)
{
    for (size_t i = 0; i < j->n; i++)
        seg_free(&j->seg[i]);
    free(j->seg);
    free(j->device);
    memset(j, 0, sizeof(*j));
}

static int
seg_push(struct judge_segment **v, size_t *n, int64_t boot, int64_t start, int64_t end)
{
    struct judge_segment *nv = realloc(*v, sizeof(**v) * (*n + 1));

    if (!nv)
        return -ENOMEM;
    *v = nv;
    memset(&nv[*n], 0, sizeof(nv[0]));
    nv[*n].boot_ms = boot;
    nv[*n].start_ms = start;
    nv[*n].end_ms = end;
    (*n)++;
    return 0;
}

static int
cmp_seg(const void *a, const void *b)
{
    const struct judge_segment *x = a, *y = b;

    return (x->start_ms > y->start_ms) - (x->start_ms < y->start_ms);
}

/* Count samples of a in [from, to]. */
static size_t
count_in(const struct sample_array *a, int64_t from, int64_t to)
{
    size_t c = 0;

    for (size_t i = 0; i < a->n; i++)
        if (a->s[i].t_ms >= from && a->s[i].t_ms <= to)
            c++;
    return c;
}

/* Split the device's history into boots and name each boot's build. */
static int
load_segments(struct store *st, int64_t dev, int64_t at, struct judge_segment **ret, size_t *ret_n)
{
    struct sample_array bt = {0};
    struct judge_segment *seg = NULL;
    char **keys = NULL;
    size_t n = 0;
    int r;

    r = read_metric(st, dev, "node_boot_time_seconds", at, &bt);
    if (r < 0)
        goto out;
    for (size_t i = 0; i < bt.n; i++) {
        double v = bt.s[i].v;
        if (!isfinite(v))
            continue;
        if (n == 0 || fabs(v * 1000.0 - (double)seg[n - 1].boot_ms) > BOOT_JITTER_S * 1000.0) {
            r = seg_push(&seg, &n, (int64_t)(v * 1000), bt.s[i].t_ms, bt.s[i].t_ms);
            if (r < 0)
                goto out;
        } else {
            seg[n - 1].end_ms = bt.s[i].t_ms;
        }
    }
    /* boot ids: name the boots found above, or make the boots when there was no boot time. */
    r = store_series(st, dev, "soak_boot_info", &keys);
    if (r < 0)
        goto out;
    for (size_t k = 0; keys && keys[k]; k++) {
        struct sample_array a = {0};
        r = read_key(st, dev, keys[k], INT64_MIN, at, &a);
        if (r < 0 || a.n == 0) {
            sample_array_free(&a);
            if (r < 0)
                goto out;
            continue;
        }
        int64_t first = a.s[0].t_ms, last = a.s[a.n - 1].t_ms;
        sample_array_free(&a);
        if (bt.n == 0) {
            r = seg_push(&seg, &n, first, first, last);
            if (r < 0)
                goto out;
            seg[n - 1].boot_id = label_of(keys[k], "boot_id");
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            int64_t mid = first + (last - first) / 2;
            if (mid >= seg[i].start_ms && mid <= seg[i].end_ms && !seg[i].boot_id)
                seg[i].boot_id = label_of(keys[k], "boot_id");
        }
    }
    store_strv_free(keys);
    keys = NULL;
    if (n == 0) {
        /* Neither boot time nor boot id: the whole history is one boot. */
        struct sample_array a = {0};
        r = read_metric(st, dev, "node_memory_MemAvailable_bytes", at, &a);
        if (r == 0 && a.n > 0)
            r = seg_push(&seg, &n, a.s[0].t_ms, a.s[0].t_ms, a.s[a.n - 1].t_ms);
        if (r == 0 && n > 0)
            seg[n - 1].unmarked = 1;
        sample_array_free(&a);
        if (r < 0)
            goto out;
    }
    if (n > 1) /* seg is NULL for a device without boot information */
        qsort(seg, n, sizeof(seg[0]), cmp_seg);

    r = store_series(st, dev, "soak_build_info", &keys);
    if (r < 0)
        goto out;
    {
        size_t *best = calloc(n ? n : 1, sizeof(size_t));
        if (!best) {
            r = -ENOMEM;
            goto out;
        }
        for (size_t k = 0; keys && keys[k]; k++) {
            struct sample_array a = {0};
            char *b;
            r = read_key(st, dev, keys[k], INT64_MIN, at, &a);
            if (r < 0) {
                sample_array_free(&a);
                free(best);
                goto out;
            }
            b = label_of(keys[k], "build");
            for (size_t i = 0; b && i < n; i++) {
                size_t c = count_in(&a, seg[i].start_ms, seg[i].end_ms);
                if (c > best[i]) {
                    best[i] = c;
                    free(seg[i].build);
                    seg[i].build = strdup(b);
                }
            }
            free(b);
            sample_array_free(&a);
        }
        free(best);
    }
    *ret = seg;
    *ret_n = n;
    seg = NULL;
    n = 0;
    r = 0;
out:
    for (size_t i = 0; i < n; i++)
        seg_free(&seg[i]);
    free(seg);
    store_strv_free(keys);
    sample_array_free(&bt);
    return r;
}

/* The arrays of one signal, owned. */
struct sig {
    char name[LEAK_NAME_MAX];
    enum leak_kind kind;
    int64_t *t;
    double *v;
    size_t n;
};

static void
sig_free(struct sig *s)
{
    free(s->t);
    free(s->v);
    s->t = NULL;
    s->v = NULL;
    s->n = 0;
}

static int
sig_from(struct sig *s, const char *name, enum leak_kind kind, const struct sample_array *a,
         double scale)
{
    memset(s, 0, sizeof(*s));
    (void)snprintf(s->name, sizeof(s->name), "%s", name);
    s->kind = kind;
    s->t = malloc(sizeof(int64_t) * (a->n ? a->n : 1));
    s->v = malloc(sizeof(double) * (a->n ? a->n : 1));
    if (!s->t || !s->v) {
        sig_free(s);
        return -ENOMEM;
    }
    for (size_t i = 0; i < a->n; i++) {
        s->t[i] = a->s[i].t_ms;
        s->v[i] = a->s[i].v * scale;
    }
    s->n = a->n;
    return 0;
}

/* (a - b) * scale at the times both have a sample (within JOIN_TOL_MS). */
static int
sig_gap(struct sig *s, const char *name, enum leak_kind kind, const struct sample_array *a,
        const struct sample_array *b, double scale)
{
    size_t j = 0;

    memset(s, 0, sizeof(*s));
    (void)snprintf(s->name, sizeof(s->name), "%s", name);
    s->kind = kind;
    s->t = malloc(sizeof(int64_t) * (a->n ? a->n : 1));
    s->v = malloc(sizeof(double) * (a->n ? a->n : 1));
    if (!s->t || !s->v) {
        sig_free(s);
        return -ENOMEM;
    }
    for (size_t i = 0; i < a->n; i++) {
        while (j < b->n && b->s[j].t_ms < a->s[i].t_ms - JOIN_TOL_MS)
            j++;
        if (j < b->n && llabs(b->s[j].t_ms - a->s[i].t_ms) <= JOIN_TOL_MS) {
            s->t[s->n] = a->s[i].t_ms;
            s->v[s->n] = (a->s[i].v - b->s[j].v) * scale;
            s->n++;
        }
    }
    return 0;
}

static double
last_value(const struct sample_array *a)
{
    for (size_t i = a->n; i > 0; i--)
        if (isfinite(a->s[i - 1].v))
            return a->s[i - 1].v;
    return NAN;
}

static double
window_median(const struct sample_array *a, int64_t from, int64_t to)
{
    double *v = malloc(sizeof(double) * (a->n ? a->n : 1));
    size_t m = 0;
    double med;

    if (!v)
        return NAN;
    for (size_t i = 0; i < a->n; i++)
        if (a->s[i].t_ms >= from && a->s[i].t_ms <= to && isfinite(a->s[i].v))
            v[m++] = a->s[i].v;
    med = trend_median(v, m);
    free(v);
    return med;
}

/* Theil-Sen rate (per day) of samples in [from, to], on 10-minute (or wider) medians. */
static double
rate_per_day(const struct sample_array *a, int64_t from, int64_t to)
{
    double t[LEAK_MAX_BINS + 2], y[LEAK_MAX_BINS + 2];
    int64_t *ts;
    double *vs, span, width = 600;
    size_t m = 0;
    struct trend_sen sen;
    int nb;

    ts = malloc(sizeof(int64_t) * (a->n ? a->n : 1));
    vs = malloc(sizeof(double) * (a->n ? a->n : 1));
    if (!ts || !vs) {
        free(ts);
        free(vs);
        return NAN;
    }
    for (size_t i = 0; i < a->n; i++)
        if (a->s[i].t_ms >= from && a->s[i].t_ms <= to) {
            ts[m] = a->s[i].t_ms;
            vs[m] = a->s[i].v;
            m++;
        }
    if (m < 2) {
        free(ts);
        free(vs);
        return NAN;
    }
    span = (double)(ts[m - 1] - ts[0]) / 1000.0;
    if (span / width > LEAK_MAX_BINS)
        width = ceil(span / LEAK_MAX_BINS);
    nb = trend_bin_median(ts, vs, m, ts[0], ts[m - 1] + 1, (int64_t)(width * 1000),
                          LEAK_MAX_BINS + 2, t, y);
    free(ts);
    free(vs);
    if (nb < 4)
        return NAN;
    if (trend_theil_sen(t, y, (size_t)nb, 0.9, 1, &sen) < 0)
        return NAN;
    return sen.slope * 86400;
}

struct cache_pick {
    char *key; /* active objects (or bytes) key */
    char *slab;
    double size; /* object size, 1 when the key is already bytes */
    double bytes, growth;
};

static int
cmp_pick_bytes(const void *a, const void *b)
{
    const struct cache_pick *x = a, *y = b;

    return (x->bytes < y->bytes) - (x->bytes > y->bytes);
}

/* Every signal the leak analysis uses, for data up to at. */
struct signals {
    struct sig *s;
    size_t n;
    double mem_total;
};

static void
signals_free(struct signals *g)
{
    for (size_t i = 0; i < g->n; i++)
        sig_free(&g->s[i]);
    free(g->s);
    memset(g, 0, sizeof(*g));
}

static struct sig *
signals_add(struct signals *g)
{
    struct sig *nv = realloc(g->s, sizeof(*nv) * (g->n + 1));

    if (!nv)
        return NULL;
    g->s = nv;
    memset(&nv[g->n], 0, sizeof(nv[0]));
    return &nv[g->n++];
}

/* Pick the slab caches worth analysing: filp, the largest, the fastest growing. */
static int
pick_caches(struct store *st, int64_t dev, int64_t seg_start, int64_t seg_end, int64_t at,
            struct cache_pick **ret, size_t *ret_n)
{
    char **keys = NULL, **sizes = NULL;
    const char *metric = "soak_slabinfo_bytes";
    struct cache_pick *p = NULL;
    size_t n = 0;
    int r, bytes_keys = 1;

    r = store_series(st, dev, metric, &keys);
    if (r < 0)
        return r;
    if (!keys || !keys[0]) {
        store_strv_free(keys);
        keys = NULL;
        bytes_keys = 0;
        metric = "node_slabinfo_active_objects";
        r = store_series(st, dev, metric, &keys);
        if (r < 0)
            return r;
        r = store_series(st, dev, "node_slabinfo_object_size_bytes", &sizes);
        if (r < 0)
            goto out;
    }
    for (size_t k = 0; keys && keys[k]; k++) {
        struct sample_array late = {0};
        char *slab = label_of(keys[k], "slab");
        double size = 1;
        if (!slab || leak_slab_reclaimable(slab)) {
            free(slab);
            continue;
        }
        if (!bytes_keys) {
            size = NAN;
            for (size_t s = 0; sizes && sizes[s]; s++) {
                char *sl = label_of(sizes[s], "slab");
                if (sl && strcmp(sl, slab) == 0) {
                    struct sample_array a = {0};
                    /* The newest size is enough: read the screening window only. */
                    r = read_key(st, dev, sizes[s], MIN(seg_end, at) - SCREEN_MS, at, &a);
                    size = last_value(&a);
                    sample_array_free(&a);
                }
                free(sl);
                if (r < 0 || !isnan(size))
                    break;
            }
            if (r < 0 || !isfinite(size) || size <= 0) {
                free(slab);
                if (r < 0)
                    goto out;
                continue;
            }
        }
        r = read_key(st, dev, keys[k], MAX(seg_start, MIN(seg_end, at) - SCREEN_MS), at, &late);
        if (r < 0 || late.n == 0) {
            sample_array_free(&late);
            free(slab);
            if (r < 0)
                goto out;
            continue;
        }
        {
            int64_t lt = late.s[late.n - 1].t_ms;
            double lv = window_median(&late, lt - SCREEN_MS, lt);
            /* A leaking cache grows within the last two hours as well. */
            double grow = rate_per_day(&late, INT64_MIN, INT64_MAX);
            struct cache_pick *nv = realloc(p, sizeof(*p) * (n + 1));
            if (!nv) {
                sample_array_free(&late);
                free(slab);
                r = -ENOMEM;
                goto out;
            }
            p = nv;
            p[n] = (struct cache_pick){.key = strdup(keys[k]),
                                       .slab = slab,
                                       .size = size,
                                       .bytes = lv * size,
                                       .growth = isfinite(grow) ? grow * size : 0};
            n++;
        }
        sample_array_free(&late);
    }
    if (n > 1) /* p is NULL when no cache was picked: qsort(NULL, 0) is undefined */
        qsort(p, n, sizeof(p[0]), cmp_pick_bytes);
    /* Keep filp, the CACHES_KEEP largest and the CACHES_KEEP fastest growing. */
    {
        size_t keep = 0;
        for (size_t i = 0; i < n; i++) {
            int fast = 0;
            size_t rank = 0;
            for (size_t j = 0; j < n; j++)
                if (p[j].growth > p[i].growth)
                    rank++;
            fast = rank < CACHES_KEEP && p[i].growth > 0;
            if (i < CACHES_KEEP || fast || strcmp(p[i].slab, "filp") == 0) {
                p[keep++] = p[i];
            } else {
                free(p[i].key);
                free(p[i].slab);
            }
        }
        n = keep;
    }
    *ret = p;
    *ret_n = n;
    p = NULL;
    n = 0;
    r = 0;
out:
    for (size_t i = 0; i < n; i++) {
        free(p[i].key);
        free(p[i].slab);
    }
    free(p);
    store_strv_free(keys);
    store_strv_free(sizes);
    return r;
}

static int
load_signals(struct store *st, int64_t dev, int64_t newest_start, int64_t newest_end, int64_t at,
             struct signals *g)
{
    struct sample_array sun = {0}, avail = {0}, total = {0}, fds = {0}, filefd = {0};
    struct sample_array filp = {0};
    struct cache_pick *caches = NULL;
    size_t nc = 0;
    double filp_size = NAN;
    struct sig *s;
    int r;

    memset(g, 0, sizeof(*g));
    g->mem_total = NAN;
    r = read_metric(st, dev, "node_memory_SUnreclaim_bytes", at, &sun);
    if (r == 0)
        r = read_metric(st, dev, "node_memory_MemAvailable_bytes", at, &avail);
    if (r == 0)
        r = read_metric(st, dev, "node_memory_MemTotal_bytes", at, &total);
    if (r == 0)
        r = read_metric(st, dev, "soak_open_fds", at, &fds);
    if (r == 0)
        r = read_metric(st, dev, "node_filefd_allocated", at, &filefd);
    if (r == 0)
        r = pick_caches(st, dev, newest_start, newest_end, at, &caches, &nc);
    if (r < 0)
        goto out;
    g->mem_total = last_value(&total);
    if (sun.n) {
        s = signals_add(g);
        if (!s || sig_from(s, "SUnreclaim", LEAK_SIG_SUNRECLAIM, &sun, 1) < 0) {
            r = -ENOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < nc; i++) {
        struct sample_array a = {0};
        char name[LEAK_NAME_MAX];
        r = read_key(st, dev, caches[i].key, INT64_MIN, at, &a);
        if (r < 0) {
            sample_array_free(&a);
            goto out;
        }
        (void)snprintf(name, sizeof(name), "slab %s", caches[i].slab);
        s = signals_add(g);
        if (!s || sig_from(s, name, LEAK_SIG_SLAB_CACHE, &a, caches[i].size) < 0) {
            sample_array_free(&a);
            r = -ENOMEM;
            goto out;
        }
        if (strcmp(caches[i].slab, "filp") == 0) {
            /* Keep the object counts for the gap to open descriptors. */
            filp = a;
            filp_size = caches[i].size;
        } else {
            sample_array_free(&a);
        }
    }
    if (!isfinite(filp_size))
        filp_size = 256; /* struct file is 192..256 bytes with its slab overhead */
    if (filp.n && fds.n) {
        s = signals_add(g);
        if (!s || sig_gap(s, "filp - open fds", LEAK_SIG_FILP_GAP, &filp, &fds, filp_size) < 0) {
            r = -ENOMEM;
            goto out;
        }
    }
    if (filefd.n && fds.n) {
        s = signals_add(g);
        if (!s ||
            sig_gap(s, "file-nr - open fds", LEAK_SIG_FILEFD_GAP, &filefd, &fds, filp_size) < 0) {
            r = -ENOMEM;
            goto out;
        }
    }
    if (avail.n) {
        s = signals_add(g);
        if (!s || sig_from(s, "MemAvailable", LEAK_SIG_MEM_AVAILABLE, &avail, 1) < 0) {
            r = -ENOMEM;
            goto out;
        }
    }
    r = 0;
out:
    for (size_t i = 0; i < nc; i++) {
        free(caches[i].key);
        free(caches[i].slab);
    }
    free(caches);
    sample_array_free(&sun);
    sample_array_free(&avail);
    sample_array_free(&total);
    sample_array_free(&fds);
    sample_array_free(&filefd);
    sample_array_free(&filp);
    if (r < 0)
        signals_free(g);
    return r;
}

static int
analyze_segment(const struct signals *g, struct judge_segment *seg)
{
    struct leak_series *ls = calloc(g->n ? g->n : 1, sizeof(*ls));
    struct leak_input in;
    int r;

    if (!ls)
        return -ENOMEM;
    for (size_t i = 0; i < g->n; i++)
        ls[i] = (struct leak_series){g->s[i].name, g->s[i].kind, g->s[i].t, g->s[i].v, g->s[i].n};
    in = (struct leak_input){.start_ms = seg->boot_ms,
                             .end_ms = seg->end_ms,
                             .mem_total = g->mem_total,
                             .unmarked = seg->unmarked,
                             .series = ls,
                             .n_series = g->n};
    /* A boot time in the future of the first sample is clock trouble: trust the samples. */
    if (in.start_ms > seg->start_ms || in.start_ms < seg->start_ms - 400LL * 86400 * 1000)
        in.start_ms = seg->start_ms;
    r = leak_analyze(&in, NULL, &seg->leak);
    free(ls);
    if (r == 0)
        seg->analyzed = 1;
    return r;
}

int
judge_leak_load(struct store *st, const char *device, int64_t at_ms, struct judge_leak *ret)
{
    struct judge_leak j = {0};
    struct signals g = {0};
    int64_t dev;
    int r;

    r = store_device(st, device, 0, &dev);
    if (r < 0)
        return r;
    j.device = strdup(device);
    if (!j.device)
        return -ENOMEM;
    j.mem_total = NAN;
    r = load_segments(st, dev, at_ms, &j.seg, &j.n);
    if (r < 0)
        goto fail;
    if (j.n > 0) {
        r = load_signals(st, dev, j.seg[j.n - 1].start_ms, j.seg[j.n - 1].end_ms, at_ms, &g);
        if (r < 0)
            goto fail;
        j.mem_total = g.mem_total;
        for (size_t i = 0; i < j.n; i++) {
            r = analyze_segment(&g, &j.seg[i]);
            if (r < 0)
                goto fail;
        }
    }
    signals_free(&g);
    *ret = j;
    return 0;
fail:
    signals_free(&g);
    judge_leak_free(&j);
    return r;
}

static json_t *
num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *
judge_leak_json(const struct judge_leak *j)
{
    json_t *root = json_object(), *segs = json_array();

    if (!root || !segs) {
        json_decref(root);
        json_decref(segs);
        return NULL;
    }
    (void)json_object_set_new(root, "device", json_string(j->device));
    for (size_t i = 0; i < j->n; i++) {
        const struct judge_segment *s = &j->seg[i];
        const struct leak_result *l = &s->leak;
        json_t *o = json_object(), *ev = json_array(), *ci = json_array();
        if (!o || !ev || !ci) {
            json_decref(o);
            json_decref(ev);
            json_decref(ci);
            json_decref(segs);
            json_decref(root);
            return NULL;
        }
        (void)json_object_set_new(o, "build", s->build ? json_string(s->build) : json_null());
        (void)json_object_set_new(o, "boot_id", s->boot_id ? json_string(s->boot_id) : json_null());
        (void)json_object_set_new(o, "boot_time", json_integer(s->boot_ms / 1000));
        (void)json_object_set_new(o, "start", json_integer(s->start_ms / 1000));
        (void)json_object_set_new(o, "end", json_integer(s->end_ms / 1000));
        (void)json_object_set_new(o, "judged", json_boolean(s->analyzed && l->judged));
        (void)json_object_set_new(o, "leak", json_boolean(s->analyzed && l->leak));
        (void)json_object_set_new(o, "signal",
                                  s->analyzed && l->leak ? json_string(l->signal) : json_null());
        (void)json_object_set_new(o, "rate_bytes_per_day",
                                  num_or_null(s->analyzed && l->leak ? l->rate : NAN));
        if (s->analyzed && l->leak) {
            (void)json_array_append_new(ci, num_or_null(l->rate_lo));
            (void)json_array_append_new(ci, num_or_null(l->rate_hi));
            (void)json_object_set_new(o, "rate_ci", ci);
        } else {
            json_decref(ci);
            (void)json_object_set_new(o, "rate_ci", json_null());
        }
        (void)json_object_set_new(o, "exhaustion_time",
                                  s->analyzed && l->exhaustion_ms > 0
                                      ? json_integer(l->exhaustion_ms / 1000)
                                      : json_null());
        (void)json_object_set_new(o, "mem_available_bytes",
                                  num_or_null(s->analyzed ? l->mem_available : NAN));
        (void)json_object_set_new(o, "dip_bytes",
                                  num_or_null(s->analyzed && l->leak ? l->dip : NAN));
        (void)json_object_set_new(o, "hours", json_real(s->analyzed ? l->hours : 0));
        (void)json_object_set_new(o, "reset_time",
                                  s->analyzed && l->reset_ms >= 0 ? json_integer(l->reset_ms / 1000)
                                                                  : json_null());
        for (size_t k = 0; s->analyzed && k < l->n_ev; k++) {
            const struct leak_evidence *e = &l->ev[k];
            json_t *x = json_object();
            if (!x)
                continue;
            (void)json_object_set_new(x, "signal", json_string(e->name));
            (void)json_object_set_new(x, "kind", json_string(leak_kind_name(e->kind)));
            (void)json_object_set_new(x, "growing", json_boolean(e->growing));
            (void)json_object_set_new(x, "why", json_string(e->why));
            (void)json_object_set_new(x, "rate_bytes_per_day", num_or_null(e->rate));
            (void)json_object_set_new(x, "rate_lo", num_or_null(e->rate_lo));
            (void)json_object_set_new(x, "rate_hi", num_or_null(e->rate_hi));
            (void)json_object_set_new(x, "z", num_or_null(e->z));
            (void)json_object_set_new(x, "p", num_or_null(e->p));
            (void)json_object_set_new(x, "bins", json_integer((json_int_t)e->bins));
            (void)json_object_set_new(x, "longest_gap_seconds", json_integer((json_int_t)e->gap_s));
            (void)json_object_set_new(x, "out_of_order", json_integer((json_int_t)e->out_of_order));
            (void)json_object_set_new(x, "repeated", json_integer((json_int_t)e->repeated));
            (void)json_array_append_new(ev, x);
        }
        (void)json_object_set_new(o, "evidence", ev);
        (void)json_object_set_new(o, "note",
                                  s->analyzed && l->note[0] ? json_string(l->note) : json_null());
        (void)json_array_append_new(segs, o);
    }
    (void)json_object_set_new(root, "segments", segs);
    return root;
}

static void
fmt_time(char out[32], int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        (void)snprintf(out, 32, "%lld", (long long)(ms / 1000));
}

void
judge_leak_print(FILE *f, const struct judge_leak *j)
{
    (void)fprintf(f, "%s: %zu boot(s)\n", j->device, j->n);
    for (size_t i = 0; i < j->n; i++) {
        const struct judge_segment *s = &j->seg[i];
        const struct leak_result *l = &s->leak;
        char a[32], b[32], c[32];
        fmt_time(a, s->boot_ms);
        fmt_time(b, s->end_ms);
        (void)fprintf(f, "\nboot %s .. %s  build %s\n", a, b, s->build ? s->build : "(unknown)");
        if (!s->analyzed || !l->judged) {
            (void)fprintf(f, "  not judged: %s\n",
                          s->analyzed && l->note[0] ? l->note : "too little data");
            continue;
        }
        if (l->leak) {
            (void)fprintf(f, "  LEAK in %s: %.2f MB/day (90%% CI %.2f .. %.2f)\n", l->signal,
                          l->rate / MIB, l->rate_lo / MIB, l->rate_hi / MIB);
            if (l->exhaustion_ms > 0) {
                fmt_time(c, l->exhaustion_ms);
                (void)fprintf(f,
                              "  memory exhausted at %s (%.1f days after the last sample,"
                              " %.0f MB available, dips of %.0f MB)\n",
                              c, (double)(l->exhaustion_ms - l->last_ms) / 86400e3,
                              l->mem_available / MIB, l->dip / MIB);
            }
        } else {
            (void)fprintf(f, "  no leak (%.1f h analysed)\n", l->hours);
        }
        for (size_t k = 0; k < l->n_ev; k++) {
            const struct leak_evidence *e = &l->ev[k];
            if (isnan(e->rate))
                (void)fprintf(f, "    %-22s %s\n", e->name, e->why);
            else /* MemAvailable's rate is its fall: shown with the sign it moves */
                (void)fprintf(f, "    %-22s %-28s %+9.2f MB/day  z=%.1f\n", e->name, e->why,
                              (e->kind == LEAK_SIG_MEM_AVAILABLE ? -e->rate : e->rate) / MIB,
                              isfinite(e->z) ? e->z : 0.0);
        }
        if (l->note[0])
            (void)fprintf(f, "  note: %s\n", l->note);
    }
}

/* ---- verdict ---- */

static int
has_str(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

static int
in_span(int64_t t, int64_t from, int64_t to)
{
    return t >= from && t <= to;
}

/* Names (label `label` of metric's series) with a sample == 1 in [from, to]. */
static int
names_up(struct store *st, int64_t dev, const char *metric, const char *label, int64_t from,
         int64_t to, char **out, size_t *n)
{
    char **keys = NULL;
    int r = store_series(st, dev, metric, &keys);

    if (r < 0)
        return r;
    for (size_t k = 0; keys && keys[k] && *n < VERDICT_NAMES_MAX; k++) {
        struct sample_array a = {0};
        char *name = label_of(keys[k], label);
        int up = 0;
        if (!name || strcmp(name, "lo") == 0 || has_str(out, *n, name)) {
            free(name);
            continue;
        }
        r = read_key(st, dev, keys[k], from, to, &a);
        for (size_t i = 0; r == 0 && i < a.n; i++)
            if (a.s[i].v == 1)
                up = 1;
        sample_array_free(&a);
        if (r < 0) {
            free(name);
            break;
        }
        if (up)
            out[(*n)++] = name;
        else
            free(name);
    }
    store_strv_free(keys);
    return r < 0 ? r : 0;
}

/*
 * Growth within [from, to], summed over the metric's series: a counter's increase
 * (a fall is a reset: the agent restarted and counts from 0 again), or for a gauge
 * (as_counter 0) first to max.
 */
static int
counter_growth(struct store *st, int64_t dev, const char *metric, int64_t from, int64_t to,
               int as_counter, double *ret)
{
    char **keys = NULL;
    double sum = 0;
    int r = store_series(st, dev, metric, &keys);

    if (r < 0)
        return r;
    for (size_t k = 0; keys && keys[k]; k++) {
        struct sample_array a = {0};
        r = read_key(st, dev, keys[k], from, to, &a);
        if (r == 0 && a.n > 0 && as_counter) {
            double *v = malloc(sizeof(double) * a.n);
            if (!v) {
                r = -ENOMEM;
            } else {
                for (size_t i = 0; i < a.n; i++)
                    v[i] = a.s[i].v;
                sum += verdict_counter_increase(v, a.n, NULL);
                free(v);
            }
        } else if (r == 0 && a.n > 0) {
            double first = a.s[0].v, mx = first;
            for (size_t i = 0; i < a.n; i++)
                mx = fmax(mx, a.s[i].v);
            if (isfinite(mx - first))
                sum += mx - first;
        }
        sample_array_free(&a);
        if (r < 0)
            break;
    }
    store_strv_free(keys);
    *ret = sum;
    return r < 0 ? r : 0;
}

static int
median_metric(struct store *st, int64_t dev, const char *metric, int64_t from, int64_t to, double q,
              double *ret)
{
    struct sample_array a = {0};
    char **keys = NULL;
    double *v;
    size_t m = 0;
    int r = store_series(st, dev, metric, &keys);

    *ret = NAN;
    if (r < 0)
        return r;
    if (keys && keys[0])
        r = read_key(st, dev, keys[0], from, to, &a);
    store_strv_free(keys);
    if (r < 0 || a.n == 0) {
        sample_array_free(&a);
        return r;
    }
    v = malloc(sizeof(double) * a.n);
    if (!v) {
        sample_array_free(&a);
        return -ENOMEM;
    }
    for (size_t i = 0; i < a.n; i++)
        if (isfinite(a.s[i].v))
            v[m++] = a.s[i].v;
    if (m > 0)
        *ret = trend_quantile(v, m, q); /* selection: a month of 1-minute polls is 43,200 */
    free(v);
    sample_array_free(&a);
    return 0;
}

static int
deploy_between(const struct store_event_array *ev, int64_t from, int64_t to)
{
    for (size_t k = 0; k < ev->n; k++)
        if (ev->e[k].kind == EVENT_DEPLOY && ev->e[k].t_ms > from && ev->e[k].t_ms <= to)
            return 1;
    return 0;
}

/*
 * Whether a build name is the queried build: equal, or the query ends in '*' and
 * the name starts with the rest of it followed by its end, '-', ' ', '+', '_' or '~'
 * ("6.17.6*" is 6.17.6-yocto-standard 2025.11, not 6.17.60).
 */
int
judge_build_is(const char *name, const char *q)
{
    size_t len = strlen(q);

    if (!name)
        return 0;
    if (len == 0 || q[len - 1] != '*')
        return strcmp(name, q) == 0;
    len--;
    return strncmp(name, q, len) == 0 && (name[len] == 0 || strchr("- +_~", name[len]) != NULL);
}

/* 1 when some device of the store ran a build named exactly q (soak_build_info), else 0. */
static int
build_named_anywhere(struct store *st, const char *q)
{
    struct store_device *devs = NULL;
    size_t n = 0;
    int found = 0, r = store_devices(st, &devs, &n);

    if (r < 0)
        return r;
    for (size_t i = 0; i < n && !found && r >= 0; i++) {
        char **keys = NULL;
        r = store_series(st, devs[i].id, "soak_build_info", &keys);
        for (size_t k = 0; r >= 0 && keys && keys[k] && !found; k++) {
            char *b = label_of(keys[k], "build");
            found = b && strcmp(b, q) == 0;
            free(b);
        }
        store_strv_free(keys);
    }
    store_devices_free(devs, n);
    return r < 0 ? r : found;
}

/*
 * The query a user's build name stands for on one device: the name itself when
 * a boot or deploy there has exactly that name (or it already ends in '*'), or
 * when some other device ran exactly that name; else "NAME*" when some boot's
 * build starts with it (6.17.6 for "6.17.6-yocto-standard 2025.11"), else the
 * name (which then matches nothing). The store is asked only in the ambiguous
 * case (a prefix match here), not for every verdict.
 */
char *
judge_build_query(struct store *st, const struct judge_leak *j, const struct store_event_array *ev,
                  const char *q)
{
    size_t len = strlen(q);
    int prefix = 0;
    char *s;

    if (len > 0 && q[len - 1] == '*')
        return strdup(q);
    for (size_t i = 0; i < j->n; i++)
        if (j->seg[i].build && strcmp(j->seg[i].build, q) == 0)
            return strdup(q);
    for (size_t i = 0; ev && i < ev->n; i++)
        if (ev->e[i].kind == EVENT_DEPLOY && ev->e[i].subject && strcmp(ev->e[i].subject, q) == 0)
            return strdup(q);
    s = malloc(len + 2);
    if (!s)
        return NULL;
    memcpy(s, q, len);
    s[len] = '*';
    s[len + 1] = 0;
    for (size_t i = 0; i < j->n && !prefix; i++)
        prefix = judge_build_is(j->seg[i].build, s);
    if (!prefix || (st && build_named_anywhere(st, q) != 0))
        s[len] = 0;
    return s;
}

/*
 * Whether a poll at t counts for build: inside one of its boots, or in the gap
 * after one of its boots when the next boot is the same build (a crash and
 * reboot) or there is no next boot (it never came back). A gap that ends in a
 * boot of another build, or follows a deploy, ran something nobody saw (a
 * fallback, a failed update).
 */
static int
polls_belong(const struct judge_leak *j, const struct store_event_array *ev, const char *build,
             int64_t at, int64_t t)
{
    for (size_t i = 0; i < j->n; i++) {
        const struct judge_segment *g = &j->seg[i];
        int64_t end = g->end_ms;
        if (!judge_build_is(g->build, build))
            continue;
        if (i + 1 == j->n)
            end = at == INT64_MAX ? INT64_MAX : MAX(end, at);
        else if (j->seg[i + 1].build && strcmp(j->seg[i + 1].build, g->build) == 0 &&
                 !deploy_between(ev, g->end_ms - 600000, j->seg[i + 1].start_ms))
            end = j->seg[i + 1].start_ms - 1;
        if (t >= g->start_ms && t <= end)
            return 1;
    }
    return 0;
}

/* Keep in v only the names that were also up during boot g. */
static int
keep_up_in(struct store *st, int64_t dev, const char *metric, const char *label,
           const struct judge_segment *g, char **v, size_t *n)
{
    char *in[VERDICT_NAMES_MAX];
    size_t m = 0, w = 0;
    int r = names_up(st, dev, metric, label, g->start_ms, g->end_ms, in, &m);

    if (r < 0)
        return r;
    for (size_t i = 0; i < *n; i++) {
        if (has_str(in, m, v[i]))
            v[w++] = v[i];
        else
            free(v[i]);
    }
    *n = w;
    for (size_t i = 0; i < m; i++)
        free(in[i]);
    return 0;
}

/*
 * Deploy events (soak deploy) whose expected build is build: how many, how many failed
 * (value 0) and the last failure's reason. 0 or a store error.
 */
static int
deploy_stats(struct store *st, int64_t dev, const char *build, int64_t at, struct verdict_stats *s)
{
    struct store_event_array ev = {0};
    int r = store_events(st, dev, 0, at, &ev);

    if (r < 0)
        return r;
    for (size_t i = 0; i < ev.n; i++) {
        const struct store_event *e = &ev.e[i];
        if (e->kind != EVENT_DEPLOY || !e->subject || !judge_build_is(e->subject, build))
            continue;
        s->deploys++;
        if (e->value == 0) {
            s->deploys_failed++;
            (void)snprintf(s->deploy_failure, sizeof(s->deploy_failure), "%s",
                           e->detail ? e->detail : "no reason recorded");
        }
    }
    store_event_array_free(&ev);
    return 0;
}

static int
build_stats(struct store *st, int64_t dev, const struct judge_leak *j, const char *build,
            int64_t at, int strict, struct verdict_stats *s)
{
    struct sample_array up = {0};
    struct store_event_array ev = {0};
    int64_t from = INT64_MAX, to = INT64_MIN;
    size_t first = SIZE_MAX, last = 0, best_leak = SIZE_MAX;
    int r = 0;

    memset(s, 0, sizeof(*s));
    s->longest_outage_s = 0;
    s->exhaustion_ms = -1;
    s->mem_total = s->mem_available0 = s->board_ram = NAN;
    s->latency_p95_s = s->agent_rss = s->load1 = NAN;
    s->leak_rate = s->leak_lo = s->leak_hi = NAN;
    for (size_t i = 0; i < j->n; i++) {
        const struct judge_segment *g = &j->seg[i];
        if (!judge_build_is(g->build, build))
            continue;
        if (first == SIZE_MAX)
            first = i;
        last = i;
        s->present = 1;
        s->boots++;
        s->hours += (double)(g->end_ms - g->start_ms) / 3.6e6;
        from = MIN(from, g->start_ms);
        to = MAX(to, g->end_ms);
        if (g->analyzed && g->leak.leak)
            best_leak = i;
        if (g->analyzed && isfinite(g->leak.mem_available0) && isnan(s->mem_available0))
            s->mem_available0 = g->leak.mem_available0;
    }
    if (!s->present)
        return 0;
    /* The build's span runs until the next boot (outages at its end belong to it). */
    if (last + 1 < j->n)
        to = j->seg[last + 1].start_ms - 1;
    else if (at != INT64_MAX)
        to = MAX(to, at);
    s->mem_total = j->mem_total;
    if (best_leak != SIZE_MAX) {
        const struct leak_result *l = &j->seg[best_leak].leak;
        s->leak = 1;
        s->leak_rate = l->rate;
        s->leak_lo = l->rate_lo;
        s->leak_hi = l->rate_hi;
        s->exhaustion_ms = l->exhaustion_ms;
        (void)snprintf(s->leak_signal, sizeof(s->leak_signal), "%s", l->signal);
        /* The other RAM sizes run the same workload: its dips count there too. */
        if (isfinite(l->mem_available0))
            s->mem_available0 = l->mem_available0 - l->dip;
    }

    r = store_events(st, dev, from, to + 86400000LL, &ev);
    if (r < 0)
        goto out;
    /* One panic per boot: the server and an import may both have recorded the pstore
     * record of the same crash, so count the boots whose panic events fall in the span. */
    {
        size_t last_boot = SIZE_MAX;
        for (size_t i = 0; i < ev.n; i++) {
            size_t k = 0;
            if (ev.e[i].kind != EVENT_PANIC || !in_span(ev.e[i].t_ms, from, to + 86400000LL))
                continue;
            while (k + 1 < j->n && j->seg[k + 1].start_ms <= ev.e[i].t_ms)
                k++;
            if (k != last_boot)
                s->panics++;
            last_boot = k;
        }
    }
    /* Reboots nobody asked for: consecutive boots of the build without a deploy between. */
    for (size_t i = first + 1; i <= last && i < j->n; i++) {
        const struct judge_segment *g = &j->seg[i], *p = &j->seg[i - 1];
        int deployed = 0;
        /* A boot of another build of the family (6.17.6*) is an update, not a reboot. */
        if (!judge_build_is(g->build, build) || !p->build || strcmp(p->build, g->build) != 0)
            continue;
        deployed = deploy_between(&ev, p->end_ms - 600000, g->start_ms);
        if (!deployed)
            s->unexpected_reboots++;
    }
    /* pstore records reported early in the boot after one of the build's boots = a panic. */
    {
        unsigned pst = 0;
        for (size_t i = first; i <= last && i + 1 < j->n; i++) {
            double g = 0;
            if (!judge_build_is(j->seg[i].build, build))
                continue;
            r = counter_growth(st, dev, "soak_pstore_records", j->seg[i + 1].start_ms - 1,
                               j->seg[i + 1].start_ms + 600000, 0, &g);
            if (r < 0)
                goto out;
            {
                double now = NAN;
                r = median_metric(st, dev, "soak_pstore_records", j->seg[i + 1].start_ms,
                                  j->seg[i + 1].start_ms + 600000, 1.0, &now);
                if (r < 0)
                    goto out;
                if (now > 0)
                    pst++;
            }
        }
        if (pst > s->panics)
            s->panics = pst;
    }
    for (size_t i = first; i <= last && i < j->n; i++) {
        double a = 0, b = 0;
        if (!judge_build_is(j->seg[i].build, build))
            continue;
        r = counter_growth(st, dev, "node_vmstat_oom_kill", j->seg[i].start_ms, j->seg[i].end_ms, 1,
                           &a);
        if (r == 0)
            r = counter_growth(st, dev, "soak_kmsg_oom_kills_total", j->seg[i].start_ms,
                               j->seg[i].end_ms, 1, &b);
        if (r < 0)
            goto out;
        s->oom_kills += fmax(a, b);
    }
    /* Sensors lost and back while the build ran: each loss until its sensor_back (or the end). */
    for (size_t i = 0; i < ev.n; i++) {
        const struct store_event *e = &ev.e[i];
        int64_t back = to;
        double d;
        if (e->kind != EVENT_SENSOR_LOST || !e->subject || !in_span(e->t_ms, from, to) ||
            !polls_belong(j, &ev, build, at, e->t_ms))
            continue;
        for (size_t k = i + 1; k < ev.n; k++) {
            if (ev.e[k].kind == EVENT_SENSOR_BACK && ev.e[k].subject &&
                strcmp(ev.e[k].subject, e->subject) == 0 && ev.e[k].t_ms >= e->t_ms) {
                back = MIN(ev.e[k].t_ms, to);
                break;
            }
        }
        d = (double)(back - e->t_ms) / 1e3;
        s->sensor_losses++;
        if (d >= s->sensor_loss_max_s) {
            s->sensor_loss_max_s = d;
            (void)snprintf(s->sensor_loss_name, sizeof(s->sensor_loss_name), "%s", e->subject);
        }
    }
    r = read_metric(st, dev, "soak_poll_up", to, &up);
    if (r < 0)
        goto out;
    {
        int64_t down_since = -1;
        for (size_t i = 0; i < up.n; i++) {
            if (!in_span(up.s[i].t_ms, from, to))
                continue;
            if (!polls_belong(j, &ev, build, at, up.s[i].t_ms)) {
                /* Another build's time (the baseline between an rc and the release of a
                 * 6.17.6* family): an outage of this build ends where that time begins. */
                if (down_since >= 0)
                    s->longest_outage_s = fmax(s->longest_outage_s,
                                               (double)(up.s[i].t_ms - down_since) / 1e3);
                down_since = -1;
                continue;
            }
            s->polls++;
            if (up.s[i].v == 1) {
                s->polls_ok++;
                if (down_since >= 0)
                    s->longest_outage_s =
                        fmax(s->longest_outage_s, (double)(up.s[i].t_ms - down_since) / 1e3);
                down_since = -1;
            } else if (down_since < 0) {
                down_since = up.s[i].t_ms;
            }
        }
        if (down_since >= 0 && up.n)
            s->longest_outage_s = fmax(s->longest_outage_s,
                                       (double)(MIN(to, up.s[up.n - 1].t_ms) - down_since) / 1e3);
    }
    r = median_metric(st, dev, "soak_poll_duration_seconds", from, to, 0.95, &s->latency_p95_s);
    if (r == 0)
        r = median_metric(st, dev, "process_resident_memory_bytes", from, to, 0.5, &s->agent_rss);
    if (r == 0)
        r = median_metric(st, dev, "node_load1", from, to, 0.5, &s->load1);
    if (r == 0)
        r = names_up(st, dev, "soak_sensor_up", "sensor", from, to, s->sensors_up, &s->n_sensors);
    if (r == 0)
        r = names_up(st, dev, "node_network_up", "device", from, to, s->ifaces_up, &s->n_ifaces);
    /* The candidate must read in every one of its boots: a sensor lost after a reboot is lost. */
    for (size_t i = first; r == 0 && strict && i <= last && i < j->n; i++) {
        if (!judge_build_is(j->seg[i].build, build))
            continue;
        r = keep_up_in(st, dev, "soak_sensor_up", "sensor", &j->seg[i], s->sensors_up,
                       &s->n_sensors);
        if (r == 0)
            r = keep_up_in(st, dev, "node_network_up", "device", &j->seg[i], s->ifaces_up,
                           &s->n_ifaces);
    }
out:
    sample_array_free(&up);
    store_event_array_free(&ev);
    return r;
}

void
judge_verdict_free(struct judge_verdict *v)
{
    free(v->device);
    free(v->build);
    free(v->baseline);
    verdict_stats_done(&v->cand);
    verdict_stats_done(&v->base);
    memset(v, 0, sizeof(*v));
}

int
judge_verdict(struct store *st, const char *device, const char *build,
              const struct judge_verdict_opts *o, struct judge_verdict *ret)
{
    struct judge_leak j = {0};
    int64_t at = o && o->at_ms ? o->at_ms : INT64_MAX;
    int r;

    r = judge_leak_load(st, device, at, &j);
    if (r < 0)
        return r;
    r = judge_verdict_from(st, &j, build, o, ret);
    judge_leak_free(&j);
    return r;
}

int
judge_verdict_from(struct store *st, const struct judge_leak *j, const char *build,
                   const struct judge_verdict_opts *o, struct judge_verdict *ret)
{
    struct judge_verdict v = {0};
    const char *device = j->device;
    struct verdict_params p;
    int64_t at = o && o->at_ms ? o->at_ms : INT64_MAX;
    int64_t dev, deployed_ms = -1;
    int r;

    r = store_device(st, device, 0, &dev);
    if (r < 0)
        return r;
    {
        /* A name no boot ran exactly is the prefix of a family of builds (6.17.6*). */
        struct store_event_array ev = {0};
        r = store_events(st, dev, 0, at, &ev);
        if (r < 0)
            return r;
        v.build = judge_build_query(st, j, &ev, build);
        if (o && o->baseline)
            v.baseline = judge_build_query(st, j, &ev, o->baseline);
        for (size_t i = 0; v.build && i < ev.n; i++)
            if (ev.e[i].kind == EVENT_DEPLOY && ev.e[i].subject &&
                judge_build_is(ev.e[i].subject, v.build)) {
                deployed_ms = ev.e[i].t_ms;
                break;
            }
        store_event_array_free(&ev);
    }
    v.device = strdup(device);
    if (!v.device || !v.build || (o && o->baseline && !v.baseline)) {
        r = -ENOMEM;
        goto out;
    }
    build = v.build;
    if (!v.baseline) {
        for (size_t i = 0; i < j->n; i++) {
            if (judge_build_is(j->seg[i].build, build)) {
                for (size_t k = i; k > 0; k--)
                    if (j->seg[k - 1].build && !judge_build_is(j->seg[k - 1].build, build)) {
                        v.baseline = strdup(j->seg[k - 1].build);
                        break;
                    }
                break;
            }
        }
    }
    if (!v.baseline && deployed_ms >= 0) {
        /* Deployed but never booted where soak saw it (the board never came back): the
         * baseline is what the board ran when the deploy started. */
        for (size_t i = j->n; i > 0; i--)
            if (j->seg[i - 1].start_ms <= deployed_ms && j->seg[i - 1].build &&
                !judge_build_is(j->seg[i - 1].build, build)) {
                v.baseline = strdup(j->seg[i - 1].build);
                break;
            }
    }
    r = build_stats(st, dev, j, build, at, 1, &v.cand);
    if (r == 0)
        r = deploy_stats(st, dev, build, at, &v.cand);
    if (r == 0 && v.baseline)
        r = build_stats(st, dev, j, v.baseline, at, 0, &v.base);
    if (r < 0)
        goto out;
    verdict_params_default(&p);
    p.build = build;
    p.baseline = v.baseline;
    p.model = o ? o->model : NULL;
    p.ram_sizes = o ? o->ram_sizes : NULL;
    p.n_ram_sizes = o ? o->n_ram_sizes : 0;
    if (p.n_ram_sizes > 0 && isfinite(v.cand.mem_total)) {
        /* The measured board has the smallest configured size that holds its MemTotal. */
        for (size_t i = 0; i < p.n_ram_sizes; i++)
            if ((double)p.ram_sizes[i] >= v.cand.mem_total &&
                (isnan(v.cand.board_ram) || (double)p.ram_sizes[i] < v.cand.board_ram))
                v.cand.board_ram = (double)p.ram_sizes[i];
    }
    verdict_judge(&v.cand, v.baseline ? &v.base : NULL, &p, &v.res);
    r = v.cand.present || v.cand.deploys ? 0 : -ENOENT;
    *ret = v;
    return r;
out:
    judge_verdict_free(&v);
    return r;
}

json_t *
judge_verdict_json(const struct judge_verdict *v)
{
    json_t *o = json_object(), *reasons = json_array();

    if (!o || !reasons) {
        json_decref(o);
        json_decref(reasons);
        return NULL;
    }
    (void)json_object_set_new(o, "device", json_string(v->device));
    (void)json_object_set_new(o, "build", json_string(v->build));
    (void)json_object_set_new(o, "baseline", v->baseline ? json_string(v->baseline) : json_null());
    (void)json_object_set_new(o, "result", json_string(verdict_outcome_name(v->res.outcome)));
    (void)json_object_set_new(o, "exit", json_integer((json_int_t)v->res.outcome));
    for (size_t i = 0; i < v->res.n; i++) {
        json_t *x = json_object();
        if (!x)
            continue;
        (void)json_object_set_new(x, "rule", json_string(v->res.rules[i].name));
        (void)json_object_set_new(x, "status",
                                  json_string(verdict_status_name(v->res.rules[i].status)));
        (void)json_object_set_new(x, "text", json_string(v->res.rules[i].text));
        (void)json_array_append_new(reasons, x);
    }
    (void)json_object_set_new(o, "reasons", reasons);
    if (v->cand.leak) {
        (void)json_object_set_new(o, "leak_rate_bytes_per_day", json_real(v->cand.leak_rate));
        (void)json_object_set_new(
            o, "exhaustion_time",
            v->cand.exhaustion_ms > 0 ? json_integer(v->cand.exhaustion_ms / 1000) : json_null());
    }
    return o;
}

void
judge_verdict_print(FILE *f, const struct judge_verdict *v)
{
    (void)fprintf(f, "%s: build %s against %s: %s\n", v->device, v->build,
                  v->baseline ? v->baseline : "(no baseline)",
                  v->res.outcome == VERDICT_OUTCOME_PASS   ? "PASS"
                  : v->res.outcome == VERDICT_OUTCOME_FAIL ? "FAIL"
                                                           : "NOT ENOUGH DATA");
    for (size_t i = 0; i < v->res.n; i++)
        (void)fprintf(f, "  %-4s %-13s %s\n",
                      v->res.rules[i].status == VERDICT_PASS   ? "ok"
                      : v->res.rules[i].status == VERDICT_FAIL ? "FAIL"
                                                               : "-",
                      v->res.rules[i].name, v->res.rules[i].text);
}

int
judge_devices_with_build(struct store *st, const char *build, char ***ret)
{
    struct store_device *devs = NULL;
    size_t n = 0, m = 0;
    char **out, *fam;
    size_t len = strlen(build);
    int r;

    /* A device ran B when a build is named B, or starts with it as judge_build_is() says. */
    fam = malloc(len + 2);
    if (!fam)
        return -ENOMEM;
    memcpy(fam, build, len + 1);
    if (len == 0 || build[len - 1] != '*')
        memcpy(fam + len, "*", 2);
    r = build_named_anywhere(st, build);
    if (r > 0)
        fam[len] = 0; /* some device ran exactly B: no family */
    if (r >= 0)
        r = store_devices(st, &devs, &n);
    if (r < 0) {
        free(fam);
        return r;
    }
    out = calloc(n + 1, sizeof(char *));
    if (!out) {
        store_devices_free(devs, n);
        free(fam);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n && r >= 0; i++) {
        char **keys = NULL;
        int found = 0;
        r = store_series(st, devs[i].id, "soak_build_info", &keys);
        for (size_t k = 0; r >= 0 && keys && keys[k]; k++) {
            char *b = label_of(keys[k], "build");
            if (b && (strcmp(b, build) == 0 || judge_build_is(b, fam)))
                found = 1;
            free(b);
        }
        store_strv_free(keys);
        if (!found && r >= 0) {
            struct store_event_array ev = {0};
            if (store_events(st, devs[i].id, 0, INT64_MAX, &ev) >= 0)
                for (size_t k = 0; k < ev.n && !found; k++)
                    found = ev.e[k].kind == EVENT_DEPLOY && ev.e[k].subject &&
                            (strcmp(ev.e[k].subject, build) == 0 ||
                             judge_build_is(ev.e[k].subject, fam));
            store_event_array_free(&ev);
        }
        if (found) {
            out[m] = strdup(devs[i].name);
            if (!out[m])
                r = -ENOMEM;
            else
                m++;
        }
    }
    store_devices_free(devs, n);
    free(fam);
    if (r < 0) {
        store_strv_free(out);
        return r;
    }
    *ret = out;
    return 0;
}

int
judge_alert_eval(struct store *st, const char *device, int64_t now_ms, double exhaustion_days,
                 struct judge_alert_state *ret)
{
    struct judge_alert_state a;
    struct judge_leak j;
    int r = judge_leak_load(st, device, now_ms, &j);

    if (r < 0)
        return r;
    memset(&a, 0, sizeof(a));
    a.rate = NAN;
    a.exhaustion_ms = -1;
    if (j.n > 0 && j.seg[j.n - 1].analyzed) {
        const struct judge_segment *g = &j.seg[j.n - 1];
        const struct leak_result *l = &g->leak;
        a.judged = l->judged;
        if (l->leak) {
            a.leak = 1;
            a.rate = l->rate;
            a.exhaustion_ms = l->exhaustion_ms;
            (void)snprintf(a.leak_summary, sizeof(a.leak_summary),
                           "leak in %s: %.1f MB/day (90%% CI %.1f..%.1f), build %s", l->signal,
                           l->rate / MIB, l->rate_lo / MIB, l->rate_hi / MIB,
                           g->build ? g->build : "unknown");
            if (l->exhaustion_ms > 0 &&
                (double)(l->exhaustion_ms - now_ms) <= exhaustion_days * 86400e3) {
                a.exhaustion = 1;
                (void)snprintf(a.exh_summary, sizeof(a.exh_summary),
                               "memory exhausted in %.1f days at %.1f MB/day (%.0f MB available)",
                               (double)(l->exhaustion_ms - now_ms) / 86400e3, l->rate / MIB,
                               l->mem_available / MIB);
            }
        }
    }
    judge_leak_free(&j);
    *ret = a;
    return 0;
}

int
judge_parse_ram_list(const char *s, uint64_t *out, size_t max)
{
    size_t n = 0;

    while (*s) {
        char item[32];
        size_t len = strcspn(s, ",");
        uint64_t v;
        if (len == 0 || len >= sizeof(item) || n >= max)
            return -EINVAL;
        memcpy(item, s, len);
        item[len] = '\0';
        if (conf_size(item, &v) < 0 || v == 0)
            return -EINVAL;
        out[n++] = v;
        s += len;
        if (*s == ',')
            s++;
    }
    return n == 0 ? -EINVAL : (int)n;
}

/* ---- slab view ---- */

void
judge_slab_free(struct judge_slab_view *v)
{
    free(v->c);
    memset(v, 0, sizeof(*v));
}

static int
cmp_slab(const void *a, const void *b)
{
    const struct judge_slab *x = a, *y = b;

    return (x->bytes < y->bytes) - (x->bytes > y->bytes);
}

int
judge_slab_load(struct store *st, const char *device, int64_t at_ms, struct judge_slab_view *ret)
{
    struct judge_slab_view v = {0};
    struct judge_segment *seg = NULL;
    char **keys = NULL, **sizes = NULL;
    struct sample_array a = {0};
    size_t nseg = 0;
    int64_t dev, from = INT64_MIN, to = at_ms;
    int r;

    r = store_device(st, device, 0, &dev);
    if (r < 0)
        return r;
    v.open_fds = v.filefd = NAN;
    r = load_segments(st, dev, at_ms, &seg, &nseg);
    if (r < 0)
        return r;
    if (nseg > 0) {
        from = seg[nseg - 1].start_ms;
        to = seg[nseg - 1].end_ms;
        v.hours = (double)(to - from) / 3.6e6;
    }
    for (size_t i = 0; i < nseg; i++)
        seg_free(&seg[i]);
    free(seg);
    r = store_series(st, dev, "node_slabinfo_active_objects", &keys);
    if (r >= 0)
        r = store_series(st, dev, "node_slabinfo_object_size_bytes", &sizes);
    if (r < 0)
        goto out;
    r = 0;
    for (size_t k = 0; keys && keys[k]; k++) {
        struct judge_slab *nc;
        char *slab = label_of(keys[k], "slab");
        double size = NAN;
        if (!slab)
            continue;
        for (size_t s = 0; sizes && sizes[s] && isnan(size); s++) {
            char *sl = label_of(sizes[s], "slab");
            if (sl && strcmp(sl, slab) == 0) {
                r = read_key(st, dev, sizes[s], to - SCREEN_MS, to, &a);
                if (r == 0 && a.n == 0)
                    r = read_key(st, dev, sizes[s], from, to, &a);
                size = last_value(&a);
                sample_array_free(&a);
            }
            free(sl);
            if (r < 0)
                break;
        }
        if (r == 0)
            r = read_key(st, dev, keys[k], from, to, &a);
        if (r < 0 || a.n == 0) {
            free(slab);
            sample_array_free(&a);
            if (r < 0)
                goto out;
            continue;
        }
        nc = realloc(v.c, sizeof(*nc) * (v.n + 1));
        if (!nc) {
            free(slab);
            r = -ENOMEM;
            goto out;
        }
        v.c = nc;
        memset(&nc[v.n], 0, sizeof(nc[0]));
        (void)snprintf(nc[v.n].name, sizeof(nc[v.n].name), "%s", slab);
        nc[v.n].objects = last_value(&a);
        nc[v.n].obj_size = size;
        nc[v.n].bytes = isfinite(size) ? nc[v.n].objects * size : NAN;
        nc[v.n].obj_rate = rate_per_day(&a, from, to);
        nc[v.n].rate = isfinite(size) ? nc[v.n].obj_rate * size : NAN;
        v.n++;
        free(slab);
        sample_array_free(&a);
    }
    if (v.n > 1) /* v.c is NULL when the device has no slab caches */
        qsort(v.c, v.n, sizeof(v.c[0]), cmp_slab);
    r = read_metric(st, dev, "soak_open_fds", to, &a);
    if (r < 0)
        goto out;
    v.open_fds = last_value(&a);
    sample_array_free(&a);
    r = read_metric(st, dev, "node_filefd_allocated", to, &a);
    if (r < 0)
        goto out;
    v.filefd = last_value(&a);
    sample_array_free(&a);
    v.filp_on_top = v.n > 0 && strcmp(v.c[0].name, "filp") == 0;
    for (size_t i = 0; i < v.n; i++)
        if (strcmp(v.c[i].name, "filp") == 0 && isfinite(v.open_fds) &&
            v.c[i].objects >= 10 * v.open_fds && v.c[i].objects >= v.open_fds + 10000)
            v.filp_gap = 1;
    *ret = v;
    memset(&v, 0, sizeof(v));
    r = 0;
out:
    sample_array_free(&a);
    store_strv_free(keys);
    store_strv_free(sizes);
    judge_slab_free(&v);
    return r;
}
