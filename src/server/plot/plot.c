/* SPDX-License-Identifier: MIT */
/*
 * plot.c - render a struct plot_figure with cairo onto a PNG or SVG surface.
 */
#include <cairo-svg.h>
#include <cairo.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "plot-internal.h"

#define DEFAULT_W 900
#define DEFAULT_H 400
#define PAD 8.0
#define TITLE_H 24.0 /* px for the figure title row */
#define AXIS_H 22.0  /* px under the last pane for time labels */
#define LEFT_M 74.0  /* px for y tick labels */
#define RIGHT_M 14.0
#define LEGEND_H 18.0 /* px above each pane: title and legend */
#define PANE_GAP 6.0
#define FONT_SIZE 11.0
#define MARKER_EVERY 90.0   /* px between line symbols */
#define MARK_LABEL_GAP 11.0 /* px: closer marks share one label */
#define MAX_SYMBOLS (PLOT_MAX_SIZE / 90 + 2)
#define FONT "DejaVu Sans"
#define SVG_MAX (64 * 1024 * 1024) /* bytes of one SVG held in memory */

static const char *const mark_names[_PLOT_MARK_MAX] = {
    [PLOT_MARK_REBOOT] = "reboot",
    [PLOT_MARK_BUILD] = "build",
    [PLOT_MARK_OOM] = "OOM kill",
    [PLOT_MARK_PANIC] = "panic",
    [PLOT_MARK_UNREACHABLE] = "unreachable",
    [PLOT_MARK_OTHER] = "event",
};

const char *
plot_mark_kind_name(enum plot_mark_kind k)
{
    if ((unsigned)k >= _PLOT_MARK_MAX)
        return "event";
    return mark_names[k];
}

enum plot_format
plot_format_from_path(const char *path)
{
    const char *dot = path ? strrchr(path, '.') : NULL;

    if (!dot)
        return _PLOT_FORMAT_INVALID;
    if (strcasecmp(dot, ".png") == 0)
        return PLOT_PNG;
    if (strcasecmp(dot, ".svg") == 0)
        return PLOT_SVG;
    return _PLOT_FORMAT_INVALID;
}

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int
fig_w(const struct plot_figure *f)
{
    return f->width > 0 ? f->width : DEFAULT_W;
}

static int
fig_h(const struct plot_figure *f)
{
    return f->height > 0 ? f->height : DEFAULT_H;
}

int
plot_check(const struct plot_figure *fig, char *err, size_t errlen)
{
    int w, h;

    if (!fig) {
        set_err(err, errlen, "no figure");
        return -EINVAL;
    }
    w = fig_w(fig);
    h = fig_h(fig);
    if (w < PLOT_MIN_SIZE || w > PLOT_MAX_SIZE || h < PLOT_MIN_SIZE || h > PLOT_MAX_SIZE) {
        set_err(err, errlen, "size %dx%d out of range (%d..%d)", w, h, PLOT_MIN_SIZE,
                PLOT_MAX_SIZE);
        return -EINVAL;
    }
    if (fig->n_panes == 0 || fig->n_panes > PLOT_MAX_PANES || !fig->panes) {
        set_err(err, errlen, "a figure needs 1..%d panes", PLOT_MAX_PANES);
        return -EINVAL;
    }
    if (h / (double)fig->n_panes < LEGEND_H + 24) {
        set_err(err, errlen, "height %d too small for %zu panes", h, fig->n_panes);
        return -EINVAL;
    }
    if (fig->to_ms < fig->from_ms) {
        set_err(err, errlen, "time range ends before it starts");
        return -EINVAL;
    }
    for (size_t i = 0; i < fig->n_panes; i++) {
        const struct plot_pane *p = &fig->panes[i];
        if ((unsigned)p->yfmt >= _PLOT_YFMT_MAX || (p->n_lines && !p->lines) ||
            (p->n_proj && !p->proj)) {
            set_err(err, errlen, "pane %zu is malformed", i);
            return -EINVAL;
        }
        for (size_t j = 0; j < p->n_lines; j++)
            if (!p->lines[j].label || (p->lines[j].n && !p->lines[j].pts) ||
                (unsigned)p->lines[j].style >= _PLOT_STYLE_MAX) {
                set_err(err, errlen, "pane %zu line %zu is malformed", i, j);
                return -EINVAL;
            }
    }
    if ((fig->n_marks && !fig->marks) || (fig->n_spans && !fig->spans)) {
        set_err(err, errlen, "marks or spans missing");
        return -EINVAL;
    }
    return 0;
}

