/* SPDX-License-Identifier: MIT */
#include "expo-parse.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

struct expo_parser {
    struct expo_parse_opts o;
    enum expo_parse_format fmt;
    struct buf partial; /* an incomplete line carried to the next feed */
    char *scratch;      /* unescaped names and values of the current line */
    size_t scratch_cap;
    size_t *name_off; /* offsets into scratch, max_labels each */
    size_t *val_off;
    struct expo_label *labels;
    unsigned long line; /* lines completed */
    unsigned long samples;
    unsigned long errline;
    int err;
    int seen_eof;
    char errmsg[200];
};

/* A cursor over one line (not NUL-terminated). */
struct cur {
    const char *p;
    const char *end;
};

static int
is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static int
is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

static int
is_label_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_label_char(char c)
{
    return is_label_start(c) || (c >= '0' && c <= '9');
}

int
expo_valid_metric_name(const char *s, size_t n)
{
    if (n == 0 || !is_name_start(s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!is_name_char(s[i]))
            return 0;
    return 1;
}

int
expo_valid_label_name(const char *s, size_t n)
{
    if (n == 0 || !is_label_start(s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!is_label_char(s[i]))
            return 0;
    return 1;
}

static void
cur_blanks(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

/*
 * Label set parser shared by sample lines and series selectors. c->p is just past '{'.
 * Unescaped names and values go to scratch (which has room for the rest of the line
 * plus two NULs per label); offsets land in name_off/val_off. Returns 0, or -EINVAL /
 * -E2BIG with *msg set (a static string or one formatted into msgbuf).
 */
struct label_sink {
    char *scratch;
    size_t used;
    size_t *name_off;
    size_t *val_off;
    size_t max_labels;
    size_t max_value;
    size_t n;
};

static int
parse_label_set(struct cur *c, struct label_sink *k, char *msgbuf, size_t msglen)
{
    for (;;) {
        const char *nm;
        size_t nlen, voff;

        cur_blanks(c);
        if (c->p >= c->end)
            goto unterminated_set;
        if (*c->p == '}') {
            c->p++;
            return 0;
        }
        nm = c->p;
        while (c->p < c->end && is_label_char(*c->p))
            c->p++;
        nlen = (size_t)(c->p - nm);
        if (nlen == 0 || !is_label_start(nm[0])) {
            (void)snprintf(msgbuf, msglen, "bad label name at '%.*s'",
                           (int)MIN((size_t)(c->end - nm), 20), nm);
            return -EINVAL;
        }
        if (k->n >= k->max_labels) {
            (void)snprintf(msgbuf, msglen, "more than %zu labels", k->max_labels);
            return -E2BIG;
        }
        for (size_t i = 0; i < k->n; i++) {
            const char *prev = k->scratch + k->name_off[i];
            if (strlen(prev) == nlen && memcmp(prev, nm, nlen) == 0) {
                (void)snprintf(msgbuf, msglen, "duplicate label '%.*s'", (int)MIN(nlen, 64), nm);
                return -EINVAL;
            }
        }
        k->name_off[k->n] = k->used;
        memcpy(k->scratch + k->used, nm, nlen);
        k->used += nlen;
        k->scratch[k->used++] = '\0';
        cur_blanks(c);
        if (c->p >= c->end || *c->p != '=') {
            (void)snprintf(msgbuf, msglen, "expected '=' after label name '%.*s'",
                           (int)MIN(nlen, 64), nm);
            return -EINVAL;
        }
        c->p++;
        cur_blanks(c);
        if (c->p >= c->end || *c->p != '"') {
            (void)snprintf(msgbuf, msglen, "expected '\"' to start the value of label '%.*s'",
                           (int)MIN(nlen, 64), nm);
            return -EINVAL;
        }
        c->p++;
        voff = k->used;
        for (;;) {
            char ch;
            if (c->p >= c->end) {
                (void)snprintf(msgbuf, msglen, "unterminated value of label '%.*s'",
                               (int)MIN(nlen, 64), nm);
                return -EINVAL;
            }
            ch = *c->p++;
            if (ch == '"')
                break;
            if (ch == '\\') {
                if (c->p >= c->end) {
                    (void)snprintf(msgbuf, msglen, "unterminated value of label '%.*s'",
                                   (int)MIN(nlen, 64), nm);
                    return -EINVAL;
                }
                ch = *c->p++;
                if (ch == 'n')
                    ch = '\n';
                else if (ch != '\\' && ch != '"') {
                    (void)snprintf(msgbuf, msglen, "bad escape '\\%c' in value of label '%.*s'",
                                   (ch >= 0x20 && ch < 0x7f) ? ch : '?', (int)MIN(nlen, 64), nm);
                    return -EINVAL;
                }
            }
            if (k->used - voff >= k->max_value) {
                (void)snprintf(msgbuf, msglen, "value of label '%.*s' longer than %zu bytes",
                               (int)MIN(nlen, 64), nm, k->max_value);
                return -E2BIG;
            }
            k->scratch[k->used++] = ch;
        }
        k->scratch[k->used++] = '\0';
        k->val_off[k->n++] = voff;
        cur_blanks(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            return 0;
        }
        if (c->p >= c->end)
            goto unterminated_set;
        (void)snprintf(msgbuf, msglen, "expected ',' or '}' after the value of label '%.*s'",
                       (int)MIN(nlen, 64), nm);
        return -EINVAL;
    }
unterminated_set:
    (void)snprintf(msgbuf, msglen, "label set not closed with '}'");
    return -EINVAL;
}

static int fail(struct expo_parser *p, int r, const char *fmt, ...) _printf_(3, 4);

static int
fail(struct expo_parser *p, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(p->errmsg, sizeof(p->errmsg), fmt, ap);
    va_end(ap);
    p->err = r;
    p->errline = p->line + 1;
    return r;
}

static void
decide(struct expo_parser *p, enum expo_parse_format f)
{
    if (p->fmt == EXPO_PARSE_AUTO)
        p->fmt = f;
}

/* Decimal seconds ("1700000000.123", "-1.5", "1e9") to milliseconds, rounded. */
static int
seconds_to_ms(const char *s, size_t n, int64_t *ret)
{
    size_t i = 0;
    int neg = 0;
    int64_t ip = 0, ms;
    int frac = 0, digits = 0, round_up = 0;

    if (n == 0)
        return -EINVAL;
    if (memchr(s, 'e', n) || memchr(s, 'E', n)) {
        double v;
        if (parse_double_n(s, n, &v) < 0 || !isfinite(v) || fabs(v) > 9.2e15)
            return -EINVAL;
        *ret = (int64_t)llround(v * 1000.0);
        return 0;
    }
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i++;
    }
    if (i >= n || ((s[i] < '0' || s[i] > '9') && s[i] != '.'))
        return -EINVAL;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (ip > (INT64_MAX / 1000 - 9) / 10)
            return -ERANGE;
        ip = ip * 10 + (s[i] - '0');
        digits++;
    }
    if (i < n && s[i] == '.') {
        int fd = 0;
        i++;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, fd++) {
            if (fd < 3)
                frac = frac * 10 + (s[i] - '0');
            else if (fd == 3)
                round_up = s[i] >= '5';
            digits++;
        }
        for (; fd < 3; fd++)
            frac *= 10;
    }
    if (i != n || digits == 0)
        return -EINVAL;
    ms = ip * 1000 + frac + round_up;
    *ret = neg ? -ms : ms;
    return 0;
}

