/* SPDX-License-Identifier: MIT */
/*
 * test-web-api.c - the API and page handlers over a real SQLite store in a
 * temporary directory, without HTTP: parameters, JSON shapes, status codes,
 * open alerts, problems-first order and escaping.
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

#include "web-internal.h"

#define T0 1764000000000LL /* 2025-11-24T16:00:00Z */
#define STEP 600000LL      /* 10 minutes */
#define N 144              /* one day */

struct fixture {
    char dir[64];
    struct web_ctx c;
};

struct args {
    const char *kv[16];
};

static const char *
arg_fn(void *ctx, const char *name)
{
    struct args *a = ctx;

    for (size_t i = 0; a && a->kv[i]; i += 2)
        if (strcmp(a->kv[i], name) == 0)
            return a->kv[i + 1];
    return NULL;
}

static void
append(struct store *st, int64_t dev, const char *key, double (*f)(int i))
{
    for (int i = 0; i < N; i++)
        assert_true(store_append(st, dev, key, T0 + i * STEP, f(i)) >= 0);
}

static double
avail(int i)
{
    return 180e6 - i * 1e5;
}
static double
total(int i)
{
    (void)i;
    return 235958272;
}
static double
one(int i)
{
    (void)i;
    return 1;
}
static double
up_last_down(int i)
{
    return i == N - 1 ? 0 : 1;
}
static double
lat(int i)
{
    (void)i;
    return 0.012;
}
static double
filp(int i)
{
    return 20000 + 50.0 * i;
}
static double
dentry(int i)
{
    (void)i;
    return 50000;
}
static double
kml(int i)
{
    return 10.0 * i;
}
static double
site_a(int i)
{
    return 7.0 * i;
}
static double
site_b(int i)
{
    return 2.0 * i;
}

