/* SPDX-License-Identifier: MIT */
/*
 * web.h - the farm dashboard and its JSON API, served by libmicrohttpd.
 *
 * web_start() opens its OWN store connections (cfg->store_spec) and serves from
 * a pool of libmicrohttpd threads, each request with a connection no other thread
 * uses meanwhile, so a slow page does not hold up the others; the poller keeps
 * its own connection (SQLite WAL lets readers and the writer run side by side).
 * Nothing in the web server writes to the store.
 *
 * Pages (server-rendered HTML with inline SVG, no JavaScript):
 *   /                 the farm: every device, problems first
 *   /device/NAME      charts, events, leak analysis, kmemleak summary
 *   /device/NAME/plot/PANEL.svg|.png   one chart (PANEL: memory, slab, sensors, latency)
 *   /build/NAME       every device that ran the build, with the verdict and its reasons
 * JSON API under /api/v1/ (see docs/API.md).
 *
 * Access: when cfg->token is set, every request needs it, as
 * "Authorization: Bearer TOKEN", a "?token=TOKEN" query parameter (which also
 * sets the soak_token cookie) or that cookie. Otherwise 401.
 */
#ifndef SOAK_WEB_H
#define SOAK_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct web;

/* A device named in the farm config: the dashboard lists it even before it has data. */
#define WEB_RAM_SIZES_MAX 8

struct web_device {
    const char *name;
    const char *url; /* may be NULL */
    double interval; /* poll interval in seconds, 0 if unknown */
    const char *model; /* board model for verdict texts ("rock-pi-s"); may be NULL */
    /* RAM sizes the board is sold with (bytes): verdicts project a leak onto each */
    uint64_t ram_sizes[WEB_RAM_SIZES_MAX];
    size_t n_ram_sizes;
};

struct farm_conf;
struct farm_device;

/*
 * Fill *ret from device d of the farm config c: name, url, poll interval, model and RAM
 * sizes. The strings stay c's (web_start() copies what it keeps).
 */
void web_device_from_conf(struct web_device *ret, const struct farm_conf *c,
                          const struct farm_device *d);

struct web_config {
    const char *listen;      /* "ADDR:PORT" or "[V6ADDR]:PORT"; port 0 picks a free port */
    const char *store_spec;  /* as store_open(): "sqlite:PATH", PATH or "postgresql://..." */
    const char *token;       /* bearer token; NULL or "" = no access control */
    const char *farm_config; /* path of the farm config (shown on the farm page); may be NULL */
    const struct web_device *devices; /* configured devices; may be NULL */
    size_t n_devices;
    const char *baseline;     /* build that verdicts compare against; NULL = the judge's default */
    unsigned refresh_seconds; /* <meta refresh> period of HTML pages; 0 = default (60) */
};

/*
 * Open the store and start serving on cfg->listen in a background thread.
 * The strings of cfg are copied; cfg may be freed after the call.
 * Returns 0 and *ret, or a negative errno (-EINVAL bad listen address,
 * -EADDRINUSE, or the store_open() error) with a message logged.
 */
_warn_unused_result_ int web_start(const struct web_config *cfg, struct web **ret);

/* The TCP port actually bound (useful with port 0). */
unsigned web_port(const struct web *w);

/* Stop serving, close the store, free everything. Accepts NULL; returns NULL. */
struct web *web_stop(struct web *w);

#endif
