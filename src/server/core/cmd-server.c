/* SPDX-License-Identifier: MIT */
/*
 * soak server - poll the farm (see server.h and docs/internals/SERVER.md).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "log.h"
#include "parse.h"
#include "server.h"

static void
usage(FILE *f)
{
    (void)fprintf(f,
        "Usage: soak server --config FILE [--store SPEC] [--once] [--duration SECONDS] [-v]\n"
        "\n"
        "Poll every device of the farm config at its interval from one event loop (libcurl\n"
        "multi), store each sample with the poll's latency (soak_poll_duration_seconds) and\n"
        "outcome (soak_poll_up), backfill from soakd's /history after an outage or a restart,\n"
        "derive events (reboot, build change, OOM kill, panic, unreachable, sensor lost,\n"
        "interfaces changed), raise alerts, and serve the dashboard when [server] listen is set.\n"
        "Targets are soakd agents or any Prometheus exporter (node_exporter works).\n"
        "\n"
        "Options:\n"
        "  --config FILE       farm config: [server], [alerts], [device NAME] sections\n"
        "  --store SPEC        sqlite:PATH, PATH or postgresql://... (overrides [server] store)\n"
        "  --once              poll every device once (with its backfill) and exit:\n"
        "                      0 when every poll succeeded, 1 otherwise\n"
        "  --duration SECONDS  stop by itself after this long (tests, benchmarks)\n"
        "  -v, --verbose       log every poll problem and reload\n"
        "  -h, --help          this help\n"
        "\n"
        "Signals: SIGHUP reloads the config (devices added or removed keep their state),\n"
        "SIGTERM/SIGINT stop cleanly. Every poll is committed on its own: a kill -9 loses\n"
        "at most the polls in flight, which the next /history backfill brings back.\n"
        "Exit: 0 stopped cleanly, 1 runtime error, 2 config or usage error.\n");
}

int
cmd_server(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"store", required_argument, NULL, 's'},
        {"once", no_argument, NULL, 'o'},
        {"duration", required_argument, NULL, 'd'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct server_opts o = {0};
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:s:od:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o.config_path = optarg; break;
        case 's': o.store_spec = optarg; break;
        case 'o': o.once = 1; break;
        case 'd':
            if (parse_double(optarg, &o.duration) < 0 || !(o.duration > 0) ||
                !isfinite(o.duration)) {
                log_warnx("--duration: '%s' is not a number of seconds", optarg);
                return 2;
            }
            break;
        case 'v': log_set_level(LOG_LVL_DEBUG); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || !o.config_path) {
        usage(stderr);
        return 2;
    }
    return server_run(&o);
}