static int
parse_timestamp(struct expo_parser *p, const char *s, size_t n, int64_t *ret)
{
    int64_t v;
    char tmp[32];
    int is_int = 1;

    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (i == 0 && (s[i] == '-' || s[i] == '+'))))
            is_int = 0;
    if (p->fmt == EXPO_PARSE_AUTO) {
        if (!is_int) {
            decide(p, EXPO_PARSE_OPENMETRICS);
        } else {
            if (n >= sizeof(tmp))
                return fail(p, -EINVAL, "bad timestamp '%.*s'", (int)MIN(n, 40), s);
            memcpy(tmp, s, n);
            tmp[n] = '\0';
            if (parse_i64(tmp, &v) < 0)
                return fail(p, -EINVAL, "bad timestamp '%.*s'", (int)MIN(n, 40), s);
            decide(p, (v >= 100000000000LL || v <= -100000000000LL) ? EXPO_PARSE_PROMETHEUS
                                                                    : EXPO_PARSE_OPENMETRICS);
        }
    }
    if (p->fmt == EXPO_PARSE_PROMETHEUS) {
        if (!is_int || n >= sizeof(tmp))
            return fail(p, -EINVAL,
                        "bad timestamp '%.*s' (Prometheus text wants integer milliseconds)",
                        (int)MIN(n, 40), s);
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        if (parse_i64(tmp, &v) < 0)
            return fail(p, -EINVAL, "bad timestamp '%.*s'", (int)MIN(n, 40), s);
        *ret = v;
        return 0;
    }
    if (seconds_to_ms(s, n, &v) < 0)
        return fail(p, -EINVAL, "bad timestamp '%.*s' (OpenMetrics wants seconds)", (int)MIN(n, 40),
                    s);
    *ret = v;
    return 0;
}

