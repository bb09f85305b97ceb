/* SPDX-License-Identifier: MIT */
#include "store-chunk.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define RAW_MAX (16u << 20) /* largest raw stream we accept when decoding, bytes */

enum {
    VAL_INT_DOD = 0,
    VAL_INT_DELTA = 1,
    VAL_FLOAT_XOR = 2,
};

enum {
    BLOB_RAW = 0,
    BLOB_ZSTD = 1,
};

/* The sample_array helpers of store.h live here so the codec links alone (fuzzing). */
int
sample_array_push(struct sample_array *a, int64_t t_ms, double v)
{
    if (a->n == a->cap) {
        /* Small first: a poller's series gets one sample per commit (a fast malloc). */
        size_t cap = a->cap ? a->cap * 2 : 4;
        struct sample *s = realloc(a->s, cap * sizeof(*s));
        if (!s)
            return -ENOMEM;
        a->s = s;
        a->cap = cap;
    }
    a->s[a->n].t_ms = t_ms;
    a->s[a->n].v = v;
    a->n++;
    return 0;
}

void
sample_array_free(struct sample_array *a)
{
    free(a->s);
    a->s = NULL;
    a->n = 0;
    a->cap = 0;
}

int
chunk_codec_init(struct chunk_codec *cc)
{
    memset(cc, 0, sizeof(*cc));
    buf_init(&cc->raw, RAW_MAX);
    buf_init(&cc->blob, RAW_MAX + 64);
    cc->cctx = ZSTD_createCCtx();
    cc->dctx = ZSTD_createDCtx();
    if (!cc->cctx || !cc->dctx) {
        chunk_codec_done(cc);
        return -ENOMEM;
    }
    /* No checksum, dictionary id or content size: SQLite/PG keep the bytes safe. */
    (void)ZSTD_CCtx_setParameter(cc->cctx, ZSTD_c_compressionLevel, CHUNK_ZSTD_LEVEL);
    (void)ZSTD_CCtx_setParameter(cc->cctx, ZSTD_c_checksumFlag, 0);
    (void)ZSTD_CCtx_setParameter(cc->cctx, ZSTD_c_contentSizeFlag, 0);
    (void)ZSTD_CCtx_setParameter(cc->cctx, ZSTD_c_dictIDFlag, 0);
    return 0;
}

void
chunk_codec_done(struct chunk_codec *cc)
{
    ZSTD_freeCCtx(cc->cctx);
    ZSTD_freeDCtx(cc->dctx);
    cc->cctx = NULL;
    cc->dctx = NULL;
    buf_free(&cc->raw);
    buf_free(&cc->blob);
}

static uint64_t
zigzag(uint64_t x)
{
    return (x << 1) ^ (uint64_t)((int64_t)x >> 63);
}

static uint64_t
unzigzag(uint64_t x)
{
    return (x >> 1) ^ (uint64_t) - (int64_t)(x & 1);
}

static size_t
varint_len(uint64_t x)
{
    size_t n = 1;
    while (x >= 0x80) {
        x >>= 7;
        n++;
    }
    return n;
}

static int
put_varint(struct buf *b, uint64_t x)
{
    unsigned char tmp[10];
    size_t n = 0;

    while (x >= 0x80) {
        tmp[n++] = (unsigned char)(x | 0x80);
        x >>= 7;
    }
    tmp[n++] = (unsigned char)x;
    return buf_append(b, tmp, n);
}

struct rd {
    const unsigned char *p;
    const unsigned char *end;
};

static int
get_varint(struct rd *r, uint64_t *ret)
{
    uint64_t x = 0;

    for (unsigned shift = 0; shift < 64; shift += 7) {
        unsigned char c;
        if (r->p >= r->end)
            return -EBADMSG;
        c = *r->p++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *ret = x;
            return 0;
        }
    }
    return -EBADMSG;
}

static int
is_int_value(double v)
{
    return isfinite(v) && fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v &&
           !(v == 0 && signbit(v));
}

