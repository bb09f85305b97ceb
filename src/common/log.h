/* SPDX-License-Identifier: MIT */
/*
 * log.h - logging for programs (not for library code, which returns errors).
 *
 * log_warn() appends strerror(errno); log_warnx() does not (OpenBSD style).
 * Messages go to stderr with the program name; log_set_level() filters.
 */
#ifndef SOAK_LOG_H
#define SOAK_LOG_H

#include "macro.h"

enum log_level {
    LOG_LVL_ERROR = 0,
    LOG_LVL_WARN = 1,
    LOG_LVL_INFO = 2,
    LOG_LVL_DEBUG = 3,
};

/* Name printed before each message (default "soak"). The string is not copied. */
void log_init(const char *progname, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_warn(const char *fmt, ...) _printf_(1, 2);
void log_warnx(const char *fmt, ...) _printf_(1, 2);
void log_info(const char *fmt, ...) _printf_(1, 2);
void log_debug(const char *fmt, ...) _printf_(1, 2);
/* Log with an explicit errno value (positive or negative). */
void log_errno(int err, const char *fmt, ...) _printf_(2, 3);

/* Print and exit(code); allowed only during start-up. */
_noreturn_ void fatal(int code, const char *fmt, ...) _printf_(2, 3);
_noreturn_ void fatalx(int code, const char *fmt, ...) _printf_(2, 3);

/*
 * complain: rate-limit a repeating message. A struct complaint remembers when it
 * last spoke; complain() logs at most once per interval (doubling up to an hour)
 * and complain_release() logs the recovery once.
 */
struct complaint {
    double last;     /* monotonic seconds of the last message, 0 = never */
    double interval; /* current quiet interval */
    unsigned suppressed;
};

void complain(struct complaint *c, double now, const char *fmt, ...) _printf_(3, 4);
void complain_release(struct complaint *c, const char *fmt, ...) _printf_(2, 3);

#endif
