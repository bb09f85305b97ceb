/* SPDX-License-Identifier: MIT */
/*
 * conf.h - INI configuration through inih, shared by soakd and soak.
 *
 * conf_parse_file() calls handler(ctx, section, key, value, line) for every
 * `key = value`. The handler returns 0, or a negative errno to reject the
 * line (-ENOENT: unknown key, -EINVAL: bad value); parsing stops at the first
 * rejected line and the message names the file and line.
 * Inline comments start with " ;"; whole-line comments with ";" or "#".
 * The handler gets the line number (the line is also reported in the error message).
 */
#ifndef SOAK_CONF_H
#define SOAK_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef int (*conf_handler_fn)(void *ctx, const char *section, const char *key,
                               const char *value, int line);

/*
 * Parse path (or stdin for "-"). Returns 0; -errno when the file cannot be
 * opened; -EINVAL for a syntax error or a line the handler rejected, with a
 * message "path:line: ..." in err (errlen bytes).
 */
_warn_unused_result_ int conf_parse_file(const char *path, conf_handler_fn handler, void *ctx,
                                         char *err, size_t errlen);

/* Same on a string in memory (for tests and fuzzing). */
_warn_unused_result_ int conf_parse_string(const char *text, conf_handler_fn handler, void *ctx,
                                           char *err, size_t errlen);

/* "yes/no/true/false/on/off/1/0" -> 1/0. 0 or -EINVAL. */
_warn_unused_result_ int conf_bool(const char *v, int *ret);
/* Unsigned integer. 0 or -EINVAL/-ERANGE. */
_warn_unused_result_ int conf_uint(const char *v, uint64_t *ret);
/* Duration in seconds: "90", "90s", "15m", "24h", "7d", "2w", "1.5h". 0 or -EINVAL. */
_warn_unused_result_ int conf_duration(const char *v, double *ret);
/* Size in bytes: "4096", "64k", "4M", "1G" (powers of 1024). 0 or -EINVAL. */
_warn_unused_result_ int conf_size(const char *v, uint64_t *ret);

#endif
