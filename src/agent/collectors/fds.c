/* SPDX-License-Identifier: MIT */
/*
 * fds: open file descriptors counted over /proc/<pid>/fd (the descriptors lsof
 * lists; lsof also lists memory maps and cwd/root, which are not counted), in
 * total (soak_open_fds) and for the top N processes (soak_process_open_fds).
 * Directories are read with getdents64 into a buffer allocated once, so a read
 * allocates nothing, whatever the number of processes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "conf.h"
#include "parse.h"
#include "procfile.h"
#include "rootfs.h"

#define FDS_TOP_DEFAULT 10
#define FDS_TOP_LIMIT 1000
#define FDS_DENTS_BUF 8192 /* bytes of each getdents64 buffer */
#define FDS_COMM_MAX 64     /* bytes of a comm kept (the kernel's is <= 16) */

struct fds_proc {
    uint64_t pid;
    uint64_t count;
    char comm[FDS_COMM_MAX];
};

struct fds_ctx {
    size_t top;
    struct fds_proc *procs; /* top entries, allocated at start */
    size_t n;
    char *dents;            /* FDS_DENTS_BUF bytes for /proc */
    char *dents2;           /* FDS_DENTS_BUF bytes for /proc/<pid>/fd */
    uint64_t total, processes, unreadable;
};

static int
fds_init(void **ret_ctx)
{
    struct fds_ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    c->top = FDS_TOP_DEFAULT;
    *ret_ctx = c;
    return 0;
}

static int
fds_configure(void *ctx, const char *key, const char *value)
{
    struct fds_ctx *c = ctx;
    uint64_t v;

    if (strcmp(key, "top") != 0)
        return -ENOENT;
    if (conf_uint(value, &v) < 0 || v > FDS_TOP_LIMIT)
        return -EINVAL;
    if (c->procs)
        return -EBUSY;
    c->top = v;
    return 0;
}

static int
fds_start(void *ctx, const char *root)
{
    struct fds_ctx *c = ctx;

    (void)root;
    if (c->dents)
        return 0;
    c->procs = calloc(c->top ? c->top : 1, sizeof(*c->procs));
    c->dents = malloc(FDS_DENTS_BUF);
    c->dents2 = malloc(FDS_DENTS_BUF);
    if (!c->procs || !c->dents || !c->dents2) {
        free(c->procs);
        free(c->dents);
        free(c->dents2);
        c->procs = NULL;
        c->dents = c->dents2 = NULL;
        return -ENOMEM;
    }
    return 0;
}

