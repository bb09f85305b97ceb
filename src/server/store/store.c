/* SPDX-License-Identifier: MIT */
/*
 * store.c - the logic shared by both back ends: the in-memory series cache,
 * buffering of appended samples, head records (one row per device and poll
 * time), deduplication across head records and chunks, chunk encoding and
 * compaction, reads that merge chunks + head records + pending, retention and
 * downsampling, the upgrade of schema-1 databases.
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

struct mdev;

/* One series as the store knows it in memory (one allocation with its key). */
struct mseries {
    /* Cold: duplicate checks. Chunk ranges, loaded on the first append that needs them. */
    int ranges_loaded;
    struct crange *ranges;
    size_t nranges, cap_ranges, last_hit;
    /* The last chunk decoded for duplicate checks. */
    int64_t dec_id;
    struct sample_array dec;
    /* Hot: every append (together with the key, right after). */
    int64_t id;
    int64_t dev;
    struct mdev *md;
    uint64_t hash;
    size_t ord_pos;           /* where it was in its device's append order (struct mdev) */
    int64_t max_db;           /* >= every time of it in the database, INT64_MIN if none */
    int64_t max_all;          /* largest time in database or pending */
    struct sample_array pend; /* appended, not yet written; sorted, distinct times */
    int dirty;
    int stale;      /* another writer touched the device: re-read max_db */
    int pend_arena; /* pend.s is a slot of the store's pending arena, not malloc'd */
    char key[];
};

struct crange {
    int64_t id, t0, t1;
};

/* One device as the store knows it in memory. */
struct mdev {
    int64_t dev;
    struct store_rec_info ri; /* its head records (this handle keeps n, t_min, t_max current) */
    struct mseries **ser;     /* its cached series */
    size_t nser, cap_ser;
    /*
     * The order of appends in the last transaction that wrote the device, and in this
     * one: a poller appends a target's series in the same order every poll, so the
     * next series is found by one key comparison instead of a hash lookup.
     */
    struct mseries **ord, **ord_new;
    size_t nord, nord_new, cap_ord, cap_ord_new, cur;
    unsigned long ord_txn;
};

/* Where one head record's entries are in a decoded hrec_array. */
struct hrec_loc {
    int64_t t;
    size_t off, n;
};

/* Decoded head records of one device (or of one (device, t)). */
struct hrec_set {
    int valid;
    int64_t dev, t;               /* t: for the duplicate-check copy only */
    unsigned long txn;            /* the duplicate-check copy is valid in this transaction */
    struct store_rec_info ri;     /* the records' state when read (reads' copy) */
    struct hrec_array a;
    struct hrec_loc *loc;
    size_t nloc, cap_loc;
};

/*
 * The first ARENA_SLOT pending samples of a series come from a slot of a block
 * list that is reused at every commit: a poller appends one sample per series per
 * commit, which then costs no malloc/free.
 */
#define ARENA_SLOT 4
#define ARENA_SLOTS 4096 /* per block */

struct arena {
    struct arena *next;
    size_t used;
    struct sample s[ARENA_SLOTS * ARENA_SLOT];
};

/* A pending sample on its way into a head record. */
struct tent {
    int64_t t, sid;
    uint64_t bits;
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
    int wrote;            /* committed samples: compact the head records on close */
    struct mseries **tab; /* open addressing by (dev, key) */
    uint64_t *tab_hash;   /* tab[i]'s hash, so probes do not touch the series (cache misses) */
    size_t tab_cap, tab_n;
    struct mseries **dirty;
    size_t ndirty, cap_dirty;
    struct dirty_dev *ddev;
    size_t nddev, cap_ddev;
    struct dev_gen *gens;
    size_t ngens, cap_gens;
    struct mdev **dtab; /* open addressing by device id */
    size_t dtab_cap, dtab_n;
    struct mdev *cur_md;  /* the device appended to last */
    size_t gen_hint;      /* gens[] entry checked last */
    struct hrec_set hc;   /* reads: the head records of the last device read */
    struct hrec_set drec; /* duplicate checks: the records of the last (device, t) looked up */
    struct arena *arena;  /* slots for the first pending samples of a series */
    struct arena *arena_cur;
    struct tent *tents;   /* commit: pending samples of a device, by (t, sid) */
    size_t cap_tents;
    struct hrec_array rent; /* commit: the entries of one record */
    struct buf rblob;       /* commit: one encoded record */
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
    if (!s->pend_arena)
        sample_array_free(&s->pend);
    sample_array_free(&s->dec);
    free(s->ranges);
    free(s);
}