static const struct {
    const char *name;
    enum metric_type type;
    int om_only;
} known_types[] = {
    {"counter", METRIC_COUNTER, 0},        {"gauge", METRIC_GAUGE, 0},
    {"histogram", METRIC_UNTYPED, 0},      {"summary", METRIC_UNTYPED, 0},
    {"untyped", METRIC_UNTYPED, 0},        {"unknown", METRIC_UNTYPED, 1},
    {"stateset", METRIC_UNTYPED, 1},       {"info", METRIC_UNTYPED, 1},
    {"gaugehistogram", METRIC_UNTYPED, 1},
};

/* "# TYPE name type", "# HELP name text", "# UNIT name unit", "# EOF", other comments. */
static int
parse_comment(struct expo_parser *p, const char *l, size_t len)
{
    struct cur c = {l + 1, l + len};
    const char *kw, *nm;
    size_t kwlen, nmlen;
    struct expo_parsed_family f = {0};
    char *s = p->scratch;
    size_t used = 0;

    cur_blanks(&c);
    kw = c.p;
    while (c.p < c.end && *c.p != ' ' && *c.p != '\t')
        c.p++;
    kwlen = (size_t)(c.p - kw);
    if (kwlen == 3 && memcmp(kw, "EOF", 3) == 0 && p->fmt != EXPO_PARSE_PROMETHEUS) {
        cur_blanks(&c);
        if (c.p != c.end)
            return fail(p, -EINVAL, "text after '# EOF'");
        decide(p, EXPO_PARSE_OPENMETRICS);
        p->seen_eof = 1;
        return 0;
    }
    if (kwlen == 4 && memcmp(kw, "TYPE", 4) == 0)
        f.kind = EXPO_DIR_TYPE;
    else if (kwlen == 4 && memcmp(kw, "HELP", 4) == 0)
        f.kind = EXPO_DIR_HELP;
    else if (kwlen == 4 && memcmp(kw, "UNIT", 4) == 0)
        f.kind = EXPO_DIR_UNIT;
    else
        return 0; /* a plain comment */
    cur_blanks(&c);
    nm = c.p;
    while (c.p < c.end && *c.p != ' ' && *c.p != '\t')
        c.p++;
    nmlen = (size_t)(c.p - nm);
    if (!expo_valid_metric_name(nm, nmlen))
        return fail(p, -EINVAL, "bad metric name '%.*s' in '# %.*s'", (int)MIN(nmlen, 64), nm,
                    (int)kwlen, kw);
    memcpy(s, nm, nmlen);
    s[nmlen] = '\0';
    used = nmlen + 1;
    cur_blanks(&c);
    f.text = s + used;
    if (f.kind == EXPO_DIR_HELP) {
        /* HELP escapes \\ and \n; other backslashes stay as written. */
        while (c.p < c.end) {
            char ch = *c.p++;
            if (ch == '\\' && c.p < c.end && (*c.p == '\\' || *c.p == 'n')) {
                ch = *c.p == 'n' ? '\n' : '\\';
                c.p++;
            }
            s[used++] = ch;
        }
        s[used] = '\0';
    } else {
        const char *t = c.p;
        size_t tlen;
        while (c.p < c.end && *c.p != ' ' && *c.p != '\t')
            c.p++;
        tlen = (size_t)(c.p - t);
        cur_blanks(&c);
        if (c.p != c.end || (f.kind == EXPO_DIR_TYPE && tlen == 0))
            return fail(p, -EINVAL, "malformed '# %.*s' line", (int)kwlen, kw);
        memcpy(s + used, t, tlen);
        s[used + tlen] = '\0';
        if (f.kind == EXPO_DIR_UNIT) {
            decide(p, EXPO_PARSE_OPENMETRICS);
        } else {
            size_t i;
            for (i = 0; i < ARRAY_SIZE(known_types); i++)
                if (strcmp(known_types[i].name, f.text) == 0)
                    break;
            if (i == ARRAY_SIZE(known_types))
                return fail(p, -EINVAL, "unknown metric type '%.*s'", (int)MIN(tlen, 40), t);
            f.type = known_types[i].type;
            if (known_types[i].om_only)
                decide(p, EXPO_PARSE_OPENMETRICS);
        }
    }
    f.name = s;
    f.line = p->line + 1;
    if (p->o.on_family) {
        int r = p->o.on_family(p->o.ctx, &f);
        if (r < 0)
            return fail(p, r, "stopped by the caller: %s", strerror(-r));
    }
    return 0;
}

