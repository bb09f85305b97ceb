/* SPDX-License-Identifier: MIT */
/*
 * soak retention - drop and downsample old samples of every device in a store.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "conf.h"
#include "log.h"
#include "store.h"
#include "storecli.h"

static void
usage(FILE *f)
{
    (void)fprintf(
        f, "Usage: soak retention --db SPEC [--keep D] [--downsample-after D --step D] [--now T]\n"
           "\n"
           "Apply retention to every device of the store: samples older than --keep are\n"
           "deleted; samples older than --downsample-after are thinned to one per --step (the\n"
           "last sample of each step, which keeps counters exact). Run it from cron or a timer;\n"
           "running it again changes nothing. Head records are compacted into chunks first.\n"
           "Durations: a number and a unit s, m, h, d or w (90d, 12h, 10m).\n"
           "\n"
           "Options:\n"
           "  --db SPEC                sqlite:PATH, a plain PATH, or postgresql://...\n"
           "  --keep D                 delete samples older than D (default: keep all)\n"
           "  --downsample-after D     thin samples older than D ...\n"
           "  --step D                 ... to one per D\n"
           "  --now T                  reference time (unix seconds or RFC 3339; default now)\n"
           "  -h, --help               this help\n"
           "\n"
           "Exit: 0 applied, 1 store error, 2 usage error.\n");
}

/* A retention duration ("90d", "12h", "2w"; a unit is required) in ms. 0 or -EINVAL. */
static int
duration_parse(const char *s, int64_t *ret_ms)
{
    size_t n = strlen(s);
    double sec;

    /* conf_duration() takes a bare number as seconds: here that is more likely a slip. */
    if (n < 2 || !strchr("smhdw", s[n - 1]) || conf_duration(s, &sec) < 0 || !(sec >= 0.001) ||
        sec > (double)(INT64_MAX / 1000))
        return -EINVAL;
    *ret_ms = (int64_t)(sec * 1000);
    return 0;
}

int
cmd_retention(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"keep", required_argument, NULL, 'k'},
        {"downsample-after", required_argument, NULL, 'a'},
        {"step", required_argument, NULL, 's'},
        {"now", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL;
    int64_t keep = 0, after = 0, step = 0, now = (int64_t)time(NULL) * 1000;
    struct store *st = NULL;
    int c, r;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int64_t *dst = c == 'k' ? &keep : c == 'a' ? &after : &step;
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'k':
        case 'a':
        case 's':
            if (duration_parse(optarg, dst) < 0) {
                log_warnx("'%s' is not a duration (90d, 12h, 10m)", optarg);
                return 2;
            }
            break;
        case 'n':
            if (storecli_time_parse(optarg, &now) < 0) {
                log_warnx("--now: '%s' is neither unix seconds nor RFC 3339", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!db || optind < argc || (!keep && !after) || (!after != !step)) {
        log_warnx("retention needs --db and --keep and/or --downsample-after with --step "
                  "(see soak retention --help)");
        return 2;
    }
    if (keep && after && after >= keep) {
        log_warnx("--downsample-after must be shorter than --keep");
        return 2;
    }
    if (storecli_open("retention", db, &st) < 0)
        return 1;
    r = store_retention(st, now, keep, after, step);
    if (r < 0)
        log_warnx("retention failed, nothing changed: %s", store_errmsg(st));
    store_close(st);
    return r < 0 ? 1 : 0;
}
