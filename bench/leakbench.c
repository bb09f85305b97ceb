/* SPDX-License-Identifier: MIT */
/*
 * soak-leakbench - two tools on simulated boots (bench/tracegen.c):
 *
 *   soak-leakbench emit --pattern P [--ram MB] [--rate BYTES_PER_DAY] [--days D]
 *                       [--interval S] [--boot UNIX_S] [--build B] [--boot-id ID] [--seed N]
 *                       [--pstore N] [--oom-at HOURS] [--sensor-up 0|1] [--caches N]
 *       writes the boot as OpenMetrics text (what `soak import` reads): meminfo,
 *       slabinfo (filp, kmalloc-192, dentry), file-nr, open fds, boot and build info,
 *       poll outcome and latency, one sensor and one interface.
 *
 *   soak-leakbench bench [--seeds N] [--quick]
 *       detection delay, false alarms, projection error and analysis time of
 *       `soak leak` over leak rates x board sizes x healthy patterns, side by side
 *       with Prometheus predict_linear(MemAvailable[6h], 24h) < 0 and netdata's
 *       ram_available < 10 % evaluated on the same traces; Markdown on stdout.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leak.h"
#include "macro.h"
#include "parse.h"
#include "peers.h"
#include "tracegen.h"

#define MB (1024.0 * 1024.0)
#define H_MS (3600 * 1000LL)
#define DAY_MS (24 * H_MS)

static void
family(const char *name, const char *type)
{
    (void)printf("# TYPE %s %s\n", name, type);
}

static void
series(const struct tg_trace *t, const char *name, const char *labels, const double *v,
       double scale)
{
    char num[32];

    for (size_t i = 0; i < t->n; i++) {
        format_double(num, v[i] * scale);
        (void)printf("%s%s %s %lld.%03lld\n", name, labels, num, (long long)(t->t_ms[i] / 1000),
                     (long long)(t->t_ms[i] % 1000));
    }
}

static void
constant(const struct tg_trace *t, const char *name, const char *labels, double v)
{
    char num[32];

    format_double(num, v);
    for (size_t i = 0; i < t->n; i++)
        (void)printf("%s%s %s %lld.%03lld\n", name, labels, num, (long long)(t->t_ms[i] / 1000),
                     (long long)(t->t_ms[i] % 1000));
}

/* Faults to put into an emitted boot (verdict tests). */
struct emit_faults {
    double pstore;    /* soak_pstore_records{type="dmesg"} for the whole boot */
    double oom_at_h;  /* node_vmstat_oom_kill goes 0 -> 1 this many hours after boot; <0 never */
    double sensor_up; /* soak_sensor_up of the one sensor */
    unsigned caches;  /* extra flat slab caches */
};

