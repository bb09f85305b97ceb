/* SPDX-License-Identifier: MIT */
/* Unit tests of the history ring: record/replay, wrap-around, since=, recycling, memory, files. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "expo.h"
#include "ring.h"

#define T0 1700000000000LL /* ms */

static struct ring *
new_ring(size_t records, size_t series, size_t bytes)
{
    struct ring_options o = {.max_records = records, .max_series = series, .max_bytes = bytes};
    struct ring *r = NULL;

    assert_int_equal(ring_new(&o, &r), 0);
    return r;
}

/* One tick: n series "m{i=\"k\"}" with value f(k). */
static int64_t
tick(struct ring *r, int64_t ts, size_t first, size_t n, double (*f)(size_t k, int64_t ts))
{
    char key[64];

    ring_begin(r, ts);
    for (size_t k = first; k < first + n; k++) {
        (void)snprintf(key, sizeof(key), "m{i=\"%zu\"}", k);
        assert_int_equal(ring_observe(r, "m", METRIC_GAUGE, key, f(k, ts)), 0);
    }
    return ring_commit(r);
}

/* Render a whole query into a string (caller frees). */
static char *
query(struct ring *r, uint64_t since, size_t limit, uint64_t *newest, uint64_t *oldest,
      int *more)
{
    struct ring_query *q = NULL;
    struct buf b;
    int rc;

    buf_init(&b, 64 * 1024 * 1024);
    assert_int_equal(ring_query_new(r, since, limit, &q), 0);
    /* Small chunks exercise the resumable renderer. */
    while ((rc = ring_query_render(q, &b, b.len + 100)) == 1)
        ;
    assert_int_equal(rc, 0);
    if (newest)
        *newest = ring_query_newest(q);
    if (oldest)
        *oldest = ring_query_oldest(q);
    if (more)
        *more = ring_query_more(q);
    (void)ring_query_free(q);
    if (!b.data)
        return strdup("");
    return buf_take(&b);
}

static size_t
count_lines(const char *s, const char *prefix)
{
    size_t n = 0, pl = strlen(prefix);

    for (const char *p = s; *p;) {
        const char *e = strchr(p, '\n');
        if (strncmp(p, prefix, pl) == 0)
            n++;
        if (!e)
            break;
        p = e + 1;
    }
    return n;
}

static double
f_const(size_t k, int64_t ts)
{
    (void)ts;
    return (double)k * 10;
}

static double
f_moving(size_t k, int64_t ts)
{
    return (double)k + (double)((ts - T0) / 1000) * 3;
}

static void
test_record_replay(void **state)
{
    struct ring *r = new_ring(10, 64, 0);
    uint64_t newest, oldest;
    int more;
    char *t;

    (void)state;
    /* Values change in every tick for series 0..2; series 3 stays constant. */
    for (int i = 0; i < 3; i++) {
        ring_begin(r, T0 + i * 1000);
        assert_int_equal(ring_observe(r, "a", METRIC_GAUGE, "a{x=\"1\"}", 1.5 + i), 0);
        assert_int_equal(ring_observe(r, "a", METRIC_GAUGE, "a{x=\"2\"}", -7 - i), 0);
        assert_int_equal(ring_observe(r, "c_total", METRIC_COUNTER, "c_total", 1e15 + i), 0);
        assert_int_equal(ring_observe(r, "k", METRIC_GAUGE, "k", 42), 0);
        assert_int_equal(ring_commit(r), i + 1);
    }
    t = query(r, 0, 0, &newest, &oldest, &more);
    assert_int_equal(newest, 3);
    assert_int_equal(oldest, 1);
    assert_int_equal(more, 0);
    assert_string_equal(t, "# TYPE a gauge\n"
                           "a{x=\"1\"} 1.5 1700000000.000\n"
                           "a{x=\"1\"} 2.5 1700000001.000\n"
                           "a{x=\"1\"} 3.5 1700000002.000\n"
                           "a{x=\"2\"} -7 1700000000.000\n"
                           "a{x=\"2\"} -8 1700000001.000\n"
                           "a{x=\"2\"} -9 1700000002.000\n"
                           "# TYPE c counter\n"
                           "c_total 1000000000000000 1700000000.000\n"
                           "c_total 1000000000000001 1700000001.000\n"
                           "c_total 1000000000000002 1700000002.000\n"
                           "# TYPE k gauge\n"
                           "k 42 1700000000.000\n"
                           "k 42 1700000001.000\n"
                           "k 42 1700000002.000\n"
                           "# EOF\n");
    free(t);
    /* since=2: exactly the newest record, constant series included. */
    t = query(r, 2, 0, &newest, &oldest, &more);
    assert_int_equal(newest, 3);
    assert_string_equal(t, "# TYPE a gauge\n"
                           "a{x=\"1\"} 3.5 1700000002.000\n"
                           "a{x=\"2\"} -9 1700000002.000\n"
                           "# TYPE c counter\n"
                           "c_total 1000000000000002 1700000002.000\n"
                           "# TYPE k gauge\n"
                           "k 42 1700000002.000\n"
                           "# EOF\n");
    free(t);
    /* Nothing newer: an empty document, newest = since. */
    t = query(r, 3, 0, &newest, NULL, NULL);
    assert_int_equal(newest, 3);
    assert_string_equal(t, "# EOF\n");
    free(t);
    t = query(r, 99, 0, &newest, NULL, NULL);
    assert_int_equal(newest, 99);
    assert_string_equal(t, "# EOF\n");
    free(t);
    (void)ring_free(r);
}

