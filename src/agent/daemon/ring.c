/* SPDX-License-Identifier: MIT */
#include "ring.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_HDR 16             /* u32 length, i64 timestamp, u32 entries */
#define ENTRY_MAX 15           /* varint slot|kind (5) + raw double or varint (10) */
#define BYTES_PER_RECORD 1024  /* default byte ring size per record */
#define INT_EXACT 9007199254740992.0 /* 2^53: integers up to here are exact in a double */
#define NO_SLOT UINT32_MAX

enum entry_kind {
    ENTRY_GONE = 0,  /* the series disappeared */
    ENTRY_DELTA = 1, /* zigzag varint: value - previous (previous = 0 when absent) */
    ENTRY_RAW = 2,   /* 8 bytes, the double as is */
};

struct family {
    char *name;            /* NULL = free */
    enum metric_type type;
    uint32_t refs;         /* series slots naming it */
};

struct series {
    char *key;             /* NULL = free slot */
    uint32_t family;
    uint32_t refs;         /* entries of retained records naming this slot */
    uint32_t next_free;
    double base, cur, staged;
    uint8_t base_present, cur_present, is_staged;
};

/* Replay scratch: the state of every slot at some record. */
struct state {
    double *v;
    uint8_t *present;
};

struct ring {
    pthread_mutex_t lock;
    size_t max_records, max_series, nfam_max;
    uint64_t ring_id;
    uint64_t next_seq;       /* SEQ of the next record */

    struct series *series;
    uint32_t *hash;          /* open addressing, linear probing; NO_SLOT = empty */
    size_t hash_mask;
    uint32_t free_head;
    size_t nseries;
    struct family *fams;
    uint32_t last_fam;
    size_t key_bytes;

    uint8_t *bytes;          /* the byte ring */
    size_t cap, head, used;
    uint32_t *rec_off;       /* offset of each retained record, circular */
    size_t rec_first, nrec;

    uint8_t *enc;            /* encoding scratch for one record */
    size_t enc_cap;
    int64_t tick_ts;

    struct state sa, sb;     /* query scratch */
    uint32_t *count, *map;

    uint64_t dropped_samples, dropped_records;
};

/* ---- small helpers ---- */

