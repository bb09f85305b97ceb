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
    FILE *f;          /* the file read, or NULL for text */
    const char *text; /* what is left of the text */
    int line;         /* lines handed to inih so far (inih counts the same way) */
    int read_errno;   /* a read error (EISDIR for a directory) */
    int rejected;     /* errno of the handler's first rejection */
    int rejected_line;
    char section[128];
    char key[128];
};

/*
 * Our own readers: Debian's inih is built without INI_HANDLER_LINENO and does not stop at
 * the first error, so the readers count the lines and stop once a line was rejected.
 */
static char *
read_file(char *str, int num, void *stream)
{
    struct conf_state *st = stream;

    if (st->rejected)
        return NULL;
    errno = 0;
    if (!fgets(str, num, st->f)) {
        if (ferror(st->f))
            st->read_errno = errno ? errno : EIO;
        return NULL;
    }
    st->line++;
    return str;
}

static char *
read_text(char *str, int num, void *stream)
{
    struct conf_state *st = stream;
    int n = 0;

    if (st->rejected || !*st->text || num < 2)
        return NULL;
    while (n < num - 1 && st->text[n]) {
        n++;
        if (st->text[n - 1] == '\n')
            break;
    }
    memcpy(str, st->text, (size_t)n);
    str[n] = '\0';
    st->text += n;
    st->line++;
    return str;
}

static int
ini_cb(void *user, const char *section, const char *name, const char *value)
{
    struct conf_state *st = user;
    int r;

    if (!name || st->rejected)
        return 1; /* a bare [section] line; or after the first rejection */
    r = st->handler(st->ctx, section, name, value, st->line);
    if (r < 0) {
        st->rejected = r;
        st->rejected_line = st->line;
        (void)snprintf(st->section, sizeof(st->section), "%s", section);
        (void)snprintf(st->key, sizeof(st->key), "%s", name);
        return 0; /* inih: 0 = error */
    }
    return 1;
}

/* r: ini_parse_stream()'s result, the first line in error. Returns the errno to return. */
static int
report(struct conf_state *st, const char *path, int r, char *err, size_t errlen)
{
    int rejected = st->rejected && st->rejected_line == r;

    if (err && errlen) {
        if (rejected && st->rejected == -ENOENT)
            (void)snprintf(err, errlen, "%s:%d: unknown key '%s' in [%s]", path, r, st->key,
                           st->section);
        else if (rejected)
            (void)snprintf(err, errlen, "%s:%d: bad value for '%s' in [%s]", path, r, st->key,
                           st->section);
        else
            (void)snprintf(err, errlen, "%s:%d: syntax error (a [section] without ']', or no '=')",
                           path, r);
    }
    return rejected ? st->rejected : -EINVAL;
}

int
conf_parse_file(const char *path, conf_handler_fn handler, void *ctx, char *err, size_t errlen)
{
    struct conf_state st = {.handler = handler, .ctx = ctx};
    int r;

    if (strcmp(path, "-") == 0)
        st.f = stdin;
    else
        st.f = fopen(path, "re");
    if (!st.f) {
        int e = errno;
        if (err && errlen)
            (void)snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    r = ini_parse_stream(read_file, &st, ini_cb, &st);
    if (st.f != stdin)
        (void)fclose(st.f);
    if (r == 0 && st.read_errno) {
        if (err && errlen)
            (void)snprintf(err, errlen, "%s: cannot read: %s", path, strerror(st.read_errno));
        return -st.read_errno;
    }
    if (r < 0) {
        if (err && errlen)
            (void)snprintf(err, errlen, "%s: cannot read", path);
        return r == -2 ? -ENOMEM : -EIO;
    }
    if (r > 0)
        return report(&st, path, r, err, errlen);
    return 0;
}

int
conf_parse_string(const char *text, conf_handler_fn handler, void *ctx, char *err, size_t errlen)
{
    struct conf_state st = {.handler = handler, .ctx = ctx, .text = text};
    int r;

    r = ini_parse_stream(read_text, &st, ini_cb, &st);
    if (r < 0) {
        if (err && errlen)
            (void)snprintf(err, errlen, "<string>: cannot parse");
        return r == -2 ? -ENOMEM : -EIO;
    }
    if (r > 0)
        return report(&st, "<string>", r, err, errlen);
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
    case 'w': mul = 7 * 86400; break;
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
