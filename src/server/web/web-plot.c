/* SPDX-License-Identifier: MIT */
/*
 * web-plot.c - /device/NAME/plot/PANEL.svg|png: one chart of a device over the
 * requested range, read from the store and drawn by plot/ (cairo, in process).
 *
 * Panels:
 *   memory   MemTotal, MemAvailable, MemFree (the story's graph), events marked
 *            (reboots, builds, OOM kills, panics), the projected exhaustion when
 *            the judge finds a leak
 *   slab     active objects of the caches that grew most over the range
 *   sensors  one pane per quantity (temperature, humidity, light, pressure, voltage)
 *   latency  poll latency, with the outages (soak_poll_up 0) shaded
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "expo-parse.h"
#include "parse.h"
#include "plot.h"
#include "web-internal.h"

#define SLAB_LINES 5          /* caches drawn on the slab panel */
#define SENSOR_PANES 4        /* quantities drawn on the sensors panel */
#define LINES_PER_PANE 6
#define PLOT_BODY_MAX (8u << 20)

/* Everything one figure owns, freed at once. */
struct fig_data {
    struct plot_point *pts[SENSOR_PANES * LINES_PER_PANE + 8];
    char *labels[SENSOR_PANES * LINES_PER_PANE + 8];
    size_t n_pts;
    struct plot_line lines[SENSOR_PANES * LINES_PER_PANE + 8];
    size_t n_lines;
    struct plot_pane panes[SENSOR_PANES];
    size_t n_panes;
    struct plot_mark *marks;
    char **mark_labels;
    size_t n_marks;
    struct plot_span *spans;
    size_t n_spans;
    struct plot_projection proj;
    char proj_label[64];
};

static void
fig_data_done(struct fig_data *f)
{
    for (size_t i = 0; i < f->n_pts; i++)
        free(f->pts[i]);
    for (size_t i = 0; i < f->n_lines; i++)
        free(f->labels[i]);
    for (size_t i = 0; i < f->n_marks; i++)
        free(f->mark_labels[i]);
    free(f->mark_labels);
    free(f->marks);
    free(f->spans);
}

/* Read one series over the range into a new line of the current pane. */
static int
add_line(struct web_ctx *c, struct fig_data *f, int64_t dev, const char *key,
         const struct web_range *rg, const char *label, uint32_t rgb, enum plot_style style)
{
    struct sample_array a = {0};
    int r;

    if (f->n_lines >= ARRAY_SIZE(f->lines))
        return 0;
    r = store_read(c->st, dev, key, rg->from_ms, rg->to_ms, &a);
    if (r < 0)
        return r;
    struct plot_point *p = calloc(a.n ? a.n : 1, sizeof(*p));
    char *l = strdup(label);
    if (!p || !l) {
        free(p);
        free(l);
        sample_array_free(&a);
        return -ENOMEM;
    }
    for (size_t i = 0; i < a.n; i++)
        p[i] = (struct plot_point){a.s[i].t_ms, a.s[i].v};
    f->pts[f->n_pts++] = p;
    f->labels[f->n_lines] = l;
    f->lines[f->n_lines++] = (struct plot_line){.label = l, .pts = p, .n = a.n, .rgb = rgb,
                                                .style = style};
    sample_array_free(&a);
    return 1;
}

