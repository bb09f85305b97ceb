/* SPDX-License-Identifier: MIT */
/*
 * slabinfo: every cache of /proc/slabinfo (node_exporter's node_slabinfo_*
 * plus soak_slabinfo_bytes = num_objs * objsize). The file is root-only
 * (mode 0400): when it cannot be read, soak_slabinfo_readable is 0.
 * Optional: write "2" to /proc/sys/vm/drop_caches before a sample, at most once
 * per `drop_caches` seconds (off by default), so only unreclaimable objects remain.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"
#include "conf.h"
#include "emit.h"
#include "parse.h"
#include "parsers.h"
#include "procfile.h"
#include "rootfs.h"

#define SLABINFO_LINE_MAX 1024     /* bytes of one line kept; lines are ~130 */
#define SLABINFO_CACHES_DEFAULT 512 /* caches kept per read; kernels have 150-350 */
#define SLABINFO_CACHES_LIMIT 65536
#define SLABINFO_TOKENS 32          /* tokens looked at per line (16, more with statistics) */

struct slabinfo_ctx {
    struct procfile pf;
    struct procfile_keep keep;
    char line[SLABINFO_LINE_MAX];
    size_t max_caches;
    struct slabinfo_entry *caches; /* max_caches entries, allocated in start/first read */
    size_t n;
    double drop_interval;          /* seconds, 0 = never */
    double last_drop;              /* monotonic seconds of the last drop, < 0 = never */
    uint64_t drops, drop_failures;
};

int
slabinfo_parse_line(char *line, struct slabinfo_entry *ret)
{
    char *f[SLABINFO_TOKENS];
    uint64_t v[5];
    size_t n, len;

    if (strncmp(line, "slabinfo -", 10) == 0 || line[0] == '#')
        return 0;
    n = procfile_split(line, f, ARRAY_SIZE(f));
    if (n == 0)
        return 0;
    if (n < 6)
        return -EINVAL;
    for (size_t i = 0; i < 5; i++)
        if (parse_u64(f[1 + i], &v[i]) < 0)
            return -EINVAL;
    len = strlen(f[0]);
    if (len >= sizeof(ret->name))
        len = sizeof(ret->name) - 1;
    memcpy(ret->name, f[0], len);
    ret->name[len] = '\0';
    ret->active_objs = v[0];
    ret->num_objs = v[1];
    ret->objsize = v[2];
    ret->objperslab = v[3];
    ret->pagesperslab = v[4];
    return 1;
}

static int
slabinfo_init(void **ret_ctx)
{
    struct slabinfo_ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    procfile_init(&c->pf, c->line, sizeof(c->line));
    procfile_keep_init(&c->keep);
    c->max_caches = SLABINFO_CACHES_DEFAULT;
    c->last_drop = -1;
    *ret_ctx = c;
    return 0;
}

static int
slabinfo_configure(void *ctx, const char *key, const char *value)
{
    struct slabinfo_ctx *c = ctx;

    if (strcmp(key, "drop_caches") == 0) {
        int on;
        /* "no"/"off" disable it; otherwise an interval. */
        if (conf_bool(value, &on) == 0 && !on) {
            c->drop_interval = 0;
            return 0;
        }
        if (conf_duration(value, &c->drop_interval) < 0 || c->drop_interval < 0)
            return -EINVAL;
        return 0;
    }
    if (strcmp(key, "max_caches") == 0) {
        uint64_t v;
        if (conf_uint(value, &v) < 0 || v == 0 || v > SLABINFO_CACHES_LIMIT)
            return -EINVAL;
        if (c->caches)
            return -EBUSY;
        c->max_caches = v;
        return 0;
    }
    return -ENOENT;
}

static int
slabinfo_start(void *ctx, const char *root)
{
    struct slabinfo_ctx *c = ctx;

    (void)root;
    if (c->caches)
        return 0;
    c->caches = calloc(c->max_caches, sizeof(*c->caches));
    return c->caches ? 0 : -ENOMEM;
}

static double
now_mono(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
maybe_drop_caches(struct slabinfo_ctx *c, const char *root)
{
    double now;

    if (c->drop_interval <= 0)
        return;
    now = now_mono();
    if (c->last_drop >= 0 && now - c->last_drop < c->drop_interval)
        return;
    c->last_drop = now;
    if (root_write(root, "/proc/sys/vm/drop_caches", "2") == 0)
        c->drops++;
    else
        c->drop_failures++;
}

static int
is_duplicate(const struct slabinfo_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->caches[i].name, name) == 0)
            return 1;
    return 0;
}

