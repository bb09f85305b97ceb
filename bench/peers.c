/* SPDX-License-Identifier: MIT */
/* peers.c - see peers.h. */
#include "peers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define H_MS (3600 * 1000LL)

int
peer_predict_linear_fires(const int64_t *t_ms, const double *v, size_t n, int64_t at_ms)
{
    double st = 0, sv = 0, stt = 0, stv = 0, k = 0, b, a;

    for (size_t i = n; i > 0 && t_ms[i - 1] >= at_ms - 6 * H_MS; i--) {
        double x = (double)(t_ms[i - 1] - at_ms) / 1000.0;
        st += x;
        sv += v[i - 1];
        stt += x * x;
        stv += x * v[i - 1];
        k++;
    }
    if (k < 2 || k * stt - st * st <= 0)
        return 0;
    b = (k * stv - st * sv) / (k * stt - st * st);
    a = (sv - b * st) / k; /* the line's value at at_ms (x = 0) */
    return a + b * 86400 < 0;
}

int
peer_netdata_fires(double available, double total)
{
    return available * 100 / total < 10;
}

static int
cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}

double
bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_d);
    return v[n / 2];
}

void
bench_fmt_h(char out[32], double h)
{
    if (isnan(h))
        (void)snprintf(out, 32, "never");
    else if (h < 48)
        (void)snprintf(out, 32, "%.1f h", h);
    else
        (void)snprintf(out, 32, "%.1f d", h / 24);
}
