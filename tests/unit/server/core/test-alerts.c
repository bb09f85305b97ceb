/* SPDX-License-Identifier: MIT */
/* Unit tests of src/server/core/alerts.c: evaluation, deduplication, resolution, JSON. */
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

#include <cmocka.h>

#include "alerts.h"
#include "events.h"
#include "farmconf.h"

struct seen {
    int fired, resolved;
    char last[512];
};

static void
sink(void *ctx, const struct alert_note *n, const char *json)
{
    struct seen *s = ctx;

    if (n->firing)
        s->fired++;
    else
        s->resolved++;
    (void)snprintf(s->last, sizeof(s->last), "%s", json);
}

static struct alerts *
setup(struct seen *seen, struct farm_conf **ret_conf)
{
    struct farm_conf *c = NULL;
    struct alerts *a = NULL;

    assert_int_equal(farmconf_parse_string("[alerts]\nunreachable_after = 5m\nhold = 1h\n", &c,
                                           NULL, 0), 0);
    assert_int_equal(alerts_new(c, NULL, NULL, &a), 0);
    alerts_set_sink(a, sink, seen);
    *ret_conf = c;
    return a;
}

static void
test_unreachable_after_n_minutes(void **state)
{
    struct seen seen = {0};
    struct farm_conf *c;
    struct alerts *a = setup(&seen, &c);
    struct events_state ev;
    const int64_t t0 = 1700000000000;

    (void)state;
    events_state_init(&ev);
    ev.down = 1;
    ev.down_since_ms = t0;
    /* Down for 4 minutes: not yet. */
    alerts_observe(a, NULL, "rockpis-1", 1, &ev, NULL, t0 + 240000);
    assert_int_equal(seen.fired, 0);
    /* 5 minutes: fires once, however many polls follow. */
    for (int i = 0; i < 10; i++)
        alerts_observe(a, NULL, "rockpis-1", 1, &ev, NULL, t0 + 300000 + i * 60000);
    assert_int_equal(seen.fired, 1);
    assert_int_equal(alerts_open_count(a), 1);
    assert_non_null(strstr(seen.last, "\"state\":\"firing\""));
    assert_non_null(strstr(seen.last, "\"alert\":\"unreachable\""));
    /* Back: one resolved notice, with the time it started. */
    ev.down = 0;
    alerts_observe(a, NULL, "rockpis-1", 1, &ev, NULL, t0 + 900000);
    alerts_observe(a, NULL, "rockpis-1", 1, &ev, NULL, t0 + 960000);
    assert_int_equal(seen.resolved, 1);
    assert_int_equal(alerts_open_count(a), 0);
    assert_non_null(strstr(seen.last, "\"state\":\"resolved\""));
    assert_non_null(strstr(seen.last, "\"since\":1700000300"));
    events_state_done(&ev);
    alerts_free(a);
    farmconf_free(c);
}

static void
test_event_alerts_hold(void **state)
{
    struct seen seen = {0};
    struct farm_conf *c;
    struct alerts *a = setup(&seen, &c);
    struct events_state ev;
    struct store_event_array evs = {0};
    const int64_t t0 = 1700000000000;

    (void)state;
    events_state_init(&ev);
    assert_int_equal(events_array_push(&evs, t0, EVENT_OOM_KILL, NULL, NULL, 1), 0);
    alerts_observe(a, NULL, "rock5b", 7, &ev, &evs, t0);
    assert_int_equal(seen.fired, 1);
    /* Another kill 30 minutes later: same alert, no second notification. */
    alerts_observe(a, NULL, "rock5b", 7, &ev, &evs, t0 + 1800000);
    assert_int_equal(seen.fired, 1);
    /* Quiet polls: resolves one hold (1 h) after the LAST kill, not the first. */
    alerts_observe(a, NULL, "rock5b", 7, &ev, NULL, t0 + 3700000);
    assert_int_equal(seen.resolved, 0);
    alerts_observe(a, NULL, "rock5b", 7, &ev, NULL, t0 + 5500000);
    assert_int_equal(seen.resolved, 1);
    /* A reboot with a build change is expected; without one it is an alert. */
    evs.e[0].kind = EVENT_REBOOT;
    evs.e[0].value = 1;
    alerts_observe(a, NULL, "rock5b", 7, &ev, &evs, t0 + 6000000);
    assert_int_equal(seen.fired, 1);
    evs.e[0].value = 0;
    alerts_observe(a, NULL, "rock5b", 7, &ev, &evs, t0 + 6000000);
    assert_int_equal(seen.fired, 2);
    assert_non_null(strstr(seen.last, "unexpected_reboot"));
    for (size_t i = 0; i < evs.n; i++) {
        free(evs.e[i].subject);
        free(evs.e[i].detail);
    }
    free(evs.e);
    events_state_done(&ev);
    alerts_free(a);
    farmconf_free(c);
}

