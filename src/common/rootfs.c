/* SPDX-License-Identifier: MIT */
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int
root_path(const char *root, const char *path, char *out, size_t size)
{
    size_t rl = 0, pl = strlen(path);

    if (root && root[0] && !(root[0] == '/' && root[1] == '\0')) {
        rl = strlen(root);
        while (rl > 1 && root[rl - 1] == '/')
            rl--;
    }
    if (rl + pl + 1 > size)
        return -ENAMETOOLONG;
    if (rl)
        memcpy(out, root, rl);
    memcpy(out + rl, path, pl + 1);
    return 0;
}

int
root_open(const char *root, const char *path, int flags)
{
    char p[ROOT_PATH_MAX];
    int r, fd;

    r = root_path(root, path, p, sizeof(p));
    if (r < 0)
        return r;
    fd = open(p, flags | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    return fd;
}

/* One read(2), or pread(2) at offset off when at is set, retried on EINTR. */
static ssize_t
read_some(int fd, int at, char *out, size_t n, size_t off)
{
    ssize_t r;

    do
        r = at ? pread(fd, out, n, (off_t)off) : read(fd, out, n);
    while (r < 0 && errno == EINTR);
    return r;
}

ssize_t
fd_read_whole(int fd, unsigned flags, char *out, size_t size)
{
    int at = !!(flags & FD_READ_AT_ZERO);
    size_t len = 0;

    if (size == 0)
        return -EINVAL;
    for (;;) {
        size_t want = size - 1 - len;
        ssize_t n;

        if (want == 0) {
            char c;
            /* One more byte tells "exactly full" from "too big". */
            n = read_some(fd, at, &c, 1, len);
            out[len] = '\0';
            if (n > 0)
                return -EFBIG;
            if (n < 0)
                return -errno;
            return (ssize_t)len;
        }
        n = read_some(fd, at, out + len, want, len);
        if (n < 0) {
            out[len] = '\0';
            return -errno;
        }
        len += (size_t)n;
        if (n == 0 || ((flags & FD_READ_SHORT_IS_EOF) && (size_t)n < want))
            break;
    }
    out[len] = '\0';
    return (ssize_t)len;
}

ssize_t
fd_read_all(int fd, char *out, size_t size)
{
    return fd_read_whole(fd, 0, out, size);
}

ssize_t
root_read(const char *root, const char *path, char *out, size_t size)
{
    _cleanup_close_ int fd = -1;

    if (size)
        out[0] = '\0';
    fd = root_open(root, path, O_RDONLY);
    if (fd < 0)
        return fd;
    return fd_read_all(fd, out, size);
}

int
root_read_buf(const char *root, const char *path, struct buf *b)
{
    _cleanup_close_ int fd = -1;
    char chunk[4096];

    buf_reset(b);
    fd = root_open(root, path, O_RDONLY);
    if (fd < 0)
        return fd;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        int r;

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        r = buf_append(b, chunk, (size_t)n);
        if (r < 0)
            return r;
    }
    return 0;
}

ssize_t
root_read_line(const char *root, const char *path, char *out, size_t size)
{
    ssize_t n = root_read(root, path, out, size);
    char *nl;
    size_t len;

    if (n < 0 && n != -EFBIG)
        return n;
    nl = strchr(out, '\n');
    if (nl)
        *nl = '\0';
    len = strlen(out);
    while (len > 0 && (out[len - 1] == ' ' || out[len - 1] == '\t' || out[len - 1] == '\r'))
        out[--len] = '\0';
    return (ssize_t)len;
}

int
root_write(const char *root, const char *path, const char *s)
{
    _cleanup_close_ int fd = -1;
    size_t n = strlen(s);
    ssize_t w;

    fd = root_open(root, path, O_WRONLY);
    if (fd < 0)
        return fd;
    w = write(fd, s, n);
    if (w < 0)
        return -errno;
    if ((size_t)w != n)
        return -EIO;
    return 0;
}
