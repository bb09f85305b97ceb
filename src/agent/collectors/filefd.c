/* SPDX-License-Identifier: MIT */
/* filefd: node_filefd_allocated and node_filefd_maximum from /proc/sys/fs/file-nr. */
#include <errno.h>
#include <stdlib.h>

#include "collector.h"
#include "parse.h"
#include "procfile.h"
#include "rootfs.h"

#define FILEFD_BUF 128 /* bytes; file-nr is one short line */

struct filefd_ctx {
    struct procfile_keep keep;
    char buf[FILEFD_BUF];
};

static int
filefd_init(void **ret_ctx)
{
    struct filefd_ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    procfile_keep_init(&c->keep);
    *ret_ctx = c;
    return 0;
}

static int
filefd_read(void *ctx, const char *root, struct expo_writer *w)
{
    struct filefd_ctx *c = ctx;
    uint64_t alloc, max;
    char *f[3];
    ssize_t n;

    n = procfile_keep_read_line(&c->keep, root, "/proc/sys/fs/file-nr", c->buf, sizeof(c->buf));
    if (n < 0)
        return (int)n;
    /* "allocated<TAB>free<TAB>max"; any blanks accepted. */
    if (procfile_split(c->buf, f, 3) != 3)
        return -EINVAL;
    if (parse_u64(f[0], &alloc) < 0 || parse_u64(f[2], &max) < 0)
        return -EINVAL;
    (void)expo_single(w, "node_filefd_allocated", METRIC_GAUGE,
                      "File descriptor statistics: allocated.", (double)alloc);
    (void)expo_single(w, "node_filefd_maximum", METRIC_GAUGE,
                      "File descriptor statistics: maximum.", (double)max);
    return expo_error(w);
}

static void
filefd_fini(void *ctx)
{
    struct filefd_ctx *c = ctx;

    if (c)
        procfile_keep_close(&c->keep);
    free(c);
}

const struct collector_ops filefd_collector = {
    .name = "filefd",
    .help = "open file descriptions from /proc/sys/fs/file-nr (node_filefd_*)",
    .init = filefd_init,
    .read = filefd_read,
    .fini = filefd_fini,
};
