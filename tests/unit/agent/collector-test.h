/* SPDX-License-Identifier: MIT */
/*
 * collector-test.h - helpers for the collector unit tests: run one collector
 * through its ops table on a fixture root and look values up in the output.
 */
#ifndef SOAK_COLLECTOR_TEST_H
#define SOAK_COLLECTOR_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "collector.h"
#include "expo.h"
#include "parse.h"

#define FIXTURES SOAK_SRC "/tests/fixtures/roots"

struct ctest_kv {
    const char *key;
    const char *value;
};

/*
 * init, configure with kv (NULL-terminated by key), start, read `reads` times
 * (output of the last read in out), fini. Returns the last read's result.
 */
static inline int
ctest_run_conf(const char *name, const char *root, const struct ctest_kv *kv, int reads,
               struct buf *out)
{
    const struct collector_ops *ops = collector_find(name);
    void *ctx = NULL;
    int r = -ENOENT;

    if (!ops) {
        (void)fprintf(stderr, "no collector %s\n", name);
        return -ENOENT;
    }
    buf_init(out, 4 * 1024 * 1024);
    if (ops->init(&ctx) < 0)
        return -ENOMEM;
    for (size_t i = 0; kv && kv[i].key; i++) {
        r = ops->configure ? ops->configure(ctx, kv[i].key, kv[i].value) : -ENOENT;
        if (r < 0) {
            ops->fini(ctx);
            return r;
        }
    }
    if (ops->start) {
        r = ops->start(ctx, root);
        if (r < 0) {
            ops->fini(ctx);
            return r;
        }
    }
    for (int i = 0; i < reads; i++) {
        struct expo_writer w;

        buf_reset(out);
        expo_writer_init(&w, out, EXPO_PROMETHEUS);
        r = ops->read(ctx, root, &w);
    }
    ops->fini(ctx);
    return r;
}

static inline int
ctest_run(const char *name, const char *root, struct buf *out)
{
    return ctest_run_conf(name, root, NULL, 1, out);
}

/* The value of the series whose key is exactly `series` (e.g. name{a="b"}); NAN if absent. */
static inline double
ctest_value(const struct buf *out, const char *series)
{
    const char *p = buf_str(out);
    size_t n = strlen(series);

    while (p && *p) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            char tmp[64];
            const char *e = strchr(p + n + 1, '\n');
            size_t l = e ? (size_t)(e - (p + n + 1)) : strlen(p + n + 1);
            double v;

            if (l >= sizeof(tmp))
                return NAN;
            memcpy(tmp, p + n + 1, l);
            tmp[l] = '\0';
            if (parse_double(tmp, &v) < 0)
                return NAN;
            return v;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NAN;
}

/* Number of sample lines (not comments) starting with prefix. */
static inline int
ctest_count(const struct buf *out, const char *prefix)
{
    const char *p = buf_str(out);
    size_t n = strlen(prefix);
    int count = 0;

    while (p && *p) {
        if (*p != '#' && strncmp(p, prefix, n) == 0)
            count++;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return count;
}

#define assert_value(out, series, expected)                                                        \
    do {                                                                                           \
        double _v = ctest_value((out), (series));                                                  \
        if (!(fabs(_v - (double)(expected)) <= 1e-9 * fabs((double)(expected)) + 1e-12)) {        \
            (void)fprintf(stderr, "%s = %.17g, expected %.17g\n", (series), _v,                   \
                          (double)(expected));                                                     \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

#define assert_absent(out, series) assert_true(isnan(ctest_value((out), (series))))

#endif
