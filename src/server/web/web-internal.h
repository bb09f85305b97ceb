/* SPDX-License-Identifier: MIT */
/*
 * web-internal.h - what the files of src/server/web share: HTML helpers
 * (web-html.c), request parsing (web-query.c), the data gathered from the store
 * for pages and API alike (web-data.c), and the page and API renderers.
 * Not a public interface: only web.c and the unit tests include it.
 */
#ifndef SOAK_WEB_INTERNAL_H
#define SOAK_WEB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "macro.h"
#include "store.h"
#include "web.h"

#define WEB_BODY_MAX (16u << 20)        /* largest page or JSON reply we build, bytes */
#define WEB_NAME_MAX 128                /* longest device or build name accepted in a URL */
#define WEB_RANGE_MAX_S (400.0 * 86400) /* longest time range accepted */
#define WEB_SERIES_POINTS_MAX 20000     /* most points one API series may return */
#define WEB_DEFAULT_RANGE "7d"          /* web_range_parse() default span */

/* ---- web-html.c: escaping, formatting, page chrome ---- */

/* Append s with & < > " ' replaced by entities (NULL appends nothing). 0 or buf error. */
_warn_unused_result_ int html_escape(struct buf *b, const char *s);
/* Percent-encode s for a URL path segment or query value (RFC 3986 unreserved kept). */
_warn_unused_result_ int url_escape(struct buf *b, const char *s);

/* "4d 12h", "3h 05m", "12m 30s", "42s"; "-" for NaN or negative. */
void fmt_duration(char out[32], double seconds);
/* "229.6 MiB", "1.0 GiB", "512 B"; "-" for NaN. */
void fmt_bytes(char out[32], double bytes);
/* "2025-11-26 14:03 UTC"; "-" for t_ms <= 0. */
void fmt_time(char out[32], int64_t t_ms);
/* Value with up to 4 significant digits ("0.0123", "21.5", "1.23e+06"); "-" for NaN. */
void fmt_value(char out[32], double v);

/* Options of the page chrome. */
struct html_page {
    const char *title;           /* escaped by html_page_begin() */
    unsigned refresh;            /* <meta http-equiv=refresh> seconds; 0 = none */
    const char *refresh_off_url; /* link that turns refresh off (already a URL); may be NULL */
    const char *refresh_on_url;  /* link that turns it on when off; may be NULL */
};

/* <!doctype html>..<body><header> with viewport meta, CSS and navigation. */
_warn_unused_result_ int html_page_begin(struct buf *b, const struct html_page *p);
/* </main><footer>..</html>. */
_warn_unused_result_ int html_page_end(struct buf *b);
/* <span class="badge CLS">LABEL</span>; the label is text, so readable without colour. */
_warn_unused_result_ int html_badge(struct buf *b, const char *cls, const char *label);

/*
 * An inline SVG sparkline of s (sorted by time) over [from_ms, to_ms], w x h pixels,
 * scaled to [ymin, ymax] (NaN: the data's own range). title becomes the SVG <title>.
 * An empty series draws an empty frame with "no data".
 */
_warn_unused_result_ int html_sparkline(struct buf *b, const struct sample *s, size_t n,
                                        int64_t from_ms, int64_t to_ms, double ymin, double ymax,
                                        unsigned w, unsigned h, const char *title);

/*
 * Reduce s (sorted by time) to at most 2 * buckets points over [from_ms, to_ms]:
 * each bucket keeps its minimum and maximum in time order, so spikes survive.
 * out must hold 2 * buckets samples. Returns the number written.
 */
size_t samples_minmax(const struct sample *s, size_t n, int64_t from_ms, int64_t to_ms,
                      size_t buckets, struct sample *out);

/* ---- web-query.c: request parsing ---- */

/* The time range of a request. */
struct web_range {
    int64_t from_ms;
    int64_t to_ms;
    char range[16];   /* the ?range= given ("" when from/to or the default were used) */
    bool explicit_to; /* to came from the request (not the anchor) */
};

