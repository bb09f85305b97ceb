/* SPDX-License-Identifier: MIT */
/*
 * store.c - the logic shared by both back ends: the in-memory series cache,
 * buffering of appended samples, deduplication across head and chunks,
 * chunk encoding and compaction, reads that merge chunks + head + pending,
 * retention and downsampling.
 */
#include "store.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "expo.h"
#include "store-backend.h"
#include "store-chunk.h"

/* One series as the store knows it in memory. */
struct mseries {
    int64_t id;
    int64_t dev;
    char *key;
    uint64_t hash;
    int64_t max_db;           /* largest time stored in the database, INT64_MIN if none */
    int64_t max_all;          /* largest time in database or pending */
    size_t head_n;            /* rows in the head table */
    struct sample_array pend; /* appended, not yet written; sorted, distinct times */
    int dirty;
    int stale; /* another writer touched the device: re-read max_db, head_n */
    /* Chunk ranges, loaded on the first append that needs a duplicate check. */
    int ranges_loaded;
    struct crange *ranges;
    size_t nranges, cap_ranges, last_hit;
    /* The last chunk decoded for duplicate checks. */
    int64_t dec_id;
    struct sample_array dec;
};

struct crange {
    int64_t id, t0, t1;
};

struct dirty_dev {
    int64_t dev, t0, t1;
};

/* A device's write generation as this handle last saw it (back ends with device_gen). */
struct dev_gen {
    int64_t dev, gen;
    unsigned long txn; /* transaction in which it was last checked */
};

struct store {
    const struct store_ops *ops;
    void *be;
    int in_txn;
    int wrote;            /* committed samples: compact the head rows on close */
    struct mseries **tab; /* open addressing by (dev, key) */
    uint64_t *tab_hash;   /* tab[i]'s hash, so probes do not touch the series (cache misses) */
    size_t tab_cap, tab_n;
    struct mseries **dirty;
    size_t ndirty, cap_dirty;
    struct dirty_dev *ddev;
    size_t nddev, cap_ddev;
    struct dev_gen *gens;
    size_t ngens, cap_gens;
    unsigned long txn_no;
    struct chunk_codec codec;
    struct buf scratch;
    char err[256];
};

void *
store_be(const struct store *st)
{
    return st->be;
}

void
store_set_be(struct store *st, void *be)
{
    st->be = be;
}

static const char *const event_names[_EVENT_KIND_MAX] = {
    [EVENT_REBOOT] = "reboot",
    [EVENT_BUILD_CHANGE] = "build_change",
    [EVENT_UNREACHABLE] = "unreachable",
    [EVENT_REACHABLE] = "reachable",
    [EVENT_OOM_KILL] = "oom_kill",
    [EVENT_PANIC] = "panic",
    [EVENT_SENSOR_LOST] = "sensor_lost",
    [EVENT_SENSOR_BACK] = "sensor_back",
    [EVENT_IFACE_CHANGE] = "iface_change",
    [EVENT_DEPLOY] = "deploy",
    [EVENT_ALERT] = "alert",
};

const char *
store_event_kind_name(enum store_event_kind k)
{
    if ((unsigned)k >= _EVENT_KIND_MAX)
        return "unknown";
    return event_names[k];
}

int
store_event_kind_from_name(const char *name)
{
    for (int i = 0; i < _EVENT_KIND_MAX; i++)
        if (strcmp(event_names[i], name) == 0)
            return i;
    return -EINVAL;
}

int
store_event_array_push(struct store_event_array *a, const struct store_event *ev)
{
    struct store_event *e;

    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        e = realloc(a->e, cap * sizeof(*e));
        if (!e)
            return -ENOMEM;
        a->e = e;
        a->cap = cap;
    }
    e = &a->e[a->n];
    *e = *ev;
    e->subject = ev->subject ? strdup(ev->subject) : NULL;
    e->detail = ev->detail ? strdup(ev->detail) : NULL;
    if ((ev->subject && !e->subject) || (ev->detail && !e->detail)) {
        free(e->subject);
        free(e->detail);
        return -ENOMEM;
    }
    a->n++;
    return 0;
}

void
store_event_array_free(struct store_event_array *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->e[i].subject);
        free(a->e[i].detail);
    }
    free(a->e);
    a->e = NULL;
    a->n = 0;
    a->cap = 0;
}