/* The figure's time range: as given, else from the data, else one hour at the epoch. */
static void
fig_time_range(const struct plot_figure *f, int64_t *ret_from, int64_t *ret_to)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;

    if (f->from_ms != 0 || f->to_ms != 0) {
        lo = f->from_ms;
        hi = f->to_ms;
    } else {
        for (size_t i = 0; i < f->n_panes; i++)
            for (size_t j = 0; j < f->panes[i].n_lines; j++) {
                const struct plot_line *l = &f->panes[i].lines[j];
                if (l->n == 0)
                    continue;
                lo = MIN(lo, l->pts[0].t_ms);
                hi = MAX(hi, l->pts[l->n - 1].t_ms);
            }
        for (size_t i = 0; i < f->n_marks; i++) {
            lo = MIN(lo, f->marks[i].t_ms);
            hi = MAX(hi, f->marks[i].t_ms);
        }
        if (lo > hi) {
            lo = 0;
            hi = 3600 * 1000;
        }
    }
    if (hi <= lo) {
        lo -= 30 * 60 * 1000;
        hi += 30 * 60 * 1000;
    }
    *ret_from = lo;
    *ret_to = hi;
}

/* Geometry of pane i without its value range. */
static void
pane_rect(const struct plot_figure *f, size_t i, struct plot_area *a)
{
    double top = f->title ? TITLE_H : 4.0;
    double avail = fig_h(f) - top - AXIS_H - 2.0;
    double pane_h = avail / (double)f->n_panes;

    a->x = LEFT_M;
    a->w = fig_w(f) - LEFT_M - RIGHT_M;
    a->y = top + pane_h * (double)i + LEGEND_H;
    a->h = pane_h - LEGEND_H - (i + 1 < f->n_panes ? PANE_GAP : 0);
    if (a->h < 8)
        a->h = 8;
}

/* Value range of a pane's samples inside [from, to]; 0 when there are none. */
static int
pane_data_range(const struct plot_pane *p, int64_t from, int64_t to, double *ret_lo, double *ret_hi)
{
    double lo = INFINITY, hi = -INFINITY;
    int any = 0;

    for (size_t j = 0; j < p->n_lines; j++) {
        const struct plot_line *l = &p->lines[j];
        for (size_t k = 0; k < l->n; k++) {
            double v = l->pts[k].v;
            if (l->pts[k].t_ms < from || l->pts[k].t_ms > to || !isfinite(v))
                continue;
            lo = MIN(lo, v);
            hi = MAX(hi, v);
            any = 1;
        }
    }
    for (size_t j = 0; j < p->n_proj && any; j++) {
        if (isfinite(p->proj[j].v0)) {
            lo = MIN(lo, p->proj[j].v0);
            hi = MAX(hi, p->proj[j].v0);
        }
        if (isfinite(p->proj[j].v1)) {
            lo = MIN(lo, p->proj[j].v1);
            hi = MAX(hi, p->proj[j].v1);
        }
    }
    if (!any)
        return 0;
    *ret_lo = lo;
    *ret_hi = hi;
    return 1;
}

struct yaxis {
    double lo, hi, step, div;
    int any; /* the pane has samples in range */
};

static void
pane_yaxis(const struct plot_figure *f, size_t i, const struct plot_area *a, int64_t from,
           int64_t to, struct yaxis *y)
{
    const struct plot_pane *p = &f->panes[i];
    double lo = 0, hi = 1;
    int ticks = (int)(a->h / 38.0);

    y->any = pane_data_range(p, from, to, &lo, &hi);
    if (p->zero_based && lo > 0)
        lo = 0;
    if (isfinite(p->y_min))
        lo = p->y_min;
    if (isfinite(p->y_max))
        hi = p->y_max;
    if (ticks < 2)
        ticks = 2;
    if (isfinite(p->y_min) && isfinite(p->y_max) && p->y_max > p->y_min) {
        /* Fixed range: keep it exactly, only pick a step. */
        double dl, dh;
        plot_nice_range(lo, hi, ticks, p->yfmt, &dl, &dh, &y->step, &y->div);
        y->lo = lo;
        y->hi = hi;
        return;
    }
    if (y->any && hi > lo)
        hi += (hi - lo) * 0.03; /* headroom so the top line is not on the frame */
    plot_nice_range(lo, hi, ticks, p->yfmt, &y->lo, &y->hi, &y->step, &y->div);
}