static int
emit(const struct tg_params *p, const char *build, const char *boot_id,
     const struct emit_faults *ef)
{
    struct tg_trace t;
    char lab[256];
    double *lat;
    int r = tg_generate(p, &t);

    if (r < 0)
        return r;
    lat = malloc(sizeof(double) * (t.n ? t.n : 1));
    if (!lat) {
        tg_trace_free(&t);
        return -ENOMEM;
    }
    for (size_t i = 0; i < t.n; i++)
        lat[i] = 0.02 + 0.005 * (double)((i * 7919) % 10);
    family("node_memory_MemTotal_bytes", "gauge");
    constant(&t, "node_memory_MemTotal_bytes", "", t.mem_total);
    family("node_memory_MemFree_bytes", "gauge");
    series(&t, "node_memory_MemFree_bytes", "", t.mem_free, 1);
    family("node_memory_MemAvailable_bytes", "gauge");
    series(&t, "node_memory_MemAvailable_bytes", "", t.mem_available, 1);
    family("node_memory_Cached_bytes", "gauge");
    series(&t, "node_memory_Cached_bytes", "", t.cached, 1);
    family("node_memory_SUnreclaim_bytes", "gauge");
    series(&t, "node_memory_SUnreclaim_bytes", "", t.sunreclaim, 1);
    family("node_memory_SReclaimable_bytes", "gauge");
    series(&t, "node_memory_SReclaimable_bytes", "", t.sreclaimable, 1);
    family("node_memory_AnonPages_bytes", "gauge");
    series(&t, "node_memory_AnonPages_bytes", "", t.anon, 1);
    family("node_memory_Shmem_bytes", "gauge");
    series(&t, "node_memory_Shmem_bytes", "", t.shmem, 1);
    family("node_slabinfo_active_objects", "gauge");
    series(&t, "node_slabinfo_active_objects", "{slab=\"filp\"}", t.filp_objects, 1);
    series(&t, "node_slabinfo_active_objects", "{slab=\"kmalloc-192\"}", t.kmalloc192_objects, 1);
    series(&t, "node_slabinfo_active_objects", "{slab=\"dentry\"}", t.dentry_objects, 1);
    /* Extra flat caches, as a real kernel has ~150: they wander by +-1 % like kmalloc-192. */
    for (unsigned c = 0; c < ef->caches; c++) {
        (void)snprintf(lab, sizeof(lab), "{slab=\"cache-%u\"}", c);
        for (size_t i = 0; i < t.n; i++)
            lat[i] = round((t.kmalloc192_objects[(i + c * 97) % t.n] - 20000) / 10 + 1000 + 50 * c);
        series(&t, "node_slabinfo_active_objects", lab, lat, 1);
    }
    for (size_t i = 0; i < t.n; i++) /* lat holds the poll latencies again */
        lat[i] = 0.02 + 0.005 * (double)((i * 7919) % 10);
    family("node_slabinfo_object_size_bytes", "gauge");
    constant(&t, "node_slabinfo_object_size_bytes", "{slab=\"filp\"}", t.filp_size);
    constant(&t, "node_slabinfo_object_size_bytes", "{slab=\"kmalloc-192\"}", 192);
    constant(&t, "node_slabinfo_object_size_bytes", "{slab=\"dentry\"}", 192);
    for (unsigned c = 0; c < ef->caches; c++) {
        (void)snprintf(lab, sizeof(lab), "{slab=\"cache-%u\"}", c);
        constant(&t, "node_slabinfo_object_size_bytes", lab, 64 << (c % 6));
    }
    family("node_filefd_allocated", "gauge");
    series(&t, "node_filefd_allocated", "", t.filefd_allocated, 1);
    family("soak_open_fds", "gauge");
    series(&t, "soak_open_fds", "", t.open_fds, 1);
    family("node_boot_time_seconds", "gauge");
    constant(&t, "node_boot_time_seconds", "", (double)(p->boot_ms / 1000));
    family("soak_boot_info", "gauge");
    (void)snprintf(lab, sizeof(lab), "{boot_id=\"%s\"}", boot_id);
    constant(&t, "soak_boot_info", lab, 1);
    family("soak_build_info", "gauge");
    (void)snprintf(lab, sizeof(lab), "{build=\"%s\"}", build);
    constant(&t, "soak_build_info", lab, 1);
    family("soak_poll_up", "gauge");
    constant(&t, "soak_poll_up", "", 1);
    family("soak_poll_duration_seconds", "gauge");
    series(&t, "soak_poll_duration_seconds", "", lat, 1);
    family("soak_sensor_up", "gauge");
    constant(&t, "soak_sensor_up", "{sensor=\"sht30-indoor\"}", ef->sensor_up);
    family("node_network_up", "gauge");
    constant(&t, "node_network_up", "{device=\"eth0\"}", 1);
    family("soak_pstore_records", "gauge");
    constant(&t, "soak_pstore_records", "{type=\"dmesg\"}", ef->pstore);
    /* lat (already written out as latencies) now holds the OOM kill counter. */
    for (size_t i = 0; i < t.n; i++)
        lat[i] = ef->oom_at_h >= 0 && (double)(t.t_ms[i] - p->boot_ms) >= ef->oom_at_h * 3.6e6;
    family("node_vmstat_oom_kill", "counter");
    series(&t, "node_vmstat_oom_kill", "", lat, 1);
    (void)printf("# EOF\n");
    free(lat);
    tg_trace_free(&t);
    return 0;
}

struct outcome {
    double soak_h, pl_h, nd_h;               /* first alarm, hours after boot; NAN none */
    unsigned soak_false, pl_false, nd_false; /* alarms on healthy traces (evaluations) */
    unsigned pl_boot;                        /* predict_linear alarms 1..6 h after boot (warm-up) */
    double proj_err;                         /* |projected - actual| / remaining, after 1 day */
    double panic_h;
    double ms_per_eval;
};

