/* SPDX-License-Identifier: MIT */
/*
 * soak verdict - is build B safe? Each rule with its numbers, against a baseline.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "farmconf.h"
#include "judge.h"
#include "log.h"
#include "store.h"
#include "storecli.h"

static void
usage(FILE *f)
{
    (void)fprintf(
        f,
        "Usage: soak verdict --db SPEC [--device NAME] --build B [--baseline A] [--json]\n"
        "                    [--config farm.conf] [--ram 256M,512M] [--at T]\n"
        "\n"
        "Judge build B on a device (or, without --device, on every device that ran it)\n"
        "against a baseline build (default: the build that ran before B on the device;\n"
        "for a build deployed but never seen booting, the one the board ran then).\n"
        "Rules, each with its numbers: reachability (poll success >= 98 %%, no outage\n"
        "over 10 min), unexpected reboots and panics, OOM kills, kernel memory leaks\n"
        "(projected onto every RAM size of the board), sensors that read on the baseline,\n"
        "interfaces up on the baseline, poll latency p95; other regressions as notes.\n"
        "A build name no device ran exactly stands for every build that starts with it\n"
        "followed by -, space, +, _ or ~: 6.17.6 judges 6.17.6-yocto-standard 2025.11 and\n"
        "its -rc1 as one build, shown as 6.17.6* (B* asks for that explicitly).\n"
        "\n"
        "Options:\n"
        "  --db SPEC        sqlite:PATH, PATH or postgresql://...\n"
        "  --device NAME    one device (default: every device that ran B)\n"
        "  --build B        the candidate build (the `build` label of soak_build_info)\n"
        "  --baseline A     the build to compare with\n"
        "  --config FILE    farm config: model and ram_sizes of each device\n"
        "  --ram LIST       RAM sizes the board is sold with, e.g. 256M,512M "
        "(overrides)\n"
        "  --at T           use only data up to T, in UNIX seconds or RFC 3339\n"
        "                   (2026-11-25T13:00:00Z; 2026-11-25 is midnight UTC)\n"
        "  --json           JSON: {\"build\", \"devices\": [{\"device\", \"build\", \"baseline\",\n"
        "                   \"result\", \"exit\", \"reasons\": [{\"rule\", \"status\", "
        "\"text\"}]}]}\n"
        "  -h, --help       this help\n"
        "\n"
        "Exit: 0 pass, 1 fail (on any device), 2 not enough data, usage error or unknown\n"
        "device/build.\n");
}

int
cmd_verdict(int argc, char **argv)
{
    static const struct option opts[] = {
        STORECLI_OPTION_DB,
        STORECLI_OPTION_DEVICE,
        {"build", required_argument, NULL, 'b'},
        {"baseline", required_argument, NULL, 'B'},
        {"config", required_argument, NULL, 'c'},
        {"ram", required_argument, NULL, 'r'},
        STORECLI_OPTION_AT,
        STORECLI_OPTION_JSON,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct storecli_args a = STORECLI_ARGS_INIT;
    const char *device, *build = NULL, *baseline = NULL, *config = NULL;
    uint64_t ram[FARM_RAM_SIZES_MAX];
    int n_ram = 0, c, r, worst = 0, any_fail = 0, any_nodata = 0;
    struct farm_conf *conf = NULL;
    struct store *st = NULL;
    char **devs = NULL, *one[2] = {NULL, NULL};
    char err[512] = "";
    json_t *out = NULL, *arr = NULL;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        r = storecli_arg("verdict", c, optarg, &a);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        switch (c) {
        case 'b':
            build = optarg;
            break;
        case 'B':
            baseline = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'r':
            n_ram = judge_parse_ram_list(optarg, ram, FARM_RAM_SIZES_MAX);
            if (n_ram < 0) {
                log_warnx("verdict: bad --ram '%s' (e.g. 256M,512M)", optarg);
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
    if (!a.db || !build || optind != argc) {
        usage(stderr);
        return 2;
    }
    device = a.device;
    if (config) {
        r = farmconf_load(config, &conf, err, sizeof(err));
        if (r < 0) {
            log_warnx("verdict: %s", err);
            return 2;
        }
    }
    if (storecli_open("verdict", a.db, &st) < 0) {
        (void)farmconf_free(conf);
        return 1;
    }
    if (device) {
        one[0] = (char *)(uintptr_t)device;
    } else {
        r = judge_devices_with_build(st, build, &devs);
        if (r < 0) {
            log_errno(r, "verdict: store error: %s", store_errmsg(st));
            worst = 1;
            goto done;
        }
        if (!devs[0]) {
            log_warnx("verdict: no device ran build '%s'", build);
            worst = 2;
            goto done;
        }
    }
    if (a.json) {
        out = json_object();
        arr = json_array();
        if (!out || !arr) {
            json_decref(arr);
            worst = 1;
            goto done;
        }
        (void)json_object_set_new(out, "build", json_string(build));
    }
    for (char **d = device ? one : devs; *d; d++) {
        const struct farm_device *fd = conf ? farmconf_device(conf, *d) : NULL;
        struct judge_verdict_opts o = {.baseline = baseline, .at_ms = a.at_ms};
        struct judge_verdict v;
        if (n_ram > 0) {
            o.ram_sizes = ram;
            o.n_ram_sizes = (size_t)n_ram;
        } else if (fd) {
            o.ram_sizes = fd->ram_sizes;
            o.n_ram_sizes = fd->n_ram_sizes;
        }
        o.model = fd && fd->model ? fd->model : *d;
        r = judge_verdict(st, *d, build, &o, &v);
        if (r < 0 && r != -ENOENT) {
            log_errno(r, "verdict: %s: %s", *d, store_errmsg(st));
            worst = 1;
            goto done;
        }
        if (r == -ENOENT && !v.device) {
            log_warnx("verdict: no device '%s' in %s", *d, a.db);
            any_nodata = 1;
            continue;
        }
        if (a.json)
            (void)json_array_append_new(arr, judge_verdict_json(&v));
        else
            judge_verdict_print(stdout, &v);
        if (v.res.outcome == VERDICT_OUTCOME_FAIL)
            any_fail = 1;
        else if (v.res.outcome == VERDICT_OUTCOME_NO_DATA)
            any_nodata = 1;
        judge_verdict_free(&v);
    }
    worst = any_fail ? 1 : any_nodata ? 2 : 0;
    if (a.json) {
        (void)json_object_set_new(out, "result",
                                  json_string(verdict_outcome_name((enum verdict_outcome)worst)));
        (void)json_object_set_new(out, "devices", arr);
        arr = NULL;
        (void)json_dumpf(out, stdout, JSON_INDENT(2));
        (void)fputc('\n', stdout);
    }
done:
    json_decref(arr);
    json_decref(out);
    store_strv_free(devs);
    (void)store_close(st);
    (void)farmconf_free(conf);
    return worst;
}
