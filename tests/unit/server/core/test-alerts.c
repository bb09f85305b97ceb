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
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "alerts.h"
#include "events.h"
#include "farmconf.h"
#include "store.h"

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

    assert_int_equal(
        farmconf_parse_string("[alerts]\nunreachable_after = 5m\nhold = 1h\n", &c, NULL, 0), 0);
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
        .alert = "leak_suspected",
        .device = "dev \"q\"",
        .subject = NULL,
        .firing = 1,
        .since_ms = 1500,
        .t_ms = 2500,
        .summary = "filp grows 25 MB/day\n",
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

struct posts {
    int n;
    char url[128], token[64], json[4][512];
};

static void
capture_post(void *ctx, const char *url, const char *token, const char *json)
{
    struct posts *p = ctx;

    (void)snprintf(p->url, sizeof(p->url), "%s", url);
    (void)snprintf(p->token, sizeof(p->token), "%s", token ? token : "");
    if (p->n < 4)
        (void)snprintf(p->json[p->n], sizeof(p->json[0]), "%s", json);
    p->n++;
}

/*
 * The hook writes each notification to its own file (hooks run side by side):
 * count them, and concatenate their text into all.
 */
static int
read_notes(const char *dir, char *all, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t len = 0;
    int n = 0;

    all[0] = 0;
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        char path[384];
        FILE *f;
        if (strncmp(e->d_name, "n.", 2) != 0)
            continue;
        (void)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        len += fread(all + len, 1, cap - 1 - len, f);
        all[len] = 0;
        (void)fclose(f);
        if (len > 0 && all[len - 1] == '\n')
            n++; /* complete: the hook's last write is the newline */
    }
    (void)closedir(d);
    return n;
}

static void
rm_notes(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d))) {
        char path[384];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        (void)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        (void)unlink(path);
    }
    (void)closedir(d);
    (void)rmdir(dir);
}

static void
test_hook_and_webhook_fire_and_resolve(void **state)
{
    char dir[] = "/tmp/soak-test-alerts.XXXXXX", hook[96], conf[512], all[4096];
    struct farm_conf *c = NULL;
    struct alerts *a = NULL;
    struct posts posts = {0};
    struct events_state ev;
    struct store_event_array evs = {0};
    const int64_t t0 = 1700000000000;
    FILE *f;
    int lines = 0;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(hook, sizeof(hook), "%s/hook.sh", dir);
    f = fopen(hook, "w");
    assert_non_null(f);
    /* argv: alert device state subject; the JSON notification on stdin. */
    (void)fprintf(f,
                  "#!/bin/sh\n{ printf '%%s|%%s|%%s|%%s|' \"$1\" \"$2\" \"$3\" \"$4\"; cat; "
                  "echo; } >\"%s/n.$$\"\n",
                  dir);
    (void)fclose(f);
    assert_int_equal(chmod(hook, 0755), 0);
    (void)snprintf(conf, sizeof(conf),
                   "[alerts]\nhold = 1h\nexec = %s {alert} {device} {state} {subject}\n"
                   "webhook = http://127.0.0.1:9/hook\nwebhook_token = tok\n",
                   hook);
    assert_int_equal(farmconf_parse_string(conf, &c, NULL, 0), 0);
    assert_int_equal(alerts_new(c, capture_post, &posts, &a), 0);

    /* leak_suspected fires then resolves; a panic fires once for two events. */
    assert_int_equal(alerts_set(a, NULL, "rockpis-1", 1, "leak_suspected", NULL, 1, t0,
                                "leak in SUnreclaim: 25 MB/day"),
                     1);
    assert_int_equal(
        alerts_set(a, NULL, "rockpis-1", 1, "leak_suspected", NULL, 0, t0 + 60000, "no leak"), 2);
    events_state_init(&ev);
    assert_int_equal(events_array_push(&evs, t0, EVENT_PANIC, NULL, "Kernel panic", 1), 0);
    alerts_observe(a, NULL, "rockpis-1", 1, &ev, &evs, t0 + 120000);
    alerts_observe(a, NULL, "rockpis-1", 1, &ev, &evs, t0 + 180000);
    assert_int_equal(alerts_sent(a), 3);

    /* The webhook got all three as JSON, with the URL and token of the config. */
    assert_int_equal(posts.n, 3);
    assert_string_equal(posts.url, "http://127.0.0.1:9/hook");
    assert_string_equal(posts.token, "tok");
    assert_non_null(strstr(posts.json[1], "\"state\":\"resolved\""));
    assert_non_null(strstr(posts.json[2], "\"alert\":\"panic\""));

    /* The hook ran three times without a shell: argv from the template, JSON on stdin. */
    for (int i = 0; i < 500 && (lines = read_notes(dir, all, sizeof(all))) < 3; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        alerts_tick(a);
        (void)nanosleep(&ts, NULL);
    }
    assert_int_equal(lines, 3);
    assert_non_null(strstr(all, "leak_suspected|rockpis-1|firing||{"));
    assert_non_null(strstr(all, "\"summary\":\"leak in SUnreclaim: 25 MB/day\""));
    assert_non_null(strstr(all, "leak_suspected|rockpis-1|resolved||{"));
    assert_non_null(strstr(all, "\"state\":\"resolved\",\"since\":1700000000.0"));
    assert_non_null(strstr(all, "panic|rockpis-1|firing||{\"alert\":\"panic\""));

    /* The panic resolves one hold after the last poll that saw it, once. */
    alerts_observe(a, NULL, "rockpis-1", 1, &ev, NULL, t0 + 2 * 3600000 + 1000);
    alerts_observe(a, NULL, "rockpis-1", 1, &ev, NULL, t0 + 2 * 3600000 + 2000);
    assert_int_equal(posts.n, 4);
    assert_non_null(strstr(posts.json[3], "\"alert\":\"panic\""));
    assert_non_null(strstr(posts.json[3], "\"state\":\"resolved\""));
    for (int i = 0; i < 500 && (lines = read_notes(dir, all, sizeof(all))) < 4; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        alerts_tick(a);
        (void)nanosleep(&ts, NULL);
    }
    assert_int_equal(lines, 4);
    alerts_tick(a);

    for (size_t i = 0; i < evs.n; i++) {
        free(evs.e[i].subject);
        free(evs.e[i].detail);
    }
    free(evs.e);
    events_state_done(&ev);
    alerts_free(a);
    farmconf_free(c);
    rm_notes(dir);
}