static int
setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char spec[96], err[256];
    int64_t a, b, o;

    assert_non_null(fx);
    (void)snprintf(fx->dir, sizeof(fx->dir), "/tmp/test-web-api.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    (void)snprintf(spec, sizeof(spec), "sqlite:%s/farm.db", fx->dir);
    assert_int_equal(store_open(spec, &fx->c.st, err, sizeof(err)), 0);
    assert_int_equal(web_judge_cache_new(&fx->c), 0);
    struct store *st = fx->c.st;
    assert_int_equal(store_device(st, "rockpis-t", 1, &a), 0);
    assert_int_equal(store_device(st, "<b>x&y</b>", 1, &b), 0);
    assert_int_equal(store_device(st, "old-board", 1, &o), 0);
    assert_int_equal(store_begin(st), 0);
    append(st, a, "node_memory_MemAvailable_bytes", avail);
    append(st, a, "node_memory_MemTotal_bytes", total);
    append(st, a, "soak_build_info{build=\"6.17.6 / 2025.11\",kernel_release=\"6.17.6\"}", one);
    append(st, a, "soak_poll_up", up_last_down);
    append(st, a, "soak_poll_duration_seconds", lat);
    append(st, a, "node_slabinfo_active_objects{slab=\"filp\"}", filp);
    append(st, a, "node_slabinfo_active_objects{slab=\"dentry\"}", dentry);
    append(st, a, "soak_kmemleak_unreferenced_objects", kml);
    append(st, a,
           "soak_kmemleak_site_objects{caller=\"path_openat+0x48/0xfd0\","
           "site=\"alloc_empty_file+0x54/0x11c\",type=\"filp\"}",
           site_a);
    append(st, a,
           "soak_kmemleak_site_objects{caller=\"copy_creds+0x2c/0x1c0\","
           "site=\"prepare_creds+0x24/0x338\",type=\"cred\"}",
           site_b);
    append(st, b, "node_memory_MemAvailable_bytes", avail);
    append(st, b, "soak_build_info{build=\"6.12.55 <old>\"}", one);
    append(st, o, "soak_poll_up", one); /* polled fine, but a year ago: stale */
    assert_int_equal(store_commit(st), 0);
    struct store_event ev[] = {
        {.device_id = a,
         .t_ms = T0 + 10 * STEP,
         .kind = EVENT_PANIC,
         .detail = (char *)"Kernel panic - not syncing: System is deadlocked on memory",
         .value = NAN},
        {.device_id = a,
         .t_ms = T0 + 20 * STEP,
         .kind = EVENT_ALERT,
         .subject = (char *)"unreachable",
         .value = 1},
        {.device_id = a,
         .t_ms = T0 + 30 * STEP,
         .kind = EVENT_ALERT,
         .subject = (char *)"panic",
         .value = 1},
        {.device_id = a,
         .t_ms = T0 + 40 * STEP,
         .kind = EVENT_ALERT,
         .subject = (char *)"unreachable",
         .value = 0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(ev); i++)
        assert_int_equal(store_event_add(st, &ev[i]), 0);
    fx->c.refresh = 60;
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];

    web_judge_cache_free(&fx->c);
    fx->c.st = store_close(fx->c.st);
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* Run path with args; returns the parsed JSON (or NULL for HTML) and the status. */
static json_t *
run(struct fixture *fx, const char *path, struct args *a, unsigned *status, struct buf *html)
{
    struct web_route rt;
    struct web_reply rep = {.status = 200};
    struct web_req q = {.c = &fx->c, .rt = &rt, .arg = arg_fn, .argctx = a};
    json_t *j = NULL;

    buf_init(&rep.body, WEB_BODY_MAX);
    web_route(path, &rt);
    if (rt.kind >= ROUTE_API_DEVICES)
        web_api(&q, &rep);
    else
        web_page(&q, &rep);
    *status = rep.status;
    if (strcmp(rep.ctype, "application/json") == 0) {
        json_error_t e;
        j = json_loads(buf_str(&rep.body), 0, &e);
        assert_non_null(j);
    } else if (html) {
        assert_int_equal(buf_append(html, rep.body.data ? rep.body.data : "", rep.body.len), 0);
    }
    buf_free(&rep.body);
    return j;
}

static void
test_devices(void **state)
{
    struct fixture *fx = *state;
    unsigned st;
    json_t *j = run(fx, "/api/v1/devices", NULL, &st, NULL);

    assert_int_equal(st, 200);
    /* default window: 7 days ending at the newest sample */
    assert_true(json_real_value(json_object_get(j, "to")) == (T0 + (N - 1) * STEP) / 1000.0);
    json_t *devs = json_object_get(j, "devices");
    assert_int_equal(json_array_size(devs), 3);
    json_t *a = json_array_get(devs, 0); /* unreachable + open alert: first */
    assert_string_equal(json_string_value(json_object_get(a, "name")), "rockpis-t");
    assert_string_equal(json_string_value(json_object_get(a, "reachable")), "down");
    assert_string_equal(json_string_value(json_object_get(a, "build")), "6.17.6 / 2025.11");
    assert_string_equal(json_string_value(json_object_get(a, "kernel_release")), "6.17.6");
    assert_true(json_real_value(json_object_get(a, "poll_latency_seconds")) == 0.012);
    json_t *alerts = json_object_get(a, "alerts");
    assert_int_equal(json_array_size(alerts), 1); /* unreachable resolved, panic open */
    assert_string_equal(json_string_value(json_array_get(alerts, 0)), "panic");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "events"), "panic")), 1);
    json_t *o = json_array_get(devs, 1); /* stale polls: second */
    assert_string_equal(json_string_value(json_object_get(o, "name")), "old-board");
    assert_string_equal(json_string_value(json_object_get(o, "reachable")), "stale");
    json_t *b = json_array_get(devs, 2);
    assert_string_equal(json_string_value(json_object_get(b, "reachable")), "unknown");
    assert_true(json_is_null(json_object_get(b, "uptime_seconds")));
    json_decref(j);

    struct args bad = {{"range", "7 days", NULL}};
    j = run(fx, "/api/v1/devices", &bad, &st, NULL);
    assert_int_equal(st, 400);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "range"));
    json_decref(j);
}

