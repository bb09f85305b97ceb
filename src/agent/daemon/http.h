/* SPDX-License-Identifier: MIT */
/*
 * http.h - soakd's HTTP side (libmicrohttpd, one internal polling thread).
 *
 *   GET /metrics            Prometheus text 0.0.4 of the latest snapshot
 *   GET /history?since=SEQ[&limit=N]
 *                           OpenMetrics text of the ring's records newer than SEQ,
 *                           with X-Soak-Seq-Newest, X-Soak-Seq-Oldest, X-Soak-Ring-Id
 *                           and X-Soak-More headers (docs/internals/AGENT.md)
 *   GET /info               JSON identity of the device and the ring
 *
 * HEAD works wherever GET does. With a token, every request needs
 * "Authorization: Bearer <token>" (401 otherwise). Other methods get 405,
 * unknown paths 404, bad query values 400, any request body 413; URIs and
 * headers beyond the connection memory limit are refused by libmicrohttpd.
 * Nothing here changes the board.
 */
#ifndef SOAK_HTTP_H
#define SOAK_HTTP_H

#include "macro.h"

struct ring;
struct sampler;
struct http;

#define HTTP_CONNECTION_LIMIT 16          /* simultaneous connections */
#define HTTP_CONNECTION_MEMORY (32 * 1024) /* bytes per connection: request line + headers */
#define HTTP_TIMEOUT 15                   /* seconds of silence before a connection is closed */
#define HTTP_HISTORY_CHUNK (16 * 1024)    /* bytes of /history rendered at a time */

struct http_options {
    const char *listen;  /* "ADDR:PORT" or "[ADDR6]:PORT"; port 0 picks a free one */
    const char *token;   /* NULL = no authentication */
    const char *name;    /* device name for /info */
    const char *root;    /* --root, for /info's fallbacks */
    struct sampler *sampler;
    struct ring *ring;   /* may be NULL */
};

/*
 * Parse "ADDR:PORT" / "[ADDR6]:PORT" / ":PORT" (all IPv4 addresses) into a
 * socket address (out must hold a struct sockaddr_in6). Returns its length,
 * or -EINVAL.
 */
_warn_unused_result_ int http_parse_listen(const char *listen, void *out);

/*
 * Start serving. The option strings are copied; sampler and ring must outlive
 * the server. Returns 0 and *ret, -EINVAL for a bad address, -EADDRINUSE or
 * another negative errno when the socket cannot be bound.
 */
_warn_unused_result_ int http_start(const struct http_options *opt, struct http **ret);

/* The port actually bound (useful with port 0). */
unsigned http_port(const struct http *h);

/* Stop serving and free. Accepts NULL; returns NULL. */
struct http *http_stop(struct http *h);

#endif