static void
test_restart_keeps_the_open_set(void **state)
{
    char dir[] = "/tmp/soak-test-alerts-db.XXXXXX", spec[128], path[96];
    struct seen seen = {0};
    struct farm_conf *c;
    struct alerts *a;
    struct store *st = NULL;
    struct events_state ev;
    struct events_sensor sensors[1] = {{(char *)"bh1750", 0}};
    int64_t dev;
    const int64_t t0 = 1700000000000;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(path, sizeof(path), "%s/a.db", dir);
    (void)snprintf(spec, sizeof(spec), "sqlite:%s", path);
    assert_int_equal(store_open(spec, &st, NULL, 0), 0);
    assert_int_equal(store_device(st, "rockpie-1", 1, &dev), 0);
    a = setup(&seen, &c);
    /* Open: leak_suspected and sensor_lost bh1750; fired and resolved: exhaustion. */
    assert_int_equal(alerts_set(a, st, "rockpie-1", dev, "leak_suspected", NULL, 1, t0, "leak"), 1);
    assert_int_equal(alerts_set(a, st, "rockpie-1", dev, "exhaustion", NULL, 1, t0, "4 days"), 1);
    assert_int_equal(alerts_set(a, st, "rockpie-1", dev, "exhaustion", NULL, 0, t0 + 1000, "ok"),
                     2);
    events_state_init(&ev);
    ev.sensors = sensors;
    ev.n_sensors = 1;
    alerts_observe(a, st, "rockpie-1", dev, &ev, NULL, t0 + 2000);
    assert_int_equal(seen.fired, 3);
    alerts_free(a);
    farmconf_free(c);

    /* A restarted server: the open set comes back from the stored events ... */
    memset(&seen, 0, sizeof(seen));
    a = setup(&seen, &c);
    assert_int_equal(alerts_load(a, st), 0);
    assert_int_equal(alerts_open_count(a), 2);
    /* ... so nothing fires again, and what was open resolves once. */
    assert_int_equal(
        alerts_set(a, st, "rockpie-1", dev, "leak_suspected", NULL, 1, t0 + 5000, "leak"), 0);
    alerts_observe(a, st, "rockpie-1", dev, &ev, NULL, t0 + 6000);
    assert_int_equal(seen.fired, 0);
    assert_int_equal(alerts_set(a, st, "rockpie-1", dev, "exhaustion", NULL, 0, t0 + 7000, "ok"),
                     0);
    sensors[0].up = 1;
    alerts_observe(a, st, "rockpie-1", dev, &ev, NULL, t0 + 8000);
    assert_int_equal(seen.resolved, 1);
    assert_int_equal(alerts_open_count(a), 1);
    ev.sensors = NULL;
    ev.n_sensors = 0;
    events_state_done(&ev);
    alerts_free(a);
    farmconf_free(c);
    (void)store_close(st);
    (void)unlink(path);
    {
        char side[128];
        (void)snprintf(side, sizeof(side), "%s-wal", path);
        (void)unlink(side);
        (void)snprintf(side, sizeof(side), "%s-shm", path);
        (void)unlink(side);
    }
    assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unreachable_after_n_minutes),
        cmocka_unit_test(test_event_alerts_hold),
        cmocka_unit_test(test_sensor_per_subject),
        cmocka_unit_test(test_set_and_json),
        cmocka_unit_test(test_hook_and_webhook_fire_and_resolve),
        cmocka_unit_test(test_restart_keeps_the_open_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