/*
 * The common case of a value without exponent and at most 15 significant digits
 * ("1234", "-0.125", "41.250"): an integer m < 2^53 divided by an exact power of ten
 * is correctly rounded by IEEE division, so this gives strtod's result bit for bit
 * (Clinger's fast path). -EINVAL means "not this shape": use the full parser.
 */
static int
fast_double(const char *s, size_t n, double *ret)
{
    static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    uint64_t m = 0;
    size_t i = 0;
    int neg = 0, digits = 0, frac = -1;

    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    for (; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            m = m * 10 + (uint64_t)(s[i] - '0');
            if (++digits > 15)
                return -EINVAL;
            if (frac >= 0)
                frac++;
        } else if (s[i] == '.' && frac < 0) {
            frac = 0;
        } else {
            return -EINVAL;
        }
    }
    if (digits == 0)
        return -EINVAL;
    *ret = (double)m / pow10[frac > 0 ? frac : 0];
    if (neg)
        *ret = -*ret;
    return 0;
}

static int
parse_sample(struct expo_parser *p, const char *l, size_t len)
{
    struct cur c = {l, l + len};
    struct expo_parsed_sample s = {0};
    struct label_sink k = {
        .scratch = p->scratch,
        .name_off = p->name_off,
        .val_off = p->val_off,
        .max_labels = p->o.max_labels,
        .max_value = p->o.max_label_value,
    };
    const char *nm, *v;
    size_t nmlen, vlen;
    int r;

    nm = c.p;
    while (c.p < c.end && is_name_char(*c.p))
        c.p++;
    nmlen = (size_t)(c.p - nm);
    if (nmlen == 0 || !is_name_start(nm[0]) ||
        (c.p < c.end && *c.p != ' ' && *c.p != '\t' && *c.p != '{'))
        return fail(p, -EINVAL, "bad metric name at '%.*s'", (int)MIN(len, 40), nm);
    memcpy(k.scratch, nm, nmlen);
    k.scratch[nmlen] = '\0';
    k.used = nmlen + 1;
    cur_blanks(&c);
    if (c.p < c.end && *c.p == '{') {
        c.p++;
        r = parse_label_set(&c, &k, p->errmsg, sizeof(p->errmsg));
        if (r < 0) {
            p->err = r;
            p->errline = p->line + 1;
            return r;
        }
        if (c.p < c.end && *c.p != ' ' && *c.p != '\t')
            return fail(p, -EINVAL, "expected a blank after the label set");
    }
    cur_blanks(&c);
    v = c.p;
    while (c.p < c.end && *c.p != ' ' && *c.p != '\t')
        c.p++;
    vlen = (size_t)(c.p - v);
    if (vlen == 0)
        return fail(p, -EINVAL, "missing value");
    if (fast_double(v, vlen, &s.value) < 0 && parse_double_n(v, vlen, &s.value) < 0)
        return fail(p, -EINVAL, "bad value '%.*s'", (int)MIN(vlen, 40), v);
    cur_blanks(&c);
    if (c.p < c.end && *c.p != '#') {
        const char *t = c.p;
        while (c.p < c.end && *c.p != ' ' && *c.p != '\t')
            c.p++;
        r = parse_timestamp(p, t, (size_t)(c.p - t), &s.ts_ms);
        if (r < 0)
            return r;
        s.has_ts = 1;
        cur_blanks(&c);
    }
    if (c.p < c.end) {
        /* Only an OpenMetrics exemplar may follow: " # {labels} value [ts]". */
        if (*c.p != '#' || p->fmt == EXPO_PARSE_PROMETHEUS)
            return fail(p, -EINVAL, "unexpected text '%.*s' after the %s",
                        (int)MIN((size_t)(c.end - c.p), 20), c.p, s.has_ts ? "timestamp" : "value");
    }
    for (size_t i = 0; i < k.n; i++) {
        p->labels[i].name = k.scratch + k.name_off[i];
        p->labels[i].value = k.scratch + k.val_off[i];
    }
    s.name = k.scratch;
    s.labels = p->labels;
    s.n = k.n;
    s.line = p->line + 1;
    p->samples++;
    if (p->o.on_sample) {
        r = p->o.on_sample(p->o.ctx, &s);
        if (r < 0)
            return fail(p, r, "stopped by the caller: %s", strerror(-r));
    }
    return 0;
}

