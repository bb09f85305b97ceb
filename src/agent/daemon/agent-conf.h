/* SPDX-License-Identifier: MIT */
/*
 * agent-conf.h - soakd's configuration: defaults, the INI file, and the
 * per-collector sections.
 *
 * Sections and keys (contrib/soakd.conf explains each one):
 *   [agent]          name, listen, token, token_file, interval, root
 *   [history]        interval, samples, max_series, max_bytes, persist, persist_interval
 *   [collector.NAME] enabled, interval, and any key the collector's configure() accepts
 *   [sensor LABEL]   k = v is handed to the "sensors" collector as configure("LABEL.k", v)
 *
 * Every collector of the registry gets a context (ops->init) when the
 * configuration is created, so collector-specific keys are handed to
 * ops->configure() while the file is parsed and a rejected key is reported
 * with its file and line.
 */
#ifndef SOAK_AGENT_CONF_H
#define SOAK_AGENT_CONF_H

#include <stddef.h>

#include "collector.h"
#include "macro.h"

#define AGENT_DEFAULT_LISTEN "0.0.0.0:9123"
#define AGENT_DEFAULT_INTERVAL 15.0        /* seconds between collector reads */
#define HISTORY_DEFAULT_INTERVAL 60.0      /* seconds between history records */
#define HISTORY_DEFAULT_SAMPLES 1440       /* records kept: 24 h at 60 s */
#define HISTORY_DEFAULT_MAX_SERIES 4096    /* distinct series the ring can name */
#define HISTORY_DEFAULT_PERSIST_INTERVAL 300.0 /* seconds between writes of the ring file */
#define AGENT_TOKEN_MAX 256                /* bytes of a bearer token */

struct agent_collector_conf {
    const struct collector_ops *ops;
    void *ctx;        /* from ops->init; owned until handed to the sampler (set to NULL) */
    int enabled;
    double interval;  /* seconds; 0 = the collector's default, else [agent] interval */
};

struct agent_conf {
    char *name;          /* device name for /info; NULL = the host name */
    char *listen;        /* "ADDR:PORT" or "[ADDR6]:PORT" */
    char *token;         /* bearer token; NULL = no authentication */
    char *root;          /* --root prefix; NULL = "/" */
    double interval;     /* default collector interval, seconds */

    double history_interval;
    size_t history_samples;
    size_t history_max_series;
    size_t history_max_bytes;  /* byte ring size; 0 = derived from samples */
    char *persist;             /* ring file; NULL = no persistence */
    double persist_interval;

    struct agent_collector_conf *collectors;
    size_t n_collectors;
};

/*
 * Create a configuration with every default, with one entry (and one context
 * from ops->init) per collector of registry (NULL-terminated).
 * Returns 0 and *ret_conf, -ENOMEM, or the negative errno of a collector's init.
 */
_warn_unused_result_ int agent_conf_new(const struct collector_ops *const *registry,
                                        struct agent_conf **ret_conf);

/*
 * Read an INI file into conf. Returns 0, or a negative errno with a message
 * "path:line: ..." in err (errlen bytes): unknown section, key or collector,
 * bad value, unreadable file. conf may be half-updated on error (discard it).
 */
_warn_unused_result_ int agent_conf_load(struct agent_conf *conf, const char *path, char *err,
                                         size_t errlen);

/* Same as agent_conf_load() on a string in memory (tests, fuzzing). */
_warn_unused_result_ int agent_conf_load_string(struct agent_conf *conf, const char *text,
                                                char *err, size_t errlen);

/* Replace a string option (used for command-line overrides). 0 or -ENOMEM. */
_warn_unused_result_ int agent_conf_set_string(char **field, const char *value);

/* The effective interval of a collector entry, seconds. */
double agent_conf_collector_interval(const struct agent_conf *conf,
                                     const struct agent_collector_conf *c);

/* Free conf, its strings and any collector context still owned. Accepts NULL; returns NULL. */
struct agent_conf *agent_conf_free(struct agent_conf *conf);

#endif