static void
test_sensor_per_subject(void **state)
{
    struct seen seen = {0};
    struct farm_conf *c;
    struct alerts *a = setup(&seen, &c);
    struct events_state ev;
    struct events_sensor sensors[2] = {{(char *)"bh1750", 0}, {(char *)"sht30-out", 1}};
    json_t *j;

    (void)state;
    events_state_init(&ev);
    ev.sensors = sensors;
    ev.n_sensors = 2;
    alerts_observe(a, NULL, "rockpie-1", 2, &ev, NULL, 1000);
    alerts_observe(a, NULL, "rockpie-1", 2, &ev, NULL, 2000);
    assert_int_equal(seen.fired, 1);
    j = json_loads(seen.last, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "subject")), "bh1750");
    assert_string_equal(json_string_value(json_object_get(j, "device")), "rockpie-1");
    json_decref(j);
    /* The same sensor name on another device is another alert. */
    alerts_observe(a, NULL, "zero3e-1", 3, &ev, NULL, 2000);
    assert_int_equal(seen.fired, 2);
    sensors[1].up = 0;
    alerts_observe(a, NULL, "rockpie-1", 2, &ev, NULL, 3000);
    assert_int_equal(seen.fired, 3);
    sensors[0].up = 1;
    alerts_observe(a, NULL, "rockpie-1", 2, &ev, NULL, 4000);
    assert_int_equal(seen.resolved, 1);
    assert_int_equal(alerts_open_count(a), 2);
    ev.sensors = NULL;
    ev.n_sensors = 0;
    events_state_done(&ev);
    alerts_free(a);
    farmconf_free(c);
}

static void
test_set_and_json(void **state)
{
    struct seen seen = {0};
    struct farm_conf *c;
    struct alerts *a = setup(&seen, &c);
    struct alert_note n = {
        .alert = "leak_suspected", .device = "dev \"q\"", .subject = NULL, .firing = 1,
        .since_ms = 1500, .t_ms = 2500, .summary = "filp grows 25 MB/day\n",
    };
    char *json;
    json_t *j;

    (void)state;
    assert_int_equal(alerts_set(a, NULL, "d", 1, "leak_suspected", NULL, 1, 10, "x"), 1);
    assert_int_equal(alerts_set(a, NULL, "d", 1, "leak_suspected", NULL, 1, 20, "x"), 0);
    assert_int_equal(alerts_set(a, NULL, "d", 1, "leak_suspected", NULL, 0, 30, "x"), 2);
    assert_int_equal(alerts_set(a, NULL, "d", 1, "leak_suspected", NULL, 0, 40, "x"), 0);
    assert_int_equal(alerts_sent(a), 2);
    /* Escaping is jansson's: quotes and newlines survive a round trip. */
    json = alert_note_json(&n);
    j = json_loads(json, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "device")), "dev \"q\"");
    assert_string_equal(json_string_value(json_object_get(j, "summary")), "filp grows 25 MB/day\n");
    assert_true(json_is_null(json_object_get(j, "subject")));
    assert_true(json_real_value(json_object_get(j, "since")) == 1.5);
    json_decref(j);
    free(json);
    alerts_free(a);
    farmconf_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unreachable_after_n_minutes),
        cmocka_unit_test(test_event_alerts_hold),
        cmocka_unit_test(test_sensor_per_subject),
        cmocka_unit_test(test_set_and_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
