/* SPDX-License-Identifier: MIT */
#include "storecli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "parse.h"

/* n decimal digits at s. */
static int
digits(const char *s, size_t n, int *ret)
{
    int v = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t
days_from_civil(int y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int
month_days(int y, int m)
{
    static const int md[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 ? 28 + leap : md[m - 1];
}

int
storecli_time_parse(const char *s, int64_t *ret_ms)
{
    size_t n;
    int y, mo, d, hh = 0, mi = 0, ss = 0, ms = 0, off = 0;
    const char *p;

    if (!s || !*s)
        return -EINVAL;
    n = strlen(s);
    if (n > 40)
        return -EINVAL;
    if (!(n >= 10 && s[4] == '-' && s[7] == '-')) {
        double v;
        if (parse_double(s, &v) < 0 || !isfinite(v) || fabs(v) > 9.2e15)
            return -EINVAL;
        *ret_ms = (int64_t)llround(v * 1000.0);
        return 0;
    }
    if (digits(s, 4, &y) < 0 || digits(s + 5, 2, &mo) < 0 || digits(s + 8, 2, &d) < 0)
        return -EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
        return -EINVAL;
    p = s + 10;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        if (strlen(p) < 9 || p[3] != ':' || p[6] != ':' || digits(p + 1, 2, &hh) < 0 ||
            digits(p + 4, 2, &mi) < 0 || digits(p + 7, 2, &ss) < 0)
            return -EINVAL;
        if (hh > 23 || mi > 59 || ss > 60)
            return -EINVAL;
        p += 9;
        if (*p == '.') {
            int nd = 0;
            p++;
            while (*p >= '0' && *p <= '9') {
                if (nd < 3)
                    ms = ms * 10 + (*p - '0');
                nd++;
                p++;
            }
            if (nd == 0)
                return -EINVAL;
            for (; nd < 3; nd++)
                ms *= 10;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            if (strlen(p) != 6 || p[3] != ':' || digits(p + 1, 2, &oh) < 0 ||
                digits(p + 4, 2, &om) < 0 || oh > 23 || om > 59)
                return -EINVAL;
            off = (oh * 60 + om) * (*p == '+' ? 1 : -1);
            p += 6;
        } else {
            return -EINVAL;
        }
    }
    if (*p)
        return -EINVAL;
    *ret_ms =
        ((days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss) - off * 60) * 1000 + ms;
    return 0;
}

void
storecli_time_format(int64_t t_ms, char *out, size_t n)
{
    time_t secs = (time_t)(t_ms / 1000 - (t_ms % 1000 < 0));
    int ms = (int)(t_ms - (int64_t)secs * 1000);
    struct tm tm;

    if (!gmtime_r(&secs, &tm)) {
        (void)snprintf(out, n, "%" PRId64 "ms", t_ms);
        return;
    }
    if (ms)
        (void)snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    else
        (void)snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int
storecli_arg(const char *cmd, int c, const char *arg, struct storecli_args *a)
{
    switch (c) {
    case STORECLI_OPT_DB:
        a->db = arg;
        return 1;
    case STORECLI_OPT_DEVICE:
        a->device = arg;
        return 1;
    case STORECLI_OPT_AT:
        if (storecli_time_parse(arg, &a->at_ms) < 0) {
            log_warnx("%s: bad --at '%s' (UNIX seconds or RFC 3339, e.g. 2026-11-25T13:00:00Z)",
                      cmd, arg ? arg : "");
            return -EINVAL;
        }
        return 1;
    case STORECLI_OPT_JSON:
        a->json = true;
        return 1;
    default:
        return 0;
    }
}

int
storecli_open(const char *cmd, const char *spec, struct store **ret)
{
    char err[256] = "";
    int r = store_open_existing(spec, ret, err, sizeof(err));

    if (r < 0) {
        /* SQLite's messages start with the file's path already: do not say it twice. */
        const char *colon = strstr(err, ": ");
        size_t n = colon ? (size_t)(colon - err) : 0;

        if (n > 0 && memmem(spec, strlen(spec), err, n))
            log_warnx("%s: cannot open store %s", cmd, err);
        else
            log_warnx("%s: cannot open store %s: %s", cmd, spec, err[0] ? err : strerror(-r));
    }
    return r;
}