int
plot_layout(const struct plot_figure *fig, size_t i, struct plot_area *ret)
{
    struct plot_area a;
    struct yaxis y;

    if (plot_check(fig, NULL, 0) < 0 || i >= fig->n_panes)
        return -EINVAL;
    fig_time_range(fig, &a.from_ms, &a.to_ms);
    pane_rect(fig, i, &a);
    pane_yaxis(fig, i, &a, a.from_ms, a.to_ms, &y);
    a.y_lo = y.lo;
    a.y_hi = y.hi;
    *ret = a;
    return 0;
}

double
plot_area_x(const struct plot_area *a, int64_t t_ms)
{
    double span = (double)(a->to_ms - a->from_ms);

    if (span <= 0)
        span = 1;
    return a->x + (double)(t_ms - a->from_ms) * a->w / span;
}

double
plot_area_y(const struct plot_area *a, double v)
{
    double span = a->y_hi - a->y_lo;

    if (!(span > 0))
        span = 1;
    return a->y + a->h - (v - a->y_lo) * a->h / span;
}

/* ---- drawing helpers ---- */

static void
set_rgb(cairo_t *cr, uint32_t rgb)
{
    cairo_set_source_rgb(cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                         (rgb & 0xff) / 255.0);
}

static void
set_style(cairo_t *cr, enum plot_style s, double width)
{
    static const double dashed[] = {7, 4};
    static const double dotted[] = {1.5, 3};
    static const double dashdot[] = {8, 3, 1.5, 3};

    cairo_set_line_width(cr, width);
    switch (s) {
    case PLOT_DASHED:
        cairo_set_dash(cr, dashed, 2, 0);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
        break;
    case PLOT_DOTTED:
        cairo_set_dash(cr, dotted, 2, 0);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
        break;
    case PLOT_DASHDOT:
        cairo_set_dash(cr, dashdot, 4, 0);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
        break;
    default:
        cairo_set_dash(cr, NULL, 0, 0);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
        break;
    }
}

/* Symbol k (by line index) centred at (x, y): circle, square, triangle, diamond, cross, x. */
static void
symbol(cairo_t *cr, size_t k, double x, double y)
{
    const double r = 3.2;

    cairo_new_sub_path(cr);
    switch (k % 6) {
    case 0:
        cairo_arc(cr, x, y, r, 0, 2 * M_PI);
        break;
    case 1:
        cairo_rectangle(cr, x - r, y - r, 2 * r, 2 * r);
        break;
    case 2:
        cairo_move_to(cr, x, y - r - 0.5);
        cairo_line_to(cr, x + r, y + r);
        cairo_line_to(cr, x - r, y + r);
        cairo_close_path(cr);
        break;
    case 3:
        cairo_move_to(cr, x, y - r - 0.8);
        cairo_line_to(cr, x + r + 0.8, y);
        cairo_line_to(cr, x, y + r + 0.8);
        cairo_line_to(cr, x - r - 0.8, y);
        cairo_close_path(cr);
        break;
    case 4:
        cairo_move_to(cr, x - r, y);
        cairo_line_to(cr, x + r, y);
        cairo_move_to(cr, x, y - r);
        cairo_line_to(cr, x, y + r);
        break;
    default:
        cairo_move_to(cr, x - r, y - r);
        cairo_line_to(cr, x + r, y + r);
        cairo_move_to(cr, x - r, y + r);
        cairo_line_to(cr, x + r, y - r);
        break;
    }
}

