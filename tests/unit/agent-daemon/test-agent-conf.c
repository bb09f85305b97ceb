/* SPDX-License-Identifier: MIT */
/* Unit tests of soakd's configuration: defaults, every section, errors with file:line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent-conf.h"
#include "mock-collectors.h"

static const struct collector_ops *const registry[] = {
    &mock_collector, &failing_collector, &optin_collector, NULL,
};

static struct agent_conf *new_conf_plain(void);

/* A collector named "sensors" that remembers the last option it was given. */
static char last_key[64], last_value[64];

static int
sensors_configure(void *ctx, const char *key, const char *value)
{
    (void)ctx;
    if (strchr(key, '.') == NULL && strcmp(key, "discover") != 0)
        return -ENOENT;
    (void)snprintf(last_key, sizeof(last_key), "%s", key);
    (void)snprintf(last_value, sizeof(last_value), "%s", value);
    return 0;
}

static const struct collector_ops sensors_mock = {
    .name = "sensors", .init = mock_init, .configure = sensors_configure, .read = mock_read,
    .fini = mock_fini,
};

static const struct collector_ops *const registry_sensors[] = {&mock_collector, &sensors_mock,
                                                               NULL};

static void
test_sensor_sections(void **state)
{
    struct agent_conf *c = NULL;
    char err[256] = "";

    (void)state;
    assert_int_equal(agent_conf_new(registry_sensors, &c), 0);
    assert_int_equal(agent_conf_load_string(c, "[collector.sensors]\ndiscover = yes\n"
                                               "[sensor indoor]\ndriver = sht3x\n",
                                            err, sizeof(err)), 0);
    assert_string_equal(last_key, "indoor.driver");
    assert_string_equal(last_value, "sht3x");
    (void)agent_conf_free(c);
    /* Without a sensors collector, a [sensor] section is an error. */
    c = new_conf_plain();
    assert_int_equal(agent_conf_load_string(c, "[sensor x]\ndriver = a\n", err, sizeof(err)),
                     -ENOENT);
    assert_non_null(strstr(err, "no collector named 'sensors'"));
    (void)agent_conf_free(c);
}

static struct agent_conf *
new_conf(void)
{
    struct agent_conf *c = NULL;

    assert_int_equal(agent_conf_new(registry, &c), 0);
    return c;
}

static void
test_defaults(void **state)
{
    struct agent_conf *c = new_conf();

    (void)state;
    assert_string_equal(c->listen, AGENT_DEFAULT_LISTEN);
    assert_null(c->token);
    assert_null(c->root);
    assert_null(c->persist);
    assert_true(c->interval == AGENT_DEFAULT_INTERVAL);
    assert_true(c->history_interval == 60);
    assert_int_equal(c->history_samples, 1440);
    assert_int_equal(c->n_collectors, 3);
    assert_true(c->collectors[0].enabled);
    assert_true(c->collectors[1].enabled);
    assert_false(c->collectors[2].enabled); /* COLLECTOR_DEFAULT_OFF */
    assert_non_null(c->collectors[0].ctx);
    /* The collector's own default interval beats [agent] interval. */
    assert_true(agent_conf_collector_interval(c, &c->collectors[2]) == 600);
    assert_true(agent_conf_collector_interval(c, &c->collectors[0]) == AGENT_DEFAULT_INTERVAL);
    (void)agent_conf_free(c);
}