static uint64_t
hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t
fnv_update(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;

    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int
same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

/* Is v an integer that survives a round trip through int64 (and not -0)? */
static int
is_int(double v)
{
    return isfinite(v) && v == floor(v) && fabs(v) <= INT_EXACT && !(v == 0 && signbit(v));
}

static size_t
put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Reader over the circular byte ring (or a linear buffer when cap = len). */
struct reader {
    const uint8_t *bytes;
    size_t cap, pos, left;
    int bad;
};

static uint8_t
rd_u8(struct reader *rd)
{
    uint8_t b;

    if (rd->left == 0) {
        rd->bad = 1;
        return 0;
    }
    b = rd->bytes[rd->pos];
    rd->pos = rd->pos + 1 == rd->cap ? 0 : rd->pos + 1;
    rd->left--;
    return b;
}

static void
rd_bytes(struct reader *rd, void *out, size_t n)
{
    uint8_t *o = out;

    for (size_t i = 0; i < n; i++)
        o[i] = rd_u8(rd);
}

static uint64_t
rd_varint(struct reader *rd)
{
    uint64_t v = 0;

    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b = rd_u8(rd);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    rd->bad = 1;
    return 0;
}

struct entry {
    uint32_t slot;
    enum entry_kind kind;
    int64_t delta;
    double raw;
};

static void
rd_entry(struct reader *rd, struct entry *e)
{
    uint64_t h = rd_varint(rd);

    e->slot = (uint32_t)(h >> 2);
    if ((h >> 2) > UINT32_MAX)
        rd->bad = 1;
    e->kind = (enum entry_kind)(h & 3);
    if (e->kind == ENTRY_DELTA) {
        uint64_t z = rd_varint(rd);
        e->delta = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
    } else if (e->kind == ENTRY_RAW) {
        rd_bytes(rd, &e->raw, sizeof(e->raw));
    } else if (e->kind != ENTRY_GONE) {
        rd->bad = 1;
    }
}

/* Apply an entry to a (value, present) pair. */
static void
apply_entry(const struct entry *e, double *v, uint8_t *present)
{
    if (e->kind == ENTRY_GONE) {
        *present = 0;
        return;
    }
    if (e->kind == ENTRY_RAW)
        *v = e->raw;
    else
        *v = (*present ? *v : 0) + (double)e->delta;
    *present = 1;
}

/* Record header at offset off of the byte ring. */
static void
rec_header(const struct ring *r, size_t off, uint32_t *len, int64_t *ts, uint32_t *n,
           struct reader *body)
{
    struct reader rd = {.bytes = r->bytes, .cap = r->cap, .pos = off, .left = REC_HDR};

    rd_bytes(&rd, len, sizeof(*len));
    rd_bytes(&rd, ts, sizeof(*ts));
    rd_bytes(&rd, n, sizeof(*n));
    if (body) {
        body->bytes = r->bytes;
        body->cap = r->cap;
        body->pos = rd.pos;
        body->left = *len - REC_HDR;
        body->bad = 0;
    }
}

static size_t
rec_offset(const struct ring *r, size_t i)
{
    return r->rec_off[(r->rec_first + i) % r->max_records];
}

/* ---- the series table ---- */

static uint32_t *
hash_find(struct ring *r, const char *key)
{
    size_t i = hash_str(key) & r->hash_mask;

    for (;; i = (i + 1) & r->hash_mask) {
        if (r->hash[i] == NO_SLOT || strcmp(r->series[r->hash[i]].key, key) == 0)
            return &r->hash[i];
    }
}

/* Backward-shift deletion keeps linear probing chains intact without tombstones. */
static void
hash_delete(struct ring *r, uint32_t *pos)
{
    size_t i = (size_t)(pos - r->hash), j = i;

    r->hash[i] = NO_SLOT;
    for (;;) {
        size_t k;

        j = (j + 1) & r->hash_mask;
        if (r->hash[j] == NO_SLOT)
            return;
        k = hash_str(r->series[r->hash[j]].key) & r->hash_mask;
        /* Move j back to i unless its home k lies cyclically in (i, j]. */
        if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        r->hash[i] = r->hash[j];
        r->hash[j] = NO_SLOT;
        i = j;
    }
}

static void
family_unref(struct ring *r, uint32_t f)
{
    if (--r->fams[f].refs == 0) {
        free(r->fams[f].name);
        r->fams[f].name = NULL;
    }
}

static int
family_get(struct ring *r, const char *name, enum metric_type type, uint32_t *ret)
{
    uint32_t free_f = NO_SLOT;
    struct family *lf = &r->fams[r->last_fam];

    if (lf->name && lf->type == type && strcmp(lf->name, name) == 0) {
        *ret = r->last_fam;
        return 0;
    }
    for (uint32_t f = 0; f < r->nfam_max; f++) {
        if (!r->fams[f].name) {
            if (free_f == NO_SLOT)
                free_f = f;
        } else if (r->fams[f].type == type && strcmp(r->fams[f].name, name) == 0) {
            r->last_fam = f;
            *ret = f;
            return 0;
        }
    }
    if (free_f == NO_SLOT)
        return -ENOSPC;
    r->fams[free_f].name = strdup(name);
    if (!r->fams[free_f].name)
        return -ENOMEM;
    r->fams[free_f].type = type;
    r->fams[free_f].refs = 0;
    r->last_fam = free_f;
    *ret = free_f;
    return 0;
}

static int
slot_unused(const struct series *s)
{
    return s->key && s->refs == 0 && !s->base_present && !s->cur_present && !s->is_staged;
}

static void
slot_release(struct ring *r, uint32_t slot)
{
    struct series *s = &r->series[slot];

    hash_delete(r, hash_find(r, s->key));
    r->key_bytes -= strlen(s->key) + 1;
    free(s->key);
    s->key = NULL;
    family_unref(r, s->family);
    s->next_free = r->free_head;
    r->free_head = slot;
    r->nseries--;
}

/* Intern key into a slot with a given id (load) or the first free one (slot = NO_SLOT). */
static int
slot_new(struct ring *r, const char *key, uint32_t family, uint32_t want, uint32_t *ret)
{
    uint32_t *pos = hash_find(r, key);
    uint32_t slot;
    struct series *s;

    if (*pos != NO_SLOT)
        return -EEXIST;
    if (want == NO_SLOT) {
        if (r->free_head == NO_SLOT)
            return -ENOSPC;
        slot = r->free_head;
        r->free_head = r->series[slot].next_free;
    } else {
        /* Unlink want from the free list (used only while loading). */
        uint32_t *link = &r->free_head;
        while (*link != NO_SLOT && *link != want)
            link = &r->series[*link].next_free;
        if (*link != want)
            return -EEXIST;
        *link = r->series[want].next_free;
        slot = want;
    }
    s = &r->series[slot];
    memset(s, 0, sizeof(*s));
    s->key = strdup(key);
    if (!s->key) {
        s->next_free = r->free_head;
        r->free_head = slot;
        return -ENOMEM;
    }
    s->family = family;
    r->fams[family].refs++;
    *pos = slot;
    r->key_bytes += strlen(key) + 1;
    r->nseries++;
    *ret = slot;
    return 0;
}

/* ---- life cycle ---- */

static void
reset_tables(struct ring *r)
{
    for (size_t i = 0; i < r->max_series; i++) {
        free(r->series[i].key);
        memset(&r->series[i], 0, sizeof(r->series[i]));
        r->series[i].next_free = i + 1 < r->max_series ? (uint32_t)(i + 1) : NO_SLOT;
    }
    for (size_t i = 0; i < r->nfam_max; i++) {
        free(r->fams[i].name);
        r->fams[i].name = NULL;
        r->fams[i].refs = 0;
    }
    for (size_t i = 0; i <= r->hash_mask; i++)
        r->hash[i] = NO_SLOT;
    r->free_head = 0;
    r->nseries = 0;
    r->last_fam = 0;
    r->key_bytes = 0;
    r->head = r->used = 0;
    r->rec_first = r->nrec = 0;
}

static uint64_t
random_id(void)
{
    uint64_t id = 0;

    if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id)) {
        struct timespec ts;
        (void)clock_gettime(CLOCK_REALTIME, &ts);
        id = fnv_update((uint64_t)ts.tv_nsec * 1000003ULL ^ (uint64_t)ts.tv_sec, &ts, sizeof(ts)) ^
             (uint64_t)getpid();
    }
    return id ? id : 1;
}

