/* SPDX-License-Identifier: MIT */
/*
 * poller.h - HTTP requests for the server, all in ONE thread on libcurl's
 * multi interface: many polls in flight at once, none can hold up another.
 *
 * Every request has a connect timeout, a total timeout and a body cap (a body
 * past the cap aborts that transfer, so an endless body costs one poll).
 * Easy handles are pooled and reused; targets are spread over several multi
 * handles (by host:port) whose connection caches keep connections alive between
 * polls of the same target (keep-alive), all driven by one epoll set.
 * Completion callbacks run from poller_wait(), on the caller's thread; they may
 * submit new requests.
 */
#ifndef SOAK_POLLER_H
#define SOAK_POLLER_H

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct poller;

struct poller_request {
    const char *url;
    const char *token;       /* bearer token, NULL = none */
    double connect_timeout;  /* seconds (> 0) */
    double timeout;          /* seconds, whole transfer (> 0) */
    size_t max_body;         /* bytes; a longer body fails the request */
    const char *post;        /* NULL = GET; else POST this body (copied) */
    size_t post_len;
    const char *content_type;/* for POST, e.g. "application/json" */
    int fresh_dns;           /* resolve the host name again (after a failure); otherwise an
                              * address cached by an earlier request is used as it is */
    size_t size_hint;        /* expected body size (0: unknown): allocated at once */
};

struct poller_response {
    int ok;                  /* transport fine, HTTP 2xx, body within the cap */
    long status;             /* HTTP status, 0 when none was received */
    const char *error;       /* why not ok ("" when ok) */
    const char *body;        /* NUL-terminated; valid during the callback only */
    size_t len;
    double duration;         /* seconds from submission to completion */
    const char *headers;     /* raw response header lines of the final response */
};

/* Called once per submitted request, from poller_wait() (or poller_free(): ok = 0). */
typedef void (*poller_done_fn)(void *ctx, const struct poller_response *resp);

/* Create a poller. 0, -ENOMEM or -EIO (libcurl failed to initialise). */
_warn_unused_result_ int poller_new(struct poller **ret);

/* Abort every request (their callbacks run with ok = 0, "aborted"), free; accepts NULL. */
struct poller *poller_free(struct poller *p);

/* Start a request; done(ctx, ...) is called exactly once later. 0 or -ENOMEM/-EINVAL. */
_warn_unused_result_ int poller_submit(struct poller *p, const struct poller_request *req,
                                       poller_done_fn done, void *ctx);

/*
 * Drive transfers: wait up to timeout_ms for network activity (or a
 * poller_wakeup()), make progress, and run the callbacks of finished requests.
 * Returns the number of callbacks run, or -EIO on a libcurl failure.
 */
_warn_unused_result_ int poller_wait(struct poller *p, int timeout_ms);

/* Wake a poller_wait() early (safe from another thread). */
void poller_wakeup(struct poller *p);

/* Requests in flight. */
unsigned poller_active(const struct poller *p);

/*
 * Value of header name (case-insensitive) in a response's raw headers, copied
 * into out (n bytes, blanks trimmed). Length, -ENOENT or -E2BIG.
 */
_warn_unused_result_ int poller_header(const struct poller_response *resp, const char *name,
                                       char *out, size_t n);

#endif
