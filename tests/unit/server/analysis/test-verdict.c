/* SPDX-License-Identifier: MIT */
/* Unit tests of src/server/analysis/verdict.c: each rule passes and fails on its numbers. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verdict.h"

#define MB (1024.0 * 1024.0)

static void
healthy(struct verdict_stats *s)
{
    memset(s, 0, sizeof(*s));
    s->present = 1;
    s->hours = 48;
    s->polls = 2880;
    s->polls_ok = 2880;
    s->boots = 1;
    s->exhaustion_ms = -1;
    s->mem_total = 225 * MB;
    s->mem_available0 = 155 * MB;
    s->board_ram = NAN;
    s->latency_p95_s = 0.05;
    s->agent_rss = 2 * MB;
    s->load1 = 0.3;
    s->sensors_up[s->n_sensors++] = strdup("sht30-indoor");
    s->sensors_up[s->n_sensors++] = strdup("bh1750");
    s->ifaces_up[s->n_ifaces++] = strdup("eth0");
}

static const struct verdict_rule *
find(const struct verdict_result *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->rules[i].name, name) == 0)
            return &r->rules[i];
    return NULL;
}

static void
test_pass(void **state)
{
    struct verdict_stats c, b;
    struct verdict_params p;
    struct verdict_result r;

    (void)state;
    healthy(&c);
    healthy(&b);
    verdict_params_default(&p);
    p.build = "6.12.55";
    p.baseline = "6.12.50";
    verdict_judge(&c, &b, &p, &r);
    assert_int_equal(r.outcome, VERDICT_OUTCOME_PASS);
    assert_non_null(find(&r, "reachability"));
    assert_int_equal(find(&r, "sensors")->status, VERDICT_PASS);
    assert_int_equal(find(&r, "latency")->status, VERDICT_PASS);
    verdict_stats_done(&c);
    verdict_stats_done(&b);
}

static void
test_each_failure(void **state)
{
    struct verdict_stats c, b;
    struct verdict_params p;
    struct verdict_result r;
    uint64_t rams[] = {256ULL << 20, 512ULL << 20};

    (void)state;
    verdict_params_default(&p);
    p.build = "6.17.6";
    p.baseline = "6.12.55";
    p.model = "rock-pi-s";
    p.ram_sizes = rams;
    p.n_ram_sizes = 2;
    healthy(&b);

    healthy(&c);
    c.polls_ok = 2700; /* 93.75 % */
    verdict_judge(&c, &b, &p, &r);
    assert_int_equal(r.outcome, VERDICT_OUTCOME_FAIL);
    assert_int_equal(find(&r, "reachability")->status, VERDICT_FAIL);
    assert_non_null(strstr(find(&r, "reachability")->text, "93.75 %"));
    verdict_stats_done(&c);

    healthy(&c);
    c.longest_outage_s = 1800;
    verdict_judge(&c, &b, &p, &r);
    assert_int_equal(find(&r, "reachability")->status, VERDICT_FAIL);
    verdict_stats_done(&c);

    healthy(&c);
    c.panics = 1;
    verdict_judge(&c, &b, &p, &r);
    assert_int_equal(find(&r, "reboots")->status, VERDICT_FAIL);
    verdict_stats_done(&c);

    healthy(&c);
    c.oom_kills = 3;
    verdict_judge(&c, &b, &p, &r);
    assert_int_equal(find(&r, "oom")->status, VERDICT_FAIL);
    verdict_stats_done(&c);

    healthy(&c);
    c.leak = 1;
    c.leak_rate = 25 * MB;
    c.leak_lo = 24 * MB;
    c.leak_hi = 26 * MB;
    (void)snprintf(c.leak_signal, sizeof(c.leak_signal), "SUnreclaim");
    verdict_judge(&c, &b, &p, &r);
    assert_int_equal(find(&r, "leak")->status, VERDICT_FAIL);
    assert_non_null(strstr(find(&r, "leak")->text, "25.0 MB/day"));
    assert_non_null(
        strstr(find(&r, "leak")->text, "6.17.6 would exhaust a 256 MB rock-pi-s in 6.0 days"));
    assert_non_null(strstr(find(&r, "leak")->text, "512 MB rock-pi-s in"));
    verdict_stats_done(&c);

    /* A sensor lost and back while the build ran is named, without failing the rule. */
    healthy(&c);
    c.sensor_losses = 2;
    c.sensor_loss_max_s = 3000;
    (void)snprintf(c.sensor_loss_name, sizeof(c.sensor_loss_name), "ds18b20-hot");
    verdict_judge(&c, &b, &p, &r);
    assert_int_equal(find(&r, "sensors")->status, VERDICT_PASS);
    assert_non_null(strstr(find(&r, "sensors")->text,
                           "2 loss(es) while it ran, the longest ds18b20-hot for 50 min"));
    verdict_stats_done(&c);

    /* A workload of 900 MB on a 1 GB board does not fit 256 MB at all: said, not "0.0 days". */
    healthy(&c);
    c.leak = 1;
    c.leak_rate = 25 * MB;
    c.leak_lo = 24 * MB;
    c.leak_hi = 26 * MB;
    c.mem_total = 1000 * MB;
    c.mem_available0 = 100 * MB;
    (void)snprintf(c.leak_signal, sizeof(c.leak_signal), "SUnreclaim");
    verdict_judge(&c, &b, &p, &r);
    assert_non_null(strstr(find(&r, "leak")->text,
                           "a 256 MB rock-pi-s is too small for this workload even without"));
    assert_null(strstr(find(&r, "leak")->text, "0.0 days"));
    verdict_stats_done(&c);

    healthy(&c);
    free(c.sensors_up[1]);
    c.n_sensors = 1;
    free(c.ifaces_up[0]);
    c.n_ifaces = 0;
    c.latency_p95_s = 0.5;
    verdict_judge(&c, &b, &p, &r);
    assert_int_equal(find(&r, "sensors")->status, VERDICT_FAIL);
    assert_non_null(strstr(find(&r, "sensors")->text, "bh1750"));
    assert_int_equal(find(&r, "interfaces")->status, VERDICT_FAIL);
    assert_non_null(strstr(find(&r, "interfaces")->text, "eth0"));
    assert_int_equal(find(&r, "latency")->status, VERDICT_FAIL);
    verdict_stats_done(&c);
    verdict_stats_done(&b);
}

