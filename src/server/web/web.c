/* SPDX-License-Identifier: MIT */
/*
 * web.c - the HTTP side of the dashboard: libmicrohttpd with a pool of
 * WEB_THREADS threads (a slow page does not hold up the others), a pool of store
 * connections (one per running request, never shared), access control, routing
 * to the page and API handlers, and response headers.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "log.h"
#include "web-internal.h"

#define WEB_CONN_LIMIT 64   /* concurrent connections */
#define WEB_CONN_TIMEOUT 30 /* seconds of idle before a connection is closed */
#define WEB_COOKIE "soak_token"
#define WEB_TOKEN_MAX 512
#define WEB_THREADS 4 /* requests served at once */

/*
 * Store connections for the request threads: a request takes a free one and gives
 * it back, so a connection is used by one thread at a time. Opened on first need
 * (the first one by web_start(), which checks the spec), kept until web_stop().
 */
struct web_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    char *spec;
    struct store *st[WEB_THREADS];
    bool busy[WEB_THREADS];
};

struct web {
    struct MHD_Daemon *d;
    struct web_ctx ctx; /* shared by the requests; its st is unused */
    struct web_pool pool;
    bool pool_init;
    unsigned port;
};

/* A free store connection (opened when new) as *ret and its slot, or a store_open() error. */
static int
pool_take(struct web_pool *p, struct store **ret)
{
    char err[256] = "";
    size_t i;
    int r = 0;

    (void)pthread_mutex_lock(&p->lock);
    for (;;) {
        for (i = 0; i < WEB_THREADS && p->busy[i]; i++)
            ;
        if (i < WEB_THREADS)
            break;
        (void)pthread_cond_wait(&p->freed, &p->lock);
    }
    p->busy[i] = true;
    (void)pthread_mutex_unlock(&p->lock);
    if (!p->st[i]) {
        r = store_open(p->spec, &p->st[i], err, sizeof(err));
        if (r < 0) {
            log_errno(r, "web: cannot open the store '%s': %s", p->spec ? p->spec : "", err);
            (void)pthread_mutex_lock(&p->lock);
            p->busy[i] = false;
            (void)pthread_cond_signal(&p->freed);
            (void)pthread_mutex_unlock(&p->lock);
            return r;
        }
    }
    *ret = p->st[i];
    return 0;
}

/* Give back a connection from pool_take(). */
static void
pool_give(struct web_pool *p, struct store *st)
{
    (void)pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < WEB_THREADS; i++)
        if (p->st[i] == st)
            p->busy[i] = false;
    (void)pthread_cond_signal(&p->freed);
    (void)pthread_mutex_unlock(&p->lock);
}

static void
pool_done(struct web_pool *p)
{
    for (size_t i = 0; i < WEB_THREADS; i++)
        p->st[i] = store_close(p->st[i]);
    free(p->spec);
    p->spec = NULL;
}

static void
ctx_done(struct web_ctx *c)
{
    web_judge_cache_free(c);
    free(c->token);
    free(c->farm_config);
    free(c->baseline);
    for (size_t i = 0; i < c->n_devices; i++) {
        /* the strings are our own copies (see web_start) */
        free((void *)(uintptr_t)c->devices[i].name);
        free((void *)(uintptr_t)c->devices[i].url);
        free((void *)(uintptr_t)c->devices[i].model);
    }
    free(c->devices);
    *c = (struct web_ctx){0};
}

static char *
dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

static const char *
conn_arg(void *argctx, const char *name)
{
    return MHD_lookup_connection_value(argctx, MHD_GET_ARGUMENT_KIND, name);
}

/* Bearer header, ?token= or cookie; *from_query tells the caller to set the cookie. */
static bool
authorized(const struct web_ctx *c, struct MHD_Connection *conn, bool *from_query)
{
    const char *h;
    char cookie[WEB_TOKEN_MAX];

    *from_query = false;
    if (!c->token)
        return true;
    h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h && strncasecmp(h, "Bearer ", 7) == 0 && web_token_equal(h + 7, c->token))
        return true;
    h = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
    if (h && web_token_equal(h, c->token)) {
        *from_query = true;
        return true;
    }
    h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
    if (h && web_cookie_get(h, WEB_COOKIE, cookie, sizeof(cookie)) &&
        web_token_equal(cookie, c->token))
        return true;
    return false;
}