int
store_strv_push(char ***v, size_t *n, const char *s)
{
    char **nv = realloc(*v, (*n + 2) * sizeof(char *));

    if (!nv)
        return -ENOMEM;
    *v = nv;
    nv[*n] = strdup(s);
    if (!nv[*n])
        return -ENOMEM;
    (*n)++;
    nv[*n] = NULL;
    return 0;
}

void
store_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

void
store_devices_free(struct store_device *d, size_t n)
{
    if (!d)
        return;
    for (size_t i = 0; i < n; i++)
        free(d[i].name);
    free(d);
}

/* ---- the series cache ---- */

static uint64_t
series_hash(int64_t dev, const char *key)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)dev;

    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static void
mseries_free(struct mseries *s)
{
    if (!s)
        return;
    free(s->key);
    sample_array_free(&s->pend);
    sample_array_free(&s->dec);
    free(s->ranges);
    free(s);
}

/* Forget everything cached (after a rollback, or when another process wrote). */
static void
cache_drop(struct store *st)
{
    for (size_t i = 0; i < st->tab_cap; i++)
        mseries_free(st->tab[i]);
    free(st->tab);
    free(st->tab_hash);
    st->tab = NULL;
    st->tab_hash = NULL;
    st->tab_cap = 0;
    st->tab_n = 0;
    st->ndirty = 0;
    st->nddev = 0;
}

static struct mseries *
cache_find(struct store *st, int64_t dev, const char *key, uint64_t h)
{
    if (!st->tab_cap)
        return NULL;
    for (size_t i = h & (st->tab_cap - 1);; i = (i + 1) & (st->tab_cap - 1)) {
        struct mseries *s = st->tab[i];
        if (!s)
            return NULL;
        if (st->tab_hash[i] == h && s->dev == dev && strcmp(s->key, key) == 0)
            return s;
    }
}

static int
cache_insert(struct store *st, struct mseries *s)
{
    if ((st->tab_n + 1) * 10 > st->tab_cap * 7) {
        size_t cap = st->tab_cap ? st->tab_cap * 2 : 1024;
        struct mseries **t = calloc(cap, sizeof(*t));
        uint64_t *th = calloc(cap, sizeof(*th));
        if (!t || !th) {
            free(t);
            free(th);
            return -ENOMEM;
        }
        for (size_t i = 0; i < st->tab_cap; i++) {
            struct mseries *o = st->tab[i];
            size_t j;
            if (!o)
                continue;
            for (j = o->hash & (cap - 1); t[j]; j = (j + 1) & (cap - 1))
                ;
            t[j] = o;
            th[j] = o->hash;
        }
        free(st->tab);
        free(st->tab_hash);
        st->tab = t;
        st->tab_hash = th;
        st->tab_cap = cap;
    }
    size_t j;
    for (j = s->hash & (st->tab_cap - 1); st->tab[j]; j = (j + 1) & (st->tab_cap - 1))
        ;
    st->tab[j] = s;
    st->tab_hash[j] = s->hash;
    st->tab_n++;
    return 0;
}

static int
set_err(struct store *st, int r, const char *what)
{
    const char *m = st->ops->errmsg(st);

    (void)snprintf(st->err, sizeof(st->err), "%s: %s", what, m && *m ? m : strerror(-r));
    return r;
}

/* The series (dev, key), from the cache or the database (created when create). */
static int
series_load(struct store *st, int64_t dev, const char *key, int create, struct mseries **ret)
{
    uint64_t h = series_hash(dev, key);
    struct mseries *s = cache_find(st, dev, key, h);
    char metric[EXPO_KEY_MAX];
    size_t mlen;
    int r;

    if (s) {
        if (s->stale) {
            r = st->ops->series_info(st, s->id, &s->max_db, &s->head_n);
            if (r < 0)
                return r;
            s->max_all = s->pend.n ? MAX(s->max_db, s->pend.s[s->pend.n - 1].t_ms) : s->max_db;
            s->ranges_loaded = 0;
            s->dec_id = -1;
            s->stale = 0;
        }
        *ret = s;
        return 0;
    }
    mlen = strcspn(key, "{");
    if (mlen == 0 || mlen >= sizeof(metric))
        return -EINVAL;
    memcpy(metric, key, mlen);
    metric[mlen] = '\0';
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->key = strdup(key);
    if (!s->key) {
        mseries_free(s);
        return -ENOMEM;
    }
    s->dev = dev;
    s->hash = h;
    s->dec_id = -1;
    r = st->ops->series_get(st, dev, key, metric, create, &s->id);
    if (r == 0)
        r = st->ops->series_info(st, s->id, &s->max_db, &s->head_n);
    if (r == 0)
        r = cache_insert(st, s);
    if (r < 0) {
        mseries_free(s);
        return r;
    }
    s->max_all = s->max_db;
    *ret = s;
    return 0;
}