int
ring_new(const struct ring_options *opt, struct ring **ret)
{
    struct ring *r;
    size_t hsize = 16;

    if (opt->max_records < 2 || opt->max_series < 1 || opt->max_series >= NO_SLOT / 4)
        return -EINVAL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    (void)pthread_mutex_init(&r->lock, NULL);
    r->max_records = opt->max_records;
    r->max_series = opt->max_series;
    r->nfam_max = opt->max_series;
    r->cap = opt->max_bytes ? opt->max_bytes : opt->max_records * BYTES_PER_RECORD;
    if (r->cap < 4096)
        r->cap = 4096;
    while (hsize < 2 * opt->max_series)
        hsize *= 2;
    r->hash_mask = hsize - 1;
    r->enc_cap = REC_HDR + opt->max_series * ENTRY_MAX;
    r->series = calloc(r->max_series, sizeof(*r->series));
    r->fams = calloc(r->nfam_max, sizeof(*r->fams));
    r->hash = malloc(hsize * sizeof(*r->hash));
    r->bytes = malloc(r->cap);
    r->rec_off = calloc(r->max_records, sizeof(*r->rec_off));
    r->enc = malloc(r->enc_cap);
    r->sa.v = calloc(r->max_series, sizeof(double));
    r->sb.v = calloc(r->max_series, sizeof(double));
    r->sa.present = calloc(r->max_series, 1);
    r->sb.present = calloc(r->max_series, 1);
    r->count = calloc(r->max_series, sizeof(uint32_t));
    r->map = calloc(r->max_series, sizeof(uint32_t));
    if (!r->series || !r->fams || !r->hash || !r->bytes || !r->rec_off || !r->enc || !r->sa.v ||
        !r->sb.v || !r->sa.present || !r->sb.present || !r->count || !r->map) {
        (void)ring_free(r);
        return -ENOMEM;
    }
    reset_tables(r);
    r->ring_id = random_id();
    r->next_seq = 1;
    *ret = r;
    return 0;
}

struct ring *
ring_free(struct ring *r)
{
    if (!r)
        return NULL;
    if (r->series)
        for (size_t i = 0; i < r->max_series; i++)
            free(r->series[i].key);
    if (r->fams)
        for (size_t i = 0; i < r->nfam_max; i++)
            free(r->fams[i].name);
    free(r->series);
    free(r->fams);
    free(r->hash);
    free(r->bytes);
    free(r->rec_off);
    free(r->enc);
    free(r->sa.v);
    free(r->sb.v);
    free(r->sa.present);
    free(r->sb.present);
    free(r->count);
    free(r->map);
    (void)pthread_mutex_destroy(&r->lock);
    free(r);
    return NULL;
}

/* ---- recording ---- */

/* Fold the oldest record into the base state and drop it. */
static void
evict_oldest(struct ring *r)
{
    uint32_t len, n;
    int64_t ts;
    struct reader rd;
    size_t off = rec_offset(r, 0);

    rec_header(r, off, &len, &ts, &n, &rd);
    for (uint32_t i = 0; i < n; i++) {
        struct entry e;
        struct series *s;

        rd_entry(&rd, &e);
        if (rd.bad || e.slot >= r->max_series)
            break; /* cannot happen: we wrote it */
        s = &r->series[e.slot];
        apply_entry(&e, &s->base, &s->base_present);
        s->refs--;
        if (slot_unused(s))
            slot_release(r, e.slot);
    }
    r->head = (off + len) % r->cap;
    r->used -= len;
    r->rec_first = (r->rec_first + 1) % r->max_records;
    r->nrec--;
    if (r->nrec == 0)
        r->head = r->used = 0;
}

static void
ring_write(struct ring *r, size_t off, const void *p, size_t n)
{
    const uint8_t *c = p;
    size_t first = MIN(n, r->cap - off);

    memcpy(r->bytes + off, c, first);
    memcpy(r->bytes, c + first, n - first);
}

void
ring_begin(struct ring *r, int64_t ts_ms)
{
    (void)pthread_mutex_lock(&r->lock);
    r->tick_ts = ts_ms;
}