static double
now_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
run_one(const struct tg_params *p, struct outcome *o)
{
    struct tg_trace t;
    struct tg_series s;
    int64_t boot = p->boot_ms, end;
    double spent = 0;
    unsigned evals = 0;
    int r = tg_generate(p, &t);
    int healthy = p->pattern != TG_LEAK;

    if (r < 0)
        return r;
    r = tg_series_make(&t, 1, &s);
    if (r < 0) {
        tg_trace_free(&t);
        return r;
    }
    memset(o, 0, sizeof(*o));
    o->soak_h = o->pl_h = o->nd_h = o->proj_err = NAN;
    o->panic_h = t.panic_ms > 0 ? (double)(t.panic_ms - boot) / H_MS : NAN;
    end = t.t_ms[t.n - 1];
    /* soak: every 30 min for two days, then every 6 h (what the server says then). */
    for (int64_t at = boot + H_MS; at <= end;
         at += (at - boot < 2 * DAY_MS) ? H_MS / 2 : 6 * H_MS) {
        struct leak_input in = {.start_ms = boot,
                                .end_ms = at,
                                .mem_total = t.mem_total,
                                .series = s.s,
                                .n_series = s.n};
        struct leak_result res;
        double t0 = now_ms();
        r = leak_analyze(&in, NULL, &res);
        spent += now_ms() - t0;
        evals++;
        if (r < 0)
            break;
        if (res.leak) {
            if (healthy) {
                o->soak_false++;
                (void)fprintf(stderr,
                              "false alarm: %s %.0f MB seed %llu at %.1f h: %s %.0f B/day\n",
                              tg_pattern_name(p->pattern), p->ram_mb, (unsigned long long)p->seed,
                              (double)(at - boot) / H_MS, res.signal, res.rate);
            }
            if (isnan(o->soak_h))
                o->soak_h = (double)(at - boot) / H_MS;
        }
        leak_result_done(&res);
        if (!healthy && !isnan(o->soak_h) && at - boot >= DAY_MS)
            break;
    }
    /* Projection after one day. */
    if (!healthy && t.panic_ms > boot + DAY_MS) {
        struct leak_input in = {.start_ms = boot,
                                .end_ms = boot + DAY_MS,
                                .mem_total = t.mem_total,
                                .series = s.s,
                                .n_series = s.n};
        struct leak_result res;
        if (leak_analyze(&in, NULL, &res) == 0) {
            if (res.leak && res.exhaustion_ms > 0)
                o->proj_err = fabs((double)(res.exhaustion_ms - t.panic_ms)) /
                              (double)(t.panic_ms - boot - DAY_MS);
            leak_result_done(&res);
        }
    }
    /* Peers: every 10 minutes. */
    for (size_t i = 0; i < t.n; i += (size_t)(600 / p->interval_s)) {
        int64_t at = t.t_ms[i];
        if (at - boot < 6 * H_MS) {
            /* The 6 h window still holds the boot warm-up: count, but not as detection. */
            if (peer_predict_linear_fires(t.t_ms, t.mem_available, i + 1, at) && at - boot >= H_MS)
                o->pl_boot++;
            continue;
        }
        if (peer_predict_linear_fires(t.t_ms, t.mem_available, i + 1, at)) {
            if (healthy)
                o->pl_false++;
            if (isnan(o->pl_h))
                o->pl_h = (double)(at - boot) / H_MS;
        }
        if (peer_netdata_fires(t.mem_available[i], t.mem_total)) {
            if (healthy)
                o->nd_false++;
            if (isnan(o->nd_h))
                o->nd_h = (double)(at - boot) / H_MS;
        }
    }
    o->ms_per_eval = evals ? spent / evals : NAN;
    tg_series_free(&s);
    tg_trace_free(&t);
    return 0;
}

