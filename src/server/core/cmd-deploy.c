/* SPDX-License-Identifier: MIT */
/*
 * soak deploy - install a bundle on farm boards and make sure each came back.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "conf.h"
#include "deploy.h"
#include "farmconf.h"
#include "log.h"
#include "store.h"

#define DEPLOY_DEFAULT_WAIT 600.0    /* seconds to wait for a board to come back */
#define DEPLOY_DEFAULT_INSTALL 1800.0 /* seconds the install command may take */
#define DEPLOY_PROBE_EVERY 1.0       /* seconds between probes while waiting */
#define DEPLOY_PROBE_TIMEOUT 5.0     /* seconds per probe request */
#define DEPLOY_DEFAULT_SETTLE 60.0   /* seconds a board that is back may take to settle */

static void
usage(FILE *f)
{
    (void)fprintf(f,
        "Usage: soak deploy --config FILE (--device NAME... | --all) --bundle URL|PATH [OPTIONS]\n"
        "\n"
        "Install a build on farm boards with each device's `install` (and `reboot`) argv\n"
        "templates from the farm config, then wait until the agent answers with a NEW boot id\n"
        "and check what came back: the expected build (not the old one: RAUC falls back when\n"
        "the new slot fails), the same network interfaces up, the same sensors reading.\n"
        "Templates are split on blanks and never passed to a shell; {device}, {host}, {port},\n"
        "{url} and {bundle} are replaced, e.g.\n"
        "  install = sh /usr/share/doc/soak/examples/rauc-install.sh {host} {bundle}\n"
        "  reboot  = ssh root@{host} systemctl reboot\n"
        "(rauc-install.sh copies a local bundle to the board over ssh and runs rauc install,\n"
        "or lets RAUC stream an http(s):// bundle; `ssh root@{host} rauc install {bundle}`\n"
        "works when the bundle is a URL or a path on the board.)\n"
        "\n"
        "Options:\n"
        "  --config FILE      farm config (DESIGN: [server] and [device NAME] sections)\n"
        "  --device NAME      a device to deploy to (repeat for several)\n"
        "  --all              every device of the config, in batches; stops at the first failure\n"
        "  --bundle URL|PATH  the RAUC bundle (or whatever your install command takes)\n"
        "  --build B          the build the board must come back with (its `build` label)\n"
        "  --batch N          devices updated at once with --all (default 1)\n"
        "  --wait SECONDS     how long a board may take to come back (default 600)\n"
        "  --settle SECONDS   once back, how long an interface or sensor may take to come up\n"
        "                     (DHCP, a slow sensor's first read) before it counts as missing\n"
        "                     (default 60; never past --wait)\n"
        "  --install-timeout SECONDS  how long the install command may run (default 1800)\n"
        "  --db SPEC          record deploy events here (default: the config's store)\n"
        "  --dry-run          print what would run, run nothing\n"
        "  -h, --help         this help\n"
        "\n"
        "Exit: 0 every board came back as expected, 1 a board failed (the reason is printed),\n"
        "2 usage or config error.\n");
}

struct target {
    const struct farm_device *dev;
    struct deploy_state before, after;
    int installed;   /* install ran and succeeded */
    int back;        /* answered with a new boot id */
    double back_at;  /* monotonic time it was first seen back */
    int settled;     /* judged for good */
    enum deploy_outcome outcome;
    char msg[768];
};

static double
mono(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Host and port of a URL for the templates. */
static void
url_host_port(const char *url, char *host, size_t hn, char *port, size_t pn)
{
    CURLU *u = curl_url();
    char *h = NULL, *p = NULL;

    host[0] = port[0] = '\0';
    if (!u)
        return;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        if (curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK)
            (void)snprintf(host, hn, "%s", h);
        if (curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK)
            (void)snprintf(port, pn, "%s", p);
    }
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
}

