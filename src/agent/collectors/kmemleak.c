/* SPDX-License-Identifier: MIT */
/*
 * kmemleak (opt-in, slow): every `scan_interval` write "scan" to
 * /sys/kernel/debug/kmemleak (which returns when the scan is done), then read
 * the report through the shared parser (src/common/kmemleak.h) and export the
 * unreferenced objects: count, bytes, distinct backtraces, and the top
 * allocation sites. Needs CONFIG_DEBUG_KMEMLEAK, debugfs and root; when the file
 * cannot be read soak_kmemleak_readable is 0. Under --root the report file is
 * read as it is and never written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "conf.h"
#include "emit.h"
#include "kmemleak.h"
#include "rootfs.h"

#define KMEMLEAK_PATH "/sys/kernel/debug/kmemleak"
#define KMEMLEAK_TOP_DEFAULT 10
#define KMEMLEAK_TOP_LIMIT 1000
#define KMEMLEAK_SITES_DEFAULT 128    /* distinct allocation sites kept */
#define KMEMLEAK_TRACES_DEFAULT 64    /* distinct backtraces kept */
#define KMEMLEAK_GROUPS_LIMIT 65536
#define KMEMLEAK_SCAN_DEFAULT 600.0   /* seconds between triggered scans */
#define KMEMLEAK_READ_BUF 8192

struct kmemleak_ctx {
    size_t top, max_sites, max_traces;
    double scan_interval;         /* 0 = never trigger a scan */
    double last_scan;             /* monotonic seconds, < 0 = never */
    uint64_t scans, scan_failures;
    struct kmemleak_group *sites, *traces;
    struct kmemleak_table by_site, by_trace;
    struct kmemleak_parser parser;
    char buf[KMEMLEAK_READ_BUF];
};

static int
kmemleak_init(void **ret_ctx)
{
    struct kmemleak_ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    c->top = KMEMLEAK_TOP_DEFAULT;
    c->max_sites = KMEMLEAK_SITES_DEFAULT;
    c->max_traces = KMEMLEAK_TRACES_DEFAULT;
    c->scan_interval = KMEMLEAK_SCAN_DEFAULT;
    c->last_scan = -1;
    *ret_ctx = c;
    return 0;
}

static int
kmemleak_configure(void *ctx, const char *key, const char *value)
{
    struct kmemleak_ctx *c = ctx;
    uint64_t v;
    int on;

    if (strcmp(key, "scan_interval") == 0) {
        if (conf_bool(value, &on) == 0 && !on) {
            c->scan_interval = 0;
            return 0;
        }
        if (conf_duration(value, &c->scan_interval) < 0 || c->scan_interval < 0)
            return -EINVAL;
        return 0;
    }
    if (strcmp(key, "top") == 0 || strcmp(key, "max_sites") == 0 ||
        strcmp(key, "max_backtraces") == 0) {
        if (conf_uint(value, &v) < 0 || v > KMEMLEAK_GROUPS_LIMIT)
            return -EINVAL;
        if (c->sites)
            return -EBUSY;
        if (key[0] == 't') {
            if (v > KMEMLEAK_TOP_LIMIT)
                return -EINVAL;
            c->top = v;
        } else if (strcmp(key, "max_sites") == 0) {
            if (v == 0)
                return -EINVAL;
            c->max_sites = v;
        } else {
            c->max_traces = v;
        }
        return 0;
    }
    return -ENOENT;
}

static int
kmemleak_start(void *ctx, const char *root)
{
    struct kmemleak_ctx *c = ctx;

    (void)root;
    if (c->sites)
        return 0;
    c->sites = calloc(c->max_sites, sizeof(*c->sites));
    c->traces = calloc(c->max_traces ? c->max_traces : 1, sizeof(*c->traces));
    if (!c->sites || !c->traces) {
        free(c->sites);
        free(c->traces);
        c->sites = c->traces = NULL;
        return -ENOMEM;
    }
    return 0;
}

static int
is_real_root(const char *root)
{
    return !root || !root[0] || (root[0] == '/' && root[1] == '\0');
}

