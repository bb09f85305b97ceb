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
#include <sqlite3.h>

#include "config.h"
#include "store-chunk.h"
#include "store.h"

#if HAVE_LIBPQ
#include <libpq-fe.h>
#endif

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
    /* Many series with random values (9 bytes each in head records): does not fit in 40 pages. */
    assert_int_equal(store_begin(st), 0);
    for (int s = 0; r >= 0 && s < 1000; s++) {
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


/*
 * Head records: a farm of devices polled with one sample per series per commit
 * (one record per device and poll), with the device compacted every CHUNK_SAMPLES
 * records; duplicates and out-of-order samples checked against records and chunks.
 */
static void
test_head_records(void **state)
{
    struct store *st = open_store(*state);
    const int ndev = 3, nser = 40, n = 2 * CHUNK_SAMPLES + 25;
    int64_t d[3];
    char key[64];

    d[0] = dev(st, "rec-a");
    d[1] = dev(st, "rec-b");
    d[2] = dev(st, "rec-c");
    for (int i = 0; i < n; i++) {
        assert_int_equal(store_begin(st), 0);
        for (int k = 0; k < ndev; k++) {
            /* Devices poll at different times; series appear in a scrambled order. */
            int64_t t = T0 + i * MIN_MS + k * 1000;
            for (int j = 0; j < nser; j++) {
                int x = (j * 7) % nser;
                if (x == 3 && i % 2 == 1)
                    continue; /* a series missing from every other poll */
                (void)snprintf(key, sizeof(key), "m{s=\"%02d\"}", x);
                assert_int_equal(store_append(st, d[k], key, t, val(i + x)), 1);
            }
        }
        assert_int_equal(store_commit(st), 0);
        if (i == CHUNK_SAMPLES / 2 || i == CHUNK_SAMPLES + 3) {
            /* Reads merge chunks and records; a duplicate in the records is refused, and
             * one in the chunks too (after the first compaction). */
            struct sample_array a = {0};
            assert_int_equal(store_read(st, d[1], "m{s=\"05\"}", INT64_MIN, INT64_MAX, &a), i + 1);
            assert_true(a.s[i].t_ms == T0 + i * MIN_MS + 1000);
            assert_same(a.s[i].v, val(i + 5));
            sample_array_free(&a);
            assert_int_equal(store_append(st, d[1], "m{s=\"05\"}", T0 + (i - 2) * MIN_MS + 1000, 7),
                             0);
            assert_int_equal(store_append(st, d[1], "m{s=\"05\"}", T0 + 1000, 7), 0);
            /* Series 03 skipped odd polls: its slot at an odd time is free, in a record
             * (first time) and in the chunks (second time). */
            int slot = i == CHUNK_SAMPLES / 2 ? i - 1 : 1;
            assert_int_equal(store_append(st, d[1], "m{s=\"03\"}", T0 + slot * MIN_MS + 1000, 42),
                             1);
            assert_int_equal(store_append(st, d[1], "m{s=\"03\"}", T0 + slot * MIN_MS + 1000, 43),
                             0);
        }
    }
    /* A sample of a new series at an old time, and an old one again. */
    assert_int_equal(store_append(st, d[2], "late", T0 + 2000, 1), 1);
    assert_int_equal(store_append(st, d[2], "late", T0 + 2000, 2), 0);
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < ndev; k++) {
            struct sample_array a = {0};
            (void)snprintf(key, sizeof(key), "m{s=\"%02d\"}", 11);
            assert_int_equal(store_read(st, d[k], key, INT64_MIN, INT64_MAX, &a), n);
            for (int i = 0; i < n; i++) {
                assert_true(a.s[i].t_ms == T0 + i * MIN_MS + k * 1000);
                assert_same(a.s[i].v, val(i + 11));
            }
            a.n = 0;
            /* A window inside the records. */
            assert_int_equal(store_read(st, d[k], key, T0 + (n - 10) * MIN_MS,
                                        T0 + (n - 5) * MIN_MS + k * 1000, &a),
                             6);
            a.n = 0;
            assert_int_equal(store_read(st, d[k], "m{s=\"03\"}", INT64_MIN, INT64_MAX, &a),
                             (n + 1) / 2 + (k == 1 ? 2 : 0));
            sample_array_free(&a);
        }
        /* Again after close (records compacted into chunks) and reopen. */
        st = store_close(st);
        st = open_store(*state);
        d[0] = dev(st, "rec-a");
        d[1] = dev(st, "rec-b");
        d[2] = dev(st, "rec-c");
    }
    {
        struct sample_array a = {0};
        assert_int_equal(store_read(st, d[2], "late", INT64_MIN, INT64_MAX, &a), 1);
        assert_true(a.s[0].v == 1);
        sample_array_free(&a);
    }
    st = store_close(st);
}

