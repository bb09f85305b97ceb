/* SPDX-License-Identifier: MIT */
/*
 * test-web-html.c - HTML escaping, formatting, page chrome and sparklines,
 * and the request parsing of web-query.c (routes, ranges, names, tokens).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "web-internal.h"

static void
test_escape(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 1024);
    assert_int_equal(html_escape(&b, "<script>alert('x&y')</script> \"q\""), 0);
    assert_string_equal(buf_str(&b),
                        "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt; &quot;q&quot;");
    buf_reset(&b);
    assert_int_equal(html_escape(&b, "plain rock-pi-s"), 0);
    assert_string_equal(buf_str(&b), "plain rock-pi-s");
    assert_int_equal(html_escape(&b, NULL), 0);
    buf_reset(&b);
    assert_int_equal(url_escape(&b, "a b/c?d=é"), 0);
    assert_string_equal(buf_str(&b), "a%20b%2Fc%3Fd%3D%C3%A9");
    buf_free(&b);

    /* the cap is respected: an escape that does not fit fails, it is not cut silently */
    buf_init(&b, 8);
    assert_int_equal(html_escape(&b, "<<<<<<"), -E2BIG);
    buf_free(&b);
}

static void
test_format(void **state)
{
    char o[32];

    (void)state;
    fmt_duration(o, 4.5 * 86400);
    assert_string_equal(o, "4d 12h");
    fmt_duration(o, 3 * 3600 + 5 * 60);
    assert_string_equal(o, "3h 05m");
    fmt_duration(o, 42);
    assert_string_equal(o, "42s");
    fmt_duration(o, 0.012);
    assert_string_equal(o, "12 ms");
    fmt_duration(o, 0.0042);
    assert_string_equal(o, "4.2 ms");
    fmt_duration(o, 0.000418);
    assert_string_equal(o, "0.42 ms");
    fmt_duration(o, NAN);
    assert_string_equal(o, "-");
    fmt_bytes(o, 230428.0 * 1024);
    assert_string_equal(o, "225.0 MiB");
    fmt_bytes(o, 512);
    assert_string_equal(o, "512 B");
    fmt_bytes(o, NAN);
    assert_string_equal(o, "-");
    fmt_time(o, 1764165780000LL);
    assert_string_equal(o, "2025-11-26 14:03 UTC");
    fmt_time(o, 0);
    assert_string_equal(o, "-");
    fmt_value(o, 21.5);
    assert_string_equal(o, "21.5");
}

static void
test_page(void **state)
{
    struct buf b;
    struct html_page p = {.title = "<rock>", .refresh = 60, .refresh_off_url = "/?refresh=0&a=1"};

    (void)state;
    buf_init(&b, 1 << 20);
    assert_int_equal(html_page_begin(&b, &p), 0);
    assert_int_equal(html_badge(&b, "bad", "LEAK"), 0);
    assert_int_equal(html_page_end(&b), 0);
    const char *s = buf_str(&b);
    assert_non_null(strstr(s, "<meta name=\"viewport\""));
    assert_non_null(strstr(s, "<meta http-equiv=\"refresh\" content=\"60\">"));
    assert_non_null(strstr(s, "<title>&lt;rock&gt; - soak</title>"));
    assert_non_null(strstr(s, "href=\"/?refresh=0&amp;a=1\""));
    assert_non_null(strstr(s, "<span class=\"badge bad\">LEAK</span>"));
    assert_non_null(strstr(s, "</html>"));
    assert_null(strstr(s, "<rock>"));
    buf_free(&b);
}

static void
test_sparkline(void **state)
{
    struct buf b;
    struct sample s[] = {{1000, 10}, {2000, 20}, {3000, 15}};

    (void)state;
    buf_init(&b, 1 << 16);
    assert_int_equal(html_sparkline(&b, s, 3, 1000, 3000, NAN, NAN, 104, 24, "a<b"), 0);
    const char *t = buf_str(&b);
    assert_non_null(strstr(t, "<title>a&lt;b</title>"));
    /* first point at the left edge and the bottom, the peak at the top */
    assert_non_null(strstr(t, "points=\"2.0,22.0 52.0,2.0 102.0,12.0\""));
    buf_reset(&b);
    assert_int_equal(html_sparkline(&b, s, 0, 1000, 3000, NAN, NAN, 100, 20, "empty"), 0);
    assert_non_null(strstr(buf_str(&b), "no data"));
    assert_null(strstr(buf_str(&b), "polyline"));
    buf_reset(&b);
    assert_int_equal(html_sparkline(&b, s, 1, 0, 3000, NAN, NAN, 100, 20, "one"), 0);
    assert_non_null(strstr(buf_str(&b), "<circle"));
    buf_free(&b);
}

