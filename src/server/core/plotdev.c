/* SPDX-License-Identifier: MIT */
/*
 * plotdev.c - a device's panel, from the store to a struct plot_figure.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "expo-parse.h"
#include "judge.h"
#include "plotdev.h"

#define MAX_LINES 32
#define SLAB_LINES 6   /* caches drawn on the slab panel */
#define SENSOR_LINES 6 /* sensors per quantity pane */
#define DAY_MS (86400.0 * 1000)

static const char *const panel_names[_PLOTDEV_PANEL_MAX] = {
    [PLOTDEV_MEMORY] = "memory",
    [PLOTDEV_SLAB] = "slab",
    [PLOTDEV_SENSORS] = "sensors",
    [PLOTDEV_LATENCY] = "latency",
};

/* Distinct colours that also differ in lightness; every line has its own dash too. */
static const uint32_t palette[] = {0xc0392b, 0x1f5fd0, 0x2a9d2a, 0x8000a0, 0xb7770b, 0x444444};

struct plotdev_fig {
    struct plot_figure fig;
    struct plot_pane panes[PLOT_MAX_PANES];
    struct plot_line lines[MAX_LINES];
    struct plot_point *pts[MAX_LINES];
    char *labels[MAX_LINES];
    size_t n_lines, n_panes, samples;
    struct plot_mark *marks;
    char **mark_labels;
    size_t n_marks;
    struct plot_span *spans;
    size_t n_spans, cap_spans;
    struct plot_projection proj;
    char proj_label[96];
    char title[256];
};

enum plotdev_panel
plotdev_panel_from_name(const char *name)
{
    for (size_t i = 0; name && i < _PLOTDEV_PANEL_MAX; i++)
        if (strcmp(name, panel_names[i]) == 0)
            return (enum plotdev_panel)i;
    return _PLOTDEV_PANEL_INVALID;
}

const char *
plotdev_panel_name(enum plotdev_panel p)
{
    if ((unsigned)p >= _PLOTDEV_PANEL_MAX)
        return NULL;
    return panel_names[p];
}

const struct plot_figure *
plotdev_figure(const struct plotdev_fig *f)
{
    return &f->fig;
}

size_t
plotdev_samples(const struct plotdev_fig *f)
{
    return f->samples;
}

struct plotdev_fig *
plotdev_fig_free(struct plotdev_fig *f)
{
    if (!f)
        return NULL;
    for (size_t i = 0; i < f->n_lines; i++) {
        free(f->pts[i]);
        free(f->labels[i]);
    }
    for (size_t i = 0; i < f->n_marks; i++)
        free(f->mark_labels[i]);
    free(f->mark_labels);
    free(f->marks);
    free(f->spans);
    free(f);
    return NULL;
}

/* Take the samples of a (consumed) as a new line, values multiplied by scale. */
static int
line_from(struct plotdev_fig *f, struct sample_array *a, const char *label, uint32_t rgb,
          enum plot_style style, double scale)
{
    struct plot_point *p;
    char *l;

    if (f->n_lines >= MAX_LINES) {
        sample_array_free(a);
        return 0;
    }
    p = calloc(a->n ? a->n : 1, sizeof(*p));
    l = strdup(label);
    if (!p || !l) {
        free(p);
        free(l);
        sample_array_free(a);
        return -ENOMEM;
    }
    for (size_t i = 0; i < a->n; i++)
        p[i] = (struct plot_point){a->s[i].t_ms, a->s[i].v * scale};
    f->pts[f->n_lines] = p;
    f->labels[f->n_lines] = l;
    f->lines[f->n_lines] =
        (struct plot_line){.label = l, .pts = p, .n = a->n, .rgb = rgb, .style = style};
    f->n_lines++;
    f->samples += a->n;
    sample_array_free(a);
    return 1;
}

