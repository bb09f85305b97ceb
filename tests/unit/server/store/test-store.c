/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/server/store on both back ends. The back end comes from
 * SOAK_TEST_STORE (a store spec, e.g. postgresql://...); when it is unset each
 * test gets a fresh SQLite file. Every test uses its own device names, so the
 * PostgreSQL run can share one database.
 */
#include <errno.h>
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

#include "store-chunk.h"
#include "store.h"

#define T0 1700000000000LL /* a base time, ms */
#define MIN_MS 60000LL

struct fx {
    char spec[512];
    char dir[256];
    int is_sqlite;
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    const char *env = getenv("SOAK_TEST_STORE");

    assert_non_null(f);
    if (env && *env) {
        (void)snprintf(f->spec, sizeof(f->spec), "%s", env);
        f->is_sqlite = strncmp(env, "postgres", 8) != 0;
    } else {
        (void)snprintf(f->dir, sizeof(f->dir), "/tmp/soak-test-store-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        (void)snprintf(f->spec, sizeof(f->spec), "sqlite:%s/t.db", f->dir);
        f->is_sqlite = 1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char p[300];

    if (f->dir[0]) {
        static const char *const files[] = {"t.db", "t.db-wal", "t.db-shm"};
        for (size_t i = 0; i < 3; i++) {
            (void)snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
            (void)unlink(p);
        }
        (void)rmdir(f->dir);
    }
    free(f);
    return 0;
}

static struct store *
open_store(struct fx *f)
{
    struct store *st = NULL;
    char err[256] = "";
    int r = store_open(f->spec, &st, err, sizeof(err));

    if (r < 0)
        fail_msg("store_open(%s): %d %s", f->spec, r, err);
    return st;
}

static int64_t
dev(struct store *st, const char *name)
{
    int64_t id = -1;
    char full[128];

    (void)snprintf(full, sizeof(full), "%s-%d", name, (int)getpid());
    assert_int_equal(store_device(st, full, 1, &id), 0);
    return id;
}

static double
val(int64_t i)
{
    /* A mix: integers, fractions, the odd NaN. */
    if (i % 97 == 5)
        return NAN;
    if (i % 3 == 0)
        return (double)(1000000 + i * 4096);
    return 20.0 + (double)(i % 17) * 0.125 + (double)i / 1000.0;
}

static void
assert_same(double a, double b)
{
    if (isnan(a) || isnan(b))
        assert_true(isnan(a) && isnan(b));
    else
        assert_true(a == b);
}

static void
check_series(struct store *st, int64_t d, const char *key, int64_t n, int64_t step)
{
    struct sample_array a = {0};

    assert_int_equal(store_read(st, d, key, INT64_MIN, INT64_MAX, &a), n);
    for (int64_t i = 0; i < n; i++) {
        assert_true(a.s[i].t_ms == T0 + i * step);
        assert_same(a.s[i].v, val(i));
    }
    sample_array_free(&a);
}

static void
test_append_read(void **state)
{
    struct store *st = open_store(*state);
    int64_t d = dev(st, "append");
    struct sample_array a = {0};
    const int n = 2 * CHUNK_SAMPLES + 77; /* crosses the in-transaction flush */

    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_begin(st), -EBUSY);
    for (int i = 0; i < n; i++)
        assert_int_equal(store_append(st, d, "m{a=\"1\"}", T0 + i * MIN_MS, val(i)), 1);
    /* Visible before the commit too. */
    assert_int_equal(store_read(st, d, "m{a=\"1\"}", INT64_MIN, INT64_MAX, &a), n);
    sample_array_free(&a);
    assert_int_equal(store_commit(st), 0);
    check_series(st, d, "m{a=\"1\"}", n, MIN_MS);
    /* A sub-range, inclusive at both ends. */
    assert_int_equal(store_read(st, d, "m{a=\"1\"}", T0 + 10 * MIN_MS, T0 + 500 * MIN_MS, &a), 491);
    assert_true(a.s[0].t_ms == T0 + 10 * MIN_MS);
    assert_true(a.s[490].t_ms == T0 + 500 * MIN_MS);
    sample_array_free(&a);
    /* Unknown series: nothing. */
    assert_int_equal(store_read(st, d, "nope", INT64_MIN, INT64_MAX, &a), 0);
    /* Special values keep their bits. */
    assert_int_equal(store_append(st, d, "sp", T0, -0.0), 1);
    assert_int_equal(store_append(st, d, "sp", T0 + 1, INFINITY), 1);
    assert_int_equal(store_append(st, d, "sp", T0 + 2, -INFINITY), 1);
    assert_int_equal(store_read(st, d, "sp", INT64_MIN, INT64_MAX, &a), 3);
    assert_true(a.s[0].v == 0 && signbit(a.s[0].v));
    assert_true(isinf(a.s[1].v) && a.s[1].v > 0);
    assert_true(isinf(a.s[2].v) && a.s[2].v < 0);
    sample_array_free(&a);
    st = store_close(st);
    /* Reopen: everything is there (head rows were compacted on close). */
    st = open_store(*state);
    d = dev(st, "append");
    check_series(st, d, "m{a=\"1\"}", n, MIN_MS);
    st = store_close(st);
}

static void
test_duplicates(void **state)
{
    struct store *st = open_store(*state);
    int64_t d = dev(st, "dup");
    const int n = CHUNK_SAMPLES + 30;

    assert_int_equal(store_begin(st), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(store_append(st, d, "x", T0 + i * MIN_MS, val(i)), 1);
    /* Duplicate inside the same transaction (still pending). */
    assert_int_equal(store_append(st, d, "x", T0 + 3 * MIN_MS, 99), 0);
    assert_int_equal(store_commit(st), 0);
    /* Now n = 510: 480 in a chunk, 30 in head. Duplicates of both. */
    assert_int_equal(store_begin(st), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(store_append(st, d, "x", T0 + i * MIN_MS, 12345), 0);
    assert_int_equal(store_commit(st), 0);
    check_series(st, d, "x", n, MIN_MS);
    st = store_close(st);
    /* After reopen (all in chunks now) a duplicate is still a no-op. */
    st = open_store(*state);
    d = dev(st, "dup");
    assert_int_equal(store_append(st, d, "x", T0 + 7 * MIN_MS, 1), 0);
    assert_int_equal(store_append(st, d, "x", T0 + (n - 1) * MIN_MS, 1), 0);
    assert_int_equal(store_append(st, d, "x", T0 + n * MIN_MS, val(n)), 1);
    check_series(st, d, "x", n + 1, MIN_MS);
    st = store_close(st);
}

static void
test_out_of_order(void **state)
{
    struct store *st = open_store(*state);
    int64_t d = dev(st, "ooo");
    const int n = 3 * CHUNK_SAMPLES;

    /* Even samples first (committed, in chunks), then the odd ones in reverse. */
    assert_int_equal(store_begin(st), 0);
    for (int i = 0; i < n; i += 2)
        assert_int_equal(store_append(st, d, "o", T0 + i * MIN_MS, val(i)), 1);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(store_begin(st), 0);
    for (int i = n - 1; i > 0; i -= 2)
        assert_int_equal(store_append(st, d, "o", T0 + i * MIN_MS, val(i)), 1);
    for (int i = 0; i < n; i += 5)
        assert_int_equal(store_append(st, d, "o", T0 + i * MIN_MS, -1), 0);
    assert_int_equal(store_commit(st), 0);
    check_series(st, d, "o", n, MIN_MS);
    st = store_close(st);
    st = open_store(*state);
    d = dev(st, "ooo");
    check_series(st, d, "o", n, MIN_MS);
    st = store_close(st);
}

/* The poller's pattern: one sample per series per commit. */
static void
test_small_commits(void **state)
{
    struct store *st = open_store(*state);
    int64_t d = dev(st, "poll");
    const int n = CHUNK_SAMPLES + CHUNK_SAMPLES / 2;

    for (int i = 0; i < n; i++) {
        assert_int_equal(store_begin(st), 0);
        assert_int_equal(store_append(st, d, "p{k=\"a\"}", T0 + i * MIN_MS, val(i)), 1);
        assert_int_equal(store_append(st, d, "p{k=\"b\"}", T0 + i * MIN_MS, val(i)), 1);
        assert_int_equal(store_commit(st), 0);
    }
    check_series(st, d, "p{k=\"a\"}", n, MIN_MS);
    check_series(st, d, "p{k=\"b\"}", n, MIN_MS);
    /* Outside a transaction append commits by itself. */
    assert_int_equal(store_append(st, d, "p{k=\"a\"}", T0 + 2 * MIN_MS, 0), 0);
    st = store_close(st);
}

static void
test_rollback(void **state)
{
    struct store *st = open_store(*state);
    int64_t d = dev(st, "rb");
    struct sample_array a = {0};

    assert_int_equal(store_begin(st), 0);
    for (int i = 0; i < 1500; i++)
        assert_int_equal(store_append(st, d, "r", T0 + i * MIN_MS, val(i)), 1);
    store_rollback(st);
    assert_int_equal(store_read(st, d, "r", INT64_MIN, INT64_MAX, &a), 0);
    /* The same samples can be added afterwards. */
    assert_int_equal(store_begin(st), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(store_append(st, d, "r", T0 + i * MIN_MS, val(i)), 1);
    assert_int_equal(store_commit(st), 0);
    check_series(st, d, "r", 10, MIN_MS);
    st = store_close(st);
}

static void
test_devices_series(void **state)
{
    struct store *st = open_store(*state);
    int64_t d = dev(st, "devs"), id2;
    struct store_device *v = NULL;
    size_t n = 0;
    char **keys = NULL, name[128];
    int found = 0;

    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_append(st, d, "mem{k=\"b\"}", T0 + 5, 1), 1);
    assert_int_equal(store_append(st, d, "mem{k=\"a\"}", T0, 1), 1);
    assert_int_equal(store_append(st, d, "load", T0 + 100, 1), 1);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(store_series(st, d, "mem", &keys), 2);
    assert_string_equal(keys[0], "mem{k=\"a\"}");
    assert_string_equal(keys[1], "mem{k=\"b\"}");
    assert_null(keys[2]);
    store_strv_free(keys);
    assert_int_equal(store_series(st, d, NULL, &keys), 3);
    store_strv_free(keys);
    assert_int_equal(store_series(st, d, "none", &keys), 0);
    assert_null(keys[0]);
    store_strv_free(keys);
    (void)snprintf(name, sizeof(name), "devs-%d", (int)getpid());
    assert_int_equal(store_device(st, name, 0, &id2), 0);
    assert_true(id2 == d);
    assert_int_equal(store_device(st, "no-such-device-xyz", 0, &id2), -ENOENT);
    assert_true(store_devices(st, &v, &n) >= 1);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].name, name) != 0)
            continue;
        found = 1;
        assert_true(v[i].first_ms == T0);
        assert_true(v[i].last_ms == T0 + 100);
        assert_int_equal(v[i].series, 3);
    }
    assert_true(found);
    store_devices_free(v, n);
    st = store_close(st);
}

