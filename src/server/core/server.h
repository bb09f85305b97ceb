/* SPDX-License-Identifier: MIT */
/*
 * server.h - `soak server`: the poll loop that wires the farm config, the
 * poller (libcurl multi), the store, event derivation, alerts and the
 * dashboard together. See docs/internals/SERVER.md.
 */
#ifndef SOAK_SERVER_H
#define SOAK_SERVER_H

#include <stdint.h>

#include "macro.h"

struct server_opts {
    const char *config_path; /* the farm config (required) */
    const char *store_spec;  /* overrides [server] store when not NULL */
    int once;                /* poll every device once (with its backfill), then exit */
    double duration;         /* > 0: stop after this many seconds (tests, benchmarks) */
};

/*
 * Run the server until SIGTERM/SIGINT (or, with once, until every device was
 * polled). SIGHUP reloads the config. Returns the exit code: 0 (with once: every
 * poll succeeded), 1 runtime failure (with once: some poll failed), 2 config or
 * usage error.
 */
int server_run(const struct server_opts *o);

/*
 * Split a configured target URL into the URL polled for /metrics and, when the
 * target can be a soakd (path "", "/" or "/metrics"), its base URL for /history
 * (NULL otherwise). Both malloc'ed. 0 or -ENOMEM/-EINVAL.
 */
_warn_unused_result_ int server_target_urls(const char *url, char **ret_metrics,
                                            char **ret_base);

#endif
