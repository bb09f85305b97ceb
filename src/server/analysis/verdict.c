/* SPDX-License-Identifier: MIT */
#include "verdict.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leak.h"

#define MIB (1024.0 * 1024.0)

void
verdict_params_default(struct verdict_params *p)
{
    memset(p, 0, sizeof(*p));
    p->min_hours = 3; /* the leak needs about this much */
    p->poll_ok_min = 0.98;
    p->outage_max_s = 600;
    p->latency_factor = 2;
    p->latency_add_s = 0.1;
}

const char *
verdict_status_name(enum verdict_status s)
{
    return s == VERDICT_PASS ? "pass" : s == VERDICT_FAIL ? "fail" : "info";
}

const char *
verdict_outcome_name(enum verdict_outcome o)
{
    return o == VERDICT_OUTCOME_PASS   ? "pass"
           : o == VERDICT_OUTCOME_FAIL ? "fail"
                                       : "not enough data";
}

void
verdict_format_size(char out[32], double b)
{
    if (b >= 1024 * MIB && fmod(b, 1024 * MIB) == 0)
        (void)snprintf(out, 32, "%.0f GB", b / (1024 * MIB));
    else if (b >= 1024 * MIB)
        (void)snprintf(out, 32, "%.1f GB", b / (1024 * MIB));
    else if (b >= MIB)
        (void)snprintf(out, 32, "%.0f MB", b / MIB);
    else
        (void)snprintf(out, 32, "%.0f kB", b / 1024);
}

void
verdict_stats_done(struct verdict_stats *s)
{
    for (size_t i = 0; i < s->n_sensors; i++)
        free(s->sensors_up[i]);
    for (size_t i = 0; i < s->n_ifaces; i++)
        free(s->ifaces_up[i]);
    s->n_sensors = s->n_ifaces = 0;
}

static _printf_(4, 5) void rule(struct verdict_result *r, const char *name, enum verdict_status st,
                                const char *fmt, ...)
{
    struct verdict_rule *x;
    va_list ap;

    if (r->n >= VERDICT_RULES_MAX)
        return;
    x = &r->rules[r->n++];
    (void)snprintf(x->name, sizeof(x->name), "%s", name);
    x->status = st;
    va_start(ap, fmt);
    (void)vsnprintf(x->text, sizeof(x->text), fmt, ap);
    va_end(ap);
    if (st == VERDICT_FAIL)
        r->outcome = VERDICT_OUTCOME_FAIL;
}