static void
test_events_state(void **state)
{
    struct store *st = open_store(*state);
    int64_t d = dev(st, "ev"), d2 = dev(st, "ev2");
    struct store_event e1 = {.device_id = d, .t_ms = T0 + 10, .kind = EVENT_REBOOT, .value = NAN};
    struct store_event e2 = {.device_id = d,
                             .t_ms = T0,
                             .kind = EVENT_BUILD_CHANGE,
                             .subject = (char *)"6.17.6",
                             .detail = (char *)"from 6.12.55",
                             .value = 2};
    struct store_event e3 = {.device_id = d2, .t_ms = T0, .kind = EVENT_OOM_KILL, .value = 1};
    struct store_event_array a = {0};
    char *v = NULL;

    assert_int_equal(store_event_add(st, &e1), 0);
    assert_int_equal(store_event_add(st, &e2), 0);
    assert_int_equal(store_event_add(st, &e3), 0);
    assert_true(e1.id > 0 && e2.id > 0 && e1.id != e2.id);
    assert_int_equal(store_events(st, d, INT64_MIN, INT64_MAX, &a), 2);
    assert_int_equal(a.e[0].kind, EVENT_BUILD_CHANGE);
    assert_string_equal(a.e[0].subject, "6.17.6");
    assert_string_equal(a.e[0].detail, "from 6.12.55");
    assert_true(a.e[0].value == 2);
    assert_int_equal(a.e[1].kind, EVENT_REBOOT);
    assert_null(a.e[1].subject);
    assert_true(isnan(a.e[1].value));
    store_event_array_free(&a);
    assert_int_equal(store_events(st, d, T0 + 1, INT64_MAX, &a), 1);
    store_event_array_free(&a);
    assert_true(store_events(st, -1, T0, T0, &a) >= 2);
    store_event_array_free(&a);
    assert_string_equal(store_event_kind_name(EVENT_OOM_KILL), "oom_kill");
    assert_int_equal(store_event_kind_from_name("panic"), EVENT_PANIC);
    assert_int_equal(store_event_kind_from_name("bogus"), -EINVAL);

    assert_int_equal(store_state_get(st, d, "seq", &v), -ENOENT);
    assert_int_equal(store_state_set(st, d, "seq", "41"), 0);
    assert_int_equal(store_state_set(st, d, "seq", "42"), 0);
    assert_int_equal(store_state_set(st, d2, "seq", "7"), 0);
    assert_int_equal(store_state_get(st, d, "seq", &v), 0);
    assert_string_equal(v, "42");
    free(v);
    st = store_close(st);
}