static int
expand(const char *tmpl, const struct farm_device *d, const char *bundle, char ***ret)
{
    char host[256], port[16];
    const char *kv[11];

    url_host_port(d->url, host, sizeof(host), port, sizeof(port));
    kv[0] = "device";
    kv[1] = d->name;
    kv[2] = "host";
    kv[3] = host;
    kv[4] = "port";
    kv[5] = port;
    kv[6] = "url";
    kv[7] = d->url;
    kv[8] = "bundle";
    kv[9] = bundle;
    kv[10] = NULL;
    return farm_argv_expand(tmpl, kv, ret);
}

static void
print_argv(const char *what, char **argv)
{
    (void)printf("    %s:", what);
    for (char **a = argv; *a; a++)
        (void)printf(" %s", *a);
    (void)printf("\n");
}

/*
 * The deploy event: subject = the build the board had to come back with (the bundle when
 * --build was not given), value = 1 came back as expected, 0 failed; detail = bundle and reason.
 * The verdict fails a build whose deploy failed on a device. None for a board that was
 * unreachable before the update.
 */
static void
record(struct store *st, const struct target *t, const char *bundle, const char *build)
{
    struct store_event ev = {0};
    char detail[1024];
    int64_t id;
    struct timespec ts;

    /* A board that did not answer before the update was not touched: the build was not
     * tried there, so there is nothing for the verdict to hold against it. */
    if (!st || t->outcome == DEPLOY_UNREACHABLE_BEFORE)
        return;
    if (store_device(st, t->dev->name, 1, &id) < 0)
        return;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    ev.device_id = id;
    ev.t_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    ev.kind = EVENT_DEPLOY;
    (void)snprintf(detail, sizeof(detail), "%s: %s: %s", bundle,
                   deploy_outcome_name(t->outcome), t->msg);
    ev.subject = (char *)(uintptr_t)(build && *build ? build : bundle);
    ev.detail = detail;
    ev.value = t->outcome == DEPLOY_OK ? 1 : 0;
    if (store_event_add(st, &ev) < 0)
        log_warnx("%s: cannot record the deploy event: %s, ignoring", t->dev->name,
                  store_errmsg(st));
}

/* Update one batch. Returns the number of failed boards. */
/*
 * Whether an outcome of a board that is back may still change: an interface or a sensor
 * missing, or no build reported yet, while the board finishes booting.
 */
static int
may_settle(const struct target *t, enum deploy_outcome o)
{
    return o == DEPLOY_MISSING_IFACE || o == DEPLOY_MISSING_SENSOR ||
           (o == DEPLOY_WRONG_BUILD && !t->after.build[0]);
}

static int
deploy_batch(const struct farm_conf *conf, struct target *ts, size_t n, const char *bundle,
             const char *build, double wait, double settle, double install_timeout,
             struct store *st)
{
    int failed = 0;
    double deadline;
    struct deploy_state probe;

