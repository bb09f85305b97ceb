/* SPDX-License-Identifier: MIT */
/* Unit tests of src/common: buf, parse, expo writer, conf, rootfs. */
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

#include "buf.h"
#include "conf.h"
#include "expo.h"
#include "parse.h"
#include "rootfs.h"

static void
test_buf_cap(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 8);
    assert_int_equal(buf_puts(&b, "abcd"), 0);
    assert_int_equal(buf_printf(&b, "%d", 1234), 0);
    assert_string_equal(buf_str(&b), "abcd1234");
    /* One more byte passes the cap: refused, contents unchanged. */
    assert_int_equal(buf_putc(&b, 'x'), -E2BIG);
    assert_string_equal(buf_str(&b), "abcd1234");
    buf_reset(&b);
    assert_string_equal(buf_str(&b), "");
    buf_free(&b);
}

static void
test_str_concat(void **state)
{
    char out[12];

    (void)state;
    assert_int_equal(str_concat(out, sizeof(out), "node_", "load1", NULL), 10);
    assert_string_equal(out, "node_load1");
    assert_int_equal(str_concat(out, sizeof(out), "node_", "memory_", "x", NULL), -E2BIG);
    assert_string_equal(out, "node_memory");
    assert_int_equal(str_concat(out, sizeof(out), NULL), 0);
    assert_string_equal(out, "");
}

