/* SPDX-License-Identifier: MIT */
/*
 * web-query.c - parsing what a request carries: the path (routing), time
 * ranges, names, the access token and cookies. Everything here is pure and
 * bounded, so it is unit-tested and fuzzable on its own.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "parse.h"
#include "web-internal.h"

/* n digits at s as an unsigned number; -EINVAL unless all are digits. */
static int
digits(const char *s, size_t n, unsigned *ret)
{
    uint64_t v;

    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
    if (parse_u64_n(s, n, &v) < 0 || v > 99999)
        return -EINVAL;
    *ret = (unsigned)v;
    return 0;
}

int
web_time_parse(const char *s, int64_t *ret_ms)
{
    size_t n;

    if (!s || !*s)
        return -EINVAL;
    n = strlen(s);
    if (n > 32)
        return -EINVAL;
    if (n >= 10 && s[4] == '-' && s[7] == '-') {
        unsigned y, mo, d, hh = 0, mi = 0, ss = 0;
        struct tm tm = {0};

        if (digits(s, 4, &y) < 0 || digits(s + 5, 2, &mo) < 0 || digits(s + 8, 2, &d) < 0)
            return -EINVAL;
        const char *p = s + 10;
        if (*p == 'T' || *p == ' ') {
            if (strlen(p) < 6 || p[3] != ':' || digits(p + 1, 2, &hh) < 0 ||
                digits(p + 4, 2, &mi) < 0)
                return -EINVAL;
            p += 6;
            if (*p == ':') {
                if (strlen(p) < 3 || digits(p + 1, 2, &ss) < 0)
                    return -EINVAL;
                p += 3;
            }
        }
        if (*p == 'Z')
            p++;
        if (*p)
            return -EINVAL;
        if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mi > 59 ||
            ss > 60)
            return -EINVAL;
        tm.tm_year = (int)y - 1900;
        tm.tm_mon = (int)mo - 1;
        tm.tm_mday = (int)d;
        tm.tm_hour = (int)hh;
        tm.tm_min = (int)mi;
        tm.tm_sec = (int)ss;
        time_t t = timegm(&tm);
        if (t == (time_t)-1)
            return -EINVAL;
        *ret_ms = (int64_t)t * 1000;
        return 0;
    }

    double v;
    if (parse_double(s, &v) < 0 || !isfinite(v) || v < 0 || v > 253402300799.0)
        return -EINVAL;
    *ret_ms = (int64_t)llround(v * 1000.0);
    return 0;
}

int
web_duration_parse(const char *s, int64_t *ret_ms)
{
    uint64_t v;
    size_t n;
    int64_t mul;

    if (!s)
        return -EINVAL;
    n = strlen(s);
    if (n < 2 || n > 8)
        return -EINVAL;
    switch (s[n - 1]) {
    case 's':
        mul = 1000;
        break;
    case 'm':
        mul = 60 * 1000;
        break;
    case 'h':
        mul = 3600 * 1000;
        break;
    case 'd':
        mul = 86400 * 1000;
        break;
    case 'w':
        mul = 7 * 86400 * 1000;
        break;
    default:
        return -EINVAL;
    }
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
    if (parse_u64_n(s, n - 1, &v) < 0 || v == 0 || (double)v * (double)mul > WEB_RANGE_MAX_S * 1000)
        return -EINVAL;
    *ret_ms = (int64_t)v * mul;
    return 0;
}

int
web_range_parse(const char *range, const char *from, const char *to, int64_t anchor_ms,
                struct web_range *ret, char *err, size_t errlen)
{
    int64_t span = 0, f = 0, t = anchor_ms;
    struct web_range r = {0};

    if (range && *range) {
        if (web_duration_parse(range, &span) < 0) {
            (void)snprintf(err, errlen,
                           "bad range '%.40s': use a number and a unit s, m, h, d or w "
                           "(6h, 1d, 7d, 30d), at most 400 days",
                           range);
            return -EINVAL;
        }
        (void)snprintf(r.range, sizeof(r.range), "%s", range);
    }
    if (from && *from && web_time_parse(from, &f) < 0) {
        (void)snprintf(err, errlen,
                       "bad from '%.40s': use unix seconds or YYYY-MM-DD[THH:MM[:SS]][Z] (UTC)",
                       from);
        return -EINVAL;
    }
    if (to && *to) {
        if (web_time_parse(to, &t) < 0) {
            (void)snprintf(err, errlen,
                           "bad to '%.40s': use unix seconds or YYYY-MM-DD[THH:MM[:SS]][Z] (UTC)",
                           to);
            return -EINVAL;
        }
        r.explicit_to = true;
    }
    if (span == 0 && !(from && *from && to && *to))
        span = 7 * 86400 * 1000LL; /* WEB_DEFAULT_RANGE */

    if (from && *from && to && *to) {
        r.from_ms = f;
        r.to_ms = t;
        r.range[0] = '\0';
    } else if (from && *from) {
        r.from_ms = f;
        r.to_ms = f + span;
        r.explicit_to = true;
    } else {
        r.to_ms = t;
        r.from_ms = t - span;
    }
    if (r.from_ms >= r.to_ms) {
        (void)snprintf(err, errlen, "from must be before to");
        return -EINVAL;
    }
    if ((double)(r.to_ms - r.from_ms) > WEB_RANGE_MAX_S * 1000) {
        (void)snprintf(err, errlen, "range longer than 400 days");
        return -EINVAL;
    }
    *ret = r;
    return 0;
}

