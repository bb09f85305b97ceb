/* SPDX-License-Identifier: MIT */
/*
 * web-pages.c - the HTML pages: farm, device, build, and error pages.
 * Server-rendered, no JavaScript; every status is a text badge (LEAK, FAIL,
 * UNREACHABLE ...) so the pages read without colour; every string from the
 * data goes through html_escape(). The pages show the same data as the API
 * (struct web_dev, and the JSON of the leak and verdict analyses).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "expo-parse.h"
#include "web-internal.h"

#define ZOOM_MS (3 * 3600 * 1000LL) /* an event's zoom link shows this much either side */
#define SLAB_TOP 12                 /* slab caches listed by growth */
#define EVENTS_MAX 300              /* events listed on a device page */

/* Per-request page state: the range and whether auto refresh is off. */
struct page {
    const struct web_req *q;
    struct web_range rg;
    bool norefresh;
    struct buf *b;
    int r; /* sticky error */
};

static void
out(struct page *p, const char *s)
{
    if (p->r >= 0)
        p->r = buf_puts(p->b, s);
}

static void outf(struct page *p, const char *fmt, ...) _printf_(2, 3);
static void
outf(struct page *p, const char *fmt, ...)
{
    va_list ap;

    if (p->r < 0)
        return;
    va_start(ap, fmt);
    p->r = buf_vprintf(p->b, fmt, ap);
    va_end(ap);
}

static void
esc(struct page *p, const char *s)
{
    if (p->r >= 0)
        p->r = html_escape(p->b, s);
}

static void
uesc(struct page *p, const char *s)
{
    if (p->r >= 0)
        p->r = url_escape(p->b, s);
}

static void
badge(struct page *p, const char *cls, const char *label)
{
    if (p->r >= 0)
        p->r = html_badge(p->b, cls, label);
}

/* Query string of the current view ("range=6h" or "from=..&to=..", "&refresh=0"), HTML-escaped. */
static void
view_qs(struct page *p, int64_t from_ms, int64_t to_ms, const char *range)
{
    if (range && *range)
        outf(p, "range=%s", range);
    else
        outf(p, "from=%lld&amp;to=%lld", (long long)(from_ms / 1000),
             (long long)((to_ms + 999) / 1000));
    if (p->norefresh)
        out(p, "&amp;refresh=0");
}

static void
cur_qs(struct page *p)
{
    view_qs(p, p->rg.from_ms, p->rg.to_ms, p->rg.explicit_to ? NULL : p->rg.range);
}

void
web_error_page(struct web_reply *rep, unsigned status, const char *title, const char *msg)
{
    struct html_page hp = {.title = title};
    int r;

    rep->status = status;
    rep->ctype = "text/html; charset=utf-8";
    buf_reset(&rep->body);
    r = html_page_begin(&rep->body, &hp);
    if (r >= 0)
        r = buf_printf(&rep->body, "<h1>%u ", status);
    if (r >= 0)
        r = html_escape(&rep->body, title);
    if (r >= 0)
        r = buf_puts(&rep->body, "</h1>\n<p class=\"error\">");
    if (r >= 0)
        r = html_escape(&rep->body, msg);
    if (r >= 0)
        r = buf_puts(&rep->body, "</p>\n<p><a href=\"/\">Back to the farm</a></p>\n");
    if (r >= 0)
        r = html_page_end(&rep->body);
    if (r < 0) {
        buf_reset(&rep->body);
        rep->ctype = "text/plain; charset=utf-8";
        if (buf_puts(&rep->body, "error\n") < 0)
            buf_reset(&rep->body);
    }
}

/* Page start with refresh links that keep the current view. */
static void
page_begin(struct page *p, const char *title, const char *path)
{
    struct buf on, off;
    struct html_page hp = {.title = title, .refresh = p->norefresh ? 0 : p->q->c->refresh};

    buf_init(&on, 4096);
    buf_init(&off, 4096);
    if (path) {
        int r = buf_puts(&off, path);
        if (r >= 0)
            r = buf_putc(&off, '?');
        if (r >= 0 && p->rg.range[0] && !p->rg.explicit_to)
            r = buf_printf(&off, "range=%s&", p->rg.range);
        else if (r >= 0 && p->rg.explicit_to)
            r = buf_printf(&off, "from=%lld&to=%lld&", (long long)(p->rg.from_ms / 1000),
                           (long long)((p->rg.to_ms + 999) / 1000));
        if (r >= 0)
            r = buf_puts(&on, buf_str(&off));
        if (r >= 0)
            r = buf_puts(&off, "refresh=0");
        if (r >= 0 && on.len > 0 && buf_str(&on)[on.len - 1] == '&')
            buf_truncate(&on, on.len - 1);
        if (r >= 0 && on.len > 0 && buf_str(&on)[on.len - 1] == '?')
            buf_truncate(&on, on.len - 1);
        hp.refresh_off_url = buf_str(&off);
        hp.refresh_on_url = buf_str(&on);
    }
    if (p->r >= 0)
        p->r = html_page_begin(p->b, &hp);
    buf_free(&on);
    buf_free(&off);
}

