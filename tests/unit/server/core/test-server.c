/* SPDX-License-Identifier: MIT */
/* Unit tests of src/server/core/server.c: target URLs (soakd base vs exporter path). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server.h"

static void
expect_urls(const char *url, const char *metrics, const char *base)
{
    char *m = NULL, *b = NULL;

    assert_int_equal(server_target_urls(url, &m, &b), 0);
    assert_string_equal(m, metrics);
    if (base)
        assert_string_equal(b, base);
    else
        assert_null(b);
    free(m);
    free(b);
}

static void
test_target_urls(void **state)
{
    char *m = NULL, *b = NULL;

    (void)state;
    /* A soakd: base URL, /, or /metrics; /history goes next to /metrics. */
    expect_urls("http://10.0.0.21:9123", "http://10.0.0.21:9123/metrics", "http://10.0.0.21:9123");
    expect_urls("http://10.0.0.21:9123/", "http://10.0.0.21:9123/metrics", "http://10.0.0.21:9123");
    expect_urls("https://h:9123/metrics", "https://h:9123/metrics", "https://h:9123");
    /* Any other path is some exporter's own: polled as it is, never asked for /history. */
    expect_urls("http://h:9100/probe?target=x", "http://h:9100/probe?target=x", NULL);
    expect_urls("http://h:8080/federate/metrics", "http://h:8080/federate/metrics", NULL);
    assert_int_equal(server_target_urls("no-scheme", &m, &b), -EINVAL);
}

static void
test_bad_usage(void **state)
{
    struct server_opts o = {.config_path = "/nonexistent/farm.conf", .once = 1};

    (void)state;
    /* A config that cannot be read is a usage/config error, before any thread starts. */
    assert_int_equal(server_run(&o), 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_target_urls),
        cmocka_unit_test(test_bad_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