static double
text_width(cairo_t *cr, const char *s)
{
    cairo_text_extents_t e;

    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

/* Draw s with its baseline at y; align 0 left, 1 centre, 2 right of x. */
static void
text_at(cairo_t *cr, double x, double y, int align, const char *s)
{
    double w = align ? text_width(cr, s) : 0;

    cairo_move_to(cr, x - (align == 1 ? w / 2 : align == 2 ? w : 0), y);
    cairo_show_text(cr, s);
}

/* Text on a white box, so labels stay readable over lines. */
static void
text_boxed(cairo_t *cr, double x, double y, const char *s)
{
    double w = text_width(cr, s);

    cairo_save(cr);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_rectangle(cr, x - 2, y - FONT_SIZE + 1, w + 4, FONT_SIZE + 3);
    cairo_fill(cr);
    cairo_restore(cr);
    text_at(cr, x, y, 0, s);
}

/* ---- lines ---- */

struct line_ctx {
    cairo_t *cr;
    const struct plot_area *a;
    size_t seg_cols;     /* columns in the current segment */
    double seg_x, seg_y; /* its first point */
    int seg_single;      /* the segment so far is one value */
    double next_symbol;  /* column where the next symbol goes */
    double sx[MAX_SYMBOLS], sy[MAX_SYMBOLS];
    size_t n_sym;
    size_t drawn; /* columns inside the area */
};

static void
finish_segment(struct line_ctx *c)
{
    /* A lone sample has no extent: draw it as a small closed circle. */
    if (c->seg_cols == 1 && c->seg_single) {
        cairo_new_sub_path(c->cr);
        cairo_arc(c->cr, c->seg_x, c->seg_y, 1.5, 0, 2 * M_PI);
        cairo_close_path(c->cr);
    }
}

static void
line_column(void *ctx, const struct plot_column *col)
{
    struct line_ctx *c = ctx;
    double x = c->a->x + (double)col->col + 0.5;
    double yf = plot_area_y(c->a, col->first);

    if (col->starts_segment) {
        if (c->seg_cols)
            finish_segment(c);
        cairo_move_to(c->cr, x, yf);
        c->seg_cols = 0;
        c->seg_x = x;
        c->seg_y = yf;
        c->seg_single = 1;
    } else
        cairo_line_to(c->cr, x, yf);
    if (col->n > 1 && col->max > col->min) {
        /* The column's extent, visited the shorter way (first -> min -> max -> last or first
         * -> max -> min -> last: the same pixels), vertices closer than a quarter pixel
         * to the one before left out: fewer and shorter segments to stroke and dash. */
        double ymin = plot_area_y(c->a, col->min), ymax = plot_area_y(c->a, col->max);
        double yl = plot_area_y(c->a, col->last), y[3], prev = yf;
        int up = fabs(yf - ymin) + fabs(ymax - yl) <= fabs(yf - ymax) + fabs(ymin - yl);

        y[0] = up ? ymin : ymax;
        y[1] = up ? ymax : ymin;
        y[2] = yl;
        for (int i = 0; i < 3; i++)
            if (fabs(y[i] - prev) >= 0.25) {
                cairo_line_to(c->cr, x, y[i]);
                prev = y[i];
            }
        c->seg_single = 0;
    }
    if (c->seg_cols > 0)
        c->seg_single = 0; /* a second column: the segment has extent */
    c->seg_cols++;
    if (col->col >= 0 && col->col < (long)c->a->w) {
        c->drawn++;
        if ((double)col->col >= c->next_symbol && c->n_sym < MAX_SYMBOLS) {
            c->sx[c->n_sym] = x;
            c->sy[c->n_sym] = plot_area_y(c->a, col->last);
            c->n_sym++;
            c->next_symbol = (double)col->col + MARKER_EVERY;
        }
    }
}

/* Draw one line; returns the number of columns drawn inside the area. */
static size_t
draw_line(cairo_t *cr, const struct plot_area *a, const struct plot_line *l, size_t k,
          int64_t gap_ms)
{
    struct line_ctx c = {.cr = cr, .a = a, .next_symbol = 20.0 + 17.0 * (double)k};
    double width = l->width > 0 ? l->width : 1.5;

    if (gap_ms <= 0)
        gap_ms = plot_auto_gap(l->pts, l->n);
    cairo_new_path(cr);
    (void)plot_downsample(l->pts, l->n, a, gap_ms, line_column, &c);
    if (c.seg_cols)
        finish_segment(&c);
    set_rgb(cr, l->rgb);
    set_style(cr, l->style, width);
    /* bevel: a round join on each of the ~3,000 vertices of a dense line cost 20 % of the
     * stroke, and at 1.5 px the corners look the same */
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_BEVEL);
    cairo_stroke(cr);
    /* Symbols along the line: a chart printed in grey still tells the lines apart. */
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_set_line_width(cr, 1.2);
    for (size_t i = 0; i < c.n_sym; i++)
        symbol(cr, k, c.sx[i], c.sy[i]);
    cairo_stroke(cr);
    return c.drawn;
}