static void
range_nav(struct page *p, const char *path_html)
{
    static const char *const ranges[] = {"6h", "1d", "7d", "30d"};
    char f[32], t[32];

    out(p, "<nav class=\"ranges\" aria-label=\"time range\">Range: ");
    for (size_t i = 0; i < ARRAY_SIZE(ranges); i++) {
        bool cur = !p->rg.explicit_to &&
                   strcmp(p->rg.range[0] ? p->rg.range : WEB_DEFAULT_RANGE, ranges[i]) == 0;
        if (cur) {
            outf(p, "<span>%s</span>", ranges[i]);
            continue;
        }
        outf(p, "<a href=\"%s?range=%s%s\">%s</a>", path_html, ranges[i],
             p->norefresh ? "&amp;refresh=0" : "", ranges[i]);
    }
    int64_t span = p->rg.to_ms - p->rg.from_ms;
    outf(p, "<a href=\"%s?", path_html);
    view_qs(p, p->rg.from_ms - span, p->rg.from_ms, NULL);
    out(p, "\">&larr; earlier</a>");
    outf(p, "<a href=\"%s?", path_html);
    view_qs(p, p->rg.to_ms, p->rg.to_ms + span, NULL);
    out(p, "\">later &rarr;</a>");
    fmt_time(f, p->rg.from_ms);
    fmt_time(t, p->rg.to_ms);
    outf(p, "<span class=\"muted\">%s &ndash; %s</span></nav>\n", f, t);
}

static void
range_form(struct page *p, const char *path_html)
{
    char f[32], t[32];
    struct tm tm;
    time_t tf = (time_t)(p->rg.from_ms / 1000), tt = (time_t)(p->rg.to_ms / 1000);

    if (!gmtime_r(&tf, &tm) || !strftime(f, sizeof(f), "%Y-%m-%dT%H:%M", &tm))
        f[0] = '\0';
    if (!gmtime_r(&tt, &tm) || !strftime(t, sizeof(t), "%Y-%m-%dT%H:%M", &tm))
        t[0] = '\0';
    outf(p,
         "<form class=\"range\" method=\"get\" action=\"%s\">"
         "<label>From (UTC)<br><input type=\"datetime-local\" name=\"from\" value=\"%s\"></label>"
         "<label>To (UTC)<br><input type=\"datetime-local\" name=\"to\" value=\"%s\"></label>",
         path_html, f, t);
    if (p->norefresh)
        out(p, "<input type=\"hidden\" name=\"refresh\" value=\"0\">");
    out(p, "<button>Show</button></form>\n");
}

/* Status badges of a device: text first, colour second. */
static void
dev_badges(struct page *p, const struct web_dev *d)
{
    char s[48];

    if (d->id < 0)
        badge(p, "warn", "NO DATA");
    else if (d->reach == REACH_DOWN)
        badge(p, "bad", "UNREACHABLE");
    else if (d->reach == REACH_UP)
        badge(p, "good", "UP");
    else if (d->reach == REACH_STALE)
        badge(p, "warn", "NO RECENT POLL");
    else
        badge(p, "", "HISTORY ONLY");
    if (d->leak == 1)
        badge(p, "bad", "LEAK");
    else if (d->leak == 0)
        badge(p, "good", "NO LEAK");
    if (d->verdict == 1)
        badge(p, "bad", "FAIL");
    else if (d->verdict == 0)
        badge(p, "good", "PASS");
    else if (d->verdict == 2)
        badge(p, "warn", "NOT ENOUGH DATA");
    if (d->deploy_failed)
        badge(p, "bad", "DEPLOY FAILED");
    if (d->n_panic > 0) {
        (void)snprintf(s, sizeof(s), "PANIC x%zu", d->n_panic);
        badge(p, "bad", s);
    }
    if (d->n_oom > 0) {
        (void)snprintf(s, sizeof(s), "OOM x%zu", d->n_oom);
        badge(p, "warn", s);
    }
    for (size_t i = 0; i < d->n_alerts; i++) {
        (void)snprintf(s, sizeof(s), "ALERT %.38s", d->alerts[i]);
        badge(p, "bad", s);
    }
}

static void
dev_link(struct page *p, const char *name)
{
    out(p, "<a href=\"/device/");
    uesc(p, name);
    out(p, "?");
    cur_qs(p);
    out(p, "\">");
    esc(p, name);
    out(p, "</a>");
}

static void
build_link(struct page *p, const char *build)
{
    if (!build) {
        out(p, "<span class=\"muted\">unknown</span>");
        return;
    }
    out(p, "<a href=\"/build/");
    uesc(p, build);
    out(p, "\">");
    esc(p, build);
    out(p, "</a>");
}

static void
memory_cell(struct page *p, const struct web_dev *d)
{
    char a[32], t[32], title[96];

    fmt_bytes(a, d->mem_avail);
    fmt_bytes(t, d->mem_total);
    (void)snprintf(title, sizeof(title), "memory available of %s: %s", d->name, a);
    if (p->r >= 0)
        p->r = html_sparkline(p->b, d->spark.s, d->spark.n, p->rg.from_ms, p->rg.to_ms, 0,
                              isnan(d->mem_total) ? NAN : d->mem_total, 160, 32, title);
    outf(p, "<small>%s available of %s</small>", a, t);
}