static int
parse_line(struct expo_parser *p, const char *l, size_t len)
{
    int r = 0;

    if (len > 0 && l[len - 1] == '\r')
        len--;
    if (len > p->o.max_line)
        return fail(p, -E2BIG, "line longer than %zu bytes", p->o.max_line);
    if (memchr(l, '\0', len))
        return fail(p, -EINVAL, "NUL byte in line");
    if (p->seen_eof) {
        if (len == 0)
            goto out;
        return fail(p, -EINVAL, "text after '# EOF'");
    }
    /* The scratch holds the line's strings unescaped plus a NUL per string. */
    if (p->scratch_cap < len + 2 * p->o.max_labels + 8) {
        size_t cap = len + 2 * p->o.max_labels + 8;
        char *n = realloc(p->scratch, cap);
        if (!n)
            return fail(p, -ENOMEM, "out of memory");
        p->scratch = n;
        p->scratch_cap = cap;
    }
    {
        size_t i = 0;
        while (i < len && (l[i] == ' ' || l[i] == '\t'))
            i++;
        if (i == len)
            r = 0;
        else if (l[i] == '#')
            r = parse_comment(p, l + i, len - i);
        else
            r = parse_sample(p, l + i, len - i);
    }
out:
    if (r == 0)
        p->line++;
    return r;
}

int
expo_parser_new(const struct expo_parse_opts *opts, struct expo_parser **ret)
{
    struct expo_parser *p = calloc(1, sizeof(*p));

    if (!p)
        return -ENOMEM;
    p->o = *opts;
    if (!p->o.max_line)
        p->o.max_line = EXPO_PARSE_LINE_MAX;
    if (!p->o.max_label_value)
        p->o.max_label_value = EXPO_PARSE_VALUE_MAX;
    if (!p->o.max_labels)
        p->o.max_labels = EXPO_PARSE_LABELS_MAX;
    p->fmt = p->o.format;
    buf_init(&p->partial, p->o.max_line + 1);
    p->name_off = calloc(p->o.max_labels, sizeof(size_t));
    p->val_off = calloc(p->o.max_labels, sizeof(size_t));
    p->labels = calloc(p->o.max_labels, sizeof(struct expo_label));
    if (!p->name_off || !p->val_off || !p->labels) {
        expo_parser_free(p);
        return -ENOMEM;
    }
    *ret = p;
    return 0;
}

struct expo_parser *
expo_parser_free(struct expo_parser *p)
{
    if (!p)
        return NULL;
    buf_free(&p->partial);
    free(p->scratch);
    free(p->name_off);
    free(p->val_off);
    free(p->labels);
    free(p);
    return NULL;
}