/* The badges are the same computed afresh (no cache), first cached and served from the cache. */
static void
test_judge_cache(void **state)
{
    struct fixture *fx = *state;
    struct web_range rg;
    struct web_dev d[3] = {{0}};
    struct web_judge_cache *jc = fx->c.judge;
    int64_t at;

    char err[128];

    assert_int_equal(web_range_parse(NULL, NULL, NULL, T0 + (N - 1) * STEP, &rg, err, sizeof(err)),
                     0);
    at = rg.to_ms;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(web_dev_load(&fx->c, "rockpis-t", &rg, &d[i]), 0);
        fx->c.judge = i == 0 ? NULL : jc;
        assert_int_equal(web_dev_judge(&fx->c, &d[i], at), 0);
    }
    fx->c.judge = jc;
    assert_int_equal(d[0].leak, 0); /* judged (a day of data), not called a leak */
    assert_non_null(d[0].verdict_build);
    for (size_t i = 1; i < 3; i++) {
        assert_int_equal(d[i].leak, d[0].leak);
        assert_true(d[i].leak_rate == d[0].leak_rate ||
                    (isnan(d[i].leak_rate) && isnan(d[0].leak_rate)));
        assert_true(d[i].exhaustion_ms == d[0].exhaustion_ms);
        assert_int_equal(d[i].verdict, d[0].verdict);
        assert_string_equal(d[i].verdict_build, d[0].verdict_build);
    }
    for (size_t i = 0; i < 3; i++)
        web_dev_free(&d[i]);
}

static void
test_series(void **state)
{
    struct fixture *fx = *state;
    unsigned st;
    struct args a = {
        {"metric", "node_slabinfo_active_objects", "from", "1764000000", "to", "1764100000", NULL}};
    json_t *j = run(fx, "/api/v1/devices/rockpis-t/series", &a, &st, NULL);

    assert_int_equal(st, 200);
    json_t *s = json_object_get(j, "series");
    assert_int_equal(json_array_size(s), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *x = json_array_get(s, i);
        const char *slab = json_string_value(json_object_get(json_object_get(x, "labels"), "slab"));
        assert_true(strcmp(slab, "filp") == 0 || strcmp(slab, "dentry") == 0);
        json_t *smp = json_object_get(x, "samples");
        /* 1764000000 .. 1764100000 holds samples 0..166, i.e. all 144 */
        assert_int_equal(json_array_size(smp), N);
        assert_true(json_real_value(json_array_get(json_array_get(smp, 0), 0)) == 1764000000.0);
    }
    json_decref(j);

    struct args p = {{"metric", "node_memory_MemAvailable_bytes", "points", "10", NULL}};
    j = run(fx, "/api/v1/devices/rockpis-t/series", &p, &st, NULL);
    assert_int_equal(st, 200);
    assert_true(json_is_true(json_object_get(j, "downsampled")));
    size_t n = json_array_size(
        json_object_get(json_array_get(json_object_get(j, "series"), 0), "samples"));
    assert_true(n > 0 && n <= 10);
    json_decref(j);

    static const char *const bad[][4] = {
        {"metric", "", NULL, NULL},       {"metric", "a{b}", NULL, NULL},
        {"metric", "up", "points", "1"},  {"metric", "up", "points", "x"},
        {"metric", "up", "from", "soon"}, {NULL, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct args b = {{bad[i][0], bad[i][1], bad[i][2], bad[i][3], NULL}};
        j = run(fx, "/api/v1/devices/rockpis-t/series", &b, &st, NULL);
        assert_int_equal(st, 400);
        assert_non_null(json_object_get(j, "error"));
        json_decref(j);
    }
    struct args m = {{"metric", "up", NULL}};
    j = run(fx, "/api/v1/devices/nosuch/series", &m, &st, NULL);
    assert_int_equal(st, 404);
    json_decref(j);
}

static void
test_events_alerts(void **state)
{
    struct fixture *fx = *state;
    unsigned st;
    json_t *j = run(fx, "/api/v1/devices/rockpis-t/events", NULL, &st, NULL);

    assert_int_equal(st, 200);
    json_t *ev = json_object_get(j, "events");
    assert_int_equal(json_array_size(ev), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "kind")), "panic");
    json_decref(j);
    struct args k = {{"kind", "alert", NULL}};
    j = run(fx, "/api/v1/devices/rockpis-t/events", &k, &st, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "events")), 3);
    json_decref(j);
    struct args bk = {{"kind", "party", NULL}};
    j = run(fx, "/api/v1/devices/rockpis-t/events", &bk, &st, NULL);
    assert_int_equal(st, 400);
    json_decref(j);

    j = run(fx, "/api/v1/alerts", NULL, &st, NULL);
    assert_int_equal(st, 200);
    json_t *al = json_object_get(j, "alerts");
    assert_int_equal(json_array_size(al), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(al, 0), "device")),
                        "rockpis-t");
    assert_string_equal(json_string_value(json_object_get(json_array_get(al, 0), "alert")),
                        "panic");
    json_decref(j);

    j = run(fx, "/api/v1/whatever", NULL, &st, NULL);
    assert_int_equal(st, 404);
    json_decref(j);
}

