/* SPDX-License-Identifier: MIT */
/* Unit tests of src/common/expo-parse: the exposition-text parser and key helpers. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "expo-parse.h"
#include "expo.h"
#include "parse.h"

/* Collects what the parser reports as text lines: "key value [ts]" and "T name text". */
struct collect {
    struct buf out;
    struct buf key;
};

static int
on_sample(void *ctx, const struct expo_parsed_sample *s)
{
    struct collect *c = ctx;
    char num[32];
    int r;

    r = expo_canonical_key(s->name, s->labels, s->n, &c->key);
    if (r < 0)
        return r;
    format_double(num, s->value);
    if (s->has_ts)
        r = buf_printf(&c->out, "%s %s %lld\n", buf_str(&c->key), num, (long long)s->ts_ms);
    else
        r = buf_printf(&c->out, "%s %s\n", buf_str(&c->key), num);
    return r;
}

static int
on_family(void *ctx, const struct expo_parsed_family *f)
{
    struct collect *c = ctx;
    const char *k = f->kind == EXPO_DIR_TYPE ? "TYPE" : f->kind == EXPO_DIR_HELP ? "HELP" : "UNIT";

    return buf_printf(&c->out, "%s %s [%s]\n", k, f->name, f->text);
}

/* Parse text (in pieces of `chunk` bytes) and return 0 or the error; out gets the results. */
static int
run(const char *text, size_t chunk, enum expo_parse_format fmt, struct collect *c,
    unsigned long *errline, char *msg, size_t msglen, enum expo_parse_format *got)
{
    struct expo_parse_opts o = {
        .format = fmt,
        .max_line = 256,
        .max_label_value = 32,
        .max_labels = 4,
        .on_sample = on_sample,
        .on_family = on_family,
        .ctx = c,
    };
    struct expo_parser *p = NULL;
    size_t n = strlen(text);
    int r;

    buf_init(&c->out, 1 << 20);
    buf_init(&c->key, 4096);
    assert_int_equal(expo_parser_new(&o, &p), 0);
    r = 0;
    for (size_t i = 0; r == 0 && i < n; i += chunk)
        r = expo_parser_feed(p, text + i, MIN(chunk, n - i));
    if (r == 0)
        r = expo_parser_finish(p);
    if (errline)
        *errline = expo_parser_errline(p);
    if (msg)
        (void)snprintf(msg, msglen, "%s", expo_parser_errmsg(p));
    if (got)
        *got = expo_parser_format(p);
    expo_parser_free(p);
    buf_free(&c->key);
    return r;
}

static void
test_prometheus(void **state)
{
    struct collect c;
    enum expo_parse_format f;
    const char *text = "# HELP a_bytes Some \\\\ help\\nmore\n"
                       "# TYPE a_bytes gauge\n"
                       "a_bytes{z=\"1\",b=\"q\\\"x\\\\y\\n\"} 12.5 1700000000123\n"
                       "a_bytes 3\n"
                       "\n"
                       "# a plain comment\n"
                       "b_total{ x = \"NaN\" , } NaN\r\n"
                       "c +Inf 1700000000000\n"
                       "c2 -Inf";

    (void)state;
    /* Every chunking gives the same result. */
    for (size_t chunk = 1; chunk <= strlen(text); chunk += 7) {
        assert_int_equal(run(text, chunk, EXPO_PARSE_AUTO, &c, NULL, NULL, 0, &f), 0);
        assert_string_equal(buf_str(&c.out),
                            "HELP a_bytes [Some \\ help\nmore]\n"
                            "TYPE a_bytes [gauge]\n"
                            "a_bytes{b=\"q\\\"x\\\\y\\n\",z=\"1\"} 12.5 1700000000123\n"
                            "a_bytes 3\n"
                            "b_total{x=\"NaN\"} NaN\n"
                            "c +Inf 1700000000000\n"
                            "c2 -Inf\n");
        assert_int_equal(f, EXPO_PARSE_PROMETHEUS);
        buf_free(&c.out);
    }
}

