/* SPDX-License-Identifier: MIT */
/*
 * leak.h - kernel memory leak detection on one boot segment (pure computation:
 * arrays of samples in, a verdict with numbers out; no store, no I/O, no clock).
 *
 * Input: the segment's series, each tagged with what it measures. Quiet
 * kernel signals come first (unreclaimable slab, single unreclaimable slab
 * caches, the struct-file gap between filp objects / file-nr and open
 * descriptors); MemAvailable last (it is noisy and has daily cycles).
 *
 * Per signal: drop the warm-up after boot, bin to medians (>= 10 min, at most
 * LEAK_MAX_BINS bins), Theil-Sen slope with Sen's CI, Mann-Kendall with the
 * Hamed-Rao autocorrelation correction, then the shape tests that keep
 * healthy kernels quiet: growth must be fast enough to matter, not a one-time
 * step (at the best two-level split, little growth within the two parts), not a
 * plateau (the last third still grows), and, with two days or more, not a daily
 * cycle (day-over-day growth). MemAvailable alone needs two days (four when the
 * quiet signals are there and flat). A leak is called when two quiet signals
 * grow (a single cache or gap only when unreclaimable slab agrees), when one
 * grows for a day (SUnreclaim in no slab cache seen: three) or is backed by a
 * sparse quiet signal rising at a similar rate, or when MemAvailable falls
 * steadily for days. Samples out of order, repeated times, gaps, stale signals
 * and a reset the boot markers missed are handled and said in the note.
 * See docs/internals/ANALYSIS.md.
 */
#ifndef SOAK_LEAK_H
#define SOAK_LEAK_H

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define LEAK_MAX_BINS 300 /* bins per signal; the bin width grows past this */
#define LEAK_NAME_MAX 96

enum leak_kind {
    LEAK_SIG_SUNRECLAIM,    /* node_memory_SUnreclaim_bytes */
    LEAK_SIG_SLAB_CACHE,    /* bytes of one unreclaimable slab cache */
    LEAK_SIG_FILP_GAP,      /* (filp objects - open fds) * filp object size, bytes */
    LEAK_SIG_FILEFD_GAP,    /* (file-nr allocated - open fds) * filp object size, bytes */
    LEAK_SIG_MEM_AVAILABLE, /* node_memory_MemAvailable_bytes as measured (falls on a leak) */
    _LEAK_SIG_MAX,
};

/*
 * One input series: samples in time order. Out-of-order samples are sorted (on a
 * copy), repeated times and NaN are tolerated; each is counted and said in the note.
 */
struct leak_series {
    const char *name; /* shown in the evidence ("SUnreclaim", "slab filp", ...) */
    enum leak_kind kind;
    const int64_t *t_ms;
    const double *v;
    size_t n;
};

struct leak_input {
    int64_t start_ms; /* segment start: boot time (or the first sample) */
    int64_t end_ms;   /* analyse samples with t <= end_ms */
    double mem_total; /* bytes; NaN when unknown */
    int unmarked;     /* 1: no boot time or boot id split the history, so look for a reboot
                         they would have marked (a quiet signal falling back at once) */
    const struct leak_series *series;
    size_t n_series;
};

struct leak_params {
    double warmup_s;         /* ignore this long after start_ms */
    double min_bin_s;        /* smallest bin width */
    size_t min_bins;         /* fewer bins: not judged */
    double alpha;            /* one-sided Mann-Kendall level for the main signals */
    double conf;             /* two-sided level of the slope CI */
    double rate_min;         /* bytes/day below which growth does not matter */
    double rate_min_frac;    /* ... or this fraction of MemTotal per 30 days, if larger */
    double growth_min;       /* bytes the signal must grow over the window */
    double alone_min_s;      /* a single growing quiet signal needs this much data */
    double alone_slab_min_s; /* ... SUnreclaim growing in none of the slab caches seen: this */
    double noise_k;          /* growth over the window must exceed noise_k robust sigmas */
    double noise_k_avail;    /* ... noise_k_avail for MemAvailable */
    double tail_frac;        /* plateau: the last third grows slower than this * rate; step:
                                the growth within the parts of the best split is below this
                                fraction of the whole */
    double avail_min_s;      /* MemAvailable alone needs this much data */
    double oom_floor_frac;   /* exhaustion when MemAvailable reaches this fraction of MemTotal */
    double oom_floor_min;    /* ... but at least these bytes */
    double gap_note_s;       /* a gap between samples at least this long is said in the note */
    double reset_min;        /* a quiet signal falling by at least this many bytes at once ... */
    double reset_frac;       /* ... losing this fraction of its growth since its low: a reset */
};

