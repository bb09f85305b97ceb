/* SPDX-License-Identifier: MIT */
/*
 * osrelease.c - the os-release(5) line parser: KEY=value, where value may be
 * unquoted (backslash escapes the next character), 'single quoted' (literal) or
 * "double quoted" (backslash escapes only $ " \ ` and newline), or a mix, as a
 * shell would read it. Used by the build collector and fuzzed.
 */
#include <errno.h>
#include <string.h>

#include "parsers.h"

static int
is_key_char(char c, int first)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

/* Append c to out unless full (the value is cut, not rejected). */
static void
put(char *out, size_t size, size_t *n, char c)
{
    if (*n + 1 < size)
        out[(*n)++] = c;
}

int
osrelease_parse_line(const char *line, char *ret_key, size_t key_size, char *ret_value,
                     size_t value_size)
{
    const char *p = line;
    size_t kn = 0, vn = 0;

    if (key_size == 0 || value_size == 0)
        return -EINVAL;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0' || *p == '\n' || *p == '#')
        return 0;
    if (!is_key_char(*p, 1))
        return -EINVAL;
    while (is_key_char(*p, 0)) {
        put(ret_key, key_size, &kn, *p);
        p++;
    }
    if (*p != '=')
        return -EINVAL;
    p++;
    for (;;) {
        char c = *p;

        if (c == '\0' || c == '\n')
            break;
        if (c == ' ' || c == '\t' || c == '\r') {
            /* Unquoted blank ends the value; only blanks or a comment may follow. */
            while (*p == ' ' || *p == '\t' || *p == '\r')
                p++;
            if (*p != '\0' && *p != '\n' && *p != '#')
                return -EINVAL;
            break;
        }
        if (c == '\'') {
            p++;
            while (*p && *p != '\'') {
                put(ret_value, value_size, &vn, *p);
                p++;
            }
            if (*p != '\'')
                return -EINVAL;
            p++;
        } else if (c == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1] && strchr("$\"\\`\n", p[1])) {
                    p++;
                } else if (*p == '\\' && !p[1]) {
                    return -EINVAL;
                }
                put(ret_value, value_size, &vn, *p);
                p++;
            }
            if (*p != '"')
                return -EINVAL;
            p++;
        } else if (c == '\\') {
            if (!p[1])
                return -EINVAL;
            put(ret_value, value_size, &vn, p[1]);
            p += 2;
        } else {
            put(ret_value, value_size, &vn, c);
            p++;
        }
    }
    ret_key[kn] = '\0';
    ret_value[vn] = '\0';
    return 1;
}