static const struct {
    const char *name, *help;
} slab_families[] = {
    { "node_slabinfo_active_objects", "The number of objects that are currently active." },
    { "node_slabinfo_objects", "The total number of allocated objects (active or not)." },
    { "node_slabinfo_object_size_bytes", "The size of objects in this slab, in bytes." },
    { "node_slabinfo_objects_per_slab", "The number of objects stored in each slab." },
    { "node_slabinfo_pages_per_slab", "The number of pages allocated for each slab." },
    { "soak_slabinfo_bytes", "Memory held by the cache: objects times object size, in bytes." },
};

static void
write_family(const struct slabinfo_ctx *c, struct expo_writer *w, const char *name,
             const char *help, int which)
{
    (void)expo_family(w, name, METRIC_GAUGE, help);
    for (size_t i = 0; i < c->n; i++) {
        const struct slabinfo_entry *e = &c->caches[i];
        struct expo_label l = { "slab", e->name };
        double v = 0;

        switch (which) {
        case 0: v = (double)e->active_objs; break;
        case 1: v = (double)e->num_objs; break;
        case 2: v = (double)e->objsize; break;
        case 3: v = (double)e->objperslab; break;
        case 4: v = (double)e->pagesperslab; break;
        default: v = (double)e->num_objs * (double)e->objsize; break;
        }
        (void)expo_sample(w, name, &l, 1, v);
    }
}

static int
slabinfo_read(void *ctx, const char *root, struct expo_writer *w)
{
    struct slabinfo_ctx *c = ctx;
    char *line;
    size_t len;
    int r, err = 0, readable = 1;

    r = slabinfo_start(c, root);
    if (r < 0)
        return r;
    maybe_drop_caches(c, root);
    c->n = 0;
    r = procfile_open_keep(&c->pf, &c->keep, root, "/proc/slabinfo");
    if (r < 0) {
        err = r;
        readable = 0;
    }
    while (readable && (r = procfile_next(&c->pf, &line, &len)) > 0) {
        struct slabinfo_entry e;
        int k = slabinfo_parse_line(line, &e);

        if (k < 0) {
            err = -EINVAL;
            continue;
        }
        if (k == 0 || is_duplicate(c, e.name))
            continue;
        if (c->n >= c->max_caches) {
            err = -E2BIG;
            continue;
        }
        c->caches[c->n++] = e;
    }
    if (readable && r < 0) {
        err = r; /* EACCES shows up here on some kernels: open succeeds, read fails */
        readable = c->n > 0;
    }
    if (c->pf.long_lines && !err)
        err = -EINVAL;
    procfile_close(&c->pf);
    if (readable && c->n == 0 && !err)
        err = -ENODATA;

    (void)expo_single(w, "soak_slabinfo_readable", METRIC_GAUGE,
                      "1 when /proc/slabinfo could be read (it needs root), else 0.", readable);
    if (c->drop_interval > 0) {
        (void)emit_counter(w, "soak_slabinfo_drop_caches", "Writes of 2 to drop_caches.", NULL,
                           0, (double)c->drops);
        (void)emit_counter(w, "soak_slabinfo_drop_caches_failures",
                           "Failed writes to drop_caches.", NULL, 0, (double)c->drop_failures);
    }
    for (int i = 0; c->n > 0 && i < (int)ARRAY_SIZE(slab_families); i++)
        write_family(c, w, slab_families[i].name, slab_families[i].help, i);
    if (expo_error(w))
        return expo_error(w);
    return err;
}

static void
slabinfo_fini(void *ctx)
{
    struct slabinfo_ctx *c = ctx;

    if (!c)
        return;
    procfile_close(&c->pf);
    procfile_keep_close(&c->keep);
    free(c->caches);
    free(c);
}

const struct collector_ops slabinfo_collector = {
    .name = "slabinfo",
    .help = "every slab cache of /proc/slabinfo (node_slabinfo_*, soak_slabinfo_bytes)",
    .init = slabinfo_init,
    .configure = slabinfo_configure,
    .start = slabinfo_start,
    .read = slabinfo_read,
    .fini = slabinfo_fini,
};
