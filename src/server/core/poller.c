/* SPDX-License-Identifier: MIT */
#include "poller.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"

#define HEADERS_MAX (16 * 1024) /* bytes of response headers kept per request */
#define POOL_MAX 4096           /* idle easy handles kept for reuse */

struct xfer {
    CURL *easy;
    struct buf body;
    struct buf headers;
    size_t max_body;
    int too_big;
    char *post;
    struct curl_slist *hdrs;
    double t0;
    poller_done_fn done;
    void *ctx;
    struct xfer *next;     /* in-flight list */
    struct xfer **pprev;
    char errbuf[CURL_ERROR_SIZE];
};

struct poller {
    CURLM *multi;
    struct xfer *active;   /* doubly linked through pprev */
    unsigned n_active;
    CURL **pool;
    size_t n_pool;
};

static double
mono_now(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
poller_new(struct poller **ret)
{
    struct poller *p;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -EIO;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->multi = curl_multi_init();
    if (!p->multi) {
        free(p);
        return -EIO;
    }
    p->pool = calloc(POOL_MAX, sizeof(*p->pool));
    if (!p->pool) {
        curl_multi_cleanup(p->multi);
        free(p);
        return -ENOMEM;
    }
    /* Keep connections to every target between polls (keep-alive). */
    (void)curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, 10000L);
    *ret = p;
    return 0;
}

static void
xfer_free(struct poller *p, struct xfer *x)
{
    if (x->easy) {
        if (p && p->n_pool < POOL_MAX) {
            curl_easy_reset(x->easy);
            p->pool[p->n_pool++] = x->easy;
        } else {
            curl_easy_cleanup(x->easy);
        }
    }
    curl_slist_free_all(x->hdrs);
    buf_free(&x->body);
    buf_free(&x->headers);
    free(x->post);
    free(x);
}

static void
finish(struct poller *p, struct xfer *x, CURLcode code)
{
    struct poller_response resp = {0};
    char err[CURL_ERROR_SIZE + 64];
    long status = 0;

    (void)curl_multi_remove_handle(p->multi, x->easy);
    *x->pprev = x->next;
    if (x->next)
        x->next->pprev = x->pprev;
    p->n_active--;

    (void)curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    resp.status = status;
    resp.duration = mono_now() - x->t0;
    resp.body = buf_str(&x->body);
    resp.len = x->body.len;
    resp.headers = buf_str(&x->headers);
    err[0] = '\0';
    if (x->too_big) {
        (void)snprintf(err, sizeof(err), "body larger than %zu bytes", x->max_body);
    } else if (code != CURLE_OK) {
        (void)snprintf(err, sizeof(err), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(code));
    } else if (status < 200 || status > 299) {
        (void)snprintf(err, sizeof(err), "HTTP %ld", status);
    } else {
        resp.ok = 1;
    }
    resp.error = err;
    x->done(x->ctx, &resp);
    xfer_free(p, x);
}