int
expo_parser_feed(struct expo_parser *p, const char *data, size_t n)
{
    const char *end = data + n;
    int r;

    if (p->err)
        return p->err;
    while (data < end) {
        const char *nl = memchr(data, '\n', (size_t)(end - data));
        if (!nl) {
            r = buf_append(&p->partial, data, (size_t)(end - data));
            if (r == -E2BIG || (r == 0 && p->partial.len > p->o.max_line + 1))
                return fail(p, -E2BIG, "line longer than %zu bytes", p->o.max_line);
            if (r < 0)
                return fail(p, r, "out of memory");
            return 0;
        }
        if (p->partial.len > 0) {
            r = buf_append(&p->partial, data, (size_t)(nl - data));
            if (r == -E2BIG)
                return fail(p, -E2BIG, "line longer than %zu bytes", p->o.max_line);
            if (r < 0)
                return fail(p, r, "out of memory");
            r = parse_line(p, p->partial.data, p->partial.len);
            buf_reset(&p->partial);
        } else {
            r = parse_line(p, data, (size_t)(nl - data));
        }
        if (r < 0)
            return r;
        data = nl + 1;
    }
    return 0;
}

int
expo_parser_finish(struct expo_parser *p)
{
    int r;

    if (p->err)
        return p->err;
    if (p->partial.len > 0) {
        r = parse_line(p, p->partial.data, p->partial.len);
        buf_reset(&p->partial);
        if (r < 0)
            return r;
    }
    if (p->fmt == EXPO_PARSE_OPENMETRICS && !p->seen_eof) {
        (void)fail(p, -EINVAL, "missing '# EOF' at the end of OpenMetrics text (truncated?)");
        return p->err;
    }
    return 0;
}

enum expo_parse_format
expo_parser_format(const struct expo_parser *p)
{
    return p->fmt;
}

unsigned long
expo_parser_errline(const struct expo_parser *p)
{
    return p->err ? p->errline : 0;
}

unsigned long
expo_parser_lines(const struct expo_parser *p)
{
    return p->line;
}

const char *
expo_parser_errmsg(const struct expo_parser *p)
{
    return p->err ? p->errmsg : "";
}

unsigned long
expo_parser_samples(const struct expo_parser *p)
{
    return p->samples;
}

int
expo_parse_buffer(const struct expo_parse_opts *opts, const char *data, size_t n, char *errbuf,
                  size_t errlen)
{
    struct expo_parser *p = NULL;
    int r;

    r = expo_parser_new(opts, &p);
    if (r < 0)
        return r;
    r = expo_parser_feed(p, data, n);
    if (r == 0)
        r = expo_parser_finish(p);
    if (r < 0 && errbuf && errlen)
        (void)snprintf(errbuf, errlen, "%lu: %s", p->errline, p->errmsg);
    expo_parser_free(p);
    return r;
}

/* Append a label value escaped as the writer does. */
static int
escape_value(struct buf *b, const char *v)
{
    const char *run = v;
    int r;

    for (const char *q = v;; q++) {
        const char *esc = NULL;
        if (*q == '\\')
            esc = "\\\\";
        else if (*q == '"')
            esc = "\\\"";
        else if (*q == '\n')
            esc = "\\n";
        else if (*q != '\0')
            continue;
        r = buf_append(b, run, (size_t)(q - run));
        if (r < 0)
            return r;
        if (!esc)
            return 0;
        r = buf_append(b, esc, 2);
        if (r < 0)
            return r;
        run = q + 1;
    }
}

int
expo_canonical_key(const char *name, const struct expo_label *labels, size_t n, struct buf *out)
{
    size_t stack_idx[32];
    _cleanup_free_ size_t *heap_idx = NULL;
    size_t *idx = stack_idx, m = 0;
    int r, first = 1;

    if (!expo_valid_metric_name(name, strlen(name)))
        return -EINVAL;
    if (n > ARRAY_SIZE(stack_idx)) {
        heap_idx = calloc(n, sizeof(size_t));
        if (!heap_idx)
            return -ENOMEM;
        idx = heap_idx;
    }
    /* Insertion sort of the non-empty labels by name: n is small. */
    for (size_t i = 0; i < n; i++) {
        size_t j;
        if (!labels[i].value || !labels[i].value[0])
            continue;
        if (!expo_valid_label_name(labels[i].name, strlen(labels[i].name)))
            return -EINVAL;
        for (j = m; j > 0 && strcmp(labels[idx[j - 1]].name, labels[i].name) > 0; j--)
            idx[j] = idx[j - 1];
        if (j > 0 && strcmp(labels[idx[j - 1]].name, labels[i].name) == 0)
            return -EINVAL;
        idx[j] = i;
        m++;
    }
    buf_reset(out);
    r = buf_puts(out, name);
    for (size_t i = 0; r == 0 && i < m; i++) {
        r = buf_putc(out, first ? '{' : ',');
        if (r == 0)
            r = buf_puts(out, labels[idx[i]].name);
        if (r == 0)
            r = buf_append(out, "=\"", 2);
        if (r == 0)
            r = escape_value(out, labels[idx[i]].value);
        if (r == 0)
            r = buf_putc(out, '"');
        first = 0;
    }
    if (r == 0 && !first)
        r = buf_putc(out, '}');
    return r;
}

