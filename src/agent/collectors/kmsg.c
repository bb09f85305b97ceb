/* SPDX-License-Identifier: MIT */
/*
 * kmsg: follows the kernel log (/dev/kmsg, opened non-blocking) and counts
 * OOM kills, panics and warnings/oops/BUGs since the agent started (the first
 * read starts at the oldest record the kernel still holds, so on start-up that
 * is most of the boot). EPIPE (records overwritten before we read them) is
 * counted and reading goes on. Under --root, dev/kmsg is a regular file in the
 * same record format: read from its start, then lines appended later.
 * The last `lines` lines are kept in a ring allocated once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "conf.h"
#include "emit.h"
#include "kmsg.h"
#include "parse.h"
#include "parsers.h"
#include "procfile.h"
#include "rootfs.h"

#define KMSG_BUF 8192              /* read buffer; a record is at most ~1 KiB */
#define KMSG_LINES_DEFAULT 50
#define KMSG_LINES_LIMIT 10000
#define KMSG_BYTES_PER_READ (16 * 1024 * 1024) /* bound on one read() call's work */
#define KMSG_COMM_MAX 64

struct kmsg_ctx {
    int fd;
    char buf[KMSG_BUF];
    size_t len;
    size_t nlines;           /* ring capacity */
    char (*ring)[KMSG_LINE_MAX];
    size_t head, count;
    uint64_t records, oom_kills, panics, warnings, overruns, garbled, long_lines;
    int have_oom;
    int opened;              /* the log was open at least once */
    int skipping;            /* dropping the tail of an over-long line */
    uint64_t oom_pid;
    char oom_comm[KMSG_COMM_MAX];
};

int
kmsg_parse_record(const char *line, struct kmsg_record *ret)
{
    const char *p = line, *semi = strchr(line, ';');
    uint64_t v[3];

    if (!semi)
        return -EINVAL;
    for (int i = 0; i < 3; i++) {
        const char *start = p;

        while (p < semi && *p >= '0' && *p <= '9')
            p++;
        if (p == start || parse_u64_n(start, (size_t)(p - start), &v[i]) < 0)
            return -EINVAL;
        if (i < 2 && *p != ',')
            return -EINVAL;
        if (i == 2 && *p != ',' && *p != ';')
            return -EINVAL;
        if (*p == ',')
            p++;
    }
    if (v[0] > 0xffffff)
        return -EINVAL;
    ret->level = (unsigned)(v[0] & 7);
    ret->facility = (unsigned)(v[0] >> 3);
    ret->seq = v[1];
    ret->usec = v[2];
    ret->text = semi + 1;
    return 0;
}

int
kmsg_parse_oom_kill(const char *text, uint64_t *ret_pid, char *ret_comm, size_t comm_size)
{
    const char *p = strstr(text, "Killed process "), *start, *end;
    uint64_t pid;
    size_t n;

    if (!p)
        return 0;
    p += strlen("Killed process ");
    start = p;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == start || parse_u64_n(start, (size_t)(p - start), &pid) < 0)
        return 0;
    if (p[0] != ' ' || p[1] != '(')
        return 0;
    start = p + 2;
    /* A comm may itself hold ')' ("(sd-pam)"): prefer the one before " total-vm". */
    end = strstr(start, ") total-vm");
    if (!end)
        end = strchr(start, ')');
    if (!end)
        return 0;
    n = (size_t)(end - start);
    if (comm_size == 0)
        return 0;
    if (n >= comm_size)
        n = comm_size - 1;
    memcpy(ret_comm, start, n);
    ret_comm[n] = '\0';
    *ret_pid = pid;
    return 1;
}

static int
kmsg_init(void **ret_ctx)
{
    struct kmsg_ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    c->fd = -1;
    c->nlines = KMSG_LINES_DEFAULT;
    *ret_ctx = c;
    return 0;
}

static int
kmsg_configure(void *ctx, const char *key, const char *value)
{
    struct kmsg_ctx *c = ctx;
    uint64_t v;

    if (strcmp(key, "lines") != 0)
        return -ENOENT;
    if (conf_uint(value, &v) < 0 || v > KMSG_LINES_LIMIT)
        return -EINVAL;
    if (c->ring)
        return -EBUSY;
    c->nlines = v;
    return 0;
}

static int
open_kmsg(struct kmsg_ctx *c, const char *root)
{
    int fd;

    if (c->fd >= 0)
        return 0;
    fd = root_open(root, "/dev/kmsg", O_RDONLY | O_NONBLOCK);
    if (fd < 0)
        return fd;
    c->fd = fd;
    c->len = 0;
    c->opened = 1;
    return 0;
}

static int
kmsg_start(void *ctx, const char *root)
{
    struct kmsg_ctx *c = ctx;

    if (!c->ring && c->nlines > 0) {
        c->ring = calloc(c->nlines, sizeof(*c->ring));
        if (!c->ring)
            return -ENOMEM;
    }
    /* A missing /dev/kmsg is reported by read(), which retries the open. */
    (void)open_kmsg(c, root);
    return 0;
}

static int
is_warning(const char *t)
{
    return strncmp(t, "WARNING: ", 9) == 0 || strncmp(t, "BUG: ", 5) == 0 ||
           strncmp(t, "Oops", 4) == 0 || strstr(t, "Internal error: Oops") != NULL ||
           strncmp(t, "Unable to handle kernel ", 24) == 0;
}

static void
keep_line(struct kmsg_ctx *c, const char *text)
{
    if (!c->ring || c->nlines == 0)
        return;
    (void)procfile_copy_line(c->ring[c->head], KMSG_LINE_MAX, text);
    c->head = (c->head + 1) % c->nlines;
    if (c->count < c->nlines)
        c->count++;
}