int
ring_observe(void *ctx, const char *family, enum metric_type type, const char *key, double value)
{
    struct ring *r = ctx;
    uint32_t *pos = hash_find(r, key);
    uint32_t slot = *pos, f;

    if (slot == NO_SLOT) {
        if (family_get(r, family, type, &f) < 0) {
            r->dropped_samples++;
            return 0;
        }
        if (slot_new(r, key, f, NO_SLOT, &slot) < 0) {
            /* A family created just for this series must not outlive the refusal. */
            if (r->fams[f].refs == 0) {
                free(r->fams[f].name);
                r->fams[f].name = NULL;
            }
            r->dropped_samples++;
            return 0;
        }
    }
    r->series[slot].staged = value;
    r->series[slot].is_staged = 1;
    return 0;
}

int64_t
ring_commit(struct ring *r)
{
    size_t len = REC_HDR;
    uint32_t n = 0, len32;
    int64_t seq;

    for (uint32_t i = 0; i < r->max_series; i++) {
        struct series *s = &r->series[i];
        uint8_t *p = r->enc + len;

        if (!s->key)
            continue;
        if (s->is_staged) {
            double prev = s->cur_present ? s->cur : 0;
            if (s->cur_present && same_double(s->cur, s->staged))
                continue;
            if (is_int(s->staged) && is_int(prev)) {
                int64_t d = (int64_t)s->staged - (int64_t)prev;
                len += put_varint(p, ((uint64_t)i << 2) | ENTRY_DELTA);
                len += put_varint(r->enc + len, ((uint64_t)d << 1) ^ (uint64_t)(d >> 63));
            } else {
                len += put_varint(p, ((uint64_t)i << 2) | ENTRY_RAW);
                memcpy(r->enc + len, &s->staged, sizeof(double));
                len += sizeof(double);
            }
        } else if (s->cur_present) {
            len += put_varint(p, ((uint64_t)i << 2) | ENTRY_GONE);
        } else {
            continue;
        }
        n++;
    }
    len32 = (uint32_t)len;
    memcpy(r->enc, &len32, 4);
    memcpy(r->enc + 4, &r->tick_ts, 8);
    memcpy(r->enc + 12, &n, 4);

    if (len > r->cap) {
        /* Cannot be kept even alone: fold what is retained and the tick into the base. */
        while (r->nrec)
            evict_oldest(r);
        r->dropped_records++;
        seq = -E2BIG;
    } else {
        while (r->nrec && (r->used + len > r->cap || r->nrec == r->max_records))
            evict_oldest(r);
        r->rec_off[(r->rec_first + r->nrec) % r->max_records] =
            (uint32_t)((r->head + r->used) % r->cap);
        ring_write(r, (r->head + r->used) % r->cap, r->enc, len);
        r->used += len;
        r->nrec++;
        seq = (int64_t)r->next_seq++;
    }

    for (uint32_t i = 0; i < r->max_series; i++) {
        struct series *s = &r->series[i];
        int changed;

        if (!s->key)
            continue;
        changed = s->is_staged ? !(s->cur_present && same_double(s->cur, s->staged))
                               : s->cur_present;
        if (changed && seq > 0)
            s->refs++;
        if (changed && seq < 0) {
            /* Dropped tick: the base moves with the current state. */
            s->base = s->is_staged ? s->staged : s->base;
            s->base_present = s->is_staged;
        }
        if (s->is_staged)
            s->cur = s->staged;
        s->cur_present = s->is_staged;
        s->is_staged = 0;
        if (slot_unused(s))
            slot_release(r, i);
    }
    (void)pthread_mutex_unlock(&r->lock);
    return seq;
}

void
ring_get_stats(struct ring *r, struct ring_stats *ret)
{
    (void)pthread_mutex_lock(&r->lock);
    memset(ret, 0, sizeof(*ret));
    ret->records = r->nrec;
    ret->newest_seq = r->nrec ? r->next_seq - 1 : 0;
    ret->oldest_seq = r->nrec ? r->next_seq - r->nrec : 0;
    ret->ring_id = r->ring_id;
    ret->series = r->nseries;
    ret->bytes_used = r->used;
    ret->bytes_cap = r->cap;
    ret->memory_bytes = sizeof(*r) + r->max_series * (sizeof(struct series) + 2 * sizeof(double) +
                                                      2 + 2 * sizeof(uint32_t)) +
                        r->nfam_max * sizeof(struct family) +
                        (r->hash_mask + 1) * sizeof(uint32_t) + r->cap +
                        r->max_records * sizeof(uint32_t) + r->enc_cap + r->key_bytes;
    for (size_t i = 0; i < r->nfam_max; i++)
        if (r->fams[i].name)
            ret->memory_bytes += strlen(r->fams[i].name) + 1;
    ret->dropped_samples = r->dropped_samples;
    ret->dropped_records = r->dropped_records;
    (void)pthread_mutex_unlock(&r->lock);
}

