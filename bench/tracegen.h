/* SPDX-License-Identifier: MIT */
/*
 * tracegen.h - simulated memory traces of one board boot, for the leak
 * analysis' unit tests and bench/leak.sh (pure computation, deterministic
 * for a seed). One sample per interval from boot until `days` or until
 * MemAvailable reaches the OOM floor (the simulated panic).
 *
 * Every trace has what healthy kernels do: a warm-up after boot, autocorrelated
 * noise in unreclaimable slab and anonymous memory, open descriptors that wander.
 * A pattern adds one thing on top (see enum tg_pattern); TG_LEAK leaks struct
 * file objects (filp slab, unreclaimable) at leak_per_day bytes/day.
 */
#ifndef SOAK_TRACEGEN_H
#define SOAK_TRACEGEN_H

#include <stddef.h>
#include <stdint.h>

enum tg_pattern {
    TG_QUIET,      /* nothing on top */
    TG_PAGECACHE,  /* page cache fills for days: MemFree falls, MemAvailable flat */
    TG_STEP,       /* a one-time allocation (unreclaimable slab and anon) that stays */
    TG_SAWTOOTH,   /* tmpfs log grows all day, emptied at 03:00 */
    TG_RECLAIM,    /* reclaimable slab (dentry) grows to a plateau */
    TG_NOISY_ANON, /* large, bursty anonymous memory */
    TG_LEAK,       /* filp leak */
    _TG_PATTERN_MAX,
};

struct tg_params {
    enum tg_pattern pattern;
    double ram_mb;       /* 256, 512, 1024, 4096 */
    double leak_per_day; /* bytes/day, TG_LEAK only */
    double days;         /* length if nothing panics */
    double interval_s;   /* sample interval */
    int64_t boot_ms;     /* boot time, ms since the epoch */
    uint64_t seed;
};

struct tg_trace {
    size_t n;
    int64_t *t_ms;
    double mem_total; /* bytes */
    double *mem_free, *mem_available, *cached, *sunreclaim, *sreclaimable, *anon, *shmem;
    double *filp_objects, *open_fds, *filefd_allocated;
    double *kmalloc192_objects, *dentry_objects;
    double filp_size; /* bytes per filp object */
    double oom_floor; /* bytes; MemAvailable at or below it = panic */
    int64_t panic_ms; /* time of the simulated panic, -1 if none */
};

/* Generate a trace. 0 or -ENOMEM / -EINVAL. Free with tg_trace_free(). */
int tg_generate(const struct tg_params *p, struct tg_trace *ret);
void tg_trace_free(struct tg_trace *t);

/* "quiet", "pagecache", "step", "sawtooth", "reclaim", "noisy_anon", "leak"; NULL if bad. */
const char *tg_pattern_name(enum tg_pattern p);
/* Reverse; -1 when unknown. */
int tg_pattern_from_name(const char *s);

#include "leak.h"

/*
 * The leak analysis' view of a trace: SUnreclaim, slab filp and kmalloc-192
 * (bytes), the filp and file-nr gaps, MemAvailable (with_slab = 0: MemAvailable
 * only, as a non-root agent reports). Series point into t and into buffers
 * owned by ret; free with tg_series_free().
 */
struct tg_series {
    struct leak_series s[6];
    size_t n;
    double *buf[4];
};

int tg_series_make(const struct tg_trace *t, int with_slab, struct tg_series *ret);
void tg_series_free(struct tg_series *s);
#endif
