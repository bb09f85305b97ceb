/* SPDX-License-Identifier: MIT */
/*
 * plot.h - pure drawing of time-series charts with cairo (PNG and SVG).
 *
 * A figure is one or more panes stacked vertically that share the time axis.
 * Each pane has its own y axis and lines; the figure carries event marks
 * (reboots, build changes, OOM kills, panics) drawn across every pane with a
 * text label, and shaded spans (outages). Nothing here touches the store, the
 * clock or the network: arrays in, an image out (to a file or a memory buffer).
 *
 * Lines are downsampled per pixel column (first/min/max/last of the samples that
 * fall in the column), so a 22-day series of 1-minute samples draws with about
 * 4 points per column and a one-sample spike still shows. A gap in time longer
 * than the pane's gap threshold breaks the line. Every line is drawn with its
 * own dash pattern and has a legend entry and a direct label, so a chart reads
 * without colour.
 *
 * Empty input is fine: a pane without samples says "no data"; a single sample
 * draws as a dot.
 */
#ifndef SOAK_PLOT_H
#define SOAK_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "macro.h"

struct plot_point {
    int64_t t_ms; /* milliseconds since the epoch */
    double v;     /* NaN samples are skipped (and break the line) */
};

enum plot_style {
    PLOT_SOLID,
    PLOT_DASHED,
    PLOT_DOTTED,
    PLOT_DASHDOT,
    _PLOT_STYLE_MAX,
};

enum plot_yfmt {
    PLOT_Y_PLAIN, /* numbers with the pane's unit appended ("42 °C") */
    PLOT_Y_BYTES, /* bytes shown as KiB/MiB/GiB */
    _PLOT_YFMT_MAX,
};

enum plot_format {
    PLOT_PNG,
    PLOT_SVG,
    _PLOT_FORMAT_MAX,
    _PLOT_FORMAT_INVALID = -22, /* -EINVAL */
};

enum plot_mark_kind {
    PLOT_MARK_REBOOT,
    PLOT_MARK_BUILD,
    PLOT_MARK_OOM,
    PLOT_MARK_PANIC,
    PLOT_MARK_UNREACHABLE,
    PLOT_MARK_OTHER,
    _PLOT_MARK_MAX,
};

struct plot_line {
    const char *label;            /* legend and direct label; required */
    const struct plot_point *pts; /* sorted by time; may be NULL when n == 0 */
    size_t n;
    uint32_t rgb; /* 0xRRGGBB */
    enum plot_style style;
    double width; /* line width in px, 0 = 1.5 */
};

/* A straight dashed line from (t0, v0) to (t1, v1): e.g. the projected exhaustion. */
struct plot_projection {
    int64_t t0_ms;
    double v0;
    int64_t t1_ms;
    double v1;
    const char *label; /* drawn at the end, e.g. "exhaustion Nov 28 04:00" */
};

struct plot_pane {
    const char *title; /* drawn top left of the pane; may be NULL */
    enum plot_yfmt yfmt;
    const char *unit;    /* appended to PLAIN tick labels; may be NULL */
    double y_min, y_max; /* NaN = from the data */
    int zero_based;      /* auto range starts at 0 (memory, bytes) */
    int64_t gap_ms;      /* break lines over gaps longer than this; 0 = automatic: 5 minutes
                            or 2.5 sampling intervals, whichever is longer */
    const struct plot_line *lines;
    size_t n_lines;
    const struct plot_projection *proj;
    size_t n_proj;
};

struct plot_mark {
    int64_t t_ms;
    enum plot_mark_kind kind;
    const char *label; /* e.g. "reboot", "6.17.6 / 2025.10", "OOM x6"; NULL = kind name */
};

struct plot_span {
    int64_t from_ms, to_ms;
    const char *label; /* e.g. "unreachable"; may be NULL */
};

struct plot_figure {
    const char *title;      /* top line; may be NULL */
    int width, height;      /* pixels (SVG: points); 0 = 900 x 400 */
    int64_t from_ms, to_ms; /* time range; both 0 = from the data */
    const struct plot_pane *panes;
    size_t n_panes;
    const struct plot_mark *marks;
    size_t n_marks;
    const struct plot_span *spans;
    size_t n_spans;
};

/* Size limits: width and height must lie in [PLOT_MIN_SIZE, PLOT_MAX_SIZE]. */
#define PLOT_MIN_SIZE 120
#define PLOT_MAX_SIZE 8000
#define PLOT_MAX_PANES 8

/* Format from a file name's extension (".png", ".svg", any case); _PLOT_FORMAT_INVALID otherwise.
 */
enum plot_format plot_format_from_path(const char *path);

/* Name of a mark kind ("reboot", "build", "OOM kill", "panic", "unreachable", "event"). */
const char *plot_mark_kind_name(enum plot_mark_kind k);

/*
 * Check a figure before drawing: sizes in range, at most PLOT_MAX_PANES panes,
 * lines with labels. 0 or -EINVAL (message in err when err is not NULL).
 */
_warn_unused_result_ int plot_check(const struct plot_figure *fig, char *err, size_t errlen);

/*
 * Render fig to path; the format comes from the extension. The file is written
 * to a temporary name beside it and renamed, so a failure leaves no partial
 * image. 0, -EINVAL (bad figure or extension), -EIO (cairo failed) or an errno.
 */
_warn_unused_result_ int plot_render_file(const struct plot_figure *fig, const char *path);

/*
 * Render fig into out (appended; out's cap applies: -E2BIG when the image does
 * not fit). 0 or a negative errno. An SVG carries <title> (the figure's title)
 * and <desc> (the lines of each pane and the marks) as text, since cairo draws
 * text as glyph outlines.
 */
_warn_unused_result_ int plot_render_buf(const struct plot_figure *fig, enum plot_format fmt,
                                         struct buf *out);

/* Layout of one pane, for callers and tests that need to map values to pixels. */
struct plot_area {
    double x, y, w, h;      /* plot rectangle in pixels (y down) */
    int64_t from_ms, to_ms; /* time range mapped onto [x, x+w] */
    double y_lo, y_hi;      /* value range mapped onto [y+h, y] */
};

/*
 * Compute where pane i of fig is drawn (the same computation plot_render_* do).
 * 0 or -EINVAL.
 */
_warn_unused_result_ int plot_layout(const struct plot_figure *fig, size_t i,
                                     struct plot_area *ret);

/* Pixel x of time t and pixel y of value v in an area (not clamped). */
double plot_area_x(const struct plot_area *a, int64_t t_ms);
double plot_area_y(const struct plot_area *a, double v);

#endif