static void
page_farm(struct page *p)
{
    struct web_farm f = {0};
    int r = web_farm_load(p->q->c, &p->rg, &f);
    size_t problems = 0;
    char buf[32];

    if (r < 0) {
        p->r = r;
        return;
    }
    for (size_t i = 0; i < f.n; i++)
        problems += web_dev_score(&f.devs[i]) > 0;
    page_begin(p, "Farm", "/");
    outf(p, "<h1>Farm</h1>\n<p>%zu devices, %zu with problems (listed first).", f.n, problems);
    if (p->q->c->farm_config) {
        out(p, " <span class=\"muted\">Config: ");
        esc(p, p->q->c->farm_config);
        out(p, "</span>");
    }
    out(p, "</p>\n");
    range_nav(p, "/");
    out(p, "<div class=\"scroll\"><table class=\"farm\">\n<thead><tr><th>Device</th><th>Status"
           "</th><th>Build</th><th>Uptime</th><th class=\"wide\">Poll latency</th>"
           "<th>Memory available</th><th class=\"wide\">Last sample</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < f.n; i++) {
        const struct web_dev *d = &f.devs[i];

        out(p, "<tr><td>");
        dev_link(p, d->name);
        out(p, "</td><td>");
        dev_badges(p, d);
        out(p, "</td><td data-label=\"Build\">");
        build_link(p, d->build);
        if (d->deploy_failed) {
            out(p, "<br><span class=\"muted\">deploy of ");
            build_link(p, d->deploy_failed);
            out(p, " failed</span>");
        }
        fmt_duration(buf, d->uptime_s);
        outf(p, "</td><td data-label=\"Uptime\">%s</td>", buf);
        fmt_duration(buf, d->latency_s);
        /* the last poll failed: its duration is how fast the connection was refused */
        outf(p, "<td class=\"wide\" data-label=\"Poll latency\">%s</td>"
                "<td data-label=\"Memory available\">",
             d->reach == REACH_DOWN ? "no answer" : buf);
        memory_cell(p, d);
        fmt_time(buf, d->last_ms);
        outf(p, "</td><td class=\"wide\" data-label=\"Last sample\">%s</td></tr>\n", buf);
    }
    if (f.n == 0)
        out(p, "<tr><td colspan=\"7\">No devices yet: add [device NAME] sections to the "
               "config, or import a history with <code>soak import</code>.</td></tr>\n");
    out(p, "</tbody></table></div>\n<p class=\"muted\">JSON: <a href=\"/api/v1/devices?");
    cur_qs(p);
    out(p, "\">/api/v1/devices</a></p>\n");
    web_farm_free(&f);
}

static void
charts(struct page *p, const struct web_dev *d)
{
    static const char *const panels[][2] = {
        {"memory", "Memory: total, available, free (projected exhaustion when leaking)"},
        {"slab", "Slab caches growing the most"},
        {"sensors", "Sensors"},
        {"latency", "Poll latency and outages"},
    };

    out(p, "<h2>Charts</h2>\n<div class=\"charts\">\n");
    for (size_t i = 0; i < ARRAY_SIZE(panels); i++) {
        out(p, "<figure><a href=\"/device/");
        uesc(p, d->name);
        outf(p, "/plot/%s.png?", panels[i][0]);
        view_qs(p, p->rg.from_ms, p->rg.to_ms, NULL);
        out(p, "\"><img src=\"/device/");
        uesc(p, d->name);
        outf(p, "/plot/%s.svg?", panels[i][0]);
        view_qs(p, p->rg.from_ms, p->rg.to_ms, NULL);
        outf(p, "\" alt=\"%s chart of ", panels[i][0]);
        esc(p, d->name);
        outf(p,
             "\" width=\"900\" height=\"400\" loading=\"lazy\"></a><figcaption>%s"
             "</figcaption></figure>\n",
             panels[i][1]);
    }
    out(p, "</div>\n");
}

static void
events_section(struct page *p, const struct web_dev *d)
{
    struct store_event_array ev = {0};
    char t[32];

    out(p, "<h2>Events</h2>\n");
    if (d->id < 0 || store_events(p->q->c->st, d->id, p->rg.from_ms, p->rg.to_ms, &ev) < 0 ||
        ev.n == 0) {
        out(p, "<p class=\"muted\">No events in this range.</p>\n");
        store_event_array_free(&ev);
        return;
    }
    out(p, "<div class=\"scroll\"><table class=\"events\"><thead><tr><th>Time</th><th>Event"
           "</th><th>Details</th><th>Zoom</th></tr></thead><tbody>\n");
    size_t start = ev.n > EVENTS_MAX ? ev.n - EVENTS_MAX : 0;
    for (size_t i = ev.n; i-- > start;) {
        const struct store_event *e = &ev.e[i];
        const char *kind = store_event_kind_name(e->kind);

        fmt_time(t, e->t_ms);
        outf(p, "<tr><td>%s</td><td>", t);
        badge(p,
              e->kind == EVENT_PANIC || e->kind == EVENT_UNREACHABLE      ? "bad"
              : e->kind == EVENT_OOM_KILL || e->kind == EVENT_SENSOR_LOST ? "warn"
                                                                          : "",
              kind);
        out(p, "</td><td>");
        if (e->subject)
            esc(p, e->subject);
        if (!isnan(e->value) && e->kind == EVENT_OOM_KILL)
            outf(p, " %.0f killed", e->value);
        else if (!isnan(e->value) && e->kind == EVENT_REACHABLE)
            outf(p, " after %.0f s", e->value);
        if (e->detail && e->kind == EVENT_PANIC) {
            out(p, "<details><summary>pstore text</summary><pre>");
            esc(p, e->detail);
            out(p, "</pre></details>");
        } else if (e->detail) {
            out(p, " <span class=\"muted\">");
            esc(p, e->detail);
            out(p, "</span>");
        }
        out(p, "</td><td><a href=\"?");
        view_qs(p, e->t_ms - ZOOM_MS, e->t_ms + ZOOM_MS, NULL);
        out(p, "\">zoom</a></td></tr>\n");
    }
    out(p, "</tbody></table></div>\n");
    if (start > 0)
        outf(p, "<p class=\"muted\">Newest %d of %zu events shown.</p>\n", EVENTS_MAX, ev.n);
    store_event_array_free(&ev);
}