int
expo_key_name(const char *key, char *out, size_t n)
{
    size_t len = strcspn(key, "{");

    if (len == 0 || !expo_valid_metric_name(key, len))
        return -EINVAL;
    if (len + 1 > n)
        return -E2BIG;
    memcpy(out, key, len);
    out[len] = '\0';
    return (int)len;
}

int
expo_series_parse(const char *text, struct expo_series *s)
{
    size_t len = strlen(text), nlab = 0, max_labels;
    struct cur c = {text, text + len};
    struct label_sink k = {0};
    const char *nm;
    size_t nmlen;
    char msg[160];
    int r;

    memset(s, 0, sizeof(*s));
    /* At most one label per 4 bytes ("a=\"\""). */
    max_labels = len / 4 + 1;
    buf_init(&s->store, SIZE_MAX / 4);
    r = buf_reserve(&s->store, len + 2 * max_labels + 8);
    if (r < 0)
        return r;
    k.scratch = s->store.data;
    k.max_labels = max_labels;
    k.max_value = SIZE_MAX;
    k.name_off = calloc(max_labels, sizeof(size_t));
    k.val_off = calloc(max_labels, sizeof(size_t));
    if (!k.name_off || !k.val_off) {
        r = -ENOMEM;
        goto out;
    }
    cur_blanks(&c);
    nm = c.p;
    while (c.p < c.end && is_name_char(*c.p))
        c.p++;
    nmlen = (size_t)(c.p - nm);
    if (nmlen > 0 && !is_name_start(nm[0])) {
        r = -EINVAL;
        goto out;
    }
    memcpy(k.scratch, nm, nmlen);
    k.scratch[nmlen] = '\0';
    k.used = nmlen + 1;
    cur_blanks(&c);
    if (c.p < c.end && *c.p == '{') {
        c.p++;
        r = parse_label_set(&c, &k, msg, sizeof(msg));
        if (r < 0)
            goto out;
        cur_blanks(&c);
    }
    if (c.p != c.end || (nmlen == 0 && k.n == 0)) {
        r = -EINVAL;
        goto out;
    }
    nlab = k.n;
    s->labels = calloc(nlab ? nlab : 1, sizeof(struct expo_label));
    if (!s->labels) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nlab; i++) {
        s->labels[i].name = k.scratch + k.name_off[i];
        s->labels[i].value = k.scratch + k.val_off[i];
    }
    s->name = k.scratch;
    s->n = nlab;
    s->store.len = k.used;
    r = 0;
out:
    free(k.name_off);
    free(k.val_off);
    if (r < 0)
        expo_series_done(s);
    return r;
}

void
expo_series_done(struct expo_series *s)
{
    free(s->labels);
    buf_free(&s->store);
    s->labels = NULL;
    s->name = NULL;
    s->n = 0;
}

int
expo_key_label(const char *key, const char *label, char *out, size_t n)
{
    struct expo_series s;
    int r;

    r = expo_series_parse(key, &s);
    if (r < 0)
        return r;
    r = -ENOENT;
    for (size_t i = 0; i < s.n; i++) {
        if (strcmp(s.labels[i].name, label) == 0) {
            size_t len = strlen(s.labels[i].value);
            if (len + 1 > n) {
                r = -E2BIG;
                break;
            }
            memcpy(out, s.labels[i].value, len + 1);
            r = (int)len;
            break;
        }
    }
    expo_series_done(&s);
    return r;
}