static int
add_line(struct plotdev_fig *f, struct store *st, int64_t dev, const char *key, int64_t from,
         int64_t to, const char *label, uint32_t rgb, enum plot_style style, double scale)
{
    struct sample_array a = {0};
    int r = store_read(st, dev, key, from, to, &a);

    if (r < 0) {
        sample_array_free(&a);
        return r;
    }
    return line_from(f, &a, label, rgb, style, scale);
}

static struct plot_pane *
new_pane(struct plotdev_fig *f, const char *title, size_t first_line)
{
    struct plot_pane *p;

    if (f->n_panes >= PLOT_MAX_PANES)
        return NULL;
    p = &f->panes[f->n_panes++];
    *p = (struct plot_pane){.title = title,
                            .y_min = NAN,
                            .y_max = NAN,
                            .lines = &f->lines[first_line],
                            .n_lines = f->n_lines - first_line};
    return p;
}

static int
add_span(struct plotdev_fig *f, int64_t from, int64_t to, const char *label)
{
    if (f->n_spans == f->cap_spans) {
        size_t cap = f->cap_spans ? f->cap_spans * 2 : 16;
        struct plot_span *s = reallocarray(f->spans, cap, sizeof(*s));
        if (!s)
            return -ENOMEM;
        f->spans = s;
        f->cap_spans = cap;
    }
    f->spans[f->n_spans++] = (struct plot_span){from, to, label};
    return 0;
}

static int
add_mark(struct plotdev_fig *f, int64_t t, enum plot_mark_kind k, const char *label)
{
    char *l = strdup(label);
    struct plot_mark *m;
    char **ml;

    if (!l)
        return -ENOMEM;
    m = reallocarray(f->marks, f->n_marks + 1, sizeof(*m));
    if (m)
        f->marks = m;
    ml = reallocarray(f->mark_labels, f->n_marks + 1, sizeof(*ml));
    if (ml)
        f->mark_labels = ml;
    if (!m || !ml) {
        free(l);
        return -ENOMEM;
    }
    f->marks[f->n_marks] = (struct plot_mark){t, k, l};
    f->mark_labels[f->n_marks] = l;
    f->n_marks++;
    return 0;
}

/* Events as marks (reboot, build, OOM, panic) and outages as spans. */
static int
add_events(struct plotdev_fig *f, struct store *st, int64_t dev, int64_t from, int64_t to)
{
    struct store_event_array ev = {0};
    int64_t down = 0;
    int r = store_events(st, dev, from, to, &ev);

    if (r >= 0 && ev.n == 0)
        r = events_derive_range(st, dev, from, to, &ev);
    for (size_t i = 0; r >= 0 && i < ev.n; i++) {
        const struct store_event *e = &ev.e[i];
        char label[128];

        switch (e->kind) {
        case EVENT_REBOOT:
            r = add_mark(f, e->t_ms, PLOT_MARK_REBOOT, "reboot");
            break;
        case EVENT_BUILD_CHANGE:
            (void)snprintf(label, sizeof(label), "build %.100s", e->subject ? e->subject : "?");
            r = add_mark(f, e->t_ms, PLOT_MARK_BUILD, label);
            break;
        case EVENT_OOM_KILL:
            if (isfinite(e->value) && e->value > 1)
                (void)snprintf(label, sizeof(label), "OOM kill x%.0f", e->value);
            else
                (void)snprintf(label, sizeof(label), "OOM kill");
            r = add_mark(f, e->t_ms, PLOT_MARK_OOM, label);
            break;
        case EVENT_PANIC:
            r = add_mark(f, e->t_ms, PLOT_MARK_PANIC, "kernel panic");
            break;
        case EVENT_UNREACHABLE:
            if (!down)
                down = e->t_ms;
            break;
        case EVENT_REACHABLE:
            if (down)
                r = add_span(f, down, e->t_ms, "unreachable");
            down = 0;
            break;
        default:
            break;
        }
    }
    if (r >= 0 && down)
        r = add_span(f, down, to, "unreachable");
    store_event_array_free(&ev);
    return r < 0 ? r : 0;
}