/*
 * A point in time: unix seconds ("1764165780", "1764165780.5"), or UTC date and
 * time "YYYY-MM-DD", "YYYY-MM-DDTHH:MM", "YYYY-MM-DDTHH:MM:SS" with an optional
 * trailing "Z" (what <input type=datetime-local> sends). 0 or -EINVAL.
 */
_warn_unused_result_ int web_time_parse(const char *s, int64_t *ret_ms);

/*
 * A duration for ?range=: "6h", "1d", "7d", "30d", any "N{s,m,h,d,w}" up to 400 days.
 * 0 or -EINVAL.
 */
_warn_unused_result_ int web_duration_parse(const char *s, int64_t *ret_ms);

/*
 * Resolve ?range=, ?from=, ?to= (each may be NULL) into a range. Rules: from and
 * to both given: that window; to alone or nothing: ends at to (default anchor_ms)
 * and spans range (default 7d); from alone: from .. from + range. from >= to, an
 * unparseable value or a span over 400 days is -EINVAL with a message in err.
 */
_warn_unused_result_ int web_range_parse(const char *range, const char *from, const char *to,
                                         int64_t anchor_ms, struct web_range *ret, char *err,
                                         size_t errlen);

/* A device or build name from a URL: 1..WEB_NAME_MAX bytes, no '/', no control bytes. */
bool web_name_valid(const char *s);
/* A metric name: [a-zA-Z_:][a-zA-Z0-9_:]*, at most 200 bytes. */
bool web_metric_valid(const char *s);

enum web_route_kind {
    ROUTE_NOT_FOUND,
    ROUTE_FARM,          /* / */
    ROUTE_DEVICE,        /* /device/NAME */
    ROUTE_PLOT,          /* /device/NAME/plot/PANEL.EXT */
    ROUTE_BUILD,         /* /build/NAME */
    ROUTE_BUILDS,        /* /builds */
    ROUTE_STYLE,         /* /style.css */
    /* every kind from here on is JSON (web.c) */
    ROUTE_API_DEVICES,   /* /api/v1/devices */
    ROUTE_API_DEVICE,    /* /api/v1/devices/NAME */
    ROUTE_API_SERIES,    /* /api/v1/devices/NAME/series */
    ROUTE_API_EVENTS,    /* /api/v1/devices/NAME/events */
    ROUTE_API_LEAK,      /* /api/v1/devices/NAME/leak */
    ROUTE_API_VERDICT,   /* /api/v1/builds/NAME/verdict */
    ROUTE_API_BUILDS,    /* /api/v1/builds */
    ROUTE_API_ALERTS,    /* /api/v1/alerts */
    ROUTE_API_NOT_FOUND, /* anything else under /api/ */
};

struct web_route {
    enum web_route_kind kind;
    char name[WEB_NAME_MAX + 1]; /* device or build */
    char panel[16];              /* ROUTE_PLOT: memory, slab, sensors, latency */
    char ext[8];                 /* ROUTE_PLOT: svg or png */
};

/*
 * Map a decoded URL path to a route. Names that fail web_name_valid() and
 * unknown panels give ROUTE_NOT_FOUND (ROUTE_API_NOT_FOUND under /api/).
 */
void web_route(const char *path, struct web_route *ret);

/* Constant-time comparison of a presented token with the configured one. */
bool web_token_equal(const char *given, const char *want);

/* Value of cookie name in a Cookie: header, copied into out (outlen bytes). true if found. */
bool web_cookie_get(const char *header, const char *name, char *out, size_t outlen);

/* ---- web-data.c: what pages and API show, read from the store ---- */

enum web_reach {
    REACH_UNKNOWN, /* no poll recorded (e.g. an imported history) */
    REACH_UP,
    REACH_DOWN,
    REACH_STALE, /* the newest poll succeeded but is older than 3 intervals (poller stopped?) */
};