/* The poller's series order changes between commits: inserted, dropped, reversed keys. */
static void
test_series_order(void **state)
{
    struct store *st = open_store(*state);
    int64_t d = dev(st, "order");
    static const char *const polls[][5] = {
        {"a", "b", "c", "d", NULL}, {"a", "x", "b", "d", NULL}, {"d", "c", "b", "a", "x"},
        {"a", "b", "c", "d", NULL}, {"b", "d", NULL, NULL, NULL}, {"a", "b", "c", "d", "x"},
    };
    static const int expect[] = {/* a */ 5, /* b */ 6, /* c */ 4, /* d */ 6, /* x */ 3};
    static const char *const keys[] = {"a", "b", "c", "d", "x"};

    for (size_t p = 0; p < ARRAY_SIZE(polls); p++) {
        assert_int_equal(store_begin(st), 0);
        for (size_t k = 0; k < 5 && polls[p][k]; k++) {
            assert_int_equal(store_append(st, d, polls[p][k], T0 + (int64_t)p * MIN_MS,
                                          (double)(p * 10 + k)),
                             1);
            /* The same again in one commit: a duplicate. */
            assert_int_equal(store_append(st, d, polls[p][k], T0 + (int64_t)p * MIN_MS, -1), 0);
        }
        assert_int_equal(store_commit(st), 0);
    }
    for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
        struct sample_array a = {0};
        assert_int_equal(store_read(st, d, keys[k], INT64_MIN, INT64_MAX, &a), expect[k]);
        for (size_t i = 0; i < a.n; i++) {
            size_t p = (size_t)((a.s[i].t_ms - T0) / MIN_MS), pos = 0;
            while (strcmp(polls[p][pos], keys[k]) != 0)
                pos++;
            assert_true(a.s[i].v == (double)(p * 10 + pos));
        }
        sample_array_free(&a);
    }
    st = store_close(st);
}

/* Two transactions writing one device at the same time: two records, both read. */
static void
test_same_time_records(void **state)
{
    struct store *st = open_store(*state);
    int64_t d = dev(st, "same");
    struct sample_array a = {0};

    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_append(st, d, "x", T0, 1), 1);
    assert_int_equal(store_append(st, d, "y", T0, 2), 1);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_append(st, d, "y", T0, 3), 0);
    assert_int_equal(store_append(st, d, "z", T0, 4), 1);
    assert_int_equal(store_append(st, d, "x", T0 + MIN_MS, 5), 1);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(store_read(st, d, "y", INT64_MIN, INT64_MAX, &a), 1);
    assert_true(a.s[0].v == 2);
    a.n = 0;
    assert_int_equal(store_read(st, d, "z", INT64_MIN, INT64_MAX, &a), 1);
    assert_true(a.s[0].v == 4);
    a.n = 0;
    assert_int_equal(store_read(st, d, "x", INT64_MIN, INT64_MAX, &a), 2);
    st = store_close(st);
    st = open_store(*state);
    d = dev(st, "same");
    a.n = 0;
    assert_int_equal(store_read(st, d, "x", INT64_MIN, INT64_MAX, &a), 2);
    assert_true(a.s[1].v == 5);
    a.n = 0;
    assert_int_equal(store_read(st, d, "z", INT64_MIN, INT64_MAX, &a), 1);
    sample_array_free(&a);
    st = store_close(st);
}

/* A reader handle sees what a writer handle commits to head records (its copy is refreshed). */
static void
test_reader_sees_records(void **state)
{
    struct store *w = open_store(*state), *r = open_store(*state);
    int64_t dw = dev(w, "reader"), dr = dev(r, "reader");
    struct sample_array a = {0};

    for (int i = 0; i < 5; i++) {
        assert_int_equal(store_begin(w), 0);
        assert_int_equal(store_append(w, dw, "q", T0 + i * MIN_MS, i), 1);
        assert_int_equal(store_commit(w), 0);
        a.n = 0;
        assert_int_equal(store_read(r, dr, "q", INT64_MIN, INT64_MAX, &a), i + 1);
        assert_true(a.s[i].v == i);
    }
    sample_array_free(&a);
    w = store_close(w);
    r = store_close(r);
}