static void
unauthorized(struct web_reply *rep, bool api)
{
    if (api) {
        web_error_json(rep, 401,
                       "missing or wrong token: send 'Authorization: Bearer TOKEN' "
                       "(or ?token=TOKEN)");
        return;
    }
    rep->status = 401;
    rep->ctype = "text/html; charset=utf-8";
    buf_reset(&rep->body);
    struct html_page p = {.title = "Token needed"};
    int r = html_page_begin(&rep->body, &p);
    if (r >= 0)
        r = buf_puts(&rep->body,
                     "<h1>401 Token needed</h1><p>This dashboard is protected by the token of "
                     "the server's configuration ([server] listen_token).</p>"
                     "<form method=\"get\" action=\"/\"><label>Token "
                     "<input type=\"password\" name=\"token\" autocomplete=\"current-password\">"
                     "</label> <button>Open</button></form>"
                     "<p class=\"muted\">The token is then kept in a cookie for this site.</p>");
    if (r >= 0)
        r = html_page_end(&rep->body);
    if (r < 0)
        web_error_json(rep, 401, "token needed");
}

static enum MHD_Result
send_reply(struct MHD_Connection *conn, struct web_reply *rep, const char *set_cookie)
{
    size_t len = rep->body.len;
    char *data = buf_take(&rep->body);
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(len, data ? data : (char *)"",
                                           data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->ctype);
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    (void)MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    (void)MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    (void)MHD_add_response_header(resp, "Content-Security-Policy",
                                  "default-src 'none'; img-src 'self' data:; "
                                  "style-src 'unsafe-inline' 'self'; form-action 'self'; "
                                  "frame-ancestors 'none'");
    if (rep->status == 401)
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                      "Bearer realm=\"soak\"");
    if (rep->status == 405)
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (set_cookie)
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, set_cookie);
    ret = MHD_queue_response(conn, rep->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
       const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct web *w = cls;
    const struct web_ctx *c = &w->ctx;
    struct web_route rt;
    struct web_reply rep = {.status = 200, .ctype = "text/html; charset=utf-8"};
    bool from_query = false;
    char cookie[WEB_TOKEN_MAX + 96];
    const char *set_cookie = NULL;
    enum MHD_Result ret;

    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    buf_init(&rep.body, WEB_BODY_MAX);
    web_route(url, &rt);
    bool api = rt.kind >= ROUTE_API_DEVICES;

    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        if (api)
            web_error_json(&rep, 405, "only GET and HEAD are served");
        else
            web_error_page(&rep, 405, "Method not allowed", "Only GET and HEAD are served.");
    } else if (!authorized(c, conn, &from_query)) {
        unauthorized(&rep, api);
    } else {
        struct web_ctx rc = *c; /* this request's view, with a connection of its own */
        struct web_req q = {.c = &rc, .rt = &rt, .arg = conn_arg, .argctx = conn};

        if (from_query && strlen(c->token) < WEB_TOKEN_MAX) {
            (void)snprintf(cookie, sizeof(cookie),
                           WEB_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict", c->token);
            set_cookie = cookie;
        }
        if (rt.kind == ROUTE_STYLE) {
            rep.ctype = "text/css; charset=utf-8";
            if (buf_puts(&rep.body, html_css()) < 0)
                web_error_page(&rep, 500, "Server error", "out of memory");
        } else if (pool_take(&w->pool, &rc.st) < 0) {
            if (api)
                web_error_json(&rep, 503, "the store is not available (see the server's log)");
            else
                web_error_page(&rep, 503, "Store not available",
                               "The store cannot be opened; see the server's log.");
        } else {
            if (api)
                web_api(&q, &rep);
            else
                web_page(&q, &rep);
            pool_give(&w->pool, rc.st);
        }
    }
    log_debug("%s %s -> %u", method, url, rep.status);
    ret = send_reply(conn, &rep, set_cookie);
    buf_free(&rep.body);
    return ret;
}

/* Free what web_start() set up (the daemon is stopped already). */
static void
web_free(struct web *w)
{
    if (w->pool_init) {
        pool_done(&w->pool);
        (void)pthread_cond_destroy(&w->pool.freed);
        (void)pthread_mutex_destroy(&w->pool.lock);
    }
    ctx_done(&w->ctx);
    free(w);
}

/* Resolve "HOST:PORT" / "[V6]:PORT" into addr. 0 or -EINVAL. */
static int
listen_addr(const char *listen, struct sockaddr_storage *addr, socklen_t *len)
{
    char host[256];
    const char *port;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;

    if (!listen || !*listen)
        return -EINVAL;
    if (listen[0] == '[') {
        const char *e = strchr(listen, ']');
        if (!e || e[1] != ':' || (size_t)(e - listen - 1) >= sizeof(host))
            return -EINVAL;
        memcpy(host, listen + 1, (size_t)(e - listen - 1));
        host[e - listen - 1] = '\0';
        port = e + 2;
    } else {
        const char *e = strrchr(listen, ':');
        if (!e || (size_t)(e - listen) >= sizeof(host))
            return -EINVAL;
        memcpy(host, listen, (size_t)(e - listen));
        host[e - listen] = '\0';
        port = e + 1;
    }
    if (!*port || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port))
        return -EINVAL;
    if (getaddrinfo(*host ? host : NULL, port, &hints, &res) != 0 || !res)
        return -EINVAL;
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_warnx("web: %s", msg);
}

