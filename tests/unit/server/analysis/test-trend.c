/* SPDX-License-Identifier: MIT */
/* Unit tests of src/server/analysis/trend.c against hand-computed values. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "trend.h"

#define EPS 1e-6

static void
test_normal(void **state)
{
    (void)state;
    assert_true(fabs(trend_norm_cdf(0) - 0.5) < EPS);
    assert_true(fabs(trend_norm_cdf(1.959964) - 0.975) < 1e-6);
    assert_true(fabs(trend_norm_quantile(0.975) - 1.959964) < 1e-5);
    assert_true(fabs(trend_norm_quantile(0.95) - 1.644854) < 1e-5);
    assert_true(isnan(trend_norm_quantile(0)));
}

static int
cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* trend_quantile() against sorting and indexing, on arrays with many duplicates. */
static void
test_quantile(void **state)
{
    static const double qs[] = {0, 0.05, 0.5, 0.95, 1};
    double v[257], sorted[257];
    unsigned seed = 12345;

    (void)state;
    for (size_t n = 1; n <= 257; n += 16) {
        for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
            for (size_t i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                v[i] = sorted[i] = (double)((seed >> 16) % 37);
            }
            qsort(sorted, n, sizeof(double), cmp_dbl);
            double want = sorted[(size_t)floor(qs[k] * (double)(n - 1) + 0.5)];
            assert_true(trend_quantile(v, n, qs[k]) == want);
        }
    }
    assert_true(isnan(trend_quantile(v, 0, 0.5)));
    assert_true(isnan(trend_quantile(v, 3, 1.5)));
    assert_true(isnan(trend_quantile(v, 3, NAN)));
}

static void
test_median(void **state)
{
    double a[] = {5, 1, 4, 2, 3};
    double b[] = {4, 1, 3, 2};

    (void)state;
    assert_true(fabs(trend_median(a, 5) - 3) < EPS);
    assert_true(fabs(trend_median(b, 4) - 2.5) < EPS);
    assert_true(isnan(trend_median(a, 0)));
}

static void
test_mann_kendall(void **state)
{
    const double y1[] = {1, 2, 3, 4, 5};
    const double y2[] = {1, 3, 2, 4};
    const double y3[] = {1, 1, 2};
    struct trend_mk mk;

    (void)state;
    assert_int_equal(trend_mann_kendall(NULL, y1, 5, 0, NAN, &mk), 0);
    assert_true(fabs(mk.s - 10) < EPS);
    assert_true(fabs(mk.var - 50.0 / 3.0) < EPS); /* 5*4*15/18 */
    assert_true(fabs(mk.z - 9 / sqrt(50.0 / 3.0)) < EPS);
    assert_true(fabs(mk.tau - 1) < EPS);
    assert_true(fabs(mk.factor - 1) < EPS);
    assert_true(mk.p_up < 0.02 && mk.p_up > 0.01); /* 1 - Phi(2.2045) = 0.01374 */

    assert_int_equal(trend_mann_kendall(NULL, y2, 4, 0, NAN, &mk), 0);
    assert_true(fabs(mk.s - 4) < EPS);
    assert_true(fabs(mk.var - 26.0 / 3.0) < EPS); /* 4*3*13/18 */

    /* One tie group of 2: var = (3*2*11 - 2*1*9)/18 */
    assert_int_equal(trend_mann_kendall(NULL, y3, 3, 0, NAN, &mk), 0);
    assert_true(fabs(mk.s - 2) < EPS);
    assert_true(fabs(mk.var - 48.0 / 18.0) < EPS);
    assert_int_equal(trend_mann_kendall(NULL, y3, 2, 0, NAN, &mk), -EINVAL);
}

static void
test_hamed_rao(void **state)
{
    double t[96], y[96];
    struct trend_mk mk;

    (void)state;
    /* Two slow cycles: strongly autocorrelated residuals inflate the variance. */
    for (int i = 0; i < 96; i++) {
        t[i] = i;
        y[i] = sin(2 * M_PI * i / 48.0) + 0.001 * i;
    }
    assert_int_equal(trend_mann_kendall(t, y, 96, 0, 0, &mk), 0);
    assert_true(mk.factor > 2);
    assert_true(fabs(mk.var_corr - mk.var * mk.factor) < 1e-6 * mk.var_corr);
    /* A clean line detrended by its own slope: residuals constant, no correction. */
    for (int i = 0; i < 96; i++)
        y[i] = 3.0 * i;
    assert_int_equal(trend_mann_kendall(t, y, 96, 0, 3.0, &mk), 0);
    assert_true(fabs(mk.factor - 1) < EPS);
}

