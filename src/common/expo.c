/* SPDX-License-Identifier: MIT */
#include "expo.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"

static const char *const type_names[_METRIC_TYPE_MAX] = {
    [METRIC_GAUGE] = "gauge",
    [METRIC_COUNTER] = "counter",
    [METRIC_UNTYPED] = "untyped",
};

const char *
metric_type_name(enum metric_type t)
{
    if ((unsigned)t >= _METRIC_TYPE_MAX)
        return "untyped";
    return type_names[t];
}

void
expo_writer_init(struct expo_writer *w, struct buf *out, enum expo_format format)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
    w->format = format;
    w->type = METRIC_UNTYPED;
}

void
expo_writer_observe(struct expo_writer *w, expo_observer_fn fn, void *ctx)
{
    w->observer = fn;
    w->observer_ctx = ctx;
}

int
expo_error(const struct expo_writer *w)
{
    return w->err;
}

static int
set_err(struct expo_writer *w, int r)
{
    if (r < 0 && w->err == 0)
        w->err = r;
    return w->err;
}

int
expo_sanitize_name(char *dst, size_t size, const char *src)
{
    size_t n = 0;
    int pending = 0;

    if (size == 0)
        return -EINVAL;
    for (const char *p = src; *p && n + 1 < size; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                 (n > 0 && c >= '0' && c <= '9');
        if (ok) {
            if (pending && n + 2 < size && dst[n - 1] != '_')
                dst[n++] = '_';
            pending = 0;
            dst[n++] = c;
        } else if (n > 0) {
            pending = 1;
        } else if (c >= '0' && c <= '9') {
            dst[n++] = '_';
            if (n + 1 < size)
                dst[n++] = c;
        }
    }
    dst[n] = '\0';
    return n ? (int)n : -EINVAL;
}

int
expo_escape_label(struct buf *b, const char *src, size_t max)
{
    size_t n = strlen(src);
    int r;

    if (n > max) {
        n = max;
        /* Do not cut a UTF-8 sequence in half. */
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '\\')
            r = buf_append(b, "\\\\", 2);
        else if (c == '"')
            r = buf_append(b, "\\\"", 2);
        else if (c == '\n')
            r = buf_append(b, "\\n", 2);
        else if (c < 0x20 || c == 0x7f)
            r = buf_putc(b, '?');
        else
            r = buf_putc(b, (char)c);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Append the pieces of a NULL-terminated list. */
static int
put_all(struct buf *b, const char *const *parts)
{
    int r = 0;

    for (; r == 0 && *parts; parts++)
        r = buf_puts(b, *parts);
    return r;
}

/* HELP text escapes only backslash and newline; copy the runs between them whole. */
static int
put_help(struct buf *b, const char *help)
{
    const char *p = help;
    int r = 0;

    while (r == 0 && *p) {
        size_t run = strcspn(p, "\\\n");
        if (run)
            r = buf_append(b, p, run);
        p += run;
        if (r == 0 && *p) {
            r = buf_append(b, *p == '\\' ? "\\\\" : "\\n", 2);
            p++;
        }
    }
    return r;
}

int
expo_family(struct expo_writer *w, const char *name, enum metric_type type, const char *help)
{
    size_t n = strlen(name);
    const char *tn;
    int r = 0;

    if (w->err)
        return w->err;
    if (n == 0 || n > EXPO_NAME_MAX)
        return set_err(w, -EINVAL);
    memcpy(w->family, name, n + 1);
    w->type = type;
    if (!w->out)
        return 0;
    if (help) {
        const char *const parts[] = {"# HELP ", name, " ", NULL};
        r = put_all(w->out, parts);
        if (r == 0)
            r = put_help(w->out, help);
        if (r == 0)
            r = buf_putc(w->out, '\n');
    }
    tn = metric_type_name(type);
    if (w->format == EXPO_OPENMETRICS && type == METRIC_UNTYPED)
        tn = "unknown";
    if (r == 0) {
        const char *const parts[] = {"# TYPE ", name, " ", tn, "\n", NULL};
        r = put_all(w->out, parts);
    }
    return set_err(w, r);
}

/* Render name{labels} into w->key. */
static int
render_key(struct expo_writer *w, const char *name, const struct expo_label *labels,
           size_t nlabels)
{
    struct buf k;
    int r, first = 1;

    buf_init(&k, sizeof(w->key) - 1);
    k.data = w->key;
    k.cap = sizeof(w->key);
    r = buf_puts(&k, name);
    for (size_t i = 0; r == 0 && i < nlabels; i++) {
        if (!labels[i].value)
            continue;
        {
            const char *const parts[] = {first ? "{" : ",", labels[i].name, "=\"", NULL};
            r = put_all(&k, parts);
        }
        if (r == 0)
            r = expo_escape_label(&k, labels[i].value, EXPO_LABEL_VALUE_MAX);
        if (r == 0)
            r = buf_putc(&k, '"');
        first = 0;
    }
    if (r == 0 && !first)
        r = buf_putc(&k, '}');
    /* k.data aliases w->key: nothing to free. */
    return r;
}

int
expo_sample_key(struct expo_writer *w, const char *key, double value, int64_t ts_ms, int with_ts)
{
    char num[32];
    int r = 0;

    if (w->err)
        return w->err;
    if (w->observer) {
        r = w->observer(w->observer_ctx, w->family, w->type, key, value);
        if (r < 0)
            return set_err(w, r);
    }
    w->samples++;
    if (!w->out)
        return 0;
    format_double(num, value);
    if (!with_ts) {
        const char *const parts[] = {key, " ", num, "\n", NULL};
        r = put_all(w->out, parts);
    } else if (w->format == EXPO_OPENMETRICS)
        r = buf_printf(w->out, "%s %s %" PRId64 ".%03d\n", key, num, ts_ms / 1000,
                       (int)(ts_ms % 1000 + (ts_ms % 1000 < 0 ? 1000 : 0)));
    else
        r = buf_printf(w->out, "%s %s %" PRId64 "\n", key, num, ts_ms);
    return set_err(w, r);
}

static int
sample(struct expo_writer *w, const char *name, const struct expo_label *labels, size_t nlabels,
       double value, int64_t ts_ms, int with_ts)
{
    int r;

    if (w->err)
        return w->err;
    r = render_key(w, name, labels, nlabels);
    if (r < 0)
        return set_err(w, r);
    return expo_sample_key(w, w->key, value, ts_ms, with_ts);
}

int
expo_sample(struct expo_writer *w, const char *name, const struct expo_label *labels,
            size_t nlabels, double value)
{
    return sample(w, name, labels, nlabels, value, 0, 0);
}

int
expo_sample_ts(struct expo_writer *w, const char *name, const struct expo_label *labels,
               size_t nlabels, double value, int64_t ts_ms)
{
    return sample(w, name, labels, nlabels, value, ts_ms, 1);
}

int
expo_single(struct expo_writer *w, const char *name, enum metric_type type, const char *help,
            double value)
{
    int r = expo_family(w, name, type, help);

    if (r < 0)
        return r;
    return expo_sample(w, name, NULL, 0, value);
}

int
expo_finish(struct expo_writer *w)
{
    if (w->err || !w->out || w->format != EXPO_OPENMETRICS)
        return w->err;
    return set_err(w, buf_puts(w->out, "# EOF\n"));
}