static void
test_full_file(void **state)
{
    struct agent_conf *c = new_conf();
    char err[256] = "";
    const char *text = "; comment\n"
                       "[agent]\n"
                       "name = rockpis-1\n"
                       "listen = 127.0.0.1:9999\n"
                       "token = s3cret\n"
                       "interval = 30s\n"
                       "root = /srv/fixture\n"
                       "[history]\n"
                       "interval = 2m\n"
                       "samples = 720\n"
                       "max_series = 2000\n"
                       "max_bytes = 2M\n"
                       "persist = /var/lib/soak/ring\n"
                       "persist_interval = 10m\n"
                       "[collector.mock]\n"
                       "interval = 5\n"
                       "scale = 4\n"
                       "[collector.failing]\n"
                       "enabled = no\n"
                       "[collector.optin]\n"
                       "enabled = yes\n";

    (void)state;
    assert_int_equal(agent_conf_load_string(c, text, err, sizeof(err)), 0);
    assert_string_equal(c->name, "rockpis-1");
    assert_string_equal(c->listen, "127.0.0.1:9999");
    assert_string_equal(c->token, "s3cret");
    assert_string_equal(c->root, "/srv/fixture");
    assert_true(c->interval == 30);
    assert_true(c->history_interval == 120);
    assert_int_equal(c->history_samples, 720);
    assert_int_equal(c->history_max_series, 2000);
    assert_int_equal(c->history_max_bytes, 2 * 1024 * 1024);
    assert_string_equal(c->persist, "/var/lib/soak/ring");
    assert_true(c->persist_interval == 600);
    assert_true(agent_conf_collector_interval(c, &c->collectors[0]) == 5);
    assert_int_equal(((struct mock_ctx *)c->collectors[0].ctx)->scale, 4);
    assert_false(c->collectors[1].enabled);
    assert_true(c->collectors[2].enabled);
    (void)agent_conf_free(c);
}

static void
expect_error(const char *text, int want, const char *needle)
{
    struct agent_conf *c = new_conf();
    char err[256] = "";

    assert_int_equal(agent_conf_load_string(c, text, err, sizeof(err)), want);
    if (!strstr(err, needle))
        fail_msg("error '%s' lacks '%s'", err, needle);
    (void)agent_conf_free(c);
}

static void
test_errors(void **state)
{
    (void)state;
    expect_error("[agent]\nname = x\nfoo = 1\n", -ENOENT, "<string>:3: unknown key 'foo'");
    expect_error("[agent]\n\n\ninterval = soon\n", -EINVAL, "<string>:4: bad value");
    expect_error("[agent]\ninterval = 0\n", -EINVAL, ":2:");
    expect_error("[bogus]\nx = 1\n", -ENOENT, "unknown section [bogus]");
    expect_error("[collector.nosuch]\nenabled = yes\n", -ENOENT, "no collector named 'nosuch'");
    expect_error("[collector.mock]\nscale = many\n", -EINVAL, ":2: bad value for 'scale'");
    expect_error("[collector.mock]\nwhatever = 1\n", -ENOENT, ":2: unknown key 'whatever'");
    expect_error("[collector.failing]\nscale = 1\n", -ENOENT, "unknown key 'scale'");
    expect_error("[collector.mock]\nenabled = perhaps\n", -EINVAL, "bad value");
    expect_error("[history]\nsamples = 1\n", -EINVAL, "bad value for 'samples'");
    expect_error("[history]\nmax_bytes = 10\n", -EINVAL, "bad value");
    expect_error("[agent]\ntoken =\n", -EINVAL, "bad value for 'token'");
    expect_error("[agent]\ntoken_file = /nonexistent/soak-token\n", -ENOENT,
                 "cannot read token file /nonexistent/soak-token");
    expect_error("not an ini line\n", -EINVAL, "<string>:1:");
}

static void
test_token_file_and_missing_file(void **state)
{
    char path[] = "/tmp/soak-token-XXXXXX", conf_text[128], err[256];
    struct agent_conf *c = new_conf();
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc123  \n", 9), 9);
    (void)close(fd);
    (void)snprintf(conf_text, sizeof(conf_text), "[agent]\ntoken_file = %s\n", path);
    assert_int_equal(agent_conf_load_string(c, conf_text, err, sizeof(err)), 0);
    assert_string_equal(c->token, "abc123");
    (void)unlink(path);
    assert_int_equal(agent_conf_load(c, "/nonexistent/soakd.conf", err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/soakd.conf"));
    (void)agent_conf_free(c);
}

static struct agent_conf *
new_conf_plain(void)
{
    return new_conf();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_token_file_and_missing_file),
        cmocka_unit_test(test_sensor_sections),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