static void
draw_projection(cairo_t *cr, const struct plot_area *a, const struct plot_projection *p)
{
    double x0 = plot_area_x(a, p->t0_ms), y0 = plot_area_y(a, p->v0);
    double x1 = plot_area_x(a, p->t1_ms), y1 = plot_area_y(a, p->v1);

    if (!isfinite(p->v0) || !isfinite(p->v1))
        return;
    cairo_new_path(cr);
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    set_rgb(cr, 0xc00000);
    set_style(cr, PLOT_DASHDOT, 2.0);
    cairo_stroke(cr);
    if (p->label) {
        double lx = MIN(x1, a->x + a->w - 4),
               ly = MIN(MAX(y1 - 6, a->y + FONT_SIZE + 2), a->y + a->h - 4);
        double w = text_width(cr, p->label);
        if (lx + w > a->x + a->w - 2)
            lx = a->x + a->w - 2 - w;
        set_rgb(cr, 0xa00000);
        text_boxed(cr, MAX(lx, a->x + 2), ly, p->label);
    }
}

/* ---- the figure ---- */

static void
draw_legend(cairo_t *cr, const struct plot_pane *p, const struct plot_area *a, double fig_w)
{
    double x = a->x, y = a->y - 5;

    set_rgb(cr, 0x000000);
    if (p->title) {
        cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
        text_at(cr, x, y, 0, p->title);
        x += text_width(cr, p->title) + 14;
        cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    }
    for (size_t j = 0; j < p->n_lines; j++) {
        const struct plot_line *l = &p->lines[j];
        double tw = text_width(cr, l->label);
        if (x + 30 + tw > fig_w - 60) {
            /* out of room: the first lines win, and the legend says how many it left out */
            char more[32];
            (void)snprintf(more, sizeof(more), "+%zu more", p->n_lines - j);
            set_rgb(cr, 0x555555);
            text_at(cr, MIN(x, fig_w - 58), y, 0, more);
            break;
        }
        cairo_new_path(cr);
        cairo_move_to(cr, x, y - 4);
        cairo_line_to(cr, x + 24, y - 4);
        set_rgb(cr, l->rgb);
        set_style(cr, l->style, l->width > 0 ? l->width : 1.5);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        cairo_set_line_width(cr, 1.2);
        symbol(cr, j, x + 12, y - 4);
        cairo_stroke(cr);
        set_rgb(cr, 0x000000);
        text_at(cr, x + 28, y, 0, l->label);
        x += 28 + tw + 14;
    }
}

static void
draw_pane(cairo_t *cr, const struct plot_figure *f, size_t i, const struct plot_area *a,
          const struct yaxis *y, const int64_t *ticks, size_t n_ticks)
{
    const struct plot_pane *p = &f->panes[i];
    size_t drawn = 0;
    char label[64];

    /* Grid and y labels. */
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_set_line_width(cr, 1);
    for (double v = y->lo; v <= y->hi + y->step * 1e-6; v += y->step) {
        double py = round(plot_area_y(a, v)) + 0.5;
        if (py < a->y - 0.5 || py > a->y + a->h + 1)
            continue;
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, a->x, py);
        cairo_line_to(cr, a->x + a->w, py);
        cairo_stroke(cr);
        plot_value_label(v, y->div, y->step, p->yfmt, p->unit, label, sizeof(label));
        set_rgb(cr, 0x333333);
        text_at(cr, a->x - 5, py + 4, 2, label);
    }
    for (size_t k = 0; k < n_ticks; k++) {
        double px = round(plot_area_x(a, ticks[k])) + 0.5;
        cairo_set_source_rgb(cr, 0.92, 0.92, 0.92);
        cairo_move_to(cr, px, a->y);
        cairo_line_to(cr, px, a->y + a->h);
        cairo_stroke(cr);
    }

    cairo_save(cr);
    cairo_rectangle(cr, a->x, a->y, a->w, a->h);
    cairo_clip(cr);
    for (size_t k = 0; k < f->n_spans; k++) {
        double x0 = plot_area_x(a, f->spans[k].from_ms), x1 = plot_area_x(a, f->spans[k].to_ms);
        cairo_set_source_rgba(cr, 0.45, 0.45, 0.45, 0.22);
        cairo_rectangle(cr, x0, a->y, MAX(x1 - x0, 1.0), a->h);
        cairo_fill(cr);
        if (i == 0 && f->spans[k].label) {
            set_rgb(cr, 0x303030);
            text_at(cr, x0 + 3, a->y + a->h - 5, 0, f->spans[k].label);
        }
    }
    for (size_t j = 0; j < p->n_lines; j++)
        drawn += draw_line(cr, a, &p->lines[j], j, p->gap_ms);
    for (size_t j = 0; j < p->n_proj && y->any; j++)
        draw_projection(cr, a, &p->proj[j]);
    cairo_restore(cr);

    if (drawn == 0) {
        cairo_set_font_size(cr, FONT_SIZE * 1.4);
        set_rgb(cr, 0x707070);
        text_at(cr, a->x + a->w / 2, a->y + a->h / 2 + 5, 1, "no data");
        cairo_set_font_size(cr, FONT_SIZE);
    }
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_set_line_width(cr, 1);
    set_rgb(cr, 0x606060);
    cairo_rectangle(cr, round(a->x) + 0.5, round(a->y) + 0.5, round(a->w), round(a->h));
    cairo_stroke(cr);
    draw_legend(cr, p, a, fig_w(f));
}

