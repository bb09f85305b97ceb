/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: soakd's history ring. The first byte picks a mode:
 *   0  the input is a ring file, loaded as is (must fail cleanly or load);
 *   1  the same with the header's body length and checksum fixed up, so the
 *      structural checks behind the checksum are reached;
 *   2  the input is a program of ticks (series appear, change, vanish) on a tiny
 *      ring that wraps; afterwards the ring is saved, reloaded, and both must
 *      render the same /history text.
 * A loaded ring is always queried, rendered and given one more tick.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fuzz-common.h"
#include "ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR_SIZE 72       /* sizeof(struct file_header) in ring.c */
#define HDR_BODY_LEN 56   /* offset of body_len */
#define HDR_CHECKSUM 64   /* offset of checksum */

static struct ring *
small_ring(void)
{
    struct ring_options o = {.max_records = 8, .max_series = 16, .max_bytes = 4096};
    struct ring *r = NULL;

    if (ring_new(&o, &r) < 0)
        abort();
    return r;
}

static char *
render_all(struct ring *r)
{
    struct ring_query *q = NULL;
    struct buf b;
    int rc;

    buf_init(&b, 1 << 22);
    if (ring_query_new(r, 0, 1440, &q) < 0)
        abort();
    while ((rc = ring_query_render(q, &b, b.len + 512)) == 1)
        ;
    if (rc < 0)
        abort();
    (void)ring_query_free(q);
    /* the OpenMetrics text of a query always ends with "# EOF" */
    FUZZ_ASSERT(b.len >= 5 && strstr(buf_str(&b), "# EOF") != NULL);
    FUZZ_ASSERT(strlen(buf_str(&b)) == b.len);
    return buf_take(&b);
}

static void
one_tick(struct ring *r, int64_t ts, const uint8_t *p, size_t n)
{
    char key[32];

    ring_begin(r, ts);
    for (size_t i = 0; i + 1 < n; i += 2) {
        double v;
        (void)snprintf(key, sizeof(key), "s{i=\"%u\"}", (unsigned)(p[i] % 24));
        switch (p[i + 1] & 3) {
        case 0: v = (double)(p[i + 1] >> 2); break;
        case 1: v = -(double)p[i + 1] * 1e12; break;
        case 2: v = (double)p[i + 1] / 7.0; break;
        default: v = (p[i + 1] & 4) ? 0.0 / 0.0 : 1e300 * 1e10; break;
        }
        (void)ring_observe(r, (p[i] & 0x80) ? "c_total" : "s", (p[i] & 0x80) ? METRIC_COUNTER
                                                                             : METRIC_GAUGE,
                           key, v);
    }
    (void)ring_commit(r);
}

static uint64_t
fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int
write_tmp(const uint8_t *p, size_t n, char *path, size_t size)
{
    int fd = fuzz_memfd(p, n);

    if (fd < 0)
        return -1;
    (void)snprintf(path, size, "/proc/self/fd/%d", fd);
    return fd;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ring *r, *r2;
    char path[64], *a, *b;
    int fd;

    if (size < 1)
        return 0;
    r = small_ring();
    if (data[0] % 3 == 2) {
        /* Ticks of up to 8 series each, separated by 0xff bytes. */
        const uint8_t *p = data + 1, *end = data + size;
        int64_t ts = 1700000000000LL;
        char tmpl[] = "/tmp/fuzz-ring-XXXXXX";
        int tfd;

        while (p < end) {
            const uint8_t *e = memchr(p, 0xff, (size_t)(end - p));
            if (!e)
                e = end;
            one_tick(r, ts, p, MIN((size_t)(e - p), 16));
            ts += 1000;
            p = e + 1;
        }
        tfd = mkstemp(tmpl);
        if (tfd >= 0) {
            close(tfd);
            if (ring_save(r, tmpl) == 0) {
                r2 = small_ring();
                FUZZ_ASSERT(ring_load(r2, tmpl) == 0); /* what we write we must read */
                a = render_all(r);
                b = render_all(r2);
                FUZZ_ASSERT(strcmp(a, b) == 0); /* and it renders the same history */
                free(a);
                free(b);
                (void)ring_free(r2);
            }
            (void)unlink(tmpl);
        }
    } else {
        uint8_t *copy = malloc(size);
        if (!copy)
            abort();
        memcpy(copy, data + 1, size - 1);
        if (data[0] % 3 == 1 && size - 1 >= HDR_SIZE) {
            uint64_t body = size - 1 - HDR_SIZE, sum = fnv(copy + HDR_SIZE, body);
            memcpy(copy + HDR_BODY_LEN, &body, 8);
            memcpy(copy + HDR_CHECKSUM, &sum, 8);
        }
        fd = write_tmp(copy, size - 1, path, sizeof(path));
        free(copy);
        if (fd >= 0) {
            int rc = ring_load(r, path);
            FUZZ_ASSERT(rc == 0 || rc == -EBADMSG);
            close(fd);
        }
    }
    a = render_all(r);
    free(a);
    one_tick(r, 1800000000000LL, (const uint8_t *)"\x01\x05\x02\x09", 4);
    a = render_all(r);
    free(a);
    (void)ring_free(r);
    return 0;
}
