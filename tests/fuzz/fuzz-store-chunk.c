/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the store's chunk decoder on arbitrary blobs (a damaged database
 * must give -EBADMSG, never a crash), and encode/decode round trips of samples made
 * from the input (bit-exact values, same times). A blob that decodes adds exactly
 * the number of samples it reports.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "store-chunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct chunk_codec cc;
    struct sample_array a = {0};
    struct sample s[64];
    size_t n = 0;
    int64_t t = 0;
    int r;

    if (chunk_codec_init(&cc) < 0)
        return 0;
    r = chunk_decode(&cc, data, size, &a);
    FUZZ_ASSERT(r == -EBADMSG || r == -ENOMEM || (r >= 0 && (size_t)r == a.n));
    /* What decodes is what an encoder could have written: sorted, distinct times. */
    for (size_t i = 1; r > 0 && i < a.n; i++)
        FUZZ_ASSERT(a.s[i].t_ms > a.s[i - 1].t_ms);
    /* Samples from the input: 2 bytes of time step, 8 bytes of value bits. */
    for (size_t off = 0; off + 10 <= size && n < 64; off += 10) {
        uint64_t bits;
        t += 1 + (int64_t)(data[off] | data[off + 1] << 8);
        memcpy(&bits, data + off + 2, 8);
        s[n].t_ms = t;
        memcpy(&s[n].v, &bits, 8);
        n++;
    }
    if (n > 0 && chunk_encode(&cc, s, n) == 0) {
        a.n = 0;
        FUZZ_ASSERT(chunk_decode(&cc, cc.blob.data, cc.blob.len, &a) == (int)n);
        FUZZ_ASSERT(a.n == n);
        for (size_t i = 0; i < n; i++) {
            FUZZ_ASSERT(a.s[i].t_ms == s[i].t_ms);
            FUZZ_ASSERT(memcmp(&a.s[i].v, &s[i].v, 8) == 0); /* bit-exact, NaN payloads too */
        }
    }
    sample_array_free(&a);
    chunk_codec_done(&cc);
    return 0;
}