/* ---- queries ---- */

struct qseries {
    char *key;
    uint32_t fam;   /* index into q->fams */
    uint32_t first; /* first point */
    uint32_t count;
};

struct qpoint {
    uint32_t rec; /* index into q->ts */
    double v;
};

struct qfam {
    char *name;
    enum metric_type type;
};

struct ring_query {
    uint64_t newest, oldest, ring_id;
    int more;
    size_t nrec;
    int64_t *ts;
    struct qseries *series;
    size_t nseries;
    struct qfam *fams;
    size_t nfams;
    struct qpoint *points;
    size_t npoints;
    /* render position */
    size_t si, pi;
    int done;
};

static void
state_from_base(struct ring *r, struct state *st)
{
    for (size_t i = 0; i < r->max_series; i++) {
        st->v[i] = r->series[i].base;
        st->present[i] = r->series[i].key ? r->series[i].base_present : 0;
    }
}

/* Apply record i to st; returns how many series are present afterwards via *npresent. */
static void
replay_record(struct ring *r, size_t i, struct state *st, size_t *npresent, int64_t *ts)
{
    uint32_t len, n;
    struct reader rd;

    rec_header(r, rec_offset(r, i), &len, ts, &n, &rd);
    for (uint32_t k = 0; k < n; k++) {
        struct entry e;
        uint8_t was;

        rd_entry(&rd, &e);
        if (rd.bad || e.slot >= r->max_series)
            return;
        was = st->present[e.slot];
        apply_entry(&e, &st->v[e.slot], &st->present[e.slot]);
        if (npresent)
            *npresent = *npresent - was + st->present[e.slot];
    }
}

/* Order of a reply: by family name, then by series key (qsort_r comparator). */
static int
cmp_series(const void *a, const void *b, void *ctx)
{
    const struct qseries *x = a, *y = b;
    const struct ring_query *q = ctx;
    int c = strcmp(q->fams[x->fam].name, q->fams[y->fam].name);

    return c ? c : strcmp(x->key, y->key);
}

int
ring_query_new(struct ring *r, uint64_t since, size_t limit, struct ring_query **ret)
{
    struct ring_query *q = calloc(1, sizeof(*q));
    size_t start = 0, nsel = 0, npresent = 0, total = 0;
    uint64_t oldest;
    uint32_t *fmap = NULL;
    int64_t ts;
    int rc = -ENOMEM;

    if (!q)
        return -ENOMEM;
    if (limit == 0)
        limit = RING_LIMIT_DEFAULT;
    limit = MIN(limit, (size_t)RING_LIMIT_MAX);
    (void)pthread_mutex_lock(&r->lock);
    oldest = r->nrec ? r->next_seq - r->nrec : 0;
    q->ring_id = r->ring_id;
    q->oldest = oldest;
    q->newest = since;

    /* State just before the first record to send. */
    state_from_base(r, &r->sa);
    for (size_t i = 0; i < r->max_series; i++)
        npresent += r->sa.present[i];
    if (r->nrec && since >= oldest)
        start = since - oldest + 1 > r->nrec ? r->nrec : (size_t)(since - oldest + 1);
    for (size_t i = 0; i < start; i++)
        replay_record(r, i, &r->sa, &npresent, &ts);
    memcpy(r->sb.v, r->sa.v, r->max_series * sizeof(double));
    memcpy(r->sb.present, r->sa.present, r->max_series);

    /* Pass 1: how many records fit, and how many points each series gets. */
    memset(r->count, 0, r->max_series * sizeof(uint32_t));
    for (size_t i = start; i < r->nrec && nsel < limit; i++) {
        size_t np = npresent;
        replay_record(r, i, &r->sa, &np, &ts);
        if (nsel > 0 && total + np > RING_POINTS_MAX)
            break;
        npresent = np;
        total += np;
        nsel++;
        for (size_t k = 0; k < r->max_series; k++)
            r->count[k] += r->sa.present[k];
    }
    q->more = start + nsel < r->nrec;
    q->nrec = nsel;
    if (nsel)
        q->newest = oldest + start + nsel - 1;

    q->ts = calloc(nsel ? nsel : 1, sizeof(*q->ts));
    q->points = calloc(total ? total : 1, sizeof(*q->points));
    fmap = malloc(r->nfam_max * sizeof(*fmap));
    if (!q->ts || !q->points || !fmap)
        goto out;
    for (size_t f = 0; f < r->nfam_max; f++)
        fmap[f] = NO_SLOT;
    for (size_t k = 0; k < r->max_series; k++)
        if (r->count[k]) {
            q->nseries++;
            if (fmap[r->series[k].family] == NO_SLOT)
                fmap[r->series[k].family] = (uint32_t)q->nfams++;
        }
    q->series = calloc(q->nseries ? q->nseries : 1, sizeof(*q->series));
    q->fams = calloc(q->nfams ? q->nfams : 1, sizeof(*q->fams));
    if (!q->series || !q->fams)
        goto out;
    for (size_t f = 0; f < r->nfam_max; f++) {
        if (fmap[f] == NO_SLOT)
            continue;
        q->fams[fmap[f]].name = strdup(r->fams[f].name);
        q->fams[fmap[f]].type = r->fams[f].type;
        if (!q->fams[fmap[f]].name)
            goto out;
    }
    {
        size_t si = 0, first = 0;
        for (size_t k = 0; k < r->max_series; k++) {
            if (!r->count[k])
                continue;
            q->series[si].key = strdup(r->series[k].key);
            if (!q->series[si].key)
                goto out;
            q->series[si].fam = fmap[r->series[k].family];
            q->series[si].first = (uint32_t)first;
            first += r->count[k];
            r->map[k] = (uint32_t)si++;
        }
    }

    /* Pass 2: replay again from the saved state and fill the points in time order. */
    memcpy(r->sa.v, r->sb.v, r->max_series * sizeof(double));
    memcpy(r->sa.present, r->sb.present, r->max_series);
    for (size_t j = 0; j < nsel; j++) {
        replay_record(r, start + j, &r->sa, NULL, &q->ts[j]);
        for (size_t k = 0; k < r->max_series; k++) {
            struct qseries *qs;
            if (!r->sa.present[k])
                continue;
            qs = &q->series[r->map[k]];
            q->points[qs->first + qs->count++] = (struct qpoint){(uint32_t)j, r->sa.v[k]};
        }
    }
    q->npoints = total;
    rc = 0;
out:
    (void)pthread_mutex_unlock(&r->lock);
    free(fmap);
    if (rc < 0) {
        (void)ring_query_free(q);
        return rc;
    }
    qsort_r(q->series, q->nseries, sizeof(*q->series), cmp_series, q);
    *ret = q;
    return 0;
}

