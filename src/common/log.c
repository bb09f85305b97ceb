/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *log_prog = "soak";
static enum log_level log_lvl = LOG_LVL_INFO;

void
log_init(const char *progname, enum log_level level)
{
    log_prog = progname;
    log_lvl = level;
}

void
log_set_level(enum log_level level)
{
    log_lvl = level;
}

enum log_level
log_get_level(void)
{
    return log_lvl;
}

static void
log_v(enum log_level lvl, int err, const char *fmt, va_list ap)
{
    if (lvl > log_lvl)
        return;
    (void)fprintf(stderr, "%s: ", log_prog);
    (void)vfprintf(stderr, fmt, ap);
    if (err)
        (void)fprintf(stderr, ": %s", strerror(err < 0 ? -err : err));
    (void)fputc('\n', stderr);
}

void
log_warn(const char *fmt, ...)
{
    va_list ap;
    int e = errno;

    va_start(ap, fmt);
    log_v(LOG_LVL_WARN, e, fmt, ap);
    va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_v(LOG_LVL_WARN, 0, fmt, ap);
    va_end(ap);
}

void
log_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_v(LOG_LVL_INFO, 0, fmt, ap);
    va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_v(LOG_LVL_DEBUG, 0, fmt, ap);
    va_end(ap);
}

void
log_errno(int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_v(LOG_LVL_WARN, err, fmt, ap);
    va_end(ap);
}

void
fatal(int code, const char *fmt, ...)
{
    va_list ap;
    int e = errno;

    va_start(ap, fmt);
    log_v(LOG_LVL_ERROR, e, fmt, ap);
    va_end(ap);
    exit(code);
}

void
fatalx(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_v(LOG_LVL_ERROR, 0, fmt, ap);
    va_end(ap);
    exit(code);
}

#define COMPLAIN_FIRST 60.0   /* seconds of quiet after the first message */
#define COMPLAIN_MAX 3600.0   /* longest quiet interval, seconds */

void
complain(struct complaint *c, double now, const char *fmt, ...)
{
    va_list ap;

    if (c->last != 0 && now - c->last < c->interval) {
        c->suppressed++;
        return;
    }
    c->interval = c->last == 0 ? COMPLAIN_FIRST : MIN(c->interval * 2, COMPLAIN_MAX);
    c->last = now;
    va_start(ap, fmt);
    log_v(LOG_LVL_WARN, 0, fmt, ap);
    va_end(ap);
    if (c->suppressed) {
        log_warnx("(%u similar messages suppressed)", c->suppressed);
        c->suppressed = 0;
    }
}

void
complain_release(struct complaint *c, const char *fmt, ...)
{
    va_list ap;

    if (c->last == 0)
        return;
    c->last = 0;
    c->interval = 0;
    c->suppressed = 0;
    va_start(ap, fmt);
    log_v(LOG_LVL_INFO, 0, fmt, ap);
    va_end(ap);
}
