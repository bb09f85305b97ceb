/* SPDX-License-Identifier: MIT */
/*
 * soak leak - the kernel memory leak analysis of one device, per boot.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "judge.h"
#include "log.h"
#include "store.h"
#include "storecli.h"

static void
usage(FILE *f)
{
    (void)fprintf(
        f, "Usage: soak leak --db SPEC --device NAME [--at T] [--json]\n"
           "\n"
           "Look for a kernel memory leak in every boot of a device, oldest first: trend\n"
           "tests (Mann-Kendall with an autocorrelation correction, Theil-Sen rate with a\n"
           "90 %% CI) on unreclaimable slab, single slab caches, the gap between filp objects\n"
           "or file-nr and open descriptors, then MemAvailable; one-time steps, plateaus and\n"
           "daily cycles are not leaks. For a leak: the rate in bytes/day, its CI, the\n"
           "evidence and when MemAvailable, at the bottom of its dips (bursts), would\n"
           "reach the OOM point. What could not be judged is said in the note: gaps, a\n"
           "signal gone stale, samples out of order or repeated, a reset the boot time\n"
           "missed (judged after it), no slabinfo (a non-root agent).\n"
           "\n"
           "Options:\n"
           "  --db SPEC       sqlite:PATH, PATH or postgresql://...\n"
           "  --device NAME   the device\n"
           "  --at T          use only data up to T, in UNIX seconds or RFC 3339\n"
           "                  (2026-11-25T13:00:00Z; 2026-11-25 is midnight UTC): what\n"
           "                  the analysis would have said then (default: everything)\n"
           "  --json          JSON: {\"device\", \"segments\": [{\"build\", \"boot_time\", "
           "\"start\",\n"
           "                  \"end\", \"leak\", \"signal\", \"rate_bytes_per_day\", \"rate_ci\",\n"
           "                  \"exhaustion_time\", \"mem_available_bytes\", \"dip_bytes\",\n"
           "                  \"reset_time\", \"note\", \"evidence\": [{\"signal\", \"why\",\n"
           "                  \"rate_bytes_per_day\", \"z\", \"p\", \"bins\",\n"
           "                  \"longest_gap_seconds\", \"out_of_order\", \"repeated\", ...}]}]}\n"
           "  -h, --help      this help\n"
           "\n"
           "Exit: 0 no leak in the newest boot, 1 leak in the newest boot (or a store\n"
           "error), 2 usage error or unknown device.\n");
}

int
cmd_leak(int argc, char **argv)
{
    static const struct option opts[] = {
        STORECLI_OPTION_DB,   STORECLI_OPTION_DEVICE,           STORECLI_OPTION_AT,
        STORECLI_OPTION_JSON, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    struct storecli_args a = STORECLI_ARGS_INIT;
    int c, r;
    struct store *st = NULL;
    struct judge_leak j;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        r = storecli_arg("leak", c, optarg, &a);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        switch (c) {
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!a.db || !a.device || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (storecli_open("leak", a.db, &st) < 0)
        return 1;
    r = judge_leak_load(st, a.device, a.at_ms, &j);
    if (r == -ENOENT) {
        log_warnx("leak: no device '%s' in %s", a.device, a.db);
        (void)store_close(st);
        return 2;
    }
    if (r < 0) {
        log_errno(r, "leak: analysis of %s failed: %s", a.device, store_errmsg(st));
        (void)store_close(st);
        return 1;
    }
    if (a.json) {
        json_t *o = judge_leak_json(&j);
        if (!o || json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) < 0) {
            json_decref(o);
            judge_leak_free(&j);
            (void)store_close(st);
            return 1;
        }
        (void)fputc('\n', stdout);
        json_decref(o);
    } else {
        judge_leak_print(stdout, &j);
    }
    r = j.n > 0 && j.seg[j.n - 1].analyzed && j.seg[j.n - 1].leak.leak ? 1 : 0;
    judge_leak_free(&j);
    (void)store_close(st);
    return r;
}