struct poller *
poller_free(struct poller *p)
{
    if (!p)
        return NULL;
    while (p->active)
        finish(p, p->active, CURLE_ABORTED_BY_CALLBACK);
    for (size_t i = 0; i < p->n_pool; i++)
        curl_easy_cleanup(p->pool[i]);
    free(p->pool);
    curl_multi_cleanup(p->multi);
    free(p);
    return NULL;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *user)
{
    struct xfer *x = user;
    size_t n = size * nmemb;

    if (buf_append(&x->body, data, n) < 0) {
        x->too_big = 1;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    return n;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *user)
{
    struct xfer *x = user;
    size_t n = size * nmemb;

    /* A new status line (redirect, 100-continue) starts the final response's headers over. */
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
        buf_reset(&x->headers);
    if (buf_append(&x->headers, data, n) < 0)
        return n; /* past the cap: later headers are dropped, the transfer goes on */
    return n;
}

int
poller_submit(struct poller *p, const struct poller_request *req, poller_done_fn done, void *ctx)
{
    struct xfer *x;
    CURL *e;

    if (!req->url || req->timeout <= 0 || req->connect_timeout <= 0 || req->max_body == 0)
        return -EINVAL;
    x = calloc(1, sizeof(*x));
    if (!x)
        return -ENOMEM;
    buf_init(&x->body, req->max_body);
    buf_init(&x->headers, HEADERS_MAX);
    x->max_body = req->max_body;
    x->done = done;
    x->ctx = ctx;
    x->easy = p->n_pool ? p->pool[--p->n_pool] : curl_easy_init();
    if (!x->easy) {
        xfer_free(NULL, x);
        return -ENOMEM;
    }
    e = x->easy;
    if (req->token) {
        char *h = NULL;
        if (asprintf(&h, "Authorization: Bearer %s", req->token) < 0) {
            xfer_free(p, x);
            return -ENOMEM;
        }
        x->hdrs = curl_slist_append(x->hdrs, h);
        free(h);
    }
    if (req->post) {
        char *h = NULL;
        x->post = malloc(req->post_len + 1);
        if (!x->post || asprintf(&h, "Content-Type: %s",
                                 req->content_type ? req->content_type : "text/plain") < 0) {
            xfer_free(p, x);
            return -ENOMEM;
        }
        memcpy(x->post, req->post, req->post_len);
        x->post[req->post_len] = '\0';
        x->hdrs = curl_slist_append(x->hdrs, h);
        free(h);
        (void)curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->post);
        (void)curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->post_len);
    }
    (void)curl_easy_setopt(e, CURLOPT_URL, req->url);
    (void)curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    (void)curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(req->connect_timeout * 1000));
    (void)curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(req->timeout * 1000));
    (void)curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->max_body);
    (void)curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    /*
     * DNS: libcurl 7.x prunes its host cache (one entry per host:port, so one per target)
     * at the end of every transfer that has a cache timeout: at 2,000 targets that walk
     * was half of the poll loop's CPU. Cached addresses never expire here instead; a
     * request after a failure (fresh_dns) drops its host's entry if older than a minute.
     */
    (void)curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, req->fresh_dns ? 60L : -1L);
    (void)curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    (void)curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    (void)curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    (void)curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    (void)curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    (void)curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    (void)curl_easy_setopt(e, CURLOPT_USERAGENT, "soak-server");
    if (x->hdrs)
        (void)curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    x->t0 = mono_now();
    if (curl_multi_add_handle(p->multi, e) != CURLM_OK) {
        xfer_free(p, x);
        return -ENOMEM;
    }
    x->next = p->active;
    if (x->next)
        x->next->pprev = &x->next;
    x->pprev = &p->active;
    p->active = x;
    p->n_active++;
    return 0;
}

static int
reap(struct poller *p)
{
    CURLMsg *m;
    int left, n = 0;

    while ((m = curl_multi_info_read(p->multi, &left))) {
        struct xfer *x = NULL;

        if (m->msg != CURLMSG_DONE)
            continue;
        (void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (!x)
            continue;
        finish(p, x, m->data.result);
        n++;
    }
    return n;
}

int
poller_wait(struct poller *p, int timeout_ms)
{
    int running = 0, nfds = 0, n;

    if (curl_multi_perform(p->multi, &running) != CURLM_OK)
        return -EIO;
    n = reap(p);
    if (n > 0)
        timeout_ms = 0; /* callbacks may have new work for the caller: return soon */
    if (curl_multi_poll(p->multi, NULL, 0, timeout_ms, &nfds) != CURLM_OK)
        return -EIO;
    if (curl_multi_perform(p->multi, &running) != CURLM_OK)
        return -EIO;
    return n + reap(p);
}

void
poller_wakeup(struct poller *p)
{
    (void)curl_multi_wakeup(p->multi);
}

unsigned
poller_active(const struct poller *p)
{
    return p->n_active;
}

int
poller_header(const struct poller_response *resp, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);

    for (const char *l = resp->headers; l && *l;) {
        const char *eol = strchr(l, '\n');
        size_t len = eol ? (size_t)(eol - l) : strlen(l);

        if (len > nl && l[nl] == ':' && strncasecmp(l, name, nl) == 0) {
            const char *v = l + nl + 1;
            const char *end = l + len;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
            if ((size_t)(end - v) + 1 > n)
                return -E2BIG;
            memcpy(out, v, (size_t)(end - v));
            out[end - v] = '\0';
            return (int)(end - v);
        }
        if (!eol)
            break;
        l = eol + 1;
    }
    return -ENOENT;
}
