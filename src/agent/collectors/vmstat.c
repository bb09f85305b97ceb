/* SPDX-License-Identifier: MIT */
/*
 * vmstat: every numeric /proc/vmstat field as node_vmstat_<field>, untyped like
 * node_exporter (some are counters, some gauges, the file does not say which).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "collector.h"
#include "emit.h"
#include "parse.h"
#include "parsers.h"
#include "procfile.h"

#define VMSTAT_LINE_MAX 256   /* bytes of one line kept */
#define VMSTAT_FIELDS_MAX 512 /* distinct fields per read; kernels have ~180 */

struct vmstat_ctx {
    struct procfile pf;
    struct emit_nameset seen;
    char line[VMSTAT_LINE_MAX];
};

int
vmstat_parse_line(char *line, char *ret_name, size_t size, double *ret_value)
{
    char field[EMIT_NAME_MAX], *f[2];
    int64_t v;
    int n;

    if (procfile_split(line, f, 2) != 2)
        return -EINVAL;
    if (parse_i64(f[1], &v) < 0)
        return -EINVAL;
    if (expo_sanitize_name(field, sizeof(field), f[0]) < 0)
        return -EINVAL;
    n = str_concat(ret_name, size, "node_vmstat_", field, NULL);
    if (n < 0)
        return -EINVAL;
    *ret_value = (double)v;
    return 0;
}

static int
vmstat_init(void **ret_ctx)
{
    struct vmstat_ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    procfile_init(&c->pf, c->line, sizeof(c->line));
    if (emit_nameset_init(&c->seen, VMSTAT_FIELDS_MAX) < 0) {
        free(c);
        return -ENOMEM;
    }
    *ret_ctx = c;
    return 0;
}

static int
vmstat_read(void *ctx, const char *root, struct expo_writer *w)
{
    struct vmstat_ctx *c = ctx;
    char *line, name[EXPO_NAME_MAX + 1], help[EXPO_NAME_MAX + 64];
    size_t len;
    int r, err = 0, fields = 0;

    emit_nameset_reset(&c->seen);
    r = procfile_open(&c->pf, root, "/proc/vmstat");
    if (r < 0)
        return r;
    while ((r = procfile_next(&c->pf, &line, &len)) > 0) {
        double v;

        if (len == 0)
            continue;
        if (vmstat_parse_line(line, name, sizeof(name), &v) < 0) {
            err = -EINVAL;
            continue;
        }
        if (emit_nameset_add(&c->seen, name) <= 0)
            continue;
        (void)str_concat(help, sizeof(help), "/proc/vmstat information field ",
                         name + strlen("node_vmstat_"), ".", NULL);
        (void)expo_single(w, name, METRIC_UNTYPED, help, v);
        fields++;
    }
    if (r < 0)
        err = r;
    if (c->pf.long_lines)
        err = -EINVAL;
    procfile_close(&c->pf);
    if (err == 0 && fields == 0)
        err = -ENODATA;
    if (expo_error(w))
        return expo_error(w);
    return err;
}

static void
vmstat_fini(void *ctx)
{
    struct vmstat_ctx *c = ctx;

    if (!c)
        return;
    procfile_close(&c->pf);
    emit_nameset_free(&c->seen);
    free(c);
}

const struct collector_ops vmstat_collector = {
    .name = "vmstat",
    .help = "every numeric /proc/vmstat field (node_vmstat_*)",
    .init = vmstat_init,
    .read = vmstat_read,
    .fini = vmstat_fini,
};
