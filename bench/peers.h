/* SPDX-License-Identifier: MIT */
/*
 * peers.h - the alert rules soak's leak detection is compared with, and the
 * small helpers both leak benchmarks (leakbench.c, leakindep.c) print with.
 */
#ifndef SOAK_BENCH_PEERS_H
#define SOAK_BENCH_PEERS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Prometheus: predict_linear(MemAvailable[6h], 24h) < 0 at at_ms, a least-squares
 * line through the samples of the last 6 h among t_ms[0..n) / v[0..n) (sorted
 * by time, none after at_ms). 1 fires, 0 not (or fewer than two samples).
 */
int peer_predict_linear_fires(const int64_t *t_ms, const double *v, size_t n, int64_t at_ms);

/* netdata: ram_available = available * 100 / total < 10. */
int peer_netdata_fires(double available, double total);

/* Median of v[0..n) (sorted in place; NaN last). */
double bench_median(double *v, int n);

/* Hours as "3.5 h" below two days, "4.5 d" above, "never" for NaN. */
void bench_fmt_h(char out[32], double h);

#endif
