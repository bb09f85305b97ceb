/* SPDX-License-Identifier: MIT */
#include "procfile.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "hash.h"
#include "rootfs.h"

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif
#ifndef SYSFS_MAGIC
#define SYSFS_MAGIC 0x62656572
#endif

/* What kind of file system fd is on: 2 sysfs, 1 procfs, 0 anything else. */
static int
kernel_fs(int fd)
{
    struct statfs sf;

    if (fstatfs(fd, &sf) < 0)
        return 0;
    if ((unsigned long)sf.f_type == SYSFS_MAGIC)
        return 2;
    if ((unsigned long)sf.f_type == PROC_SUPER_MAGIC)
        return 1;
    return 0;
}

void
procfile_keep_init(struct procfile_keep *k)
{
    memset(k, 0, sizeof(*k));
    k->fd = -1;
    k->miss_fd = -1;
}

static void
keep_forget_miss(struct procfile_keep *k)
{
    if (k->miss_fd >= 0)
        (void)close(k->miss_fd);
    k->miss_fd = -1;
}

void
procfile_keep_close(struct procfile_keep *k)
{
    if (k->fd >= 0)
        (void)close(k->fd);
    k->fd = -1;
    keep_forget_miss(k);
}

/* Was mtime set at least a second before now (so a later change cannot leave it as is)? */
static int
mtime_settled(const struct timespec *mtime)
{
    struct timespec now;

    if (clock_gettime(CLOCK_REALTIME, &now) < 0)
        return 0;
    return now.tv_sec - mtime->tv_sec >= 2 ||
           (now.tv_sec - mtime->tv_sec == 1 && now.tv_nsec >= mtime->tv_nsec);
}

/* Is the missing file of k still surely missing? Its directory must be unchanged. */
static int
keep_still_missing(struct procfile_keep *k)
{
    struct stat st;

    if (k->miss_fd < 0)
        return 0;
    if (fstat(k->miss_fd, &st) == 0 && st.st_nlink > 0 &&
        st.st_mtim.tv_sec == k->miss_mtime.tv_sec && st.st_mtim.tv_nsec == k->miss_mtime.tv_nsec)
        return 1;
    keep_forget_miss(k);
    return 0;
}

/*
 * path under root is missing: keep its deepest existing directory and that
 * directory's mtime, when it is on an ordinary file system and settled. Then opens
 * path once more, so a file created in between is not missed. Returns what that
 * open returns (an fd or a negative errno).
 */
static int
keep_note_miss(struct procfile_keep *k, const char *root, const char *path)
{
    char dir[PROCFILE_CACHE_PATH];
    size_t len = strlen(path);
    struct stat st;
    int dfd = -1;

    if (len >= sizeof(dir))
        return -ENOENT;
    memcpy(dir, path, len + 1);
    while (dfd < 0) {
        char *slash = strrchr(dir, '/');

        if (!slash)
            return -ENOENT;
        if (slash == dir)
            slash[1] = '\0'; /* the root itself */
        else
            *slash = '\0';
        dfd = root_open(root, dir, O_RDONLY | O_DIRECTORY);
        if (dfd < 0 && (dfd != -ENOENT || slash == dir))
            return -ENOENT;
    }
    if (kernel_fs(dfd) || fstat(dfd, &st) < 0 || !mtime_settled(&st.st_mtim)) {
        (void)close(dfd);
        return root_open(root, path, O_RDONLY);
    }
    k->miss_fd = dfd;
    k->miss_mtime = st.st_mtim;
    /* Anything created from now on changes the directory's mtime. */
    dfd = root_open(root, path, O_RDONLY);
    if (dfd >= 0)
        keep_forget_miss(k);
    return dfd;
}

int
procfile_keep_fd(struct procfile_keep *k, const char *root, const char *path)
{
    struct stat st;
    int fd, fs;

    if (k->fd >= 0) {
        if (k->kernel)
            return k->fd;
        /* Replaced by rename or removed: the inode we hold lost a link. */
        if (fstat(k->fd, &st) == 0 && st.st_nlink == k->nlink && st.st_nlink > 0)
            return k->fd;
        procfile_keep_close(k);
    }
    if (keep_still_missing(k))
        return -ENOENT;
    fd = root_open(root, path, O_RDONLY);
    if (fd == -ENOENT)
        fd = keep_note_miss(k, root, path);
    if (fd < 0)
        return fd;
    fs = kernel_fs(fd);
    k->kernel = fs != 0;
    k->one_read = fs == 2;
    if (!k->kernel) {
        if (fstat(fd, &st) < 0) {
            int r = -errno;
            (void)close(fd);
            return r;
        }
        k->nlink = st.st_nlink;
        k->one_read = S_ISREG(st.st_mode);
    }
    k->fd = fd;
    return fd;
}

