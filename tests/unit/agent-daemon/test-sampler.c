/* SPDX-License-Identifier: MIT */
/* Unit tests of the sampler (cached blocks, self metrics, backoff, slow thread) and /info. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent-conf.h"
#include "info.h"
#include "mock-collectors.h"
#include "ring.h"
#include "sampler.h"

static const struct collector_ops *const registry[] = {
    &mock_collector, &failing_collector, &blocker_collector, &optin_collector, NULL,
};

static struct sampler *
new_sampler(const char *conf_text, struct ring *ring)
{
    struct agent_conf *c = NULL;
    struct sampler *s = NULL;
    char err[256];

    assert_int_equal(agent_conf_new(registry, &c), 0);
    if (agent_conf_load_string(c, conf_text, err, sizeof(err)) < 0)
        fail_msg("config: %s", err);
    assert_int_equal(sampler_new(c, ring, &s), 0);
    /* The sampler took the contexts: freeing the config must not free them. */
    (void)agent_conf_free(c);
    return s;
}

static char *
snapshot(struct sampler *s, unsigned flags)
{
    struct buf b;

    buf_init(&b, SAMPLER_SNAPSHOT_MAX);
    assert_int_equal(sampler_snapshot(s, &b, flags), 0);
    return b.data ? buf_take(&b) : strdup("");
}

static void
test_once_snapshot(void **state)
{
    struct sampler *s = new_sampler("[collector.blocker]\nenabled = no\n", NULL);
    char *t;

    (void)state;
    t = snapshot(s, 0);
    /* Nothing has run yet: only the agent's own metrics, no collector output. */
    assert_null(strstr(t, "mock_value"));
    assert_non_null(strstr(t, "soak_agent_info{version=\""));
    free(t);
    sampler_run_all(s);
    sampler_run_all(s);
    t = snapshot(s, SNAPSHOT_STABLE);
    assert_non_null(strstr(t, "mock_reads_total 2\n"));
    assert_non_null(strstr(t, "mock_value{kind=\"a b\"} 2.5\n"));
    /* A failing collector keeps what it wrote and is reported down. */
    assert_non_null(strstr(t, "failing_partial 1\n"));
    assert_non_null(strstr(t, "soak_collector_up{collector=\"mock\"} 1\n"));
    assert_non_null(strstr(t, "soak_collector_up{collector=\"failing\"} 0\n"));
    assert_non_null(strstr(t, "soak_collector_errors_total{collector=\"failing\"} 2\n"));
    assert_non_null(strstr(t, "soak_collector_errors_total{collector=\"mock\"} 0\n"));
    assert_null(strstr(t, "optin")); /* opt-in collector not enabled */
    /* Stable output leaves out what changes from run to run. */
    assert_null(strstr(t, "process_resident_memory_bytes"));
    assert_null(strstr(t, "soak_collector_duration_seconds"));
    free(t);
    t = snapshot(s, 0);
    assert_non_null(strstr(t, "process_resident_memory_bytes "));
    assert_non_null(strstr(t, "soak_collector_duration_seconds{collector=\"mock\"} "));
    free(t);
    (void)sampler_free(s);
}

struct seen {
    int n;
    char keys[8][128];
    char fams[8][64];
    double v[8];
    enum metric_type t[8];
};

static int
collect(void *ctx, const char *family, enum metric_type type, const char *key, double value)
{
    struct seen *s = ctx;

    if (s->n < 8) {
        (void)snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
        (void)snprintf(s->fams[s->n], sizeof(s->fams[0]), "%s", family);
        s->v[s->n] = value;
        s->t[s->n] = type;
    }
    s->n++;
    return 0;
}