/* One device as the farm page and /api/v1/devices see it. */
struct web_dev {
    char *name;
    int64_t id; /* store id; -1 when configured but not in the store yet */
    char *url;  /* from the farm config; may be NULL */
    int64_t first_ms, last_ms;
    char *build;  /* soak_build_info{build} of the newest sample; may be NULL */
    char *kernel; /* its kernel_release label; may be NULL */
    enum web_reach reach;
    int64_t last_poll_ms;            /* newest soak_poll_up sample, 0 if none */
    double uptime_s;                 /* NaN when unknown */
    double latency_s;                /* newest soak_poll_duration_seconds; NaN when unknown */
    double mem_total, mem_avail;     /* bytes; NaN when unknown */
    struct sample_array spark;       /* MemAvailable over the range, min/max reduced */
    size_t n_alerts;                 /* open alerts */
    char **alerts;                   /* their names, NULL-terminated (may be NULL when none) */
    size_t n_oom, n_panic, n_reboot; /* events in the range */
    char *deploy_failed;             /* build of the newest deploy in the range when it failed */
    /* analysis, filled by web_dev_judge() */
    int leak;              /* -1 unknown, 0 no leak in the newest boot, 1 leak */
    double leak_rate;      /* bytes per day, NaN when unknown */
    int64_t exhaustion_ms; /* projected exhaustion, 0 if none */
    char *leak_signal;     /* which signal showed it; may be NULL */
    int verdict;           /* -1 none, 0 pass, 1 fail, 2 not enough data */
    char *verdict_build;   /* the build judged; may be NULL */
};

/* The whole farm for one request. */
struct web_farm {
    struct web_dev *devs;
    size_t n;
    int64_t anchor_ms; /* newest sample over every device (or now when none) */
};

struct web_judge_cache;

/*
 * What a handler sees of the server. web.c keeps one (its st unused) and gives
 * each request a copy whose st is a store connection that no other thread uses
 * during the request; everything else is only read, except the badge cache,
 * which has its own lock.
 */
struct web_ctx {
    struct store *st;           /* the request's own connection */
    char *token;                /* NULL = open */
    char *farm_config;          /* may be NULL */
    char *baseline;             /* may be NULL */
    struct web_device *devices; /* configured devices (strings owned) */
    size_t n_devices;
    unsigned refresh;              /* seconds */
    struct web_judge_cache *judge; /* badge cache of web-judge.c; NULL: no caching */
};

/* One request as the handlers see it (HTTP-free, so unit tests can drive them). */
struct web_req {
    struct web_ctx *c;
    const struct web_route *rt;
    const char *(*arg)(void *argctx, const char *name); /* query argument or NULL */
    void *argctx;
};

/* What a handler answers; web.c turns it into an HTTP response. */
struct web_reply {
    unsigned status;   /* 200, 400, 404, 500 ... */
    const char *ctype; /* static string */
    struct buf body;   /* capped at WEB_BODY_MAX */
};

/* Query argument of a request, NULL when absent. */
static inline const char *
web_arg(const struct web_req *q, const char *name)
{
    return q->arg ? q->arg(q->argctx, name) : NULL;
}

/* ---- web-api.c and web-pages.c: the handlers; each fills rep (body, status, type) ---- */

/* Any /api/v1 route (and ROUTE_API_NOT_FOUND): JSON, 400 with {"error": ...} on bad input. */
void web_api(const struct web_req *q, struct web_reply *rep);
/* The HTML pages and the plots. */
void web_page(const struct web_req *q, struct web_reply *rep);
/* A chart of the route's device and panel over rg, rendered by plotdev (web-plot.c). */
void web_plot(const struct web_req *q, const struct web_range *rg, struct web_reply *rep);
/* A complete HTML error page with status code and message (escaped). */
void web_error_page(struct web_reply *rep, unsigned status, const char *title, const char *msg);
/* A JSON error {"error": msg, "status": code}. */
void web_error_json(struct web_reply *rep, unsigned status, const char *msg);
/* The stylesheet served at /style.css (also inlined in every page). */
const char *html_css(void);

/* Newest sample time over the farm, or now when the store is empty. */
int64_t web_anchor_ms(struct web_ctx *c);