static void
fmt_utc(int64_t t_ms, char *out, size_t n)
{
    time_t s = (time_t)(t_ms / 1000);
    struct tm tm;

    if (!gmtime_r(&s, &tm) || strftime(out, n, "%b %d %H:%M", &tm) == 0)
        (void)snprintf(out, n, "?");
}

/* The newest boot's leak projection, when the analysis finds a leak. */
static int
leak_projection(struct plotdev_fig *f, struct store *st, const char *device, int64_t to,
                int64_t *ret_exhaustion)
{
    struct judge_leak j = {0};
    const struct judge_segment *s;
    int r = judge_leak_load(st, device, to, &j);
    char when[48];

    *ret_exhaustion = -1;
    if (r < 0)
        return r == -ENOENT ? 0 : r;
    s = j.n ? &j.seg[j.n - 1] : NULL;
    if (s && s->analyzed && s->leak.leak && s->leak.exhaustion_ms > s->leak.last_ms &&
        isfinite(s->leak.mem_available) && s->leak.last_ms > 0) {
        fmt_utc(s->leak.exhaustion_ms, when, sizeof(when));
        (void)snprintf(f->proj_label, sizeof(f->proj_label), "projected exhaustion %s UTC", when);
        f->proj = (struct plot_projection){
            s->leak.last_ms, s->leak.mem_available, s->leak.exhaustion_ms,
            isfinite(s->leak.oom_floor) ? s->leak.oom_floor : 0, f->proj_label};
        *ret_exhaustion = s->leak.exhaustion_ms;
    }
    judge_leak_free(&j);
    return 0;
}

static int
panel_memory(struct plotdev_fig *f, struct store *st, int64_t dev, int64_t from, int64_t to)
{
    size_t first = f->n_lines;
    struct plot_pane *p;
    int r = add_line(f, st, dev, "node_memory_MemTotal_bytes", from, to, "MemTotal", 0x8000a0,
                     PLOT_SOLID, 1);

    if (r >= 0)
        r = add_line(f, st, dev, "node_memory_MemAvailable_bytes", from, to, "MemAvailable",
                     0x1f5fd0, PLOT_DASHED, 1);
    if (r >= 0)
        r = add_line(f, st, dev, "node_memory_MemFree_bytes", from, to, "MemFree", 0x2a9d2a,
                     PLOT_DOTTED, 1);
    if (r < 0)
        return r;
    p = new_pane(f, "memory", first);
    p->yfmt = PLOT_Y_BYTES;
    p->zero_based = 1;
    if (f->proj.label) {
        p->proj = &f->proj;
        p->n_proj = 1;
    }
    return 0;
}

struct cache {
    char name[64];
    struct sample_array a;
    double last, per_day;
};

static int
cache_cmp(const void *x, const void *y)
{
    const struct cache *a = x, *b = y;

    if (a->last != b->last)
        return a->last < b->last ? 1 : -1;
    return strcmp(a->name, b->name);
}

static void
fmt_growth(char *out, size_t n, const char *name, double per_day, int bytes)
{
    double v = fabs(per_day);
    const char *sign = per_day < 0 ? "-" : "+";

    if (!isfinite(per_day))
        (void)snprintf(out, n, "%s", name);
    else if (!bytes)
        (void)snprintf(out, n, "%s %s%.0f/d", name, sign, v);
    else if (v >= 1024.0 * 1024)
        (void)snprintf(out, n, "%s %s%.1f MiB/d", name, sign, v / 1048576.0);
    else
        (void)snprintf(out, n, "%s %s%.0f KiB/d", name, sign, v / 1024.0);
}