static void
test_parse_numbers(void **state)
{
    uint64_t u;
    int64_t i;
    double d;
    const char *p;

    (void)state;
    assert_int_equal(parse_u64("18446744073709551615", &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(parse_u64("18446744073709551616", &u), -ERANGE);
    assert_int_equal(parse_u64("12x", &u), -EINVAL);
    assert_int_equal(parse_u64("", &u), -EINVAL);
    assert_int_equal(parse_u64(" 1", &u), -EINVAL);
    assert_int_equal(parse_i64("-9223372036854775808", &i), 0);
    assert_true(i == INT64_MIN);
    assert_int_equal(parse_double("1.5e3", &d), 0);
    assert_true(d == 1500.0);
    assert_int_equal(parse_double("+Inf", &d), 0);
    assert_true(isinf(d) && d > 0);
    assert_int_equal(parse_double("NaN", &d), 0);
    assert_true(isnan(d));
    assert_int_equal(parse_double("0x10", &d), -EINVAL);
    assert_int_equal(parse_double("1,5", &d), -EINVAL);
    p = "MemTotal:   230428 kB";
    p += strlen("MemTotal:");
    assert_int_equal(parse_u64_field(&p, &u), 0);
    assert_true(u == 230428);
    assert_string_equal(p, " kB");
}

static void
test_format_double(void **state)
{
    char out[32];

    (void)state;
    format_double(out, 235958272.0);
    assert_string_equal(out, "235958272");
    format_double(out, 0.1);
    assert_string_equal(out, "0.1");
    format_double(out, 12.376);
    assert_string_equal(out, "12.376");
    format_double(out, -INFINITY);
    assert_string_equal(out, "-Inf");
    format_double(out, 1e300);
    assert_string_equal(out, "1e+300");
}

static void
test_expo_writer(void **state)
{
    struct buf b;
    struct expo_writer w;
    const struct expo_label l[] = {{"slab", "we\"ird\\name\n"}, {"skip", NULL}, {"b", "x"}};

    (void)state;
    buf_init(&b, 4096);
    expo_writer_init(&w, &b, EXPO_PROMETHEUS);
    assert_int_equal(expo_family(&w, "node_slabinfo_objects", METRIC_GAUGE, "Objects.\nTwo"), 0);
    assert_int_equal(expo_sample(&w, "node_slabinfo_objects", l, 3, 42), 0);
    assert_string_equal(buf_str(&b),
                        "# HELP node_slabinfo_objects Objects.\\nTwo\n"
                        "# TYPE node_slabinfo_objects gauge\n"
                        "node_slabinfo_objects{slab=\"we\\\"ird\\\\name\\n\",b=\"x\"} 42\n");
    buf_free(&b);
}

static void
test_expo_openmetrics_ts(void **state)
{
    struct buf b;
    struct expo_writer w;

    (void)state;
    buf_init(&b, 4096);
    expo_writer_init(&w, &b, EXPO_OPENMETRICS);
    assert_int_equal(expo_family(&w, "x", METRIC_UNTYPED, NULL), 0);
    assert_int_equal(expo_sample_ts(&w, "x", NULL, 0, 1.5, 1700000000123LL), 0);
    assert_int_equal(expo_finish(&w), 0);
    assert_string_equal(buf_str(&b), "# TYPE x unknown\nx 1.5 1700000000.123\n# EOF\n");
    buf_free(&b);
}

static void
test_expo_sticky_error(void **state)
{
    struct buf b;
    struct expo_writer w;

    (void)state;
    buf_init(&b, 40);
    expo_writer_init(&w, &b, EXPO_PROMETHEUS);
    for (int i = 0; i < 10; i++)
        (void)expo_single(&w, "a_metric_with_a_long_name", METRIC_GAUGE, NULL, i);
    assert_int_equal(expo_error(&w), -E2BIG);
    assert_true(b.len <= 40);
    buf_free(&b);
}

static void
test_expo_label_bounded(void **state)
{
    struct buf b;
    char big[1000];

    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    /* A two-byte UTF-8 character straddling the cut is dropped whole. */
    big[EXPO_LABEL_VALUE_MAX - 1] = (char)0xc3;
    big[EXPO_LABEL_VALUE_MAX] = (char)0xa9;
    buf_init(&b, 4096);
    assert_int_equal(expo_escape_label(&b, big, EXPO_LABEL_VALUE_MAX), 0);
    assert_int_equal(b.len, EXPO_LABEL_VALUE_MAX - 1);
    buf_free(&b);
}

static void
test_sanitize(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(expo_sanitize_name(out, sizeof(out), "Active(anon)"), 11);
    assert_string_equal(out, "Active_anon");
    assert_true(expo_sanitize_name(out, sizeof(out), "a--b") > 0);
    assert_string_equal(out, "a_b");
    assert_int_equal(expo_sanitize_name(out, sizeof(out), "()"), -EINVAL);
    assert_true(expo_sanitize_name(out, sizeof(out), "9p") > 0);
    assert_string_equal(out, "_9p");
}

struct conf_seen {
    int n;
    int line;
    char last[128];
};

static int
conf_cb(void *ctx, const char *section, const char *key, const char *value, int line)
{
    struct conf_seen *s = ctx;

    if (strcmp(key, "bad") == 0 || strcmp(key, "bad2") == 0)
        return -ENOENT;
    if (strcmp(key, "worse") == 0)
        return -EINVAL;
    s->n++;
    s->line = line;
    (void)snprintf(s->last, sizeof(s->last), "%s.%s=%s", section, key, value);
    return 0;
}

static void
test_conf(void **state)
{
    struct conf_seen s = {0};
    char err[256];
    double d;
    uint64_t sz;
    int b;

    (void)state;
    assert_int_equal(conf_parse_string("[a]\nx = 1 ; comment\n# c\n[device b]\ny=two words\n",
                                       conf_cb, &s, err, sizeof(err)),
                     0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.last, "device b.y=two words");
    assert_int_equal(conf_parse_string("[a]\nx=1\nbad=2\n", conf_cb, &s, err, sizeof(err)),
                     -ENOENT);
    assert_non_null(strstr(err, ":3: unknown key 'bad'"));
    /* The handler gets the line; the first rejected line is reported, and parsing stops. */
    s.n = 0;
    assert_int_equal(conf_parse_string("[a]\n\nx=1\nworse=2\nbad2=3\ny=4\n", conf_cb, &s, err,
                                       sizeof(err)),
                     -EINVAL);
    assert_int_equal(s.line, 3);
    assert_int_equal(s.n, 1);
    assert_non_null(strstr(err, ":4: bad value for 'worse' in [a]"));
    /* A syntax error before a rejected line is reported as what it is, on its line. */
    assert_int_equal(conf_parse_string("[a\nbad=1\n", conf_cb, &s, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "<string>:1: syntax error"));
    assert_int_equal(conf_parse_file("/", conf_cb, &s, err, sizeof(err)), -EISDIR);
    assert_non_null(strstr(err, "/: cannot read: Is a directory"));
    assert_int_equal(conf_duration("1.5h", &d), 0);
    assert_true(d == 5400);
    assert_int_equal(conf_duration("5x", &d), -EINVAL);
    assert_int_equal(conf_size("4M", &sz), 0);
    assert_true(sz == 4u << 20);
    assert_int_equal(conf_bool("off", &b), 0);
    assert_int_equal(b, 0);
    assert_int_equal(conf_bool("maybe", &b), -EINVAL);
}

static void
test_rootfs(void **state)
{
    char dir[] = "/tmp/soak-rootfs-XXXXXX";
    char p[256], out[8];
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(root_path(dir, "/f", p, sizeof(p)), 0);
    f = fopen(p, "w");
    assert_non_null(f);
    (void)fputs("0123456789\n", f);
    (void)fclose(f);
    assert_int_equal(root_read(dir, "/f", out, sizeof(out)), -EFBIG);
    assert_string_equal(out, "0123456");
    assert_int_equal(root_read(dir, "/missing", out, sizeof(out)), -ENOENT);
    assert_int_equal(root_path(NULL, "/proc/x", p, sizeof(p)), 0);
    assert_string_equal(p, "/proc/x");
    assert_int_equal(root_path("/r/", "/proc/x", p, sizeof(p)), 0);
    assert_string_equal(p, "/r/proc/x");
    assert_int_equal(root_path("/r", "/proc/x", p, 5), -ENAMETOOLONG);
    (void)unlink(p);
    assert_int_equal(root_path(dir, "/f", p, sizeof(p)), 0);
    (void)unlink(p);
    (void)rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_cap), cmocka_unit_test(test_str_concat),           cmocka_unit_test(test_parse_numbers),
        cmocka_unit_test(test_format_double),     cmocka_unit_test(test_expo_writer),
        cmocka_unit_test(test_expo_openmetrics_ts), cmocka_unit_test(test_expo_sticky_error),
        cmocka_unit_test(test_expo_label_bounded), cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_conf),              cmocka_unit_test(test_rootfs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