static int
is_dot(const char *name)
{
    return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* Entries in the directory open at fd (without . and ..). Count or negative errno. */
static int64_t
count_entries(int fd, char *buf)
{
    int64_t count = 0;

    for (;;) {
        ssize_t n = getdents64(fd, buf, FDS_DENTS_BUF);

        if (n < 0)
            return -errno;
        if (n == 0)
            return count;
        for (ssize_t off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(void *)(buf + off);

            if (!is_dot(d->d_name))
                count++;
            off += d->d_reclen;
        }
    }
}

static void
add_top(struct fds_ctx *c, uint64_t pid, uint64_t count)
{
    size_t min = 0;

    if (c->top == 0)
        return;
    if (c->n < c->top) {
        c->procs[c->n].pid = pid;
        c->procs[c->n].count = count;
        c->n++;
        return;
    }
    for (size_t i = 1; i < c->n; i++)
        if (c->procs[i].count < c->procs[min].count ||
            (c->procs[i].count == c->procs[min].count && c->procs[i].pid > c->procs[min].pid))
            min = i;
    if (count > c->procs[min].count ||
        (count == c->procs[min].count && pid < c->procs[min].pid)) {
        c->procs[min].pid = pid;
        c->procs[min].count = count;
    }
}

static int
cmp_proc(const void *a, const void *b)
{
    const struct fds_proc *x = a, *y = b;

    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static void
scan_pid(struct fds_ctx *c, int procfd, const char *name, uint64_t pid)
{
    char path[64];
    int64_t n;
    int fd;

    (void)name;
    (void)snprintf(path, sizeof(path), "%llu/fd", (unsigned long long)pid);
    fd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            c->unreadable++; /* EACCES for other users' processes when not root */
        return;
    }
    n = count_entries(fd, c->dents2);
    (void)close(fd);
    if (n < 0) {
        if (n != -ENOENT)
            c->unreadable++;
        return;
    }
    c->processes++;
    c->total += (uint64_t)n;
    add_top(c, pid, (uint64_t)n);
}

static void
read_comm(int procfd, struct fds_proc *p)
{
    char path[64], buf[FDS_COMM_MAX];
    ssize_t n;
    int fd;

    p->comm[0] = '\0';
    (void)snprintf(path, sizeof(path), "%llu/comm", (unsigned long long)p->pid);
    fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    n = fd_read_all(fd, buf, sizeof(buf));
    (void)close(fd);
    if (n < 0 && n != -EFBIG)
        return;
    (void)procfile_copy_line(p->comm, sizeof(p->comm), buf);
}

static int
fds_read(void *ctx, const char *root, struct expo_writer *w)
{
    struct fds_ctx *c = ctx;
    _cleanup_close_ int procfd = -1;
    int r;

    r = fds_start(c, root);
    if (r < 0)
        return r;
    c->n = 0;
    c->total = c->processes = c->unreadable = 0;
    procfd = root_open(root, "/proc", O_RDONLY | O_DIRECTORY);
    if (procfd < 0)
        return procfd;
    for (;;) {
        ssize_t n = getdents64(procfd, c->dents, FDS_DENTS_BUF);

        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(void *)(c->dents + off);
            uint64_t pid;

            off += d->d_reclen;
            if (parse_u64(d->d_name, &pid) < 0 || pid == 0)
                continue;
            scan_pid(c, procfd, d->d_name, pid);
        }
    }
    if (c->processes == 0)
        return -ENODATA;
    qsort(c->procs, c->n, sizeof(*c->procs), cmp_proc);
    for (size_t i = 0; i < c->n; i++)
        read_comm(procfd, &c->procs[i]);

    (void)expo_single(w, "soak_open_fds", METRIC_GAUGE,
                      "Open file descriptors of all processes (/proc/*/fd).", (double)c->total);
    (void)expo_single(w, "soak_open_fds_processes", METRIC_GAUGE,
                      "Processes whose descriptors were counted.", (double)c->processes);
    (void)expo_single(w, "soak_open_fds_unreadable_processes", METRIC_GAUGE,
                      "Processes whose /proc/<pid>/fd could not be read (not root?).",
                      (double)c->unreadable);
    if (c->n > 0) {
        (void)expo_family(w, "soak_process_open_fds", METRIC_GAUGE,
                          "Open file descriptors of the processes with the most.");
        for (size_t i = 0; i < c->n; i++) {
            char pid[24];
            struct expo_label l[2] = { { "pid", pid }, { "comm", c->procs[i].comm } };

            (void)snprintf(pid, sizeof(pid), "%llu", (unsigned long long)c->procs[i].pid);
            (void)expo_sample(w, "soak_process_open_fds", l, 2, (double)c->procs[i].count);
        }
    }
    return expo_error(w);
}

static void
fds_fini(void *ctx)
{
    struct fds_ctx *c = ctx;

    if (!c)
        return;
    free(c->procs);
    free(c->dents);
    free(c->dents2);
    free(c);
}

const struct collector_ops fds_collector = {
    .name = "fds",
    .help = "open descriptors over /proc/*/fd, total and top N processes (soak_open_fds)",
    .flags = COLLECTOR_SLOW,
    .init = fds_init,
    .configure = fds_configure,
    .start = fds_start,
    .read = fds_read,
    .fini = fds_fini,
};
