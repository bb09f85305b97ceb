/* SPDX-License-Identifier: MIT */
/*
 * meminfo: every /proc/meminfo field as node_memory_<Field>_bytes (kB x 1024)
 * or node_memory_<Field> for unit-less fields (HugePages_*), like node_exporter.
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

#define MEMINFO_LINE_MAX 2048 /* read buffer = longest line kept; the whole file (~1.5 KB) in one read */
#define MEMINFO_FIELDS_MAX 256 /* distinct fields per read; kernels have ~60 */

struct meminfo_ctx {
    struct procfile pf;
    struct procfile_keep keep;
    struct emit_nameset seen;
    char line[MEMINFO_LINE_MAX];
};

int
meminfo_parse_line(char *line, char *ret_name, size_t size, double *ret_value)
{
    char field[EMIT_NAME_MAX], *key, *value, *unit;
    uint64_t v;
    int n, r;

    r = procfile_key_value(line, &key, &value, &unit);
    if (r < 0)
        return r;
    r = parse_u64(value, &v);
    if (r < 0)
        return -EINVAL;
    if (expo_sanitize_name(field, sizeof(field), key) < 0)
        return -EINVAL;
    if (strcmp(unit, "kB") == 0) {
        n = str_concat(ret_name, size, "node_memory_", field, "_bytes", NULL);
        *ret_value = (double)v * 1024.0;
    } else if (unit[0] == '\0') {
        n = str_concat(ret_name, size, "node_memory_", field, NULL);
        *ret_value = (double)v;
    } else {
        return -EINVAL;
    }
    if (n < 0)
        return -EINVAL;
    return 0;
}

static int
meminfo_init(void **ret_ctx)
{
    struct meminfo_ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    procfile_init(&c->pf, c->line, sizeof(c->line));
    procfile_keep_init(&c->keep);
    if (emit_nameset_init(&c->seen, MEMINFO_FIELDS_MAX) < 0) {
        free(c);
        return -ENOMEM;
    }
    *ret_ctx = c;
    return 0;
}

static int
meminfo_read(void *ctx, const char *root, struct expo_writer *w)
{
    static const struct emit_fields_spec spec = {
        .path = "/proc/meminfo",
        .prefix = "node_memory_",
        .help = "Memory information field ",
        .type = METRIC_GAUGE,
        .parse_line = meminfo_parse_line,
    };
    struct meminfo_ctx *c = ctx;

    return emit_fields_file(&c->pf, &c->keep, &c->seen, root, &spec, w);
}

static void
meminfo_fini(void *ctx)
{
    struct meminfo_ctx *c = ctx;

    if (!c)
        return;
    procfile_close(&c->pf);
    procfile_keep_close(&c->keep);
    emit_nameset_free(&c->seen);
    free(c);
}

const struct collector_ops meminfo_collector = {
    .name = "meminfo",
    .help = "every /proc/meminfo field (node_memory_*)",
    .init = meminfo_init,
    .read = meminfo_read,
    .fini = meminfo_fini,
};