static int
encode_raw(struct buf *b, const struct sample *s, size_t n)
{
    uint64_t prev_t, prev_d = 0;
    int all_int = 1, r;
    size_t len_dod = 0, len_delta = 0;

    r = put_varint(b, n);
    if (r == 0)
        r = put_varint(b, zigzag((uint64_t)s[0].t_ms));
    prev_t = (uint64_t)s[0].t_ms;
    for (size_t i = 1; r == 0 && i < n; i++) {
        uint64_t d = (uint64_t)s[i].t_ms - prev_t;
        r = put_varint(b, zigzag(d - prev_d));
        prev_d = d;
        prev_t = (uint64_t)s[i].t_ms;
    }
    if (r < 0)
        return r;
    for (size_t i = 0; i < n && all_int; i++)
        all_int = is_int_value(s[i].v);
    if (all_int) {
        int64_t pd = 0;
        for (size_t i = 1; i < n; i++) {
            int64_t d = (int64_t)s[i].v - (int64_t)s[i - 1].v;
            len_delta += varint_len(zigzag((uint64_t)d));
            len_dod += varint_len(zigzag((uint64_t)(d - pd)));
            pd = d;
        }
        int mode = len_dod <= len_delta ? VAL_INT_DOD : VAL_INT_DELTA;
        int64_t prev = (int64_t)s[0].v;
        pd = 0;
        r = buf_putc(b, (char)mode);
        if (r == 0)
            r = put_varint(b, zigzag((uint64_t)prev));
        for (size_t i = 1; r == 0 && i < n; i++) {
            int64_t cur = (int64_t)s[i].v, d = cur - prev;
            r = put_varint(b, zigzag((uint64_t)(mode == VAL_INT_DOD ? d - pd : d)));
            pd = d;
            prev = cur;
        }
        return r;
    }
    {
        uint64_t prev = chunk_d2bits(s[0].v);
        unsigned char first[8];
        for (int k = 0; k < 8; k++)
            first[k] = (unsigned char)(prev >> (56 - 8 * k));
        r = buf_putc(b, VAL_FLOAT_XOR);
        if (r == 0)
            r = buf_append(b, first, 8);
        for (size_t i = 1; r == 0 && i < n; i++) {
            uint64_t cur = chunk_d2bits(s[i].v), x = cur ^ prev;
            unsigned char tmp[9];
            size_t m = 0;
            if (x == 0) {
                r = buf_putc(b, 0);
            } else {
                int lz = __builtin_clzll(x) / 8, tz = __builtin_ctzll(x) / 8;
                tmp[m++] = (unsigned char)(1 + lz * 8 + tz);
                for (int k = 7 - lz; k >= tz; k--)
                    tmp[m++] = (unsigned char)(x >> (8 * k));
                r = buf_append(b, tmp, m);
            }
            prev = cur;
        }
    }
    return r;
}

int
chunk_encode(struct chunk_codec *cc, const struct sample *s, size_t n)
{
    unsigned char hdr[11];
    size_t h = 1, bound, z;
    uint64_t len;
    int r;

    if (n == 0)
        return -EINVAL;
    buf_reset(&cc->raw);
    r = encode_raw(&cc->raw, s, n);
    if (r < 0)
        return r;
    len = cc->raw.len;
    for (uint64_t x = len; x >= 0x80; x >>= 7)
        hdr[h++] = (unsigned char)(x | 0x80);
    {
        uint64_t x = len;
        while (x >= 0x80)
            x >>= 7;
        hdr[h++] = (unsigned char)x;
    }
    bound = ZSTD_compressBound(cc->raw.len);
    buf_reset(&cc->blob);
    r = buf_reserve(&cc->blob, h + bound + 1);
    if (r < 0)
        return r;
    z = ZSTD_compress2(cc->cctx, cc->blob.data + h, bound, cc->raw.data, cc->raw.len);
    if (!ZSTD_isError(z) && z < cc->raw.len) {
        hdr[0] = BLOB_ZSTD;
        memcpy(cc->blob.data, hdr, h);
        cc->blob.len = h + z;
        cc->blob.data[cc->blob.len] = '\0';
        return 0;
    }
    hdr[0] = BLOB_RAW;
    r = buf_append(&cc->blob, hdr, h);
    if (r == 0)
        r = buf_append(&cc->blob, cc->raw.data, cc->raw.len);
    return r;
}

