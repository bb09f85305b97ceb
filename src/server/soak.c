/* SPDX-License-Identifier: MIT */
/*
 * soak - the server and command line: dispatches to one cmd-*.c per subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "log.h"

const struct soak_command soak_commands[] = {
    /* Keep sorted by name; one line per command. */
    {"alerts", cmd_alerts, "list the alerts the server raised, open and recent"},
    {"deploy", cmd_deploy, "install a build on farm boards and check each came back"},
    {"devices", cmd_devices, "list the devices in a store with their time range"},
    {"events", cmd_events, "list or rebuild a device's events (reboots, OOM kills, panics, ...)"},
    {"export", cmd_export, "write a device's samples as OpenMetrics text"},
    {"import", cmd_import, "load OpenMetrics / Prometheus text files into a store"},
    {"judge", cmd_judge, "judge a build for git bisect run (0 good, 1 bad, 125 skip)"},
    {"kmemleak", cmd_kmemleak, "summarise a kmemleak report by allocation site and backtrace"},
    {"leak", cmd_leak, "find kernel memory leaks in a device's boots, with rate and projection"},
    {"plot", cmd_plot, "draw a device's memory, slab, sensors or latency chart as PNG or SVG"},
    {"query", cmd_query, "print one metric of a device as a table, CSV or JSON"},
    {"retention", cmd_retention, "delete and downsample old samples of every device"},
    {"server", cmd_server, "poll the farm, store samples, derive events, raise alerts"},
    {"sim", cmd_sim, "simulate the story's board farm: history files and live /proc trees"},
    {"slab", cmd_slab, "slabtop -s c from stored data, with growth rates and filp warnings"},
    {"verdict", cmd_verdict, "judge a build against a baseline: pass, fail or not enough data"},
    {"web", cmd_web, "serve the dashboard and JSON API over a store, without polling"},
    {NULL, NULL, NULL},
};

static void
usage(FILE *f)
{
    (void)fprintf(f,
                  "Usage: soak COMMAND [OPTIONS]\n"
                  "       soak COMMAND --help\n"
                  "\n"
                  "soak tests embedded-Linux builds on a board farm: it polls the soakd agents,\n"
                  "keeps their history, finds kernel leaks and says whether a build is safe.\n"
                  "\n"
                  "Commands:\n");
    for (const struct soak_command *c = soak_commands; c->name; c++)
        (void)fprintf(f, "  %-10s %s\n", c->name, c->summary);
    (void)fprintf(f, "\n"
                     "Options:\n"
                     "  -h, --help     show this help\n"
                     "  -V, --version  show the version\n"
                     "\n"
                     "Exit codes: 0 success, 1 failure (verdict: build failed), 2 usage error.\n");
}

int
main(int argc, char **argv)
{
    log_init("soak", LOG_LVL_INFO);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
        (void)printf("soak %s\n", SOAK_VERSION);
        return 0;
    }
    for (const struct soak_command *c = soak_commands; c->name; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);
    log_warnx("unknown command '%s' (see soak --help)", argv[1]);
    return 2;
}