static double
now_mono(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
maybe_scan(struct kmemleak_ctx *c, const char *root)
{
    double now;

    if (c->scan_interval <= 0 || !is_real_root(root))
        return;
    now = now_mono();
    if (c->last_scan >= 0 && now - c->last_scan < c->scan_interval)
        return;
    c->last_scan = now;
    if (root_write(root, KMEMLEAK_PATH, "scan") == 0)
        c->scans++;
    else
        c->scan_failures++;
}

/* Parse the report into the tables. 0 or negative errno. */
static int
read_report(struct kmemleak_ctx *c, const char *root)
{
    _cleanup_close_ int fd = -1;

    kmemleak_table_init(&c->by_site, c->sites, c->max_sites);
    kmemleak_table_init(&c->by_trace, c->traces, c->max_traces);
    kmemleak_parser_init(&c->parser, &c->by_trace, &c->by_site);
    fd = root_open(root, KMEMLEAK_PATH, O_RDONLY);
    if (fd < 0)
        return fd;
    for (;;) {
        ssize_t n = read(fd, c->buf, sizeof(c->buf));

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        (void)kmemleak_parser_feed(&c->parser, c->buf, (size_t)n);
    }
    (void)kmemleak_parser_finish(&c->parser);
    kmemleak_table_sort(&c->by_site);
    return 0;
}

static int
kmemleak_read(void *ctx, const char *root, struct expo_writer *w)
{
    struct kmemleak_ctx *c = ctx;
    int r;

    r = kmemleak_start(c, root);
    if (r < 0)
        return r;
    maybe_scan(c, root);
    r = read_report(c, root);
    (void)expo_single(w, "soak_kmemleak_readable", METRIC_GAUGE,
                      "1 when the kmemleak report could be read (debugfs, root), else 0.",
                      r == 0);
    if (is_real_root(root) && c->scan_interval > 0) {
        (void)emit_counter(w, "soak_kmemleak_scans", "kmemleak scans triggered.", NULL, 0,
                           (double)c->scans);
        (void)emit_counter(w, "soak_kmemleak_scan_failures", "kmemleak scans that failed.",
                           NULL, 0, (double)c->scan_failures);
    }
    if (r < 0)
        return expo_error(w) ? expo_error(w) : r;

    (void)expo_single(w, "soak_kmemleak_unreferenced_objects", METRIC_GAUGE,
                      "Unreferenced objects in the kmemleak report.",
                      (double)c->parser.objects);
    (void)expo_single(w, "soak_kmemleak_unreferenced_bytes", METRIC_GAUGE,
                      "Bytes of the unreferenced objects in the kmemleak report.",
                      (double)c->parser.bytes);
    (void)expo_single(w, "soak_kmemleak_backtraces", METRIC_GAUGE,
                      "Distinct backtraces of unreferenced objects (capped at max_backtraces).",
                      (double)c->by_trace.n);
    if (c->by_site.n > 0 && c->top > 0) {
        size_t n = MIN(c->top, c->by_site.n);

        for (int pass = 0; pass < 2; pass++) {
            const char *name = pass ? "soak_kmemleak_site_bytes" : "soak_kmemleak_site_objects";

            (void)expo_family(w, name, METRIC_GAUGE,
                              pass ? "Bytes of unreferenced objects by allocation site."
                                   : "Unreferenced objects by allocation site (top sites).");
            for (size_t i = 0; i < n; i++) {
                const struct kmemleak_group *g = &c->by_site.g[i];
                const char *type = kmemleak_site_type(g->site);
                struct expo_label l[3] = { { "site", g->site[0] ? g->site : "unknown" },
                                           { "caller", g->caller },
                                           { "type", type ? type : "" } };

                (void)expo_sample(w, name, l, 3,
                                  pass ? (double)g->bytes : (double)g->objects);
            }
        }
    }
    if (expo_error(w))
        return expo_error(w);
    /* Garbled lines: the counts above are what could be parsed. */
    return c->parser.bad_lines > 0 ? -EINVAL : 0;
}

static void
kmemleak_fini(void *ctx)
{
    struct kmemleak_ctx *c = ctx;

    if (!c)
        return;
    free(c->sites);
    free(c->traces);
    free(c);
}

const struct collector_ops kmemleak_collector = {
    .name = "kmemleak",
    .help = "kmemleak scans: unreferenced objects, bytes and top allocation sites (opt-in)",
    .flags = COLLECTOR_DEFAULT_OFF | COLLECTOR_SLOW,
    .interval = 600,
    .init = kmemleak_init,
    .configure = kmemleak_configure,
    .start = kmemleak_start,
    .read = kmemleak_read,
    .fini = kmemleak_fini,
};
