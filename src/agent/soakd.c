/* SPDX-License-Identifier: MIT */
/*
 * soakd - the device agent: command line and wiring only. The work is done by
 * the sampler (collectors, history), the ring and the HTTP server in daemon/.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "daemon/agent-conf.h"
#include "collector.h"
#include "config.h"
#include "daemon/http.h"
#include "log.h"
#include "daemon/ring.h"
#include "daemon/sampler.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

static void
usage(FILE *f)
{
    (void)fprintf(f,
        "Usage: soakd [OPTIONS]\n"
        "The soak device agent: collects kernel and system signals and serves them over HTTP.\n"
        "\n"
        "  -c, --config FILE     read the INI configuration FILE (default: none, built-in\n"
        "                        defaults; see contrib/soakd.conf for every option)\n"
        "  -r, --root DIR        read /proc, /sys, /dev and /etc under DIR instead of /\n"
        "      --once            run every enabled collector once, print one exposition\n"
        "                        (Prometheus text) on stdout and exit; leaves out the\n"
        "                        values that change from run to run (read durations, RSS,\n"
        "                        the sensors' read times and ages)\n"
        "  -l, --listen ADDR:PORT  serve HTTP there (overrides [agent] listen; default %s;\n"
        "                        [ADDR6]:PORT for IPv6)\n"
        "  -v                    more log output (twice: debug)\n"
        "  -h, --help            show this help\n"
        "  -V, --version         show the version\n"
        "\n"
        "Endpoints: GET /metrics, GET /history?since=SEQ[&limit=N], GET /info.\n"
        "Collectors:",
        AGENT_DEFAULT_LISTEN);
    for (size_t i = 0; collector_registry[i]; i++)
        (void)fprintf(f, " %s%s", collector_registry[i]->name,
                      collector_registry[i]->flags & COLLECTOR_DEFAULT_OFF ? "(off)" : "");
    (void)fprintf(f,
        "\n\n"
        "Exit status: 0 ok, 1 runtime error (cannot listen, cannot write), 2 usage or\n"
        "configuration error.\n");
}

static int
run_once(struct agent_conf *conf)
{
    struct sampler *s = NULL;
    struct buf out;
    int r;

    r = sampler_new(conf, NULL, &s);
    if (r < 0) {
        log_errno(r, "cannot set up the collectors");
        return EXIT_RUNTIME;
    }
    sampler_run_all(s);
    buf_init(&out, SAMPLER_SNAPSHOT_MAX);
    r = sampler_snapshot(s, &out, SNAPSHOT_STABLE);
    s = sampler_free(s);
    if (r < 0) {
        log_errno(r, "cannot render the exposition");
        buf_free(&out);
        return EXIT_RUNTIME;
    }
    if ((out.len && fwrite(out.data, 1, out.len, stdout) != out.len) || fflush(stdout) != 0) {
        log_warn("cannot write the exposition");
        buf_free(&out);
        return EXIT_RUNTIME;
    }
    buf_free(&out);
    return 0;
}

static struct ring *
make_ring(const struct agent_conf *conf)
{
    struct ring_options ro = {
        .max_records = conf->history_samples,
        .max_series = conf->history_max_series,
        .max_bytes = conf->history_max_bytes,
    };
    struct ring *ring = NULL;
    struct ring_stats st;
    int r;

    r = ring_new(&ro, &ring);
    if (r < 0)
        fatalx(EXIT_RUNTIME, "cannot allocate the history ring: %s", strerror(-r));
    if (!conf->persist)
        return ring;
    r = ring_load(ring, conf->persist);
    if (r == -ENOENT) {
        log_info("no history file %s yet: starting afresh", conf->persist);
    } else if (r < 0) {
        log_warnx("history file %s: %s; starting afresh, ignoring it", conf->persist,
                  r == -EBADMSG ? "corrupt or does not fit [history]" : strerror(-r));
    } else {
        ring_get_stats(ring, &st);
        log_info("history reloaded from %s: records %llu..%llu", conf->persist,
                 (unsigned long long)st.oldest_seq, (unsigned long long)st.newest_seq);
    }
    return ring;
}

static int
run_daemon(struct agent_conf *conf)
{
    struct http_options ho = {0};
    struct sampler *s = NULL;
    struct http *h = NULL;
    struct ring *ring;
    sigset_t set;
    int r, sig;

    /* Threads inherit the mask: only this thread receives the signals, via sigwait. */
    (void)sigemptyset(&set);
    (void)sigaddset(&set, SIGINT);
    (void)sigaddset(&set, SIGTERM);
    (void)sigaddset(&set, SIGHUP);
    (void)pthread_sigmask(SIG_BLOCK, &set, NULL);
    (void)signal(SIGPIPE, SIG_IGN);

    ring = make_ring(conf);
    r = sampler_new(conf, ring, &s);
    if (r < 0)
        fatalx(EXIT_RUNTIME, "cannot set up the collectors: %s", strerror(-r));
    /* The sampler first: it runs the fast collectors once before the first request. */
    r = sampler_start(s, conf->history_interval, conf->persist, conf->persist_interval);
    if (r < 0)
        fatalx(EXIT_RUNTIME, "cannot start the sampler: %s", strerror(-r));
    ho = (struct http_options){.listen = conf->listen, .token = conf->token, .name = conf->name,
                               .root = conf->root, .sampler = s, .ring = ring};
    r = http_start(&ho, &h);
    if (r < 0) {
        s = sampler_free(s);
        ring = ring_free(ring);
        if (r == -EINVAL)
            fatalx(EXIT_USAGE, "bad listen address '%s' (ADDR:PORT or [ADDR6]:PORT)",
                   conf->listen);
        fatalx(EXIT_RUNTIME, "cannot listen on %s: %s", conf->listen, strerror(-r));
    }
    log_info("listening on %s (port %u)%s", conf->listen, http_port(h),
             conf->token ? ", bearer token required" : "");

    /* From here on the agent must not die: it only waits for a signal to stop. */
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            log_info("SIGHUP: configuration reload is not supported, restart soakd; ignoring");
            continue;
        }
        break;
    }
    log_info("signal %d: stopping", sig);
    h = http_stop(h);
    sampler_stop(s);
    if (conf->persist) {
        r = ring_save(ring, conf->persist);
        if (r < 0)
            log_errno(r, "cannot write %s on exit", conf->persist);
    }
    s = sampler_free(s);
    ring = ring_free(ring);
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"root", required_argument, NULL, 'r'},
        {"once", no_argument, NULL, 'o'},
        {"listen", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *root = NULL, *listen = NULL;
    struct agent_conf *conf = NULL;
    char err[512];
    int once = 0, verbose = 0, c, r, rc;

    log_init("soakd", LOG_LVL_WARN);
    while ((c = getopt_long(argc, argv, "c:r:l:hVv", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'r': root = optarg; break;
        case 'o': once = 1; break;
        case 'l': listen = optarg; break;
        case 'v': verbose++; break;
        case 'h': usage(stdout); return 0;
        case 'V': (void)printf("soakd %s\n", SOAK_VERSION); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        log_warnx("unexpected argument '%s'", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    log_set_level(verbose >= 2 ? LOG_LVL_DEBUG : verbose ? LOG_LVL_INFO : LOG_LVL_WARN);

    r = agent_conf_new(collector_registry, &conf);
    if (r < 0)
        fatalx(EXIT_RUNTIME, "cannot set up the collectors: %s", strerror(-r));
    if (config) {
        r = agent_conf_load(conf, config, err, sizeof(err));
        if (r < 0) {
            log_warnx("%s", err);
            (void)agent_conf_free(conf);
            return EXIT_USAGE;
        }
    }
    if ((root && agent_conf_set_string(&conf->root, root) < 0) ||
        (listen && agent_conf_set_string(&conf->listen, listen) < 0))
        fatalx(EXIT_RUNTIME, "out of memory");
    if (conf->root && conf->root[0]) {
        /* A mistyped root would otherwise give a scrape where every collector is down. */
        struct stat sb;
        r = stat(conf->root, &sb) < 0 ? -errno : S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
        if (r < 0) {
            log_warnx("root %s: %s", conf->root, strerror(-r));
            (void)agent_conf_free(conf);
            return EXIT_USAGE;
        }
    }

    /* --once leaves out what varies from run to run: the sensors' read times and ages too. */
    if (once && agent_conf_load_string(conf, "[collector.sensors]\ntiming_metrics = no\n", err,
                                       sizeof(err)) < 0)
        fatalx(EXIT_RUNTIME, "%s", err);
    rc = once ? run_once(conf) : run_daemon(conf);
    (void)agent_conf_free(conf);
    return rc;
}
