/* SPDX-License-Identifier: MIT */
/*
 * soak web - serve the dashboard and the JSON API over an existing store,
 * without polling (the same pages `soak server` serves on [server] listen).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "farmconf.h"
#include "log.h"
#include "parse.h"
#include "web.h"

#define WEB_DEFAULT_LISTEN "127.0.0.1:8080"

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void
usage(FILE *f)
{
    (void)fprintf(
        f,
        "Usage: soak web (--db PATH | --store SPEC | --config FILE) [OPTIONS]\n"
        "\n"
        "Serve the farm dashboard and the JSON API (docs/API.md) over an existing store,\n"
        "without polling: e.g. over a history imported with `soak import`, or next to a\n"
        "`soak server` that polls into the same database. Runs until SIGINT or SIGTERM.\n"
        "\n"
        "Options:\n"
        "  --db PATH           SQLite database (must exist)\n"
        "  --store SPEC        sqlite:PATH or postgresql://...\n"
        "  --config FILE       farm config: its [server] store, listen, listen_token and\n"
        "                      baseline, and its devices are used\n"
        "  --listen ADDR:PORT  where to serve (default: the config's listen, "
        "else " WEB_DEFAULT_LISTEN ";\n"
        "                      port 0 picks a free port; the URL is printed on stdout)\n"
        "  --token TOKEN       require this bearer token (also ?token= or the soak_token cookie;\n"
        "                      default: the config's listen_token)\n"
        "  --baseline BUILD    build that verdicts compare against\n"
        "  --refresh SECONDS   auto refresh period of the pages (default 60, 0 = 60)\n"
        "  --duration SECONDS  stop after this long (tests)\n"
        "  -h, --help          this help\n"
        "\n"
        "Exit: 0 stopped by a signal or --duration, 1 cannot serve, 2 usage error.\n");
}

void
web_device_from_conf(struct web_device *ret, const struct farm_conf *c,
                     const struct farm_device *d)
{
    *ret = (struct web_device){.name = d->name,
                               .url = d->url,
                               .interval = farm_device_interval(c, d),
                               .model = d->model,
                               .n_ram_sizes = MIN(d->n_ram_sizes, WEB_RAM_SIZES_MAX)};
    memcpy(ret->ram_sizes, d->ram_sizes, ret->n_ram_sizes * sizeof(ret->ram_sizes[0]));
}

int
cmd_web(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},      {"store", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},  {"listen", required_argument, NULL, 'l'},
        {"token", required_argument, NULL, 't'},   {"baseline", required_argument, NULL, 'b'},
        {"refresh", required_argument, NULL, 'r'}, {"duration", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *spec = NULL, *config = NULL, *listen = NULL, *token = NULL;
    const char *baseline = NULL;
    uint64_t refresh = 0;
    double duration = 0;
    char specbuf[4096], err[512];
    struct farm_conf *fc = NULL;
    struct web_device *devs = NULL;
    struct web *w = NULL;
    int c, r, rc = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 's':
            spec = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'l':
            listen = optarg;
            break;
        case 't':
            token = optarg;
            break;
        case 'b':
            baseline = optarg;
            break;
        case 'r':
            if (parse_u64(optarg, &refresh) < 0 || refresh > 86400) {
                log_warnx("web: --refresh wants seconds from 0 to 86400");
                return 2;
            }
            break;
        case 'D':
            if (parse_double(optarg, &duration) < 0 || !(duration > 0)) {
                log_warnx("web: --duration wants a positive number of seconds");
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
    if (optind < argc || (!db && !spec && !config)) {
        usage(stderr);
        return 2;
    }
    if (config) {
        r = farmconf_load(config, &fc, err, sizeof(err));
        if (r < 0) {
            log_warnx("web: %s", err);
            return 2;
        }
        if (!spec && !db)
            spec = fc->store;
        if (!listen)
            listen = fc->listen;
        if (!token)
            token = fc->listen_token;
        if (!baseline)
            baseline = fc->baseline;
    }
    if (db) {
        struct stat sb;
        if (stat(db, &sb) < 0) {
            log_warnx("web: no database at %s (create one with soak import or soak server)", db);
            farmconf_free(fc);
            return 1;
        }
        (void)snprintf(specbuf, sizeof(specbuf), "sqlite:%s", db);
        spec = specbuf;
    }
    if (!spec) {
        log_warnx("web: no store: give --db, --store, or a config with [server] store");
        farmconf_free(fc);
        return 2;
    }
    if (fc && fc->n_dev > 0) {
        devs = calloc(fc->n_dev, sizeof(*devs));
        if (!devs) {
            farmconf_free(fc);
            return 1;
        }
        for (size_t i = 0; i < fc->n_dev; i++)
            web_device_from_conf(&devs[i], fc, &fc->dev[i]);
    }
    struct web_config wc = {
        .listen = listen ? listen : WEB_DEFAULT_LISTEN,
        .store_spec = spec,
        .token = token,
        .farm_config = config,
        .devices = devs,
        .n_devices = fc ? fc->n_dev : 0,
        .baseline = baseline,
        .refresh_seconds = (unsigned)refresh,
    };
    struct sigaction sa = {.sa_handler = on_signal};
    (void)sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);

    r = web_start(&wc, &w);
    if (r < 0)
        goto out;
    {
        /* The URL the user (and the tests) open; IPv6 literals get brackets. */
        const char *l = wc.listen;
        const char *colon = strrchr(l, ':');
        int hostlen = colon ? (int)(colon - l) : 0;
        (void)printf("soak web: serving http://%.*s:%u/\n", hostlen, hostlen ? l : "127.0.0.1",
                     web_port(w));
        (void)fflush(stdout);
    }
    double waited = 0;
    while (!stop_requested && (duration <= 0 || waited < duration)) {
        (void)usleep(100 * 1000);
        waited += 0.1;
    }
    rc = 0;
out:
    w = web_stop(w);
    free(devs);
    farmconf_free(fc);
    return rc;
}