static uint32_t
mark_rgb(enum plot_mark_kind k)
{
    switch (k) {
    case PLOT_MARK_BUILD:
        return 0x000000;
    case PLOT_MARK_OOM:
    case PLOT_MARK_PANIC:
        return 0xc00000;
    case PLOT_MARK_UNREACHABLE:
        return 0xb06000;
    default:
        return 0x606060;
    }
}

static enum plot_style
mark_style(enum plot_mark_kind k)
{
    switch (k) {
    case PLOT_MARK_BUILD:
    case PLOT_MARK_PANIC:
        return PLOT_SOLID;
    case PLOT_MARK_OOM:
        return PLOT_DOTTED;
    default:
        return PLOT_DASHED;
    }
}

static void
draw_marks(cairo_t *cr, const struct plot_figure *f, const struct plot_area *first,
           const struct plot_area *last)
{
    double last_label_x = -1e9, side;
    int right_used = 0;

    for (size_t k = 0; k < f->n_marks; k++) {
        const struct plot_mark *m = &f->marks[k];
        const char *label = m->label ? m->label : plot_mark_kind_name(m->kind);
        double x = round(plot_area_x(first, m->t_ms)) + 0.5;

        if (m->t_ms < first->from_ms || m->t_ms > first->to_ms)
            continue;
        cairo_new_path(cr);
        cairo_move_to(cr, x, first->y);
        cairo_line_to(cr, x, last->y + last->h);
        set_rgb(cr, mark_rgb(m->kind));
        set_style(cr, mark_style(m->kind), m->kind == PLOT_MARK_PANIC ? 2.0 : 1.2);
        cairo_stroke(cr);
        /* A tick under the axis tells the kind without colour. */
        cairo_set_dash(cr, NULL, 0, 0);
        symbol(cr, (size_t)m->kind, x, last->y + last->h + 4);
        cairo_stroke(cr);
        /* Labels read upward on the left of their line; a mark right after another
         * (a build change at a reboot) takes the right side; a third one shares. */
        side = -3;
        if (x - last_label_x < MARK_LABEL_GAP) {
            if (right_used)
                continue;
            side = FONT_SIZE + 1;
            right_used = 1;
        } else {
            last_label_x = x;
            right_used = 0;
        }
        cairo_save(cr);
        cairo_translate(cr, x + side, first->y + 4);
        cairo_rotate(cr, -M_PI / 2);
        {
            double w = text_width(cr, label);
            double maxw = first->h - 8;
            /* Written upward from near the top, ending at the top edge. */
            cairo_set_source_rgba(cr, 1, 1, 1, 0.8);
            cairo_rectangle(cr, -MIN(w, maxw) - 2, -FONT_SIZE + 1, MIN(w, maxw) + 4, FONT_SIZE + 2);
            cairo_fill(cr);
            set_rgb(cr, mark_rgb(m->kind));
            cairo_rectangle(cr, -maxw, -FONT_SIZE - 2, maxw, FONT_SIZE + 6);
            cairo_clip(cr);
            cairo_move_to(cr, -MIN(w, maxw), 0);
            cairo_show_text(cr, label);
        }
        cairo_restore(cr);
    }
}