static void
test_pages(void **state)
{
    struct fixture *fx = *state;
    unsigned st;
    struct buf h;

    buf_init(&h, WEB_BODY_MAX);
    assert_null(run(fx, "/", NULL, &st, &h));
    assert_int_equal(st, 200);
    const char *s = buf_str(&h);
    assert_non_null(strstr(s, "&lt;b&gt;x&amp;y&lt;/b&gt;"));
    assert_null(strstr(s, "<b>x&y</b>"));
    assert_non_null(strstr(s, "6.12.55 &lt;old&gt;"));
    assert_non_null(strstr(s, ">UNREACHABLE<"));
    assert_non_null(strstr(s, ">ALERT panic<"));
    assert_non_null(strstr(s, ">PANIC x1<"));
    assert_non_null(strstr(s, ">NO RECENT POLL<"));
    assert_non_null(strstr(s, "href=\"/device/%3Cb%3Ex%26y%3C%2Fb%3E?"));
    /* problems first */
    assert_true(strstr(s, ">rockpis-t<") < strstr(s, "&lt;b&gt;x&amp;y"));

    buf_reset(&h);
    struct args r = {{"range", "1d", "refresh", "0", NULL}};
    assert_null(run(fx, "/device/rockpis-t", &r, &st, &h));
    assert_int_equal(st, 200);
    s = buf_str(&h);
    assert_null(strstr(s, "http-equiv=\"refresh\""));
    assert_non_null(strstr(s, "/device/rockpis-t/plot/memory.svg?from="));
    assert_non_null(strstr(s, "System is deadlocked on memory"));
    assert_non_null(strstr(s, ">zoom</a>"));
    assert_non_null(strstr(s, ">filp<"));
    /* filp grew 50 per step over the day: first row of the slab table */
    assert_true(strstr(s, ">filp<") < strstr(s, ">dentry<"));
    /* kmemleak: the count and the top sites, largest first */
    assert_non_null(strstr(s, "<h2>kmemleak</h2>"));
    assert_non_null(strstr(s, "1430 unreferenced objects"));
    assert_non_null(strstr(s, ">alloc_empty_file+0x54/0x11c<"));
    assert_true(strstr(s, ">alloc_empty_file+0x54/0x11c<") <
                strstr(s, ">prepare_creds+0x24/0x338<"));

    buf_reset(&h);
    assert_null(run(fx, "/device/rockpis-t/plot/memory.svg", &r, &st, &h));
    assert_int_equal(st, 200);
    assert_non_null(strstr(buf_str(&h), "<svg"));
    buf_reset(&h);
    assert_null(run(fx, "/device/rockpis-t/plot/latency.png", NULL, &st, &h));
    assert_int_equal(st, 200);
    assert_memory_equal(buf_str(&h), "\x89PNG", 4);
    buf_reset(&h);
    struct args big = {{"w", "100000", NULL}};
    assert_null(run(fx, "/device/rockpis-t/plot/memory.svg", &big, &st, &h));
    assert_int_equal(st, 400);
    buf_reset(&h);
    assert_null(run(fx, "/device/nosuch/plot/memory.svg", NULL, &st, &h));
    assert_int_equal(st, 404);

    buf_reset(&h);
    assert_null(run(fx, "/device/nosuch", NULL, &st, &h));
    assert_int_equal(st, 404);
    assert_non_null(strstr(buf_str(&h), "No device called"));
    buf_reset(&h);
    assert_null(run(fx, "/nowhere", NULL, &st, &h));
    assert_int_equal(st, 404);
    buf_reset(&h);
    struct args bad = {{"from", "2025-02-30T99:00", NULL}};
    assert_null(run(fx, "/", &bad, &st, &h));
    assert_int_equal(st, 400);
    buf_reset(&h);
    struct args br = {{"refresh", "maybe", NULL}};
    assert_null(run(fx, "/", &br, &st, &h));
    assert_int_equal(st, 400);
    buf_free(&h);
}

/*
 * fontconfig (under cairo's text drawing) keeps its caches for the life of the
 * process by design; LeakSanitizer reads this hook and ignores them.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_judge_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