static void
test_gone_and_special_values(void **state)
{
    struct ring *r = new_ring(10, 64, 0);
    char *t;

    (void)state;
    ring_begin(r, T0);
    (void)ring_observe(r, "g", METRIC_GAUGE, "g{a=\"x\"}", NAN);
    (void)ring_observe(r, "g", METRIC_GAUGE, "g{a=\"y\"}", 0.1);
    (void)ring_observe(r, "u", METRIC_UNTYPED, "u", -0.0);
    assert_int_equal(ring_commit(r), 1);
    ring_begin(r, T0 + 60000);
    (void)ring_observe(r, "g", METRIC_GAUGE, "g{a=\"x\"}", INFINITY);
    /* g{a="y"} and u disappear */
    assert_int_equal(ring_commit(r), 2);
    ring_begin(r, T0 + 120000);
    (void)ring_observe(r, "g", METRIC_GAUGE, "g{a=\"y\"}", 5);
    assert_int_equal(ring_commit(r), 3);
    t = query(r, 0, 0, NULL, NULL, NULL);
    assert_string_equal(t, "# TYPE g gauge\n"
                           "g{a=\"x\"} NaN 1700000000.000\n"
                           "g{a=\"x\"} +Inf 1700000060.000\n"
                           "g{a=\"y\"} 0.1 1700000000.000\n"
                           "g{a=\"y\"} 5 1700000120.000\n"
                           "# TYPE u unknown\n"
                           "u 0 1700000000.000\n"
                           "# EOF\n");
    free(t);
    (void)ring_free(r);
}

static void
test_limit_and_more(void **state)
{
    struct ring *r = new_ring(100, 64, 0);
    uint64_t newest;
    int more;
    char *t;

    (void)state;
    for (int i = 0; i < 10; i++)
        assert_int_equal(tick(r, T0 + i * 1000, 0, 5, f_moving), i + 1);
    t = query(r, 2, 3, &newest, NULL, &more);
    assert_int_equal(newest, 5);
    assert_int_equal(more, 1);
    assert_int_equal(count_lines(t, "m{"), 15);
    assert_non_null(strstr(t, "m{i=\"0\"} 6 1700000002.000\n")); /* record 3: ts T0+2 s */
    assert_null(strstr(t, "1700000005.000"));
    free(t);
    t = query(r, 5, 100, &newest, NULL, &more);
    assert_int_equal(newest, 10);
    assert_int_equal(more, 0);
    assert_int_equal(count_lines(t, "m{"), 25);
    free(t);
    (void)ring_free(r);
}

