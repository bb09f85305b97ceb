/* SPDX-License-Identifier: MIT */
#include "procfile.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rootfs.h"

void
procfile_init(struct procfile *pf, char *buf, size_t cap)
{
    memset(pf, 0, sizeof(*pf));
    pf->fd = -1;
    pf->buf = buf;
    pf->cap = cap;
}

void
procfile_close(struct procfile *pf)
{
    if (pf->fd >= 0)
        (void)close(pf->fd);
    pf->fd = -1;
    pf->start = pf->end = 0;
    pf->eof = 0;
    pf->skipping = 0;
}

void
procfile_fdopen(struct procfile *pf, int fd)
{
    procfile_close(pf);
    pf->long_lines = 0;
    pf->nul_bytes = 0;
    pf->fd = fd;
}

int
procfile_open(struct procfile *pf, const char *root, const char *path)
{
    int fd = root_open(root, path, O_RDONLY);

    procfile_close(pf);
    if (fd < 0)
        return fd;
    procfile_fdopen(pf, fd);
    return 0;
}

/* Fill the buffer after moving the unread bytes to its start. 0 or negative errno. */
static int
fill(struct procfile *pf)
{
    ssize_t n;

    if (pf->start > 0) {
        memmove(pf->buf, pf->buf + pf->start, pf->end - pf->start);
        pf->end -= pf->start;
        pf->start = 0;
    }
    for (;;) {
        /* Keep one byte for the NUL. */
        n = read(pf->fd, pf->buf + pf->end, pf->cap - 1 - pf->end);
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    if (n < 0)
        return -errno;
    if (n == 0) {
        pf->eof = 1;
        return 0;
    }
    /* Binary junk must not end a line early: NULs become blanks. */
    for (size_t i = pf->end; i < pf->end + (size_t)n; i++) {
        if (pf->buf[i] == '\0') {
            pf->buf[i] = ' ';
            pf->nul_bytes++;
        }
    }
    pf->end += (size_t)n;
    return 0;
}

int
procfile_next(struct procfile *pf, char **ret_line, size_t *ret_len)
{
    if (pf->fd < 0 || pf->cap < 2)
        return 0;
    for (;;) {
        char *nl = NULL;
        int r;

        if (pf->end > pf->start)
            nl = memchr(pf->buf + pf->start, '\n', pf->end - pf->start);
        if (nl) {
            char *line = pf->buf + pf->start;
            size_t len = (size_t)(nl - line);

            *nl = '\0';
            pf->start += len + 1;
            if (pf->skipping) {
                pf->skipping = 0;
                continue;
            }
            *ret_line = line;
            *ret_len = len;
            return 1;
        }
        if (pf->eof) {
            char *line = pf->buf + pf->start;
            size_t len = pf->end - pf->start;

            if (len == 0 || pf->skipping) {
                pf->start = pf->end = 0;
                pf->skipping = 0;
                return 0;
            }
            line[len] = '\0';
            pf->start = pf->end;
            *ret_line = line;
            *ret_len = len;
            return 1;
        }
        if (pf->start == 0 && pf->end == pf->cap - 1) {
            /* A line longer than the buffer: hand out what fits, skip the rest. */
            char *line = pf->buf;
            size_t len = pf->end;

            if (pf->skipping) {
                pf->start = pf->end = 0;
                continue;
            }
            line[len] = '\0';
            pf->long_lines++;
            pf->skipping = 1;
            pf->start = pf->end = 0;
            *ret_line = line;
            *ret_len = len;
            return 1;
        }
        r = fill(pf);
        if (r < 0)
            return r;
    }
}

static int
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

size_t
procfile_split(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;

    for (;;) {
        while (*p && is_blank(*p))
            p++;
        if (!*p)
            break;
        if (n < max)
            fields[n] = p;
        n++;
        while (*p && !is_blank(*p))
            p++;
        if (!*p)
            break;
        *p++ = '\0';
    }
    return n;
}

int
procfile_key_value(char *line, char **ret_key, char **ret_value, char **ret_unit)
{
    char *colon = strchr(line, ':');
    char *f[3];
    size_t n;

    if (!colon || colon == line)
        return -EINVAL;
    *colon = '\0';
    n = procfile_split(colon + 1, f, ARRAY_SIZE(f));
    if (n < 1 || n > 2)
        return -EINVAL;
    *ret_key = line;
    *ret_value = f[0];
    *ret_unit = n == 2 ? f[1] : colon; /* colon now points at "" */
    return 0;
}

size_t
procfile_copy_line(char *dst, size_t size, const char *src)
{
    size_t n = 0;

    if (size == 0)
        return 0;
    while (src[n] && src[n] != '\n' && n + 1 < size) {
        dst[n] = src[n];
        n++;
    }
    while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\t' || dst[n - 1] == '\r'))
        n--;
    dst[n] = '\0';
    return n;
}

int
procfile_dir_init(struct procfile_dir *d, size_t max)
{
    memset(d, 0, sizeof(*d));
    d->max = max;
    d->names = calloc(max ? max : 1, sizeof(*d->names));
    d->dents = malloc(PROCFILE_DENTS_BUF);
    if (!d->names || !d->dents) {
        procfile_dir_free(d);
        return -ENOMEM;
    }
    return 0;
}

void
procfile_dir_free(struct procfile_dir *d)
{
    free(d->names);
    free(d->dents);
    d->names = NULL;
    d->dents = NULL;
    d->n = d->max = 0;
}

static int
cmp_names(const void *a, const void *b)
{
    return strverscmp(a, b);
}

int
procfile_dir_list(struct procfile_dir *d, const char *root, const char *path, const char *prefix)
{
    size_t plen = strlen(prefix);
    int fd;

    d->n = 0;
    d->skipped = 0;
    fd = root_open(root, path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return fd;
    for (;;) {
        ssize_t n = getdents64(fd, d->dents, PROCFILE_DENTS_BUF);

        if (n < 0) {
            int r = -errno;
            (void)close(fd);
            return r;
        }
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            struct dirent64 *e = (struct dirent64 *)(void *)(d->dents + off);
            size_t len = strlen(e->d_name);

            off += e->d_reclen;
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (strncmp(e->d_name, prefix, plen) != 0)
                continue;
            if (len >= PROCFILE_DIRNAME_MAX || d->n >= d->max) {
                d->skipped++;
                continue;
            }
            memcpy(d->names[d->n++], e->d_name, len + 1);
        }
    }
    (void)close(fd);
    qsort(d->names, d->n, sizeof(*d->names), cmp_names);
    return (int)d->n;
}
