/* SPDX-License-Identifier: MIT */
/* Unit tests of src/server/core/farmconf.c: parsing, defaults, errors, shard hash, argv templates. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "farmconf.h"

static const char farm[] =
    "[server]\n"
    "store = sqlite:/tmp/farm.db\n"
    "listen = 127.0.0.1:8080\n"
    "shard = 1/3\n"
    "token = s3cret\n"
    "interval = 30\n"
    "max_body = 4M\n"
    "\n"
    "[alerts]\n"
    "unreachable_after = 10m\n"
    "exec = /usr/bin/notify --alert {alert} {device}\n"
    "\n"
    "[device rockpis-1]\n"
    "url = http://10.0.0.21:9123\n"
    "model = rock-pi-s\n"
    "ram_sizes = 256M, 512M\n"
    "interval = 1m\n"
    "timeout = 90\n"
    "\n"
    "[device node-1]\n"
    "url = http://127.0.0.1:9100/metrics\n"
    "token = other\n"
    "history = no\n";

static void
test_parse(void **state)
{
    struct farm_conf *c = NULL;
    char err[256];
    const struct farm_device *d;

    (void)state;
    assert_int_equal(farmconf_parse_string(farm, &c, err, sizeof(err)), 0);
    assert_string_equal(c->store, "sqlite:/tmp/farm.db");
    assert_string_equal(c->listen, "127.0.0.1:8080");
    assert_int_equal(c->shard_i, 1);
    assert_int_equal(c->shard_n, 3);
    assert_int_equal(c->max_body, 4u * 1024 * 1024);
    assert_true(c->unreachable_after == 600);
    assert_true(c->exhaustion_days == 7); /* default */
    assert_int_equal(c->n_dev, 2);
    d = farmconf_device(c, "rockpis-1");
    assert_non_null(d);
    assert_string_equal(d->model, "rock-pi-s");
    assert_int_equal(d->n_ram_sizes, 2);
    assert_int_equal(d->ram_sizes[0], 256ull << 20);
    assert_int_equal(d->ram_sizes[1], 512ull << 20);
    assert_true(farm_device_interval(c, d) == 60);
    /* A timeout never exceeds the interval. */
    assert_true(farm_device_timeout(c, d) == 60);
    assert_string_equal(farm_device_token(c, d), "s3cret");
    d = farmconf_device(c, "node-1");
    assert_non_null(d);
    assert_true(farm_device_interval(c, d) == 30);
    assert_true(farm_device_timeout(c, d) == 10);
    assert_string_equal(farm_device_token(c, d), "other");
    assert_int_equal(d->history, FARM_HISTORY_NO);
    assert_null(farmconf_device(c, "nope"));
    farmconf_free(c);
}

static void
expect_error(const char *text, const char *needle)
{
    struct farm_conf *c = NULL;
    char err[256] = "";

    assert_true(farmconf_parse_string(text, &c, err, sizeof(err)) < 0);
    assert_null(c);
    if (!strstr(err, needle))
        fail_msg("error '%s' lacks '%s'", err, needle);
}

static void
test_errors(void **state)
{
    (void)state;
    expect_error("[server]\nshard = 3/3\n", "shard");
    expect_error("[server]\nshard = x\n", "shard");
    expect_error("[server]\nbogus = 1\n", "unknown key 'bogus'");
    expect_error("[device a]\ninterval = 10\n", "needs url");
    expect_error("[device a]\nurl = ftp://x\n", "needs url");
    expect_error("[device a]\nurl = http://x\ninterval = -1\n", "interval");
    expect_error("[device a]\nurl = http://x\nram_sizes = 256M,,512M\n", "ram_sizes");
    expect_error("[device a b]\nurl = http://x\n", "url");
    expect_error("[weird]\nx = 1\n", "unknown key");
    expect_error("[server\n", "syntax");
}

static void
test_defaults(void **state)
{
    struct farm_conf *c = NULL;

    (void)state;
    assert_int_equal(farmconf_parse_string("[device a]\nurl = http://127.0.0.1:1\n", &c, NULL, 0),
                     0);
    assert_int_equal(c->shard_n, 1);
    assert_int_equal(c->shard_i, 0);
    assert_true(c->interval == FARM_DEFAULT_INTERVAL);
    assert_int_equal(c->max_body, FARM_DEFAULT_MAX_BODY);
    assert_null(c->store);
    assert_null(c->listen);
    assert_int_equal(c->dev[0].history, FARM_HISTORY_AUTO);
    farmconf_free(c);
}

static void
test_shard(void **state)
{
    unsigned owners[4] = {0};
    char name[32];

    (void)state;
    /* FNV-1a 64 reference values. */
    assert_true(farm_hash("") == 0xcbf29ce484222325ull);
    assert_true(farm_hash("a") == 0xaf63dc4c8601ec8cull);
    assert_true(farm_hash("foobar") == 0x85944171f73967e8ull);
    /* Every device has exactly one owner among n shards, and the split is not lopsided. */
    for (int k = 0; k < 400; k++) {
        int count = 0;
        (void)snprintf(name, sizeof(name), "board-%d", k);
        for (unsigned i = 0; i < 4; i++)
            if (farm_shard_owns(i, 4, name)) {
                count++;
                owners[i]++;
            }
        assert_int_equal(count, 1);
        assert_true(farm_shard_owns(0, 1, name));
    }
    for (unsigned i = 0; i < 4; i++)
        assert_true(owners[i] > 60);
}

static void
test_argv(void **state)
{
    const char *const kv[] = {"device", "rock pi; rm -rf /", "alert", "oom_kill", NULL};
    char **argv = NULL;

    (void)state;
    assert_int_equal(farm_argv_expand("  /bin/notify --x={alert} {device}  ", kv, &argv), 0);
    assert_string_equal(argv[0], "/bin/notify");
    assert_string_equal(argv[1], "--x=oom_kill");
    /* A value with blanks and shell characters stays one argument, untouched. */
    assert_string_equal(argv[2], "rock pi; rm -rf /");
    assert_null(argv[3]);
    farm_argv_free(argv);
    assert_int_equal(farm_argv_expand("/bin/x {nope}", kv, &argv), -EINVAL);
    assert_int_equal(farm_argv_expand("/bin/x {alert", kv, &argv), -EINVAL);
    assert_int_equal(farm_argv_expand("   ", kv, &argv), -EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),   cmocka_unit_test(test_errors),
        cmocka_unit_test(test_defaults), cmocka_unit_test(test_shard),
        cmocka_unit_test(test_argv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