/* pread the whole file from offset 0; same returns as fd_read_all(). */
static ssize_t
keep_pread_all(const struct procfile_keep *k, char *out, size_t size)
{
    return fd_read_whole(k->fd, FD_READ_AT_ZERO | (k->one_read ? FD_READ_SHORT_IS_EOF : 0), out,
                         size);
}

ssize_t
procfile_keep_read(struct procfile_keep *k, const char *root, const char *path, char *out,
                   size_t size)
{
    if (size == 0)
        return -EINVAL;
    out[0] = '\0';
    for (int attempt = 0;; attempt++) {
        int kept = k->fd >= 0;
        int fd = procfile_keep_fd(k, root, path);
        ssize_t n;

        if (fd < 0)
            return fd;
        n = keep_pread_all(k, out, size);
        if (n >= 0 || n == -EFBIG)
            return n;
        procfile_keep_close(k);
        /* A device that went away (ENODEV) or a stale handle: open the path once more. */
        if (!kept || attempt > 0 || (n != -ENODEV && n != -ESTALE))
            return n;
    }
}

ssize_t
procfile_keep_read_line(struct procfile_keep *k, const char *root, const char *path, char *out,
                        size_t size)
{
    ssize_t n = procfile_keep_read(k, root, path, out, size);

    if (n < 0 && n != -EFBIG)
        return n;
    return (ssize_t)procfile_copy_line(out, size, out);
}

/* FNV-1a, 64 bit, over several strings (each followed by a 0 byte). */
static uint64_t
hash_strings(const char *const *s, size_t n)
{
    uint64_t h = FNV1A_BASIS;

    for (size_t i = 0; i < n; i++)
        h = fnv1a_add(h, s[i] ? s[i] : "") * FNV1A_PRIME;
    return h;
}

int
procfile_cache_init(struct procfile_cache *c, size_t max)
{
    memset(c, 0, sizeof(*c));
    c->max = max;
    return 0;
}

void
procfile_cache_begin(struct procfile_cache *c)
{
    c->gen++;
    c->hint = 0;
}

void
procfile_cache_end(struct procfile_cache *c)
{
    size_t j = 0;

    for (size_t i = 0; i < c->n; i++) {
        if (c->e[i].gen != c->gen) {
            procfile_keep_close(&c->e[i].k);
            continue;
        }
        if (j != i)
            c->e[j] = c->e[i];
        j++;
    }
    c->n = j;
    c->hint = 0;
}

struct procfile_keep *
procfile_cache_get(struct procfile_cache *c, const char *path)
{
    const char *key[1] = { path };
    uint64_t h;
    size_t len = strlen(path);

    if (len >= PROCFILE_CACHE_PATH)
        return NULL;
    h = hash_strings(key, 1);
    for (size_t k = 0; k < c->n; k++) {
        size_t i = (c->hint + k) % c->n;
        struct procfile_cache_entry *e = &c->e[i];

        if (e->hash == h && strcmp(e->path, path) == 0) {
            e->gen = c->gen;
            c->hint = i + 1;
            return &e->k;
        }
    }
    if (c->n >= c->max)
        return NULL;
    if (c->n == c->cap) {
        /* Grown as files are asked for: a board with two interfaces pays for six. */
        size_t cap = c->cap ? MIN(2 * c->cap, c->max) : MIN((size_t)4, c->max);
        struct procfile_cache_entry *e = realloc(c->e, cap * sizeof(*e));

        if (!e)
            return NULL;
        c->e = e;
        c->cap = cap;
    }
    {
        struct procfile_cache_entry *e = &c->e[c->n++];

        e->hash = h;
        e->gen = c->gen;
        memcpy(e->path, path, len + 1);
        procfile_keep_init(&e->k);
        c->hint = c->n;
        return &e->k;
    }
}

ssize_t
procfile_cache_read_line(struct procfile_cache *c, const char *root, const char *path, char *out,
                         size_t size)
{
    struct procfile_keep *k = procfile_cache_get(c, path);

    if (!k)
        return root_read_line(root, path, out, size);
    return procfile_keep_read_line(k, root, path, out, size);
}

ssize_t
procfile_cache_read(struct procfile_cache *c, const char *root, const char *path, char *out,
                    size_t size)
{
    struct procfile_keep *k = procfile_cache_get(c, path);

    if (!k)
        return root_read(root, path, out, size);
    return procfile_keep_read(k, root, path, out, size);
}

int
procfile_open_cached(struct procfile *pf, struct procfile_cache *c, const char *root,
                     const char *path)
{
    struct procfile_keep *k = procfile_cache_get(c, path);

    if (!k)
        return procfile_open(pf, root, path);
    return procfile_open_keep(pf, k, root, path);
}

void
procfile_cache_free(struct procfile_cache *c)
{
    for (size_t i = 0; c->e && i < c->n; i++)
        procfile_keep_close(&c->e[i].k);
    free(c->e);
    c->e = NULL;
    c->n = c->cap = c->max = 0;
}

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
    if (pf->fd >= 0 && !pf->keep)
        (void)close(pf->fd);
    pf->fd = -1;
    pf->keep = NULL;
    pf->off = 0;
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

