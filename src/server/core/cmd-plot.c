/* SPDX-License-Identifier: MIT */
/*
 * cmd-plot.c - `soak plot`: one chart of a device from a store, as PNG or SVG.
 */
#include <cairo.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "log.h"
#include "parse.h"
#include "plot.h"
#include "plotdev.h"
#include "storecli.h"

static void
usage(FILE *f)
{
    (void)fprintf(
        f,
        "Usage: soak plot --db SPEC --device NAME --panel PANEL [--from T] [--to T]\n"
        "                 [--width W] [--height H] [--no-leak] -o FILE.png|FILE.svg\n"
        "\n"
        "Draw one chart of a device's stored history with cairo (no helper processes).\n"
        "Panels:\n"
        "  memory   MemTotal (purple, solid), MemAvailable (blue, dashed) and MemFree\n"
        "           (green, dotted); reboots, build changes, OOM kills and panics marked\n"
        "           on the time axis with labels, outages shaded, and the projected\n"
        "           exhaustion when the leak analysis finds a leak in the newest boot\n"
        "  slab     the slab caches holding most memory, with their growth per day\n"
        "  sensors  one pane per quantity, one line per sensor\n"
        "  latency  poll latency in ms, failed polls shaded\n"
        "Lines differ in dash pattern and symbol as well as colour, and each has a\n"
        "legend label. Long ranges are reduced to min/max per pixel column, so spikes\n"
        "stay visible. An empty range draws \"no data\".\n"
        "\n"
        "Options:\n"
        "  --db SPEC       store: sqlite:PATH, PATH, or postgresql://...\n"
        "  --device NAME   the device\n"
        "  --panel PANEL   memory, slab, sensors or latency\n"
        "  --from T        start: unix seconds or RFC 3339 (default: 30 days before --to)\n"
        "  --to T          end (default: the device's last sample; with a leak found, up\n"
        "                  to the projected exhaustion when it is within 30 days)\n"
        "  --width W       pixels (SVG: points), %d..%d (default 900)\n"
        "  --height H      pixels, %d..%d (default 400)\n"
        "  --no-leak       do not run the leak analysis (no projection)\n"
        "  -o FILE         output; the format follows the extension (.png or .svg);\n"
        "                  written to a temporary file and renamed, so a failure\n"
        "                  leaves no partial image\n"
        "\n"
        "Exit codes: 0 written, 1 failure (store, unknown device, write error), 2 usage error.\n",
        PLOT_MIN_SIZE, PLOT_MAX_SIZE, PLOT_MIN_SIZE, PLOT_MAX_SIZE);
}

static int
size_arg(const char *name, const char *s, int *ret)
{
    uint64_t v;

    if (parse_u64(s, &v) < 0 || v < PLOT_MIN_SIZE || v > PLOT_MAX_SIZE) {
        log_warnx("%s: expected pixels in [%d, %d], got '%s'", name, PLOT_MIN_SIZE, PLOT_MAX_SIZE,
                  s);
        return -EINVAL;
    }
    *ret = (int)v;
    return 0;
}

int
cmd_plot(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'b'},
        {"device", required_argument, NULL, 'd'},
        {"panel", required_argument, NULL, 'p'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"width", required_argument, NULL, 'W'},
        {"height", required_argument, NULL, 'H'},
        {"output", required_argument, NULL, 'o'},
        {"no-leak", no_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct plotdev_opts o = {0};
    const char *db = NULL, *device = NULL, *panel_name = NULL, *out = NULL;
    enum plotdev_panel panel;
    struct plotdev_fig *fig = NULL;
    struct store *st = NULL;
    char err[256] = "";
    int c, r;

    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            db = optarg;
            break;
        case 'd':
            device = optarg;
            break;
        case 'p':
            panel_name = optarg;
            break;
        case 'f':
            if (storecli_time_parse(optarg, &o.from_ms) < 0) {
                log_warnx("--from: expected unix seconds or RFC 3339, got '%s'", optarg);
                return 2;
            }
            break;
        case 't':
            if (storecli_time_parse(optarg, &o.to_ms) < 0) {
                log_warnx("--to: expected unix seconds or RFC 3339, got '%s'", optarg);
                return 2;
            }
            break;
        case 'W':
            if (size_arg("--width", optarg, &o.width) < 0)
                return 2;
            break;
        case 'H':
            if (size_arg("--height", optarg, &o.height) < 0)
                return 2;
            break;
        case 'o':
            out = optarg;
            break;
        case 'L':
            o.no_leak = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        log_warnx("unexpected argument '%s'", argv[optind]);
        return 2;
    }
    if (!db || !device || !panel_name || !out) {
        log_warnx("plot needs --db, --device, --panel and -o (see soak plot --help)");
        return 2;
    }
    panel = plotdev_panel_from_name(panel_name);
    if (panel == _PLOTDEV_PANEL_INVALID) {
        log_warnx("unknown panel '%s' (memory, slab, sensors, latency)", panel_name);
        return 2;
    }
    if (plot_format_from_path(out) == _PLOT_FORMAT_INVALID) {
        log_warnx("-o %s: the file name must end in .png or .svg", out);
        return 2;
    }
    if (o.from_ms && o.to_ms && o.from_ms >= o.to_ms) {
        log_warnx("--from must be before --to");
        return 2;
    }
    if (storecli_open("plot", db, &st) < 0)
        return 1;
    r = plotdev_load(st, device, panel, &o, &fig);
    if (r == -ENOENT)
        log_warnx("no device '%s' in %s", device, db);
    else if (r < 0)
        log_errno(r, "cannot load %s's data: %s", device, store_errmsg(st));
    if (r >= 0) {
        r = plot_check(plotdev_figure(fig), err, sizeof(err));
        if (r < 0)
            log_warnx("cannot draw: %s", err);
    }
    if (r >= 0) {
        r = plot_render_file(plotdev_figure(fig), out);
        if (r < 0)
            log_errno(r, "cannot write %s", out);
        else
            log_debug("%s: %zu samples drawn", out, plotdev_samples(fig));
    }
    fig = plotdev_fig_free(fig);
    st = store_close(st);
    /* Give back cairo's font and surface caches (single-threaded here): keeps leak checkers quiet.
     */
    cairo_debug_reset_static_data();
    return r < 0 ? 1 : 0;
}