struct slab_row {
    char slab[96];
    double first, last;
};

static int
slab_cmp(const void *a, const void *b)
{
    const struct slab_row *x = a, *y = b;
    double gx = x->last - x->first, gy = y->last - y->first;

    return gx < gy ? 1 : gx > gy ? -1 : strcmp(x->slab, y->slab);
}

/*
 * First value in [from, from+w] and last in [to-w, to], read in two small windows
 * (from is moved up to the device's first sample, so a short history still shows).
 */
static int
ends(struct store *st, const struct web_dev *d, const char *key, const struct web_range *rg,
     double *first, double *last)
{
    struct sample_array a = {0};
    int64_t from = MAX(rg->from_ms, d->first_ms);
    int64_t to = MIN(rg->to_ms, d->last_ms);
    int64_t w = MAX((rg->to_ms - rg->from_ms) / 50, 10 * 60 * 1000LL);
    int64_t dev = d->id;
    int r = store_read(st, dev, key, from, from + w, &a);

    if (r > 0)
        *first = a.s[0].v;
    sample_array_free(&a);
    if (r <= 0)
        return r < 0 ? r : -ENOENT;
    r = store_read(st, dev, key, to - w, to, &a);
    if (r > 0)
        *last = a.s[a.n - 1].v;
    sample_array_free(&a);
    return r > 0 ? 0 : r < 0 ? r : -ENOENT;
}

static void
slab_section(struct page *p, const struct web_dev *d)
{
    char **keys = NULL;
    struct slab_row *rows = NULL;
    size_t n = 0, cap = 0;

    if (d->id < 0 || store_series(p->q->c->st, d->id, "node_slabinfo_active_objects", &keys) < 0)
        return;
    for (size_t i = 0; keys && keys[i]; i++) {
        double f, l;
        if (ends(p->q->c->st, d, keys[i], &p->rg, &f, &l) < 0)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct slab_row *nr = realloc(rows, nc * sizeof(*nr));
            if (!nr)
                break;
            rows = nr;
            cap = nc;
        }
        if (expo_key_label(keys[i], "slab", rows[n].slab, sizeof(rows[n].slab)) < 0)
            continue;
        rows[n].first = f;
        rows[n].last = l;
        n++;
    }
    store_strv_free(keys);
    if (n > 0) {
        qsort(rows, n, sizeof(*rows), slab_cmp);
        out(p, "<h2>Slab growth</h2>\n<p class=\"muted\">Active objects at the start and the end "
               "of the range; the caches that grew most first (a leak shows here long before "
               "MemAvailable moves).</p>\n<div class=\"scroll\"><table><thead><tr><th>Cache</th>"
               "<th>Start</th><th>End</th><th>Growth</th></tr></thead><tbody>\n");
        for (size_t i = 0; i < n && i < SLAB_TOP; i++) {
            double g = rows[i].last - rows[i].first;
            out(p, "<tr><td>");
            esc(p, rows[i].slab);
            outf(p, "</td><td>%.0f</td><td>%.0f</td><td>%+.0f", rows[i].first, rows[i].last, g);
            if (rows[i].first > 0)
                outf(p, " (%+.0f%%)", 100 * g / rows[i].first);
            out(p, "</td></tr>\n");
        }
        out(p, "</tbody></table></div>\n");
    }
    free(rows);
}

static void
sensors_section(struct page *p, const struct web_dev *d)
{
    char **keys = NULL;
    size_t shown = 0;

    if (d->id < 0 || store_series(p->q->c->st, d->id, NULL, &keys) < 0)
        return;
    for (size_t i = 0; keys && keys[i]; i++) {
        int64_t t;
        double v;
        char name[EXPO_NAME_MAX + 1], sensor[128], val[32], when[32];

        if (strncmp(keys[i], "soak_sensor_", 12) != 0 ||
            strncmp(keys[i], "soak_sensor_read_errors", 23) == 0)
            continue;
        if (expo_key_name(keys[i], name, sizeof(name)) < 0 ||
            expo_key_label(keys[i], "sensor", sensor, sizeof(sensor)) < 0)
            continue;
        if (web_latest(p->q->c->st, d->id, keys[i], d->last_ms, &t, &v) < 0)
            continue;
        if (shown++ == 0)
            out(p, "<h2>Sensors</h2>\n<div class=\"scroll\"><table><thead><tr><th>Sensor</th>"
                   "<th>Quantity</th><th>Latest</th><th class=\"wide\">At</th></tr></thead>"
                   "<tbody>\n");
        out(p, "<tr><td>");
        esc(p, sensor);
        out(p, "</td><td>");
        esc(p, name + 12);
        fmt_value(val, v);
        fmt_time(when, t);
        if (strcmp(name, "soak_sensor_up") == 0)
            out(p, v > 0 ? "</td><td>OK" : "</td><td><span class=\"badge bad\">FAILING</span>");
        else
            outf(p, "</td><td>%s", val);
        outf(p, "</td><td class=\"wide\">%s</td></tr>\n", when);
    }
    if (shown > 0)
        out(p, "</tbody></table></div>\n");
    store_strv_free(keys);
}

