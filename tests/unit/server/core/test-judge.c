/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/server/core/judge.c over a real SQLite store: boots are
 * segmented, builds named, the leak found in the leaking boot only, the alert
 * state and the JSON of soak leak match, slab view flags filp.
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

#include "judge.h"
#include "store.h"
#include "tracegen.h"

#define MB (1024.0 * 1024.0)
#define H (3600 * 1000LL)
#define BOOT0 1764000000000LL

static void
put_boot(struct store *st, int64_t dev, enum tg_pattern pat, int64_t boot, double days,
         const char *build, uint64_t seed)
{
    struct tg_params p = {.pattern = pat,
                          .ram_mb = 256,
                          .leak_per_day = 25 * MB,
                          .days = days,
                          .interval_s = 120,
                          .boot_ms = boot,
                          .seed = seed};
    struct tg_trace t;
    char key[128];

    assert_int_equal(tg_generate(&p, &t), 0);
    (void)snprintf(key, sizeof(key), "soak_build_info{build=\"%s\"}", build);
    assert_int_equal(store_begin(st), 0);
    for (size_t i = 0; i < t.n; i++) {
        int64_t ts = t.t_ms[i];
        assert_true(store_append(st, dev, "node_memory_MemTotal_bytes", ts, t.mem_total) >= 0);
        assert_true(
            store_append(st, dev, "node_memory_MemAvailable_bytes", ts, t.mem_available[i]) >= 0);
        assert_true(store_append(st, dev, "node_memory_SUnreclaim_bytes", ts, t.sunreclaim[i]) >=
                    0);
        assert_true(store_append(st, dev, "node_slabinfo_active_objects{slab=\"filp\"}", ts,
                                 t.filp_objects[i]) >= 0);
        assert_true(
            store_append(st, dev, "node_slabinfo_object_size_bytes{slab=\"filp\"}", ts, 192) >= 0);
        assert_true(store_append(st, dev, "node_slabinfo_active_objects{slab=\"kmalloc-192\"}", ts,
                                 t.kmalloc192_objects[i]) >= 0);
        assert_true(store_append(st, dev, "node_slabinfo_object_size_bytes{slab=\"kmalloc-192\"}",
                                 ts, 192) >= 0);
        assert_true(store_append(st, dev, "soak_open_fds", ts, t.open_fds[i]) >= 0);
        assert_true(store_append(st, dev, "node_filefd_allocated", ts, t.filefd_allocated[i]) >= 0);
        assert_true(store_append(st, dev, "node_boot_time_seconds", ts, (double)(boot / 1000)) >=
                    0);
        assert_true(store_append(st, dev, key, ts, 1) >= 0);
        assert_true(store_append(st, dev, "soak_poll_up", ts, 1) >= 0);
    }
    assert_int_equal(store_commit(st), 0);
    tg_trace_free(&t);
}

static char db_path[64];

static int
setup(void **state)
{
    char spec[96], err[256];
    struct store *st;
    int64_t dev;
    int fd;

    (void)snprintf(db_path, sizeof(db_path), "/tmp/soak-test-judge-XXXXXX");
    fd = mkstemp(db_path);
    assert_true(fd >= 0);
    (void)close(fd);
    (void)unlink(db_path);
    (void)snprintf(spec, sizeof(spec), "sqlite:%s", db_path);
    assert_int_equal(store_open(spec, &st, err, sizeof(err)), 0);
    assert_int_equal(store_device(st, "rockpis-1", 1, &dev), 0);
    put_boot(st, dev, TG_SAWTOOTH, BOOT0, 2, "6.12.55", 1);
    put_boot(st, dev, TG_LEAK, BOOT0 + 49 * H, 0.5, "6.17.6", 2);
    *state = st;
    return 0;
}

static int
teardown(void **state)
{
    char aux[96];

    (void)store_close(*state);
    (void)unlink(db_path);
    (void)snprintf(aux, sizeof(aux), "%s-wal", db_path);
    (void)unlink(aux);
    (void)snprintf(aux, sizeof(aux), "%s-shm", db_path);
    (void)unlink(aux);
    return 0;
}

static void
test_segments_and_leak(void **state)
{
    struct store *st = *state;
    struct judge_leak j;
    json_t *o, *segs;

    assert_int_equal(judge_leak_load(st, "rockpis-1", INT64_MAX, &j), 0);
    assert_int_equal(j.n, 2);
    assert_string_equal(j.seg[0].build, "6.12.55");
    assert_string_equal(j.seg[1].build, "6.17.6");
    assert_int_equal(j.seg[1].boot_ms, BOOT0 + 49 * H);
    assert_true(j.seg[0].analyzed && j.seg[0].leak.judged && !j.seg[0].leak.leak);
    assert_true(j.seg[1].leak.leak);
    assert_true(j.seg[1].leak.rate > 15 * MB && j.seg[1].leak.rate < 40 * MB);
    o = judge_leak_json(&j);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "device")), "rockpis-1");
    segs = json_object_get(o, "segments");
    assert_int_equal(json_array_size(segs), 2);
    assert_true(json_is_true(json_object_get(json_array_get(segs, 1), "leak")));
    assert_int_equal(json_array_size(json_object_get(json_array_get(segs, 1), "rate_ci")), 2);
    assert_true(json_is_null(json_object_get(json_array_get(segs, 0), "exhaustion_time")));
    json_decref(o);
    judge_leak_free(&j);
    assert_int_equal(judge_leak_load(st, "nope", INT64_MAX, &j), -ENOENT);
}

