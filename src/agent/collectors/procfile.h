/* SPDX-License-Identifier: MIT */
/*
 * procfile.h - bounded reading and splitting of /proc and /sys text files,
 * shared by the collectors.
 *
 * A struct procfile streams a file line by line through a buffer the caller
 * owns (allocated once, at collector init): memory does not grow with the
 * file. A line longer than the buffer is returned cut to the buffer and the
 * rest of it skipped (counted in long_lines), so a garbled file costs one line.
 */
#ifndef SOAK_PROCFILE_H
#define SOAK_PROCFILE_H

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct procfile {
    int fd;            /* -1 when closed */
    char *buf;         /* caller's storage, cap bytes */
    size_t cap;
    size_t start, end; /* unread bytes are buf[start..end) */
    int eof;
    int skipping;      /* inside the tail of an over-long line */
    unsigned long long_lines; /* lines cut because they did not fit */
    unsigned long nul_bytes;  /* NUL bytes seen (replaced by spaces) */
};

/* Attach storage (cap >= 2 bytes); the reader starts closed. */
void procfile_init(struct procfile *pf, char *buf, size_t cap);

/* Open path under root for reading. 0 or negative errno. Closes a previous file. */
_warn_unused_result_ int procfile_open(struct procfile *pf, const char *root, const char *path);

/* Read from an fd the caller opened; the reader takes ownership of fd. */
void procfile_fdopen(struct procfile *pf, int fd);

/*
 * Next line, NUL-terminated, without its newline, in the reader's buffer (valid
 * until the next call). Returns 1 with *ret_line and *ret_len set, 0 at the end of
 * the file, or a negative errno from read(2).
 */
_warn_unused_result_ int procfile_next(struct procfile *pf, char **ret_line, size_t *ret_len);

/* Close the file (the buffer stays the caller's). Safe to call twice. */
void procfile_close(struct procfile *pf);

/*
 * Split line in place on blanks (space, tab) into at most max fields. Returns the
 * number of fields in the line, which may exceed max (only max are stored).
 */
size_t procfile_split(char *line, char **fields, size_t max);

/*
 * Split "Key:   value [unit]" (meminfo style) in place. *ret_key is the text before
 * the first ':', *ret_value and *ret_unit the next two blank-separated tokens
 * (*ret_unit is "" when absent). 0, or -EINVAL when there is no ':' or no value or
 * more tokens follow.
 */
_warn_unused_result_ int procfile_key_value(char *line, char **ret_key, char **ret_value,
                                            char **ret_unit);

/*
 * Copy at most size-1 bytes of src into dst, NUL-terminated, stopping at a newline
 * and dropping trailing blanks and NULs. Returns the length.
 */
size_t procfile_copy_line(char *dst, size_t size, const char *src);

#endif

#define PROCFILE_DIRNAME_MAX 128 /* longest directory entry name kept, bytes incl. NUL */
#define PROCFILE_DENTS_BUF 8192  /* getdents64 buffer, bytes */

/* A sorted listing of one directory into fixed storage allocated once. */
struct procfile_dir {
    char (*names)[PROCFILE_DIRNAME_MAX];
    size_t n, max;
    char *dents;
    unsigned long skipped; /* entries left out: name too long or the list full */
};

/* Allocate room for max names. 0 or -ENOMEM. */
_warn_unused_result_ int procfile_dir_init(struct procfile_dir *d, size_t max);

/*
 * List path under root: names starting with prefix ("" = all, never "." or ".."),
 * sorted in natural order (hwmon2 before hwmon10). Returns the number of names,
 * or a negative errno when the directory cannot be read. Entries past max are
 * counted in skipped.
 */
_warn_unused_result_ int procfile_dir_list(struct procfile_dir *d, const char *root,
                                           const char *path, const char *prefix);

void procfile_dir_free(struct procfile_dir *d);
