/* SPDX-License-Identifier: MIT */
#include "trend.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

double
trend_norm_cdf(double z)
{
    return 0.5 * erfc(-z / M_SQRT2);
}

double
trend_norm_quantile(double p)
{
    double lo = -40, hi = 40;

    if (!(p > 0 && p < 1))
        return NAN;
    /* Bisection on the CDF: 100 halvings of [-40, 40] reach double precision. */
    for (int i = 0; i < 100; i++) {
        double mid = 0.5 * (lo + hi);
        if (trend_norm_cdf(mid) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

static void
swapd(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* k-th smallest (0-based) of v[0..n), reordering v (Wirth's selection). */
static double
select_kth(double *v, size_t n, size_t k)
{
    long l = 0, m = (long)n - 1, kk = (long)k;

    while (l < m) {
        double x = v[kk];
        long i = l, j = m;
        do {
            while (v[i] < x)
                i++;
            while (x < v[j])
                j--;
            if (i <= j) {
                swapd(&v[i], &v[j]);
                i++;
                j--;
            }
        } while (i <= j);
        if (j < kk)
            l = i;
        if (kk < i)
            m = j;
    }
    return v[kk];
}

double
trend_median(double *v, size_t n)
{
    double a, b;

    if (n == 0)
        return NAN;
    a = select_kth(v, n, n / 2);
    if (n % 2)
        return a;
    b = select_kth(v, n / 2, n / 2 - 1);
    return 0.5 * (a + b);
}

double
trend_quantile(double *v, size_t n, double q)
{
    if (n == 0 || !(q >= 0 && q <= 1))
        return NAN;
    return select_kth(v, n, (size_t)floor(q * (double)(n - 1) + 0.5));
}

int
trend_bin_median(const int64_t *t_ms, const double *v, size_t n, int64_t t0_ms, int64_t t1_ms,
                 int64_t width_ms, size_t cap, double *ret_t, double *ret_v)
{
    double *bt, *bv;
    size_t out = 0, i = 0;

    if (width_ms <= 0)
        return -EINVAL;
    bt = malloc(sizeof(double) * (n ? n : 1));
    bv = malloc(sizeof(double) * (n ? n : 1));
    if (!bt || !bv) {
        free(bt);
        free(bv);
        return -ENOMEM;
    }
    while (i < n && t_ms[i] < t0_ms)
        i++;
    while (i < n && t_ms[i] < t1_ms && out < cap) {
        int64_t bin = (t_ms[i] - t0_ms) / width_ms;
        int64_t end = t0_ms + (bin + 1) * width_ms;
        size_t m = 0;
        for (; i < n && t_ms[i] < end && t_ms[i] < t1_ms; i++) {
            if (isnan(v[i]))
                continue;
            bt[m] = (double)t_ms[i] / 1000.0;
            bv[m] = v[i];
            m++;
        }
        if (m == 0)
            continue;
        ret_t[out] = trend_median(bt, m);
        ret_v[out] = trend_median(bv, m);
        out++;
    }
    free(bt);
    free(bv);
    return (int)out;
}

static int
sgn_eps(double d, double eps)
{
    if (d > eps)
        return 1;
    if (d < -eps)
        return -1;
    return 0;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Sum over tie groups of t(t-1)(2t+5), values within eps being one group. */
static double
tie_term(const double *y, size_t n, double eps, double *scratch)
{
    double sum = 0;
    size_t i = 0;

    memcpy(scratch, y, sizeof(double) * n);
    qsort(scratch, n, sizeof(double), cmp_double);
    while (i < n) {
        size_t j = i + 1;
        while (j < n && scratch[j] - scratch[i] <= eps)
            j++;
        double t = (double)(j - i);
        if (t > 1)
            sum += t * (t - 1) * (2 * t + 5);
        i = j;
    }
    return sum;
}

/* Ranks (1..n, ties averaged) of y into r. */
static void
ranks(const double *y, size_t n, double *r, size_t *idx)
{
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    /* Insertion sort of indices by value: n is a few hundred. */
    for (size_t i = 1; i < n; i++) {
        size_t k = idx[i], j = i;
        while (j > 0 && y[idx[j - 1]] > y[k]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = k;
    }
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && y[idx[j]] == y[idx[i]])
            j++;
        double avg = 0.5 * (double)(i + 1 + j);
        for (size_t m = i; m < j; m++)
            r[idx[m]] = avg;
        i = j;
    }
}

static double
hamed_rao_factor(const double *t, const double *y, size_t n, double slope)
{
    double *d = malloc(sizeof(double) * n);
    double *r = malloc(sizeof(double) * n);
    size_t *idx = malloc(sizeof(size_t) * n);
    double mean = 0, c0 = 0, sum = 0, thr, nn = (double)n, factor;
    size_t maxlag = n / 3;

    if (!d || !r || !idx) {
        free(d);
        free(r);
        free(idx);
        return NAN;
    }
    for (size_t i = 0; i < n; i++)
        d[i] = y[i] - slope * (t[i] - t[0]);
    ranks(d, n, r, idx);
    for (size_t i = 0; i < n; i++)
        mean += r[i];
    mean /= nn;
    for (size_t i = 0; i < n; i++)
        c0 += (r[i] - mean) * (r[i] - mean);
    /* Only lags whose autocorrelation is significant at 5 % count (Hamed & Rao 1998). */
    thr = 1.96 / sqrt(nn);
    for (size_t k = 1; k <= maxlag && c0 > 0; k++) {
        double ck = 0;
        for (size_t i = 0; i + k < n; i++)
            ck += (r[i] - mean) * (r[i + k] - mean);
        double rho = ck / c0;
        if (fabs(rho) <= thr)
            continue;
        double kk = (double)k;
        sum += (nn - kk) * (nn - kk - 1) * (nn - kk - 2) * rho;
    }
    factor = 1 + 2 / (nn * (nn - 1) * (nn - 2)) * sum;
    free(d);
    free(r);
    free(idx);
    /* Negative autocorrelation would shrink the variance; never trust that. */
    return factor < 1 ? 1 : factor;
}

int
trend_mann_kendall(const double *t, const double *y, size_t n, double tie_eps, double detrend_slope,
                   struct trend_mk *ret)
{
    double s = 0, nn = (double)n, var, factor = 1;
    double *scratch;

    if (n < 3)
        return -EINVAL;
    for (size_t i = 0; i + 1 < n; i++)
        for (size_t j = i + 1; j < n; j++)
            s += sgn_eps(y[j] - y[i], tie_eps);
    scratch = malloc(sizeof(double) * n);
    if (!scratch)
        return -ENOMEM;
    var = (nn * (nn - 1) * (2 * nn + 5) - tie_term(y, n, tie_eps, scratch)) / 18.0;
    free(scratch);
    if (t && isfinite(detrend_slope) && n >= 4) {
        factor = hamed_rao_factor(t, y, n, detrend_slope);
        if (isnan(factor))
            return -ENOMEM;
    }
    ret->s = s;
    ret->var = var;
    ret->factor = factor;
    ret->var_corr = var * factor;
    if (ret->var_corr <= 0)
        ret->z = 0;
    else if (s > 0)
        ret->z = (s - 1) / sqrt(ret->var_corr);
    else if (s < 0)
        ret->z = (s + 1) / sqrt(ret->var_corr);
    else
        ret->z = 0;
    ret->p_up = 1 - trend_norm_cdf(ret->z);
    ret->tau = s / (nn * (nn - 1) / 2);
    return 0;
}

int
trend_theil_sen(const double *t, const double *y, size_t n, double conf, double var_s,
                struct trend_sen *ret)
{
    size_t npairs = n * (n - 1) / 2, m = 0;
    double *q, *d, slope, z, c;
    long long ru, rl;

    if (n < 2)
        return -EINVAL;
    q = malloc(sizeof(double) * npairs);
    if (!q)
        return -ENOMEM;
    for (size_t i = 0; i + 1 < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (t[j] != t[i])
                q[m++] = (y[j] - y[i]) / (t[j] - t[i]);
    if (m == 0) {
        free(q);
        return -EINVAL;
    }
    slope = trend_median(q, m);
    /* Sen's interval: ranks (N -+ z*sqrt(Var S)) / 2 into the sorted slopes. */
    z = trend_norm_quantile(0.5 + conf / 2);
    c = z * sqrt(var_s > 0 ? var_s : 0);
    ru = llround(((double)m + c) / 2.0);
    rl = llround(((double)m - c) / 2.0) - 1;
    if (ru > (long long)m - 1)
        ru = (long long)m - 1;
    if (rl < 0)
        rl = 0;
    ret->hi = select_kth(q, m, (size_t)ru);
    ret->lo = select_kth(q, m, (size_t)rl);
    ret->slope = slope;
    ret->pairs = m;
    free(q);

    d = malloc(sizeof(double) * n);
    if (!d)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        d[i] = y[i] - slope * t[i];
    ret->intercept = trend_median(d, n);
    free(d);
    return 0;
}

int
trend_ols(const double *t, const double *y, size_t n, double *ret_slope, double *ret_intercept,
          double *ret_sse)
{
    double mt = 0, my = 0, sxx = 0, sxy = 0, sse = 0, b, a;

    if (n < 2)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        mt += t[i];
        my += y[i];
    }
    mt /= (double)n;
    my /= (double)n;
    for (size_t i = 0; i < n; i++) {
        sxx += (t[i] - mt) * (t[i] - mt);
        sxy += (t[i] - mt) * (y[i] - my);
    }
    if (sxx <= 0)
        return -EINVAL;
    b = sxy / sxx;
    a = my - b * mt;
    for (size_t i = 0; i < n; i++) {
        double r = y[i] - (a + b * t[i]);
        sse += r * r;
    }
    *ret_slope = b;
    *ret_intercept = a;
    *ret_sse = sse;
    return 0;
}

int
trend_end_growth(const double *t, const double *y, size_t n, double *ret_growth, double *ret_dt)
{
    size_t m = MAX(2, n / 4);
    double *w, ya, yb, ta, tb;

    if (n < 4)
        return -EINVAL;
    w = malloc(sizeof(double) * m);
    if (!w)
        return -ENOMEM;
    memcpy(w, y, sizeof(double) * m);
    ya = trend_median(w, m);
    memcpy(w, y + n - m, sizeof(double) * m);
    yb = trend_median(w, m);
    memcpy(w, t, sizeof(double) * m);
    ta = trend_median(w, m);
    memcpy(w, t + n - m, sizeof(double) * m);
    tb = trend_median(w, m);
    free(w);
    if (!(tb > ta))
        return -EINVAL;
    *ret_growth = yb - ya;
    *ret_dt = tb - ta;
    return 0;
}

int
trend_step_sse(const double *y, size_t n, size_t min_seg, double *ret_sse, size_t *ret_k)
{
    double s = 0, s2 = 0, ls = 0, ls2 = 0, best = INFINITY, off;
    size_t bestk = 0;

    if (min_seg < 1)
        min_seg = 1;
    if (n < 2 * min_seg)
        return -EINVAL;
    /* Shift by the first value: keeps the running sums of squares well conditioned. */
    off = y[0];
    for (size_t i = 0; i < n; i++) {
        s += y[i] - off;
        s2 += (y[i] - off) * (y[i] - off);
    }
    for (size_t k = 1; k < n; k++) {
        double v = y[k - 1] - off;
        ls += v;
        ls2 += v * v;
        if (k < min_seg || n - k < min_seg)
            continue;
        double nl = (double)k, nr = (double)(n - k);
        double rs = s - ls, rs2 = s2 - ls2;
        double sse = (ls2 - ls * ls / nl) + (rs2 - rs * rs / nr);
        if (sse < best) {
            best = sse;
            bestk = k;
        }
    }
    *ret_sse = best < 0 ? 0 : best;
    *ret_k = bestk;
    return 0;
}

size_t
trend_lag_diff(const double *t, const double *y, size_t n, double lag_s, double tol_s,
               double *ret_median, double *ret_frac_pos)
{
    double *d = malloc(sizeof(double) * (n ? n : 1));
    size_t m = 0, pos = 0, j = 0;

    if (!d)
        return 0;
    for (size_t i = 0; i < n; i++) {
        double want = t[i] - lag_s;
        while (j + 1 < n && t[j + 1] <= want)
            j++;
        /* Nearest of t[j], t[j+1] to want. */
        size_t best = j;
        if (j + 1 < n && fabs(t[j + 1] - want) < fabs(t[j] - want))
            best = j + 1;
        if (best >= i || fabs(t[best] - want) > tol_s)
            continue;
        d[m] = y[i] - y[best];
        if (d[m] > 0)
            pos++;
        m++;
    }
    if (m > 0) {
        *ret_frac_pos = (double)pos / (double)m;
        *ret_median = trend_median(d, m);
    }
    free(d);
    return m;
}
