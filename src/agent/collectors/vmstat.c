/* SPDX-License-Identifier: MIT */
/*
 * vmstat: numeric /proc/vmstat fields as node_vmstat_<field>, untyped like
 * node_exporter (some are counters, some gauges, the file does not say which).
 * Which fields: `fields = PATTERN ...` (fnmatch patterns; `*` = every field, so a
 * field a new kernel adds appears without a code change). The default is
 * node_exporter's default set plus the counters soak's analysis reads.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "collector.h"
#include "emit.h"
#include "hash.h"
#include "parse.h"
#include "parsers.h"
#include "procfile.h"

#define VMSTAT_LINE_MAX 4096  /* read buffer = longest line kept; a page a read (fewer syscalls) */
#define VMSTAT_FIELDS_MAX 512 /* distinct fields per read; kernels have ~180 */
#define VMSTAT_PATTERNS_MAX 32 /* patterns in `fields` */
#define VMSTAT_PATTERNS_LEN 512 /* bytes of the `fields` value */
#define VMSTAT_MEMO_SLOTS 512 /* field names whose pattern match is remembered (power of two) */
/* node_exporter's ^(oom_kill|pgpg|pswp|pg.*fault) plus the slab/free-page counters. */
#define VMSTAT_DEFAULT_FIELDS "oom_kill pgpg* pswp* pg*fault nr_slab_* nr_free_pages workingset_*"


struct vmstat_ctx {
    struct procfile pf;
    struct procfile_keep keep;
    struct emit_nameset seen;
    char line[VMSTAT_LINE_MAX];
    char patterns[VMSTAT_PATTERNS_LEN]; /* the `fields` value, split in place */
    const char *pattern[VMSTAT_PATTERNS_MAX];
    size_t n_patterns;
    /* Whether a field name matches the patterns, by the name's 64-bit hash (0 = free
     * slot; bit 0 of the stored hash is the answer). At most half full: then the
     * patterns are matched without remembering. */
    uint64_t *memo;
    size_t memo_n;
};

/* Split a `fields` value into c->pattern. 0, or -EINVAL when empty or too long. */
static int
vmstat_set_fields(struct vmstat_ctx *c, const char *value)
{
    char *p = c->patterns;

    if (str_concat(c->patterns, sizeof(c->patterns), value, NULL) < 0)
        return -EINVAL;
    c->n_patterns = 0;
    for (;;) {
        p += strspn(p, " \t,");
        if (!*p)
            break;
        if (c->n_patterns >= VMSTAT_PATTERNS_MAX)
            return -EINVAL;
        c->pattern[c->n_patterns++] = p;
        p += strcspn(p, " \t,");
        if (*p)
            *p++ = '\0';
    }
    return c->n_patterns ? 0 : -EINVAL;
}

static int
match_patterns(const struct vmstat_ctx *c, const char *field)
{
    for (size_t i = 0; i < c->n_patterns; i++)
        if (fnmatch(c->pattern[i], field, 0) == 0)
            return 1;
    return 0;
}

/* The fields of /proc/vmstat are the same on every read: match each name once. */
static int
vmstat_wanted(void *ctx, const char *field)
{
    struct vmstat_ctx *c = ctx;
    uint64_t h = fnv1a(field) | 2; /* never 0 */
    size_t i = (size_t)(h >> 2) & (VMSTAT_MEMO_SLOTS - 1);
    int want;

    if (!c->memo)
        return match_patterns(c, field);
    for (; c->memo[i]; i = (i + 1) & (VMSTAT_MEMO_SLOTS - 1))
        if ((c->memo[i] | 1) == (h | 1))
            return (int)(c->memo[i] & 1);
    want = match_patterns(c, field);
    if (c->memo_n < VMSTAT_MEMO_SLOTS / 2) {
        c->memo[i] = (h & ~(uint64_t)1) | (uint64_t)want;
        c->memo_n++;
    }
    return want;
}

static int
vmstat_configure(void *ctx, const char *key, const char *value)
{
    struct vmstat_ctx *c = ctx;

    if (strcmp(key, "fields") != 0)
        return -ENOENT;
    /* New patterns: forget what the old ones matched. */
    if (c->memo)
        memset(c->memo, 0, VMSTAT_MEMO_SLOTS * sizeof(*c->memo));
    c->memo_n = 0;
    return vmstat_set_fields(c, value);
}

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
    procfile_keep_init(&c->keep);
    c->memo = calloc(VMSTAT_MEMO_SLOTS, sizeof(*c->memo));
    if (!c->memo || vmstat_set_fields(c, VMSTAT_DEFAULT_FIELDS) < 0 ||
        emit_nameset_init(&c->seen, VMSTAT_FIELDS_MAX) < 0) {
        free(c->memo);
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
    const struct emit_fields_spec spec = {
        .path = "/proc/vmstat",
        .prefix = "node_vmstat_",
        .help = "/proc/vmstat information field ",
        .type = METRIC_UNTYPED,
        .parse_line = vmstat_parse_line,
        .wanted = vmstat_wanted,
        .wanted_ctx = c,
    };

    return emit_fields_file(&c->pf, &c->keep, &c->seen, root, &spec, w);
}

static void
vmstat_fini(void *ctx)
{
    struct vmstat_ctx *c = ctx;

    if (!c)
        return;
    procfile_close(&c->pf);
    procfile_keep_close(&c->keep);
    emit_nameset_free(&c->seen);
    free(c->memo);
    free(c);
}

const struct collector_ops vmstat_collector = {
    .name = "vmstat",
    .help = "/proc/vmstat fields (node_vmstat_*; `fields` patterns, * for all)",
    .init = vmstat_init,
    .configure = vmstat_configure,
    .read = vmstat_read,
    .fini = vmstat_fini,
};