static void
test_feed_text(void **state)
{
    const char *text = "# HELP a_total Things.\n"
                       "# TYPE a_total counter\n"
                       "a_total{x=\"one two\",y=\"q\\\"z\"} 12\n"
                       "# TYPE b gauge\n"
                       "b -1.5e-3\n"
                       "b{s=\"\"} NaN\n"
                       "garbage-without-value\n"
                       "c 1 2 x\n";
    struct seen s = {0};

    (void)state;
    assert_int_equal(sampler_feed_text(text, strlen(text), collect, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.keys[0], "a_total{x=\"one two\",y=\"q\\\"z\"}");
    assert_string_equal(s.fams[0], "a_total");
    assert_int_equal(s.t[0], METRIC_COUNTER);
    assert_true(s.v[0] == 12);
    assert_string_equal(s.keys[1], "b");
    assert_true(s.v[1] == -1.5e-3);
    assert_int_equal(s.t[1], METRIC_GAUGE);
    assert_string_equal(s.keys[2], "b{s=\"\"}");
}

static void
test_record_into_ring(void **state)
{
    struct ring_options o = {.max_records = 10, .max_series = 64};
    struct ring *ring = NULL;
    struct sampler *s;
    struct ring_query *q = NULL;
    struct buf b;

    (void)state;
    assert_int_equal(ring_new(&o, &ring), 0);
    s = new_sampler("[collector.blocker]\nenabled = no\n", ring);
    sampler_run_all(s);
    assert_int_equal(sampler_record(s, 1700000000000LL), 0);
    sampler_run_all(s);
    assert_int_equal(sampler_record(s, 1700000060000LL), 0);
    assert_int_equal(ring_query_new(ring, 1, 0, &q), 0);
    buf_init(&b, 1 << 20);
    assert_int_equal(ring_query_render(q, &b, 1 << 20), 0);
    assert_non_null(strstr(buf_str(&b), "# TYPE mock_reads counter\n"
                                        "mock_reads_total 2 1700000060.000\n"));
    assert_non_null(strstr(buf_str(&b), "mock_value{kind=\"a b\"} 2.5 1700000060.000\n"));
    assert_non_null(strstr(buf_str(&b), "process_resident_memory_bytes "));
    buf_free(&b);
    (void)ring_query_free(q);
    (void)sampler_free(s);
    (void)ring_free(ring);
}

static double
mono(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
value_of(const char *text, const char *key)
{
    const char *p = strstr(text, key);

    return p ? strtod(p + strlen(key), NULL) : -1;
}

static void
test_slow_collector_does_not_block(void **state)
{
    struct sampler *s = new_sampler("[collector.mock]\ninterval = 0.05\n"
                                    "[collector.failing]\ninterval = 0.05\n", NULL);
    double start = mono(), deadline = start + 10, reads = 0, errors = 0, elapsed;
    char *t;

    (void)state;
    assert_int_equal(sampler_start(s, 0, NULL, 0), 0);
    /* The slow collector blocks in read(); the fast one keeps running and scrapes work. */
    while (mono() < deadline) {
        t = snapshot(s, 0);
        reads = value_of(t, "\nmock_reads_total ");
        errors = value_of(t, "\nsoak_collector_errors_total{collector=\"failing\"} ");
        free(t);
        if (reads >= 20)
            break;
        usleep(20000);
    }
    elapsed = mono() - start;
    assert_true(reads >= 20);
    (void)pthread_mutex_lock(&blocker_lock);
    assert_int_equal(blocker_waiting, 1);
    (void)pthread_mutex_unlock(&blocker_lock);
    /* 20 reads at 50 ms took elapsed >= 1 s: without backoff "failing" would have failed
     * elapsed / 50 ms times (>= 20); doubling from 50 ms allows about log2 of that. */
    assert_true(errors >= 2);
    if (errors > 3 + log2(elapsed / 0.05))
        fail_msg("%g errors in %.2f s: no backoff?", errors, elapsed);
    blocker_release();
    sampler_stop(s);
    t = snapshot(s, 0);
    assert_non_null(strstr(t, "blocker_value 7\n"));
    free(t);
    (void)sampler_free(s);
}

static void
test_info(void **state)
{
    const char *snap =
        "# TYPE node_uname_info gauge\n"
        "node_uname_info{nodename=\"rockpis-3\",release=\"6.17.6\"} 1\n"
        "# TYPE soak_build_info gauge\n"
        "soak_build_info{build=\"6.17.6 \\\"rc\\\"\",kernel_release=\"6.17.6-rk\","
        "os_version=\"12\",rauc_slot=\"A\",rauc_bundle_version=\"2.1\"} 1\n"
        "# TYPE soak_boot_info gauge\n"
        "soak_boot_info{boot_id=\"5c1e\"} 1\n"
        "# TYPE soak_device_info gauge\n"
        "soak_device_info{model=\"Radxa ROCK Pi S\"} 1\n"
        "# TYPE soak_uptime_seconds gauge\n"
        "soak_uptime_seconds 3600.5\n";
    struct info_history h = {.oldest_seq = 3, .newest_seq = 9, .ring_id = 0xabc, .present = 1};
    json_error_t jerr;
    json_t *j;
    char *s, v[64];

    (void)state;
    assert_int_equal(info_label("m{a=\"x\",b=\"y\\\\z\"}", "b", v, sizeof(v)), 3);
    assert_string_equal(v, "y\\z");
    assert_int_equal(info_label("m{a=\"x\"}", "c", v, sizeof(v)), -ENOENT);
    assert_int_equal(info_label("m{a=x}", "a", v, sizeof(v)), -EINVAL);
    assert_int_equal(info_label("m{a=\"xxxxxxxx\"}", "a", v, 4), -E2BIG);

    s = info_json(snap, strlen(snap), NULL, &h);
    assert_non_null(s);
    j = json_loads(s, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "device")), "rockpis-3");
    assert_string_equal(json_string_value(json_object_get(j, "model")), "Radxa ROCK Pi S");
    assert_string_equal(json_string_value(json_object_get(j, "build")), "6.17.6 \"rc\"");
    assert_string_equal(json_string_value(json_object_get(j, "kernel_release")), "6.17.6-rk");
    assert_string_equal(json_string_value(json_object_get(j, "rauc_slot")), "A");
    assert_string_equal(json_string_value(json_object_get(j, "boot_id")), "5c1e");
    assert_true(json_number_value(json_object_get(j, "uptime_seconds")) == 3600.5);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "history"),
                                                          "ring_id")),
                        "0000000000000abc");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "history"),
                                                        "newest_seq")),
                     9);
    json_decref(j);
    free(s);
    /* An empty snapshot: every identity field is null, the document still valid. */
    s = info_json("", 0, "dev", NULL);
    j = json_loads(s, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "device")), "dev");
    assert_true(json_is_null(json_object_get(j, "build")));
    assert_true(json_is_null(json_object_get(j, "history")));
    json_decref(j);
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_once_snapshot),
        cmocka_unit_test(test_feed_text),
        cmocka_unit_test(test_record_into_ring),
        cmocka_unit_test(test_slow_collector_does_not_block),
        cmocka_unit_test(test_info),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
