/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/server/analysis/leak.c on simulated boots (bench/tracegen.c):
 * leaks of several rates and board sizes are flagged in time with a sane rate
 * and projection; every healthy pattern stays quiet for a week.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "indgen.h"
#include "leak.h"
#include "tracegen.h"

#define MB (1024.0 * 1024.0)
#define H (3600 * 1000LL)
#define BOOT 1764000000000LL

static int
analyze_at(const struct tg_trace *t, int with_slab, int64_t at_ms, struct leak_result *res)
{
    struct tg_series s;
    struct leak_input in;
    int r;

    assert_int_equal(tg_series_make(t, with_slab, &s), 0);
    in = (struct leak_input){.start_ms = BOOT,
                             .end_ms = at_ms,
                             .mem_total = t->mem_total,
                             .series = s.s,
                             .n_series = s.n};
    r = leak_analyze(&in, NULL, res);
    tg_series_free(&s);
    return r;
}

static void
gen(enum tg_pattern p, double ram, double rate, double days, uint64_t seed, struct tg_trace *t)
{
    struct tg_params tp = {.pattern = p,
                           .ram_mb = ram,
                           .leak_per_day = rate,
                           .days = days,
                           .interval_s = 60,
                           .boot_ms = BOOT,
                           .seed = seed};
    assert_int_equal(tg_generate(&tp, t), 0);
}

static void
test_leak_25mb_3h(void **state)
{
    const double rams[] = {256, 1024};

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        struct tg_trace t;
        struct leak_result r;
        gen(TG_LEAK, rams[i], 25 * MB, 1, 1 + i, &t);
        assert_int_equal(analyze_at(&t, 1, BOOT + 3 * H, &r), 0);
        assert_true(r.judged);
        assert_true(r.leak);
        assert_true(r.rate > 15 * MB && r.rate < 40 * MB);
        assert_true(r.rate_lo <= r.rate && r.rate <= r.rate_hi);
        assert_true(r.exhaustion_ms > BOOT + 3 * H);
        leak_result_done(&r);
        tg_trace_free(&t);
    }
}

static void
test_leak_3mb_24h(void **state)
{
    struct tg_trace t;
    struct leak_result r;

    (void)state;
    gen(TG_LEAK, 1024, 3 * MB, 2, 7, &t);
    assert_int_equal(analyze_at(&t, 1, BOOT + 24 * H, &r), 0);
    assert_true(r.leak);
    assert_true(r.rate > 2 * MB && r.rate < 4.5 * MB);
    leak_result_done(&r);
    tg_trace_free(&t);
}

static void
test_projection_after_one_day(void **state)
{
    struct tg_trace t;
    struct leak_result r;
    double remaining, err;

    (void)state;
    gen(TG_LEAK, 256, 25 * MB, 30, 11, &t);
    assert_true(t.panic_ms > 0);
    assert_int_equal(analyze_at(&t, 1, BOOT + 24 * H, &r), 0);
    assert_true(r.leak);
    remaining = (double)(t.panic_ms - (BOOT + 24 * H));
    err = fabs((double)(r.exhaustion_ms - t.panic_ms)) / remaining;
    assert_true(err < 0.2);
    leak_result_done(&r);
    tg_trace_free(&t);
}

static void
test_healthy_patterns_stay_quiet(void **state)
{
    const int64_t at_h[] = {3, 6, 12, 24, 36, 48, 72, 120, 168};
    const double rams[] = {256, 1024};

    (void)state;
    for (int p = TG_QUIET; p < TG_LEAK; p++)
        for (size_t ri = 0; ri < 2; ri++) {
            struct tg_trace t;
            gen((enum tg_pattern)p, rams[ri], 0, 7, 100 + (uint64_t)p * 7 + ri, &t);
            for (size_t k = 0; k < ARRAY_SIZE(at_h); k++) {
                struct leak_result r;
                assert_int_equal(analyze_at(&t, 1, BOOT + at_h[k] * H, &r), 0);
                if (r.leak)
                    fail_msg("%s %g MB at %lld h: leak called (%s, %.0f B/day)",
                             tg_pattern_name((enum tg_pattern)p), rams[ri], (long long)at_h[k],
                             r.signal, r.rate);
                assert_true(r.judged);
                leak_result_done(&r);
            }
            tg_trace_free(&t);
        }
}