static void
test_minmax(void **state)
{
    struct sample in[1000], out[20];

    (void)state;
    for (int i = 0; i < 1000; i++)
        in[i] = (struct sample){i * 1000LL, i == 500 ? 1e9 : (double)(i % 7)};
    size_t n = samples_minmax(in, 1000, 0, 999000, 10, out);
    assert_true(n <= 20);
    assert_true(n >= 10);
    bool spike = false;
    for (size_t i = 0; i < n; i++) {
        spike |= out[i].v == 1e9;
        if (i > 0)
            assert_true(out[i].t_ms >= out[i - 1].t_ms);
    }
    assert_true(spike);
    assert_int_equal(samples_minmax(in, 1000, 5000, 5000, 10, out), 0);
    assert_int_equal(samples_minmax(in, 0, 0, 1000, 10, out), 0);
}

static void
test_time_range(void **state)
{
    int64_t t;
    struct web_range r;
    char err[128];
    const int64_t anchor = 1764165780000LL;

    (void)state;
    assert_int_equal(web_time_parse("1764165780", &t), 0);
    assert_int_equal(t, 1764165780000LL);
    assert_int_equal(web_time_parse("1764165780.5", &t), 0);
    assert_int_equal(t, 1764165780500LL);
    assert_int_equal(web_time_parse("2025-11-26T14:03", &t), 0);
    assert_int_equal(t, 1764165780000LL);
    assert_int_equal(web_time_parse("2025-11-26T14:03:00Z", &t), 0);
    assert_int_equal(t, 1764165780000LL);
    assert_int_equal(web_time_parse("2025-11-26", &t), 0);
    assert_int_equal(t, 1764115200000LL);
    assert_int_equal(web_time_parse("", &t), -EINVAL);
    assert_int_equal(web_time_parse("yesterday", &t), -EINVAL);
    assert_int_equal(web_time_parse("2025-13-01", &t), -EINVAL);
    assert_int_equal(web_time_parse("2025-11-26T1:03", &t), -EINVAL);
    assert_int_equal(web_time_parse("-5", &t), -EINVAL);
    assert_int_equal(web_time_parse("1e400", &t), -EINVAL);

    assert_int_equal(web_duration_parse("6h", &t), 0);
    assert_int_equal(t, 6 * 3600000LL);
    assert_int_equal(web_duration_parse("30d", &t), 0);
    assert_int_equal(web_duration_parse("0h", &t), -EINVAL);
    assert_int_equal(web_duration_parse("h", &t), -EINVAL);
    assert_int_equal(web_duration_parse("6x", &t), -EINVAL);
    assert_int_equal(web_duration_parse("401d", &t), -EINVAL);
    assert_int_equal(web_duration_parse("-6h", &t), -EINVAL);

    /* default: 7 days ending at the anchor */
    assert_int_equal(web_range_parse(NULL, NULL, NULL, anchor, &r, err, sizeof(err)), 0);
    assert_int_equal(r.to_ms, anchor);
    assert_int_equal(r.from_ms, anchor - 7 * 86400000LL);
    assert_int_equal(web_range_parse("6h", NULL, NULL, anchor, &r, err, sizeof(err)), 0);
    assert_int_equal(r.from_ms, anchor - 6 * 3600000LL);
    assert_string_equal(r.range, "6h");
    assert_int_equal(web_range_parse(NULL, "1000", "2000", anchor, &r, err, sizeof(err)), 0);
    assert_int_equal(r.from_ms, 1000000);
    assert_int_equal(r.to_ms, 2000000);
    assert_true(r.explicit_to);
    assert_int_equal(web_range_parse("1d", "1000", NULL, anchor, &r, err, sizeof(err)), 0);
    assert_int_equal(r.to_ms, 1000000 + 86400000LL);
    assert_int_equal(web_range_parse(NULL, "2000", "1000", anchor, &r, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "before"));
    assert_int_equal(web_range_parse("week", NULL, NULL, anchor, &r, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "range"));
    assert_int_equal(web_range_parse(NULL, "x", NULL, anchor, &r, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "from"));
    assert_int_equal(web_range_parse(NULL, "0", "1764165780", anchor, &r, err, sizeof(err)),
                     -EINVAL);
}