/* Fill the farm (every store device plus configured ones), sorted problems first. */
_warn_unused_result_ int web_farm_load(struct web_ctx *c, const struct web_range *r,
                                       struct web_farm *ret);
void web_farm_free(struct web_farm *f);

/* Load one device; -ENOENT when neither stored nor configured. */
_warn_unused_result_ int web_dev_load(struct web_ctx *c, const char *name,
                                      const struct web_range *r, struct web_dev *ret);
void web_dev_free(struct web_dev *d);

/* Problem score used to sort (higher first): down, leak, fail, alerts, ooms. */
int web_dev_score(const struct web_dev *d);

/* The label value of key ("name{a=\"x\"}") or NULL; caller frees. */
char *web_key_label(const char *key, const char *label);

/* Device summary as JSON (the object of /api/v1/devices). */
json_t *web_dev_json(const struct web_dev *d);

/*
 * Fill leak and verdict of a loaded device from the analysis of its data up to
 * at_ms (web-judge.c; cached in c->judge per device: the leak badge for 5 minutes
 * of data time, the verdict for 30 minutes or until the build changes). 0 or error.
 */
_warn_unused_result_ int web_dev_judge(struct web_ctx *c, struct web_dev *d, int64_t at_ms);
/* Create c->judge, the badge cache (thread-safe). 0 or -ENOMEM. */
_warn_unused_result_ int web_judge_cache_new(struct web_ctx *c);
/* Drop the badge cache (c->judge may be NULL). No request may be running. */
void web_judge_cache_free(struct web_ctx *c);

/* One event as JSON {time, kind, subject, detail, value}. */
json_t *web_event_json(const struct store_event *e);

/*
 * The leak analysis of a loaded device using data up to at_ms, as the JSON of
 * `soak leak --json` (*ret). 0 or error.
 */
_warn_unused_result_ int web_leak_json(struct web_ctx *c, const struct web_dev *d, int64_t at_ms,
                                       json_t **ret);
/*
 * The verdict of build on every device that ran it, against baseline (NULL: the
 * judge's default), as {"build", "baseline", "devices": [{device, result, exit, reasons}]}.
 * -ENOENT when no device ran it.
 */
_warn_unused_result_ int web_verdict_json(struct web_ctx *c, const char *build,
                                          const char *baseline, json_t **ret);

/*
 * Every build every stored device ran (or had deployed: soak deploy events), side by
 * side: {"builds": [{"build", "first"}] (oldest first), "devices": [{"device", "builds":
 * [{...the verdict JSON of soak verdict --json..., "first", "last", "boots"}]}]}, each
 * build judged against the device's baseline as web_verdict_json() does. 0 or error.
 */
_warn_unused_result_ int web_builds_json(struct web_ctx *c, json_t **ret);

/* Wall clock in ms. */
int64_t web_now_ms(void);
/* The configured device called name, or NULL. */
const struct web_device *web_configured(const struct web_ctx *c, const char *name);
/*
 * Newest sample of one series at or before last_ms. 0, -ENOENT (no sample) or a store error.
 */
_warn_unused_result_ int web_latest(struct store *st, int64_t dev, const char *key, int64_t last_ms,
                                    int64_t *ret_t, double *ret_v);
/* Among the series of metric, the one with the newest sample (its key is strdup'ed). */
_warn_unused_result_ int web_latest_key(struct store *st, int64_t dev, const char *metric,
                                        int64_t last_ms, char **ret_key, int64_t *ret_t,
                                        double *ret_v);
/* "up", "down", "unknown". */
const char *web_reach_name(enum web_reach r);
/* "pass", "fail", "not enough data" for 0, 1, 2 (as soak verdict --json); NULL otherwise. */
const char *web_verdict_name(int v);
/* JSON helpers: a number (null when not finite), a time in unix seconds (null when <= 0),
 * a string (null when NULL). */
json_t *web_num(double v);
json_t *web_time_json(int64_t t_ms);
json_t *web_str(const char *s);

#endif