static void
test_openmetrics(void **state)
{
    struct collect c;
    enum expo_parse_format f;
    const char *text = "# TYPE x counter\n"
                       "# UNIT x bytes\n"
                       "x_total{a=\"1\"} 5 1700000000.1234\n"
                       "x_total{a=\"2\"} 6 1700000000.9995 # {trace=\"t\"} 1 1700000000\n"
                       "x_total{a=\"3\"} 7 1700000001\n"
                       "x_total{a=\"4\"} 8 -1.5\n"
                       "x_total{a=\"5\"} 9 1.7e9\n"
                       "# EOF\n";

    (void)state;
    assert_int_equal(run(text, 5, EXPO_PARSE_AUTO, &c, NULL, NULL, 0, &f), 0);
    assert_string_equal(buf_str(&c.out), "TYPE x [counter]\n"
                                         "UNIT x [bytes]\n"
                                         "x_total{a=\"1\"} 5 1700000000123\n"
                                         "x_total{a=\"2\"} 6 1700000001000\n"
                                         "x_total{a=\"3\"} 7 1700000001000\n"
                                         "x_total{a=\"4\"} 8 -1500\n"
                                         "x_total{a=\"5\"} 9 1700000000000\n");
    assert_int_equal(f, EXPO_PARSE_OPENMETRICS);
    buf_free(&c.out);

    /* Integer seconds are OpenMetrics when small, and a truncated file is refused. */
    assert_int_equal(run("x 1 1700000000\n", 100, EXPO_PARSE_AUTO, &c, NULL, NULL, 0, &f), -EINVAL);
    assert_int_equal(f, EXPO_PARSE_OPENMETRICS);
    buf_free(&c.out);
    /* Forced Prometheus: "# EOF" is only a comment, float timestamps are wrong. */
    assert_int_equal(run("x 1 5\n# EOF\ny 2\n", 3, EXPO_PARSE_PROMETHEUS, &c, NULL, NULL, 0, NULL),
                     0);
    assert_string_equal(buf_str(&c.out), "x 1 5\ny 2\n");
    buf_free(&c.out);
}

struct bad_case {
    const char *text;
    int err;
    unsigned long line;
    const char *msg; /* a substring of the message */
};

static void
test_errors(void **state)
{
    static const struct bad_case cases[] = {
        {"ok 1\n9bad 1\n", -EINVAL, 2, "bad metric name"},
        {"ok 1\nok{a=\"x} 1\n", -EINVAL, 2, "unterminated"},
        {"ok{a=\"\\t\"} 1\n", -EINVAL, 1, "bad escape"},
        {"ok{a=\"1\",a=\"2\"} 1\n", -EINVAL, 1, "duplicate label 'a'"},
        {"ok{1a=\"1\"} 1\n", -EINVAL, 1, "bad label name"},
        {"ok{a \"1\"} 1\n", -EINVAL, 1, "expected '='"},
        {"ok{a=1} 1\n", -EINVAL, 1, "expected '\"'"},
        {"ok{a=\"1\" b=\"2\"} 1\n", -EINVAL, 1, "expected ',' or '}'"},
        {"ok{a=\"1\"\n", -EINVAL, 1, "not closed"},
        {"ok{a=\"1\"}1\n", -EINVAL, 1, "blank after the label set"},
        {"ok\n", -EINVAL, 1, "missing value"},
        {"ok abc\n", -EINVAL, 1, "bad value 'abc'"},
        {"ok 1 2 3\n", -EINVAL, 1, "unexpected text"},
        {"ok 1 1700000000000\nok 1 1700000000000.5\n", -EINVAL, 2, "bad timestamp"},
        {"# TYPE ok weird\n", -EINVAL, 1, "unknown metric type"},
        {"# TYPE 1ok gauge\n", -EINVAL, 1, "bad metric name"},
        {"# TYPE ok\n", -EINVAL, 1, "malformed"},
        {"ok 1 1\n# EOF\nmore 1\n", -EINVAL, 3, "after '# EOF'"},
        {"# EOF junk\n", -EINVAL, 1, "after '# EOF'"},
        {"ok{a=\"0123456789012345678901234567890123456789\"} 1\n", -E2BIG, 1, "longer than 32"},
        {"ok{a=\"1\",b=\"1\",c=\"1\",d=\"1\",e=\"1\"} 1\n", -E2BIG, 1, "more than 4 labels"},
        {"ok 1 1700000000000\nok 1 1700000000000 # {a=\"b\"} 1\n", -EINVAL, 2, "unexpected"},
        {"ok 1 1700000000\n", -EINVAL, 2, "missing '# EOF'"},
    };
    char msg[256];
    unsigned long line;
    struct collect c;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int r = run(cases[i].text, 3, EXPO_PARSE_AUTO, &c, &line, msg, sizeof(msg), NULL);
        if (r != cases[i].err || line != cases[i].line || !strstr(msg, cases[i].msg))
            fail_msg("case %zu '%s': r=%d line=%lu msg='%s'", i, cases[i].text, r, line, msg);
        buf_free(&c.out);
    }
}