static int
bench(int seeds, int quick)
{
    const double rams[] = {256, 512, 1024, 4096};
    const double rates[] = {3, 10, 25};
    double worst_ms = 0;
    int r;

    (void)printf("# Leak detection: soak leak vs predict_linear and netdata\n\n"
                 "Simulated boots (bench/tracegen.c, 1-minute samples, %d seeds each, medians).\n"
                 "A filp leak of the given rate from boot; the board \"panics\" when MemAvailable\n"
                 "reaches 2 %% of MemTotal (simulation ends there or after 22 days).\n"
                 "soak is asked what `soak leak --at T` says every 30 min for two days, then\n"
                 "every 6 h; the peers are evaluated every 10 min on the same samples from 6 h\n"
                 "after boot, when their 6 h window no longer holds the boot warm-up (before\n"
                 "that predict_linear fires on the warm-up of almost every boot, see the last\n"
                 "column of the healthy table):\n"
                 "Prometheus `predict_linear(node_memory_MemAvailable_bytes[6h], 24h) < 0` and\n"
                 "netdata's `ram_available < 10 %%`.\n\n",
                 seeds);
    (void)printf("## Leaks: time from boot to the first alarm\n\n"
                 "| RAM | leak/day | panic at | soak leak | predict_linear | netdata <10 %% | "
                 "soak vs predict_linear | soak projection error after 1 day |\n"
                 "|---|---|---|---|---|---|---|---|\n");
    for (size_t ri = 0; ri < ARRAY_SIZE(rams); ri++)
        for (size_t k = 0; k < ARRAY_SIZE(rates); k++) {
            double sh[16], ph[16], nh[16], pe[16], pa[16];
            char a[32], b[32], c[32], d[32], ratio[32], err[32];
            for (int sd = 0; sd < seeds; sd++) {
                struct tg_params p = {.pattern = TG_LEAK,
                                      .ram_mb = rams[ri],
                                      .leak_per_day = rates[k] * MB,
                                      .days = 22,
                                      .interval_s = 60,
                                      .boot_ms = 1764000000000LL,
                                      .seed = 1000 + (uint64_t)sd * 17 + ri * 5 + k};
                struct outcome o;
                r = run_one(&p, &o);
                if (r < 0)
                    return r;
                sh[sd] = o.soak_h;
                ph[sd] = o.pl_h;
                nh[sd] = o.nd_h;
                pe[sd] = o.proj_err;
                pa[sd] = o.panic_h;
                worst_ms = fmax(worst_ms, o.ms_per_eval);
            }
            double msh = bench_median(sh, seeds), mph = bench_median(ph, seeds);
            double mpe = bench_median(pe, seeds), mpa = bench_median(pa, seeds);
            bench_fmt_h(a, mpa);
            bench_fmt_h(b, msh);
            bench_fmt_h(c, mph);
            bench_fmt_h(d, bench_median(nh, seeds));
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
            (void)printf("| %.0f MB | %.0f MB | %s | %s | %s | %s | %s | %s |\n", rams[ri],
                         rates[k], a, b, c, d, ratio, err);
            (void)fflush(stdout);
        }
    (void)printf("\n## Healthy boots: alarms over %s (evaluations that alarmed)\n\n"
                 "| pattern | RAM | soak leak | predict_linear | netdata <10 %% | "
                 "predict_linear 1-6 h after boot |\n"
                 "|---|---|---|---|---|---|\n",
                 quick ? "7 days" : "21 days");
    for (int pat = TG_QUIET; pat < TG_LEAK; pat++)
        for (size_t ri = 0; ri < ARRAY_SIZE(rams); ri++) {
            unsigned sf = 0, pf = 0, nf = 0, pb = 0;
            for (int sd = 0; sd < seeds; sd++) {
                struct tg_params p = {.pattern = (enum tg_pattern)pat,
                                      .ram_mb = rams[ri],
                                      .days = quick ? 7 : 21,
                                      .interval_s = 60,
                                      .boot_ms = 1764000000000LL,
                                      .seed = 5000 + (uint64_t)sd * 31 + (uint64_t)pat * 7 + ri};
                struct outcome o;
                r = run_one(&p, &o);
                if (r < 0)
                    return r;
                sf += o.soak_false;
                pf += o.pl_false;
                nf += o.nd_false;
                pb += o.pl_boot;
                worst_ms = fmax(worst_ms, o.ms_per_eval);
            }
            (void)printf("| %s | %.0f MB | %u | %u | %u | %u |\n",
                         tg_pattern_name((enum tg_pattern)pat), rams[ri], sf, pf, nf, pb);
            (void)fflush(stdout);
        }
    /* Time of one analysis over 22 days of one board. */
    {
        struct tg_params p = {.pattern = TG_QUIET,
                              .ram_mb = 1024,
                              .days = 22,
                              .interval_s = 60,
                              .boot_ms = 1764000000000LL,
                              .seed = 9};
        struct tg_trace t;
        struct tg_series s;
        double times[5];
        r = tg_generate(&p, &t);
        if (r < 0)
            return r;
        r = tg_series_make(&t, 1, &s);
        if (r < 0) {
            tg_trace_free(&t);
            return r;
        }
        for (int k = 0; k < 5; k++) {
            struct leak_input in = {.start_ms = p.boot_ms,
                                    .end_ms = t.t_ms[t.n - 1],
                                    .mem_total = t.mem_total,
                                    .series = s.s,
                                    .n_series = s.n};
            struct leak_result res;
            double t0 = now_ms();
            if (leak_analyze(&in, NULL, &res) == 0)
                leak_result_done(&res);
            times[k] = now_ms() - t0;
        }
        (void)printf("\n## Speed\n\nAnalysis of 22 days of one board (%zu samples x %zu signals,"
                     " in memory): median %.1f ms of 5 runs (target < 200 ms, including the store"
                     " read: see `soak leak` timing in ANALYSIS.md). Slowest single evaluation in"
                     " the runs above: %.1f ms.\n",
                     t.n, s.n, bench_median(times, 5), worst_ms);
        tg_series_free(&s);
        tg_trace_free(&t);
    }
    return 0;
}