int
web_start(const struct web_config *cfg, struct web **ret)
{
    struct sockaddr_storage addr;
    socklen_t alen = 0;
    char err[256] = "";
    int r;

    if (!cfg || !ret)
        return -EINVAL;
    if (listen_addr(cfg->listen, &addr, &alen) < 0) {
        log_warnx("web: bad listen address '%s' (use ADDR:PORT or [V6ADDR]:PORT)",
                  cfg->listen ? cfg->listen : "");
        return -EINVAL;
    }
    _cleanup_free_ struct web *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->ctx.refresh = cfg->refresh_seconds ? cfg->refresh_seconds : 60;
    w->ctx.token = dup_or_null(cfg->token);
    w->ctx.farm_config = dup_or_null(cfg->farm_config);
    w->ctx.baseline = dup_or_null(cfg->baseline);
    if (cfg->n_devices > 0) {
        w->ctx.devices = calloc(cfg->n_devices, sizeof(*w->ctx.devices));
        if (!w->ctx.devices) {
            ctx_done(&w->ctx);
            return -ENOMEM;
        }
        w->ctx.n_devices = cfg->n_devices;
        for (size_t i = 0; i < cfg->n_devices; i++) {
            w->ctx.devices[i].name = strdup(cfg->devices[i].name ? cfg->devices[i].name : "");
            w->ctx.devices[i].url = dup_or_null(cfg->devices[i].url);
            w->ctx.devices[i].interval = cfg->devices[i].interval;
            w->ctx.devices[i].model = dup_or_null(cfg->devices[i].model);
            w->ctx.devices[i].n_ram_sizes = MIN(cfg->devices[i].n_ram_sizes, WEB_RAM_SIZES_MAX);
            memcpy(w->ctx.devices[i].ram_sizes, cfg->devices[i].ram_sizes,
                   sizeof(cfg->devices[i].ram_sizes));
            if (!w->ctx.devices[i].name || (cfg->devices[i].model && !w->ctx.devices[i].model)) {
                ctx_done(&w->ctx);
                return -ENOMEM;
            }
        }
    }
    if ((cfg->token && *cfg->token && !w->ctx.token) ||
        (cfg->farm_config && *cfg->farm_config && !w->ctx.farm_config) ||
        web_judge_cache_new(&w->ctx) < 0) {
        ctx_done(&w->ctx);
        return -ENOMEM;
    }
    if (pthread_mutex_init(&w->pool.lock, NULL) != 0) {
        ctx_done(&w->ctx);
        return -ENOMEM;
    }
    if (pthread_cond_init(&w->pool.freed, NULL) != 0) {
        (void)pthread_mutex_destroy(&w->pool.lock);
        ctx_done(&w->ctx);
        return -ENOMEM;
    }
    w->pool_init = true;
    w->pool.spec = dup_or_null(cfg->store_spec);
    r = store_open(cfg->store_spec, &w->pool.st[0], err, sizeof(err));
    if (r < 0) {
        log_errno(r, "web: cannot open the store '%s': %s", cfg->store_spec ? cfg->store_spec : "",
                  err);
        web_free(TAKE_PTR(w));
        return r;
    }
    if (cfg->store_spec && *cfg->store_spec && !w->pool.spec) {
        web_free(TAKE_PTR(w));
        return -ENOMEM;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    w->d = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, w, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)WEB_THREADS, MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEB_CONN_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WEB_CONN_TIMEOUT, MHD_OPTION_END);
    if (!w->d) {
        log_warnx("web: cannot listen on %s (address in use or not available)", cfg->listen);
        web_free(TAKE_PTR(w));
        return -EADDRINUSE;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
    w->port = info ? info->port : 0;
    *ret = TAKE_PTR(w);
    return 0;
}

unsigned
web_port(const struct web *w)
{
    return w ? w->port : 0;
}

struct web *
web_stop(struct web *w)
{
    if (!w)
        return NULL;
    if (w->d)
        MHD_stop_daemon(w->d); /* returns when every request thread has finished */
    web_free(w);
    return NULL;
}