static int
panel_slab(struct plotdev_fig *f, struct store *st, int64_t dev, int64_t from, int64_t to)
{
    const char *metric = "soak_slabinfo_bytes";
    char **keys = NULL;
    struct cache *c = NULL;
    size_t nk = 0, n = 0, first = f->n_lines;
    struct plot_pane *p;
    int bytes = 1, r = store_series(st, dev, metric, &keys);

    if (r >= 0 && (!keys || !keys[0])) {
        store_strv_free(keys);
        keys = NULL;
        metric = "node_slabinfo_active_objects";
        bytes = 0;
        r = store_series(st, dev, metric, &keys);
    }
    if (r < 0)
        return r;
    while (keys && keys[nk])
        nk++;
    c = calloc(nk + 1, sizeof(*c));
    if (!c) {
        store_strv_free(keys);
        return -ENOMEM;
    }
    for (size_t i = 0; i < nk && r >= 0; i++) {
        struct cache *x = &c[n];
        r = store_read(st, dev, keys[i], from, to, &x->a);
        if (r < 0)
            break;
        if (x->a.n == 0 || expo_key_label(keys[i], "slab", x->name, sizeof(x->name)) < 0) {
            sample_array_free(&x->a);
            continue;
        }
        x->last = x->a.s[x->a.n - 1].v;
        /* growth over the newest boot: from the last drop to less than half */
        size_t s0 = 0;
        for (size_t k = 1; k < x->a.n; k++)
            if (x->a.s[k].v < x->a.s[k - 1].v * 0.5)
                s0 = k;
        x->per_day = x->a.n > s0 + 1 && x->a.s[x->a.n - 1].t_ms > x->a.s[s0].t_ms
                         ? (x->last - x->a.s[s0].v) /
                               ((double)(x->a.s[x->a.n - 1].t_ms - x->a.s[s0].t_ms) / DAY_MS)
                         : NAN;
        n++;
    }
    store_strv_free(keys);
    if (r >= 0)
        qsort(c, n, sizeof(*c), cache_cmp);
    for (size_t i = 0; i < n; i++) {
        char label[128];
        if (r >= 0 && i < SLAB_LINES) {
            fmt_growth(label, sizeof(label), c[i].name, c[i].per_day, bytes);
            r = line_from(f, &c[i].a, label, palette[i % ARRAY_SIZE(palette)],
                          (enum plot_style)(i % _PLOT_STYLE_MAX), 1);
        } else
            sample_array_free(&c[i].a);
    }
    free(c);
    if (r < 0)
        return r;
    p = new_pane(f, bytes ? "slab caches (bytes)" : "slab caches (active objects)", first);
    p->yfmt = bytes ? PLOT_Y_BYTES : PLOT_Y_PLAIN;
    p->zero_based = 1;
    return 0;
}

static int
panel_sensors(struct plotdev_fig *f, struct store *st, int64_t dev, int64_t from, int64_t to)
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
    int r = 0;

    for (size_t i = 0; i < ARRAY_SIZE(q) && r >= 0; i++) {
        char **keys = NULL;
        size_t first = f->n_lines;
        struct plot_pane *p;

        r = store_series(st, dev, q[i].metric, &keys);
        for (size_t k = 0; r >= 0 && keys && keys[k] && k < SENSOR_LINES; k++) {
            char s[96];
            if (expo_key_label(keys[k], "sensor", s, sizeof(s)) < 0)
                (void)snprintf(s, sizeof(s), "%s", q[i].title);
            r = add_line(f, st, dev, keys[k], from, to, s, palette[k % ARRAY_SIZE(palette)],
                         (enum plot_style)(k % _PLOT_STYLE_MAX), 1);
        }
        store_strv_free(keys);
        if (r >= 0 && f->n_lines > first) {
            p = new_pane(f, q[i].title, first);
            if (p)
                p->unit = q[i].unit;
        }
    }
    if (r >= 0 && f->n_panes == 0)
        (void)new_pane(f, "sensors", f->n_lines);
    return r < 0 ? r : 0;
}

