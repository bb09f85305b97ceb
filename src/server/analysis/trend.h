/* SPDX-License-Identifier: MIT */
/*
 * trend.h - robust trend statistics on short arrays (pure computation: no I/O,
 * no clock, no store). Times are seconds (double), values any unit.
 *
 *   trend_bin_median()   fixed-width bins -> one median per non-empty bin
 *   trend_mann_kendall() Mann-Kendall S, tie-corrected variance and the
 *                        Hamed-Rao (1998) correction for autocorrelation
 *   trend_theil_sen()    Theil-Sen slope, intercept and Sen's (1968) CI
 *   trend_ols()          least-squares line (for comparisons and baselines)
 *   trend_step_sse()     best single-step (two-level) fit
 *   trend_end_growth()   first to last quarter: growth and mean rate
 *   trend_lag_diff()     day-over-day differences (daily-cycle check)
 *
 * All functions are O(n^2) at most; callers bin first (a few hundred points).
 */
#ifndef SOAK_TREND_H
#define SOAK_TREND_H

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* Standard normal CDF and its inverse (p in (0,1)). */
double trend_norm_cdf(double z);
double trend_norm_quantile(double p);

/*
 * Median of n values; the array is reordered. NaN when n == 0.
 */
double trend_median(double *v, size_t n);

/*
 * The q-quantile (0 <= q <= 1) of n values by nearest rank: the value at index
 * floor(q * (n - 1) + 0.5) of the sorted array. O(n) on average (selection, no
 * sort); the array is reordered. NaN when n == 0 or q is outside [0, 1].
 */
double trend_quantile(double *v, size_t n, double q);

/*
 * Bin n samples (t_ms sorted ascending; NaN values skipped) with t0_ms <= t < t1_ms
 * into bins of width_ms starting at t0_ms. For each non-empty bin writes the median
 * time (seconds) to ret_t and the median value to ret_v, at most cap bins.
 * Returns the number of bins written, or -ENOMEM / -EINVAL (width <= 0).
 */
_warn_unused_result_ int trend_bin_median(const int64_t *t_ms, const double *v, size_t n,
                                          int64_t t0_ms, int64_t t1_ms, int64_t width_ms,
                                          size_t cap, double *ret_t, double *ret_v);

struct trend_mk {
    double s;        /* Mann-Kendall S */
    double var;      /* Var(S) with the tie correction */
    double var_corr; /* Var(S) after the Hamed-Rao factor (== var when not applied) */
    double factor;   /* the Hamed-Rao factor n/n* (>= 1 when positively autocorrelated) */
    double z;        /* continuity-corrected Z from var_corr */
    double p_up;     /* one-sided p of an upward trend, 1 - Phi(z) */
    double tau;      /* Kendall tau-a */
};

/*
 * Mann-Kendall trend test of y[0..n) (in time order). Values within tie_eps of
 * each other count as ties. When t is not NULL and detrend_slope is finite, the
 * Hamed-Rao variance correction is applied: ranks of y - slope*t, lag
 * autocorrelations significant at 5 %, factor never below 1.
 * 0, -EINVAL (n < 3), -ENOMEM.
 */
_warn_unused_result_ int trend_mann_kendall(const double *t, const double *y, size_t n,
                                            double tie_eps, double detrend_slope,
                                            struct trend_mk *ret);

struct trend_sen {
    double slope;     /* median pairwise slope (value units per second) */
    double lo, hi;    /* confidence interval of the slope */
    double intercept; /* median(y - slope*t) */
    size_t pairs;     /* pairs with distinct times */
};

/*
 * Theil-Sen slope of (t, y) with Sen's confidence interval at two-sided level
 * conf (e.g. 0.90) computed from var_s (Var(S) of Mann-Kendall; pass the
 * Hamed-Rao corrected one for autocorrelated data). Order statistics are
 * rounded as scipy's theilslopes does.
 * 0, -EINVAL (fewer than 2 distinct times), -ENOMEM.
 */
_warn_unused_result_ int trend_theil_sen(const double *t, const double *y, size_t n, double conf,
                                         double var_s, struct trend_sen *ret);

/* Least-squares line: slope, intercept and the sum of squared residuals. 0 or -EINVAL. */
_warn_unused_result_ int trend_ols(const double *t, const double *y, size_t n, double *ret_slope,
                                   double *ret_intercept, double *ret_sse);

/*
 * Best two-level (step) fit of y: the split k (min_seg <= k <= n - min_seg)
 * minimising the sum of squared deviations from each side's mean.
 * Writes the SSE and the split index. 0 or -EINVAL (n < 2 * min_seg).
 */
_warn_unused_result_ int trend_step_sse(const double *y, size_t n, size_t min_seg, double *ret_sse,
                                        size_t *ret_k);

/*
 * Growth from the first to the last quarter of (t, y): the median of y over its
 * last m points minus the median over its first m points, m = max(2, n / 4), and
 * the time between the two quarters (median times). A mean rate growth / dt that
 * does not favour the flat stretches of growth that comes in jumps, as the median
 * of pairwise slopes does. 0, -EINVAL (n < 4 or dt <= 0), -ENOMEM.
 */
_warn_unused_result_ int trend_end_growth(const double *t, const double *y, size_t n,
                                          double *ret_growth, double *ret_dt);

/*
 * Differences y(t) - y(t - lag_s) for every point that has an earlier point
 * within tolerance tol_s of t - lag_s. Writes the median difference and the
 * fraction of positive differences. Returns the number of differences (0: none).
 */
size_t trend_lag_diff(const double *t, const double *y, size_t n, double lag_s, double tol_s,
                      double *ret_median, double *ret_frac_pos);

#endif
