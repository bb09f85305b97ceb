/* SPDX-License-Identifier: MIT */
#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

int
buf_reserve(struct buf *b, size_t cap)
{
    char *p;

    if (cap > b->max + 1)
        cap = b->max + 1;
    if (cap <= b->cap)
        return 0;
    p = realloc(b->data, cap);
    if (!p)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

static int
buf_grow(struct buf *b, size_t extra)
{
    size_t need, cap;

    if (extra > b->max || b->len > b->max - extra)
        return -E2BIG;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    return buf_reserve(b, cap);
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
    int r;

    r = buf_grow(b, n);
    if (r < 0)
        return r;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int
buf_putc(struct buf *b, char c)
{
    if (b->len + 1 < b->cap && b->len < b->max) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return 0;
    }
    return buf_append(b, &c, 1);
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list aq;
    int n, r;

    /* Common case: it fits in the spare room, one formatting pass. */
    if (b->data && b->cap > b->len + 1) {
        size_t room = b->cap - b->len;
        va_copy(aq, ap);
        n = vsnprintf(b->data + b->len, room, fmt, aq);
        va_end(aq);
        if (n < 0) {
            b->data[b->len] = '\0';
            return -EINVAL;
        }
        if ((size_t)n < room && (size_t)n <= b->max - b->len) {
            b->len += (size_t)n;
            return 0;
        }
        b->data[b->len] = '\0';
    } else {
        va_copy(aq, ap);
        n = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (n < 0)
            return -EINVAL;
    }
    r = buf_grow(b, (size_t)n);
    if (r < 0)
        return r;
    (void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void
buf_truncate(struct buf *b, size_t len)
{
    if (len >= b->len)
        return;
    b->len = len;
    b->data[len] = '\0';
}

char *
buf_take(struct buf *b)
{
    char *p = b->data;

    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

void
buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

const char *
buf_str(const struct buf *b)
{
    return b->data ? b->data : "";
}

int
str_concat(char *out, size_t size, ...)
{
    va_list ap;
    const char *part;
    size_t len = 0;
    int r = 0;

    if (size == 0)
        return -E2BIG;
    va_start(ap, size);
    while ((part = va_arg(ap, const char *)) != NULL) {
        size_t n = strlen(part);
        if (n >= size - len) {
            n = size - 1 - len;
            r = -E2BIG;
        }
        memcpy(out + len, part, n);
        len += n;
        if (r < 0)
            break;
    }
    va_end(ap);
    out[len] = '\0';
    return r < 0 ? r : (int)len;
}
