/* SPDX-License-Identifier: MIT */
/*
 * downsample.c - reduce a sorted series to first/min/max/last per pixel column.
 */
#include <math.h>
#include <stdlib.h>

#include "plot-internal.h"

/* First index whose time is >= t (n when none). */
static size_t
lower_bound(const struct plot_point *pts, size_t n, int64_t t)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pts[mid].t_ms < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

int64_t
plot_auto_gap(const struct plot_point *pts, size_t n)
{
    int64_t d[64], gap = 5 * 60 * 1000;
    size_t m = 0;

    for (size_t i = 1; i < n && m < ARRAY_SIZE(d); i++)
        d[m++] = pts[i].t_ms - pts[i - 1].t_ms;
    if (m == 0)
        return gap;
    qsort(d, m, sizeof(d[0]), cmp_i64);
    return MAX(gap, d[m / 2] * 5 / 2);
}

size_t
plot_downsample(const struct plot_point *pts, size_t n, const struct plot_area *a, int64_t gap_ms,
                plot_column_fn fn, void *ctx)
{
    struct plot_column c = {0};
    double span = (double)(a->to_ms - a->from_ms);
    double w = a->w >= 1 ? a->w : 1;
    size_t lo, hi, emitted = 0;
    int have = 0, brk = 1, has_prev = 0;
    int64_t prev_t = 0;

    if (n == 0 || !pts)
        return 0;
    if (gap_ms <= 0)
        gap_ms = 5 * 60 * 1000;
    if (span <= 0)
        span = 1;
    lo = lower_bound(pts, n, a->from_ms);
    if (lo > 0)
        lo--; /* one sample to the left so the line enters the area */
    hi = lower_bound(pts, n, a->to_ms + 1);
    if (hi < n)
        hi++; /* and one to the right */

    for (size_t i = lo; i < hi; i++) {
        const struct plot_point *p = &pts[i];
        int gap;
        long col;

        if (!isfinite(p->v)) {
            brk = 1;
            continue;
        }
        gap = has_prev && p->t_ms - prev_t > gap_ms;
        col = (long)floor((double)(p->t_ms - a->from_ms) * w / span);
        if (have && (brk || gap || col != c.col)) {
            fn(ctx, &c);
            emitted++;
            have = 0;
        }
        if (!have) {
            c.col = col;
            c.first = c.min = c.max = c.last = p->v;
            c.n = 1;
            c.starts_segment = brk || gap;
            have = 1;
        } else {
            if (p->v < c.min)
                c.min = p->v;
            if (p->v > c.max)
                c.max = p->v;
            c.last = p->v;
            c.n++;
        }
        brk = 0;
        has_prev = 1;
        prev_t = p->t_ms;
    }
    if (have) {
        fn(ctx, &c);
        emitted++;
    }
    return emitted;
}