/* A device, two series and a state row. */
#define V1_DATA                                                                                 \
    "INSERT INTO meta VALUES ('schema', '1');"                                                 \
    "INSERT INTO device(id, name) VALUES (1, 'old');"                                          \
    "INSERT INTO series VALUES (1, 1, 'a', 'a'), (2, 1, 'b', 'b{x=\"1\"}');"                    \
    "INSERT INTO state VALUES (1, 'history_seq', '77');"

/* Schema 1 (one head row per sample) as store-sqlite.c created it, for the upgrade test. */
static const char v1_schema[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE device(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " first_ms INTEGER NOT NULL DEFAULT 0, last_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE series(id INTEGER PRIMARY KEY, device_id INTEGER NOT NULL,"
    " metric TEXT NOT NULL, key TEXT NOT NULL, UNIQUE(device_id, key));"
    "CREATE TABLE chunk(id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL,"
    " t_start INTEGER NOT NULL, t_end INTEGER NOT NULL, n INTEGER NOT NULL,"
    " step INTEGER NOT NULL DEFAULT 0, data BLOB NOT NULL);"
    "CREATE TABLE head(series_id INTEGER NOT NULL, t INTEGER NOT NULL,"
    " v INTEGER NOT NULL, PRIMARY KEY(series_id, t));"
    "CREATE TABLE event(id INTEGER PRIMARY KEY, device_id INTEGER NOT NULL,"
    " t_ms INTEGER NOT NULL, kind TEXT NOT NULL, subject TEXT, detail TEXT, value REAL);"
    "CREATE TABLE state(device_id INTEGER NOT NULL, key TEXT NOT NULL,"
    " value TEXT NOT NULL, PRIMARY KEY(device_id, key));"
    V1_DATA;

/* The same in PostgreSQL, as store-pg.c created it. */
static const char v1_schema_pg[] =
    "CREATE TABLE meta(key text PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE device(id bigserial PRIMARY KEY, name text NOT NULL UNIQUE,"
    " first_ms bigint NOT NULL DEFAULT 0, last_ms bigint NOT NULL DEFAULT 0,"
    " gen bigint NOT NULL DEFAULT 0);"
    "CREATE TABLE series(id bigserial PRIMARY KEY, device_id bigint NOT NULL,"
    " metric text NOT NULL, key text NOT NULL, UNIQUE(device_id, key));"
    "CREATE TABLE chunk(id bigserial PRIMARY KEY, series_id bigint NOT NULL,"
    " t_start bigint NOT NULL, t_end bigint NOT NULL, n integer NOT NULL,"
    " step bigint NOT NULL DEFAULT 0, data bytea NOT NULL);"
    "CREATE TABLE head(series_id bigint NOT NULL, t bigint NOT NULL,"
    " v bigint NOT NULL, PRIMARY KEY(series_id, t));"
    "CREATE TABLE event(id bigserial PRIMARY KEY, device_id bigint NOT NULL,"
    " t_ms bigint NOT NULL, kind text NOT NULL, subject text, detail text,"
    " value double precision);"
    "CREATE TABLE state(device_id bigint NOT NULL, key text NOT NULL,"
    " value text NOT NULL, PRIMARY KEY(device_id, key));"
    V1_DATA
    "SELECT setval('device_id_seq', 1); SELECT setval('series_id_seq', 2);";

/* The SQL (text) that builds a schema-1 database's data: a chunk and head rows. */
static char *
v1_data_sql(int pg)
{
    struct chunk_codec cc;
    struct sample s[480];
    size_t size = 1 << 20, len = 0;
    char *sql = malloc(size);

    assert_non_null(sql);
    assert_int_equal(chunk_codec_init(&cc), 0);
    for (int i = 0; i < 480; i++) {
        s[i].t_ms = T0 + i * MIN_MS;
        s[i].v = val(i);
    }
    assert_int_equal(chunk_encode(&cc, s, 480), 0);
    len += (size_t)snprintf(sql + len, size - len,
                            "INSERT INTO chunk(series_id, t_start, t_end, n, data) VALUES"
                            " (1, %lld, %lld, 480, %s",
                            (long long)T0, (long long)(T0 + 479 * MIN_MS), pg ? "'\\x" : "X'");
    for (size_t i = 0; i < cc.blob.len; i++)
        len += (size_t)snprintf(sql + len, size - len, "%02x", (unsigned char)cc.blob.data[i]);
    len += (size_t)snprintf(sql + len, size - len, "'%s);", pg ? "::bytea" : "");
    for (int i = 480; i < 600; i++) {
        double v = val(i);
        int64_t bits;
        memcpy(&bits, &v, sizeof(bits));
        len += (size_t)snprintf(sql + len, size - len, "INSERT INTO head VALUES (1, %lld, %lld);",
                                (long long)(T0 + i * MIN_MS), (long long)bits);
    }
    for (int i = 0; i < 10; i++)
        len += (size_t)snprintf(sql + len, size - len, "INSERT INTO head VALUES (2, %lld, %d);",
                                (long long)(T0 + i * MIN_MS), i);
    assert_true(len < size - 1);
    chunk_codec_done(&cc);
    return sql;
}

static void
v1_check(const char *spec)
{
    struct store *st = NULL;
    char err[256] = "";
    struct sample_array a = {0};
    char *seq = NULL;
    int64_t d;

    if (store_open(spec, &st, err, sizeof(err)) < 0)
        fail_msg("store_open(%s): %s", spec, err);
    assert_int_equal(store_device(st, "old", 0, &d), 0);
    check_series(st, d, "a", 600, MIN_MS);
    assert_int_equal(store_read(st, d, "b{x=\"1\"}", INT64_MIN, INT64_MAX, &a), 10);
    for (int i = 0; i < 10; i++) {
        int64_t bits;
        memcpy(&bits, &a.s[i].v, sizeof(bits));
        assert_true(a.s[i].t_ms == T0 + i * MIN_MS && bits == i);
    }
    sample_array_free(&a);
    assert_int_equal(store_state_get(st, d, "history_seq", &seq), 0);
    assert_string_equal(seq, "77");
    free(seq);
    /* Writing and the duplicate checks work on the upgraded store. */
    assert_int_equal(store_append(st, d, "a", T0 + 599 * MIN_MS, 0), 0);
    assert_int_equal(store_append(st, d, "a", T0 + 600 * MIN_MS, val(600)), 1);
    st = store_close(st);
    /* Opens again without upgrading twice. */
    if (store_open(spec, &st, err, sizeof(err)) < 0)
        fail_msg("store_open(%s): %s", spec, err);
    check_series(st, d, "a", 601, MIN_MS);
    st = store_close(st);
}

/* A schema-1 database (head rows) opens, is upgraded to schema 2 and loses nothing. */
static void
test_upgrade_v1(void **state)
{
    struct fx *f = *state;
    char *data = v1_data_sql(!f->is_sqlite);

    if (f->is_sqlite) {
        char path[300], spec[320];
        sqlite3 *db;
        sqlite3_stmt *q;

        if (!f->dir[0]) {
            free(data);
            skip();
        }
        (void)snprintf(path, sizeof(path), "%s/v1.db", f->dir);
        (void)snprintf(spec, sizeof(spec), "sqlite:%s", path);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, v1_schema, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, data, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        v1_check(spec);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "SELECT (SELECT value FROM meta WHERE key = 'schema'),"
                                            " (SELECT count(*) FROM sqlite_master"
                                            "  WHERE name = 'head')",
                                            -1, &q, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(q, 0), "2");
        assert_int_equal(sqlite3_column_int(q, 1), 0);
        sqlite3_finalize(q);
        sqlite3_close(db);
        (void)unlink(path);
        (void)snprintf(path, sizeof(path), "%s/v1.db-wal", f->dir);
        (void)unlink(path);
        (void)snprintf(path, sizeof(path), "%s/v1.db-shm", f->dir);
        (void)unlink(path);
    } else {
#if HAVE_LIBPQ
        /* A database of its own: the other tests share theirs. */
        char name[64], spec[600], sql[128];
        const char *at = strstr(f->spec, "/soak?");
        PGconn *c = PQconnectdb(f->spec), *c1;
        PGresult *res;

        assert_non_null(at);
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        (void)snprintf(name, sizeof(name), "soak_v1_%d", (int)getpid());
        (void)snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
        res = PQexec(c, sql);
        assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
        (void)snprintf(spec, sizeof(spec), "%.*s/%s%s", (int)(at - f->spec), f->spec, name,
                       at + 5);
        c1 = PQconnectdb(spec);
        assert_int_equal(PQstatus(c1), CONNECTION_OK);
        res = PQexec(c1, v1_schema_pg);
        assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK); /* the last setval */
        PQclear(res);
        res = PQexec(c1, data);
        assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
        v1_check(spec);
        res = PQexec(c1, "SELECT (SELECT value FROM meta WHERE key = 'schema'),"
                         " to_regclass('head') IS NULL");
        assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
        assert_string_equal(PQgetvalue(res, 0, 0), "2");
        assert_string_equal(PQgetvalue(res, 0, 1), "t");
        PQclear(res);
        PQfinish(c1);
        (void)snprintf(sql, sizeof(sql), "DROP DATABASE %s", name);
        res = PQexec(c, sql);
        assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
        PQfinish(c);
#else
        free(data);
        skip();
#endif
    }
    free(data);
}

