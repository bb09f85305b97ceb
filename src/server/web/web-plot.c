/* SPDX-License-Identifier: MIT */
/*
 * web-plot.c - /device/NAME/plot/PANEL.svg|png: one chart of a device over the
 * requested range, built by plotdev (core/plotdev.h: the same figures as
 * `soak plot`) and drawn in process by plot/ (cairo). Optional ?w= and ?h= set
 * the size in pixels.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "plotdev.h"
#include "web-internal.h"

#define WEB_PLOT_SIZE_MAX 2400 /* largest ?w= / ?h= accepted, pixels */

/* Optional size argument in [PLOT_MIN_SIZE, WEB_PLOT_SIZE_MAX]; 0 or -EINVAL. */
static int
size_arg(const struct web_req *q, const char *name, int def, int *ret)
{
    const char *s = web_arg(q, name);
    uint64_t v;

    *ret = def;
    if (!s)
        return 0;
    if (parse_u64(s, &v) < 0 || v < PLOT_MIN_SIZE || v > WEB_PLOT_SIZE_MAX)
        return -EINVAL;
    *ret = (int)v;
    return 0;
}

void
web_plot(const struct web_req *q, const struct web_range *rg, struct web_reply *rep)
{
    struct plotdev_fig *fig = NULL;
    enum plotdev_panel panel = plotdev_panel_from_name(q->rt->panel);
    enum plot_format fmt = strcmp(q->rt->ext, "png") == 0 ? PLOT_PNG : PLOT_SVG;
    int w, h, r;
    char msg[256];

    if (size_arg(q, "w", 900, &w) < 0 || size_arg(q, "h", 400, &h) < 0) {
        web_error_page(rep, 400, "Bad request", "w and h must be whole pixels from 120 to 2400");
        return;
    }
    if (panel == _PLOTDEV_PANEL_INVALID) {
        web_error_page(rep, 404, "Not found", "Panels are memory, slab, sensors and latency.");
        return;
    }
    struct plotdev_opts o = {.width = w, .height = h, .from_ms = rg->from_ms, .to_ms = rg->to_ms};
    r = plotdev_load(q->c->st, q->rt->name, panel, &o, &fig);
    if (r == -ENOENT) {
        (void)snprintf(msg, sizeof(msg), "No device called '%s' has data.", q->rt->name);
        web_error_page(rep, 404, "Not found", msg);
        return;
    }
    if (r < 0) {
        (void)snprintf(msg, sizeof(msg), "cannot build the chart: %s (%s)", strerror(-r),
                       store_errmsg(q->c->st));
        web_error_page(rep, r == -EINVAL ? 400 : 500, r == -EINVAL ? "Bad request" : "Server error",
                       msg);
        return;
    }
    buf_reset(&rep->body);
    r = plot_render_buf(plotdev_figure(fig), fmt, &rep->body);
    fig = plotdev_fig_free(fig);
    if (r < 0) {
        (void)snprintf(msg, sizeof(msg), "drawing failed: %s", strerror(-r));
        web_error_page(rep, 500, "Chart failed", msg);
        return;
    }
    rep->status = 200;
    rep->ctype = fmt == PLOT_PNG ? "image/png" : "image/svg+xml";
}