static void
test_not_enough_data(void **state)
{
    struct tg_trace t;
    struct leak_result r;

    (void)state;
    gen(TG_LEAK, 256, 25 * MB, 1, 3, &t);
    assert_int_equal(analyze_at(&t, 1, BOOT + 50 * 60 * 1000LL, &r), 0);
    assert_false(r.judged);
    assert_false(r.leak);
    assert_non_null(strstr(r.note, "too little data"));
    leak_result_done(&r);
    tg_trace_free(&t);
}

static void
test_mem_available_only_waits_two_days(void **state)
{
    struct tg_trace t;
    struct leak_result r;

    (void)state;
    gen(TG_LEAK, 256, 25 * MB, 4, 5, &t);
    assert_int_equal(analyze_at(&t, 0, BOOT + 6 * H, &r), 0);
    assert_true(r.judged);
    assert_false(r.leak);
    assert_string_equal(r.ev[0].why, "needs 2 days");
    assert_non_null(strstr(r.note, "slabinfo"));
    leak_result_done(&r);
    assert_int_equal(analyze_at(&t, 0, BOOT + 60 * H, &r), 0);
    assert_true(r.leak);
    assert_string_equal(r.signal, "MemAvailable");
    leak_result_done(&r);
    tg_trace_free(&t);
}

static void
test_step_and_plateau_shapes(void **state)
{
    int64_t t[200];
    double y[200];
    struct leak_series s = {"SUnreclaim", LEAK_SIG_SUNRECLAIM, t, y, 200};
    struct leak_input in = {.start_ms = 0,
                            .end_ms = 200 * 600000LL,
                            .mem_total = 230 * MB,
                            .series = &s,
                            .n_series = 1};
    struct leak_params p;
    struct leak_result r;

    (void)state;
    leak_params_default(&p);
    p.warmup_s = 0;
    /* A 5 MB step in the middle, small alternating noise. */
    for (int i = 0; i < 200; i++) {
        t[i] = i * 600000LL;
        y[i] = 10 * MB + (i >= 100 ? 5 * MB : 0) + ((i % 2) ? 20e3 : -20e3);
    }
    assert_int_equal(leak_analyze(&in, &p, &r), 0);
    assert_false(r.leak);
    /* Hamed-Rao already sees the step's autocorrelated residuals, or the step test does. */
    assert_true(strcmp(r.ev[0].why, "step") == 0 || strcmp(r.ev[0].why, "no trend") == 0);
    leak_result_done(&r);
    /* Growth that stops: ramp for 2/3, flat after. */
    for (int i = 0; i < 200; i++)
        y[i] = 10 * MB + 40e3 * (i < 133 ? i : 133) + ((i % 2) ? 20e3 : -20e3);
    assert_int_equal(leak_analyze(&in, &p, &r), 0);
    assert_false(r.leak);
    assert_string_equal(r.ev[0].why, "plateau");
    leak_result_done(&r);
    /* A clean ramp: 40 kB per 10 min = 5.6 MB/day. */
    for (int i = 0; i < 200; i++)
        y[i] = 10 * MB + 40e3 * i + ((i % 2) ? 20e3 : -20e3);
    assert_int_equal(leak_analyze(&in, &p, &r), 0);
    assert_true(r.leak);
    assert_true(fabs(r.rate - 40e3 * 144) < 0.05 * 40e3 * 144);
    leak_result_done(&r);
}