/* The head record codec: exact round trips (NaN payloads, -0, big integers), refusals. */
static void
test_hrec_codec(void **state)
{
    struct hrec_entry e[300];
    struct hrec_array a = {0};
    struct buf b;
    double specials[] = {-0.0, 0.0, 1.5, -3, 9007199254740991.0, 9007199254740992.0, 1e300,
                         INFINITY, -INFINITY};
    uint64_t nan_payload = 0x7ff0000000000002ULL;

    (void)state;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 300; i++) {
        double v = i < 9 ? specials[i] : val(i);
        e[i].sid = 5 + i * (i % 4 == 0 ? 1000 : 1);
        memcpy(&e[i].bits, &v, sizeof(v));
    }
    e[10].bits = nan_payload;
    for (int i = 1; i < 300; i++)
        if (e[i].sid <= e[i - 1].sid)
            e[i].sid = e[i - 1].sid + 1;
    assert_int_equal(hrec_encode(&b, e, 300), 0);
    assert_true(b.len < 300 * 9);
    assert_int_equal(hrec_decode(b.data, b.len, &a), 300);
    for (int i = 0; i < 300; i++) {
        assert_true(a.e[i].sid == e[i].sid);
        assert_true(a.e[i].bits == e[i].bits);
    }
    for (size_t cut = 0; cut < b.len; cut++) {
        assert_true(hrec_decode(b.data, cut, &a) < 0);
        assert_int_equal(a.n, 300);
    }
    /* Unsorted series ids are refused. */
    e[1].sid = e[0].sid;
    assert_int_equal(hrec_encode(&b, e, 2), -EINVAL);
    {
        /* Found by fuzz-store-hrec: gaps that run the id past INT64_MAX (signed
         * overflow before the check) are damage, and leave the array as it was. */
        static const unsigned char past_max[] = {
            0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x05, 0xce, 0x01,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x05, 0xce, 0x01, 0x01, 0x01, 0x01,
            0x32, 0x41, 0x01};
        assert_int_equal(hrec_decode(past_max, sizeof(past_max), &a), -EBADMSG);
        assert_int_equal(a.n, 300);
    }
    hrec_array_free(&a);
    buf_free(&b);
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
    {
        /* Found by fuzz-store-chunk: a raw blob whose times repeat (-31, -31). The encoder
         * writes sorted, distinct times only, so this is damage, not two samples. */
        static const unsigned char repeated[] = {0x00, 0x07, 0x02, 0xbd, 0x00, 0x00,
                                                 0x00, 0x00, 0x01, 0x02};
        size_t before = a.n;
        assert_int_equal(chunk_decode(&cc, repeated, sizeof(repeated), &a), -EBADMSG);
        assert_int_equal(a.n, before);
    }
    sample_array_free(&a);
    chunk_codec_done(&cc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_codec),
        cmocka_unit_test(test_hrec_codec),
        cmocka_unit_test_setup_teardown(test_head_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_time_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_series_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_sees_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_v1, setup, teardown),
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