static void
test_wrap_around(void **state)
{
    struct ring *r = new_ring(1000, 64, 4096);
    struct ring_stats st;
    uint64_t newest, oldest;
    char *t, line[128];

    (void)state;
    /* Every tick changes 20 series: the 4 KB byte ring wraps many times. */
    for (int i = 0; i < 500; i++)
        assert_int_equal(tick(r, T0 + i * 1000, 0, 20, f_moving), i + 1);
    ring_get_stats(r, &st);
    assert_int_equal(st.newest_seq, 500);
    assert_true(st.records < 500);
    assert_true(st.records > 10);
    assert_true(st.bytes_used <= st.bytes_cap);
    assert_int_equal(st.oldest_seq, 500 - st.records + 1);
    /* Every retained record replays to the exact values it was given. */
    t = query(r, 0, 1440, &newest, &oldest, NULL);
    assert_int_equal(oldest, st.oldest_seq);
    assert_int_equal(count_lines(t, "m{"), 20 * st.records);
    for (uint64_t seq = st.oldest_seq; seq <= st.newest_seq; seq++) {
        int64_t ts = T0 + (int64_t)(seq - 1) * 1000;
        (void)snprintf(line, sizeof(line), "m{i=\"7\"} %g %lld.000\n", f_moving(7, ts),
                       (long long)(ts / 1000));
        assert_non_null(strstr(t, line));
    }
    free(t);
    /* since older than the oldest held: from the oldest. */
    t = query(r, 1, 1, &newest, NULL, NULL);
    assert_int_equal(newest, st.oldest_seq);
    free(t);
    (void)ring_free(r);
}

static void
test_max_records(void **state)
{
    struct ring *r = new_ring(5, 64, 0);
    struct ring_stats st;
    char *t;

    (void)state;
    for (int i = 0; i < 12; i++)
        (void)tick(r, T0 + i * 1000, 0, 3, i % 2 ? f_moving : f_const);
    ring_get_stats(r, &st);
    assert_int_equal(st.records, 5);
    assert_int_equal(st.oldest_seq, 8);
    assert_int_equal(st.newest_seq, 12);
    t = query(r, 0, 0, NULL, NULL, NULL);
    /* Record 8 (i = 7, moving) and 9 (i = 8, constant) rebuilt from the base. */
    assert_non_null(strstr(t, "m{i=\"2\"} 23 1700000007.000\n"));
    assert_non_null(strstr(t, "m{i=\"2\"} 20 1700000008.000\n"));
    free(t);
    (void)ring_free(r);
}

static void
test_series_recycling(void **state)
{
    struct ring *r = new_ring(3, 16, 0);
    struct ring_stats st;
    char *t;

    (void)state;
    assert_int_equal(tick(r, T0, 0, 10, f_const), 1);
    /* A new set of 10 series: only 6 slots are free at first. */
    assert_int_equal(tick(r, T0 + 1000, 100, 10, f_const), 2);
    ring_get_stats(r, &st);
    assert_int_equal(st.series, 16);
    assert_int_equal(st.dropped_samples, 4);
    /* Once the records naming the old set are gone, their slots are reused. */
    for (int i = 2; i < 8; i++)
        (void)tick(r, T0 + i * 1000, 100, 10, f_const);
    ring_get_stats(r, &st);
    assert_int_equal(st.series, 10);
    t = query(r, st.newest_seq - 1, 0, NULL, NULL, NULL);
    assert_int_equal(count_lines(t, "m{"), 10);
    assert_non_null(strstr(t, "m{i=\"109\"} 1090 "));
    assert_null(strstr(t, "m{i=\"1\"}"));
    free(t);
    (void)ring_free(r);
}

