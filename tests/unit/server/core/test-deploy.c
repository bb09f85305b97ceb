/* SPDX-License-Identifier: MIT */
/* Unit tests of deploy.c: judging what came back, and running commands with a timeout. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "deploy.h"

static void
state(struct deploy_state *s, const char *boot, const char *build, const char *ifaces,
      const char *sensors)
{
    char tmp[256], *save = NULL, *tok;

    memset(s, 0, sizeof(*s));
    s->reachable = 1;
    (void)snprintf(s->boot_id, sizeof(s->boot_id), "%s", boot);
    (void)snprintf(s->build, sizeof(s->build), "%s", build);
    (void)snprintf(tmp, sizeof(tmp), "%s", ifaces);
    for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        (void)snprintf(s->ifaces[s->n_ifaces++], DEPLOY_NAME_LEN, "%s", tok);
    (void)snprintf(tmp, sizeof(tmp), "%s", sensors);
    save = NULL;
    for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        (void)snprintf(s->sensors[s->n_sensors++], DEPLOY_NAME_LEN, "%s", tok);
}

static void
test_judge_ok(void **st)
{
    struct deploy_state a, b;
    char msg[512];

    (void)st;
    state(&a, "b1", "6.12.55 / 2025.10", "eth0", "indoor,outdoor");
    state(&b, "b2", "6.17.6 / 2025.11", "eth0", "outdoor,indoor");
    assert_int_equal(deploy_judge(&a, &b, 0, "6.17.6 / 2025.11", msg, sizeof(msg)), DEPLOY_OK);
    assert_non_null(strstr(msg, "6.17.6"));
    /* Without an expected build, any new build is fine. */
    assert_int_equal(deploy_judge(&a, &b, 0, NULL, msg, sizeof(msg)), DEPLOY_OK);
}

static void
test_judge_not_back(void **st)
{
    struct deploy_state a, b;
    char msg[512];

    (void)st;
    state(&a, "b1", "old", "eth0", "");
    memset(&b, 0, sizeof(b));
    (void)snprintf(b.error, sizeof(b.error), "Couldn't connect to server");
    assert_int_equal(deploy_judge(&a, &b, 1, "new", msg, sizeof(msg)), DEPLOY_NOT_BACK);
    assert_string_equal(msg, "unreachable after update (Couldn't connect to server); last seen "
                             "with interfaces eth0 up");
}

static void
test_judge_fallback_and_wrong(void **st)
{
    struct deploy_state a, b;
    char msg[512];

    (void)st;
    state(&a, "b1", "old", "eth0", "");
    state(&b, "b2", "old", "eth0", "");
    assert_int_equal(deploy_judge(&a, &b, 0, "new", msg, sizeof(msg)), DEPLOY_OLD_BUILD);
    assert_non_null(strstr(msg, "RAUC fell back"));
    assert_int_equal(deploy_judge(&a, &b, 0, NULL, msg, sizeof(msg)), DEPLOY_OLD_BUILD);
    state(&b, "b2", "other", "eth0", "");
    assert_int_equal(deploy_judge(&a, &b, 0, "new", msg, sizeof(msg)), DEPLOY_WRONG_BUILD);
}

static void
test_judge_missing(void **st)
{
    struct deploy_state a, b;
    char msg[512];

    (void)st;
    state(&a, "b1", "old", "eth0,wlan0", "indoor");
    state(&b, "b2", "new", "end0,wlan0", "indoor");
    assert_int_equal(deploy_judge(&a, &b, 0, "new", msg, sizeof(msg)), DEPLOY_MISSING_IFACE);
    assert_non_null(strstr(msg, "interface eth0"));
    assert_non_null(strstr(msg, "end0"));
    state(&b, "b2", "new", "eth0,wlan0", "");
    assert_int_equal(deploy_judge(&a, &b, 0, "new", msg, sizeof(msg)), DEPLOY_MISSING_SENSOR);
    assert_non_null(strstr(msg, "indoor"));
}

static void
test_run(void **st)
{
    char tail[256];
    char *ok[] = {"sh", "-c", "echo fine >&2; exit 0", NULL};
    char *fail[] = {"sh", "-c", "echo broken bundle >&2; exit 3", NULL};
    char *slow[] = {"sleep", "30", NULL};
    char *missing[] = {"/nonexistent/soak-test-cmd", NULL};

    (void)st;
    assert_int_equal(deploy_run(ok, 10, tail, sizeof(tail)), 0);
    assert_string_equal(tail, "fine\n");
    assert_int_equal(deploy_run(fail, 10, tail, sizeof(tail)), 3);
    assert_string_equal(tail, "broken bundle\n");
    assert_int_equal(deploy_run(slow, 0.3, tail, sizeof(tail)), -ETIMEDOUT);
    assert_int_equal(deploy_run(missing, 10, tail, sizeof(tail)), 127);
    assert_non_null(strstr(tail, "cannot run"));
}

static void
test_probe_unreachable(void **st)
{
    struct deploy_state s;

    (void)st;
    /* Port 1 on loopback: nothing listens there. */
    deploy_probe("http://127.0.0.1:1", NULL, 2, &s);
    assert_int_equal(s.reachable, 0);
    assert_true(s.error[0] != '\0');
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge_ok),      cmocka_unit_test(test_judge_not_back),
        cmocka_unit_test(test_judge_fallback_and_wrong), cmocka_unit_test(test_judge_missing),
        cmocka_unit_test(test_run),           cmocka_unit_test(test_probe_unreachable),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