static void
test_long_line(void **state)
{
    char text[600];
    unsigned long line;
    char msg[128];
    struct collect c;

    (void)state;
    memset(text, 'a', sizeof(text));
    memcpy(text, "ok 1\n", 5);
    text[sizeof(text) - 1] = '\0';
    /* Line 2 has no newline and is longer than max_line (256). */
    assert_int_equal(run(text, 64, EXPO_PARSE_AUTO, &c, &line, msg, sizeof(msg), NULL), -E2BIG);
    assert_int_equal(line, 2);
    assert_non_null(strstr(msg, "longer than 256"));
    buf_free(&c.out);
    /* Same in one piece, with a newline. */
    text[sizeof(text) - 2] = '\n';
    assert_int_equal(run(text, 1000, EXPO_PARSE_AUTO, &c, &line, msg, sizeof(msg), NULL), -E2BIG);
    assert_int_equal(line, 2);
    buf_free(&c.out);
}

static int
stop_cb(void *ctx, const struct expo_parsed_sample *s)
{
    (void)s;
    (*(int *)ctx)++;
    return *(int *)ctx == 2 ? -ENOSPC : 0;
}

static void
test_callback_stop(void **state)
{
    struct expo_parse_opts o = {.on_sample = stop_cb};
    char err[128];
    int count = 0;

    (void)state;
    o.ctx = &count;
    assert_int_equal(expo_parse_buffer(&o, "a 1\nb 2\nc 3\n", 12, err, sizeof(err)), -ENOSPC);
    assert_int_equal(count, 2);
    assert_true(strncmp(err, "2: ", 3) == 0);
}