static int
mark_dirty(struct store *st, struct mseries *s, int64_t t)
{
    struct dirty_dev *d = NULL;

    if (!s->dirty) {
        if (st->ndirty == st->cap_dirty) {
            size_t cap = st->cap_dirty ? st->cap_dirty * 2 : 256;
            struct mseries **v = realloc(st->dirty, cap * sizeof(*v));
            if (!v)
                return -ENOMEM;
            st->dirty = v;
            st->cap_dirty = cap;
        }
        st->dirty[st->ndirty++] = s;
        s->dirty = 1;
    }
    for (size_t i = 0; i < st->nddev; i++)
        if (st->ddev[i].dev == s->dev)
            d = &st->ddev[i];
    if (!d) {
        if (st->nddev == st->cap_ddev) {
            size_t cap = st->cap_ddev ? st->cap_ddev * 2 : 8;
            struct dirty_dev *v = realloc(st->ddev, cap * sizeof(*v));
            if (!v)
                return -ENOMEM;
            st->ddev = v;
            st->cap_ddev = cap;
        }
        d = &st->ddev[st->nddev++];
        d->dev = s->dev;
        d->t0 = t;
        d->t1 = t;
    }
    d->t0 = MIN(d->t0, t);
    d->t1 = MAX(d->t1, t);
    return 0;
}

/* ---- writing chunks ---- */

struct emit_ctx {
    struct store *st;
    struct mseries *s;
    int64_t step;
};