static void
test_not_enough_data(void **state)
{
    struct verdict_stats c;
    struct verdict_params p;
    struct verdict_result r;

    (void)state;
    healthy(&c);
    c.hours = 1;
    verdict_params_default(&p);
    verdict_judge(&c, NULL, &p, &r);
    assert_int_equal(r.outcome, VERDICT_OUTCOME_NO_DATA);
    /* ... but a panic in that hour is still a failure. */
    c.panics = 1;
    verdict_judge(&c, NULL, &p, &r);
    assert_int_equal(r.outcome, VERDICT_OUTCOME_FAIL);
    c.present = 0;
    c.panics = 0;
    verdict_judge(&c, NULL, &p, &r);
    assert_int_equal(r.outcome, VERDICT_OUTCOME_NO_DATA);
    verdict_stats_done(&c);
    assert_string_equal(verdict_outcome_name(VERDICT_OUTCOME_NO_DATA), "not enough data");
}

static void
test_deploy(void **state)
{
    struct verdict_stats c;
    struct verdict_params p;
    struct verdict_result r;

    (void)state;
    /* The board never came back: no data at all from the build, and still a failure. */
    healthy(&c);
    c.present = 0;
    c.hours = 0;
    c.deploys = 1;
    c.deploys_failed = 1;
    (void)snprintf(c.deploy_failure, sizeof(c.deploy_failure),
                   "unreachable after update; last seen with interfaces eth0 up");
    verdict_params_default(&p);
    verdict_judge(&c, NULL, &p, &r);
    assert_int_equal(r.outcome, VERDICT_OUTCOME_FAIL);
    assert_int_equal(find(&r, "deploy")->status, VERDICT_FAIL);
    assert_non_null(strstr(find(&r, "deploy")->text, "last seen with interfaces eth0 up"));
    /* A deploy that came back is a pass of that rule and changes nothing else. */
    verdict_stats_done(&c);
    healthy(&c);
    c.deploys = 2;
    verdict_judge(&c, NULL, &p, &r);
    assert_int_equal(find(&r, "deploy")->status, VERDICT_PASS);
    assert_int_equal(r.outcome, VERDICT_OUTCOME_PASS);
    verdict_stats_done(&c);
}

static void
test_counter_increase(void **state)
{
    /* 0 1 1 3, agent restart (back to 0), 2, a NaN, 2 4: 3 + 2 + 2 = 7, one reset. */
    const double v[] = {0, 1, 1, 3, 0, 2, NAN, 2, 4};
    const double flat[] = {5, 5, 5};
    unsigned resets = 9;

    (void)state;
    assert_true(verdict_counter_increase(v, 9, &resets) == 7);
    assert_int_equal(resets, 1);
    /* First to max would say 4: the kills before the restart would be lost. */
    assert_true(verdict_counter_increase(flat, 3, &resets) == 0);
    assert_int_equal(resets, 0);
    /* A reset to a non-zero value counts that value (kills since the restart). */
    {
        const double w[] = {10, 12, 3};
        assert_true(verdict_counter_increase(w, 3, NULL) == 5);
    }
    assert_true(verdict_counter_increase(v, 1, NULL) == 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass),
        cmocka_unit_test(test_each_failure),
        cmocka_unit_test(test_not_enough_data),
        cmocka_unit_test(test_deploy),
        cmocka_unit_test(test_counter_increase),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