static void
test_canonical_key(void **state)
{
    const struct expo_label l1[] = {{"b", "2"}, {"a", "x\"y"}, {"empty", ""}, {"c", "\\\n"}};
    const struct expo_label l2[] = {{"c", "\\\n"}, {"a", "x\"y"}, {"b", "2"}};
    const struct expo_label dup[] = {{"a", "1"}, {"a", "2"}};
    struct buf k1, k2;
    char out[64];

    (void)state;
    buf_init(&k1, 1024);
    buf_init(&k2, 1024);
    assert_int_equal(expo_canonical_key("m", l1, 4, &k1), 0);
    assert_int_equal(expo_canonical_key("m", l2, 3, &k2), 0);
    assert_string_equal(buf_str(&k1), "m{a=\"x\\\"y\",b=\"2\",c=\"\\\\\\n\"}");
    assert_string_equal(buf_str(&k1), buf_str(&k2));
    assert_int_equal(expo_canonical_key("m", dup, 2, &k2), -EINVAL);
    assert_int_equal(expo_canonical_key("1m", NULL, 0, &k2), -EINVAL);
    assert_int_equal(expo_canonical_key("m", NULL, 0, &k2), 0);
    assert_string_equal(buf_str(&k2), "m");

    assert_int_equal(expo_key_name(buf_str(&k1), out, sizeof(out)), 1);
    assert_string_equal(out, "m");
    assert_int_equal(expo_key_name(buf_str(&k1), out, 1), -E2BIG);
    assert_int_equal(expo_key_label(buf_str(&k1), "a", out, sizeof(out)), 3);
    assert_string_equal(out, "x\"y");
    assert_int_equal(expo_key_label(buf_str(&k1), "c", out, sizeof(out)), 2);
    assert_string_equal(out, "\\\n");
    assert_int_equal(expo_key_label(buf_str(&k1), "nope", out, sizeof(out)), -ENOENT);
    assert_int_equal(expo_key_label(buf_str(&k1), "a", out, 2), -E2BIG);
    assert_int_equal(expo_key_label("m{a=\"x}", "a", out, sizeof(out)), -EINVAL);
    buf_free(&k1);
    buf_free(&k2);
}

static void
test_series_parse(void **state)
{
    struct expo_series s;

    (void)state;
    assert_int_equal(expo_series_parse("node_memory{ b = \"2\", a=\"1\"}", &s), 0);
    assert_string_equal(s.name, "node_memory");
    assert_int_equal(s.n, 2);
    assert_string_equal(s.labels[0].name, "b");
    assert_string_equal(s.labels[1].value, "1");
    expo_series_done(&s);
    assert_int_equal(expo_series_parse("{a=\"1\"}", &s), 0);
    assert_string_equal(s.name, "");
    expo_series_done(&s);
    assert_int_equal(expo_series_parse("m", &s), 0);
    assert_int_equal(s.n, 0);
    expo_series_done(&s);
    assert_int_equal(expo_series_parse("m{a=\"1\"} x", &s), -EINVAL);
    assert_int_equal(expo_series_parse("", &s), -EINVAL);
}

/* What the writer writes, the parser reads back to the same keys and values. */
static void
test_writer_roundtrip(void **state)
{
    const struct expo_label l[] = {{"dev", "a\"b\\c\nd"}, {"build", "6.17.6"}};
    struct expo_writer w;
    struct buf text;
    struct collect c;

    (void)state;
    buf_init(&text, 1 << 16);
    expo_writer_init(&w, &text, EXPO_OPENMETRICS);
    assert_int_equal(expo_family(&w, "t_celsius", METRIC_GAUGE, "temp"), 0);
    assert_int_equal(expo_sample_ts(&w, "t_celsius", l, 2, 41.25, 1700000000123), 0);
    assert_int_equal(expo_sample_ts(&w, "t_celsius", l, 2, NAN, 1700000060000), 0);
    assert_int_equal(expo_finish(&w), 0);
    assert_int_equal(run(buf_str(&text), 10, EXPO_PARSE_AUTO, &c, NULL, NULL, 0, NULL), 0);
    assert_string_equal(buf_str(&c.out),
                        "HELP t_celsius [temp]\n"
                        "TYPE t_celsius [gauge]\n"
                        "t_celsius{build=\"6.17.6\",dev=\"a\\\"b\\\\c\\nd\"} 41.25 1700000000123\n"
                        "t_celsius{build=\"6.17.6\",dev=\"a\\\"b\\\\c\\nd\"} NaN 1700000060000\n");
    buf_free(&c.out);
    buf_free(&text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prometheus),    cmocka_unit_test(test_openmetrics),
        cmocka_unit_test(test_errors),        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_callback_stop), cmocka_unit_test(test_canonical_key),
        cmocka_unit_test(test_series_parse),  cmocka_unit_test(test_writer_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