/* One signal's numbers, in the order the series were given. */
struct leak_evidence {
    char name[LEAK_NAME_MAX];
    enum leak_kind kind;
    size_t bins;
    double bin_s;
    double rate; /* bytes/day (for MemAvailable: its fall), NaN if not computed */
    double rate_lo, rate_hi;
    double z;            /* Mann-Kendall Z after the Hamed-Rao correction */
    double p;            /* its one-sided p */
    double hr_factor;    /* Hamed-Rao variance factor */
    int growing;         /* passed every test */
    int sparse_up;       /* rising in nearly every pair (Kendall tau >= 0.8): can back another */
    size_t out_of_order; /* samples that came before an earlier one (sorted on a copy) */
    size_t repeated;     /* samples at a time already seen (binned with it) */
    double gap_s;        /* longest time without a sample in the analysed window, seconds */
    const char *why;     /* "growing", "no trend", "too slow", "within noise", "step", "plateau",
                            "daily cycle", "too little data", "needs 2 days",
                            "not confirmed by SUnreclaim", "alone, needs a day",
                                "backs the trend (sparse)" */
};

struct leak_result {
    int judged; /* 0: not enough data to say anything (see note) */
    int leak;
    char signal[LEAK_NAME_MAX]; /* the signal whose rate is reported ("" when no leak) */
    double rate;                /* bytes/day, NaN when no leak */
    double rate_lo, rate_hi;
    double mem_available;     /* MemAvailable at last_ms on the leak's line (median of the last
                                 bins carried forward at the rate), bytes; NaN if unknown */
    double dip;               /* how far MemAvailable dips below that line (99.9th percentile
                                 of the samples, bursts included), bytes; 0 when none */
    double mem_available0;    /* first binned MemAvailable after warm-up, bytes; NaN if unknown */
    int64_t last_ms;          /* time of the last MemAvailable bin (projection origin) */
    double oom_floor;         /* bytes */
    int64_t exhaustion_ms;    /* projected time MemAvailable's dips reach the floor; -1 if none */
    double hours;             /* hours of data analysed (after warm-up) */
    struct leak_evidence *ev; /* n_ev entries, owned; free with leak_result_done() */
    size_t n_ev;
    int64_t reset_ms; /* a reboot the boot markers missed: judged after it; -1 if none */
    char note[512];   /* what could not be judged or was repaired, "" if nothing */
};

/* The defaults (documented in ANALYSIS.md). */
void leak_params_default(struct leak_params *p);

/*
 * Analyse one segment. params may be NULL (defaults). ret is filled (and must be
 * released with leak_result_done()) on success. 0, -EINVAL, -ENOMEM.
 */
_warn_unused_result_ int leak_analyze(const struct leak_input *in, const struct leak_params *params,
                                      struct leak_result *ret);

void leak_result_done(struct leak_result *r);

/* "sunreclaim", "slab_cache", "filp_gap", "filefd_gap", "mem_available". */
const char *leak_kind_name(enum leak_kind k);

/*
 * 1 when a slab cache is known to be reclaimable (dentry, inode caches,
 * kmalloc-rcl-*, buffer_head, radix_tree_node, ...), so its growth is not a leak signal.
 */
int leak_slab_reclaimable(const char *cache);

/*
 * Days until a board with ram_bytes of RAM would run out, for a leak of rate
 * bytes/day observed on a board with mem_total bytes whose MemAvailable was
 * avail0 bytes after warm-up. The non-leaking use (mem_total - avail0) is
 * assumed the same; the RAM the kernel keeps for itself scales with the size.
 * NaN when rate <= 0 or inputs are unknown.
 */
double leak_days_on_ram(double rate, double mem_total, double avail0, double ram_bytes,
                        double board_ram, const struct leak_params *params);

#endif