uint64_t
ring_query_newest(const struct ring_query *q)
{
    return q->newest;
}

uint64_t
ring_query_oldest(const struct ring_query *q)
{
    return q->oldest;
}

uint64_t
ring_query_ring_id(const struct ring_query *q)
{
    return q->ring_id;
}

int
ring_query_more(const struct ring_query *q)
{
    return q->more;
}

size_t
ring_query_records(const struct ring_query *q)
{
    return q->nrec;
}

/* OpenMetrics family line: counters lose their "_total" (samples keep it); others map 1:1. */
static int
render_family(struct buf *out, const struct qfam *f)
{
    size_t n = strlen(f->name);

    if (f->type == METRIC_COUNTER && n > 6 && strcmp(f->name + n - 6, "_total") == 0)
        return buf_printf(out, "# TYPE %.*s counter\n", (int)(n - 6), f->name);
    if (f->type == METRIC_GAUGE)
        return buf_printf(out, "# TYPE %s gauge\n", f->name);
    return buf_printf(out, "# TYPE %s unknown\n", f->name);
}

int
ring_query_render(struct ring_query *q, struct buf *out, size_t chunk)
{
    struct expo_writer w;
    int r;

    if (q->done)
        return 0;
    expo_writer_init(&w, out, EXPO_OPENMETRICS);
    while (q->si < q->nseries) {
        struct qseries *s = &q->series[q->si];

        if (q->pi == 0 && (q->si == 0 || q->series[q->si - 1].fam != s->fam)) {
            r = render_family(out, &q->fams[s->fam]);
            if (r < 0)
                return r;
        }
        for (; q->pi < s->count; q->pi++) {
            const struct qpoint *p = &q->points[s->first + q->pi];
            r = expo_sample_key(&w, s->key, p->v, q->ts[p->rec], 1);
            if (r < 0)
                return r;
            if (out->len >= chunk) {
                q->pi++;
                if (q->pi == s->count) {
                    q->pi = 0;
                    q->si++;
                }
                return 1;
            }
        }
        q->pi = 0;
        q->si++;
    }
    r = expo_finish(&w);
    if (r < 0)
        return r;
    q->done = 1;
    return 0;
}

struct ring_query *
ring_query_free(struct ring_query *q)
{
    if (!q)
        return NULL;
    if (q->series)
        for (size_t i = 0; i < q->nseries; i++)
            free(q->series[i].key);
    if (q->fams)
        for (size_t i = 0; i < q->nfams; i++)
            free(q->fams[i].name);
    free(q->series);
    free(q->fams);
    free(q->points);
    free(q->ts);
    free(q);
    return NULL;
}

/* ---- persistence ---- */

#define FILE_MAGIC "SOAKRNG1"
#define FILE_VERSION 1

struct file_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size;
    uint64_t ring_id;
    uint64_t next_seq;
    uint32_t nrec;
    uint32_t nfam;
    uint32_t nseries;
    uint32_t reserved;
    uint64_t bytes_len;  /* record bytes */
    uint64_t body_len;   /* everything after the header */
    uint64_t checksum;   /* FNV-1a 64 of the body */
};