struct site_row {
    char site[128], caller[128], type[64];
    int64_t t;
    double v;
};

static int
site_cmp(const void *a, const void *b)
{
    const struct site_row *x = a, *y = b;

    return x->v < y->v ? 1 : x->v > y->v ? -1 : strcmp(x->site, y->site);
}

/* The newest report's top allocation sites (soak_kmemleak_site_objects{site,caller,type}). */
static void
kmemleak_sites(struct page *p, const struct web_dev *d)
{
    char **keys = NULL;
    struct site_row *rows = NULL;
    size_t n = 0, nk = 0;
    int64_t newest = 0;

    if (store_series(p->q->c->st, d->id, "soak_kmemleak_site_objects", &keys) < 0)
        return;
    while (keys && keys[nk])
        nk++;
    rows = calloc(nk + 1, sizeof(*rows));
    for (size_t i = 0; rows && i < nk; i++) {
        struct site_row *r = &rows[n];
        if (web_latest(p->q->c->st, d->id, keys[i], MIN(d->last_ms, p->rg.to_ms), &r->t, &r->v) <
                0 ||
            expo_key_label(keys[i], "site", r->site, sizeof(r->site)) < 0)
            continue;
        if (expo_key_label(keys[i], "caller", r->caller, sizeof(r->caller)) < 0)
            r->caller[0] = '\0';
        if (expo_key_label(keys[i], "type", r->type, sizeof(r->type)) < 0)
            r->type[0] = '\0';
        newest = MAX(newest, r->t);
        n++;
    }
    store_strv_free(keys);
    if (n == 0) {
        free(rows);
        return;
    }
    qsort(rows, n, sizeof(*rows), site_cmp);
    out(p, "<div class=\"scroll\"><table><thead><tr><th>Allocation site</th><th>Caller</th>"
           "<th>Type</th><th>Objects</th></tr></thead><tbody>\n");
    for (size_t i = 0, shown = 0; i < n && shown < 10; i++) {
        if (newest - rows[i].t > 3600 * 1000LL)
            continue; /* a site of an older report */
        out(p, "<tr><td>");
        esc(p, rows[i].site);
        out(p, "</td><td>");
        esc(p, rows[i].caller);
        out(p, "</td><td>");
        esc(p, rows[i].type);
        outf(p, "</td><td>%.0f</td></tr>\n", rows[i].v);
        shown++;
    }
    out(p, "</tbody></table></div>\n");
    free(rows);
}

static void
kmemleak_section(struct page *p, const struct web_dev *d)
{
    double fo = NAN, lo = NAN, lb = NAN;
    int64_t end = MIN(d->last_ms, p->rg.to_ms), t = 0;
    char b[32];

    if (d->id < 0)
        return;
    if (ends(p->q->c->st, d, "soak_kmemleak_unreferenced_objects", &p->rg, &fo, &lo) < 0) {
        /* Reports only from part of the range (a kmemleak kernel booted within it). */
        fo = NAN;
        if (web_latest(p->q->c->st, d->id, "soak_kmemleak_unreferenced_objects", end, &t, &lo) <
                0 ||
            t < p->rg.from_ms)
            return;
    }
    if (web_latest(p->q->c->st, d->id, "soak_kmemleak_unreferenced_bytes", end, &t, &lb) < 0 ||
        t < p->rg.from_ms)
        lb = NAN;
    fmt_bytes(b, lb);
    outf(p, "<h2>kmemleak</h2>\n<p>%.0f unreferenced objects (%s) at the end of the range", lo, b);
    if (isfinite(fo))
        outf(p, ", %+.0f over it", lo - fo);
    out(p, ".</p>\n");
    kmemleak_sites(p, d);
}

/* One evidence object of the leak JSON as text: "filp slab: growing, 9.1 MiB/day (p 0.001)". */
static void
evidence_item(struct page *p, json_t *e)
{
    const char *sig = json_string_value(json_object_get(e, "signal"));
    const char *why = json_string_value(json_object_get(e, "why"));
    json_t *rate = json_object_get(e, "rate_bytes_per_day");
    json_t *pv = json_object_get(e, "p");
    char b[32];

    esc(p, sig ? sig : "signal");
    out(p, ": ");
    esc(p, why ? why : json_is_true(json_object_get(e, "growing")) ? "growing" : "-");
    if (json_is_number(rate)) {
        fmt_bytes(b, json_number_value(rate));
        outf(p, ", %s/day", b);
    }
    if (json_is_number(pv) && json_number_value(pv) < 1e-4)
        out(p, " (p &lt; 0.0001)");
    else if (json_is_number(pv))
        outf(p, " (p %.2g)", json_number_value(pv));
}

