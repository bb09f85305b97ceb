/* SPDX-License-Identifier: MIT */
/*
 * axis.c - ticks and tick labels: time (UTC) and values (plain or bytes).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "plot-internal.h"

#define MIN_MS (60LL * 1000)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)

static const int64_t time_steps[] = {
    MIN_MS,     2 * MIN_MS,  5 * MIN_MS,  10 * MIN_MS, 15 * MIN_MS,  30 * MIN_MS,
    HOUR_MS,    2 * HOUR_MS, 3 * HOUR_MS, 6 * HOUR_MS, 12 * HOUR_MS, DAY_MS,
    2 * DAY_MS, 7 * DAY_MS,  14 * DAY_MS, 28 * DAY_MS, 91 * DAY_MS,  365 * DAY_MS,
};

static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

size_t
plot_time_ticks(int64_t from_ms, int64_t to_ms, int max_ticks, int64_t *ret_step_ms,
                int64_t ret_t[PLOT_MAX_TICKS])
{
    int64_t span = to_ms - from_ms;
    int64_t step = time_steps[ARRAY_SIZE(time_steps) - 1];
    size_t n = 0;

    if (max_ticks < 1)
        max_ticks = 1;
    if (max_ticks > PLOT_MAX_TICKS)
        max_ticks = PLOT_MAX_TICKS;
    for (size_t i = 0; i < ARRAY_SIZE(time_steps); i++)
        if (span / time_steps[i] <= max_ticks) {
            step = time_steps[i];
            break;
        }
    /* Spans beyond the ladder: grow the step until the ticks fit. */
    while (span / step > max_ticks)
        step *= 2;
    *ret_step_ms = step;
    if (span <= 0)
        return 0;
    for (int64_t t = floor_div(from_ms, step) * step; t <= to_ms && n < PLOT_MAX_TICKS; t += step)
        if (t >= from_ms)
            ret_t[n++] = t;
    return n;
}

void
plot_time_label(int64_t t_ms, int64_t step_ms, char *out, size_t size)
{
    time_t secs = (time_t)floor_div(t_ms, 1000);
    struct tm tm;
    const char *fmt;

    if (!gmtime_r(&secs, &tm)) {
        (void)snprintf(out, size, "?");
        return;
    }
    if (step_ms >= DAY_MS || (tm.tm_hour == 0 && tm.tm_min == 0))
        fmt = "%b %d";
    else
        fmt = "%H:%M";
    if (strftime(out, size, fmt, &tm) == 0 && size > 0)
        out[0] = '\0';
}

void
plot_nice_range(double lo, double hi, int max_ticks, enum plot_yfmt yfmt, double *ret_lo,
                double *ret_hi, double *ret_step, double *ret_div)
{
    double div = 1, span, raw, mag, norm, step;

    if (!isfinite(lo) || !isfinite(hi)) {
        lo = 0;
        hi = 1;
    }
    if (hi < lo) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    if (!(hi > lo)) {
        double d = fabs(lo) * 0.1;
        if (d == 0)
            d = 1;
        lo -= d;
        hi += d;
    }
    if (max_ticks < 1)
        max_ticks = 1;
    if (yfmt == PLOT_Y_BYTES) {
        double m = MAX(fabs(lo), fabs(hi));
        while (m / div >= 1024 && div < 1099511627776.0) /* up to TiB */
            div *= 1024;
    }
    span = (hi - lo) / div;
    raw = span / max_ticks;
    mag = pow(10, floor(log10(raw)));
    norm = raw / mag;
    if (norm <= 1)
        step = 1;
    else if (norm <= 2)
        step = 2;
    else if (norm <= 2.5)
        step = 2.5;
    else if (norm <= 5)
        step = 5;
    else
        step = 10;
    step *= mag;
    *ret_lo = floor(lo / div / step) * step * div;
    *ret_hi = ceil(hi / div / step) * step * div;
    if (!(*ret_hi > *ret_lo))
        *ret_hi = *ret_lo + step * div;
    *ret_step = step * div;
    *ret_div = div;
}

static int
decimals_for(double step)
{
    for (int d = 0; d < 6; d++) {
        double s = step * pow(10, d);
        if (fabs(s - round(s)) < 1e-6 * MAX(1.0, fabs(s)))
            return d;
    }
    return 6;
}

void
plot_value_label(double v, double div, double step, enum plot_yfmt yfmt, const char *unit,
                 char *out, size_t size)
{
    static const char *const byte_units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int dec = decimals_for(step / div);
    double x = v / div;

    if (fabs(x) < 1e-12)
        x = 0; /* no "-0" */
    if (yfmt == PLOT_Y_BYTES) {
        size_t u = 0;
        for (double d = div; d >= 1024 && u + 1 < ARRAY_SIZE(byte_units); d /= 1024)
            u++;
        (void)snprintf(out, size, "%.*f %s", dec, x, byte_units[u]);
    } else if (unit && unit[0])
        (void)snprintf(out, size, "%.*f %s", dec, x, unit);
    else
        (void)snprintf(out, size, "%.*f", dec, x);
}