static int
draw_figure(cairo_t *cr, const struct plot_figure *f)
{
    struct plot_area areas[PLOT_MAX_PANES];
    struct yaxis ys[PLOT_MAX_PANES];
    int64_t ticks[PLOT_MAX_TICKS], step = 0, from, to;
    size_t n_ticks;
    double w = fig_w(f), h = fig_h(f);
    char label[64];

    fig_time_range(f, &from, &to);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, FONT_SIZE);

    pane_rect(f, 0, &areas[0]);
    n_ticks = plot_time_ticks(from, to, (int)(areas[0].w / 90.0), &step, ticks);
    for (size_t i = 0; i < f->n_panes; i++) {
        pane_rect(f, i, &areas[i]);
        areas[i].from_ms = from;
        areas[i].to_ms = to;
        pane_yaxis(f, i, &areas[i], from, to, &ys[i]);
        areas[i].y_lo = ys[i].lo;
        areas[i].y_hi = ys[i].hi;
        draw_pane(cr, f, i, &areas[i], &ys[i], ticks, n_ticks);
    }
    draw_marks(cr, f, &areas[0], &areas[f->n_panes - 1]);

    /* Time axis under the last pane. */
    set_rgb(cr, 0x333333);
    cairo_set_dash(cr, NULL, 0, 0);
    for (size_t k = 0; k < n_ticks; k++) {
        const struct plot_area *a = &areas[f->n_panes - 1];
        double px = round(plot_area_x(a, ticks[k])) + 0.5;
        cairo_move_to(cr, px, a->y + a->h);
        cairo_line_to(cr, px, a->y + a->h + 3);
        cairo_stroke(cr);
        double tw;
        plot_time_label(ticks[k], step, label, sizeof(label));
        tw = text_width(cr, label);
        /* keep the first and last labels inside the image */
        px = MIN(MAX(px, tw / 2 + 2), w - tw / 2 - 2);
        text_at(cr, px, MIN(a->y + a->h + 16, h - 4), 1, label);
    }
    if (f->title) {
        cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
        cairo_set_font_size(cr, FONT_SIZE + 2);
        set_rgb(cr, 0x000000);
        text_at(cr, PAD, 17, 0, f->title);
        cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_font_size(cr, FONT_SIZE);
        set_rgb(cr, 0x555555);
        text_at(cr, w - PAD, 17, 2, "UTC");
    }
    return cairo_status(cr) == CAIRO_STATUS_SUCCESS ? 0 : -EIO;
}

/* ---- surfaces ---- */

struct sink {
    struct buf *b;
    FILE *f;
    int err;
};

static int
sink_put(void *closure, const void *data, size_t len)
{
    struct sink *s = closure;
    int r = 0;

    if (s->b)
        r = buf_append(s->b, data, len);
    else if (len && fwrite(data, 1, len, s->f) != len)
        r = errno ? -errno : -EIO;
    if (r < 0 && !s->err)
        s->err = r;
    return r;
}

static cairo_status_t
sink_write(void *closure, const unsigned char *data, unsigned int len)
{
    return sink_put(closure, data, len) < 0 ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

static int
render_surface(const struct plot_figure *fig, enum plot_format fmt, struct sink *s)
{
    cairo_surface_t *surf;
    cairo_t *cr;
    int r;

    if (plot_check(fig, NULL, 0) < 0 || (unsigned)fmt >= _PLOT_FORMAT_MAX)
        return -EINVAL;
    if (fmt == PLOT_SVG)
        surf = cairo_svg_surface_create_for_stream(sink_write, s, fig_w(fig), fig_h(fig));
    else
        surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, fig_w(fig), fig_h(fig));
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surf);
        return -ENOMEM;
    }
    /* width="900px", not cairo's default "900pt" (which a browser shows 4/3 as large) */
    if (fmt == PLOT_SVG)
        cairo_svg_surface_set_document_unit(surf, CAIRO_SVG_UNIT_PX);
    cr = cairo_create(surf);
    r = draw_figure(cr, fig);
    cairo_destroy(cr);
    if (r == 0 && fmt == PLOT_PNG)
        r = plot_png_write(surf, sink_put, s);
    cairo_surface_finish(surf);
    if (r == 0 && cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS)
        r = s->err ? s->err : -EIO;
    if (r == 0 && s->err)
        r = s->err;
    cairo_surface_destroy(surf);
    return r;
}

/* Append s to b with XML's five special characters escaped. */
static int
xml_puts(struct buf *b, const char *s)
{
    int r = 0;

    for (; r == 0 && s && *s; s++) {
        switch (*s) {
        case '&':
            r = buf_puts(b, "&amp;");
            break;
        case '<':
            r = buf_puts(b, "&lt;");
            break;
        case '>':
            r = buf_puts(b, "&gt;");
            break;
        case '"':
            r = buf_puts(b, "&quot;");
            break;
        case '\'':
            r = buf_puts(b, "&apos;");
            break;
        default:
            r = buf_putc(b, *s);
            break;
        }
    }
    return r;
}