static int
has_name(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

static void
missing_list(char *const *base, size_t nb, char *const *cand, size_t nc, char *out, size_t len,
             size_t *ret_n)
{
    size_t n = 0, off = 0;

    out[0] = '\0';
    for (size_t i = 0; i < nb; i++) {
        if (has_name(cand, nc, base[i]))
            continue;
        int w = snprintf(out + off, len - off, "%s%s", n ? ", " : "", base[i]);
        if (w > 0 && (size_t)w < len - off)
            off += (size_t)w;
        n++;
    }
    *ret_n = n;
}

static void
leak_rule(const struct verdict_stats *c, const struct verdict_params *p, struct verdict_result *r)
{
    char text[VERDICT_TEXT_MAX], sz[32];
    size_t off = 0;
    int w;

    if (!c->leak) {
        rule(r, "leak", VERDICT_PASS, "no kernel memory leak found in %u boot(s), %.1f h", c->boots,
             c->hours);
        return;
    }
    w = snprintf(text, sizeof(text), "leak in %s: %.1f MB/day (90 %% CI %.1f..%.1f)",
                 c->leak_signal, c->leak_rate / MIB, c->leak_lo / MIB, c->leak_hi / MIB);
    off = w > 0 ? (size_t)w : 0;
    for (size_t i = 0; i < p->n_ram_sizes && off < sizeof(text); i++) {
        double days = leak_days_on_ram(c->leak_rate, c->mem_total, c->mem_available0,
                                       (double)p->ram_sizes[i], c->board_ram, NULL);
        if (!isfinite(days))
            continue;
        verdict_format_size(sz, (double)p->ram_sizes[i]);
        if (days > 0)
            w = snprintf(text + off, sizeof(text) - off, "; %s would exhaust a %s %s in %.1f days",
                         p->build ? p->build : "the build", sz, p->model ? p->model : "board",
                         days);
        else /* the workload alone does not fit: "in 0.0 days" would read as a rounding */
            w = snprintf(text + off, sizeof(text) - off,
                         "; a %s %s is too small for this workload even without the leak", sz,
                         p->model ? p->model : "board");
        if (w > 0)
            off += (size_t)w;
    }
    if (p->n_ram_sizes == 0 && c->exhaustion_ms > 0 && off < sizeof(text)) {
        time_t t = (time_t)(c->exhaustion_ms / 1000);
        struct tm tm;
        char when[32];

        (void)gmtime_r(&t, &tm);
        (void)strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
        (void)snprintf(text + off, sizeof(text) - off, "; memory projected to run out at %s", when);
    }
    rule(r, "leak", VERDICT_FAIL, "%s", text);
}

void
verdict_judge(const struct verdict_stats *c, const struct verdict_stats *b,
              const struct verdict_params *p, struct verdict_result *r)
{
    char list[VERDICT_TEXT_MAX - 64];
    double ok;
    size_t nmiss;

    memset(r, 0, sizeof(*r));
    r->outcome = VERDICT_OUTCOME_PASS;
    if (b && !b->present)
        b = NULL;
    /* A deploy that did not come back (or came back on the old build) fails the build
     * however little data it left: the board was lost, as in the story's renamed interface. */
    if (c->deploys_failed > 0)
        rule(r, "deploy", VERDICT_FAIL, "%u of %u deploy(s) failed: %s", c->deploys_failed,
             c->deploys, c->deploy_failure);
    else if (c->deploys > 0)
        rule(r, "deploy", VERDICT_PASS, "%u deploy(s) came back as expected", c->deploys);
    if (!c->present || c->hours < p->min_hours) {
        rule(r, "data", VERDICT_INFO, "%.1f h of %s, at least %.0f h needed",
             c->present ? c->hours : 0.0, p->build ? p->build : "the build", p->min_hours);
        if (r->outcome != VERDICT_OUTCOME_FAIL)
            r->outcome = VERDICT_OUTCOME_NO_DATA;
        /* Hard failures still count with little data: a panic is a panic. */
        if (c->panics > 0 || c->oom_kills > 0) {
            rule(r, "reboots", c->panics ? VERDICT_FAIL : VERDICT_PASS, "%u panic(s)", c->panics);
            rule(r, "oom", c->oom_kills > 0 ? VERDICT_FAIL : VERDICT_PASS, "%.0f OOM kill(s)",
                 c->oom_kills);
        }
        return;
    }
    rule(r, "data", VERDICT_INFO, "%.1f h over %u boot(s)%s%s", c->hours, c->boots,
         b ? "; baseline " : "; no baseline", b ? (p->baseline ? p->baseline : "?") : "");

    /* Reachability. */
    if (c->polls > 0) {
        ok = c->polls_ok / c->polls;
        double bok = b && b->polls > 0 ? b->polls_ok / b->polls : NAN;
        int bad = ok < p->poll_ok_min && !(isfinite(bok) && ok >= bok - 0.005);
        int out = c->longest_outage_s > p->outage_max_s &&
                  !(b && c->longest_outage_s <= b->longest_outage_s);
        char btxt[48] = "";
        if (isfinite(bok))
            (void)snprintf(btxt, sizeof(btxt), " (baseline %.2f %%)", 100 * bok);
        rule(r, "reachability", bad || out ? VERDICT_FAIL : VERDICT_PASS,
             "%.2f %% of %.0f polls answered%s, longest outage %.0f s (limit %.0f s)", 100 * ok,
             c->polls, btxt, c->longest_outage_s, p->outage_max_s);
    } else {
        rule(r, "reachability", VERDICT_INFO, "no soak_poll_up samples (imported data?)");
    }
    rule(r, "reboots", c->unexpected_reboots || c->panics ? VERDICT_FAIL : VERDICT_PASS,
         "%u unexpected reboot(s), %u panic(s) in %u boot(s)", c->unexpected_reboots, c->panics,
         c->boots);
    rule(r, "oom", c->oom_kills > 0 ? VERDICT_FAIL : VERDICT_PASS, "%.0f OOM kill(s)%s",
         c->oom_kills, b && b->oom_kills > 0 ? " (baseline had some too)" : "");
    leak_rule(c, p, r);

    if (b) {
        missing_list(b->sensors_up, b->n_sensors, c->sensors_up, c->n_sensors, list, sizeof(list),
                     &nmiss);
        if (nmiss)
            rule(r, "sensors", VERDICT_FAIL, "%zu of %zu sensor(s) that read on %s do not: %s",
                 nmiss, b->n_sensors, p->baseline ? p->baseline : "the baseline", list);
        else if (c->sensor_losses)
            /* Lost and back again: not a failure on its own, but worth a look. */
            rule(r, "sensors", VERDICT_PASS,
                 "all %zu sensor(s) of the baseline read; %u loss(es) while it ran, the longest "
                 "%s for %.0f min",
                 b->n_sensors, c->sensor_losses, c->sensor_loss_name, c->sensor_loss_max_s / 60);
        else
            rule(r, "sensors", VERDICT_PASS, "all %zu sensor(s) of the baseline read",
                 b->n_sensors);
        missing_list(b->ifaces_up, b->n_ifaces, c->ifaces_up, c->n_ifaces, list, sizeof(list),
                     &nmiss);
        if (nmiss)
            rule(r, "interfaces", VERDICT_FAIL, "interface(s) up on the baseline but not now: %s",
                 list);
        else
            rule(r, "interfaces", VERDICT_PASS, "all %zu interface(s) of the baseline up",
                 b->n_ifaces);
        if (isfinite(c->latency_p95_s) && isfinite(b->latency_p95_s)) {
            int worse = c->latency_p95_s > p->latency_factor * b->latency_p95_s &&
                        c->latency_p95_s > b->latency_p95_s + p->latency_add_s;
            rule(r, "latency", worse ? VERDICT_FAIL : VERDICT_PASS,
                 "poll latency p95 %.0f ms (baseline %.0f ms)", 1000 * c->latency_p95_s,
                 1000 * b->latency_p95_s);
        }
        if (isfinite(c->agent_rss) && isfinite(b->agent_rss) && c->agent_rss > 1.2 * b->agent_rss)
            rule(r, "worse", VERDICT_INFO, "agent RSS %.1f MB (baseline %.1f MB)",
                 c->agent_rss / MIB, b->agent_rss / MIB);
        if (isfinite(c->load1) && isfinite(b->load1) && c->load1 > 1.5 * b->load1 + 0.2)
            rule(r, "worse", VERDICT_INFO, "load1 median %.2f (baseline %.2f)", c->load1, b->load1);
    } else {
        rule(r, "baseline", VERDICT_INFO,
             "no baseline build: sensors, interfaces and latency not compared");
    }
}

double
verdict_counter_increase(const double *v, size_t n, unsigned *ret_resets)
{
    double sum = 0, prev = NAN;
    unsigned resets = 0;

    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        if (isfinite(prev)) {
            if (v[i] >= prev) {
                sum += v[i] - prev;
            } else {
                sum += v[i];
                resets++;
            }
        }
        prev = v[i];
    }
    if (ret_resets)
        *ret_resets = resets;
    return sum;
}