static int
add_marks(struct web_ctx *c, struct fig_data *f, int64_t dev, const struct web_range *rg)
{
    struct store_event_array ev = {0};
    int r = store_events(c->st, dev, rg->from_ms, rg->to_ms, &ev);

    if (r < 0)
        return r;
    f->marks = calloc(ev.n + 1, sizeof(*f->marks));
    f->mark_labels = calloc(ev.n + 1, sizeof(*f->mark_labels));
    f->spans = calloc(ev.n + 1, sizeof(*f->spans));
    if (!f->marks || !f->mark_labels || !f->spans) {
        store_event_array_free(&ev);
        return -ENOMEM;
    }
    int64_t down_since = 0;
    for (size_t i = 0; i < ev.n; i++) {
        const struct store_event *e = &ev.e[i];
        enum plot_mark_kind k;
        char label[96];

        switch (e->kind) {
        case EVENT_REBOOT:
            k = PLOT_MARK_REBOOT;
            (void)snprintf(label, sizeof(label), "reboot");
            break;
        case EVENT_BUILD_CHANGE:
            k = PLOT_MARK_BUILD;
            (void)snprintf(label, sizeof(label), "%.80s", e->subject ? e->subject : "build");
            break;
        case EVENT_OOM_KILL:
            k = PLOT_MARK_OOM;
            if (isnan(e->value))
                (void)snprintf(label, sizeof(label), "OOM kill");
            else
                (void)snprintf(label, sizeof(label), "OOM x%.0f", e->value);
            break;
        case EVENT_PANIC:
            k = PLOT_MARK_PANIC;
            (void)snprintf(label, sizeof(label), "panic");
            break;
        case EVENT_UNREACHABLE:
            down_since = e->t_ms;
            continue;
        case EVENT_REACHABLE:
            if (down_since > 0)
                f->spans[f->n_spans++] = (struct plot_span){down_since, e->t_ms, "unreachable"};
            down_since = 0;
            continue;
        default:
            continue;
        }
        f->mark_labels[f->n_marks] = strdup(label);
        if (!f->mark_labels[f->n_marks]) {
            store_event_array_free(&ev);
            return -ENOMEM;
        }
        f->marks[f->n_marks] = (struct plot_mark){e->t_ms, k, f->mark_labels[f->n_marks]};
        f->n_marks++;
    }
    if (down_since > 0)
        f->spans[f->n_spans++] = (struct plot_span){down_since, rg->to_ms, "unreachable"};
    store_event_array_free(&ev);
    return 0;
}

static int
panel_memory(struct web_ctx *c, struct fig_data *f, const struct web_dev *d,
             const struct web_range *rg)
{
    int r = 0;
    size_t first = f->n_lines;

    if (r >= 0)
        r = add_line(c, f, d->id, "node_memory_MemTotal_bytes", rg, "total", 0x8250df, PLOT_SOLID);
    if (r >= 0)
        r = add_line(c, f, d->id, "node_memory_MemAvailable_bytes", rg, "available", 0x0969da,
                     PLOT_DASHED);
    if (r >= 0)
        r = add_line(c, f, d->id, "node_memory_MemFree_bytes", rg, "free", 0x1a7f37, PLOT_DOTTED);
    if (r < 0)
        return r;
    struct plot_pane *p = &f->panes[f->n_panes++];
    *p = (struct plot_pane){.title = "memory", .yfmt = PLOT_Y_BYTES, .y_min = NAN, .y_max = NAN,
                            .zero_based = 1, .lines = &f->lines[first],
                            .n_lines = f->n_lines - first};
    /* The projection: from the newest MemAvailable to zero at the exhaustion time. */
    const struct plot_line *avail = f->n_lines - first >= 2 ? &f->lines[first + 1] : NULL;
    if (d->leak == 1 && d->exhaustion_ms > 0 && avail && avail->n > 0 &&
        isfinite(d->leak_rate) && d->leak_rate > 0) {
        const struct plot_point *last = &avail->pts[avail->n - 1];
        double days = (double)(d->exhaustion_ms - last->t_ms) / 86400000.0;
        char when[32];

        fmt_time(when, d->exhaustion_ms);
        (void)snprintf(f->proj_label, sizeof(f->proj_label), "exhaustion %s", when);
        f->proj = (struct plot_projection){last->t_ms, last->v, d->exhaustion_ms,
                                           fmax(0, last->v - d->leak_rate * days),
                                           f->proj_label};
        p->proj = &f->proj;
        p->n_proj = 1;
    }
    return 0;
}

struct growth {
    char *key;
    char slab[64];
    double g;
};

static int
growth_cmp(const void *a, const void *b)
{
    const struct growth *x = a, *y = b;

    return x->g < y->g ? 1 : x->g > y->g ? -1 : strcmp(x->slab, y->slab);
}