static void
test_gaps_duplicates_nan(void **state)
{
    struct tg_trace t;
    struct tg_series s;
    struct leak_input in;
    struct leak_result r;
    size_t w = 0;

    (void)state;
    gen(TG_LEAK, 256, 25 * MB, 1, 21, &t);
    /* Drop 1 h (an outage), repeat every 10th sample (a re-delivered poll), NaN every 7th. */
    for (size_t i = 0; i < t.n; i++) {
        int64_t since = t.t_ms[i] - BOOT;
        if (since >= 2 * H && since < 3 * H)
            continue;
        t.t_ms[w] = t.t_ms[i];
        t.sunreclaim[w] = i % 7 == 0 ? NAN : t.sunreclaim[i];
        t.mem_available[w] = t.mem_available[i];
        t.filp_objects[w] = t.filp_objects[i];
        t.open_fds[w] = t.open_fds[i];
        t.filefd_allocated[w] = t.filefd_allocated[i];
        t.kmalloc192_objects[w] = t.kmalloc192_objects[i];
        w++;
        if (i % 10 == 0 && w < i) {
            t.t_ms[w] = t.t_ms[w - 1];
            t.sunreclaim[w] = t.sunreclaim[w - 1];
            t.mem_available[w] = t.mem_available[w - 1];
            t.filp_objects[w] = t.filp_objects[w - 1];
            t.open_fds[w] = t.open_fds[w - 1];
            t.filefd_allocated[w] = t.filefd_allocated[w - 1];
            t.kmalloc192_objects[w] = t.kmalloc192_objects[w - 1];
            w++;
        }
    }
    t.n = w;
    assert_int_equal(tg_series_make(&t, 1, &s), 0);
    in = (struct leak_input){.start_ms = BOOT,
                             .end_ms = BOOT + 5 * H,
                             .mem_total = t.mem_total,
                             .series = s.s,
                             .n_series = s.n};
    assert_int_equal(leak_analyze(&in, NULL, &r), 0);
    assert_true(r.leak);
    assert_true(r.rate > 15 * MB && r.rate < 40 * MB);
    leak_result_done(&r);
    tg_series_free(&s);
    tg_trace_free(&t);
}

/* Swap neighbours every 13th sample (a late poll stored after the next one). */
static void
shuffle_some(struct tg_trace *t)
{
    for (size_t i = 13; i < t->n; i += 13) {
        int64_t tt = t->t_ms[i];
        double a = t->sunreclaim[i], m = t->mem_available[i];
        t->t_ms[i] = t->t_ms[i - 1];
        t->sunreclaim[i] = t->sunreclaim[i - 1];
        t->mem_available[i] = t->mem_available[i - 1];
        t->t_ms[i - 1] = tt;
        t->sunreclaim[i - 1] = a;
        t->mem_available[i - 1] = m;
    }
}

static void
test_out_of_order_sorted_and_said(void **state)
{
    struct tg_trace t;
    struct leak_result r;
    double rate_sorted;

    (void)state;
    gen(TG_LEAK, 256, 25 * MB, 1, 31, &t);
    assert_int_equal(analyze_at(&t, 1, BOOT + 5 * H, &r), 0);
    assert_true(r.leak);
    rate_sorted = r.rate;
    assert_null(strstr(r.note, "out of time order"));
    leak_result_done(&r);
    shuffle_some(&t);
    assert_int_equal(analyze_at(&t, 1, BOOT + 5 * H, &r), 0);
    assert_true(r.leak);
    /* The same answer as on sorted input: the series was sorted, not misread. */
    assert_true(fabs(r.rate - rate_sorted) < 1e-6 * rate_sorted);
    assert_true(r.ev[0].out_of_order > 10);
    assert_non_null(strstr(r.note, "SUnreclaim: "));
    assert_non_null(strstr(r.note, "out of time order (sorted)"));
    leak_result_done(&r);
    tg_trace_free(&t);
}

