/* SPDX-License-Identifier: MIT */
/*
 * thermal: /sys/class/thermal/thermal_zone<N>/{type,temp} as
 * node_thermal_zone_temp{zone="N",type} in degrees Celsius (the file holds
 * millidegrees). A zone whose temp cannot be read (EINVAL/EAGAIN while the
 * sensor is not ready) is left out, not reported as 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "conf.h"
#include "parse.h"
#include "procfile.h"
#include "rootfs.h"

#define THERMAL_ZONES_DEFAULT 64
#define THERMAL_ZONES_LIMIT 4096
#define THERMAL_VALUE_MAX 128 /* bytes of type/temp kept */
#define THERMAL_ZONES_KEPT 32 /* zones whose files stay open between reads */

struct thermal_ctx {
    struct procfile_dir dir;
    struct procfile_cache files; /* temp and type of each zone */
    size_t max_zones;
    char path[ROOT_PATH_MAX];
    char type[THERMAL_VALUE_MAX];
    char temp[THERMAL_VALUE_MAX];
};

static int
thermal_init(void **ret_ctx)
{
    struct thermal_ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    c->max_zones = THERMAL_ZONES_DEFAULT;
    *ret_ctx = c;
    return 0;
}

static int
thermal_configure(void *ctx, const char *key, const char *value)
{
    struct thermal_ctx *c = ctx;
    uint64_t v;

    if (strcmp(key, "max_zones") != 0)
        return -ENOENT;
    if (conf_uint(value, &v) < 0 || v == 0 || v > THERMAL_ZONES_LIMIT)
        return -EINVAL;
    if (c->dir.names)
        return -EBUSY;
    c->max_zones = v;
    return 0;
}

static int
thermal_start(void *ctx, const char *root)
{
    struct thermal_ctx *c = ctx;

    (void)root;
    if (c->dir.names)
        return 0;
    if (procfile_dir_init(&c->dir, c->max_zones) < 0 ||
        procfile_cache_init(&c->files, 2 * MIN(c->max_zones, (size_t)THERMAL_ZONES_KEPT)) < 0) {
        procfile_dir_free(&c->dir);
        procfile_cache_free(&c->files);
        return -ENOMEM;
    }
    return 0;
}

static int
thermal_read(void *ctx, const char *root, struct expo_writer *w)
{
    struct thermal_ctx *c = ctx;
    int r, n, err = 0, family = 0;

    r = thermal_start(c, root);
    if (r < 0)
        return r;
    n = procfile_dir_list(&c->dir, root, "/sys/class/thermal", "thermal_zone");
    if (n < 0)
        return n;
    procfile_cache_begin(&c->files);
    for (int i = 0; i < n; i++) {
        const char *name = c->dir.names[i];
        const char *zone = name + strlen("thermal_zone");
        struct expo_label l[2] = { { "type", c->type }, { "zone", zone } };
        int64_t milli;
        ssize_t k;

        if (snprintf(c->path, sizeof(c->path), "/sys/class/thermal/%s/temp", name) >=
            (int)sizeof(c->path))
            continue;
        k = procfile_cache_read_line(&c->files, root, c->path, c->temp, sizeof(c->temp));
        if (k < 0 || parse_i64(c->temp, &milli) < 0) {
            if (k != -EINVAL && k != -EAGAIN && k != -ENODATA)
                err = k < 0 ? (int)k : -EINVAL;
            continue;
        }
        (void)snprintf(c->path, sizeof(c->path), "/sys/class/thermal/%s/type", name);
        k = procfile_cache_read_line(&c->files, root, c->path, c->type, sizeof(c->type));
        if (k < 0)
            c->type[0] = '\0';
        if (!family) {
            (void)expo_family(w, "node_thermal_zone_temp", METRIC_GAUGE,
                              "Zone temperature in Celsius.");
            family = 1;
        }
        (void)expo_sample(w, "node_thermal_zone_temp", l, 2, (double)milli / 1000.0);
    }
    procfile_cache_end(&c->files);
    if (expo_error(w))
        return expo_error(w);
    return err;
}

static void
thermal_fini(void *ctx)
{
    struct thermal_ctx *c = ctx;

    if (!c)
        return;
    procfile_dir_free(&c->dir);
    procfile_cache_free(&c->files);
    free(c);
}

const struct collector_ops thermal_collector = {
    .name = "thermal",
    .help = "thermal zone temperatures (node_thermal_zone_temp)",
    .init = thermal_init,
    .configure = thermal_configure,
    .start = thermal_start,
    .read = thermal_read,
    .fini = thermal_fini,
};
