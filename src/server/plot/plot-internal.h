/* SPDX-License-Identifier: MIT */
/*
 * plot-internal.h - the pieces of the plotter that tests exercise directly:
 * per-pixel-column downsampling and axis ticks. Not for use outside plot/.
 */
#ifndef SOAK_PLOT_INTERNAL_H
#define SOAK_PLOT_INTERNAL_H

#include <cairo.h>
#include <stddef.h>
#include <stdint.h>

#include "plot.h"

/* One pixel column's worth of samples. */
struct plot_column {
    long col; /* column index from the area's left edge (may be <0 or >=w: off-area) */
    double first, min, max, last;
    size_t n;           /* samples aggregated */
    int starts_segment; /* 1 when the line must not join the previous column (gap, NaN, first) */
};

typedef void (*plot_column_fn)(void *ctx, const struct plot_column *c);

/*
 * Walk pts (sorted by time) and call fn once per pixel column of a, in time
 * order, with the first/min/max/last of the samples in that column. Only the
 * samples inside [a->from_ms, a->to_ms] plus one neighbour on each side are
 * visited (binary search), so the cost is O(log n + visible samples) with no
 * allocation. A gap longer than gap_ms or a NaN sample starts a new segment.
 * Returns the number of columns emitted.
 */
size_t plot_downsample(const struct plot_point *pts, size_t n, const struct plot_area *a,
                       int64_t gap_ms, plot_column_fn fn, void *ctx);

/*
 * The gap that breaks a line when the pane gives none: 5 minutes, or 2.5 times
 * the median interval of the first 64 samples when that is longer (a series
 * written every 10 minutes stays one line).
 */
int64_t plot_auto_gap(const struct plot_point *pts, size_t n);

#define PLOT_MAX_TICKS 64

/*
 * Time ticks for [from_ms, to_ms] with about max_ticks of them: a step from a
 * fixed ladder (1 min ... 1 year) and the tick times (multiples of the step in
 * UTC, days aligned on midnight). Returns the number of ticks written to
 * ret_t (at most PLOT_MAX_TICKS) and the step in *ret_step_ms.
 */
size_t plot_time_ticks(int64_t from_ms, int64_t to_ms, int max_ticks, int64_t *ret_step_ms,
                       int64_t ret_t[PLOT_MAX_TICKS]);

/* Label of a time tick given the step: "Nov 27" for day steps, "06:00" (or the date at midnight).
 */
void plot_time_label(int64_t t_ms, int64_t step_ms, char *out, size_t size);

/*
 * A "nice" value range and step covering [lo, hi] with about max_ticks ticks
 * (steps of 1, 2, 2.5, 5 x 10^k in the display unit; for bytes the unit is a
 * power of 1024). Writes the rounded range, the step and the unit divisor.
 */
void plot_nice_range(double lo, double hi, int max_ticks, enum plot_yfmt yfmt, double *ret_lo,
                     double *ret_hi, double *ret_step, double *ret_div);

/* Tick label for value v with the divisor from plot_nice_range ("150 MiB", "21.5 °C"). */
void plot_value_label(double v, double div, double step, enum plot_yfmt yfmt, const char *unit,
                      char *out, size_t size);

/* Where the PNG encoder writes: n bytes at p; 0 or a negative errno. */
typedef int (*plot_write_fn)(void *ctx, const void *p, size_t n);

/*
 * Encode an RGB24 image surface as PNG (8-bit truecolour, Sub filter, zlib's
 * fastest level, run-length strategy) through wr. 0, -EINVAL (not an RGB24
 * image), -ENOMEM, or wr's error.
 */
_warn_unused_result_ int plot_png_write(cairo_surface_t *surf, plot_write_fn wr, void *ctx);

#endif
