/* SPDX-License-Identifier: MIT */
/* Unit tests of src/server/core/storecli: time arguments and shared options of the store commands.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "storecli.h"

static void
test_parse(void **state)
{
    static const struct {
        const char *s;
        int64_t ms;
    } good[] = {
        {"1700000000", 1700000000000LL},
        {"1700000000.25", 1700000000250LL},
        {"0", 0},
        {"2023-11-14T22:13:20Z", 1700000000000LL},
        {"2023-11-14T22:13:20.5Z", 1700000000500LL},
        {"2023-11-14T22:13:20.123456Z", 1700000000123LL},
        {"2023-11-14 22:13:20Z", 1700000000000LL},
        {"2023-11-15T00:13:20+02:00", 1700000000000LL},
        {"2023-11-14T20:13:20-02:00", 1700000000000LL},
        {"2024-02-29", 1709164800000LL},
        {"1970-01-01T00:00:00Z", 0},
    };
    static const char *const bad[] = {
        "",
        "abc",
        "2023-11-14T22:13Z",
        "2023-13-01",
        "2023-02-29",
        "2023-11-14T24:00:00Z",
        "2023-11-14T22:13:20",
        "2023-11-14T22:13:20+2:00",
        "2023-11-14T22:13:20Zjunk",
        "1e400",
        "2023-11-14T22:13:20.Z",
    };
    int64_t ms;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (storecli_time_parse(good[i].s, &ms) != 0 || ms != good[i].ms)
            fail_msg("'%s' -> %lld", good[i].s, (long long)ms);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (storecli_time_parse(bad[i], &ms) != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
}

static void
test_format(void **state)
{
    char out[40];
    int64_t back;

    (void)state;
    storecli_time_format(1700000000000LL, out, sizeof(out));
    assert_string_equal(out, "2023-11-14T22:13:20Z");
    storecli_time_format(1700000000250LL, out, sizeof(out));
    assert_string_equal(out, "2023-11-14T22:13:20.250Z");
    storecli_time_format(-1, out, sizeof(out));
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    assert_int_equal(storecli_time_parse(out, &back), 0);
    assert_true(back == -1);
}

/* The shared options: each taken into the args, --at in both forms, others left alone. */
static void
test_args(void **state)
{
    struct storecli_args a = STORECLI_ARGS_INIT;

    (void)state;
    assert_true(a.at_ms == INT64_MAX && !a.db && !a.device && !a.json);
    assert_int_equal(storecli_arg("t", STORECLI_OPT_DB, "sqlite:/x.db", &a), 1);
    assert_int_equal(storecli_arg("t", STORECLI_OPT_DEVICE, "rock-pi-s", &a), 1);
    assert_int_equal(storecli_arg("t", STORECLI_OPT_JSON, NULL, &a), 1);
    assert_string_equal(a.db, "sqlite:/x.db");
    assert_string_equal(a.device, "rock-pi-s");
    assert_true(a.json);
    assert_int_equal(storecli_arg("t", STORECLI_OPT_AT, "1700000000", &a), 1);
    assert_true(a.at_ms == 1700000000000LL);
    assert_int_equal(storecli_arg("t", STORECLI_OPT_AT, "2023-11-14T22:13:20.5Z", &a), 1);
    assert_true(a.at_ms == 1700000000500LL);
    assert_int_equal(storecli_arg("t", STORECLI_OPT_AT, "yesterday", &a), -EINVAL);
    assert_true(a.at_ms == 1700000000500LL); /* unchanged by the bad value */
    assert_int_equal(storecli_arg("t", 'h', NULL, &a), 0);
    assert_int_equal(storecli_arg("t", 't', "15", &a), 0);
}

/* storecli_open() refuses a store that does not exist instead of creating it. */
static void
test_open_missing(void **state)
{
    struct store *st = NULL;

    (void)state;
    assert_true(storecli_open("t", "sqlite:/nonexistent-dir-soak/none.db", &st) < 0);
    assert_null(st);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_open_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
