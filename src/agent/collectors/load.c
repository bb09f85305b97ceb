/* SPDX-License-Identifier: MIT */
/* load: node_load1/5/15 from /proc/loadavg. */
#include <errno.h>
#include <stdlib.h>

#include "collector.h"
#include "parse.h"
#include "procfile.h"
#include "rootfs.h"

#define LOAD_BUF 256 /* bytes; /proc/loadavg is ~30 */

struct load_ctx {
    struct procfile_keep keep;
    char buf[LOAD_BUF];
};

static int
load_init(void **ret_ctx)
{
    struct load_ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    procfile_keep_init(&c->keep);
    *ret_ctx = c;
    return 0;
}

static int
load_read(void *ctx, const char *root, struct expo_writer *w)
{
    static const char *const names[3] = { "node_load1", "node_load5", "node_load15" };
    static const char *const helps[3] = {
        "1m load average.", "5m load average.", "15m load average." };
    struct load_ctx *c = ctx;
    char *f[3];
    double v[3];
    ssize_t n;

    n = procfile_keep_read_line(&c->keep, root, "/proc/loadavg", c->buf, sizeof(c->buf));
    if (n < 0)
        return (int)n;
    if (procfile_split(c->buf, f, 3) < 3)
        return -EINVAL;
    for (int i = 0; i < 3; i++)
        if (parse_double(f[i], &v[i]) < 0)
            return -EINVAL;
    for (int i = 0; i < 3; i++)
        (void)expo_single(w, names[i], METRIC_GAUGE, helps[i], v[i]);
    return expo_error(w);
}

static void
load_fini(void *ctx)
{
    struct load_ctx *c = ctx;

    if (c)
        procfile_keep_close(&c->keep);
    free(c);
}

const struct collector_ops load_collector = {
    .name = "load",
    .help = "load averages from /proc/loadavg (node_load1/5/15)",
    .init = load_init,
    .read = load_read,
    .fini = load_fini,
};