static void
test_bounded_memory(void **state)
{
    struct ring *r = new_ring(1440, 4096, 0);
    struct ring_stats st;
    size_t mem_at_start = 0;
    char key[64];

    (void)state;
    /* 24 h at 60 s of ~600 series, a third of which change every tick (counters,
     * free memory, slab objects), plus a churn of short-lived series (processes). */
    for (int i = 0; i < 3000; i++) {
        ring_begin(r, T0 + (int64_t)i * 60000);
        for (int k = 0; k < 600; k++) {
            double v = k % 3 == 0 ? 1e6 + k * 1000 + i * (k % 7) : 4096.0 * k;
            (void)snprintf(key, sizeof(key), "node_x{k=\"%d\"}", k);
            (void)ring_observe(r, "node_x", METRIC_GAUGE, key, v);
        }
        for (int k = 0; k < 5; k++) {
            (void)snprintf(key, sizeof(key), "soak_process_open_fds{pid=\"%d\"}", i / 10 + k);
            (void)ring_observe(r, "soak_process_open_fds", METRIC_GAUGE, key, i % 50);
        }
        assert_true(ring_commit(r) > 0);
        if (i == 1500) {
            ring_get_stats(r, &st);
            mem_at_start = st.memory_bytes;
        }
    }
    ring_get_stats(r, &st);
    print_message("ring 24h x 605 series: %zu records, %zu series, %zu/%zu ring bytes, "
                  "%zu bytes in all\n",
                  st.records, st.series, st.bytes_used, st.bytes_cap, st.memory_bytes);
    assert_int_equal(st.records, 1440);
    assert_true(st.series < 800); /* 605 live + the dead pids still named by records */
    assert_int_equal(st.dropped_samples, 0);
    /* Memory does not grow with time once the ring is full. */
    assert_true(st.memory_bytes <= mem_at_start + 4096);
    assert_true(st.memory_bytes < 5 * 1024 * 1024);
    (void)ring_free(r);
}

static char *
tmp_path(void)
{
    char *p = strdup("/tmp/soak-ring-XXXXXX");
    int fd = mkstemp(p);

    assert_true(fd >= 0);
    (void)close(fd);
    return p;
}

static void
test_persist_round_trip(void **state)
{
    struct ring *r = new_ring(50, 64, 8192), *r2 = new_ring(50, 64, 8192);
    struct ring_stats a, b;
    char *path = tmp_path(), *t1, *t2;

    (void)state;
    for (int i = 0; i < 120; i++) /* wraps: the base state matters */
        (void)tick(r, T0 + i * 1000, (size_t)(i / 40) * 3, 8, f_moving);
    assert_int_equal(ring_save(r, path), 0);
    assert_int_equal(ring_load(r2, path), 0);
    ring_get_stats(r, &a);
    ring_get_stats(r2, &b);
    assert_int_equal(a.ring_id, b.ring_id);
    assert_int_equal(a.oldest_seq, b.oldest_seq);
    assert_int_equal(a.newest_seq, b.newest_seq);
    t1 = query(r, 0, 1440, NULL, NULL, NULL);
    t2 = query(r2, 0, 1440, NULL, NULL, NULL);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    /* Recording goes on after the reload, with the next SEQ and correct deltas. */
    assert_int_equal(tick(r, T0 + 500000, 6, 8, f_moving), 121);
    assert_int_equal(tick(r2, T0 + 500000, 6, 8, f_moving), 121);
    t1 = query(r, 119, 0, NULL, NULL, NULL);
    t2 = query(r2, 119, 0, NULL, NULL, NULL);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    /* A loaded ring refuses a second load. */
    assert_int_equal(ring_load(r2, path), -EBUSY);
    (void)unlink(path);
    free(path);
    (void)ring_free(r);
    (void)ring_free(r2);
}

static void
write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "we");

    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void
test_persist_corrupt(void **state)
{
    struct ring *r = new_ring(50, 64, 0), *r2;
    struct ring_stats st;
    char *path = tmp_path(), *data;
    size_t n;
    FILE *f;

    (void)state;
    for (int i = 0; i < 20; i++)
        (void)tick(r, T0 + i * 1000, 0, 8, f_moving);
    assert_int_equal(ring_save(r, path), 0);
    f = fopen(path, "re");
    assert_non_null(f);
    data = malloc(1 << 20);
    n = fread(data, 1, 1 << 20, f);
    (void)fclose(f);
    assert_true(n > 100);

    /* One flipped bit anywhere, a truncated file, garbage: -EBADMSG, ring usable. */
    size_t spots[] = {0, 9, 40, 70, n / 2, n - 1};
    for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
        data[spots[i]] ^= 0x10;
        write_file(path, data, n);
        data[spots[i]] ^= 0x10;
        r2 = new_ring(50, 64, 0);
        assert_int_equal(ring_load(r2, path), -EBADMSG);
        ring_get_stats(r2, &st);
        assert_int_equal(st.records, 0);
        assert_int_equal(st.series, 0);
        assert_int_equal(tick(r2, T0, 0, 3, f_const), 1);
        (void)ring_free(r2);
    }
    write_file(path, data, n - 5);
    r2 = new_ring(50, 64, 0);
    assert_int_equal(ring_load(r2, path), -EBADMSG);
    (void)ring_free(r2);
    write_file(path, "garbage\n", 8);
    r2 = new_ring(50, 64, 0);
    assert_int_equal(ring_load(r2, path), -EBADMSG);
    (void)ring_free(r2);
    /* A file from a bigger ring does not fit a smaller one. */
    write_file(path, data, n);
    r2 = new_ring(5, 64, 0);
    assert_int_equal(ring_load(r2, path), -EBADMSG);
    (void)ring_free(r2);
    (void)unlink(path);
    r2 = new_ring(50, 64, 0);
    assert_int_equal(ring_load(r2, path), -ENOENT);
    (void)ring_free(r2);
    free(data);
    free(path);
    (void)ring_free(r);
}