static void
test_retention(void **state)
{
    struct store *st = open_store(*state);
    int64_t d = dev(st, "ret");
    const int64_t days = 10, n = days * 1440;
    const int64_t now = T0 + n * MIN_MS;
    struct sample_array a = {0};
    int64_t keep_from = now - 7 * 86400000LL, ds_before = now - 2 * 86400000LL;
    size_t old = 0, recent = 0;

    assert_int_equal(store_begin(st), 0);
    for (int64_t i = 0; i < n; i++)
        assert_int_equal(store_append(st, d, "r", T0 + i * MIN_MS, (double)i), 1);
    assert_int_equal(store_commit(st), 0);
    /* Keep 7 days; older than 2 days: one sample per 10 minutes. */
    assert_int_equal(store_retention(st, now, 7 * 86400000LL, 2 * 86400000LL, 600000), 0);
    assert_true(store_read(st, d, "r", INT64_MIN, INT64_MAX, &a) > 0);
    assert_true(a.s[0].t_ms >= keep_from);
    for (size_t i = 0; i < a.n; i++) {
        if (a.s[i].t_ms < ds_before)
            old++;
        else
            recent++;
        /* Values still belong to their times. */
        assert_true(a.s[i].v == (double)((a.s[i].t_ms - T0) / MIN_MS));
    }
    assert_int_equal(recent, 2 * 1440);
    assert_true(old >= 5 * 144 - 1 && old <= 5 * 144 + 1);
    sample_array_free(&a);
    /* Idempotent. */
    assert_int_equal(store_retention(st, now, 7 * 86400000LL, 2 * 86400000LL, 600000), 0);
    assert_int_equal(store_read(st, d, "r", INT64_MIN, INT64_MAX, &a), (int)(old + recent));
    sample_array_free(&a);
    st = store_close(st);
}