struct wfile {
    int fd;
    uint8_t buf[16384];
    size_t n;
    uint64_t sum, total;
    int err;
};

static void
wf_flush(struct wfile *wf)
{
    size_t off = 0;

    while (!wf->err && off < wf->n) {
        ssize_t k = write(wf->fd, wf->buf + off, wf->n - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            wf->err = -errno;
        else
            off += (size_t)k;
    }
    wf->n = 0;
}

static void
wf_put(struct wfile *wf, const void *p, size_t n)
{
    const uint8_t *c = p;

    wf->sum = fnv_update(wf->sum, p, n);
    wf->total += n;
    while (n) {
        size_t k = MIN(n, sizeof(wf->buf) - wf->n);
        memcpy(wf->buf + wf->n, c, k);
        wf->n += k;
        c += k;
        n -= k;
        if (wf->n == sizeof(wf->buf))
            wf_flush(wf);
    }
}

static void
wf_str(struct wfile *wf, const char *s)
{
    uint16_t n = (uint16_t)strlen(s);

    wf_put(wf, &n, sizeof(n));
    wf_put(wf, s, n);
}

int
ring_save(struct ring *r, const char *path)
{
    char tmp[4096], dir[4096];
    struct file_header h = {.version = FILE_VERSION, .header_size = sizeof(h)};
    struct wfile *wf;
    const char *slash;
    int rc = 0;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return -ENAMETOOLONG;
    wf = calloc(1, sizeof(*wf));
    if (!wf)
        return -ENOMEM;
    wf->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (wf->fd < 0) {
        rc = -errno;
        free(wf);
        return rc;
    }
    wf->sum = 1469598103934665603ULL;
    memcpy(h.magic, FILE_MAGIC, 8);
    /* Room for the header; it is written last, once the checksum is known. */
    if (lseek(wf->fd, sizeof(h), SEEK_SET) < 0)
        wf->err = -errno;

    (void)pthread_mutex_lock(&r->lock);
    h.ring_id = r->ring_id;
    h.next_seq = r->next_seq;
    h.nrec = (uint32_t)r->nrec;
    h.bytes_len = r->used;
    for (uint32_t f = 0; f < r->nfam_max; f++) {
        uint8_t t;
        if (!r->fams[f].name)
            continue;
        t = (uint8_t)r->fams[f].type;
        wf_put(wf, &f, sizeof(f));
        wf_put(wf, &t, 1);
        wf_str(wf, r->fams[f].name);
        h.nfam++;
    }
    for (uint32_t i = 0; i < r->max_series; i++) {
        const struct series *s = &r->series[i];
        if (!s->key)
            continue;
        wf_put(wf, &i, sizeof(i));
        wf_put(wf, &s->family, sizeof(s->family));
        wf_put(wf, &s->base_present, 1);
        wf_put(wf, &s->base, sizeof(s->base));
        wf_str(wf, s->key);
        h.nseries++;
    }
    if (r->used) {
        size_t first = MIN(r->used, r->cap - r->head);
        wf_put(wf, r->bytes + r->head, first);
        wf_put(wf, r->bytes, r->used - first);
    }
    wf_flush(wf);
    (void)pthread_mutex_unlock(&r->lock);

    h.body_len = wf->total;
    h.checksum = wf->sum;
    if (!wf->err && pwrite(wf->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
        wf->err = -EIO;
    if (!wf->err && fsync(wf->fd) < 0)
        wf->err = -errno;
    if (close(wf->fd) < 0 && !wf->err)
        wf->err = -errno;
    rc = wf->err;
    free(wf);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0) {
        (void)unlink(tmp);
        return rc;
    }
    /* Make the rename itself durable. */
    slash = strrchr(path, '/');
    if (slash && (size_t)(slash - path) < sizeof(dir)) {
        int dfd;
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash == path ? 1 : slash - path] = '\0';
        if (slash == path)
            dir[0] = '/';
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            (void)close(dfd);
        }
    }
    return 0;
}

static int
rd_str(struct reader *rd, char *out, size_t size)
{
    uint16_t n;

    rd_bytes(rd, &n, sizeof(n));
    if (rd->bad || n == 0 || n >= size || n > rd->left)
        return -EBADMSG;
    rd_bytes(rd, out, n);
    out[n] = '\0';
    return memchr(out, '\0', n) ? -EBADMSG : 0;
}