static void
leak_section(struct page *p, const struct web_dev *d)
{
    json_t *o = NULL;
    char t0[32], t1[32], ex[32], rate[32];

    out(p, "<h2>Leak analysis</h2>\n");
    if (d->id < 0 || web_leak_json(p->q->c, d, p->rg.to_ms, &o) < 0 || !o) {
        out(p, "<p class=\"muted\">Not available.</p>\n");
        json_decref(o);
        return;
    }
    json_t *segs = json_object_get(o, "segments");
    if (!json_is_array(segs) || json_array_size(segs) == 0) {
        out(p, "<p class=\"muted\">Not enough data for an analysis yet.</p>\n");
        json_decref(o);
        return;
    }
    out(p,
        "<div class=\"scroll\"><table><thead><tr><th>Boot</th><th>Build</th><th>Result</th>"
        "<th>Rate</th><th>Exhaustion</th><th class=\"wide\">Evidence</th></tr></thead><tbody>\n");
    size_t n = json_array_size(segs);
    for (size_t i = n; i-- > 0;) {
        json_t *s = json_array_get(segs, i);
        json_t *ev = json_object_get(s, "evidence");
        double st = json_number_value(json_object_get(s, "start"));
        double en = json_number_value(json_object_get(s, "end"));
        json_t *exj = json_object_get(s, "exhaustion_time");
        json_t *rj = json_object_get(s, "rate_bytes_per_day");

        fmt_time(t0, (int64_t)(st * 1000));
        fmt_time(t1, (int64_t)(en * 1000));
        if (json_is_number(exj))
            fmt_time(ex, (int64_t)(json_number_value(exj) * 1000));
        else
            (void)snprintf(ex, sizeof(ex), "-");
        if (json_is_number(rj)) {
            fmt_bytes(rate, json_number_value(rj));
        } else {
            (void)snprintf(rate, sizeof(rate), "-");
        }
        outf(p, "<tr><td>%s &ndash; %s</td><td>", t0, t1);
        build_link(p, json_string_value(json_object_get(s, "build")));
        out(p, "</td><td>");
        if (json_is_true(json_object_get(s, "leak"))) {
            badge(p, "bad", "LEAK");
            const char *sig = json_string_value(json_object_get(s, "signal"));
            if (sig) {
                out(p, " ");
                esc(p, sig);
            }
        } else {
            badge(p, "good", "NO LEAK");
        }
        outf(p, "</td><td>%s%s</td><td>%s</td><td class=\"wide\">", rate,
             json_is_number(rj) ? "/day" : "", ex);
        if (json_is_array(ev)) {
            out(p, "<ul>");
            for (size_t k = 0; k < json_array_size(ev) && k < 6; k++) {
                json_t *e = json_array_get(ev, k);
                out(p, "<li>");
                if (json_is_string(e))
                    esc(p, json_string_value(e));
                else
                    evidence_item(p, e);
                out(p, "</li>");
            }
            out(p, "</ul>");
        }
        out(p, "</td></tr>\n");
    }
    out(p, "</tbody></table></div>\n");
    json_decref(o);
}

static void
page_device(struct page *p)
{
    struct web_dev d;
    char buf[32], path[WEB_NAME_MAX * 3 + 16];
    struct buf pb;
    int r = web_dev_load(p->q->c, p->q->rt->name, &p->rg, &d);

    if (r == -ENOENT) {
        p->r = -ENOENT;
        return;
    }
    if (r < 0) {
        p->r = r;
        return;
    }
    buf_init(&pb, sizeof(path) - 1);
    if (buf_puts(&pb, "/device/") < 0 || url_escape(&pb, d.name) < 0) {
        buf_free(&pb);
        web_dev_free(&d);
        p->r = -E2BIG;
        return;
    }
    (void)snprintf(path, sizeof(path), "%s", buf_str(&pb));
    buf_free(&pb);

    page_begin(p, d.name, path);
    out(p, "<h1>");
    esc(p, d.name);
    out(p, "</h1>\n<p>");
    dev_badges(p, &d);
    out(p, "</p>\n<div class=\"scroll\"><table class=\"summary\"><tbody>\n<tr><th>Build</th><td>");
    build_link(p, d.build);
    if (d.kernel) {
        out(p, " <span class=\"muted\">kernel ");
        esc(p, d.kernel);
        out(p, "</span>");
    }
    out(p, "</td></tr>\n");
    if (d.url) {
        out(p, "<tr><th>Target</th><td>");
        esc(p, d.url);
        out(p, "</td></tr>\n");
    }
    fmt_time(buf, d.last_poll_ms);
    outf(p, "<tr><th>Reachable</th><td>%s (last poll %s)</td></tr>\n",
         d.reach == REACH_UP      ? "yes"
         : d.reach == REACH_DOWN  ? "NO"
         : d.reach == REACH_STALE ? "was, but no poll for a while (is soak server running?)"
                                  : "not polled",
         buf);
    fmt_duration(buf, d.uptime_s);
    outf(p, "<tr><th>Uptime</th><td>%s</td></tr>\n", buf);
    fmt_duration(buf, d.latency_s);
    outf(p, "<tr><th>Poll latency</th><td>%s</td></tr>\n<tr><th>Memory</th><td>", buf);
    memory_cell(p, &d);
    fmt_time(buf, d.first_ms);
    outf(p, "</td></tr>\n<tr><th>Data</th><td>%s &ndash; ", buf);
    fmt_time(buf, d.last_ms);
    outf(p, "%s</td></tr>\n</tbody></table></div>\n", buf);

    range_nav(p, path);
    range_form(p, path);
    charts(p, &d);
    leak_section(p, &d);
    events_section(p, &d);
    slab_section(p, &d);
    sensors_section(p, &d);
    kmemleak_section(p, &d);
    out(p, "<p class=\"muted\">JSON: <a href=\"/api/v1/devices/");
    uesc(p, d.name);
    out(p, "\">device</a> &middot; <a href=\"/api/v1/devices/");
    uesc(p, d.name);
    out(p, "/events\">events</a> &middot; <a href=\"/api/v1/devices/");
    uesc(p, d.name);
    out(p, "/leak\">leak</a> &middot; <a href=\"/api/v1/devices/");
    uesc(p, d.name);
    out(p, "/series?metric=node_memory_MemAvailable_bytes&amp;");
    cur_qs(p);
    out(p, "\">memory series</a></p>\n");
    web_dev_free(&d);
}

