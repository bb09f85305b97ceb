/* SPDX-License-Identifier: MIT */
/*
 * parse.h - checked number parsing. Every function rejects empty input,
 * trailing junk and overflow; floats are parsed in the C locale.
 */
#ifndef SOAK_PARSE_H
#define SOAK_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* Parse a whole string as an unsigned decimal. 0, -EINVAL or -ERANGE. */
_warn_unused_result_ int parse_u64(const char *s, uint64_t *ret);
_warn_unused_result_ int parse_i64(const char *s, int64_t *ret);
/* Parse a whole string as a double ("NaN", "+Inf", "-Inf" accepted). 0 or -EINVAL. */
_warn_unused_result_ int parse_double(const char *s, double *ret);

/*
 * Parse a number at *p (leading blanks skipped) and advance *p past it.
 * The number must end at a blank, NUL or newline. 0 or -EINVAL/-ERANGE.
 */
_warn_unused_result_ int parse_u64_field(const char **p, uint64_t *ret);
_warn_unused_result_ int parse_i64_field(const char **p, int64_t *ret);
_warn_unused_result_ int parse_double_field(const char **p, double *ret);

/* Like parse_* but on the n bytes at s (not NUL-terminated). */
_warn_unused_result_ int parse_u64_n(const char *s, size_t n, uint64_t *ret);
_warn_unused_result_ int parse_double_n(const char *s, size_t n, double *ret);

/* Format a double the way Prometheus text does: shortest round-trip, NaN, +Inf, -Inf. */
void format_double(char out[32], double v);

/* Skip spaces and tabs. */
const char *skip_blanks(const char *p);

#endif