static void
test_gap_and_stale_signal_said(void **state)
{
    struct tg_trace t;
    struct leak_result r;
    size_t w = 0;

    (void)state;
    gen(TG_QUIET, 1024, 0, 2, 33, &t);
    /* A 5 h outage from 10 h to 15 h: every signal misses it. */
    for (size_t i = 0; i < t.n; i++) {
        int64_t since = t.t_ms[i] - BOOT;
        if (since >= 10 * H && since < 15 * H)
            continue;
        t.t_ms[w] = t.t_ms[i];
        t.sunreclaim[w] = t.sunreclaim[i];
        t.mem_available[w] = t.mem_available[i];
        t.filp_objects[w] = t.filp_objects[i];
        t.open_fds[w] = t.open_fds[i];
        t.filefd_allocated[w] = t.filefd_allocated[i];
        t.kmalloc192_objects[w] = t.kmalloc192_objects[i];
        w++;
    }
    t.n = w;
    /* SUnreclaim stops being read after 30 h (NaN: the file became unreadable). */
    for (size_t i = 0; i < t.n; i++)
        if (t.t_ms[i] - BOOT >= 30 * H)
            t.sunreclaim[i] = NAN;
    assert_int_equal(analyze_at(&t, 1, BOOT + 40 * H, &r), 0);
    assert_true(r.judged);
    assert_false(r.leak);
    assert_true(r.ev[0].gap_s >= 10 * 3600 - 120);
    assert_non_null(strstr(r.note, "SUnreclaim: no data for the last 10.0 h"));
    assert_non_null(strstr(r.note, "MemAvailable: no data for 5.0 h from 10.0 h after the start"));
    leak_result_done(&r);
    tg_trace_free(&t);
}

static void
test_missed_reboot_is_a_reset(void **state)
{
    int64_t t[400];
    double sun[400], avail[400];
    struct leak_series s[2] = {{"SUnreclaim", LEAK_SIG_SUNRECLAIM, t, sun, 400},
                               {"MemAvailable", LEAK_SIG_MEM_AVAILABLE, t, avail, 400}};
    struct leak_input in = {.start_ms = 0,
                            .end_ms = 400 * 600000LL,
                            .mem_total = 230 * MB,
                            .unmarked = 1,
                            .series = s,
                            .n_series = 2};
    struct leak_result r;

    (void)state;
    /*
     * One history without boot markers: a 30 MB/day leak for 40 h, a reboot (slab back
     * to 10 MB, MemAvailable back up), the leak again. Judged as one line, the
     * sawtooth would be a step or no trend; the reset is found and said.
     */
    for (int i = 0; i < 400; i++) {
        int k = i < 240 ? i : i - 240;
        t[i] = i * 600000LL;
        sun[i] = 10 * MB + 30 * MB * k / 144.0 + ((i % 2) ? 20e3 : -20e3);
        avail[i] = 150 * MB - 30 * MB * k / 144.0 + ((i % 3) ? 200e3 : -300e3);
    }
    assert_int_equal(leak_analyze(&in, NULL, &r), 0);
    /* Found within one bin (13 min wide here: 66 h in at most 300 bins). */
    assert_true(llabs(r.reset_ms - 240 * 600000LL) <= 15 * 60000LL);
    assert_non_null(strstr(r.note, "fell back at once 39.9 h after the start"));
    assert_true(r.leak);
    assert_true(fabs(r.rate - 30 * MB) < 0.1 * 30 * MB);
    /* The projection starts from after the reboot: 150 MB - 26 h of leak. */
    assert_true(r.mem_available > 110 * MB);
    leak_result_done(&r);
    /* With the boots marked, a fall is the history as given: no reset is looked for. */
    in.unmarked = 0;
    assert_int_equal(leak_analyze(&in, NULL, &r), 0);
    assert_true(r.reset_ms == -1);
    assert_null(strstr(r.note, "fell back"));
    leak_result_done(&r);
    in.unmarked = 1;
    /* A real step up is not a reset, and a small fall is noise. */
    for (int i = 0; i < 400; i++)
        sun[i] = 10 * MB + (i >= 200 ? 5 * MB : 0) - (i == 300 ? 1 * MB : 0);
    assert_int_equal(leak_analyze(&in, NULL, &r), 0);
    assert_true(r.reset_ms == -1);
    assert_false(r.leak);
    leak_result_done(&r);
}