bool
web_name_valid(const char *s)
{
    size_t n;

    if (!s)
        return false;
    n = strlen(s);
    if (n == 0 || n > WEB_NAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/')
            return false;
    return true;
}

bool
web_metric_valid(const char *s)
{
    size_t n;

    if (!s)
        return false;
    n = strlen(s);
    if (n == 0 || n > 200)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

/* Copy the segment [s, e) into out when it is a valid name. */
static bool
take_name(const char *s, size_t len, char *out, size_t outlen)
{
    if (len == 0 || len >= outlen)
        return false;
    memcpy(out, s, len);
    out[len] = '\0';
    return web_name_valid(out);
}

static void
route_api(const char *p, struct web_route *r)
{
    r->kind = ROUTE_API_NOT_FOUND;
    if (strcmp(p, "devices") == 0 || strcmp(p, "devices/") == 0) {
        r->kind = ROUTE_API_DEVICES;
    } else if (strcmp(p, "alerts") == 0) {
        r->kind = ROUTE_API_ALERTS;
    } else if (strcmp(p, "builds") == 0 || strcmp(p, "builds/") == 0) {
        r->kind = ROUTE_API_BUILDS;
    } else if (strncmp(p, "devices/", 8) == 0) {
        const char *n = p + 8;
        const char *slash = strchr(n, '/');
        size_t len = slash ? (size_t)(slash - n) : strlen(n);

        if (!take_name(n, len, r->name, sizeof(r->name)))
            return;
        if (!slash)
            r->kind = ROUTE_API_DEVICE;
        else if (strcmp(slash, "/series") == 0)
            r->kind = ROUTE_API_SERIES;
        else if (strcmp(slash, "/events") == 0)
            r->kind = ROUTE_API_EVENTS;
        else if (strcmp(slash, "/leak") == 0)
            r->kind = ROUTE_API_LEAK;
    } else if (strncmp(p, "builds/", 7) == 0) {
        const char *n = p + 7;
        size_t len = strlen(n);

        if (len > 8 && strcmp(n + len - 8, "/verdict") == 0 &&
            take_name(n, len - 8, r->name, sizeof(r->name)))
            r->kind = ROUTE_API_VERDICT;
    }
}

void
web_route(const char *path, struct web_route *r)
{
    *r = (struct web_route){.kind = ROUTE_NOT_FOUND};
    if (!path)
        return;
    if (strcmp(path, "/") == 0) {
        r->kind = ROUTE_FARM;
    } else if (strcmp(path, "/style.css") == 0) {
        r->kind = ROUTE_STYLE;
    } else if (strcmp(path, "/builds") == 0 || strcmp(path, "/builds/") == 0) {
        r->kind = ROUTE_BUILDS;
    } else if (strncmp(path, "/api/v1/", 8) == 0) {
        route_api(path + 8, r);
    } else if (strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0) {
        r->kind = ROUTE_API_NOT_FOUND;
    } else if (strncmp(path, "/device/", 8) == 0) {
        const char *n = path + 8;
        const char *slash = strchr(n, '/');
        size_t len = slash ? (size_t)(slash - n) : strlen(n);

        if (!take_name(n, len, r->name, sizeof(r->name)))
            return;
        if (!slash || strcmp(slash, "/") == 0) {
            r->kind = ROUTE_DEVICE;
            return;
        }
        if (strncmp(slash, "/plot/", 6) != 0)
            return;
        const char *f = slash + 6;
        const char *dot = strrchr(f, '.');
        if (!dot || strchr(f, '/'))
            return;
        size_t plen = (size_t)(dot - f);
        static const char *const panels[] = {"memory", "slab", "sensors", "latency"};
        for (size_t i = 0; i < ARRAY_SIZE(panels); i++)
            if (plen == strlen(panels[i]) && strncmp(f, panels[i], plen) == 0 &&
                (strcmp(dot, ".svg") == 0 || strcmp(dot, ".png") == 0)) {
                (void)snprintf(r->panel, sizeof(r->panel), "%s", panels[i]);
                (void)snprintf(r->ext, sizeof(r->ext), "%s", dot + 1);
                r->kind = ROUTE_PLOT;
            }
    } else if (strncmp(path, "/build/", 7) == 0) {
        const char *n = path + 7;
        size_t len = strlen(n);

        if (len > 0 && n[len - 1] == '/')
            len--;
        if (take_name(n, len, r->name, sizeof(r->name)))
            r->kind = ROUTE_BUILD;
    }
}

bool
web_token_equal(const char *given, const char *want)
{
    size_t gl, wl;
    unsigned char diff;

    if (!given || !want)
        return false;
    gl = strlen(given);
    wl = strlen(want);
    diff = gl != wl;
    for (size_t i = 0; i < wl; i++)
        diff |= (unsigned char)(want[i] ^ (i < gl ? given[i] : 0));
    return diff == 0;
}

bool
web_cookie_get(const char *h, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);

    if (!h || outlen == 0)
        return false;
    for (const char *p = h; *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *e = strchr(p, ';');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t vl = len - nl - 1;
            if (vl >= outlen)
                return false;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return true;
        }
        p += len;
    }
    return false;
}
