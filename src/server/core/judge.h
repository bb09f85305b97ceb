/* SPDX-License-Identifier: MIT */
/*
 * judge.h - wiring between the store and the analysis: loads a device's
 * history (store.h) into the arrays analysis/leak.h and analysis/verdict.h
 * take, and renders their results as text and JSON. Used by `soak leak`,
 * `soak verdict`, `soak judge`, `soak slab`, the dashboard and the server's
 * alert loop. Nothing here logs; every function returns 0 or a negative errno.
 *
 * Segments: one per boot (node_boot_time_seconds changes by more than a
 * minute, or soak_boot_info{boot_id} changes); its build is the `build` label
 * of soak_build_info seen most during that boot.
 */
#ifndef SOAK_JUDGE_H
#define SOAK_JUDGE_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "leak.h"
#include "macro.h"
#include "store.h"
#include "verdict.h"

struct judge_segment {
    char *build;      /* NULL when no soak_build_info was seen */
    char *boot_id;    /* NULL when unknown */
    int64_t boot_ms;  /* boot time (or the first sample when unknown) */
    int64_t start_ms; /* first sample of the boot */
    int64_t end_ms;   /* last sample of the boot (<= at) */
    int unmarked;     /* no boot time or boot id: the whole history as one boot */
    int analyzed;     /* leak holds a result */
    struct leak_result leak;
};

struct judge_leak {
    char *device;
    double mem_total;          /* bytes, newest; NaN when unknown */
    struct judge_segment *seg; /* oldest first */
    size_t n;
};

/*
 * Segment a device's history up to at_ms (INT64_MAX: everything) and run the
 * leak analysis on each boot. -ENOENT when the device is unknown.
 */
_warn_unused_result_ int judge_leak_load(struct store *st, const char *device, int64_t at_ms,
                                         struct judge_leak *ret);
void judge_leak_free(struct judge_leak *j);

/* The JSON of `soak leak --json` (DESIGN §5). NULL on OOM. */
json_t *judge_leak_json(const struct judge_leak *j);

/* The human report of `soak leak`. */
void judge_leak_print(FILE *f, const struct judge_leak *j);

/* What a verdict needs beyond the store. */
struct judge_verdict_opts {
    const char *baseline;      /* NULL: the build that ran before the candidate on the device */
    const uint64_t *ram_sizes; /* RAM sizes the board is sold with (bytes), for projections */
    size_t n_ram_sizes;
    const char *model; /* board model for the text ("rock-pi-s"); may be NULL */
    int64_t at_ms;     /* use data up to here (INT64_MAX: everything) */
};

struct judge_verdict {
    char *device;
    char *build;
    char *baseline; /* NULL when none was found */
    struct verdict_stats cand, base;
    struct verdict_result res;
};

/*
 * Judge build on device against a baseline. -ENOENT when the device is unknown
 * or never ran build (res.outcome is then VERDICT_NO_DATA as well).
 */
_warn_unused_result_ int judge_verdict(struct store *st, const char *device, const char *build,
                                       const struct judge_verdict_opts *o,
                                       struct judge_verdict *ret);
/*
 * The same verdict from a leak analysis already loaded by judge_leak_load() with
 * at_ms equal to o->at_ms (INT64_MAX when o->at_ms is 0): saves loading and
 * analysing the device's history twice when the caller wants both. j is only read.
 */
_warn_unused_result_ int judge_verdict_from(struct store *st, const struct judge_leak *j,
                                            const char *build, const struct judge_verdict_opts *o,
                                            struct judge_verdict *ret);
void judge_verdict_free(struct judge_verdict *v);

/* {"device", "build", "baseline", "result": "pass|fail|not enough data", "exit", "reasons": [...]}
 */
json_t *judge_verdict_json(const struct judge_verdict *v);
void judge_verdict_print(FILE *f, const struct judge_verdict *v);

/*
 * Whether a build name is the queried build q: equal, or q ends in '*' and the
 * name starts with the rest of q followed by its end, '-', ' ', '+', '_' or '~'
 * ("6.17.6*" is "6.17.6-yocto-standard 2025.11", not "6.17.60"). name may be NULL (0).
 */
int judge_build_is(const char *name, const char *q);

/*
 * What a user's build name q stands for on one device (j: its boots; ev: its
 * events or NULL): q itself when q ends in '*', when some device of st (may be
 * NULL: not asked) ran a build named exactly q, or a boot or deploy on this device
 * has exactly that name; else "q*" when some boot's build starts with q (6.17.6 ->
 * "6.17.6*": every build of that kernel); else q (also on a store error).
 * Malloc'ed; NULL on OOM.
 * judge_verdict() and judge_devices_with_build() resolve their names this way.
 */
char *judge_build_query(struct store *st, const struct judge_leak *j,
                        const struct store_event_array *ev, const char *q);

/* Names of the devices that ran build (NULL-terminated, free with store_strv_free()). */
_warn_unused_result_ int judge_devices_with_build(struct store *st, const char *build, char ***ret);

/* One slab cache as `soak slab` shows it. */
struct judge_slab {
    char name[64];
    double objects;  /* newest active objects */
    double obj_size; /* bytes */
    double bytes;    /* objects * obj_size */
    double rate;     /* bytes/day over the newest boot (Theil-Sen), NaN if unknown */
    double obj_rate; /* objects/day */
};

struct judge_slab_view {
    struct judge_slab *c; /* sorted by bytes, largest first */
    size_t n;
    double open_fds; /* newest soak_open_fds, NaN when unknown */
    double filefd;   /* newest node_filefd_allocated, NaN when unknown */
    double hours;    /* length of the newest boot analysed */
    int filp_on_top; /* the story's first sign */
    int filp_gap;    /* filp objects far above open descriptors (>= 10x and +10000) */
};

_warn_unused_result_ int judge_slab_load(struct store *st, const char *device, int64_t at_ms,
                                         struct judge_slab_view *ret);
void judge_slab_free(struct judge_slab_view *v);

/* What the alert loop needs about the newest boot of a device. */
struct judge_alert_state {
    int judged;             /* the newest boot had enough data */
    int leak;               /* leak_suspected should be firing */
    int exhaustion;         /* exhaustion within exhaustion_days should be firing */
    double rate;            /* bytes/day, NaN when no leak */
    int64_t exhaustion_ms;  /* -1 when none */
    char leak_summary[256]; /* "leak in SUnreclaim: 25.1 MB/day (build 6.17.6)", "" */
    char exh_summary[256];  /* "memory exhausted in 4.2 days (...)", "" */
};

/*
 * Evaluate the leak alerts of device at now_ms (data up to now_ms only): the
 * newest boot's leak, and whether its projected exhaustion falls within
 * exhaustion_days of now_ms. -ENOENT for an unknown device.
 */
_warn_unused_result_ int judge_alert_eval(struct store *st, const char *device, int64_t now_ms,
                                          double exhaustion_days, struct judge_alert_state *ret);

/* Parse "256M,512M" into bytes (at most max entries). Count or -EINVAL. */
_warn_unused_result_ int judge_parse_ram_list(const char *s, uint64_t *out, size_t max);

#endif
