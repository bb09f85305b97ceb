/* SPDX-License-Identifier: MIT */
/*
 * plotdev.h - wiring between the store and plot/: a device's series, events and
 * (optionally) its leak projection for one panel over a time range, as a
 * struct plot_figure ready for plot_render_file() / plot_render_buf().
 *
 * Panels:
 *   memory   MemTotal (purple, solid), MemAvailable (blue, dashed), MemFree (green,
 *            dotted) - the story's graph - with reboots, build changes, OOM kills and
 *            panics marked, outages shaded and, when the leak analysis (judge.h)
 *            finds a leak in the newest boot, the projected exhaustion drawn
 *   slab     the caches holding most bytes at the end of the range (soak_slabinfo_bytes,
 *            else node_slabinfo_active_objects), each labelled with its growth per day
 *   sensors  one pane per quantity (temperature, humidity, light, pressure, voltage),
 *            one line per sensor
 *   latency  poll latency (soak_poll_duration_seconds, in ms) with the polls that
 *            failed (soak_poll_up 0) shaded as outages
 * Marks come from the stored events; when the store has none for the range they
 * are derived from the samples on the fly (events.h), without storing them.
 */
#ifndef SOAK_PLOTDEV_H
#define SOAK_PLOTDEV_H

#include <stdint.h>

#include "macro.h"
#include "plot.h"
#include "store.h"

enum plotdev_panel {
    PLOTDEV_MEMORY,
    PLOTDEV_SLAB,
    PLOTDEV_SENSORS,
    PLOTDEV_LATENCY,
    _PLOTDEV_PANEL_MAX,
    _PLOTDEV_PANEL_INVALID = -22, /* -EINVAL */
};

/* "memory", "slab", "sensors", "latency" <-> the enum; _PLOTDEV_PANEL_INVALID when unknown. */
enum plotdev_panel plotdev_panel_from_name(const char *name);
const char *plotdev_panel_name(enum plotdev_panel p);

struct plotdev_opts {
    int width, height;      /* 0 = plot's default (900 x 400) */
    int64_t from_ms, to_ms; /* 0 = the device's range: to = its last sample, from = to - 30 days
                               (not before its first sample) */
    int no_leak;            /* skip the leak analysis (no projection) */
};

#define PLOTDEV_DEFAULT_SPAN_MS (30LL * 86400 * 1000)

/* A figure and everything it points to. */
struct plotdev_fig;

/*
 * Load device's data for panel over the range in o and build the figure.
 * -ENOENT when the device is unknown, -EINVAL for a bad panel or range,
 * or a store error. The figure is freed with plotdev_fig_free().
 */
_warn_unused_result_ int plotdev_load(struct store *st, const char *device,
                                      enum plotdev_panel panel, const struct plotdev_opts *o,
                                      struct plotdev_fig **ret);

/* The figure to render; valid until plotdev_fig_free(). */
const struct plot_figure *plotdev_figure(const struct plotdev_fig *f);

/* Samples loaded for the figure (all lines), for reports. */
size_t plotdev_samples(const struct plotdev_fig *f);

/* Free; accepts NULL; returns NULL. */
struct plotdev_fig *plotdev_fig_free(struct plotdev_fig *f);

#endif
