/* SPDX-License-Identifier: MIT */
/*
 * soak judge - a verdict shaped for `git bisect run`: 0 good, 1 bad, 125 skip.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "judge.h"
#include "log.h"
#include "parse.h"
#include "store.h"
#include "storecli.h"

#define EXIT_GOOD 0
#define EXIT_BAD 1
#define EXIT_SKIP 125

static void
usage(FILE *f)
{
    (void)fprintf(f,
                  "Usage: soak judge --db SPEC --device NAME --build B --hours H [--baseline A]\n"
                  "                  [--ram 256M,512M]\n"
                  "\n"
                  "Judge the first H hours of build B on a device, for `git bisect run`\n"
                  "(see contrib/bisect/soak-bisect-run.sh): the same rules as soak verdict.\n"
                  "A failure seen before H hours is final; a pass needs H hours of data.\n"
                  "B and A as in soak verdict (6.17.6 stands for 6.17.6-yocto-standard ...\n"
                  "when no boot ran a build named exactly 6.17.6).\n"
                  "\n"
                  "Options:\n"
                  "  --db SPEC        sqlite:PATH, PATH or postgresql://...\n"
                  "  --device NAME    the device\n"
                  "  --build B        the build under test\n"
                  "  --hours H        hours of the build's data to judge (e.g. 6)\n"
                  "  --baseline A     the build to compare with (default: the one before B)\n"
                  "  --ram LIST       RAM sizes for the projection text\n"
                  "  -h, --help       this help\n"
                  "\n"
                  "Exit: 0 good, 1 bad, 125 skip (too little data, unreachable, unknown build),\n"
                  "128 usage or store error (git bisect stops).\n");
}

int
cmd_judge(int argc, char **argv)
{
    static const struct option opts[] = {
        STORECLI_OPTION_DB,
        STORECLI_OPTION_DEVICE,
        {"build", required_argument, NULL, 'b'},
        {"baseline", required_argument, NULL, 'B'},
        {"hours", required_argument, NULL, 'H'},
        {"ram", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct storecli_args a = STORECLI_ARGS_INIT;
    const char *db, *device, *build = NULL, *baseline = NULL;
    uint64_t ram[8];
    int n_ram = 0, c, r, code;
    double hours = NAN;
    struct store *st = NULL;
    struct judge_leak j;
    struct judge_verdict v;
    int64_t start = -1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (storecli_arg("judge", c, optarg, &a) > 0) /* --db, --device: cannot fail */
            continue;
        switch (c) {
        case 'b':
            build = optarg;
            break;
        case 'B':
            baseline = optarg;
            break;
        case 'H':
            if (parse_double(optarg, &hours) < 0 || !(hours > 0) || hours > 24 * 365) {
                log_warnx("judge: bad --hours '%s'", optarg);
                return 128;
            }
            break;
        case 'r':
            n_ram = judge_parse_ram_list(optarg, ram, 8);
            if (n_ram < 0) {
                log_warnx("judge: bad --ram '%s'", optarg);
                return 128;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 128;
        }
    }
    db = a.db;
    device = a.device;
    if (!db || !device || !build || isnan(hours) || optind != argc) {
        usage(stderr);
        return 128;
    }
    if (storecli_open("judge", db, &st) < 0)
        return 128;
    /* Where the build starts on this device: its first boot. */
    r = judge_leak_load(st, device, INT64_MAX, &j);
    if (r == -ENOENT) {
        log_warnx("judge: no device '%s': skip", device);
        (void)store_close(st);
        return EXIT_SKIP;
    }
    if (r < 0) {
        log_errno(r, "judge: %s", store_errmsg(st));
        (void)store_close(st);
        return 128;
    }
    {
        char *q = judge_build_query(st, &j, NULL, build);
        for (size_t i = 0; q && i < j.n && start < 0; i++)
            if (judge_build_is(j.seg[i].build, q))
                start = j.seg[i].start_ms;
        free(q);
    }
    judge_leak_free(&j);
    if (start < 0) {
        log_warnx("judge: build '%s' never ran on %s: skip", build, device);
        (void)store_close(st);
        return EXIT_SKIP;
    }
    {
        struct judge_verdict_opts o = {.baseline = baseline,
                                       .at_ms = start + (int64_t)(hours * 3.6e6),
                                       .ram_sizes = n_ram > 0 ? ram : NULL,
                                       .n_ram_sizes = n_ram > 0 ? (size_t)n_ram : 0,
                                       .model = device};
        r = judge_verdict(st, device, build, &o, &v);
    }
    if (r < 0 && r != -ENOENT) {
        log_errno(r, "judge: %s", store_errmsg(st));
        (void)store_close(st);
        return 128;
    }
    judge_verdict_print(stdout, &v);
    if (v.res.outcome == VERDICT_OUTCOME_FAIL)
        code = EXIT_BAD;
    else if (v.res.outcome == VERDICT_OUTCOME_NO_DATA || v.cand.hours < 0.8 * hours ||
             (v.cand.polls > 0 && v.cand.polls_ok == 0))
        code = EXIT_SKIP;
    else
        code = EXIT_GOOD;
    (void)printf("judge: %s\n", code == EXIT_GOOD ? "good" : code == EXIT_BAD ? "bad" : "skip");
    judge_verdict_free(&v);
    (void)store_close(st);
    return code;
}