/* Found by fuzz-ring: a family created for a series the full table refused stayed
 * allocated with no series, and the saved file could not be loaded back. */
static void
test_full_table_new_family(void **state)
{
    struct ring *r = new_ring(4, 4, 0), *r2 = new_ring(4, 4, 0);
    char *path = tmp_path();
    struct ring_stats st;

    (void)state;
    assert_int_equal(tick(r, T0, 0, 4, f_const), 1);
    ring_begin(r, T0 + 1000);
    for (int k = 0; k < 4; k++) {
        char key[32];
        (void)snprintf(key, sizeof(key), "m{i=\"%d\"}", k);
        (void)ring_observe(r, "m", METRIC_GAUGE, key, k * 10);
    }
    (void)ring_observe(r, "other", METRIC_COUNTER, "other", 1);
    assert_int_equal(ring_commit(r), 2);
    ring_get_stats(r, &st);
    assert_int_equal(st.dropped_samples, 1);
    assert_int_equal(ring_save(r, path), 0);
    assert_int_equal(ring_load(r2, path), 0);
    (void)unlink(path);
    free(path);
    (void)ring_free(r);
    (void)ring_free(r2);
}

static void
test_expo_tee(void **state)
{
    struct ring *r = new_ring(10, 64, 0);
    struct expo_writer w;
    struct expo_label l = {"chip", "sht30 \"out\""};
    char *t;

    (void)state;
    /* The writer's observer feeds the ring the keys exactly as rendered. */
    ring_begin(r, T0);
    expo_writer_init(&w, NULL, EXPO_PROMETHEUS);
    expo_writer_observe(&w, ring_observe, r);
    assert_int_equal(expo_family(&w, "soak_sensor_temperature_celsius", METRIC_GAUGE, "t"), 0);
    assert_int_equal(expo_sample(&w, "soak_sensor_temperature_celsius", &l, 1, 21.25), 0);
    assert_int_equal(ring_commit(r), 1);
    t = query(r, 0, 0, NULL, NULL, NULL);
    assert_non_null(
        strstr(t, "soak_sensor_temperature_celsius{chip=\"sht30 \\\"out\\\"\"} 21.25 1700000000.000"));
    free(t);
    (void)ring_free(r);
}

static void
test_bad_options(void **state)
{
    struct ring_options o = {.max_records = 1, .max_series = 10};
    struct ring *r = NULL;

    (void)state;
    assert_int_equal(ring_new(&o, &r), -EINVAL);
    o.max_records = 10;
    o.max_series = 0;
    assert_int_equal(ring_new(&o, &r), -EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_replay),
        cmocka_unit_test(test_gone_and_special_values),
        cmocka_unit_test(test_limit_and_more),
        cmocka_unit_test(test_wrap_around),
        cmocka_unit_test(test_max_records),
        cmocka_unit_test(test_series_recycling),
        cmocka_unit_test(test_bounded_memory),
        cmocka_unit_test(test_persist_round_trip),
        cmocka_unit_test(test_persist_corrupt),
        cmocka_unit_test(test_full_table_new_family),
        cmocka_unit_test(test_expo_tee),
        cmocka_unit_test(test_bad_options),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