/* Every evaluation of one simulated boot where soak calls a leak (debugging aid). */
static int
probe(const struct tg_params *p)
{
    struct outcome o;
    int r = run_one(p, &o);

    if (r < 0)
        return r;
    (void)printf("%s %.0f MB seed %llu: soak first alarm %.1f h, %u alarms\n",
                 tg_pattern_name(p->pattern), p->ram_mb, (unsigned long long)p->seed, o.soak_h,
                 o.soak_false);
    return 0;
}

static void
usage(FILE *f)
{
    (void)fprintf(f, "Usage: soak-leakbench emit --pattern P [--ram MB] [--rate BYTES_PER_DAY]\n"
                     "                      [--days D] [--interval S] [--boot UNIX_S] [--build B]\n"
                     "                      [--boot-id ID] [--seed N] [--pstore N] [--oom-at H]\n"
                     "                      [--sensor-up 0|1] [--caches N]\n"
                     "       soak-leakbench bench [--seeds N] [--quick]\n"
                     "       soak-leakbench probe --pattern P [--ram MB] [--days D] [--seed N]\n");
}

int
main(int argc, char **argv)
{
    struct tg_params p = {.pattern = TG_QUIET,
                          .ram_mb = 256,
                          .days = 1,
                          .interval_s = 60,
                          .boot_ms = 1764000000000LL,
                          .seed = 1};
    const char *build = "6.12.55", *boot_id = "00000000-0000-4000-8000-000000000001";
    struct emit_faults ef = {.pstore = 0, .oom_at_h = -1, .sensor_up = 1};
    int seeds = 3, quick = 0;

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
        if (!v) {
            usage(stderr);
            return 2;
        }
        i++;
        if (strcmp(a, "--pattern") == 0) {
            int k = tg_pattern_from_name(v);
            if (k < 0) {
                (void)fprintf(stderr, "unknown pattern '%s'\n", v);
                return 2;
            }
            p.pattern = (enum tg_pattern)k;
            continue;
        }
        if (strcmp(a, "--build") == 0) {
            build = v;
            continue;
        }
        if (strcmp(a, "--boot-id") == 0) {
            boot_id = v;
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
        else if (strcmp(a, "--interval") == 0)
            p.interval_s = d;
        else if (strcmp(a, "--boot") == 0)
            p.boot_ms = (int64_t)d * 1000;
        else if (strcmp(a, "--pstore") == 0)
            ef.pstore = d;
        else if (strcmp(a, "--oom-at") == 0)
            ef.oom_at_h = d;
        else if (strcmp(a, "--sensor-up") == 0)
            ef.sensor_up = d;
        else if (strcmp(a, "--caches") == 0)
            ef.caches = (unsigned)MIN(MAX(d, 0), 1000);
        else if (strcmp(a, "--seed") == 0)
            p.seed = (uint64_t)d;
        else if (strcmp(a, "--seeds") == 0)
            seeds = (int)MIN(MAX(d, 1), 15);
        else {
            usage(stderr);
            return 2;
        }
    }
    if (strcmp(argv[1], "emit") == 0)
        return emit(&p, build, boot_id, &ef) < 0 ? 1 : 0;
    if (strcmp(argv[1], "probe") == 0)
        return probe(&p) < 0 ? 1 : 0;
    if (strcmp(argv[1], "bench") == 0)
        return bench(seeds, quick) < 0 ? 1 : 0;
    usage(stderr);
    return 2;
}