static int
decode_raw(const unsigned char *p, size_t len, struct sample_array *out)
{
    struct rd rd = {p, p + len};
    uint64_t n, x, t, d = 0;
    size_t base = out->n;
    int r, mode;

    if (get_varint(&rd, &n) < 0 || n == 0 || n > len)
        return -EBADMSG;
    if (get_varint(&rd, &x) < 0)
        return -EBADMSG;
    t = unzigzag(x);
    r = sample_array_push(out, (int64_t)t, 0);
    if (r < 0)
        return r;
    for (uint64_t i = 1; i < n; i++) {
        if (get_varint(&rd, &x) < 0)
            goto bad;
        d += unzigzag(x);
        t += d;
        /* The encoder writes sorted, distinct times: anything else is damage. */
        if ((int64_t)t <= out->s[out->n - 1].t_ms)
            goto bad;
        r = sample_array_push(out, (int64_t)t, 0);
        if (r < 0)
            return r;
    }
    if (rd.p >= rd.end)
        goto bad;
    mode = *rd.p++;
    if (mode == VAL_INT_DOD || mode == VAL_INT_DELTA) {
        int64_t v, pd = 0;
        if (get_varint(&rd, &x) < 0)
            goto bad;
        v = (int64_t)unzigzag(x);
        out->s[base].v = (double)v;
        for (uint64_t i = 1; i < n; i++) {
            int64_t dv;
            if (get_varint(&rd, &x) < 0)
                goto bad;
            dv = (int64_t)unzigzag(x);
            if (mode == VAL_INT_DOD)
                dv += pd;
            pd = dv;
            v += dv;
            out->s[base + i].v = (double)v;
        }
    } else if (mode == VAL_FLOAT_XOR) {
        uint64_t v = 0;
        if (rd.end - rd.p < 8)
            goto bad;
        for (int k = 0; k < 8; k++)
            v = (v << 8) | *rd.p++;
        out->s[base].v = chunk_bits2d(v);
        for (uint64_t i = 1; i < n; i++) {
            unsigned c;
            if (rd.p >= rd.end)
                goto bad;
            c = *rd.p++;
            if (c > 0) {
                int lz, tz;
                uint64_t xo = 0;
                c--;
                lz = (int)(c / 8);
                tz = (int)(c % 8);
                if (lz + tz > 7 || rd.end - rd.p < 8 - lz - tz)
                    goto bad;
                for (int k = 7 - lz; k >= tz; k--)
                    xo |= (uint64_t)*rd.p++ << (8 * k);
                v ^= xo;
            }
            out->s[base + i].v = chunk_bits2d(v);
        }
    } else {
        goto bad;
    }
    if (rd.p != rd.end)
        goto bad;
    return (int)n;
bad:
    out->n = base;
    return -EBADMSG;
}

int
chunk_decode(struct chunk_codec *cc, const void *blob, size_t len, struct sample_array *out)
{
    struct rd rd = {blob, (const unsigned char *)blob + len};
    uint64_t rawlen;
    int fmt, r;
    size_t z;

    if (len < 2)
        return -EBADMSG;
    fmt = *rd.p++;
    if (get_varint(&rd, &rawlen) < 0 || rawlen == 0 || rawlen > RAW_MAX)
        return -EBADMSG;
    if (fmt == BLOB_RAW) {
        if ((uint64_t)(rd.end - rd.p) != rawlen)
            return -EBADMSG;
        return decode_raw(rd.p, rawlen, out);
    }
    if (fmt != BLOB_ZSTD)
        return -EBADMSG;
    buf_reset(&cc->raw);
    r = buf_reserve(&cc->raw, rawlen + 1);
    if (r < 0)
        return r;
    z = ZSTD_decompressDCtx(cc->dctx, cc->raw.data, rawlen, rd.p, (size_t)(rd.end - rd.p));
    if (ZSTD_isError(z) || z != rawlen)
        return -EBADMSG;
    return decode_raw((const unsigned char *)cc->raw.data, rawlen, out);
}

int
chunk_encode_split(struct chunk_codec *cc, const struct sample *s, size_t n, size_t max_samples,
                   chunk_emit_fn fn, void *ctx)
{
    while (n > 0) {
        size_t take = MIN(n, max_samples);
        int r;
        for (;;) {
            r = chunk_encode(cc, s, take);
            if (r < 0)
                return r;
            if (cc->blob.len <= CHUNK_BLOB_MAX || take == 1)
                break;
            take /= 2;
        }
        r = fn(ctx, s, take, cc->blob.data, cc->blob.len);
        if (r < 0)
            return r;
        s += take;
        n -= take;
    }
    return 0;
}