static void
page_build(struct page *p)
{
    json_t *o = NULL;
    const char *base = web_arg(p->q, "baseline");
    int r;

    if (base && !web_name_valid(base)) {
        p->r = -EINVAL;
        return;
    }
    r = web_verdict_json(p->q->c, p->q->rt->name, base ? base : p->q->c->baseline, &o);
    if (r < 0) {
        p->r = r;
        return;
    }
    page_begin(p, p->q->rt->name, NULL);
    out(p, "<h1>Build ");
    esc(p, p->q->rt->name);
    out(p, "</h1>\n");
    const char *bl = json_string_value(json_object_get(o, "baseline"));
    if (bl) {
        out(p, "<p>Compared with the baseline ");
        build_link(p, bl);
        out(p, ".</p>\n");
    }
    out(p, "<div class=\"scroll\"><table class=\"verdicts\"><thead><tr><th>Device</th>"
           "<th>Verdict</th><th>Baseline</th><th>Reasons</th></tr></thead><tbody>\n");
    json_t *devs = json_object_get(o, "devices");
    for (size_t i = 0; i < json_array_size(devs); i++) {
        json_t *d = json_array_get(devs, i);
        const char *res = json_string_value(json_object_get(d, "result"));
        json_t *reasons = json_object_get(d, "reasons");

        out(p, "<tr><td>");
        dev_link(p, json_string_value(json_object_get(d, "device")));
        out(p, "</td><td>");
        if (res && strcmp(res, "pass") == 0)
            badge(p, "good", "PASS");
        else if (res && strcmp(res, "fail") == 0)
            badge(p, "bad", "FAIL");
        else
            badge(p, "warn", "NOT ENOUGH DATA");
        out(p, "</td><td>");
        build_link(p, json_string_value(json_object_get(d, "baseline")));
        out(p, "</td><td><ul class=\"reasons\">");
        for (size_t k = 0; k < json_array_size(reasons); k++) {
            json_t *rs = json_array_get(reasons, k);
            const char *st = json_string_value(json_object_get(rs, "status"));

            out(p, "<li>");
            if (json_is_string(rs)) {
                esc(p, json_string_value(rs));
            } else {
                if (st && strcmp(st, "fail") == 0)
                    badge(p, "bad", "FAIL");
                else if (st && strcmp(st, "pass") == 0)
                    badge(p, "good", "ok");
                else
                    badge(p, "", st ? st : "info");
                out(p, " <b>");
                esc(p, json_string_value(json_object_get(rs, "rule")));
                out(p, "</b> ");
                esc(p, json_string_value(json_object_get(rs, "text")));
            }
            out(p, "</li>");
        }
        out(p, "</ul></td></tr>\n");
    }
    out(p, "</tbody></table></div>\n<p class=\"muted\">JSON: <a href=\"/api/v1/builds/");
    uesc(p, p->q->rt->name);
    out(p, "/verdict\">verdict</a></p>\n");
    json_decref(o);
}

/* The verdict of one device on one build as a badge with words (readable without colour). */
static void
verdict_badge(struct page *p, json_t *v)
{
    const char *res = json_string_value(json_object_get(v, "result"));

    if (!json_is_string(json_object_get(v, "baseline")) && res && strcmp(res, "fail") != 0)
        badge(p, "", "FIRST BUILD");
    else if (res && strcmp(res, "pass") == 0)
        badge(p, "good", "PASS");
    else if (res && strcmp(res, "fail") == 0)
        badge(p, "bad", "FAIL");
    else
        badge(p, "warn", "NOT ENOUGH DATA");
}

