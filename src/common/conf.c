/* SPDX-License-Identifier: MIT */
#include "conf.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

struct conf_state {
    conf_handler_fn handler;
    void *ctx;
    int rejected;  /* errno of the handler's rejection */
    int line;
    char section[128];
    char key[128];
};

/* Debian's inih is built without INI_HANDLER_LINENO: the line comes from ini_parse's result. */
static int
ini_cb(void *user, const char *section, const char *name, const char *value)
{
    struct conf_state *st = user;
    int r;

    if (!name)
        return 1; /* a bare [section] line */
    r = st->handler(st->ctx, section, name, value, 0);
    if (r < 0) {
        st->rejected = r;
        (void)snprintf(st->section, sizeof(st->section), "%s", section);
        (void)snprintf(st->key, sizeof(st->key), "%s", name);
        return 0; /* inih: 0 = error */
    }
    return 1;
}

static void
report(struct conf_state *st, const char *path, int r, char *err, size_t errlen)
{
    st->line = r;
    if (!err || errlen == 0)
        return;
    if (st->rejected == -ENOENT)
        (void)snprintf(err, errlen, "%s:%d: unknown key '%s' in [%s]", path, st->line, st->key,
                       st->section);
    else if (st->rejected)
        (void)snprintf(err, errlen, "%s:%d: bad value for '%s' in [%s]", path, st->line, st->key,
                       st->section);
    else
        (void)snprintf(err, errlen, "%s:%d: syntax error", path, r);
}

int
conf_parse_file(const char *path, conf_handler_fn handler, void *ctx, char *err, size_t errlen)
{
    struct conf_state st = {.handler = handler, .ctx = ctx};
    FILE *f;
    int r;

    if (strcmp(path, "-") == 0)
        f = stdin;
    else
        f = fopen(path, "re");
    if (!f) {
        int e = errno;
        if (err && errlen)
            (void)snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    r = ini_parse_file(f, ini_cb, &st);
    if (f != stdin)
        (void)fclose(f);
    if (r == -1) {
        if (err && errlen)
            (void)snprintf(err, errlen, "%s: cannot read", path);
        return -EIO;
    }
    if (r != 0) {
        report(&st, path, r, err, errlen);
        return st.rejected ? st.rejected : -EINVAL;
    }
    return 0;
}

int
conf_parse_string(const char *text, conf_handler_fn handler, void *ctx, char *err, size_t errlen)
{
    struct conf_state st = {.handler = handler, .ctx = ctx};
    int r;

    r = ini_parse_string(text, ini_cb, &st);
    if (r != 0) {
        report(&st, "<string>", r, err, errlen);
        return st.rejected ? st.rejected : -EINVAL;
    }
    return 0;
}

int
conf_bool(const char *v, int *ret)
{
    static const char *const yes[] = {"1", "yes", "true", "on"};
    static const char *const no[] = {"0", "no", "false", "off"};

    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *ret = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *ret = 0;
            return 0;
        }
    }
    return -EINVAL;
}

int
conf_uint(const char *v, uint64_t *ret)
{
    return parse_u64(v, ret);
}

/* Split "12.5h" into the number and a one-letter suffix. */
static int
split_suffix(const char *v, double *num, char *suffix)
{
    char tmp[64];
    size_t n = strlen(v);

    if (n == 0 || n >= sizeof(tmp))
        return -EINVAL;
    memcpy(tmp, v, n + 1);
    *suffix = '\0';
    if ((tmp[n - 1] >= 'a' && tmp[n - 1] <= 'z') || (tmp[n - 1] >= 'A' && tmp[n - 1] <= 'Z')) {
        *suffix = tmp[n - 1];
        tmp[n - 1] = '\0';
    }
    if (parse_double(tmp, num) < 0 || !isfinite(*num) || *num < 0)
        return -EINVAL;
    return 0;
}

int
conf_duration(const char *v, double *ret)
{
    double x, mul;
    char s;

    if (split_suffix(v, &x, &s) < 0)
        return -EINVAL;
    switch (s) {
    case '\0':
    case 's': mul = 1; break;
    case 'm': mul = 60; break;
    case 'h': mul = 3600; break;
    case 'd': mul = 86400; break;
    default: return -EINVAL;
    }
    *ret = x * mul;
    return 0;
}

int
conf_size(const char *v, uint64_t *ret)
{
    double x, mul;
    char s;

    if (split_suffix(v, &x, &s) < 0)
        return -EINVAL;
    switch (s) {
    case '\0':
    case 'b':
    case 'B': mul = 1; break;
    case 'k':
    case 'K': mul = 1024.0; break;
    case 'm':
    case 'M': mul = 1024.0 * 1024; break;
    case 'g':
    case 'G': mul = 1024.0 * 1024 * 1024; break;
    default: return -EINVAL;
    }
    if (x * mul > 1.8e19)
        return -ERANGE;
    *ret = (uint64_t)(x * mul);
    return 0;
}
