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
#include <sys/types.h>
#include <time.h>

#include "macro.h"

/*
 * A file under the root kept open between reads, so a read costs a pread(2)
 * (plus an fstat(2) off procfs/sysfs) instead of open, read, read, close.
 * procfs and sysfs files keep their inode while they exist: a kept fd is read
 * from offset 0 and sees the current value; a sysfs file of a device that is
 * gone fails with ENODEV, and the file is opened afresh once. Anywhere else
 * (fixture trees, `soak sim`, which replaces files by rename) each read first
 * checks with fstat(2) that the file still has the link count it had when it
 * was opened: a file replaced, removed or re-linked is opened afresh by path.
 * Any other read error closes the fd, so the next read opens the path again.
 * A file that does not exist, off procfs/sysfs, is looked up again only when its
 * deepest existing directory (kept open) has changed since it was found missing,
 * by the same modification-time rule as struct procfile_dir.
 * One struct serves one path under one root (a collector's root never changes).
 */
struct procfile_keep {
    int fd;        /* -1 when closed */
    int kernel;    /* on procfs or sysfs: never replaced, no fstat needed */
    int one_read;  /* a short read is the end of the file (sysfs, regular files elsewhere) */
    nlink_t nlink; /* link count at open (not kernel) */
    int miss_fd;   /* the file is missing: its deepest existing directory, or -1 */
    struct timespec miss_mtime; /* that directory's mtime when the file was missing */
};

/* Start closed. */
void procfile_keep_init(struct procfile_keep *k);

/*
 * A valid fd for path under root: the kept one when it still names the file,
 * else the file opened afresh. Returns the fd (still owned by k) or a negative
 * errno (k is then closed).
 */
_warn_unused_result_ int procfile_keep_fd(struct procfile_keep *k, const char *root,
                                          const char *path);

/* Close the kept fd, if any. Safe to call twice. */
void procfile_keep_close(struct procfile_keep *k);

/*
 * The whole file from its start into out (size bytes, NUL-terminated), through
 * the kept fd. Same returns as root_read(): the length, -EFBIG when it does not
 * fit (out then holds the first size-1 bytes), or another negative errno.
 */
_warn_unused_result_ ssize_t procfile_keep_read(struct procfile_keep *k, const char *root,
                                                const char *path, char *out, size_t size);

/* The first line, as root_read_line() (newline and trailing blanks/NULs cut). */
_warn_unused_result_ ssize_t procfile_keep_read_line(struct procfile_keep *k, const char *root,
                                                     const char *path, char *out, size_t size);

#define PROCFILE_CACHE_PATH 192 /* bytes of a cached path (relative to the root), incl. NUL */

struct procfile_cache_entry {
    uint64_t hash;
    unsigned gen;
    char path[PROCFILE_CACHE_PATH];
    struct procfile_keep k;
};

/*
 * A fixed set of kept files looked up by path, for collectors whose files come
 * from a directory listing (interfaces, zones, chips). Between begin() and end()
 * the collector reads through the cache; end() closes the files that were not
 * asked for since begin() (an interface that went away). When the set is full,
 * or a path is too long, reads open and close the file as root_read() does.
 */
struct procfile_cache {
    struct procfile_cache_entry *e; /* cap entries allocated, grown up to max */
    size_t n, cap, max;
    size_t hint; /* where the next lookup starts: reads ask in the same order */
    unsigned gen;
};

/* Up to max kept files (allocated as they are asked for). 0 or -ENOMEM. */
_warn_unused_result_ int procfile_cache_init(struct procfile_cache *c, size_t max);

/* Start a read of the collector. */
void procfile_cache_begin(struct procfile_cache *c);

/* End a read: close the files not asked for since begin(). */
void procfile_cache_end(struct procfile_cache *c);

/*
 * The kept file of path (added when new), or NULL when it cannot be kept. The
 * pointer is valid until the next procfile_cache_get() or procfile_cache_end().
 */
struct procfile_keep *procfile_cache_get(struct procfile_cache *c, const char *path);

/* procfile_keep_read_line() through the cache (root_read_line() when it cannot keep the file). */
_warn_unused_result_ ssize_t procfile_cache_read_line(struct procfile_cache *c, const char *root,
                                                      const char *path, char *out, size_t size);

/* procfile_keep_read() through the cache (root_read() when it cannot keep the file). */
_warn_unused_result_ ssize_t procfile_cache_read(struct procfile_cache *c, const char *root,
                                                 const char *path, char *out, size_t size);

/* Close every file and free the table. Safe to call twice. */
void procfile_cache_free(struct procfile_cache *c);

struct procfile {
    int fd;            /* -1 when closed */
    struct procfile_keep *keep; /* fd belongs to this kept file (read with pread), or NULL */
    off_t off;         /* next pread offset when keep is set */
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

/*
 * Read path under root through a kept file, from its start: the fd stays open in
 * k after procfile_close(). 0 or negative errno.
 */
_warn_unused_result_ int procfile_open_keep(struct procfile *pf, struct procfile_keep *k,
                                            const char *root, const char *path);

/* procfile_open_keep() through a cache (procfile_open() when it cannot keep the file). */
struct procfile_cache;
_warn_unused_result_ int procfile_open_cached(struct procfile *pf, struct procfile_cache *c,
                                              const char *root, const char *path);

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

/*
 * A sorted listing of one directory into fixed storage allocated once. The
 * directory stays open between listings of the same path. On procfs/sysfs it is
 * listed again on every call (their directories' mtime does not follow their
 * entries). Elsewhere the listing is reused while fstat(2) shows the same
 * modification time and the directory still exists, provided that listing was
 * made at least a second after that modification time (a later change within
 * the timestamp granularity would otherwise go unseen); else it is listed again.
 */
struct procfile_dir {
    char (*names)[PROCFILE_DIRNAME_MAX];
    size_t n, max;
    char *dents;
    unsigned long skipped; /* entries left out: name too long or the list full */
    int fd;                /* the directory last listed, -1 when none */
    int kernel;            /* on procfs/sysfs */
    uint64_t key;          /* hash of root, path and prefix of that listing */
    struct timespec mtime; /* its st_mtim before the listing */
    unsigned long lists;   /* listings actually read: unchanged while one is reused */
    int trusted;           /* the listing may be reused while mtime stays */
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

/* Free the names and close the directory. Safe to call twice. */
void procfile_dir_free(struct procfile_dir *d);
