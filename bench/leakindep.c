/* SPDX-License-Identifier: MIT */
/*
 * soak-leakindep - the leak detector on boots from bench/indgen.c, a generator
 * written apart from the one its thresholds were tuned on (bench/tracegen.c):
 *
 *   soak-leakindep bench [--seeds N] [--leak-seeds N] [--quick] [--leaks-only]
 *       detection delay, false alarms and projection error of `soak leak` over leak
 *       rates x board sizes x healthy patterns, side by side with Prometheus
 *       predict_linear(MemAvailable[6h], 24h) < 0 and netdata's ram_available < 10 %
 *       on the same samples; Markdown on stdout.
 *   soak-leakindep probe --pattern P [--ram MB] [--rate B] [--days D] [--seed N]
 *       every evaluation of one boot where soak alarms, with its reason (debugging).
 *
 * soak gets the samples as delivered (out of order, repeated, with NaN); the peers
 * get them sorted and deduplicated, as a Prometheus TSDB would store them.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "indgen.h"
#include "leak.h"
#include "macro.h"
#include "parse.h"
#include "peers.h"

#define MB (1024.0 * 1024.0)
#define H_MS (3600 * 1000LL)
#define DAY_MS (24 * H_MS)

struct pt {
    int64_t t;
    double v;
};

static int
cmp_pt(const void *a, const void *b)
{
    const struct pt *x = a, *y = b;

    return (x->t > y->t) - (x->t < y->t);
}

/*
 * MemAvailable sorted by time, one sample per time: what Prometheus stores.
 * *ret_t and *ret_v (free both) hold *ret_n samples. 0 or -ENOMEM.
 */
static int
tsdb_view(const struct ig_trace *t, int64_t **ret_t, double **ret_v, size_t *ret_n)
{
    struct pt *p = malloc(sizeof(*p) * (t->n ? t->n : 1));
    int64_t *ts = malloc(sizeof(*ts) * (t->n ? t->n : 1));
    double *vs = malloc(sizeof(*vs) * (t->n ? t->n : 1));
    size_t w = 0;

    if (!p || !ts || !vs) {
        free(p);
        free(ts);
        free(vs);
        return -ENOMEM;
    }
    for (size_t i = 0; i < t->n; i++)
        p[i] = (struct pt){t->t_ms[i], t->mem_available[i]};
    qsort(p, t->n, sizeof(*p), cmp_pt);
    for (size_t i = 0; i < t->n; i++)
        if (w == 0 || p[i].t != ts[w - 1]) {
            ts[w] = p[i].t;
            vs[w++] = p[i].v;
        }
    free(p);
    *ret_t = ts;
    *ret_v = vs;
    *ret_n = w;
    return 0;
}

struct outcome {
    double soak_h, pl_h, nd_h;
    unsigned soak_false, pl_false, nd_false, evals, pl_evals;
    double proj_err, oracle_err, real_err, rate_err, panic_h;
    size_t outages, restarts, repeated, swapped;
};

