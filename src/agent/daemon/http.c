/* SPDX-License-Identifier: MIT */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "buf.h"
#include "info.h"
#include "log.h"
#include "parse.h"
#include "ring.h"
#include "sampler.h"

#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CT_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define CT_JSON "application/json"
#define CT_TEXT "text/plain; charset=utf-8"

struct http {
    struct MHD_Daemon *mhd;
    char *token;
    char *name;
    char *root;
    struct sampler *sampler;
    struct ring *ring;
    unsigned port;
    size_t last_len; /* size of the last /metrics body (one MHD thread uses it) */
};

int
http_parse_listen(const char *listen, void *out)
{
    char host[64];
    const char *colon;
    uint64_t port;
    size_t hl;

    if (!listen || !*listen)
        return -EINVAL;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (!close || close[1] != ':')
            return -EINVAL;
        hl = (size_t)(close - listen - 1);
        if (hl == 0 || hl >= sizeof(host))
            return -EINVAL;
        memcpy(host, listen + 1, hl);
        host[hl] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return -EINVAL;
        hl = (size_t)(colon - listen);
        if (hl >= sizeof(host))
            return -EINVAL;
        memcpy(host, listen, hl);
        host[hl] = '\0';
    }
    if (parse_u64(colon + 1, &port) < 0 || port > 65535)
        return -EINVAL;
    if (listen[0] == '[') {
        struct sockaddr_in6 *a6 = out;
        memset(a6, 0, sizeof(*a6));
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            return -EINVAL;
        return (int)sizeof(*a6);
    } else {
        struct sockaddr_in *a4 = out;
        memset(a4, 0, sizeof(*a4));
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        if (host[0] == '\0' || strcmp(host, "*") == 0)
            a4->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
            return -EINVAL;
        return (int)sizeof(*a4);
    }
}

static enum MHD_Result
reply_static(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text,
                                        MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CT_TEXT);
    if (status == MHD_HTTP_UNAUTHORIZED)
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Hand a malloc'ed body to libmicrohttpd. */
static enum MHD_Result
reply_owned(struct MHD_Connection *c, char *body, size_t len, const char *ctype)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Constant-time comparison of the Authorization header with "Bearer <token>". */
static int
authorized(const struct http *h, struct MHD_Connection *c)
{
    const char *auth, *tok;
    size_t n, m;
    unsigned diff;

    if (!h->token)
        return 1;
    auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return 0;
    tok = auth + 7;
    while (*tok == ' ')
        tok++;
    n = strlen(tok);
    m = strlen(h->token);
    diff = n != m;
    /* Always walk the whole expected token, whatever was sent. */
    for (size_t i = 0; i < m; i++)
        diff |= (unsigned)(unsigned char)h->token[i] ^ (unsigned)(unsigned char)(i < n ? tok[i] : 0);
    return diff == 0;
}

static enum MHD_Result
serve_metrics(struct http *h, struct MHD_Connection *c)
{
    struct buf b;
    int r;

    buf_init(&b, SAMPLER_SNAPSHOT_MAX);
    /* Allocate the body once at about its last size instead of growing it by doubling. */
    if (h->last_len && buf_reserve(&b, h->last_len + 4096) < 0)
        buf_init(&b, SAMPLER_SNAPSHOT_MAX); /* no memory now: grow on demand */
    r = sampler_snapshot(h->sampler, &b, 0);
    if (r < 0) {
        buf_free(&b);
        log_errno(r, "snapshot for /metrics");
        return reply_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "snapshot failed\n");
    }
    if (!b.data)
        return reply_owned(c, strdup(""), 0, CT_METRICS);
    h->last_len = b.len;
    return reply_owned(c, buf_take(&b), h->last_len, CT_METRICS);
}

struct history_stream {
    struct ring_query *q;
    struct buf b;
    size_t off;
    int done;
};

static ssize_t
history_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct history_stream *st = cls;
    size_t n;

    (void)pos;
    while (st->off == st->b.len) {
        int r;
        if (st->done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        buf_reset(&st->b);
        st->off = 0;
        r = ring_query_render(st->q, &st->b, HTTP_HISTORY_CHUNK);
        if (r < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (r == 0)
            st->done = 1;
    }
    n = MIN(max, st->b.len - st->off);
    memcpy(out, st->b.data + st->off, n);
    st->off += n;
    return (ssize_t)n;
}

static void
history_free(void *cls)
{
    struct history_stream *st = cls;

    (void)ring_query_free(st->q);
    buf_free(&st->b);
    free(st);
}

/* A query argument as an unsigned number; absent or empty = dflt. 0 or -EINVAL. */
static int
query_u64(struct MHD_Connection *c, const char *name, uint64_t dflt, uint64_t *ret)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);

    if (!v || !*v) {
        *ret = dflt;
        return 0;
    }
    return parse_u64(v, ret) < 0 ? -EINVAL : 0;
}