    for (size_t i = 0; i < n; i++) {
        struct target *t = &ts[i];
        const struct farm_device *d = t->dev;
        char **argv = NULL;
        char tail[512];
        int r;

        deploy_probe(d->url, farm_device_token(conf, d), DEPLOY_PROBE_TIMEOUT, &t->before);
        if (!t->before.reachable) {
            t->outcome = DEPLOY_UNREACHABLE_BEFORE;
            (void)snprintf(t->msg, sizeof(t->msg),
                           "unreachable before the update (%s); not touched",
                           t->before.error);
            continue;
        }
        (void)printf("%s: on build '%s', boot id %s; installing %s\n", d->name, t->before.build,
                     t->before.boot_id, bundle);
        (void)fflush(stdout);
        r = expand(d->install, d, bundle, &argv);
        if (r < 0) {
            t->outcome = DEPLOY_INSTALL_FAILED;
            (void)snprintf(t->msg, sizeof(t->msg), "bad install template '%s'", d->install);
            continue;
        }
        r = deploy_run(argv, install_timeout, tail, sizeof(tail));
        farm_argv_free(argv);
        if (r != 0) {
            t->outcome = DEPLOY_INSTALL_FAILED;
            if (r == -ETIMEDOUT)
                (void)snprintf(t->msg, sizeof(t->msg), "install did not finish in %.0f s",
                               install_timeout);
            else
                (void)snprintf(t->msg, sizeof(t->msg), "install failed (%s %d): %s",
                               r < 0 ? "error" : "exit", r < 0 ? -r : r, tail);
            continue;
        }
        t->installed = 1;
        if (d->reboot) {
            r = expand(d->reboot, d, bundle, &argv);
            if (r == 0) {
                /* A reboot command often loses its connection: its status is only logged. */
                r = deploy_run(argv, 60, tail, sizeof(tail));
                farm_argv_free(argv);
                if (r != 0)
                    log_info("%s: reboot command ended with %d (%s), waiting anyway", d->name, r,
                             tail);
            }
        }
    }
    deadline = mono() + wait;
    for (;;) {
        size_t waiting = 0;

        for (size_t i = 0; i < n; i++) {
            struct target *t = &ts[i];

            if (!t->installed || t->settled)
                continue;
            deploy_probe(t->dev->url, farm_device_token(conf, t->dev), DEPLOY_PROBE_TIMEOUT,
                         &probe);
            /* Once back, a failed probe (the board went away again while settling) leaves
             * the last answer in place: that is what gets judged. */
            if (!t->back || probe.reachable)
                t->after = probe;
            if (!t->back && t->after.reachable && t->after.boot_id[0] &&
                strcmp(t->after.boot_id, t->before.boot_id) != 0) {
                t->back = 1;
                t->back_at = mono();
            }
            if (t->back && probe.reachable) {
                enum deploy_outcome o =
                    deploy_judge(&t->before, &t->after, 0, build, t->msg, sizeof(t->msg));

                if (!may_settle(t, o) || mono() >= t->back_at + settle) {
                    t->settled = 1;
                    continue;
                }
            }
            waiting++;
        }
        if (waiting == 0 || mono() >= deadline)
            break;
        {
            /* Never past the deadline: --wait is the time given, not a minimum. */
            double d = MIN(DEPLOY_PROBE_EVERY, deadline - mono());
            struct timespec ts_sleep = {.tv_sec = (time_t)d,
                                        .tv_nsec = (long)((d - (double)(time_t)d) * 1e9)};
            if (d > 0)
                (void)nanosleep(&ts_sleep, NULL);
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct target *t = &ts[i];

        if (t->installed)
            t->outcome = deploy_judge(&t->before, &t->after, !t->back, build, t->msg,
                                      sizeof(t->msg));
        (void)printf("%s: %s %s\n", t->dev->name, t->outcome == DEPLOY_OK ? "OK" : "FAIL",
                     t->msg);
        failed += t->outcome != DEPLOY_OK;
        record(st, t, bundle, build);
    }
    (void)fflush(stdout);
    return failed;
}

int
cmd_deploy(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"device", required_argument, NULL, 'd'},
        {"all", no_argument, NULL, 'a'},
        {"bundle", required_argument, NULL, 'b'},
        {"build", required_argument, NULL, 'B'},
        {"batch", required_argument, NULL, 'n'},
        {"wait", required_argument, NULL, 'w'},
        {"settle", required_argument, NULL, 's'},
        {"install-timeout", required_argument, NULL, 'i'},
        {"db", required_argument, NULL, 'D'},
        {"dry-run", no_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *bundle = NULL, *build = NULL, *db = NULL;
    const char *names[64];
    size_t n_names = 0, batch = 1, n_targets = 0;
    double wait = DEPLOY_DEFAULT_WAIT, install_timeout = DEPLOY_DEFAULT_INSTALL;
    double settle = DEPLOY_DEFAULT_SETTLE;
    int all = 0, dry = 0, c, failed = 0;
    struct farm_conf *conf = NULL;
    struct store *st = NULL;
    struct target *ts = NULL;
    char err[512];
    uint64_t u;
    int rc = 2;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'd':
            if (n_names >= ARRAY_SIZE(names)) {
                log_warnx("deploy: too many --device options");
                return 2;
            }
            names[n_names++] = optarg;
            break;
        case 'a': all = 1; break;
        case 'b': bundle = optarg; break;
        case 'B': build = optarg; break;
        case 'n':
            if (conf_uint(optarg, &u) < 0 || u == 0 || u > 1000) {
                log_warnx("deploy: --batch wants a number from 1 to 1000");
                return 2;
            }
            batch = (size_t)u;
            break;
        case 'w':
            if (conf_duration(optarg, &wait) < 0) {
                log_warnx("deploy: bad --wait '%s'", optarg);
                return 2;
            }
            break;
        case 's':
            if (conf_duration(optarg, &settle) < 0) {
                log_warnx("deploy: bad --settle '%s'", optarg);
                return 2;
            }
            break;
        case 'i':
            if (conf_duration(optarg, &install_timeout) < 0) {
                log_warnx("deploy: bad --install-timeout '%s'", optarg);
                return 2;
            }
            break;
        case 'D': db = optarg; break;
        case 'N': dry = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!config || !bundle || (all == (n_names > 0)) || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (farmconf_load(config, &conf, err, sizeof(err)) < 0) {
        log_warnx("deploy: %s", err);
        return 2;
    }
    ts = calloc(all ? conf->n_dev : n_names, sizeof(*ts));
    if (!ts && (all ? conf->n_dev : n_names)) {
        log_warnx("deploy: out of memory");
        goto out;
    }
    if (all) {
        for (size_t i = 0; i < conf->n_dev; i++)
            ts[n_targets++].dev = &conf->dev[i];
    } else {
        for (size_t i = 0; i < n_names; i++) {
            const struct farm_device *d = farmconf_device(conf, names[i]);
            if (!d) {
                log_warnx("deploy: no device '%s' in %s", names[i], config);
                goto out;
            }
            ts[n_targets++].dev = d;
        }
    }
    for (size_t i = 0; i < n_targets; i++) {
        if (!ts[i].dev->install) {
            log_warnx("deploy: device '%s' has no `install` command in %s", ts[i].dev->name,
                      config);
            goto out;
        }
    }
    if (dry) {
        (void)printf("dry run: %zu device(s), %zu at a time, %s; nothing is run\n", n_targets,
                     batch, n_targets > batch ? "stopping at the first batch with a failure"
                                              : "one batch");
        for (size_t i = 0; i < n_targets; i++) {
            const struct farm_device *d = ts[i].dev;
            char **a = NULL;

            (void)printf("%s (batch %zu):\n", d->name, i / batch + 1);
            if (expand(d->install, d, bundle, &a) < 0) {
                log_warnx("deploy: bad install template for '%s': %s", d->name, d->install);
                goto out;
            }
            print_argv("install", a);
            farm_argv_free(a);
            if (d->reboot) {
                if (expand(d->reboot, d, bundle, &a) < 0) {
                    log_warnx("deploy: bad reboot template for '%s': %s", d->name, d->reboot);
                    goto out;
                }
                print_argv("reboot", a);
                farm_argv_free(a);
            }
            (void)printf("    then wait up to %.0f s for %s to answer with a new boot id%s%s%s\n",
                         wait, d->url, build ? " and build '" : "", build ? build : "",
                         build ? "'" : "");
        }
        rc = 0;
        goto out;
    }
    if (!db)
        db = conf->store;
    if (db && store_open(db, &st, err, sizeof(err)) < 0) {
        log_warnx("deploy: cannot open the store (%s); deploy events will not be recorded", err);
        st = NULL;
    }
    for (size_t i = 0; i < n_targets && failed == 0; i += batch) {
        size_t m = MIN(batch, n_targets - i);
        failed = deploy_batch(conf, ts + i, m, bundle, build, wait, settle, install_timeout,
                              st);
        if (failed && i + m < n_targets)
            (void)printf("stopping: %d board(s) failed; %zu not updated\n", failed,
                         n_targets - i - m);
    }
    rc = failed ? 1 : 0;
out:
    free(ts);
    st = store_close(st);
    conf = farmconf_free(conf);
    return rc;
}