static int
run_one(const struct ig_params *p, int verbose, struct outcome *o)
{
    struct ig_trace t;
    struct ig_series s;
    int64_t *vt = NULL;
    double *vv = NULL;
    size_t nv = 0, k = 0;
    int64_t boot = p->boot_ms, end;
    int healthy = p->pattern != IG_LEAK;
    int r = ig_generate(p, &t);

    if (r < 0)
        return r;
    memset(o, 0, sizeof(*o));
    o->soak_h = o->pl_h = o->nd_h = o->proj_err = o->oracle_err = o->real_err = o->rate_err = NAN;
    o->panic_h = t.panic_ms > 0 ? (double)(t.panic_ms - boot) / H_MS : NAN;
    o->outages = t.outages;
    o->restarts = t.restarts;
    o->repeated = t.repeated;
    o->swapped = t.swapped;
    r = ig_series_make(&t, &s);
    if (r < 0) {
        ig_trace_free(&t);
        return r;
    }
    if (tsdb_view(&t, &vt, &vv, &nv) < 0 || nv == 0) {
        ig_series_free(&s);
        ig_trace_free(&t);
        free(vt);
        free(vv);
        return -ENOMEM;
    }
    end = vt[nv - 1];
    for (int64_t at = boot + H_MS; at <= end;
         at += (at - boot < 2 * DAY_MS) ? H_MS / 2 : 6 * H_MS) {
        struct leak_input in = {.start_ms = boot,
                                .end_ms = at,
                                .mem_total = t.mem_total,
                                .series = s.s,
                                .n_series = s.n};
        struct leak_result res;
        r = leak_analyze(&in, NULL, &res);
        if (r < 0)
            break;
        o->evals++;
        if (res.leak) {
            if (healthy)
                o->soak_false++;
            if (verbose || healthy)
                (void)fprintf(stderr, "%s: %s %.0f MB seed %llu at %.1f h: %s %.2f MB/day\n",
                              healthy ? "false alarm" : "alarm", ig_pattern_name(p->pattern),
                              p->ram_mb, (unsigned long long)p->seed, (double)(at - boot) / H_MS,
                              res.signal, res.rate / MB);
            if (isnan(o->soak_h))
                o->soak_h = (double)(at - boot) / H_MS;
        } else if (verbose) {
            (void)fprintf(stderr, "quiet at %.1f h:", (double)(at - boot) / H_MS);
            for (size_t i = 0; i < res.n_ev; i++)
                (void)fprintf(stderr, " [%s %s %.2f]", res.ev[i].name, res.ev[i].why,
                              res.ev[i].rate / MB);
            (void)fprintf(stderr, "\n");
        }
        leak_result_done(&res);
        if (!healthy && !isnan(o->soak_h) && at - boot >= DAY_MS && !verbose)
            break;
    }
    if (r == 0 && !healthy && t.panic_ms > boot + DAY_MS) {
        struct leak_input in = {.start_ms = boot,
                                .end_ms = boot + DAY_MS,
                                .mem_total = t.mem_total,
                                .series = s.s,
                                .n_series = s.n};
        struct leak_result res;
        if (leak_analyze(&in, NULL, &res) == 0) {
            if (res.leak && res.exhaustion_ms > 0) {
                /* The same projection with the leak's nominal rate: what is left is noise. */
                double days = (res.mem_available - res.dip - res.oom_floor) / p->leak_per_day;
                int64_t oracle = res.last_ms + (int64_t)(fmax(days, 0) * DAY_MS);
                o->proj_err = fabs((double)(res.exhaustion_ms - t.panic_ms)) /
                              (double)(t.panic_ms - boot - DAY_MS);
                o->oracle_err =
                    fabs((double)(oracle - t.panic_ms)) / (double)(t.panic_ms - boot - DAY_MS);
                /* ... and with the rate that really leaked in that first day. */
                {
                    double real = (t.leaked_day - t.leaked_warm) / (23.25 / 24);
                    int64_t at =
                        res.last_ms +
                        (int64_t)(fmax((res.mem_available - res.dip - res.oom_floor) / real, 0) *
                                  DAY_MS);
                    o->real_err =
                        fabs((double)(at - t.panic_ms)) / (double)(t.panic_ms - boot - DAY_MS);
                    o->rate_err = res.rate / real - 1;
                }
            }
            leak_result_done(&res);
        }
    }
    /* Peers every 10 minutes from 6 h after boot, on the newest stored sample. */
    for (int64_t at = boot + 6 * H_MS; r == 0 && at <= end; at += H_MS / 6) {
        while (k + 1 < nv && vt[k + 1] <= at)
            k++;
        o->pl_evals++;
        if (peer_predict_linear_fires(vt, vv, k + 1, at)) {
            if (healthy)
                o->pl_false++;
            if (isnan(o->pl_h))
                o->pl_h = (double)(at - boot) / H_MS;
        }
        if (peer_netdata_fires(vv[k], t.mem_total)) {
            if (healthy)
                o->nd_false++;
            if (isnan(o->nd_h))
                o->nd_h = (double)(at - boot) / H_MS;
        }
    }
    free(vt);
    free(vv);
    ig_series_free(&s);
    ig_trace_free(&t);
    return r;
}

