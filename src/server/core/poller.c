/* SPDX-License-Identifier: MIT */
#include "poller.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

#define HEADERS_MAX (16 * 1024) /* bytes of response headers kept per request */
#define POOL_MAX 4096           /* idle easy handles kept for reuse */
/*
 * Targets are spread over SHARDS multi handles (by host:port, so a target's
 * connection stays in one cache). libcurl 7.x walks the whole connection cache of
 * a multi handle at every curl_multi_remove_handle() (close_connect_only): with
 * one multi and 2,000 targets that walk cost more than the transfers themselves.
 * All shards are driven by one epoll set (libcurl's socket interface), so they
 * still run in this one thread.
 */
#define SHARDS 16
#define WAKE_TAG UINT64_MAX     /* epoll data of the wake-up eventfd */
#define EVENTS_MAX 64

struct shard {
    CURLM *multi;
    struct poller *p;
    unsigned idx;
    double timer_at;            /* when libcurl wants a timeout action; < 0: none */
};

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
    struct shard *sh;      /* the multi handle it is in */
    struct xfer *next;     /* in-flight list */
    struct xfer **pprev;
    char errbuf[CURL_ERROR_SIZE];
};

struct poller {
    struct shard sh[SHARDS];
    int epfd;
    int wakefd;            /* eventfd: poller_wakeup() from other threads */
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

/* libcurl's socket callback: keep the epoll set in step with what a transfer waits for. */
static int
on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct shard *sh = userp;
    struct epoll_event ev = {0};