static enum MHD_Result
serve_history(struct http *h, struct MHD_Connection *c)
{
    struct history_stream *st;
    struct MHD_Response *resp;
    uint64_t since, limit;
    char num[32];
    enum MHD_Result ret;
    int r;

    if (query_u64(c, "since", 0, &since) < 0)
        return reply_static(c, MHD_HTTP_BAD_REQUEST, "since must be a record number\n");
    if (query_u64(c, "limit", RING_LIMIT_DEFAULT, &limit) < 0 || limit == 0 ||
        limit > RING_LIMIT_MAX)
        return reply_static(c, MHD_HTTP_BAD_REQUEST, "limit must be 1..1440\n");
    if (!h->ring)
        return reply_static(c, MHD_HTTP_NOT_FOUND, "history is disabled\n");
    st = calloc(1, sizeof(*st));
    if (!st)
        return reply_static(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
    buf_init(&st->b, 4 * HTTP_HISTORY_CHUNK);
    r = ring_query_new(h->ring, since, (size_t)limit, &st->q);
    if (r < 0) {
        free(st);
        return reply_static(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
    }
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HTTP_HISTORY_CHUNK, history_read,
                                             st, history_free);
    if (!resp) {
        history_free(st);
        return MHD_NO;
    }
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CT_OPENMETRICS);
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    (void)snprintf(num, sizeof(num), "%" PRIu64, ring_query_newest(st->q));
    (void)MHD_add_response_header(resp, "X-Soak-Seq-Newest", num);
    (void)snprintf(num, sizeof(num), "%" PRIu64, ring_query_oldest(st->q));
    (void)MHD_add_response_header(resp, "X-Soak-Seq-Oldest", num);
    (void)snprintf(num, sizeof(num), "%016" PRIx64, ring_query_ring_id(st->q));
    (void)MHD_add_response_header(resp, "X-Soak-Ring-Id", num);
    if (ring_query_more(st->q))
        (void)MHD_add_response_header(resp, "X-Soak-More", "1");
    ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result
serve_info(struct http *h, struct MHD_Connection *c)
{
    struct info_history hist = {0};
    struct buf b;
    char *json;
    int r;

    buf_init(&b, SAMPLER_SNAPSHOT_MAX);
    r = sampler_snapshot(h->sampler, &b, SNAPSHOT_STABLE);
    if (r < 0) {
        buf_free(&b);
        return reply_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "snapshot failed\n");
    }
    if (h->ring) {
        struct ring_stats rs;
        ring_get_stats(h->ring, &rs);
        hist = (struct info_history){rs.oldest_seq, rs.newest_seq, rs.ring_id, 1};
    }
    json = info_json(buf_str(&b), b.len, h->name, &hist);
    buf_free(&b);
    if (!json)
        return reply_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot build /info\n");
    return reply_owned(c, json, strlen(json), CT_JSON);
}

static int
has_body(struct MHD_Connection *c)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_TRANSFER_ENCODING);

    return (cl && strcmp(cl, "0") != 0) || te;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
        const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct http *h = cls;

    (void)version;
    (void)upload_data;
    if (!*con_cls) {
        /* First call: only the headers are known. Refuse a body before it is read. */
        *con_cls = h; /* marks the request as seen */
        if (has_body(c))
            return reply_static(c, MHD_HTTP_CONTENT_TOO_LARGE, "no request body accepted\n");
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return reply_static(c, MHD_HTTP_CONTENT_TOO_LARGE, "no request body accepted\n");
    }
    if (!authorized(h, c))
        return reply_static(c, MHD_HTTP_UNAUTHORIZED, "bearer token required\n");
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_static(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(h, c);
    if (strcmp(url, "/history") == 0)
        return serve_history(h, c);
    if (strcmp(url, "/info") == 0)
        return serve_info(h, c);
    return reply_static(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics, /history, /info\n");
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_debug("http: %s", msg);
}

int
http_start(const struct http_options *opt, struct http **ret)
{
    struct sockaddr_in6 addr;
    struct http *h;
    const union MHD_DaemonInfo *di;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    int alen = http_parse_listen(opt->listen, &addr);

    if (alen < 0)
        return -EINVAL;
    if (((struct sockaddr *)&addr)->sa_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->sampler = opt->sampler;
    h->ring = opt->ring;
    if ((opt->token && !(h->token = strdup(opt->token))) ||
        (opt->name && !(h->name = strdup(opt->name))) ||
        (opt->root && !(h->root = strdup(opt->root)))) {
        (void)http_stop(h);
        return -ENOMEM;
    }
    errno = 0;
    h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handler, h,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTION_LIMIT,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                              MHD_OPTION_END);
    if (!h->mhd) {
        int e = errno ? errno : EADDRINUSE;
        (void)http_stop(h);
        return -e;
    }
    di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : 0;
#ifdef TCP_DEFER_ACCEPT
    /* Wake up for a connection once its request is there (an HTTP client speaks
     * first), so accepting and answering take one pass of the event loop. */
    di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_LISTEN_FD);
    if (di) {
        int secs = HTTP_TIMEOUT;
        (void)setsockopt(di->listen_fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs));
    }
#endif
    *ret = h;
    return 0;
}

unsigned
http_port(const struct http *h)
{
    return h->port;
}

struct http *
http_stop(struct http *h)
{
    if (!h)
        return NULL;
    if (h->mhd)
        MHD_stop_daemon(h->mhd);
    free(h->token);
    free(h->name);
    free(h->root);
    free(h);
    return NULL;
}