/* Parse a validated-checksum body into the (empty) ring. */
static int
load_body(struct ring *r, const struct file_header *h, const uint8_t *body)
{
    struct reader rd = {.bytes = body, .cap = h->body_len, .left = h->body_len};
    char *str = malloc(EXPO_KEY_MAX + 1);
    int rc = -EBADMSG;

    if (!str)
        return -ENOMEM;
    for (uint32_t k = 0; k < h->nfam; k++) {
        uint32_t f;
        uint8_t t;
        rd_bytes(&rd, &f, sizeof(f));
        rd_bytes(&rd, &t, 1);
        if (rd.bad || f >= r->nfam_max || r->fams[f].name || t >= _METRIC_TYPE_MAX ||
            rd_str(&rd, str, EXPO_KEY_MAX + 1) < 0)
            goto out;
        r->fams[f].name = strdup(str);
        if (!r->fams[f].name) {
            rc = -ENOMEM;
            goto out;
        }
        r->fams[f].type = (enum metric_type)t;
    }
    for (uint32_t k = 0; k < h->nseries; k++) {
        uint32_t slot, fam;
        uint8_t bp;
        double base;
        rd_bytes(&rd, &slot, sizeof(slot));
        rd_bytes(&rd, &fam, sizeof(fam));
        rd_bytes(&rd, &bp, 1);
        rd_bytes(&rd, &base, sizeof(base));
        if (rd.bad || slot >= r->max_series || fam >= r->nfam_max || !r->fams[fam].name ||
            bp > 1 || rd_str(&rd, str, EXPO_KEY_MAX + 1) < 0 ||
            slot_new(r, str, fam, slot, &slot) < 0)
            goto out;
        r->series[slot].base = base;
        r->series[slot].base_present = bp;
    }
    if (rd.left != h->bytes_len)
        goto out;
    /* Records: lengths must chain exactly; entries must name existing slots. */
    memcpy(r->bytes, body + rd.pos, h->bytes_len);
    r->head = 0;
    r->used = h->bytes_len;
    for (size_t off = 0; off < h->bytes_len;) {
        uint32_t len, n;
        int64_t ts;
        struct reader e;

        if (h->bytes_len - off < REC_HDR || r->nrec >= h->nrec)
            goto out;
        rec_header(r, off, &len, &ts, &n, NULL);
        if (len < REC_HDR || len > h->bytes_len - off)
            goto out;
        rec_header(r, off, &len, &ts, &n, &e);
        for (uint32_t i = 0; i < n; i++) {
            struct entry en;
            rd_entry(&e, &en);
            if (e.bad || en.slot >= r->max_series || !r->series[en.slot].key)
                goto out;
            r->series[en.slot].refs++;
        }
        if (e.left != 0)
            goto out;
        r->rec_off[r->nrec++] = (uint32_t)off;
        off += len;
    }
    if (r->nrec != h->nrec)
        goto out;
    /* The current state is the base plus every record. */
    state_from_base(r, &r->sa);
    for (size_t i = 0; i < r->nrec; i++) {
        int64_t ts;
        replay_record(r, i, &r->sa, NULL, &ts);
    }
    for (size_t i = 0; i < r->max_series; i++) {
        r->series[i].cur = r->sa.v[i];
        r->series[i].cur_present = r->sa.present[i];
    }
    for (uint32_t i = 0; i < r->max_series; i++)
        if (slot_unused(&r->series[i]))
            goto out; /* a slot nothing refers to: not something we write */
    for (uint32_t f = 0; f < r->nfam_max; f++)
        if (r->fams[f].name && r->fams[f].refs == 0)
            goto out;
    r->ring_id = h->ring_id;
    r->next_seq = h->next_seq;
    rc = 0;
out:
    free(str);
    return rc;
}

int
ring_load(struct ring *r, const char *path)
{
    struct file_header h;
    uint8_t *body = NULL;
    struct stat st;
    int fd, rc;
    ssize_t k;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        (void)close(fd);
        return rc;
    }
    k = pread(fd, &h, sizeof(h), 0);
    rc = -EBADMSG;
    if (k != (ssize_t)sizeof(h) || memcmp(h.magic, FILE_MAGIC, 8) != 0 ||
        h.version != FILE_VERSION || h.header_size != sizeof(h) ||
        (uint64_t)st.st_size != sizeof(h) + h.body_len || h.bytes_len > r->cap ||
        h.bytes_len > h.body_len || h.nrec > r->max_records || h.nseries > r->max_series ||
        h.nfam > r->nfam_max || h.next_seq < (uint64_t)h.nrec + 1 || h.ring_id == 0)
        goto out_close;
    body = malloc(h.body_len ? h.body_len : 1);
    if (!body) {
        rc = -ENOMEM;
        goto out_close;
    }
    k = pread(fd, body, h.body_len, sizeof(h));
    if (k != (ssize_t)h.body_len || fnv_update(1469598103934665603ULL, body, h.body_len) !=
                                        h.checksum)
        goto out_close;

    (void)pthread_mutex_lock(&r->lock);
    if (r->nrec || r->next_seq != 1) {
        rc = -EBUSY;
    } else {
        rc = load_body(r, &h, body);
        if (rc < 0)
            reset_tables(r);
    }
    (void)pthread_mutex_unlock(&r->lock);
out_close:
    free(body);
    (void)close(fd);
    return rc;
}