    (void)e;
    if (what == CURL_POLL_REMOVE) {
        (void)epoll_ctl(sh->p->epfd, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    ev.data.u64 = (uint64_t)sh->idx << 32 | (uint32_t)fd;
    if (socketp) {
        if (epoll_ctl(sh->p->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
            return 0;
    }
    if (epoll_ctl(sh->p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 &&
        (errno != EEXIST || epoll_ctl(sh->p->epfd, EPOLL_CTL_MOD, fd, &ev) < 0))
        return -1;
    (void)curl_multi_assign(sh->multi, fd, sh);
    return 0;
}

/* libcurl's timer callback: remember when to call it back with a timeout action. */
static int
on_timer(CURLM *m, long timeout_ms, void *userp)
{
    struct shard *sh = userp;

    (void)m;
    sh->timer_at = timeout_ms < 0 ? -1.0 : mono_now() + (double)timeout_ms / 1000.0;
    return 0;
}

int
poller_new(struct poller **ret)
{
    struct poller *p;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TAG};

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -EIO;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    p->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    p->pool = calloc(POOL_MAX, sizeof(*p->pool));
    if (p->epfd < 0 || p->wakefd < 0 || !p->pool ||
        epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->wakefd, &ev) < 0) {
        (void)poller_free(p);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < SHARDS; i++) {
        struct shard *sh = &p->sh[i];
        sh->p = p;
        sh->idx = i;
        sh->timer_at = -1.0;
        sh->multi = curl_multi_init();
        if (!sh->multi) {
            (void)poller_free(p);
            return -EIO;
        }
        (void)curl_multi_setopt(sh->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        (void)curl_multi_setopt(sh->multi, CURLMOPT_SOCKETDATA, sh);
        (void)curl_multi_setopt(sh->multi, CURLMOPT_TIMERFUNCTION, on_timer);
        (void)curl_multi_setopt(sh->multi, CURLMOPT_TIMERDATA, sh);
        /* Keep connections to every target between polls (keep-alive). */
        (void)curl_multi_setopt(sh->multi, CURLMOPT_MAXCONNECTS, 10000L);
    }
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

    (void)curl_multi_remove_handle(x->sh->multi, x->easy);
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
    for (unsigned i = 0; i < SHARDS; i++)
        if (p->sh[i].multi)
            curl_multi_cleanup(p->sh[i].multi);
    if (p->epfd >= 0)
        (void)close(p->epfd);
    if (p->wakefd >= 0)
        (void)close(p->wakefd);
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

/* The shard of a URL: FNV-1a of its scheme://host:port, so a target always uses one. */
static unsigned
shard_of(const char *url)
{
    const char *p = strstr(url, "://");
    const char *end = p ? p + 3 + strcspn(p + 3, "/?#") : url + strlen(url);
    uint32_t h = 2166136261u;

    for (const char *c = url; c < end; c++) {
        h ^= (unsigned char)*c;
        h *= 16777619u;
    }
    return h % SHARDS;
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
    if (req->size_hint > 0 && req->size_hint < req->max_body)
        if (buf_reserve(&x->body, req->size_hint + req->size_hint / 8 + 1) < 0)
            buf_reset(&x->body); /* no memory now: it grows as the body comes */
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
    x->sh = &p->sh[shard_of(req->url)];
    if (curl_multi_add_handle(x->sh->multi, e) != CURLM_OK) {
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
    int n = 0;

    for (unsigned i = 0; i < SHARDS; i++) {
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(p->sh[i].multi, &left))) {
            struct xfer *x = NULL;

            if (m->msg != CURLMSG_DONE)
                continue;
            (void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            if (!x)
                continue;
            finish(p, x, m->data.result);
            n++;
        }
    }
    return n;
}

/* Timeout actions that are due; the soonest one still pending in *ret_next (< 0: none). */
static int
run_timers(struct poller *p, double *ret_next)
{
    double next = -1.0;
    int running;

    for (unsigned i = 0; i < SHARDS; i++) {
        struct shard *sh = &p->sh[i];
        if (sh->timer_at >= 0 && sh->timer_at <= mono_now()) {
            sh->timer_at = -1.0;
            if (curl_multi_socket_action(sh->multi, CURL_SOCKET_TIMEOUT, 0, &running) !=
                CURLM_OK)
                return -EIO;
        }
        if (sh->timer_at >= 0 && (next < 0 || sh->timer_at < next))
            next = sh->timer_at;
    }
    *ret_next = next;
    return 0;
}

int
poller_wait(struct poller *p, int timeout_ms)
{
    struct epoll_event ev[EVENTS_MAX];
    double next;
    int n, nev, running;

    if (run_timers(p, &next) < 0)
        return -EIO;
    n = reap(p);
    if (n > 0)
        timeout_ms = 0; /* callbacks may have new work for the caller: return soon */
    if (next >= 0) {
        double ms = (next - mono_now()) * 1000.0;
        int t = ms <= 0 ? 0 : (int)(ms + 0.999);
        if (t < timeout_ms)
            timeout_ms = t;
    }
    nev = epoll_wait(p->epfd, ev, EVENTS_MAX, timeout_ms);
    if (nev < 0 && errno != EINTR)
        return -EIO;
    for (int i = 0; i < nev; i++) {
        struct shard *sh;
        int flags = 0;
        if (ev[i].data.u64 == WAKE_TAG) {
            uint64_t v;
            (void)!read(p->wakefd, &v, sizeof(v));
            continue;
        }
        sh = &p->sh[(ev[i].data.u64 >> 32) % SHARDS];
        if (ev[i].events & (EPOLLIN | EPOLLHUP))
            flags |= CURL_CSELECT_IN;
        if (ev[i].events & EPOLLOUT)
            flags |= CURL_CSELECT_OUT;
        if (ev[i].events & EPOLLERR)
            flags |= CURL_CSELECT_ERR;
        if (curl_multi_socket_action(sh->multi, (curl_socket_t)(uint32_t)ev[i].data.u64, flags,
                                     &running) != CURLM_OK)
            return -EIO;
    }
    if (run_timers(p, &next) < 0)
        return -EIO;
    return n + reap(p);
}

void
poller_wakeup(struct poller *p)
{
    uint64_t one = 1;

    (void)!write(p->wakefd, &one, sizeof(one));
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