static int
panel_slab(struct web_ctx *c, struct fig_data *f, const struct web_dev *d,
           const struct web_range *rg)
{
    static const uint32_t colours[SLAB_LINES] = {0xcf222e, 0x0969da, 0x1a7f37, 0x8250df,
                                                 0xbf8700};
    char **keys = NULL;
    struct growth *g = NULL;
    size_t n = 0, first = f->n_lines;
    int r = store_series(c->st, d->id, "node_slabinfo_active_objects", &keys);

    if (r < 0)
        return r;
    size_t nk = 0;
    while (keys && keys[nk])
        nk++;
    g = calloc(nk + 1, sizeof(*g));
    if (!g) {
        store_strv_free(keys);
        return -ENOMEM;
    }
    for (size_t i = 0; i < nk; i++) {
        struct sample_array a = {0};
        if (store_read(c->st, d->id, keys[i], rg->from_ms, rg->to_ms, &a) > 0 &&
            expo_key_label(keys[i], "slab", g[n].slab, sizeof(g[n].slab)) >= 0) {
            g[n].key = keys[i];
            g[n].g = a.s[a.n - 1].v - a.s[0].v;
            n++;
        }
        sample_array_free(&a);
    }
    qsort(g, n, sizeof(*g), growth_cmp);
    for (size_t i = 0; i < n && i < SLAB_LINES && r >= 0; i++)
        r = add_line(c, f, d->id, g[i].key, rg, g[i].slab, colours[i],
                     (enum plot_style)(i % _PLOT_STYLE_MAX));
    free(g);
    store_strv_free(keys);
    if (r < 0)
        return r;
    f->panes[f->n_panes++] = (struct plot_pane){
        .title = "slab caches growing most (active objects)", .yfmt = PLOT_Y_PLAIN,
        .y_min = NAN, .y_max = NAN, .lines = &f->lines[first], .n_lines = f->n_lines - first};
    return 0;
}

static int
panel_sensors(struct web_ctx *c, struct fig_data *f, const struct web_dev *d,
              const struct web_range *rg)
{
    static const struct {
        const char *metric, *title, *unit;
    } q[] = {
        {"soak_sensor_temperature_celsius", "temperature", "°C"},
        {"soak_sensor_humidity_percent", "humidity", "%"},
        {"soak_sensor_illuminance_lux", "light", "lx"},
        {"soak_sensor_pressure_pascals", "pressure", "Pa"},
        {"soak_sensor_voltage_volts", "voltage", "V"},
    };
    static const uint32_t colours[LINES_PER_PANE] = {0xcf222e, 0x0969da, 0x1a7f37,
                                                     0x8250df, 0xbf8700, 0x57606a};
    int r = 0;

    for (size_t i = 0; i < ARRAY_SIZE(q) && f->n_panes < SENSOR_PANES && r >= 0; i++) {
        char **keys = NULL;
        size_t first = f->n_lines;

        r = store_series(c->st, d->id, q[i].metric, &keys);
        for (size_t k = 0; r >= 0 && keys && keys[k] && k < LINES_PER_PANE; k++) {
            char s[64];
            if (expo_key_label(keys[k], "sensor", s, sizeof(s)) < 0)
                (void)snprintf(s, sizeof(s), "%s", q[i].title);
            r = add_line(c, f, d->id, keys[k], rg, s, colours[k],
                         (enum plot_style)(k % _PLOT_STYLE_MAX));
        }
        store_strv_free(keys);
        if (r >= 0 && f->n_lines > first)
            f->panes[f->n_panes++] = (struct plot_pane){
                .title = q[i].title, .yfmt = PLOT_Y_PLAIN, .unit = q[i].unit, .y_min = NAN,
                .y_max = NAN, .lines = &f->lines[first], .n_lines = f->n_lines - first};
    }
    if (r >= 0 && f->n_panes == 0)
        f->panes[f->n_panes++] = (struct plot_pane){.title = "sensors", .y_min = NAN,
                                                    .y_max = NAN};
    return r < 0 ? r : 0;
}