/* Push onto s's pending samples (first from the arena, then malloc'd). */
static int
pend_push(struct store *st, struct mseries *s, int64_t t, double v)
{
    if (s->pend.cap == 0) {
        struct arena *a = st->arena_cur;
        if (a && a->used == ARENA_SLOTS) {
            if (!a->next)
                a->next = calloc(1, sizeof(*a));
            a = a->next;
            if (a)
                st->arena_cur = a;
        } else if (!a) {
            a = st->arena = st->arena_cur = calloc(1, sizeof(*a));
        }
        if (a && a->used < ARENA_SLOTS) {
            s->pend.s = a->s + a->used++ * ARENA_SLOT;
            s->pend.cap = ARENA_SLOT;
            s->pend_arena = 1;
        }
    } else if (s->pend_arena && s->pend.n == s->pend.cap) {
        struct sample *p = malloc(2 * s->pend.cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        memcpy(p, s->pend.s, s->pend.n * sizeof(*p));
        s->pend.s = p;
        s->pend.cap *= 2;
        s->pend_arena = 0;
    }
    return sample_array_push(&s->pend, t, v);
}

static void
pend_free(struct mseries *s)
{
    if (s->pend_arena)
        memset(&s->pend, 0, sizeof(s->pend));
    else
        sample_array_free(&s->pend);
    s->pend_arena = 0;
}

/* Every slot is free again (no series points into the arena). */
static void
arena_reset(struct store *st)
{
    for (struct arena *a = st->arena; a; a = a->next)
        a->used = 0;
    st->arena_cur = st->arena;
}

static void
hrec_set_free(struct hrec_set *h)
{
    hrec_array_free(&h->a);
    free(h->loc);
    memset(h, 0, sizeof(*h));
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
    for (size_t i = 0; i < st->dtab_cap; i++) {
        if (st->dtab[i]) {
            free(st->dtab[i]->ser);
            free(st->dtab[i]->ord);
            free(st->dtab[i]->ord_new);
            free(st->dtab[i]);
        }
    }
    st->cur_md = NULL;
    st->gen_hint = SIZE_MAX;
    arena_reset(st);
    free(st->dtab);
    st->dtab = NULL;
    st->dtab_cap = 0;
    st->dtab_n = 0;
    st->hc.valid = 0;
    st->drec.valid = 0;
}

static size_t
dev_slot(int64_t dev, size_t cap)
{
    uint64_t h = (uint64_t)dev * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 32) & (cap - 1);
}

static struct mdev *
mdev_find(struct store *st, int64_t dev)
{
    if (!st->dtab_cap)
        return NULL;
    for (size_t i = dev_slot(dev, st->dtab_cap);; i = (i + 1) & (st->dtab_cap - 1)) {
        if (!st->dtab[i] || st->dtab[i]->dev == dev)
            return st->dtab[i];
    }
}

