/* SPDX-License-Identifier: MIT */
#include "parse.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int
is_end(char c)
{
    return c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

const char *
skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

int
parse_u64_field(const char **pp, uint64_t *ret)
{
    const char *p = skip_blanks(*pp);
    uint64_t v = 0;

    if (*p < '0' || *p > '9')
        return -EINVAL;
    while (*p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
        p++;
    }
    if (!is_end(*p))
        return -EINVAL;
    *ret = v;
    *pp = p;
    return 0;
}

int
parse_i64_field(const char **pp, int64_t *ret)
{
    const char *p = skip_blanks(*pp);
    int neg = 0;
    uint64_t v;
    int r;

    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
        if (*p < '0' || *p > '9')
            return -EINVAL;
    }
    r = parse_u64_field(&p, &v);
    if (r < 0)
        return r;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return -ERANGE;
        *ret = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return -ERANGE;
        *ret = (int64_t)v;
    }
    *pp = p;
    return 0;
}

/* strtod in the C locale, whatever the process locale is. */
static double
strtod_c(const char *s, char **end)
{
    static locale_t cloc; /* created once, never freed: process lifetime */

    if (!cloc)
        cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!cloc)
        return strtod(s, end);
    return strtod_l(s, end, cloc);
}

int
parse_double_field(const char **pp, double *ret)
{
    const char *p = skip_blanks(*pp);
    const char *q = p;
    char tmp[64];
    size_t n;
    char *end;
    double v;

    while (!is_end(*q))
        q++;
    n = (size_t)(q - p);
    if (n == 0 || n >= sizeof(tmp))
        return -EINVAL;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    /* Prometheus spellings first; strtod also takes "nan(...)" and hex, which we refuse. */
    if (strcasecmp(tmp, "nan") == 0)
        v = NAN;
    else if (strcasecmp(tmp, "+inf") == 0 || strcasecmp(tmp, "inf") == 0)
        v = INFINITY;
    else if (strcasecmp(tmp, "-inf") == 0)
        v = -INFINITY;
    else {
        for (size_t i = 0; i < n; i++) {
            char c = tmp[i];
            if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' ||
                  c == '-'))
                return -EINVAL;
        }
        errno = 0;
        v = strtod_c(tmp, &end);
        if (end != tmp + n)
            return -EINVAL;
        if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL))
            return -ERANGE;
    }
    *ret = v;
    *pp = q;
    return 0;
}

int
parse_u64(const char *s, uint64_t *ret)
{
    const char *p = s;
    uint64_t v;
    int r;

    if (*p == ' ' || *p == '\t')
        return -EINVAL;
    r = parse_u64_field(&p, &v);
    if (r < 0)
        return r;
    if (*p == '\n')
        p++;
    if (*p)
        return -EINVAL;
    *ret = v;
    return 0;
}

int
parse_i64(const char *s, int64_t *ret)
{
    const char *p = s;
    int64_t v;
    int r;

    if (*p == ' ' || *p == '\t')
        return -EINVAL;
    r = parse_i64_field(&p, &v);
    if (r < 0)
        return r;
    if (*p == '\n')
        p++;
    if (*p)
        return -EINVAL;
    *ret = v;
    return 0;
}

int
parse_double(const char *s, double *ret)
{
    const char *p = s;
    double v;
    int r;

    if (*p == ' ' || *p == '\t')
        return -EINVAL;
    r = parse_double_field(&p, &v);
    if (r < 0)
        return r;
    if (*p == '\n')
        p++;
    if (*p)
        return -EINVAL;
    *ret = v;
    return 0;
}

int
parse_u64_n(const char *s, size_t n, uint64_t *ret)
{
    char tmp[32];

    if (n == 0 || n >= sizeof(tmp))
        return -EINVAL;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return parse_u64(tmp, ret);
}

int
parse_double_n(const char *s, size_t n, double *ret)
{
    char tmp[64];

    if (n == 0 || n >= sizeof(tmp))
        return -EINVAL;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return parse_double(tmp, ret);
}

void
format_double(char out[32], double v)
{
    if (isnan(v)) {
        memcpy(out, "NaN", 4);
        return;
    }
    if (isinf(v)) {
        memcpy(out, v > 0 ? "+Inf" : "-Inf", 5);
        return;
    }
    /* Integers print exactly (by hand: this is the hot path of every scrape). */
    if (fabs(v) < 9.007199254740992e15 && v == (double)(int64_t)v) {
        char tmp[24];
        int64_t i = (int64_t)v;
        uint64_t u = i < 0 ? (uint64_t)(-i) : (uint64_t)i;
        size_t n = 0, k = 0;

        do {
            tmp[n++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (i < 0)
            out[k++] = '-';
        while (n)
            out[k++] = tmp[--n];
        out[k] = '\0';
        return;
    }
    /* Others: the shortest of %.15g / %.16g / %.17g that reads back exactly. */
    for (int prec = 15; prec <= 17; prec++) {
        char *end;
        (void)snprintf(out, 32, "%.*g", prec, v);
        if (prec == 17 || strtod_c(out, &end) == v)
            return;
    }
}
