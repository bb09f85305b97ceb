/* SPDX-License-Identifier: MIT */
/*
 * indgen.h - a second, independent generator of simulated board boots, written
 * apart from bench/tracegen.c (whose traces the leak thresholds were tuned on)
 * with other noise and other faults, to check the detector is not fitted to
 * one simulator. Deterministic for a seed; pure computation.
 *
 * What differs from tracegen: a splitmix64 RNG and polar normals; MemAvailable
 * computed the kernel's way from its parts (free + page cache + reclaimable slab,
 * each less min(half, low watermark)); AR(1) noise with long time constants plus
 * a slow two-day wander and heavy-tailed spikes in unreclaimable slab; bursty
 * anonymous memory (Pareto sizes) on every board; slabinfo read every ~5 min, meminfo
 * every ~60 s with +-20 s jitter, lost polls, outages of 5 min to 6 h, repeated and
 * out-of-order samples, agent restarts after which slabinfo reads fail for a while;
 * a leak that comes in batches (Poisson, busier by day) of struct file (256-byte
 * objects) and struct cred, not a smooth line.
 */
#ifndef SOAK_INDGEN_H
#define SOAK_INDGEN_H

#include <stddef.h>
#include <stdint.h>

#include "leak.h"

enum ig_pattern {
    IG_QUIET,
    IG_PAGECACHE, /* page cache fills from free memory for days */
    IG_STEP,      /* a service starts late and holds 4,000 files, slab and anon for good */
    IG_SAWTOOTH,  /* tmpfs log filled all day, emptied at 02:30, nightly slab churn */
    IG_RECLAIM,   /* dentry and inode caches grow to a plateau (MemAvailable falls by half) */
    IG_BURSTY,    /* heavy anonymous bursts, three times as often and larger */
    IG_LEAK,      /* struct file + struct cred leak in batches */
    _IG_PATTERN_MAX,
};

struct ig_params {
    enum ig_pattern pattern;
    double ram_mb;
    double leak_per_day; /* bytes/day, IG_LEAK */
    double days;
    int64_t boot_ms;
    uint64_t seed;
};

/* Samples in the order an agent would have delivered them (NaN: not read). */
struct ig_trace {
    size_t n;
    int64_t *t_ms;
    double *mem_available, *sunreclaim, *filp, *cred, *km192, *open_fds, *filefd;
    double mem_total;
    double oom_floor;
    int64_t panic_ms; /* -1: none */
    size_t outages, restarts, repeated, swapped;
    double leaked_warm, leaked_day; /* bytes leaked by 45 min and by 24 h after boot */
};

int ig_generate(const struct ig_params *p, struct ig_trace *ret);
void ig_trace_free(struct ig_trace *t);
const char *ig_pattern_name(enum ig_pattern p);

/* The leak analysis' view of a trace (series point into t and bufs). */
struct ig_series {
    struct leak_series s[7];
    size_t n;
    double *buf[5];
};

int ig_series_make(const struct ig_trace *t, struct ig_series *ret);
void ig_series_free(struct ig_series *s);

#endif
