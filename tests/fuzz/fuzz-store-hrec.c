/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the store's head-record decoder (one row per device and poll) on
 * arbitrary blobs: a damaged row gives -EBADMSG and leaves the array as it was, never
 * a crash. A blob that decodes yields strictly increasing, non-negative series ids, and
 * encoding those entries again decodes to the same ids and bit-exact values. Entries
 * made from the input (ids from 2-byte gaps, 8 bytes of value bits) round-trip too.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "fuzz-common.h"
#include "store-chunk.h"

#define FUZZ_HREC_MAX 256 /* entries made from one input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encode n entries, decode them again and compare. */
static void
round_trip(const struct hrec_entry *e, size_t n)
{
    struct hrec_array back = {0};
    struct buf b;

    buf_init(&b, HREC_BLOB_MAX);
    if (hrec_encode(&b, e, n) == 0) {
        FUZZ_ASSERT(hrec_decode(b.data, b.len, &back) == (int)n);
        FUZZ_ASSERT(back.n == n);
        for (size_t i = 0; i < n; i++) {
            FUZZ_ASSERT(back.e[i].sid == e[i].sid);
            FUZZ_ASSERT(back.e[i].bits == e[i].bits); /* NaN payloads and -0 too */
        }
    }
    hrec_array_free(&back);
    buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hrec_array a = {0};
    struct hrec_entry made[FUZZ_HREC_MAX];
    size_t n = 0;
    int64_t sid = -1;
    int r;

    /* A sentinel entry first: a failed decode must leave it, and only it. */
    if (hrec_array_reserve(&a, 1) < 0)
        return 0;
    a.e[0] = (struct hrec_entry){.sid = 7, .bits = 42};
    a.n = 1;
    r = hrec_decode(data, size, &a);
    FUZZ_ASSERT(r == -EBADMSG || r == -ENOMEM || (r >= 0 && (size_t)r + 1 == a.n));
    FUZZ_ASSERT(a.e[0].sid == 7 && a.e[0].bits == 42);
    if (r < 0) {
        FUZZ_ASSERT(a.n == 1);
    } else if (r > 0) {
        for (size_t i = 1; i < a.n; i++)
            FUZZ_ASSERT(a.e[i].sid >= 0 && (i == 1 || a.e[i].sid > a.e[i - 1].sid));
        round_trip(a.e + 1, a.n - 1);
    }

    for (size_t off = 0; off + 10 <= size && n < FUZZ_HREC_MAX; off += 10) {
        sid += 1 + (int64_t)(data[off] | data[off + 1] << 8);
        made[n].sid = sid;
        memcpy(&made[n].bits, data + off + 2, 8);
        n++;
    }
    if (n > 0)
        round_trip(made, n);
    hrec_array_free(&a);
    return 0;
}