static int
bench(int seeds, int leak_seeds, int quick, int leaks_only)
{
    const double rams[] = {256, 512, 1024, 4096};
    const double rates[] = {3, 10, 25};
    size_t outages = 0, restarts = 0, repeated = 0, swapped = 0;
    unsigned worst_miss = 0;
    double errs[512];
    int nerr = 0;
    int r;

    (void)printf(
        "# Leak detection on an independent generator\n\n"
        "Boots from bench/indgen.c, written apart from bench/tracegen.c (the traces the\n"
        "thresholds were tuned on): kernel-style MemAvailable from free, page cache and\n"
        "reclaimable slab; AR(1) noise with long time constants, a two-day wander and\n"
        "Student-t spikes in unreclaimable slab; Pareto-sized anonymous bursts on every\n"
        "board; meminfo every 40-80 s, slabinfo every 5th scrape; lost polls (3 %%), outages\n"
        "(0.7/day, 5 min - 6 h), agent restarts after which slabinfo reads fail, repeated (2 %%)\n"
        "and swapped (1 %%) samples, fed to soak as delivered; a leak in Poisson batches of\n"
        "256-byte struct file and struct cred, busier by day. Medians of %d seeds per leak and\n"
        "%d per healthy boot. The board\n"
        "\"panics\" when MemAvailable reaches 2 %% of MemTotal. soak: what `soak leak --at T`\n"
        "says every 30 min for two days, then every 6 h; peers every 10 min from 6 h after boot\n"
        "on the sorted, deduplicated samples: Prometheus\n"
        "`predict_linear(node_memory_MemAvailable_bytes[6h], 24h) < 0`, netdata\n"
        "`ram_available < 10 %%`.\n\n",
        leak_seeds, seeds);
    (void)printf("## Leaks: time from boot to the first alarm\n\n"
                 "| RAM | leak/day | panic at | soak leak | predict_linear | netdata <10 %% | "
                 "soak vs predict_linear | soak projection error after 1 day | "
                 "... with the rate leaked that day | ... with the nominal rate | "
                 "soak's rate vs the rate leaked that day |\n"
                 "|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t ri = 0; ri < ARRAY_SIZE(rams); ri++)
        for (size_t k = 0; k < ARRAY_SIZE(rates); k++) {
            double sh[32], ph[32], nh[32], pe[32], pa[32], oe[32], re[32], ra[32];
            char a[32], b[32], c[32], d[32], ratio[32], err[32], oerr[32], rerr[32], rate[32];
            for (int sd = 0; sd < leak_seeds; sd++) {
                struct ig_params p = {.pattern = IG_LEAK,
                                      .ram_mb = rams[ri],
                                      .leak_per_day = rates[k] * MB,
                                      .days = 22,
                                      .boot_ms = 1764000000000LL,
                                      .seed = 70000 + (uint64_t)sd * 101 + ri * 11 + k};
                struct outcome o;
                r = run_one(&p, 0, &o);
                if (r < 0)
                    return r;
                sh[sd] = o.soak_h;
                ph[sd] = o.pl_h;
                nh[sd] = o.nd_h;
                pe[sd] = o.proj_err;
                oe[sd] = o.oracle_err;
                re[sd] = o.real_err;
                ra[sd] = o.rate_err;
                pa[sd] = o.panic_h;
                if (isnan(o.soak_h))
                    worst_miss++;
                if (!isnan(o.proj_err) && nerr < (int)ARRAY_SIZE(errs))
                    errs[nerr++] = o.proj_err;
                outages += o.outages;
                restarts += o.restarts;
                repeated += o.repeated;
                swapped += o.swapped;
            }
            double msh = bench_median(sh, leak_seeds), mph = bench_median(ph, leak_seeds);
            double mpe = bench_median(pe, leak_seeds), moe = bench_median(oe, leak_seeds);
            double mre = bench_median(re, leak_seeds), mra = bench_median(ra, leak_seeds);
            bench_fmt_h(a, bench_median(pa, leak_seeds));
            bench_fmt_h(b, msh);
            bench_fmt_h(c, mph);
            bench_fmt_h(d, bench_median(nh, leak_seeds));
            if (isnan(mph) && !isnan(msh))
                (void)snprintf(ratio, sizeof(ratio), "soak only");
            else if (!isnan(mph) && !isnan(msh) && msh > 0 && mph >= msh)
                (void)snprintf(ratio, sizeof(ratio), "%.1fx sooner", mph / msh);
            else if (!isnan(mph) && !isnan(msh) && mph > 0)
                (void)snprintf(ratio, sizeof(ratio), "%.1fx later", msh / mph);
            else
                (void)snprintf(ratio, sizeof(ratio), "-");
            if (isnan(mpe))
                (void)snprintf(err, sizeof(err), "-");
            else
                (void)snprintf(err, sizeof(err), "%.1f %%", mpe * 100);
            if (isnan(moe))
                (void)snprintf(oerr, sizeof(oerr), "-");
            else
                (void)snprintf(oerr, sizeof(oerr), "%.1f %%", moe * 100);
            if (isnan(mre))
                (void)snprintf(rerr, sizeof(rerr), "-");
            else
                (void)snprintf(rerr, sizeof(rerr), "%.1f %%", mre * 100);
            if (isnan(mra))
                (void)snprintf(rate, sizeof(rate), "-");
            else
                (void)snprintf(rate, sizeof(rate), "%+.0f %%", mra * 100);
            (void)printf("| %.0f MB | %.0f MB | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                         rams[ri], rates[k], a, b, c, d, ratio, err, rerr, oerr, rate);
            (void)fflush(stdout);
        }
    {
        double worst = 0;
        for (int i = 0; i < nerr; i++)
            worst = fmax(worst, errs[i]);
        (void)printf("\nLeaks never flagged (of %zu boots): %u. Projection error after one day, "
                     "worst single boot: %.1f %% (%d boots that ran past a day). Delivery faults "
                     "in these boots: %zu outages, %zu agent restarts, %zu repeated and %zu "
                     "swapped samples.\n",
                     ARRAY_SIZE(rams) * ARRAY_SIZE(rates) * (size_t)leak_seeds, worst_miss,
                     worst * 100, nerr, outages, restarts, repeated, swapped);
    }
    if (leaks_only)
        return 0;
    (void)printf("\n## Healthy boots: alarms over %s (evaluations that alarmed / evaluations)\n\n"
                 "| pattern | RAM | soak leak | predict_linear | netdata <10 %% |\n"
                 "|---|---|---|---|---|\n",
                 quick ? "7 days" : "21 days");
    for (int pat = IG_QUIET; pat < IG_LEAK; pat++)
        for (size_t ri = 0; ri < ARRAY_SIZE(rams); ri++) {
            unsigned sf = 0, pf = 0, nf = 0, se = 0, pe = 0;
            for (int sd = 0; sd < seeds; sd++) {
                struct ig_params p = {.pattern = (enum ig_pattern)pat,
                                      .ram_mb = rams[ri],
                                      .days = quick ? 7 : 21,
                                      .boot_ms = 1764000000000LL,
                                      .seed = 90000 + (uint64_t)sd * 131 + (uint64_t)pat * 13 + ri};
                struct outcome o;
                r = run_one(&p, 0, &o);
                if (r < 0)
                    return r;
                sf += o.soak_false;
                pf += o.pl_false;
                nf += o.nd_false;
                se += o.evals;
                pe += o.pl_evals;
            }
            (void)printf("| %s | %.0f MB | %u / %u | %u / %u | %u / %u |\n",
                         ig_pattern_name((enum ig_pattern)pat), rams[ri], sf, se, pf, pe, nf, pe);
            (void)fflush(stdout);
        }
    return 0;
}

static void
usage(FILE *f)
{
    (void)fprintf(
        f, "Usage: soak-leakindep bench [--seeds N] [--leak-seeds N] [--quick] [--leaks-only]\n"
           "       soak-leakindep probe --pattern P [--ram MB] [--rate BYTES_PER_DAY]\n"
           "                            [--days D] [--seed N]\n");
}

int
main(int argc, char **argv)
{
    struct ig_params p = {
        .pattern = IG_QUIET, .ram_mb = 256, .days = 7, .boot_ms = 1764000000000LL, .seed = 1};
    int seeds = 3, leak_seeds = 0, quick = 0, leaks_only = 0;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d;
        if (strcmp(a, "--quick") == 0) {
            quick = 1;
            continue;
        }
        if (strcmp(a, "--leaks-only") == 0) {
            leaks_only = 1;
            continue;
        }
        if (!v) {
            usage(stderr);
            return 2;
        }
        i++;
        if (strcmp(a, "--pattern") == 0) {
            int k;
            for (k = 0; k < _IG_PATTERN_MAX; k++)
                if (strcmp(v, ig_pattern_name((enum ig_pattern)k)) == 0)
                    break;
            if (k == _IG_PATTERN_MAX) {
                (void)fprintf(stderr, "unknown pattern '%s'\n", v);
                return 2;
            }
            p.pattern = (enum ig_pattern)k;
            continue;
        }
        if (parse_double(v, &d) < 0 || !isfinite(d)) {
            (void)fprintf(stderr, "bad number for %s: '%s'\n", a, v);
            return 2;
        }
        if (strcmp(a, "--ram") == 0)
            p.ram_mb = d;
        else if (strcmp(a, "--rate") == 0)
            p.leak_per_day = d;
        else if (strcmp(a, "--days") == 0)
            p.days = d;
        else if (strcmp(a, "--seed") == 0)
            p.seed = (uint64_t)d;
        else if (strcmp(a, "--seeds") == 0)
            seeds = (int)MIN(MAX(d, 1), 15);
        else if (strcmp(a, "--leak-seeds") == 0)
            leak_seeds = (int)MIN(MAX(d, 1), 31);
        else {
            usage(stderr);
            return 2;
        }
    }
    if (strcmp(argv[1], "bench") == 0)
        return bench(seeds, leak_seeds > 0 ? leak_seeds : seeds, quick, leaks_only) < 0 ? 1 : 0;
    if (strcmp(argv[1], "probe") == 0) {
        struct outcome o;
        if (run_one(&p, 1, &o) < 0)
            return 1;
        (void)printf("%s %.0f MB seed %llu: soak first alarm %.1f h, %u false alarms, panic %.1f h,"
                     " predict_linear %.1f h, netdata %.1f h\n",
                     ig_pattern_name(p.pattern), p.ram_mb, (unsigned long long)p.seed, o.soak_h,
                     o.soak_false, o.panic_h, o.pl_h, o.nd_h);
        return 0;
    }
    usage(stderr);
    return 2;
}