/*
 * The independent generator (bench/indgen.c: other noise, outages, repeated and
 * swapped samples, a leak in batches): healthy boots stay quiet for a week, a
 * 25 MB/day leak is flagged within 12 h. A regression guard; bench/leak-indep.sh
 * has the full table.
 */
static void
test_independent_generator(void **state)
{
    const int64_t at_h[] = {6, 12, 24, 48, 72, 120, 168};

    (void)state;
    for (int pat = IG_QUIET; pat <= IG_LEAK; pat++)
        for (int k = 0; k < 2; k++) {
            struct ig_params p = {.pattern = (enum ig_pattern)pat,
                                  .ram_mb = k ? 1024 : 256,
                                  .leak_per_day = 25 * MB,
                                  .days = pat == IG_LEAK ? 0.6 : 7,
                                  .boot_ms = BOOT,
                                  .seed = 400 + (uint64_t)pat * 10 + (uint64_t)k};
            struct ig_trace t;
            struct ig_series s;
            int flagged = 0;
            assert_int_equal(ig_generate(&p, &t), 0);
            assert_int_equal(ig_series_make(&t, &s), 0);
            for (size_t i = 0; i < ARRAY_SIZE(at_h); i++) {
                struct leak_input in = {.start_ms = BOOT,
                                        .end_ms = BOOT + at_h[i] * H,
                                        .mem_total = t.mem_total,
                                        .series = s.s,
                                        .n_series = s.n};
                struct leak_result r;
                if (pat == IG_LEAK && at_h[i] > 12)
                    break;
                assert_int_equal(leak_analyze(&in, NULL, &r), 0);
                if (pat != IG_LEAK && r.leak)
                    fail_msg("%s %.0f MB: leak called at %lld h (%s)", ig_pattern_name(p.pattern),
                             p.ram_mb, (long long)at_h[i], r.signal);
                flagged |= r.leak;
                leak_result_done(&r);
            }
            if (pat == IG_LEAK)
                assert_true(flagged);
            ig_series_free(&s);
            ig_trace_free(&t);
        }
}

static void
test_days_on_ram(void **state)
{
    double d256, d512;

    (void)state;
    /* 225 MB seen of 256 MB, 155 MB available, 25 MB/day. */
    d256 = leak_days_on_ram(25 * MB, 225 * MB, 155 * MB, 256 * MB, 256 * MB, NULL);
    assert_true(fabs(d256 - (155 * MB - 0.02 * 225 * MB) / (25 * MB)) < 1e-6);
    d512 = leak_days_on_ram(25 * MB, 225 * MB, 155 * MB, 512 * MB, 256 * MB, NULL);
    assert_true(d512 > d256 + 8 && d512 < d256 + 10.5);
    assert_true(isnan(leak_days_on_ram(0, 225 * MB, 155 * MB, 512 * MB, 256 * MB, NULL)));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leak_25mb_3h),
        cmocka_unit_test(test_leak_3mb_24h),
        cmocka_unit_test(test_projection_after_one_day),
        cmocka_unit_test(test_healthy_patterns_stay_quiet),
        cmocka_unit_test(test_not_enough_data),
        cmocka_unit_test(test_mem_available_only_waits_two_days),
        cmocka_unit_test(test_step_and_plateau_shapes),
        cmocka_unit_test(test_gaps_duplicates_nan),
        cmocka_unit_test(test_out_of_order_sorted_and_said),
        cmocka_unit_test(test_gap_and_stale_signal_said),
        cmocka_unit_test(test_missed_reboot_is_a_reset),
        cmocka_unit_test(test_independent_generator),
        cmocka_unit_test(test_days_on_ram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
