/* SPDX-License-Identifier: MIT */
/*
 * store-chunk.h - the compressed encoding of a run of samples of one series,
 * shared by both store back ends (a chunk is one BLOB/BYTEA row).
 *
 * Layout of the raw stream (before zstd):
 *   varint n, zigzag varint t0, then n-1 zigzag varints of the timestamp
 *   delta-of-delta (the first one is the plain delta);
 *   value mode byte: 0 = integers, delta-of-delta as zigzag varints (counters,
 *   byte counts); 1 = integers, deltas; 2 = floats, byte-wise XOR with the
 *   previous value (a control byte: 0 = same, else 1 + leading*8 + trailing zero
 *   bytes, followed by the middle bytes); first value stored as 8 raw bytes in
 *   float mode, as a zigzag varint in integer modes.
 * The blob is one format byte (0 raw, 1 zstd without magic) + varint raw length
 * + payload. zstd is used only when it makes the blob smaller.
 */
#ifndef SOAK_STORE_CHUNK_H
#define SOAK_STORE_CHUNK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "store.h"

#define CHUNK_SAMPLES 480   /* samples per chunk written by compaction (8 h at 1/min) */
#define CHUNK_BLOB_MAX 3000 /* a chunk that compresses worse is split (bytes) */

#define CHUNK_ZSTD_LEVEL 9 /* small inputs: a high level costs little */

/* Compression contexts and scratch buffers; one per store. */
struct chunk_codec {
    void *cctx;      /* ZSTD_CCtx */
    void *dctx;      /* ZSTD_DCtx */
    struct buf raw;  /* the uncompressed stream */
    struct buf blob; /* the last encoded blob */
};

/* Set up / tear down a codec. 0 or -ENOMEM. */
_warn_unused_result_ int chunk_codec_init(struct chunk_codec *cc);
void chunk_codec_done(struct chunk_codec *cc);

/*
 * Encode n >= 1 samples (sorted by time, distinct times) into cc->blob (reset first).
 * 0 or error.
 */
_warn_unused_result_ int chunk_encode(struct chunk_codec *cc, const struct sample *s, size_t n);

/* Decode a blob, appending its samples to out. Number added, -EBADMSG if corrupt. */
_warn_unused_result_ int chunk_decode(struct chunk_codec *cc, const void *blob, size_t len,
                                      struct sample_array *out);

/*
 * Encode n samples as blobs of at most max_samples samples and (unless a single sample)
 * at most CHUNK_BLOB_MAX bytes, calling fn for each with its samples. 0 or the first error.
 */
typedef int (*chunk_emit_fn)(void *ctx, const struct sample *s, size_t n, const void *blob,
                             size_t len);
_warn_unused_result_ int chunk_encode_split(struct chunk_codec *cc, const struct sample *s,
                                            size_t n, size_t max_samples, chunk_emit_fn fn,
                                            void *ctx);

/* The bits of a double and back: values are stored bit-exactly (NaN payloads, -0). */
static inline uint64_t
chunk_d2bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

static inline double
chunk_bits2d(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

/*
 * Head records: the samples of one device at one time (one poll), one row each.
 * Layout: format byte 1, varint n, then n entries sorted by series id, distinct:
 *   varint ((sid - previous sid - 1) << 1 | is_int)   (previous sid starts at -1)
 *   is_int: zigzag varint of the integer value (|v| < 2^53, not -0);
 *   else:   the 8 bytes of the double, little-endian (NaN payloads, -0 kept).
 */
#define HREC_BLOB_MAX (256u << 20) /* largest head record written, bytes */

struct hrec_entry {
    int64_t sid;
    uint64_t bits; /* the double's bits */
};

struct hrec_array {
    struct hrec_entry *e;
    size_t n, cap;
};

/* Encode n entries (sorted by sid, distinct, sid >= 0) into out (reset first). 0 or error. */
_warn_unused_result_ int hrec_encode(struct buf *out, const struct hrec_entry *e, size_t n);

/* Decode a record, appending its entries to out. Number added, -EBADMSG if corrupt. */
_warn_unused_result_ int hrec_decode(const void *blob, size_t len, struct hrec_array *out);

/* Grow out to hold at least n more entries. 0 or -ENOMEM. */
_warn_unused_result_ int hrec_array_reserve(struct hrec_array *a, size_t more);
void hrec_array_free(struct hrec_array *a);

#endif