/* Two handles on one database: each sees what the other committed (dedup stays exact). */
static void
test_two_writers(void **state)
{
    struct store *a = open_store(*state), *b = open_store(*state);
    int64_t da = dev(a, "two"), db = dev(b, "two");

    assert_true(da == db);
    /* b caches the series. */
    assert_int_equal(store_append(b, db, "w", T0, 1), 1);
    /* a adds newer samples. */
    assert_int_equal(store_begin(a), 0);
    for (int i = 1; i <= 10; i++)
        assert_int_equal(store_append(a, da, "w", T0 + i * MIN_MS, val(i)), 1);
    assert_int_equal(store_commit(a), 0);
    /* b must not take them for new. */
    assert_int_equal(store_begin(b), 0);
    assert_int_equal(store_append(b, db, "w", T0 + 5 * MIN_MS, 99), 0);
    assert_int_equal(store_append(b, db, "w", T0 + 11 * MIN_MS, val(11)), 1);
    assert_int_equal(store_commit(b), 0);
    assert_int_equal(store_append(a, da, "w", T0 + 11 * MIN_MS, 5), 0);
    a = store_close(a);
    b = store_close(b);
    a = open_store(*state);
    da = dev(a, "two");
    {
        struct sample_array s = {0};
        assert_int_equal(store_read(a, da, "w", INT64_MIN, INT64_MAX, &s), 12);
        assert_true(s.s[0].v == 1);
        for (int i = 1; i < 12; i++)
            assert_same(s.s[i].v, val(i));
        sample_array_free(&s);
    }
    a = store_close(a);
}

