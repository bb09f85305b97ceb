/* SPDX-License-Identifier: MIT */
/*
 * uptime: boot time (/proc/stat btime, node_boot_time_seconds), wall time
 * (node_time_seconds), uptime (/proc/uptime, soak_uptime_seconds) and the boot
 * id (/proc/sys/kernel/random/boot_id, soak_boot_info{boot_id} 1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"
#include "parse.h"
#include "procfile.h"
#include "rootfs.h"

#define UPTIME_LINE_MAX 1024 /* bytes; /proc/stat's "intr" line is longer and is skipped */
#define UPTIME_BOOT_ID_MAX 64 /* a boot id is a 36-character UUID */

struct uptime_ctx {
    struct procfile pf;
    struct procfile_keep stat_keep, uptime_keep, boot_id_keep;
    char line[UPTIME_LINE_MAX];
    char small[128];
    char boot_id[UPTIME_BOOT_ID_MAX];
};

static int
uptime_init(void **ret_ctx)
{
    struct uptime_ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    procfile_init(&c->pf, c->line, sizeof(c->line));
    procfile_keep_init(&c->stat_keep);
    procfile_keep_init(&c->uptime_keep);
    procfile_keep_init(&c->boot_id_keep);
    *ret_ctx = c;
    return 0;
}

/* btime from /proc/stat into *ret. 0 or negative errno (-ENODATA when absent). */
static int
read_btime(struct uptime_ctx *c, const char *root, uint64_t *ret)
{
    char *line;
    size_t len;
    int r, found = -ENODATA;

    r = procfile_open_keep(&c->pf, &c->stat_keep, root, "/proc/stat");
    if (r < 0)
        return r;
    while ((r = procfile_next(&c->pf, &line, &len)) > 0) {
        char *f[3];

        if (strncmp(line, "btime", 5) != 0)
            continue;
        if (procfile_split(line, f, 3) != 2 || strcmp(f[0], "btime") != 0 ||
            parse_u64(f[1], ret) < 0) {
            found = -EINVAL;
            break;
        }
        found = 0;
        break;
    }
    procfile_close(&c->pf);
    if (r < 0)
        return r;
    return found;
}

static int
is_uuid_char(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') ||
           ch == '-';
}

static int
uptime_read(void *ctx, const char *root, struct expo_writer *w)
{
    struct uptime_ctx *c = ctx;
    struct timespec ts;
    uint64_t btime;
    ssize_t n;
    int r, err = 0;

    r = read_btime(c, root, &btime);
    if (r == 0)
        (void)expo_single(w, "node_boot_time_seconds", METRIC_GAUGE,
                          "Node boot time, in unixtime.", (double)btime);
    else
        err = r;

    if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
        (void)expo_single(w, "node_time_seconds", METRIC_GAUGE,
                          "System time in seconds since epoch (1970).",
                          (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);

    n = procfile_keep_read_line(&c->uptime_keep, root, "/proc/uptime", c->small,
                                sizeof(c->small));
    if (n >= 0) {
        char *f[2];
        double up;

        if (procfile_split(c->small, f, 2) >= 1 && parse_double(f[0], &up) == 0 && up >= 0)
            (void)expo_single(w, "soak_uptime_seconds", METRIC_GAUGE,
                              "Seconds since boot, from /proc/uptime.", up);
        else if (!err)
            err = -EINVAL;
    } else if (!err) {
        err = (int)n;
    }

    n = procfile_keep_read_line(&c->boot_id_keep, root, "/proc/sys/kernel/random/boot_id",
                                c->boot_id, sizeof(c->boot_id));
    if (n > 0) {
        int ok = 1;

        for (ssize_t i = 0; i < n; i++)
            ok &= is_uuid_char(c->boot_id[i]);
        if (ok) {
            struct expo_label l = { "boot_id", c->boot_id };

            (void)expo_family(w, "soak_boot_info", METRIC_GAUGE,
                              "Boot id of the running kernel (changes on every boot).");
            (void)expo_sample(w, "soak_boot_info", &l, 1, 1);
        } else if (!err) {
            err = -EINVAL;
        }
    } else if (!err) {
        err = n < 0 ? (int)n : -EINVAL;
    }
    if (expo_error(w))
        return expo_error(w);
    return err;
}

static void
uptime_fini(void *ctx)
{
    struct uptime_ctx *c = ctx;

    if (!c)
        return;
    procfile_close(&c->pf);
    procfile_keep_close(&c->stat_keep);
    procfile_keep_close(&c->uptime_keep);
    procfile_keep_close(&c->boot_id_keep);
    free(c);
}

const struct collector_ops uptime_collector = {
    .name = "uptime",
    .help = "boot time, wall time, uptime and boot id",
    .init = uptime_init,
    .read = uptime_read,
    .fini = uptime_fini,
};
