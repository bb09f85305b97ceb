/* SPDX-License-Identifier: MIT */
/*
 * rootfs.h - every /proc, /sys and /dev path goes through a root prefix, so
 * tests and the simulator can point soak at a fixture tree (`--root DIR`).
 * The root is a parameter, never a global; "" or NULL or "/" means the real one.
 */
#ifndef SOAK_ROOTFS_H
#define SOAK_ROOTFS_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "macro.h"

#define ROOT_PATH_MAX 4096

/*
 * Join root and an absolute path into out (size bytes).
 * Returns 0, or -ENAMETOOLONG when it does not fit.
 */
_warn_unused_result_ int root_path(const char *root, const char *path, char *out, size_t size);

/* open(2) under the root, always O_CLOEXEC. Returns an fd or a negative errno. */
_warn_unused_result_ int root_open(const char *root, const char *path, int flags);

/*
 * Read a whole small file under the root into out (size bytes, NUL-terminated).
 * Returns the length, -EFBIG when the file does not fit (out then holds the
 * first size-1 bytes), or another negative errno.
 */
_warn_unused_result_ ssize_t root_read(const char *root, const char *path, char *out, size_t size);

/* Same as root_read() for an fd already open; reads from the current offset. */
_warn_unused_result_ ssize_t fd_read_all(int fd, char *out, size_t size);

enum fd_read_flags {
    FD_READ_AT_ZERO = 1 << 0,      /* read from offset 0 with pread(2); the fd offset stays */
    FD_READ_SHORT_IS_EOF = 1 << 1, /* a short read ends the file (regular files, sysfs) */
};

/* fd_read_all() with fd_read_flags: same returns. */
_warn_unused_result_ ssize_t fd_read_whole(int fd, unsigned flags, char *out, size_t size);

/*
 * Read a whole file under the root into b, replacing its contents; bounded by b->max.
 * Returns 0, -E2BIG when the file is longer than b->max, or another negative errno.
 */
_warn_unused_result_ int root_read_buf(const char *root, const char *path, struct buf *b);

/* Read the first line (without the newline, trailing blanks/NULs stripped). Same returns as root_read(). */
_warn_unused_result_ ssize_t root_read_line(const char *root, const char *path, char *out,
                                            size_t size);

/* Write a short string to a file under the root (sysfs/procfs knobs). 0 or negative errno. */
_warn_unused_result_ int root_write(const char *root, const char *path, const char *s);

#endif