static int
panel_latency(struct plotdev_fig *f, struct store *st, int64_t dev, int64_t from, int64_t to)
{
    struct sample_array a = {0};
    size_t first = f->n_lines;
    int64_t since = 0;
    struct plot_pane *p;
    int r = add_line(f, st, dev, "soak_poll_duration_seconds", from, to, "poll latency", 0x1f5fd0,
                     PLOT_SOLID, 1000.0);

    if (r < 0)
        return r;
    p = new_pane(f, "poll latency (shaded: polls that failed)", first);
    p->unit = "ms";
    p->zero_based = 1;
    r = store_read(st, dev, "soak_poll_up", from, to, &a);
    for (size_t i = 0; r >= 0 && i < a.n; i++) {
        if (a.s[i].v == 0 && since == 0)
            since = a.s[i].t_ms;
        else if (a.s[i].v != 0 && since != 0) {
            r = add_span(f, since, a.s[i].t_ms, "unreachable");
            since = 0;
        }
    }
    if (r >= 0 && since != 0)
        r = add_span(f, since, a.s[a.n - 1].t_ms, "unreachable");
    sample_array_free(&a);
    return r < 0 ? r : 0;
}

/* The device's id and sample range. */
static int
device_range(struct store *st, const char *device, int64_t *ret_id, int64_t *ret_first,
             int64_t *ret_last)
{
    struct store_device *d = NULL;
    size_t n = 0;
    int r = store_device(st, device, 0, ret_id);

    if (r < 0)
        return r;
    r = store_devices(st, &d, &n);
    if (r < 0)
        return r;
    *ret_first = *ret_last = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i].id == *ret_id) {
            *ret_first = d[i].first_ms;
            *ret_last = d[i].last_ms;
        }
    store_devices_free(d, n);
    return 0;
}

int
plotdev_load(struct store *st, const char *device, enum plotdev_panel panel,
             const struct plotdev_opts *o, struct plotdev_fig **ret)
{
    struct plotdev_fig *f;
    int64_t dev, first, last, from, to, exhaustion = -1;
    int r;

    if (!st || !device || (unsigned)panel >= _PLOTDEV_PANEL_MAX || !o)
        return -EINVAL;
    if ((o->from_ms || o->to_ms) && o->to_ms && o->from_ms > o->to_ms)
        return -EINVAL;
    r = device_range(st, device, &dev, &first, &last);
    if (r < 0)
        return r;
    to = o->to_ms ? o->to_ms : (last ? last : first + 3600 * 1000);
    from = o->from_ms ? o->from_ms : MAX(first, to - PLOTDEV_DEFAULT_SPAN_MS);
    if (from >= to)
        from = to - 3600 * 1000;
    f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    /* The leak analysis only when the range holds samples (nothing to project otherwise). */
    if (panel == PLOTDEV_MEMORY && !o->no_leak && first && first <= to && last >= from) {
        r = leak_projection(f, st, device, to, &exhaustion);
        /* With an automatic end, show the projection up to the exhaustion (30 days at most). */
        if (r >= 0 && !o->to_ms && exhaustion > to && exhaustion - to < PLOTDEV_DEFAULT_SPAN_MS)
            to = exhaustion + (exhaustion - from) / 20;
    }
    if (r >= 0) {
        switch (panel) {
        case PLOTDEV_MEMORY:
            r = panel_memory(f, st, dev, from, to);
            break;
        case PLOTDEV_SLAB:
            r = panel_slab(f, st, dev, from, to);
            break;
        case PLOTDEV_SENSORS:
            r = panel_sensors(f, st, dev, from, to);
            break;
        default:
            r = panel_latency(f, st, dev, from, to);
            break;
        }
    }
    if (r >= 0 && panel != PLOTDEV_LATENCY)
        r = add_events(f, st, dev, from, to);
    if (r < 0) {
        plotdev_fig_free(f);
        return r;
    }
    (void)snprintf(f->title, sizeof(f->title), "%s - %s", device, panel_names[panel]);
    f->fig = (struct plot_figure){.title = f->title,
                                  .width = o->width,
                                  .height = o->height,
                                  .from_ms = from,
                                  .to_ms = to,
                                  .panes = f->panes,
                                  .n_panes = f->n_panes,
                                  .marks = f->marks,
                                  .n_marks = f->n_marks,
                                  .spans = f->spans,
                                  .n_spans = f->n_spans};
    *ret = f;
    return 0;
}