static void
test_theil_sen(void **state)
{
    const double t[] = {0, 1, 2, 3};
    const double y[] = {0, 1, 2, 10};
    struct trend_sen ts;

    (void)state;
    /* Slopes sorted: 1 1 1 3.333 4.5 8 -> median 2.1667; Var S = 26/3, conf 0.90 ->
     * C = 1.645*2.944 = 4.843, upper rank round(10.84/2) = 5 -> 8, lower round(0.58) - 1 = 0 -> 1.
     */
    assert_int_equal(trend_theil_sen(t, y, 4, 0.90, 26.0 / 3.0, &ts), 0);
    assert_true(fabs(ts.slope - (1 + 10.0 / 3.0) / 2) < EPS);
    assert_true(fabs(ts.lo - 1) < EPS);
    assert_true(fabs(ts.hi - 8) < EPS);
    assert_int_equal(ts.pairs, 6);
    /* median(y - b t) = median(0, -1.1667, -2.3333, 3.5) = -0.5833 */
    assert_true(fabs(ts.intercept + 0.583333) < 1e-5);
    /* An outlier does not move it much: y = 2t with one spike. */
    {
        const double t2[] = {0, 1, 2, 3, 4, 5, 6};
        const double y2[] = {0, 2, 4, 600, 8, 10, 12};
        assert_int_equal(trend_theil_sen(t2, y2, 7, 0.9, 7 * 6 * 19 / 18.0, &ts), 0);
        assert_true(fabs(ts.slope - 2) < EPS);
    }
}

static void
test_ols_step(void **state)
{
    const double t[] = {0, 1, 2, 3};
    const double y[] = {1, 3, 5, 7};
    const double s[] = {0, 0, 0, 5, 5, 5};
    double b, a, sse;
    size_t k;

    (void)state;
    assert_int_equal(trend_ols(t, y, 4, &b, &a, &sse), 0);
    assert_true(fabs(b - 2) < EPS && fabs(a - 1) < EPS && sse < EPS);
    assert_int_equal(trend_step_sse(s, 6, 2, &sse, &k), 0);
    assert_int_equal(k, 3);
    assert_true(sse < EPS);
    /* The line leaves 6*25/4 - explained: residuals of a step are large. */
    {
        const double ts[] = {0, 1, 2, 3, 4, 5};
        assert_int_equal(trend_ols(ts, s, 6, &b, &a, &sse), 0);
        assert_true(sse > 2);
    }
    assert_int_equal(trend_step_sse(s, 3, 2, &sse, &k), -EINVAL);
}

static void
test_lag_diff(void **state)
{
    const double t[] = {0, 1, 2, 3};
    const double y[] = {0, 1, 5, 2};
    double med = 0, frac = 0;

    (void)state;
    assert_int_equal(trend_lag_diff(t, y, 4, 2, 0.1, &med, &frac), 2);
    assert_true(fabs(med - 3) < EPS); /* diffs 5 and 1 */
    assert_true(fabs(frac - 1) < EPS);
    assert_int_equal(trend_lag_diff(t, y, 4, 10, 0.1, &med, &frac), 0);
}

static void
test_bin_median(void **state)
{
    const int64_t t[] = {0, 1000, 2000, 600000, 601000, 602000, 1300000};
    const double v[] = {1, 100, 2, 5, NAN, 7, 9};
    double bt[8], bv[8];

    (void)state;
    assert_int_equal(trend_bin_median(t, v, 7, 0, 2000000, 600000, 8, bt, bv), 3);
    assert_true(fabs(bv[0] - 2) < EPS); /* median of 1, 100, 2: the spike is gone */
    assert_true(fabs(bt[0] - 1) < EPS); /* seconds */
    assert_true(fabs(bv[1] - 6) < EPS); /* 5, 7; NaN skipped */
    assert_true(fabs(bv[2] - 9) < EPS);
    assert_int_equal(trend_bin_median(t, v, 7, 0, 2000000, 0, 8, bt, bv), -EINVAL);
}

static void
test_end_growth(void **state)
{
    const double t[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    /* Jumps: flat most of the time, 8 in all. Quarters of 2: medians 0 and 8 at t 0.5, 6.5. */
    const double jumps[8] = {0, 0, 0, 4, 4, 4, 8, 8};
    const double line[8] = {1, 3, 5, 7, 9, 11, 13, 15};
    double g, dt;

    (void)state;
    assert_int_equal(trend_end_growth(t, jumps, 8, &g, &dt), 0);
    assert_true(g == 8 && dt == 6);
    assert_int_equal(trend_end_growth(t, line, 8, &g, &dt), 0);
    assert_true(g == 12 && dt == 6); /* slope 2 */
    assert_int_equal(trend_end_growth(t, line, 3, &g, &dt), -EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal),     cmocka_unit_test(test_median),
        cmocka_unit_test(test_quantile),   cmocka_unit_test(test_mann_kendall),
        cmocka_unit_test(test_hamed_rao),  cmocka_unit_test(test_theil_sen),
        cmocka_unit_test(test_ols_step),   cmocka_unit_test(test_lag_diff),
        cmocka_unit_test(test_bin_median), cmocka_unit_test(test_end_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