/* /builds: every build side by side per device, oldest first, with the failing rules. */
static void
page_builds(struct page *p)
{
    json_t *o = NULL, *builds, *devs;
    int r = web_builds_json(p->q->c, &o);

    if (r < 0) {
        p->r = r;
        return;
    }
    builds = json_object_get(o, "builds");
    devs = json_object_get(o, "devices");
    page_begin(p, "Builds", "/builds");
    out(p, "<h1>Builds</h1>\n<p>Every build each device ran (or had deployed), oldest first, "
           "judged against the build the device ran before it");
    if (p->q->c->baseline) {
        out(p, " (baseline: ");
        esc(p, p->q->c->baseline);
        out(p, ")");
    }
    out(p, ". A build's page has every reason.</p>\n");
    if (json_array_size(builds) == 0)
        out(p, "<p>No device has reported a build yet.</p>\n");
    out(p, "<div class=\"scroll\"><table class=\"builds\"><thead><tr><th>Device</th>");
    for (size_t k = 0; k < json_array_size(builds); k++) {
        json_t *b = json_array_get(builds, k);
        char when[32];

        out(p, "<th>");
        build_link(p, json_string_value(json_object_get(b, "build")));
        fmt_time(when, (int64_t)(json_number_value(json_object_get(b, "first")) * 1000));
        outf(p, "<br><span class=\"muted\">from %s</span></th>", when);
    }
    out(p, "</tr></thead><tbody>\n");
    for (size_t i = 0; i < json_array_size(devs); i++) {
        json_t *d = json_array_get(devs, i), *row = json_object_get(d, "builds");

        out(p, "<tr><td>");
        dev_link(p, json_string_value(json_object_get(d, "device")));
        out(p, "</td>");
        for (size_t k = 0; k < json_array_size(builds); k++) {
            const char *bn = json_string_value(json_object_get(json_array_get(builds, k), "build"));
            json_t *v = NULL;
            size_t nfail = 0;

            for (size_t m = 0; m < json_array_size(row) && !v; m++) {
                const char *rb = json_string_value(json_object_get(json_array_get(row, m), "build"));
                if (rb && bn && strcmp(rb, bn) == 0)
                    v = json_array_get(row, m);
            }
            if (!v) {
                out(p, "<td class=\"muted\">not run</td>");
                continue;
            }
            out(p, "<td>");
            verdict_badge(p, v);
            json_t *reasons = json_object_get(v, "reasons");
            for (size_t m = 0; m < json_array_size(reasons); m++) {
                json_t *rs = json_array_get(reasons, m);
                const char *st = json_string_value(json_object_get(rs, "status"));
                if (!st || strcmp(st, "fail") != 0)
                    continue;
                out(p, nfail++ ? ", " : " ");
                out(p, "<span title=\"");
                esc(p, json_string_value(json_object_get(rs, "text")));
                out(p, "\">");
                esc(p, json_string_value(json_object_get(rs, "rule")));
                out(p, "</span>");
            }
            json_int_t boots = json_integer_value(json_object_get(v, "boots"));
            outf(p, "<br><span class=\"muted\">%lld boot(s)</span></td>", (long long)boots);
        }
        out(p, "</tr>\n");
    }
    out(p, "</tbody></table></div>\n<p class=\"muted\">JSON: <a href=\"/api/v1/builds\">"
           "/api/v1/builds</a></p>\n");
    json_decref(o);
}

void
web_page(const struct web_req *q, struct web_reply *rep)
{
    struct page p = {.q = q, .b = &rep->body};
    char err[200];
    const char *refresh = web_arg(q, "refresh");

    if (q->rt->kind == ROUTE_NOT_FOUND) {
        web_error_page(rep, 404, "Not found",
                       "There is no page at this address. Devices are at /device/NAME, builds "
                       "at /build/NAME, the JSON API under /api/v1/.");
        return;
    }
    if (refresh && strcmp(refresh, "0") != 0 && strcmp(refresh, "1") != 0) {
        web_error_page(rep, 400, "Bad request", "refresh must be 0 (off) or 1 (on)");
        return;
    }
    p.norefresh = refresh && strcmp(refresh, "0") == 0;
    if (web_range_parse(web_arg(q, "range"), web_arg(q, "from"), web_arg(q, "to"),
                        web_anchor_ms(q->c), &p.rg, err, sizeof(err)) < 0) {
        web_error_page(rep, 400, "Bad request", err);
        return;
    }
    if (q->rt->kind == ROUTE_PLOT) {
        web_plot(q, &p.rg, rep);
        return;
    }
    rep->status = 200;
    rep->ctype = "text/html; charset=utf-8";
    switch (q->rt->kind) {
    case ROUTE_FARM:
        page_farm(&p);
        break;
    case ROUTE_DEVICE:
        page_device(&p);
        break;
    case ROUTE_BUILD:
        page_build(&p);
        break;
    case ROUTE_BUILDS:
        page_builds(&p);
        break;
    default:
        p.r = -ENOENT;
        break;
    }
    out(&p, "");
    if (p.r >= 0)
        p.r = html_page_end(p.b);
    if (p.r == -ENOENT) {
        char msg[WEB_NAME_MAX + 64];
        (void)snprintf(msg, sizeof(msg), "No %s called '%s'.",
                       q->rt->kind == ROUTE_BUILD ? "device ran a build" : "device", q->rt->name);
        web_error_page(rep, 404, "Not found", msg);
    } else if (p.r == -EINVAL) {
        web_error_page(rep, 400, "Bad request", "bad baseline: a build name of 1 to 128 bytes");
    } else if (p.r == -E2BIG) {
        web_error_page(rep, 500, "Page too large", "narrow the time range");
    } else if (p.r < 0) {
        (void)snprintf(err, sizeof(err), "store error: %s (%s)", strerror(-p.r),
                       store_errmsg(q->c->st));
        web_error_page(rep, 500, "Server error", err);
    }
}