/* SQLite only: a full database refuses the commit, keeps what was committed. */
static void
test_full(void **state)
{
    struct fx *f = *state;
    struct fx small = *f;
    struct store *st;
    int64_t d;
    int r = 0;

    if (!f->is_sqlite || !f->dir[0])
        skip();
    assert_true(strlen(f->spec) + 14 < sizeof(small.spec));
    memcpy(small.spec + strlen(f->spec), "?max_pages=40", 14);
    st = open_store(&small);
    d = dev(st, "full");
    assert_int_equal(store_begin(st), 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(store_append(st, d, "f", T0 + i * MIN_MS, val(i)), 1);
    assert_int_equal(store_commit(st), 0);
    /* Many series with random values: does not fit in 40 pages. */
    assert_int_equal(store_begin(st), 0);
    for (int s = 0; r >= 0 && s < 400; s++) {
        char key[32];
        (void)snprintf(key, sizeof(key), "big{s=\"%d\"}", s);
        for (int i = 0; r >= 0 && i < 100; i++)
            r = store_append(st, d, key, T0 + i * MIN_MS, (double)rand() / 3.0);
    }
    if (r >= 0)
        r = store_commit(st);
    else
        store_rollback(st);
    assert_int_equal(r, -ENOSPC);
    assert_non_null(strstr(store_errmsg(st), "full"));
    check_series(st, d, "f", 100, MIN_MS);
    st = store_close(st);
}

/* A read-only command's store that does not exist is an error, and is not created. */
static void
test_open_existing(void **state)
{
    struct fx *f = *state;
    struct store *st = NULL;
    char err[512] = "", spec[320], path[300];

    if (!f->is_sqlite || !f->dir[0])
        skip();
    (void)snprintf(path, sizeof(path), "%s/missing.db", f->dir);
    (void)snprintf(spec, sizeof(spec), "sqlite:%s", path);
    assert_int_equal(store_open_existing(spec, &st, err, sizeof(err)), -ENOENT);
    assert_null(st);
    assert_non_null(strstr(err, "missing.db: no such store"));
    assert_int_equal(access(path, F_OK), -1);
    st = open_store(f); /* creates t.db */
    st = store_close(st);
    assert_int_equal(store_open_existing(f->spec, &st, err, sizeof(err)), 0);
    assert_non_null(st);
    st = store_close(st);
}

static void
test_chunk_codec(void **state)
{
    struct chunk_codec cc;
    struct sample s[600];
    struct sample_array a = {0};
    unsigned char bad[64];

    (void)state;
    assert_int_equal(chunk_codec_init(&cc), 0);
    for (int mode = 0; mode < 4; mode++) {
        for (int i = 0; i < 600; i++) {
            s[i].t_ms = T0 + i * MIN_MS + (mode == 3 ? (i * 7919) % 37 : 0);
            s[i].v = mode == 0 ? 5.0 : mode == 1 ? (double)(i * i) : val(i);
        }
        assert_int_equal(chunk_encode(&cc, s, 600), 0);
        if (mode == 0) /* constant: tiny */
            assert_true(cc.blob.len < 40);
        a.n = 0;
        assert_int_equal(chunk_decode(&cc, cc.blob.data, cc.blob.len, &a), 600);
        for (int i = 0; i < 600; i++) {
            assert_true(a.s[i].t_ms == s[i].t_ms);
            assert_same(a.s[i].v, s[i].v);
        }
        /* Every truncation is refused, never read past the end. */
        for (size_t cut = 0; cut < cc.blob.len; cut += 1 + cc.blob.len / 50) {
            size_t before = a.n;
            assert_true(chunk_decode(&cc, cc.blob.data, cut, &a) < 0);
            assert_int_equal(a.n, before);
        }
    }
    memset(bad, 0xff, sizeof(bad));
    assert_int_equal(chunk_decode(&cc, bad, sizeof(bad), &a), -EBADMSG);
    sample_array_free(&a);
    chunk_codec_done(&cc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_codec),
        cmocka_unit_test_setup_teardown(test_append_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_devices_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_existing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