static void
test_alert_eval(void **state)
{
    struct store *st = *state;
    struct judge_alert_state a;
    int64_t now = BOOT0 + 49 * H + 4 * H;

    assert_int_equal(judge_alert_eval(st, "rockpis-1", now, 7, &a), 0);
    assert_true(a.judged && a.leak && a.exhaustion);
    assert_non_null(strstr(a.leak_summary, "6.17.6"));
    assert_non_null(strstr(a.exh_summary, "memory exhausted in"));
    assert_int_equal(judge_alert_eval(st, "rockpis-1", now, 2, &a), 0);
    assert_true(a.leak && !a.exhaustion);
    /* Before the leaking boot: nothing. */
    assert_int_equal(judge_alert_eval(st, "rockpis-1", BOOT0 + 40 * H, 7, &a), 0);
    assert_true(a.judged && !a.leak && !a.exhaustion);
}

static void
test_verdict_and_slab(void **state)
{
    struct store *st = *state;
    struct judge_verdict v;
    struct judge_verdict_opts o = {.at_ms = INT64_MAX};
    struct judge_slab_view sv;
    char **devs = NULL;
    uint64_t ram[2];

    assert_int_equal(judge_verdict(st, "rockpis-1", "6.17.6", &o, &v), 0);
    assert_string_equal(v.baseline, "6.12.55");
    assert_int_equal(v.res.outcome, VERDICT_OUTCOME_FAIL);
    judge_verdict_free(&v);
    assert_int_equal(judge_verdict(st, "rockpis-1", "6.12.55", &o, &v), 0);
    assert_int_equal(v.res.outcome, VERDICT_OUTCOME_PASS);
    judge_verdict_free(&v);
    assert_int_equal(judge_verdict(st, "rockpis-1", "1.0", &o, &v), -ENOENT);
    assert_int_equal(v.res.outcome, VERDICT_OUTCOME_NO_DATA);
    judge_verdict_free(&v);
    assert_int_equal(judge_devices_with_build(st, "6.17.6", &devs), 0);
    assert_string_equal(devs[0], "rockpis-1");
    assert_null(devs[1]);
    store_strv_free(devs);
    assert_int_equal(judge_slab_load(st, "rockpis-1", INT64_MAX, &sv), 0);
    assert_int_equal(sv.n, 2);
    assert_string_equal(sv.c[0].name, "filp");
    assert_true(sv.filp_on_top && sv.filp_gap);
    assert_true(sv.c[0].rate > 15 * MB);
    judge_slab_free(&sv);
    assert_int_equal(judge_parse_ram_list("256M,512M", ram, 2), 2);
    assert_true(ram[1] == 512ULL << 20);
    assert_int_equal(judge_parse_ram_list("256M,,", ram, 2), -EINVAL);
    assert_int_equal(judge_parse_ram_list("1G,2G,4G", ram, 2), -EINVAL);
}

static void
test_build_names(void **state)
{
    struct judge_segment seg[3] = {{.build = (char *)"6.12.55-yocto-standard 2025.10"},
                                   {.build = (char *)"6.17.6-yocto-standard 2025.11-rc1"},
                                   {.build = (char *)"6.17.6-yocto-standard 2025.11"}};
    struct judge_leak j = {.device = (char *)"d", .seg = seg, .n = 3};
    char *q;

    (void)state;
    assert_true(judge_build_is("6.17.6-yocto-standard 2025.11", "6.17.6*"));
    assert_true(judge_build_is("6.17.6", "6.17.6*"));
    assert_true(judge_build_is("6.17.6+git1", "6.17.6*"));
    assert_false(judge_build_is("6.17.60", "6.17.6*"));
    assert_false(judge_build_is("6.17.6.1", "6.17.6*"));
    assert_false(judge_build_is("6.17.6-yocto", "6.17.6"));
    assert_true(judge_build_is("6.17.6", "6.17.6"));
    assert_false(judge_build_is(NULL, "6.17.6*"));
    /* No boot named 6.17.6: the family; an exact name stays exact; unknown stays as is. */
    q = judge_build_query(NULL, &j, NULL, "6.17.6");
    assert_string_equal(q, "6.17.6*");
    free(q);
    q = judge_build_query(NULL, &j, NULL, "6.17.6-yocto-standard 2025.11");
    assert_string_equal(q, "6.17.6-yocto-standard 2025.11");
    free(q);
    q = judge_build_query(NULL, &j, NULL, "6.18");
    assert_string_equal(q, "6.18");
    free(q);
    q = judge_build_query(NULL, &j, NULL, "6.12*");
    assert_string_equal(q, "6.12*");
    free(q);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segments_and_leak),
        cmocka_unit_test(test_alert_eval),
        cmocka_unit_test(test_verdict_and_slab),
        cmocka_unit_test(test_build_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