static void
test_names(void **state)
{
    char big[WEB_NAME_MAX + 2];

    (void)state;
    assert_true(web_name_valid("rockpis-1"));
    assert_true(web_name_valid("6.17.6-yocto 2025.11"));
    assert_false(web_name_valid(""));
    assert_false(web_name_valid(".."));
    assert_false(web_name_valid("a/b"));
    assert_false(web_name_valid("a\nb"));
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_false(web_name_valid(big));
    assert_true(web_metric_valid("node_memory_MemAvailable_bytes"));
    assert_true(web_metric_valid("a:b_1"));
    assert_false(web_metric_valid("1abc"));
    assert_false(web_metric_valid("a{b}"));
    assert_false(web_metric_valid(""));
}

static void
test_route(void **state)
{
    struct web_route r;

    (void)state;
    web_route("/", &r);
    assert_int_equal(r.kind, ROUTE_FARM);
    web_route("/device/rockpis-1", &r);
    assert_int_equal(r.kind, ROUTE_DEVICE);
    assert_string_equal(r.name, "rockpis-1");
    web_route("/device/rockpis-1/plot/memory.svg", &r);
    assert_int_equal(r.kind, ROUTE_PLOT);
    assert_string_equal(r.panel, "memory");
    assert_string_equal(r.ext, "svg");
    web_route("/device/rockpis-1/plot/latency.png", &r);
    assert_int_equal(r.kind, ROUTE_PLOT);
    web_route("/device/rockpis-1/plot/cpu.svg", &r);
    assert_int_equal(r.kind, ROUTE_NOT_FOUND);
    web_route("/device/rockpis-1/plot/memory.gif", &r);
    assert_int_equal(r.kind, ROUTE_NOT_FOUND);
    web_route("/device/", &r);
    assert_int_equal(r.kind, ROUTE_NOT_FOUND);
    web_route("/build/6.17.6 poky-5.0", &r);
    assert_int_equal(r.kind, ROUTE_BUILD);
    assert_string_equal(r.name, "6.17.6 poky-5.0");
    web_route("/api/v1/devices", &r);
    assert_int_equal(r.kind, ROUTE_API_DEVICES);
    web_route("/api/v1/devices/zero3e/series", &r);
    assert_int_equal(r.kind, ROUTE_API_SERIES);
    assert_string_equal(r.name, "zero3e");
    web_route("/api/v1/devices/zero3e/events", &r);
    assert_int_equal(r.kind, ROUTE_API_EVENTS);
    web_route("/api/v1/devices/zero3e/leak", &r);
    assert_int_equal(r.kind, ROUTE_API_LEAK);
    web_route("/api/v1/devices/zero3e", &r);
    assert_int_equal(r.kind, ROUTE_API_DEVICE);
    web_route("/api/v1/builds/6.17.6/verdict", &r);
    assert_int_equal(r.kind, ROUTE_API_VERDICT);
    assert_string_equal(r.name, "6.17.6");
    web_route("/api/v1/alerts", &r);
    assert_int_equal(r.kind, ROUTE_API_ALERTS);
    web_route("/api/v1/nothing", &r);
    assert_int_equal(r.kind, ROUTE_API_NOT_FOUND);
    web_route("/api/v1/devices/zero3e/bogus", &r);
    assert_int_equal(r.kind, ROUTE_API_NOT_FOUND);
    web_route("/nothing/here", &r);
    assert_int_equal(r.kind, ROUTE_NOT_FOUND);
    web_route("/style.css", &r);
    assert_int_equal(r.kind, ROUTE_STYLE);
}

static void
test_token_cookie(void **state)
{
    char v[64];

    (void)state;
    assert_true(web_token_equal("s3cret", "s3cret"));
    assert_false(web_token_equal("s3cre", "s3cret"));
    assert_false(web_token_equal("s3cretX", "s3cret"));
    assert_false(web_token_equal(NULL, "s3cret"));
    assert_true(web_cookie_get("a=1; soak_token=abc; b=2", "soak_token", v, sizeof(v)));
    assert_string_equal(v, "abc");
    assert_true(web_cookie_get("soak_token=xyz", "soak_token", v, sizeof(v)));
    assert_string_equal(v, "xyz");
    assert_false(web_cookie_get("xsoak_token=abc", "soak_token", v, sizeof(v)));
    assert_false(web_cookie_get("soak_token=abc", "soak_token", v, 3));
    assert_false(web_cookie_get(NULL, "soak_token", v, sizeof(v)));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),       cmocka_unit_test(test_format),
        cmocka_unit_test(test_page),         cmocka_unit_test(test_sparkline),
        cmocka_unit_test(test_minmax),       cmocka_unit_test(test_time_range),
        cmocka_unit_test(test_names),        cmocka_unit_test(test_route),
        cmocka_unit_test(test_token_cookie),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