static int
panel_latency(struct web_ctx *c, struct fig_data *f, const struct web_dev *d,
              const struct web_range *rg)
{
    size_t first = f->n_lines;
    int r = add_line(c, f, d->id, "soak_poll_duration_seconds", rg, "poll latency", 0x0969da,
                     PLOT_SOLID);

    if (r < 0)
        return r;
    /* seconds -> milliseconds for readable ticks */
    if (f->n_lines > first)
        for (size_t i = 0; i < f->lines[first].n; i++)
            f->pts[f->n_pts - 1][i].v *= 1000.0;
    /* polls that failed, from soak_poll_up, as shaded spans */
    struct sample_array a = {0};
    r = store_read(c->st, d->id, "soak_poll_up", rg->from_ms, rg->to_ms, &a);
    if (r > 0) {
        size_t cap = f->n_spans + a.n / 2 + 2;
        struct plot_span *sp = realloc(f->spans, cap * sizeof(*sp));
        if (!sp) {
            sample_array_free(&a);
            return -ENOMEM;
        }
        f->spans = sp;
        f->n_spans = 0; /* the poll record is the better source here */
        int64_t since = 0;
        for (size_t i = 0; i < a.n && f->n_spans + 1 < cap; i++) {
            if (a.s[i].v == 0 && since == 0)
                since = a.s[i].t_ms;
            else if (a.s[i].v != 0 && since != 0) {
                f->spans[f->n_spans++] = (struct plot_span){since, a.s[i].t_ms, "unreachable"};
                since = 0;
            }
        }
        if (since != 0)
            f->spans[f->n_spans++] = (struct plot_span){since, a.s[a.n - 1].t_ms, "unreachable"};
    }
    sample_array_free(&a);
    if (r < 0)
        return r;
    f->panes[f->n_panes++] = (struct plot_pane){.title = "poll latency", .yfmt = PLOT_Y_PLAIN,
                                                .unit = "ms", .y_min = NAN, .y_max = NAN,
                                                .zero_based = 1, .lines = &f->lines[first],
                                                .n_lines = f->n_lines - first};
    return 0;
}

/* Optional ?w= / ?h= in [PLOT_MIN_SIZE, 2400]; 0 or -EINVAL. */
static int
size_arg(const struct web_req *q, const char *name, int def, int *ret)
{
    const char *s = web_arg(q, name);
    uint64_t v;

    *ret = def;
    if (!s)
        return 0;
    if (parse_u64(s, &v) < 0 || v < PLOT_MIN_SIZE || v > 2400)
        return -EINVAL;
    *ret = (int)v;
    return 0;
}

void
web_plot(const struct web_req *q, const struct web_range *rg, struct web_reply *rep)
{
    struct web_ctx *c = q->c;
    struct web_dev d;
    struct fig_data f = {0};
    int w, h, r;
    char title[WEB_NAME_MAX + 64], err[200];

    if (size_arg(q, "w", 900, &w) < 0 || size_arg(q, "h", 400, &h) < 0) {
        web_error_page(rep, 400, "Bad request", "w and h must be whole pixels from 120 to 2400");
        return;
    }
    r = web_dev_load(c, q->rt->name, rg, &d);
    if (r == -ENOENT) {
        web_error_page(rep, 404, "Not found", "No such device.");
        return;
    }
    if (r < 0) {
        web_error_page(rep, 500, "Server error", "cannot read the store");
        return;
    }
    if (d.id >= 0) {
        if (strcmp(q->rt->panel, "memory") == 0)
            r = panel_memory(c, &f, &d, rg);
        else if (strcmp(q->rt->panel, "slab") == 0)
            r = panel_slab(c, &f, &d, rg);
        else if (strcmp(q->rt->panel, "sensors") == 0)
            r = panel_sensors(c, &f, &d, rg);
        else
            r = panel_latency(c, &f, &d, rg);
        if (r >= 0 && strcmp(q->rt->panel, "latency") != 0)
            r = add_marks(c, &f, d.id, rg);
    }
    if (r >= 0 && f.n_panes == 0)
        f.panes[f.n_panes++] = (struct plot_pane){.title = q->rt->panel, .y_min = NAN,
                                                  .y_max = NAN};
    (void)snprintf(title, sizeof(title), "%s - %s", d.name, q->rt->panel);
    struct plot_figure fig = {
        .title = title, .width = w, .height = h, .from_ms = rg->from_ms, .to_ms = rg->to_ms,
        .panes = f.panes, .n_panes = f.n_panes, .marks = f.marks, .n_marks = f.n_marks,
        .spans = f.spans, .n_spans = f.n_spans,
    };
    enum plot_format fmt = strcmp(q->rt->ext, "png") == 0 ? PLOT_PNG : PLOT_SVG;
    if (r >= 0)
        r = plot_check(&fig, err, sizeof(err));
    buf_reset(&rep->body);
    if (r >= 0)
        r = plot_render_buf(&fig, fmt, &rep->body);
    fig_data_done(&f);
    web_dev_free(&d);
    if (r < 0) {
        web_error_page(rep, 500, "Chart failed", strerror(-r));
        return;
    }
    rep->status = 200;
    rep->ctype = fmt == PLOT_PNG ? "image/png" : "image/svg+xml";
}