/*
 * <title> and <desc> for an SVG: cairo draws text as glyph outlines, so the
 * figure's title, each pane's lines and the marks are also given as text, for
 * screen readers and for anyone searching the file.
 */
static int
svg_text(const struct plot_figure *f, struct buf *b)
{
    int r = buf_puts(b, "\n<title>");

    if (r == 0)
        r = xml_puts(b, f->title ? f->title : "chart");
    if (r == 0)
        r = buf_puts(b, "</title>\n<desc>");
    for (size_t i = 0; r == 0 && i < f->n_panes; i++) {
        const struct plot_pane *p = &f->panes[i];
        if (i)
            r = buf_puts(b, "; ");
        if (r == 0)
            r = xml_puts(b, p->title ? p->title : "pane");
        if (r == 0)
            r = buf_puts(b, ":");
        for (size_t j = 0; r == 0 && j < p->n_lines; j++) {
            r = buf_puts(b, j ? ", " : " ");
            if (r == 0)
                r = xml_puts(b, p->lines[j].label);
        }
        for (size_t j = 0; r == 0 && j < p->n_proj; j++) {
            r = buf_puts(b, ", ");
            if (r == 0)
                r = xml_puts(b, p->proj[j].label ? p->proj[j].label : "projection");
        }
    }
    for (size_t k = 0; r == 0 && k < f->n_marks && k < 100; k++) {
        const struct plot_mark *m = &f->marks[k];
        char when[32] = "";
        time_t t = (time_t)(m->t_ms / 1000);
        struct tm tm;

        if (gmtime_r(&t, &tm) && strftime(when, sizeof(when), "%b %d %H:%M UTC", &tm) == 0)
            when[0] = '\0';
        r = buf_puts(b, k ? ", " : "; events: ");
        if (r == 0)
            r = xml_puts(b, m->label ? m->label : plot_mark_kind_name(m->kind));
        if (r == 0)
            r = buf_printf(b, " (%s)", when);
    }
    if (r == 0)
        r = buf_puts(b, "</desc>\n");
    return r;
}

static int
render_to_sink(const struct plot_figure *fig, enum plot_format fmt, struct sink *s)
{
    struct buf svg, text;
    struct sink inner = {.b = &svg};
    const char *end;
    size_t head;
    int r;

    if (fmt != PLOT_SVG)
        return render_surface(fig, fmt, s);
    /* SVG: rendered to memory, then written with <title>/<desc> after the <svg> tag. */
    buf_init(&svg, SVG_MAX);
    buf_init(&text, SVG_MAX);
    r = render_surface(fig, fmt, &inner);
    if (r == 0)
        r = svg_text(fig, &text);
    end = r == 0 ? strstr(buf_str(&svg), "<svg") : NULL;
    end = end ? strchr(end, '>') : NULL;
    if (r == 0 && !end)
        r = -EIO;
    if (r == 0) {
        head = (size_t)(end + 1 - svg.data);
        r = sink_put(s, svg.data, head);
        if (r == 0)
            r = sink_put(s, text.data, text.len);
        if (r == 0)
            r = sink_put(s, svg.data + head, svg.len - head);
    }
    buf_free(&svg);
    buf_free(&text);
    return r;
}

int
plot_render_buf(const struct plot_figure *fig, enum plot_format fmt, struct buf *out)
{
    struct sink s = {.b = out};
    size_t len0;
    int r;

    if (!out)
        return -EINVAL;
    len0 = out->len;
    r = render_to_sink(fig, fmt, &s);
    if (r < 0)
        buf_truncate(out, len0);
    return r;
}

int
plot_render_file(const struct plot_figure *fig, const char *path)
{
    enum plot_format fmt = plot_format_from_path(path);
    _cleanup_free_ char *tmp = NULL;
    struct sink s = {0};
    int fd, r;

    if (fmt == _PLOT_FORMAT_INVALID)
        return -EINVAL;
    if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
        tmp = NULL;
        return -ENOMEM;
    }
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    (void)fchmod(fd, 0644);
    s.f = fdopen(fd, "w");
    if (!s.f) {
        r = -errno;
        (void)close(fd);
        (void)unlink(tmp);
        return r;
    }
    r = render_to_sink(fig, fmt, &s);
    if (fflush(s.f) != 0 && r == 0)
        r = -errno;
    if (fclose(s.f) != 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0)
        (void)unlink(tmp);
    return r;
}