static void
handle_line(struct kmsg_ctx *c, const char *line)
{
    struct kmsg_record rec;
    const char *text = line;

    if (line[0] == ' ' || line[0] == '\0')
        return; /* continuation "KEY=value" dictionary line */
    if (kmsg_parse_record(line, &rec) == 0)
        text = rec.text;
    else
        c->garbled++; /* not a kmsg record: take the whole line as text */
    c->records++;
    if (kmsg_parse_oom_kill(text, &c->oom_pid, c->oom_comm, sizeof(c->oom_comm))) {
        c->oom_kills++;
        c->have_oom = 1;
    }
    if (strncmp(text, "---[ end ", 9) != 0 && strstr(text, "Kernel panic - not syncing"))
        c->panics++;
    if (is_warning(text))
        c->warnings++;
    keep_line(c, text);
}

/* Handle every complete line in the buffer; keep the partial tail. */
static void
drain_lines(struct kmsg_ctx *c)
{
    size_t start = 0;

    for (;;) {
        char *nl = memchr(c->buf + start, '\n', c->len - start);

        if (!nl)
            break;
        *nl = '\0';
        if (c->skipping)
            c->skipping = 0;
        else
            handle_line(c, c->buf + start);
        start = (size_t)(nl - c->buf) + 1;
    }
    if (start > 0) {
        memmove(c->buf, c->buf + start, c->len - start);
        c->len -= start;
    } else if (c->len == sizeof(c->buf) - 1) {
        /* No newline in a full buffer: garbage; drop it. */
        if (!c->skipping)
            c->long_lines++;
        c->skipping = 1;
        c->len = 0;
    }
}

/* Read what is available now. 0, or a negative errno (the fd is then closed). */
static int
follow(struct kmsg_ctx *c)
{
    size_t budget = KMSG_BYTES_PER_READ;

    while (budget > 0) {
        ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EPIPE) {
                c->overruns++;
                continue;
            }
            if (errno == EAGAIN)
                return 0;
            n = -errno;
            (void)close(c->fd);
            c->fd = -1;
            return (int)n;
        }
        if (n == 0)
            return 0; /* a regular file under --root: more may be appended later */
        /* NULs would cut a line short: make them blanks. */
        for (ssize_t i = 0; i < n; i++)
            if (c->buf[c->len + (size_t)i] == '\0')
                c->buf[c->len + (size_t)i] = ' ';
        c->len += (size_t)n;
        budget -= MIN(budget, (size_t)n);
        drain_lines(c);
    }
    return 0;
}

static int
kmsg_read(void *ctx, const char *root, struct expo_writer *w)
{
    struct kmsg_ctx *c = ctx;
    int r;

    r = kmsg_start(c, root);
    if (r < 0)
        return r;
    r = open_kmsg(c, root);
    if (r == 0)
        r = follow(c);
    if (!c->opened)
        return r;

    (void)emit_counter(w, "soak_kmsg_oom_kills", "OOM killer kills seen in the kernel log.",
                       NULL, 0, (double)c->oom_kills);
    (void)emit_counter(w, "soak_kmsg_panics", "Kernel panics seen in the kernel log.", NULL, 0,
                       (double)c->panics);
    (void)emit_counter(w, "soak_kmsg_warnings", "Kernel WARNINGs, oopses and BUGs seen.", NULL,
                       0, (double)c->warnings);
    (void)emit_counter(w, "soak_kmsg_records", "Kernel log records read.", NULL, 0,
                       (double)c->records);
    (void)emit_counter(w, "soak_kmsg_garbled", "Lines that were not kernel log records.",
                       NULL, 0, (double)(c->garbled + c->long_lines));
    (void)emit_counter(w, "soak_kmsg_overruns",
                       "Times records were overwritten before they could be read.", NULL, 0,
                       (double)c->overruns);
    if (c->have_oom) {
        char pid[24];
        struct expo_label l[2] = { { "pid", pid }, { "comm", c->oom_comm } };

        (void)snprintf(pid, sizeof(pid), "%llu", (unsigned long long)c->oom_pid);
        (void)emit_gauge_labels(w, "soak_kmsg_last_oom_kill_info",
                                "The last process the OOM killer killed.", l, 2, 1);
    }
    if (expo_error(w))
        return expo_error(w);
    return r;
}

int
kmsg_last_oom_kill(void *ctx, uint64_t *ret_pid, char *ret_comm, size_t comm_size)
{
    struct kmsg_ctx *c = ctx;

    if (!c || !c->have_oom || comm_size == 0)
        return 0;
    *ret_pid = c->oom_pid;
    (void)snprintf(ret_comm, comm_size, "%s", c->oom_comm);
    return 1;
}

size_t
kmsg_last_lines(void *ctx, void (*fn)(void *userdata, const char *line), void *userdata)
{
    struct kmsg_ctx *c = ctx;
    size_t first;

    if (!c || c->count == 0)
        return 0;
    first = (c->head + c->nlines - c->count) % c->nlines;
    for (size_t i = 0; i < c->count; i++)
        fn(userdata, c->ring[(first + i) % c->nlines]);
    return c->count;
}

static void
kmsg_fini(void *ctx)
{
    struct kmsg_ctx *c = ctx;

    if (!c)
        return;
    if (c->fd >= 0)
        (void)close(c->fd);
    free(c->ring);
    free(c);
}

const struct collector_ops kmsg_collector = {
    .name = "kmsg",
    .help = "kernel log: OOM kills, panics, warnings, last lines (soak_kmsg_*)",
    .init = kmsg_init,
    .configure = kmsg_configure,
    .start = kmsg_start,
    .read = kmsg_read,
    .fini = kmsg_fini,
};