/* The device's in-memory state, read from the database the first time. */
static int
mdev_get(struct store *st, int64_t dev, struct mdev **ret)
{
    struct mdev *md = mdev_find(st, dev);
    size_t j;
    int r;

    if (md) {
        *ret = md;
        return 0;
    }
    if ((st->dtab_n + 1) * 10 > st->dtab_cap * 7) {
        size_t cap = st->dtab_cap ? st->dtab_cap * 2 : 64;
        struct mdev **t = calloc(cap, sizeof(*t));
        if (!t)
            return -ENOMEM;
        for (size_t i = 0; i < st->dtab_cap; i++) {
            if (!st->dtab[i])
                continue;
            for (j = dev_slot(st->dtab[i]->dev, cap); t[j]; j = (j + 1) & (cap - 1))
                ;
            t[j] = st->dtab[i];
        }
        free(st->dtab);
        st->dtab = t;
        st->dtab_cap = cap;
    }
    md = calloc(1, sizeof(*md));
    if (!md)
        return -ENOMEM;
    md->dev = dev;
    r = st->ops->rec_info(st, dev, &md->ri);
    if (r < 0) {
        free(md);
        return r;
    }
    for (j = dev_slot(dev, st->dtab_cap); st->dtab[j]; j = (j + 1) & (st->dtab_cap - 1))
        ;
    st->dtab[j] = md;
    st->dtab_n++;
    *ret = md;
    return 0;
}