static int
range_add(struct mseries *s, int64_t id, int64_t t0, int64_t t1)
{
    if (s->nranges == s->cap_ranges) {
        size_t cap = s->cap_ranges ? s->cap_ranges * 2 : 16;
        struct crange *v = realloc(s->ranges, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        s->ranges = v;
        s->cap_ranges = cap;
    }
    s->ranges[s->nranges].id = id;
    s->ranges[s->nranges].t0 = t0;
    s->ranges[s->nranges].t1 = t1;
    s->nranges++;
    return 0;
}

static int
emit_chunk(void *ctx, const struct sample *smp, size_t n, const void *blob, size_t len)
{
    struct emit_ctx *e = ctx;
    int64_t id;
    int r;

    r = e->st->ops->chunk_put(e->st, e->s->id, smp[0].t_ms, smp[n - 1].t_ms, n, e->step, blob, len,
                              &id);
    if (r < 0)
        return set_err(e->st, r, "writing a chunk");
    if (e->s->ranges_loaded)
        return range_add(e->s, id, smp[0].t_ms, smp[n - 1].t_ms);
    return 0;
}

static int
cmp_sample(const void *a, const void *b)
{
    const struct sample *x = a, *y = b;
    return (x->t_ms > y->t_ms) - (x->t_ms < y->t_ms);
}

/* Sort by time (when needed) and drop repeated times, keeping the first. */
static void
sort_dedup(struct sample_array *a, size_t from)
{
    size_t w;
    int sorted = 1;

    for (size_t i = from + 1; i < a->n && sorted; i++)
        sorted = a->s[i - 1].t_ms < a->s[i].t_ms;
    if (sorted)
        return;
    qsort(a->s + from, a->n - from, sizeof(struct sample), cmp_sample);
    w = from + 1;
    for (size_t i = from + 1; i < a->n; i++)
        if (a->s[i].t_ms != a->s[w - 1].t_ms)
            a->s[w++] = a->s[i];
    if (a->n > from)
        a->n = w;
}

/*
 * Write the pending samples of s. Full chunks of CHUNK_SAMPLES (head rows merged in)
 * go to the chunk table. The rest: with final=0 stays pending; with final=1 goes to
 * the head table, or (compact) into a last, shorter chunk.
 */
static int
flush_series(struct store *st, struct mseries *s, int final, int compact)
{
    struct emit_ctx e = {st, s, 0};
    struct sample_array *p = &s->pend;
    size_t full;
    int r;

    if (p->n == 0 && !(compact && s->head_n > 0))
        return 0;
    if (s->head_n + p->n >= CHUNK_SAMPLES || compact) {
        if (s->head_n > 0) {
            r = st->ops->head_get(st, s->id, INT64_MIN, INT64_MAX, 1, p);
            if (r < 0)
                return set_err(st, r, "reading head rows");
            s->head_n = 0;
            sort_dedup(p, 0);
        }
        full = compact ? p->n : p->n - p->n % CHUNK_SAMPLES;
        if (full > 0) {
            r = chunk_encode_split(&st->codec, p->s, full, CHUNK_SAMPLES, emit_chunk, &e);
            if (r < 0)
                return r;
            s->max_db = MAX(s->max_db, p->s[full - 1].t_ms);
            memmove(p->s, p->s + full, (p->n - full) * sizeof(struct sample));
            p->n -= full;
        }
    }
    if (final && p->n > 0) {
        r = st->ops->head_put(st, s->id, p->s, p->n);
        if (r < 0)
            return set_err(st, r, "writing head rows");
        s->head_n += p->n;
        s->max_db = MAX(s->max_db, p->s[p->n - 1].t_ms);
        p->n = 0;
    }
    return 0;
}

/* ---- duplicate checks ---- */

static int
range_cb(void *ctx, int64_t id, int64_t t0, int64_t t1, int64_t step, const void *blob, size_t len)
{
    (void)step;
    (void)blob;
    (void)len;
    return range_add(ctx, id, t0, t1);
}

struct dec_ctx {
    struct store *st;
    struct sample_array *out;
};

static int
decode_cb(void *ctx, int64_t id, int64_t t0, int64_t t1, int64_t step, const void *blob, size_t len)
{
    struct dec_ctx *d = ctx;
    int r;

    (void)id;
    (void)t0;
    (void)t1;
    (void)step;
    r = chunk_decode(&d->st->codec, blob, len, d->out);
    if (r < 0)
        (void)snprintf(d->st->err, sizeof(d->st->err), "chunk %lld is corrupt", (long long)id);
    return r < 0 ? r : 0;
}

static int
has_time(const struct sample_array *a, int64_t t, size_t *ret_pos)
{
    size_t lo = 0, hi = a->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->s[mid].t_ms < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (ret_pos)
        *ret_pos = lo;
    return lo < a->n && a->s[lo].t_ms == t;
}

static int
chunk_has(struct store *st, struct mseries *s, size_t i, int64_t t)
{
    int r;

    if (s->dec_id != s->ranges[i].id) {
        struct dec_ctx d = {st, &s->dec};
        s->dec.n = 0;
        s->dec_id = -1;
        r = st->ops->chunk_get(st, s->ranges[i].id, decode_cb, &d);
        if (r < 0)
            return r;
        sort_dedup(&s->dec, 0);
        s->dec_id = s->ranges[i].id;
    }
    return has_time(&s->dec, t, NULL);
}

/* 1 when the database already holds (s, t). */
static int
db_has(struct store *st, struct mseries *s, int64_t t)
{
    int r;

    if (s->head_n > 0) {
        r = st->ops->head_has(st, s->id, t);
        if (r != 0)
            return r;
    }
    if (!s->ranges_loaded) {
        s->nranges = 0;
        r = st->ops->chunk_scan(st, s->id, INT64_MIN, INT64_MAX, 0, range_cb, s);
        if (r < 0)
            return r;
        s->ranges_loaded = 1;
    }
    if (s->last_hit < s->nranges && s->ranges[s->last_hit].t0 <= t &&
        t <= s->ranges[s->last_hit].t1) {
        r = chunk_has(st, s, s->last_hit, t);
        if (r != 0)
            return r;
    }
    for (size_t i = 0; i < s->nranges; i++) {
        if (i == s->last_hit || t < s->ranges[i].t0 || t > s->ranges[i].t1)
            continue;
        r = chunk_has(st, s, i, t);
        if (r != 0) {
            s->last_hit = i;
            return r;
        }
    }
    return 0;
}

/* ---- other writers ---- */

static struct dev_gen *
gen_find(struct store *st, int64_t dev, int add)
{
    for (size_t i = 0; i < st->ngens; i++)
        if (st->gens[i].dev == dev)
            return &st->gens[i];
    if (!add)
        return NULL;
    if (st->ngens == st->cap_gens) {
        size_t cap = st->cap_gens ? st->cap_gens * 2 : 16;
        struct dev_gen *v = realloc(st->gens, cap * sizeof(*v));
        if (!v)
            return NULL;
        st->gens = v;
        st->cap_gens = cap;
    }
    st->gens[st->ngens] = (struct dev_gen){dev, -1, 0};
    return &st->gens[st->ngens++];
}

/*
 * Once per transaction and device (back ends with device_gen): if another writer
 * committed to the device since this handle last did, mark its cached series stale.
 * None of them is dirty yet (this runs before the first append to the device).
 */
static int
dev_check(struct store *st, int64_t dev)
{
    struct dev_gen *g;
    int64_t gen;
    int r;

    if (!st->ops->device_gen)
        return 0;
    g = gen_find(st, dev, 1);
    if (!g)
        return -ENOMEM;
    if (g->txn == st->txn_no)
        return 0;
    r = st->ops->device_gen(st, dev, &gen);
    if (r < 0)
        return set_err(st, r, "device generation");
    if (g->gen != gen) {
        for (size_t i = 0; i < st->tab_cap; i++)
            if (st->tab[i] && st->tab[i]->dev == dev && !st->tab[i]->dirty)
                st->tab[i]->stale = 1;
    }
    g->gen = gen;
    g->txn = st->txn_no;
    return 0;
}

/* ---- public API ---- */

int
store_open(const char *spec, struct store **ret, char *err, size_t errlen)
{
    struct store *st;
    const struct store_ops *ops = &store_sqlite_ops;
    const char *arg = spec;
    int r;

    if (!spec || !*spec) {
        if (err && errlen)
            (void)snprintf(err, errlen, "no store given");
        return -EINVAL;
    }
    if (strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0)
        ops = &store_pg_ops;
    else if (strncmp(spec, "sqlite:", 7) == 0)
        arg = spec + 7;
    st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->ops = ops;
    buf_init(&st->scratch, EXPO_KEY_MAX);
    r = chunk_codec_init(&st->codec);
    if (r < 0) {
        free(st);
        return r;
    }
    r = ops->open(st, arg, err, errlen);
    if (r < 0) {
        chunk_codec_done(&st->codec);
        free(st);
        return r;
    }
    *ret = st;
    return 0;
}

int
store_open_existing(const char *spec, struct store **ret, char *err, size_t errlen)
{
    const char *arg = spec;
    char path[4096];

    if (spec && strncmp(spec, "sqlite:", 7) == 0)
        arg = spec + 7;
    else if (spec && (strncmp(spec, "postgresql://", 13) == 0 ||
                      strncmp(spec, "postgres://", 11) == 0))
        arg = NULL;
    if (arg && *arg && strcmp(arg, ":memory:") != 0 && strncmp(arg, "file:", 5) != 0) {
        /* PATH[?options]: the options are store-sqlite.c's. */
        size_t len = strcspn(arg, "?");
        if (len < sizeof(path)) {
            memcpy(path, arg, len);
            path[len] = '\0';
            if (access(path, F_OK) < 0) {
                int e = errno;
                if (err && errlen)
                    (void)snprintf(err, errlen, "%s: %s", path,
                                   e == ENOENT
                                       ? "no such store (soak import or soak server creates one)"
                                       : strerror(e));
                return -e;
            }
        }
    }
    return store_open(spec, ret, err, errlen);
}

const char *
store_errmsg(const struct store *st)
{
    return st->err;
}

const char *
store_backend(const struct store *st)
{
    return st->ops->name;
}

static int
begin_txn(struct store *st)
{
    int r;

    if (st->in_txn)
        return -EBUSY;
    r = st->ops->begin(st);
    if (r < 0)
        return set_err(st, r, "begin");
    st->in_txn = 1;
    st->txn_no++;
    r = st->ops->changed(st);
    if (r < 0) {
        st->ops->rollback(st);
        st->in_txn = 0;
        return set_err(st, r, "begin");
    }
    if (r > 0)
        cache_drop(st);
    return 0;
}

int
store_begin(struct store *st)
{
    return begin_txn(st);
}

void
store_rollback(struct store *st)
{
    if (!st->in_txn)
        return;
    st->ops->rollback(st);
    st->in_txn = 0;
    /* The database forgot what this transaction did; so does the cache. */
    cache_drop(st);
}

int
store_commit(struct store *st)
{
    int r = 0;

    if (!st->in_txn)
        return -EINVAL;
    for (size_t i = 0; r == 0 && i < st->ndirty; i++) {
        struct mseries *s = st->dirty[i];
        r = flush_series(st, s, 1, 0);
        s->dirty = 0;
        /* Between commits a series costs only its small struct and key. */
        sample_array_free(&s->pend);
        sample_array_free(&s->dec);
        s->dec_id = -1;
    }
    for (size_t i = 0; r == 0 && i < st->nddev; i++) {
        int64_t gen = 0;
        r = st->ops->device_touch(st, st->ddev[i].dev, st->ddev[i].t0, st->ddev[i].t1, &gen);
        if (r < 0) {
            (void)set_err(st, r, "updating the device");
        } else if (st->ops->device_gen) {
            struct dev_gen *g = gen_find(st, st->ddev[i].dev, 1);
            if (g)
                g->gen = gen;
        }
    }
    if (r == 0) {
        r = st->ops->commit(st);
        if (r < 0)
            (void)set_err(st, r, "commit");
    }
    if (r < 0) {
        char keep[sizeof(st->err)];
        memcpy(keep, st->err, sizeof(keep));
        store_rollback(st);
        memcpy(st->err, keep, sizeof(keep));
        return r;
    }
    if (st->ndirty > 0)
        st->wrote = 1;
    st->in_txn = 0;
    st->ndirty = 0;
    st->nddev = 0;
    return 0;
}

int
store_device(struct store *st, const char *name, int create, int64_t *ret_id)
{
    int r;

    if (!name || !*name)
        return -EINVAL;
    r = st->ops->device_get(st, name, create, ret_id);
    if (r < 0 && r != -ENOENT)
        return set_err(st, r, "device");
    return r;
}

int
store_devices(struct store *st, struct store_device **ret, size_t *ret_n)
{
    int r = st->ops->devices(st, ret, ret_n);

    if (r < 0)
        return set_err(st, r, "devices");
    return r;
}

static int
append_in_txn(struct store *st, int64_t dev, const char *key, int64_t t, double v)
{
    struct mseries *s;
    size_t pos;
    int r;

    r = dev_check(st, dev);
    if (r < 0)
        return r;
    r = series_load(st, dev, key, 1, &s);
    if (r < 0)
        return r == -EINVAL ? r : set_err(st, r, "series");
    if (t > s->max_all) {
        r = sample_array_push(&s->pend, t, v);
        if (r < 0)
            return r;
        s->max_all = t;
    } else {
        if (has_time(&s->pend, t, &pos))
            return 0;
        if (t <= s->max_db) {
            r = db_has(st, s, t);
            if (r != 0)
                return r < 0 ? set_err(st, r, "duplicate check") : 0;
        }
        r = sample_array_push(&s->pend, t, v);
        if (r < 0)
            return r;
        memmove(s->pend.s + pos + 1, s->pend.s + pos,
                (s->pend.n - 1 - pos) * sizeof(struct sample));
        s->pend.s[pos].t_ms = t;
        s->pend.s[pos].v = v;
    }
    r = mark_dirty(st, s, t);
    if (r < 0)
        return r;
    if (s->pend.n >= 2 * CHUNK_SAMPLES) {
        r = flush_series(st, s, 0, 0);
        if (r < 0)
            return r;
    }
    return 1;
}

int
store_append(struct store *st, int64_t device_id, const char *key, int64_t t_ms, double value)
{
    int r, own = 0;

    if (!key || !*key)
        return -EINVAL;
    if (!st->in_txn) {
        r = begin_txn(st);
        if (r < 0)
            return r;
        own = 1;
    }
    r = append_in_txn(st, device_id, key, t_ms, value);
    if (own) {
        if (r < 0) {
            store_rollback(st);
            return r;
        }
        int c = store_commit(st);
        if (c < 0)
            return c;
    }
    return r;
}

int
store_series(struct store *st, int64_t device_id, const char *metric, char ***ret)
{
    int r = st->ops->series_list(st, device_id, metric, ret);

    if (r < 0)
        return set_err(st, r, "series");
    return r;
}

int
store_read(struct store *st, int64_t device_id, const char *key, int64_t from_ms, int64_t to_ms,
           struct sample_array *out)
{
    struct sample_array tmp = {0};
    struct mseries *s;
    struct dec_ctx d = {st, &tmp};
    int64_t sid;
    size_t added = 0;
    int r;

    if (from_ms > to_ms)
        return 0;
    s = cache_find(st, device_id, key, series_hash(device_id, key));
    if (s) {
        sid = s->id;
    } else {
        char metric[EXPO_KEY_MAX];
        size_t mlen = strcspn(key, "{");
        if (mlen == 0 || mlen >= sizeof(metric))
            return -EINVAL;
        memcpy(metric, key, mlen);
        metric[mlen] = '\0';
        r = st->ops->series_get(st, device_id, key, metric, 0, &sid);
        if (r == -ENOENT)
            return 0;
        if (r < 0)
            return set_err(st, r, "series");
    }
    r = st->ops->chunk_scan(st, sid, from_ms, to_ms, 1, decode_cb, &d);
    if (r == 0) {
        r = st->ops->head_get(st, sid, from_ms, to_ms, 0, &tmp);
        if (r < 0)
            (void)set_err(st, r, "reading head rows");
    }
    for (size_t i = 0; r >= 0 && s && i < s->pend.n; i++)
        if (s->pend.s[i].t_ms >= from_ms && s->pend.s[i].t_ms <= to_ms)
            r = sample_array_push(&tmp, s->pend.s[i].t_ms, s->pend.s[i].v);
    if (r < 0) {
        sample_array_free(&tmp);
        return r;
    }
    sort_dedup(&tmp, 0);
    for (size_t i = 0; i < tmp.n; i++) {
        if (tmp.s[i].t_ms < from_ms || tmp.s[i].t_ms > to_ms)
            continue;
        r = sample_array_push(out, tmp.s[i].t_ms, tmp.s[i].v);
        if (r < 0)
            break;
        added++;
    }
    sample_array_free(&tmp);
    return r < 0 ? r : (int)MIN(added, (size_t)INT32_MAX);
}

int
store_event_add(struct store *st, struct store_event *ev)
{
    int r;

    if ((unsigned)ev->kind >= _EVENT_KIND_MAX)
        return -EINVAL;
    r = st->ops->event_add(st, ev);
    return r < 0 ? set_err(st, r, "event") : r;
}

int
store_events(struct store *st, int64_t device_id, int64_t from_ms, int64_t to_ms,
             struct store_event_array *out)
{
    int r = st->ops->events(st, device_id, from_ms, to_ms, out);
    return r < 0 ? set_err(st, r, "events") : r;
}

int
store_state_get(struct store *st, int64_t device_id, const char *key, char **ret)
{
    int r = st->ops->state_get(st, device_id, key, ret);
    return (r < 0 && r != -ENOENT) ? set_err(st, r, "state") : r;
}

int
store_state_set(struct store *st, int64_t device_id, const char *key, const char *value)
{
    int r = st->ops->state_set(st, device_id, key, value);
    return r < 0 ? set_err(st, r, "state") : r;
}

/* ---- compaction and retention ---- */

struct idv {
    int64_t *v;
    size_t n, cap;
};

static int
id_collect(void *ctx, int64_t id)
{
    struct idv *a = ctx;

    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        int64_t *v = realloc(a->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = id;
    return 0;
}

/* A throw-away mseries for a series id, for the compaction and retention paths. */
static int
compact_one(struct store *st, int64_t sid)
{
    struct mseries s = {.id = sid, .dec_id = -1, .max_db = INT64_MIN};
    int r;

    r = st->ops->series_info(st, sid, &s.max_db, &s.head_n);
    if (r == 0)
        r = flush_series(st, &s, 1, 1);
    sample_array_free(&s.pend);
    free(s.ranges);
    return r;
}

/* Move every head row into chunks, in one transaction. */
static int
compact_all(struct store *st)
{
    struct idv ids = {0};
    int r;

    r = begin_txn(st);
    if (r < 0)
        return r;
    r = st->ops->head_series(st, id_collect, &ids);
    for (size_t i = 0; r == 0 && i < ids.n; i++)
        r = compact_one(st, ids.v[i]);
    free(ids.v);
    if (r < 0) {
        store_rollback(st);
        return r;
    }
    r = st->ops->commit(st);
    st->in_txn = 0;
    if (r < 0) {
        st->ops->rollback(st);
        return set_err(st, r, "commit");
    }
    /* Cached head counts are stale now. */
    cache_drop(st);
    return 0;
}

struct ret_ctx {
    int64_t keep_before, ds_before, step;
    struct crange *aff;
    size_t naff, cap;
};

static int
ret_scan_cb(void *ctx, int64_t id, int64_t t0, int64_t t1, int64_t step, const void *blob,
            size_t len)
{
    struct ret_ctx *c = ctx;

    (void)blob;
    (void)len;
    if (!(t0 < c->keep_before || (t0 < c->ds_before && step != c->step)))
        return 0;
    if (c->naff == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct crange *v = realloc(c->aff, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        c->aff = v;
        c->cap = cap;
    }
    c->aff[c->naff].id = id;
    c->aff[c->naff].t0 = t0;
    c->aff[c->naff].t1 = t1;
    c->naff++;
    return 0;
}

static int
retention_series(struct store *st, int64_t sid, struct ret_ctx *c)
{
    struct sample_array a = {0};
    struct mseries s = {.id = sid, .dec_id = -1};
    struct dec_ctx d = {st, &a};
    size_t w = 0, split;
    int r;

    c->naff = 0;
    r = st->ops->chunk_scan(st, sid, INT64_MIN, INT64_MAX, 0, ret_scan_cb, c);
    for (size_t i = 0; r == 0 && i < c->naff; i++) {
        r = st->ops->chunk_get(st, c->aff[i].id, decode_cb, &d);
        if (r == 0)
            r = st->ops->chunk_del(st, c->aff[i].id);
    }
    if (r < 0 || c->naff == 0)
        goto out;
    sort_dedup(&a, 0);
    /* Drop what is too old; keep the last sample of each step below ds_before. */
    for (size_t i = 0; i < a.n; i++) {
        int64_t t = a.s[i].t_ms;
        if (t < c->keep_before)
            continue;
        if (t < c->ds_before && c->step > 0 && i + 1 < a.n && a.s[i + 1].t_ms < c->ds_before) {
            int64_t b0 = t / c->step - (t % c->step < 0), b1;
            int64_t tn = a.s[i + 1].t_ms;
            b1 = tn / c->step - (tn % c->step < 0);
            if (b0 == b1)
                continue;
        }
        a.s[w++] = a.s[i];
    }
    a.n = w;
    for (split = 0; split < a.n && a.s[split].t_ms < c->ds_before; split++)
        ;
    {
        struct emit_ctx e = {st, &s, c->step};
        if (split > 0)
            r = chunk_encode_split(&st->codec, a.s, split, CHUNK_SAMPLES, emit_chunk, &e);
        e.step = 0;
        if (r == 0 && a.n > split)
            r = chunk_encode_split(&st->codec, a.s + split, a.n - split, CHUNK_SAMPLES, emit_chunk,
                                   &e);
    }
out:
    sample_array_free(&a);
    return r;
}

int
store_retention(struct store *st, int64_t now_ms, int64_t keep_ms, int64_t downsample_after_ms,
                int64_t step_ms)
{
    struct ret_ctx c = {INT64_MIN, INT64_MIN, 0, NULL, 0, 0};
    struct idv ids = {0};
    int r;

    if (st->in_txn)
        return -EBUSY;
    if (keep_ms > 0)
        c.keep_before = now_ms - keep_ms;
    if (downsample_after_ms > 0 && step_ms > 0) {
        c.ds_before = now_ms - downsample_after_ms;
        c.step = step_ms;
    }
    if (c.keep_before == INT64_MIN && c.ds_before == INT64_MIN)
        return 0;
    r = compact_all(st);
    if (r < 0)
        return r;
    r = begin_txn(st);
    if (r < 0)
        return r;
    r = st->ops->series_ids(st, -1, id_collect, &ids);
    for (size_t i = 0; r == 0 && i < ids.n; i++)
        r = retention_series(st, ids.v[i], &c);
    if (r == 0) {
        struct store_device *d = NULL;
        size_t n = 0;
        r = st->ops->devices(st, &d, &n);
        for (size_t i = 0; r == 0 && i < n; i++)
            r = st->ops->device_refresh(st, d[i].id);
        store_devices_free(d, n);
    }
    free(ids.v);
    free(c.aff);
    if (r < 0) {
        (void)set_err(st, r, "retention");
        store_rollback(st);
        return r;
    }
    r = st->ops->commit(st);
    st->in_txn = 0;
    cache_drop(st);
    if (r < 0) {
        st->ops->rollback(st);
        return set_err(st, r, "commit");
    }
    return 0;
}

struct store *
store_close(struct store *st)
{
    if (!st)
        return NULL;
    store_rollback(st);
    /* A handle that wrote leaves no head rows behind: they become (short) chunks. Best
     * effort: if it fails (disk full) the rows stay in head, durable and readable.
     * Read-only users (export, query, the dashboard) take no write lock here. */
    if (st->wrote)
        (void)compact_all(st);
    if (st->in_txn)
        store_rollback(st);
    cache_drop(st);
    st->ops->close(st);
    chunk_codec_done(&st->codec);
    buf_free(&st->scratch);
    free(st->dirty);
    free(st->ddev);
    free(st->gens);
    free(st);
    return NULL;
}