int
procfile_open_keep(struct procfile *pf, struct procfile_keep *k, const char *root,
                   const char *path)
{
    int fd;

    procfile_close(pf);
    fd = procfile_keep_fd(k, root, path);
    if (fd < 0)
        return fd;
    pf->long_lines = 0;
    pf->nul_bytes = 0;
    pf->fd = fd;
    pf->keep = k;
    return 0;
}

/* Fill the buffer after moving the unread bytes to its start. 0 or negative errno. */
static int
fill(struct procfile *pf)
{
    size_t want;
    ssize_t n;

    if (pf->start > 0) {
        memmove(pf->buf, pf->buf + pf->start, pf->end - pf->start);
        pf->end -= pf->start;
        pf->start = 0;
    }
    /* Keep one byte for the NUL. */
    want = pf->cap - 1 - pf->end;
    for (;;) {
        if (pf->keep)
            n = pread(pf->fd, pf->buf + pf->end, want, pf->off);
        else
            n = read(pf->fd, pf->buf + pf->end, want);
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    if (n < 0) {
        int r = -errno;
        if (pf->keep) {
            /* The next open goes by path again. */
            procfile_keep_close(pf->keep);
            pf->keep = NULL;
            pf->fd = -1;
        }
        return r;
    }
    if (n == 0) {
        pf->eof = 1;
        return 0;
    }
    if (pf->keep) {
        pf->off += n;
        if (pf->keep->one_read && (size_t)n < want)
            pf->eof = 1;
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
    d->fd = -1;
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
    /* A zeroed struct that never went through init has fd 0 that is not its own. */
    if (d->names && d->fd >= 0)
        (void)close(d->fd);
    free(d->names);
    free(d->dents);
    d->names = NULL;
    d->dents = NULL;
    d->fd = -1;
    d->n = d->max = 0;
}

static int
cmp_names(const void *a, const void *b)
{
    return strverscmp(a, b);
}

/* Read the entries of d->fd from its start into d->names, sorted. Count or negative errno. */
static int
dir_read(struct procfile_dir *d, const char *prefix)
{
    size_t plen = strlen(prefix);

    d->n = 0;
    d->skipped = 0;
    d->lists++;
    if (lseek(d->fd, 0, SEEK_SET) < 0)
        return -errno;
    for (;;) {
        ssize_t n = getdents64(d->fd, d->dents, PROCFILE_DENTS_BUF);

        if (n < 0)
            return -errno;
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
    qsort(d->names, d->n, sizeof(*d->names), cmp_names);
    return (int)d->n;
}

static void
dir_close(struct procfile_dir *d)
{
    if (d->fd >= 0)
        (void)close(d->fd);
    d->fd = -1;
    d->trusted = 0;
}

int
procfile_dir_list(struct procfile_dir *d, const char *root, const char *path, const char *prefix)
{
    const char *parts[3] = { root, path, prefix };
    uint64_t key = hash_strings(parts, 3);
    struct stat st;
    struct timespec now;
    int n;

    if (!d->names)
        return -EINVAL;
    if (d->fd >= 0 && d->key != key)
        dir_close(d);
    for (int attempt = 0;; attempt++) {
        int opened = d->fd < 0;

        if (opened) {
            d->fd = root_open(root, path, O_RDONLY | O_DIRECTORY);
            if (d->fd < 0) {
                int r = d->fd;
                d->fd = -1;
                d->n = 0;
                d->skipped = 0;
                return r;
            }
            d->key = key;
            d->kernel = kernel_fs(d->fd) != 0;
            d->trusted = 0;
        }
        if (d->kernel)
            break;
        if (fstat(d->fd, &st) == 0 && st.st_nlink > 0)
            break;
        /* Removed (or unusable): look the path up again, once. */
        dir_close(d);
        if (opened || attempt > 0) {
            d->n = 0;
            return -ENOENT;
        }
    }
    if (!d->kernel) {
        if (d->trusted && st.st_mtim.tv_sec == d->mtime.tv_sec &&
            st.st_mtim.tv_nsec == d->mtime.tv_nsec)
            return (int)d->n;
        d->mtime = st.st_mtim;
    }
    n = dir_read(d, prefix);
    if (n < 0) {
        dir_close(d);
        d->n = 0;
        return n;
    }
    /* Trust the listing only when it was made well after the last change: a change
     * within the same timestamp tick would leave the mtime as it is. */
    d->trusted = 0;
    if (!d->kernel && clock_gettime(CLOCK_REALTIME, &now) == 0)
        d->trusted = now.tv_sec - d->mtime.tv_sec >= 2 ||
                     (now.tv_sec - d->mtime.tv_sec == 1 && now.tv_nsec >= d->mtime.tv_nsec);
    return n;
}
