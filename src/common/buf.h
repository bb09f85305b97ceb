/* SPDX-License-Identifier: MIT */
/*
 * buf.h - growable byte buffer with a hard cap (after curl's dynbuf).
 *
 * A buffer never grows past the max given to buf_init(); an append that
 * would pass it fails with -E2BIG and leaves the contents unchanged.
 * The data is always NUL-terminated when len > 0.
 */
#ifndef SOAK_BUF_H
#define SOAK_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "macro.h"

struct buf {
    char *data;  /* owned; NULL until the first append */
    size_t len;  /* bytes in use, excluding the NUL */
    size_t cap;  /* bytes allocated */
    size_t max;  /* hard cap on len */
};

/* Set up an empty buffer that may hold at most max bytes. Allocates nothing. */
void buf_init(struct buf *b, size_t max);

/* Allocate cap bytes now, so later appends up to cap do not allocate. 0 or -ENOMEM. */
_warn_unused_result_ int buf_reserve(struct buf *b, size_t cap);

/* Append n bytes. 0, -E2BIG past the cap, -ENOMEM. */
_warn_unused_result_ int buf_append(struct buf *b, const void *p, size_t n);

/* Append a NUL-terminated string. Same returns as buf_append(). */
_warn_unused_result_ int buf_puts(struct buf *b, const char *s);

/* Append one character. Same returns as buf_append(). */
_warn_unused_result_ int buf_putc(struct buf *b, char c);

/* Append formatted text (C locale is the caller's business). Same returns. */
_warn_unused_result_ int buf_printf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
_warn_unused_result_ int buf_vprintf(struct buf *b, const char *fmt, va_list ap);

/* Forget the contents but keep the allocation. */
void buf_reset(struct buf *b);

/* Shorten to len bytes (no-op when len >= b->len). */
void buf_truncate(struct buf *b, size_t len);

/* Hand the data to the caller (who frees it) and reset the buffer. May return NULL. */
char *buf_take(struct buf *b);

/* Free the data; the buffer can be reused after buf_init(). */
void buf_free(struct buf *b);

/* Contents as a C string ("" when empty). Valid until the next append. */
const char *buf_str(const struct buf *b);

/*
 * Concatenate the NUL-terminated strings given (ending with NULL) into out (size
 * bytes): a cheap snprintf("%s%s%s") for hot paths. Returns the length, or -E2BIG
 * when it does not fit (out then holds as much as fits).
 */
int str_concat(char *out, size_t size, ...);

#endif
