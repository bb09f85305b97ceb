/* SPDX-License-Identifier: MIT */
/*
 * soak-pollstore DB SERIES POLLS - the store's cost of the poller's write pattern, for
 * bench/poller.sh: POLLS commits of one device, each one sample of each of SERIES
 * series at the poll's time (one head record), SQLite at DB (recreated). Prints the
 * CPU time of an ordinary commit and of the commits that compact the device (every
 * CHUNK_SAMPLES polls), per sample, as "key value" lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parse.h"
#include "store-chunk.h"
#include "store.h"

static double
cpu_now(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
    struct store *st = NULL;
    char err[256], spec[4200], path[4200], key[96];
    uint64_t nser = 0, polls = 0;
    double t_poll = 0, t_comp = 0;
    unsigned long n_comp = 0;
    int64_t d;

    if (argc != 4 || parse_u64(argv[2], &nser) < 0 || parse_u64(argv[3], &polls) < 0 ||
        nser == 0 || polls < CHUNK_SAMPLES || strlen(argv[1]) > 4000) {
        fprintf(stderr, "usage: soak-pollstore DB SERIES POLLS (POLLS >= %d)\n", CHUNK_SAMPLES);
        return 2;
    }
    for (size_t i = 0; i < 3; i++) {
        static const char *const sfx[] = {"", "-wal", "-shm"};
        (void)snprintf(path, sizeof(path), "%s%s", argv[1], sfx[i]);
        (void)unlink(path);
    }
    (void)snprintf(spec, sizeof(spec), "sqlite:%s", argv[1]);
    if (store_open(spec, &st, err, sizeof(err)) < 0 || store_device(st, "sim", 1, &d) < 0) {
        fprintf(stderr, "soak-pollstore: %s\n", st ? store_errmsg(st) : err);
        return 1;
    }
    for (uint64_t p = 0; p < polls; p++) {
        double c0 = cpu_now();
        int r = store_begin(st);
        for (uint64_t s = 0; r >= 0 && s < nser; s++) {
            /* Counters, fractional gauges and big integers, like a node's exposition. */
            double v = s % 3 == 0   ? (double)(1000 + s + p * (s % 7))
                       : s % 3 == 1 ? 20.0 + (double)(p % 17) * 0.125 + (double)s / 1000.0
                                    : (double)(100000 + s * 4096);
            (void)snprintf(key, sizeof(key), "node_slabinfo_objects{slab=\"cache_%04u\"}",
                           (unsigned)s);
            r = store_append(st, d, key, 1700000000000LL + (int64_t)p * 10000, v);
        }
        if (r >= 0)
            r = store_commit(st);
        if (r < 0) {
            fprintf(stderr, "soak-pollstore: %s\n", store_errmsg(st));
            (void)store_close(st);
            return 1;
        }
        if ((p + 1) % CHUNK_SAMPLES == 0) {
            t_comp += cpu_now() - c0;
            n_comp++;
        } else {
            t_poll += cpu_now() - c0;
        }
    }
    st = store_close(st);
    printf("commit_us_per_sample %.4f\n", t_poll / (double)(polls - n_comp) / (double)nser * 1e6);
    printf("compaction_ms %.1f\n", t_comp / (double)n_comp * 1e3);
    printf("compaction_us_per_sample %.4f\n",
           t_comp / (double)n_comp / CHUNK_SAMPLES / (double)nser * 1e6);
    return 0;
}