/* ---- head records ---- */

#define HREC_FORMAT 1
#define HREC_MAX (64u << 20) /* entries of one record we accept when decoding */

int
hrec_array_reserve(struct hrec_array *a, size_t more)
{
    size_t cap;
    struct hrec_entry *e;

    if (a->cap - a->n >= more)
        return 0;
    cap = a->cap ? a->cap : 256;
    while (cap - a->n < more)
        cap *= 2;
    e = realloc(a->e, cap * sizeof(*e));
    if (!e)
        return -ENOMEM;
    a->e = e;
    a->cap = cap;
    return 0;
}

void
hrec_array_free(struct hrec_array *a)
{
    free(a->e);
    a->e = NULL;
    a->n = 0;
    a->cap = 0;
}

static unsigned char *
put_varint_p(unsigned char *p, uint64_t x)
{
    while (x >= 0x80) {
        *p++ = (unsigned char)(x | 0x80);
        x >>= 7;
    }
    *p++ = (unsigned char)x;
    return p;
}

int
hrec_encode(struct buf *out, const struct hrec_entry *e, size_t n)
{
    unsigned char *p0, *p;
    int64_t prev = -1;
    int r;

    buf_reset(out);
    /* Worst case: 10 bytes of gap varint + 8 value bytes an entry. */
    if (n > (out->max - 16) / 18)
        return -E2BIG;
    r = buf_reserve(out, 16 + n * 18 + 1);
    if (r < 0)
        return r;
    p0 = p = (unsigned char *)out->data;
    *p++ = HREC_FORMAT;
    p = put_varint_p(p, n);
    for (size_t i = 0; i < n; i++) {
        double v;
        int is_int;
        if (e[i].sid <= prev)
            return -EINVAL;
        memcpy(&v, &e[i].bits, sizeof(v));
        is_int = is_int_value(v);
        p = put_varint_p(p, (uint64_t)(e[i].sid - prev - 1) << 1 | (uint64_t)is_int);
        if (is_int) {
            p = put_varint_p(p, zigzag((uint64_t)(int64_t)v));
        } else {
            for (int k = 0; k < 8; k++)
                *p++ = (unsigned char)(e[i].bits >> (8 * k));
        }
        prev = e[i].sid;
    }
    out->len = (size_t)(p - p0);
    out->data[out->len] = '\0';
    return 0;
}

int
hrec_decode(const void *blob, size_t len, struct hrec_array *out)
{
    struct rd rd = {blob, (const unsigned char *)blob + len};
    uint64_t n, x;
    int64_t prev = -1;
    size_t n0 = out->n;
    int r;

    if (len < 2 || rd.p[0] != HREC_FORMAT)
        return -EBADMSG;
    rd.p++;
    r = get_varint(&rd, &n);
    /* Every entry takes at least two bytes. */
    if (r < 0 || n > HREC_MAX || n > (uint64_t)(rd.end - rd.p) / 2)
        return -EBADMSG;
    r = hrec_array_reserve(out, (size_t)n);
    if (r < 0)
        return r;
    for (uint64_t i = 0; i < n; i++) {
        struct hrec_entry *e = &out->e[out->n];
        uint64_t gap;
        if (get_varint(&rd, &x) < 0)
            goto bad;
        gap = x >> 1;
        /* sid = prev + 1 + gap must stay <= INT64_MAX (prev may be INT64_MAX already). */
        if (prev == INT64_MAX || gap > (uint64_t)(INT64_MAX - 1 - prev))
            goto bad;
        e->sid = prev + 1 + (int64_t)gap;
        if (x & 1) {
            uint64_t z;
            if (get_varint(&rd, &z) < 0)
                goto bad;
            e->bits = chunk_d2bits((double)(int64_t)unzigzag(z));
        } else {
            if (rd.end - rd.p < 8)
                goto bad;
            e->bits = 0;
            for (int k = 0; k < 8; k++)
                e->bits |= (uint64_t)rd.p[k] << (8 * k);
            rd.p += 8;
        }
        prev = e->sid;
        out->n++;
    }
    if (rd.p != rd.end)
        goto bad;
    return (int)(out->n - n0);
bad:
    out->n = n0;
    return -EBADMSG;
}
