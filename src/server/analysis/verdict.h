/* SPDX-License-Identifier: MIT */
/*
 * verdict.h - is a build safe? (pure computation: summaries of a candidate
 * build and a baseline build in, rules with numbers out; no store, no I/O).
 *
 * Rules (each PASS, FAIL or INFO, with its numbers in the text):
 *   data          at least min_hours of polls of the candidate (else NO DATA)
 *   reachability  poll success >= 98 % and no outage longer than 10 min
 *                 (or not worse than the baseline)
 *   reboots       no unexpected reboot (a boot that no deploy asked for) and no panic
 *   oom           no OOM kill
 *   leak          no kernel memory leak in any boot of the candidate; when one is
 *                 found, its exhaustion projected onto every RAM size of the board
 *   sensors       every sensor that read on the baseline still reads
 *   interfaces    every interface up on the baseline is up
 *   latency       poll latency p95 not above 2x the baseline and +100 ms
 *   worse         other numbers that got worse (agent RSS, load) are INFO only
 */
#ifndef SOAK_VERDICT_H
#define SOAK_VERDICT_H

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define VERDICT_RULES_MAX 16
#define VERDICT_TEXT_MAX 512
#define VERDICT_NAMES_MAX 32

enum verdict_status {
    VERDICT_PASS,
    VERDICT_FAIL,
    VERDICT_INFO,
};

enum verdict_outcome {
    VERDICT_OUTCOME_PASS = 0,    /* exit 0 */
    VERDICT_OUTCOME_FAIL = 1,    /* exit 1 */
    VERDICT_OUTCOME_NO_DATA = 2, /* exit 2 */
};

/* What the store says about one build on one device (judge.c fills it). */
struct verdict_stats {
    int present;            /* this build ran at all */
    double hours;           /* hours of data */
    double polls, polls_ok; /* soak_poll_up samples and those == 1 */
    double longest_outage_s;
    unsigned boots; /* boots of the build */
    unsigned unexpected_reboots;
    unsigned panics;
    double oom_kills;
    int leak;                           /* 1 when a boot of this build leaks */
    double leak_rate, leak_lo, leak_hi; /* bytes/day */
    char leak_signal[96];
    int64_t exhaustion_ms;               /* -1 none */
    double mem_total, mem_available0;    /* for projections; NaN unknown */
    double board_ram;                    /* bytes of RAM of the board measured; NaN: guess */
    double latency_p95_s;                /* NaN unknown */
    double agent_rss, load1;             /* medians, NaN unknown */
    char *sensors_up[VERDICT_NAMES_MAX]; /* names that read (up == 1) at least once; owned */
    size_t n_sensors;
    char *ifaces_up[VERDICT_NAMES_MAX]; /* interfaces up at least once; owned */
    size_t n_ifaces;
    unsigned sensor_losses;                    /* sensor_lost events while it ran */
    double sensor_loss_max_s;                  /* the longest of them (to sensor_back or the end) */
    char sensor_loss_name[64];                 /* the sensor of the longest */
    unsigned deploys, deploys_failed;          /* `soak deploy` runs that expected this build */
    char deploy_failure[VERDICT_TEXT_MAX / 2]; /* why the last failed one failed */
};

struct verdict_rule {
    char name[24];
    enum verdict_status status;
    char text[VERDICT_TEXT_MAX];
};

struct verdict_result {
    enum verdict_outcome outcome;
    struct verdict_rule rules[VERDICT_RULES_MAX];
    size_t n;
};

struct verdict_params {
    double min_hours;   /* less data: not enough */
    double poll_ok_min; /* ratio */
    double outage_max_s;
    double latency_factor; /* fail above factor x baseline p95 ... */
    double latency_add_s;  /* ... and baseline + this */
    const char *build;     /* names used in the text */
    const char *baseline;
    const char *model;         /* "rock-pi-s"; may be NULL */
    const uint64_t *ram_sizes; /* bytes */
    size_t n_ram_sizes;
};

void verdict_params_default(struct verdict_params *p);

/* Judge cand against base (base may be NULL or !present: rules needing it say so). */
void verdict_judge(const struct verdict_stats *cand, const struct verdict_stats *base,
                   const struct verdict_params *p, struct verdict_result *ret);

/* Free the owned names of a stats struct (keeps the numbers). */
void verdict_stats_done(struct verdict_stats *s);

/* "pass", "fail", "info"; and "pass", "fail", "not enough data". */
const char *verdict_status_name(enum verdict_status s);
const char *verdict_outcome_name(enum verdict_outcome o);

/*
 * How much a counter rose over v[0..n) in time order, as Prometheus' increase()
 * counts it: the sum of the rises between samples, and after a fall (a reset: the
 * agent restarted) the new value itself. NaN samples are skipped. ret_resets (may
 * be NULL) gets the number of resets. 0 for fewer than two finite samples.
 */
double verdict_counter_increase(const double *v, size_t n, unsigned *ret_resets);

/* Human size: "256 MB", "1 GB". */
void verdict_format_size(char out[32], double bytes);

#endif