/* The largest time a series may have in the database: its chunks' or the device's records'. */
static int64_t
series_max_db(const struct mdev *md, int64_t chunk_max)
{
    return md->ri.n > 0 ? MAX(chunk_max, md->ri.t_max) : chunk_max;
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

static int upgrade_v1(struct store *st);

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
    struct mdev *md;
    char metric[EXPO_KEY_MAX];
    size_t mlen;
    int r;

    if (s) {
        if (s->stale) {
            r = st->ops->series_max(st, s->id, &s->max_db);
            if (r < 0)
                return r;
            s->max_db = series_max_db(s->md, s->max_db);
            s->nranges = 0;
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
    r = mdev_get(st, dev, &md);
    if (r < 0)
        return r;
    if (md->nser == md->cap_ser) {
        size_t cap = md->cap_ser ? md->cap_ser * 2 : 64;
        struct mseries **v = realloc(md->ser, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        md->ser = v;
        md->cap_ser = cap;
    }
    s = calloc(1, sizeof(*s) + strlen(key) + 1);
    if (!s)
        return -ENOMEM;
    memcpy(s->key, key, strlen(key) + 1);
    s->dev = dev;
    s->md = md;
    s->hash = h;
    s->dec_id = -1;
    r = st->ops->series_get(st, dev, key, metric, create, &s->id);
    if (r == 0)
        r = st->ops->series_max(st, s->id, &s->max_db);
    if (r == 0)
        r = cache_insert(st, s);
    if (r < 0) {
        mseries_free(s);
        return r;
    }
    md->ser[md->nser++] = s;
    s->max_db = series_max_db(md, s->max_db);
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
 * A series with CHUNK_SAMPLES pending samples or more writes them as full chunks
 * right away (the import fast path); the rest (fewer) stays pending.
 */
static int
flush_full(struct store *st, struct mseries *s)
{
    struct emit_ctx e = {st, s, 0};
    struct sample_array *p = &s->pend;
    size_t full = p->n - p->n % CHUNK_SAMPLES;
    int r;

    if (full == 0)
        return 0;
    r = chunk_encode_split(&st->codec, p->s, full, CHUNK_SAMPLES, emit_chunk, &e);
    if (r < 0)
        return r;
    s->max_db = MAX(s->max_db, p->s[full - 1].t_ms);
    memmove(p->s, p->s + full, (p->n - full) * sizeof(struct sample));
    p->n -= full;
    return 0;
}

/* ---- head records ---- */

static int
hrec_set_add(struct hrec_set *h, int64_t t, const void *blob, size_t len)
{
    size_t off = h->a.n;
    int r;

    if (h->nloc == h->cap_loc) {
        size_t cap = h->cap_loc ? h->cap_loc * 2 : 64;
        struct hrec_loc *v = realloc(h->loc, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        h->loc = v;
        h->cap_loc = cap;
    }
    r = hrec_decode(blob, len, &h->a);
    if (r < 0)
        return r;
    h->loc[h->nloc].t = t;
    h->loc[h->nloc].off = off;
    h->loc[h->nloc].n = (size_t)r;
    h->nloc++;
    return 0;
}

struct hrec_read {
    struct store *st;
    struct hrec_set *h;
};

static int
hrec_read_cb(void *ctx, int64_t id, int64_t t, const void *blob, size_t len)
{
    struct hrec_read *c = ctx;
    int r = hrec_set_add(c->h, t, blob, len);

    if (r == -EBADMSG)
        (void)snprintf(c->st->err, sizeof(c->st->err), "head record %lld is corrupt",
                       (long long)id);
    return r;
}

/* Read the records of dev in [from, to] into h (emptied first), deleting them with del. */
static int
hrec_set_load(struct store *st, struct hrec_set *h, int64_t dev, int64_t from, int64_t to,
              int del)
{
    struct hrec_read c = {st, h};

    h->valid = 0;
    h->a.n = 0;
    h->nloc = 0;
    return st->ops->rec_get(st, dev, from, to, del, hrec_read_cb, &c);
}

/* Index of sid in entries [off, off + n) of h, or -1. */
static ssize_t
hrec_find(const struct hrec_set *h, size_t off, size_t n, int64_t sid)
{
    size_t lo = off, hi = off + n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->a.e[mid].sid < sid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < off + n && h->a.e[lo].sid == sid ? (ssize_t)lo : -1;
}

/* 1 when a head record of s's device at time t holds s. */
static int
rec_has(struct store *st, struct mseries *s, int64_t t)
{
    struct hrec_set *h = &st->drec;
    int r;

    if (!h->valid || h->dev != s->dev || h->t != t || h->txn != st->txn_no) {
        r = hrec_set_load(st, h, s->dev, t, t, 0);
        if (r < 0)
            return r;
        h->dev = s->dev;
        h->t = t;
        h->txn = st->txn_no;
        h->valid = 1;
    }
    for (size_t i = 0; i < h->nloc; i++)
        if (hrec_find(h, h->loc[i].off, h->loc[i].n, s->id) >= 0)
            return 1;
    return 0;
}

static int
cmp_tent(const void *a, const void *b)
{
    const struct tent *x = a, *y = b;

    if (x->t != y->t)
        return (x->t > y->t) - (x->t < y->t);
    return (x->sid > y->sid) - (x->sid < y->sid);
}

static int
compact_dev(struct store *st, int64_t dev);

/*
 * Commit the dirty series ser[0..n) of device md: full chunks for series with
 * CHUNK_SAMPLES pending or more, then one head record per distinct time for the rest.
 * A device that reaches CHUNK_SAMPLES records is compacted.
 */
static int
commit_device(struct store *st, struct mdev *md, struct mseries **ser, size_t n)
{
    size_t total = 0, k = 0, nrec = 0;
    int sorted = 1, r;

    for (size_t i = 0; i < n; i++) {
        r = flush_full(st, ser[i]);
        if (r < 0)
            return r;
        total += ser[i]->pend.n;
    }
    if (total == 0)
        return 0;
    if (total > st->cap_tents) {
        size_t cap = MAX(total, st->cap_tents * 2);
        struct tent *v = realloc(st->tents, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        st->tents = v;
        st->cap_tents = cap;
    }
    for (size_t i = 0; i < n; i++) {
        struct mseries *s = ser[i];
        for (size_t j = 0; j < s->pend.n; j++) {
            struct tent *e = &st->tents[k++];
            e->t = s->pend.s[j].t_ms;
            e->sid = s->id;
            e->bits = chunk_d2bits(s->pend.s[j].v);
            if (k > 1 && sorted)
                sorted = cmp_tent(e - 1, e) < 0;
        }
        if (s->pend.n > 0)
            s->max_db = MAX(s->max_db, s->pend.s[s->pend.n - 1].t_ms);
        s->pend.n = 0;
    }
    if (!sorted)
        qsort(st->tents, total, sizeof(*st->tents), cmp_tent);
    for (size_t i = 0; i < total;) {
        size_t j = i;
        st->rent.n = 0;
        r = hrec_array_reserve(&st->rent, total - i);
        if (r < 0)
            return r;
        for (; j < total && st->tents[j].t == st->tents[i].t; j++) {
            st->rent.e[st->rent.n].sid = st->tents[j].sid;
            st->rent.e[st->rent.n].bits = st->tents[j].bits;
            st->rent.n++;
        }
        r = hrec_encode(&st->rblob, st->rent.e, st->rent.n);
        if (r == 0)
            r = st->ops->rec_put(st, md->dev, st->tents[i].t, st->rent.n, st->rblob.data,
                                 st->rblob.len);
        if (r < 0)
            return set_err(st, r, "writing a head record");
        if (md->ri.n == 0 && nrec == 0) {
            md->ri.t_min = st->tents[i].t;
            md->ri.t_max = st->tents[i].t;
        }
        md->ri.t_min = MIN(md->ri.t_min, st->tents[i].t);
        md->ri.t_max = MAX(md->ri.t_max, st->tents[i].t);
        nrec++;
        i = j;
    }
    md->ri.n += (int64_t)nrec;
    if (md->ri.n >= CHUNK_SAMPLES)
        return compact_dev(st, md->dev);
    return 0;
}

/*
 * Move every head record of dev into chunks: read (and delete) them, transpose them
 * into one run per series (the records come by time, so each run is sorted), write
 * each run as chunks of CHUNK_SAMPLES. Memory: the device's records, decoded.
 */
static int
compact_dev(struct store *st, int64_t dev)
{
    struct hrec_set h = {0};
    struct mdev *md;
    int64_t *u = NULL, *u2 = NULL;
    size_t nu = 0, *cnt = NULL;
    uint32_t *idx = NULL;
    struct sample *smp = NULL;
    int r;

    r = hrec_set_load(st, &h, dev, INT64_MIN, INT64_MAX, 1);
    if (r < 0) {
        (void)set_err(st, r, "reading head records");
        goto out;
    }
    r = -ENOMEM;
    if (h.a.n > 0) {
        /* The series of the device: the union of the records' (sorted) series. Records
         * usually hold the same set, which costs one comparison per entry. */
        u = malloc(h.a.n * sizeof(*u));
        u2 = malloc(h.a.n * sizeof(*u2));
        idx = malloc(h.a.n * sizeof(*idx));
        smp = malloc(h.a.n * sizeof(*smp));
        if (!u || !u2 || !idx || !smp)
            goto out;
        for (size_t i = 0; i < h.nloc; i++) {
            const struct hrec_entry *e = h.a.e + h.loc[i].off;
            size_t n = h.loc[i].n, a = 0, b = 0, m = 0;
            int same = n == nu;
            for (size_t j = 0; same && j < n; j++)
                same = e[j].sid == u[j];
            if (same)
                continue;
            while (a < nu || b < n) {
                if (b == n || (a < nu && u[a] < e[b].sid))
                    u2[m++] = u[a++];
                else if (a == nu || e[b].sid < u[a])
                    u2[m++] = e[b++].sid;
                else {
                    u2[m++] = u[a++];
                    b++;
                }
            }
            memcpy(u, u2, m * sizeof(*u));
            nu = m;
        }
        cnt = calloc(nu + 1, sizeof(*cnt));
        if (!cnt)
            goto out;
        for (size_t i = 0; i < h.nloc; i++) {
            const struct hrec_entry *e = h.a.e + h.loc[i].off;
            size_t a = 0;
            for (size_t j = 0; j < h.loc[i].n; j++) {
                while (u[a] < e[j].sid)
                    a++;
                idx[h.loc[i].off + j] = (uint32_t)a;
                cnt[a + 1]++;
            }
        }
        for (size_t a = 0; a < nu; a++)
            cnt[a + 1] += cnt[a];
        /* cnt[a]: where series a's run starts; fill in record (time) order. */
        for (size_t i = 0; i < h.nloc; i++) {
            for (size_t j = 0; j < h.loc[i].n; j++) {
                size_t x = h.loc[i].off + j;
                struct sample *p = &smp[cnt[idx[x]]++];
                p->t_ms = h.loc[i].t;
                p->v = chunk_bits2d(h.a.e[x].bits);
            }
        }
        /* Now cnt[a] is where run a ends. */
        r = 0;
        for (size_t a = 0, start = 0; r == 0 && a < nu; start = cnt[a], a++) {
            struct mseries tmp = {.id = u[a], .dec_id = -1};
            struct emit_ctx e = {st, &tmp, 0};
            size_t w = start;
            /* Two records of one time (two transactions) may both hold a series: keep
             * the first. */
            for (size_t i = start; i < cnt[a]; i++)
                if (i == start || smp[i].t_ms != smp[w - 1].t_ms)
                    smp[w++] = smp[i];
            if (w > start)
                r = chunk_encode_split(&st->codec, smp + start, w - start, CHUNK_SAMPLES,
                                       emit_chunk, &e);
        }
        if (r < 0)
            goto out;
    }
    r = 0;
    md = mdev_find(st, dev);
    if (md) {
        memset(&md->ri, 0, sizeof(md->ri));
        /* New chunks: the cached ranges of its series are out of date. */
        for (size_t i = 0; i < md->nser; i++) {
            md->ser[i]->ranges_loaded = 0;
            md->ser[i]->nranges = 0;
            md->ser[i]->dec_id = -1;
        }
    }
    st->drec.valid = 0;
out:
    hrec_set_free(&h);
    free(u);
    free(u2);
    free(idx);
    free(cnt);
    free(smp);
    return r;
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

    if (s->md->ri.n > 0 && t >= s->md->ri.t_min && t <= s->md->ri.t_max) {
        r = rec_has(st, s, t);
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
    if (st->gen_hint < st->ngens && st->gens[st->gen_hint].dev == dev &&
        st->gens[st->gen_hint].txn == st->txn_no)
        return 0;
    g = gen_find(st, dev, 1);
    if (!g)
        return -ENOMEM;
    st->gen_hint = (size_t)(g - st->gens);
    if (g->txn == st->txn_no)
        return 0;
    r = st->ops->device_gen(st, dev, &gen);
    if (r < 0)
        return set_err(st, r, "device generation");
    if (g->gen != gen) {
        struct mdev *md = mdev_find(st, dev);
        if (md) {
            r = st->ops->rec_info(st, dev, &md->ri);
            if (r < 0)
                return set_err(st, r, "head records");
            for (size_t i = 0; i < md->nser; i++)
                if (!md->ser[i]->dirty)
                    md->ser[i]->stale = 1;
        }
        st->drec.valid = 0;
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
    int r, version = 0;

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
    buf_init(&st->rblob, HREC_BLOB_MAX);
    r = ops->open(st, arg, err, errlen);
    if (r < 0) {
        chunk_codec_done(&st->codec);
        free(st);
        return r;
    }
    /* A schema-1 database is upgraded once, by whoever opens it first. */
    r = ops->schema_get(st, &version);
    if (r == 0 && version < 2)
        r = upgrade_v1(st);
    if (r < 0) {
        if (err && errlen)
            (void)snprintf(err, errlen, "%s", st->err[0] ? st->err : strerror(-r));
        st->wrote = 0;
        (void)store_close(st);
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

static int
cmp_dirty(const void *a, const void *b)
{
    const struct mseries *x = *(struct mseries *const *)a, *y = *(struct mseries *const *)b;

    if (x->dev != y->dev)
        return (x->dev > y->dev) - (x->dev < y->dev);
    return (x->id > y->id) - (x->id < y->id);
}

int
store_commit(struct store *st)
{
    int r = 0;

    if (!st->in_txn)
        return -EINVAL;
    /* One device at a time: its series' pending samples become its head records. */
    if (st->nddev > 1)
        qsort(st->dirty, st->ndirty, sizeof(*st->dirty), cmp_dirty);
    for (size_t i = 0, j; r == 0 && i < st->ndirty; i = j) {
        for (j = i + 1; j < st->ndirty && st->dirty[j]->md == st->dirty[i]->md; j++)
            ;
        r = commit_device(st, st->dirty[i]->md, st->dirty + i, j - i);
    }
    for (size_t i = 0; r == 0 && i < st->ndirty; i++) {
        struct mseries *s = st->dirty[i];
        s->dirty = 0;
        /* Between commits a series costs only its small struct and key. */
        pend_free(s);
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
    arena_reset(st);
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

#define ORD_MAX 65536 /* appends per device and transaction whose order is remembered */

/* The device's first append in this transaction: last transaction's order is the guide. */
static void
ord_start(struct store *st, struct mdev *md)
{
    struct mseries **v;
    size_t cap;

    if (md->ord_txn == st->txn_no)
        return;
    md->ord_txn = st->txn_no;
    if (md->nord_new > 0) {
        v = md->ord;
        cap = md->cap_ord;
        md->ord = md->ord_new;
        md->cap_ord = md->cap_ord_new;
        md->nord = md->nord_new;
        md->ord_new = v;
        md->cap_ord_new = cap;
        md->nord_new = 0;
    }
    md->cur = 0;
}

/* The series (dev, key): the next one in the device's order, or from series_load(). */
static int
series_next(struct store *st, int64_t dev, const char *key, struct mseries **ret)
{
    struct mdev *md = st->cur_md;
    struct mseries *s = NULL;
    int r;

    if (md && md->dev == dev) {
        ord_start(st, md);
        /* The next series, or the one after (a series missing from this poll). */
        for (size_t i = md->cur; i < md->nord && i < md->cur + 2; i++) {
            struct mseries *c = md->ord[i];
            if (!c->stale && strcmp(c->key, key) == 0) {
                s = c;
                md->cur = i + 1;
                if (i + 1 < md->nord) {
                    /* The next append's series: its hot fields and key. */
                    __builtin_prefetch(&md->ord[i + 1]->id);
                    __builtin_prefetch(md->ord[i + 1]->key);
                }
                break;
            }
        }
    }
    if (!s) {
        r = series_load(st, dev, key, 1, &s);
        if (r < 0)
            return r;
        md = st->cur_md = s->md;
        ord_start(st, md);
        /* Back in step after an inserted or removed series. */
        if (s->ord_pos < md->nord && md->ord[s->ord_pos] == s)
            md->cur = s->ord_pos + 1;
    }
    if (md->nord_new < ORD_MAX) {
        if (md->nord_new == md->cap_ord_new) {
            size_t cap = md->cap_ord_new ? md->cap_ord_new * 2 : 64;
            struct mseries **v = realloc(md->ord_new, cap * sizeof(*v));
            if (!v)
                return -ENOMEM;
            md->ord_new = v;
            md->cap_ord_new = cap;
        }
        s->ord_pos = md->nord_new;
        md->ord_new[md->nord_new++] = s;
    }
    *ret = s;
    return 0;
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
    r = series_next(st, dev, key, &s);
    if (r < 0)
        return r == -EINVAL ? r : set_err(st, r, "series");
    if (t > s->max_all) {
        r = pend_push(st, s, t, v);
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
        r = pend_push(st, s, t, v);
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
        r = flush_full(st, s);
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

/*
 * Reads: the head records of device dev, decoded once and kept while they do not
 * change ((count, max id) is the same: ids are never reused).
 */
static int
hc_sync(struct store *st, int64_t dev)
{
    struct store_rec_info ri;
    int r;

    r = st->ops->rec_info(st, dev, &ri);
    if (r < 0)
        return set_err(st, r, "head records");
    if (st->hc.valid && st->hc.dev == dev && st->hc.ri.n == ri.n && st->hc.ri.max_id == ri.max_id)
        return 0;
    r = ri.n > 0 ? hrec_set_load(st, &st->hc, dev, INT64_MIN, INT64_MAX, 0) : 0;
    if (r < 0) {
        st->hc.valid = 0;
        return set_err(st, r, "reading head records");
    }
    if (ri.n == 0) {
        st->hc.a.n = 0;
        st->hc.nloc = 0;
    }
    st->hc.dev = dev;
    st->hc.ri = ri;
    st->hc.valid = 1;
    return 0;
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
    if (r == 0)
        r = hc_sync(st, device_id);
    for (size_t i = 0; r >= 0 && i < st->hc.nloc; i++) {
        const struct hrec_loc *l = &st->hc.loc[i];
        ssize_t x;
        if (l->t < from_ms || l->t > to_ms)
            continue;
        x = hrec_find(&st->hc, l->off, l->n, sid);
        if (x >= 0)
            r = sample_array_push(&tmp, l->t, chunk_bits2d(st->hc.a.e[x].bits));
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

/* Move every head record into chunks, in one transaction, one device at a time. */
static int
compact_all(struct store *st)
{
    struct idv ids = {0};
    int r;

    r = begin_txn(st);
    if (r < 0)
        return r;
    r = st->ops->rec_devices(st, id_collect, &ids);
    for (size_t i = 0; r == 0 && i < ids.n; i++)
        r = compact_dev(st, ids.v[i]);
    free(ids.v);
    if (r < 0) {
        store_rollback(st);
        return r;
    }
    r = st->ops->commit(st);
    st->in_txn = 0;
    if (r < 0) {
        st->ops->rollback(st);
        cache_drop(st);
        return set_err(st, r, "commit");
    }
    /* Cached head record counts are stale now. */
    cache_drop(st);
    return 0;
}

/*
 * A schema-1 database kept recent samples as one head row each: move them into
 * chunks (per series, like the old compaction), drop the old table, set schema 2.
 * In one transaction: a crash leaves the database as it was.
 */
static int
upgrade_v1(struct store *st)
{
    struct idv ids = {0};
    struct sample_array a = {0};
    int v = 0, r;

    r = begin_txn(st);
    if (r < 0)
        return r;
    r = st->ops->v1_prepare(st);
    if (r == 0)
        r = st->ops->schema_get(st, &v);
    if (r == 0 && v < 2) {
        r = st->ops->v1_head_series(st, id_collect, &ids);
        for (size_t i = 0; r == 0 && i < ids.n; i++) {
            struct mseries tmp = {.id = ids.v[i], .dec_id = -1};
            struct emit_ctx e = {st, &tmp, 0};
            a.n = 0;
            r = st->ops->v1_head_take(st, ids.v[i], &a);
            sort_dedup(&a, 0);
            if (r == 0 && a.n > 0)
                r = chunk_encode_split(&st->codec, a.s, a.n, CHUNK_SAMPLES, emit_chunk, &e);
        }
        if (r == 0)
            r = st->ops->v1_finish(st);
    }
    free(ids.v);
    sample_array_free(&a);
    if (r == 0) {
        r = st->ops->commit(st);
        st->in_txn = 0;
        if (r < 0)
            st->ops->rollback(st);
    }
    if (r < 0) {
        (void)set_err(st, r, "upgrading the schema");
        store_rollback(st);
    }
    cache_drop(st);
    return r;
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
    /* A handle that wrote leaves no head records behind: they become (short) chunks. Best
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
    hrec_set_free(&st->hc);
    hrec_set_free(&st->drec);
    while (st->arena) {
        struct arena *a = st->arena;
        st->arena = a->next;
        free(a);
    }
    free(st->tents);
    hrec_array_free(&st->rent);
    buf_free(&st->rblob);
    free(st);
    return NULL;
}
