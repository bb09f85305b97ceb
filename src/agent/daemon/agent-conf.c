/* SPDX-License-Identifier: MIT */
#include "agent-conf.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "rootfs.h"

#define COLLECTOR_SECTION "collector."
#define SENSOR_SECTION "sensor "     /* [sensor LABEL]: options of the sensors collector */
#define SENSOR_KEY_MAX 256
#define INTERVAL_MIN 0.05          /* shortest interval accepted, seconds */
#define INTERVAL_MAX (7 * 86400.0) /* longest interval accepted, seconds */
#define SAMPLES_MAX 1000000        /* history records */
#define SERIES_MAX 1000000         /* history series */
#define RING_BYTES_MAX (1024ULL * 1024 * 1024)

struct load_state {
    struct agent_conf *conf;
    char detail[160]; /* why a key was rejected, beyond "bad value" */
    int line;         /* the line the handler saw last: the rejected one */
};

int
agent_conf_set_string(char **field, const char *value)
{
    char *s = strdup(value);

    if (!s)
        return -ENOMEM;
    free(*field);
    *field = s;
    return 0;
}

int
agent_conf_new(const struct collector_ops *const *registry, struct agent_conf **ret_conf)
{
    struct agent_conf *c = calloc(1, sizeof(*c));
    size_t n = 0;
    int r;

    if (!c)
        return -ENOMEM;
    c->interval = AGENT_DEFAULT_INTERVAL;
    c->history_interval = HISTORY_DEFAULT_INTERVAL;
    c->history_samples = HISTORY_DEFAULT_SAMPLES;
    c->history_max_series = HISTORY_DEFAULT_MAX_SERIES;
    c->persist_interval = HISTORY_DEFAULT_PERSIST_INTERVAL;
    r = agent_conf_set_string(&c->listen, AGENT_DEFAULT_LISTEN);
    if (r < 0)
        goto fail;
    while (registry && registry[n])
        n++;
    if (n) {
        c->collectors = calloc(n, sizeof(*c->collectors));
        if (!c->collectors) {
            r = -ENOMEM;
            goto fail;
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct agent_collector_conf *cc = &c->collectors[i];

        cc->ops = registry[i];
        cc->enabled = !(cc->ops->flags & COLLECTOR_DEFAULT_OFF);
        c->n_collectors = i + 1;
        if (cc->ops->init) {
            r = cc->ops->init(&cc->ctx);
            if (r < 0)
                goto fail;
        }
    }
    *ret_conf = c;
    return 0;
fail:
    (void)agent_conf_free(c);
    return r;
}

struct agent_conf *
agent_conf_free(struct agent_conf *conf)
{
    if (!conf)
        return NULL;
    for (size_t i = 0; i < conf->n_collectors; i++) {
        struct agent_collector_conf *cc = &conf->collectors[i];
        if (cc->ctx && cc->ops->fini)
            cc->ops->fini(cc->ctx);
    }
    free(conf->collectors);
    free(conf->name);
    free(conf->listen);
    free(conf->token);
    free(conf->root);
    free(conf->persist);
    free(conf);
    return NULL;
}

double
agent_conf_collector_interval(const struct agent_conf *conf, const struct agent_collector_conf *c)
{
    if (c->interval > 0)
        return c->interval;
    if (c->ops->interval > 0)
        return c->ops->interval;
    return conf->interval;
}

static int
get_interval(const char *value, double *ret)
{
    double d;

    if (conf_duration(value, &d) < 0 || d < INTERVAL_MIN || d > INTERVAL_MAX)
        return -EINVAL;
    *ret = d;
    return 0;
}

static int
get_count(const char *value, size_t min, size_t max, size_t *ret)
{
    uint64_t v;

    if (conf_uint(value, &v) < 0 || v < min || v > max)
        return -EINVAL;
    *ret = (size_t)v;
    return 0;
}

/* Read the token from a file: first line, trailing blanks dropped. */
static int
load_token_file(struct load_state *st, const char *path)
{
    char tok[AGENT_TOKEN_MAX + 2];
    ssize_t n = root_read_line(NULL, path, tok, sizeof(tok));

    if (n < 0) {
        (void)snprintf(st->detail, sizeof(st->detail), "cannot read token file %s: %s", path,
                       strerror((int)-n));
        return (int)n;
    }
    if (n == 0 || (size_t)n > AGENT_TOKEN_MAX) {
        (void)snprintf(st->detail, sizeof(st->detail), "token in %s is empty or longer than %d",
                       path, AGENT_TOKEN_MAX);
        return -EINVAL;
    }
    return agent_conf_set_string(&st->conf->token, tok);
}

static int
handle_agent(struct load_state *st, const char *key, const char *value)
{
    struct agent_conf *c = st->conf;

    if (strcmp(key, "name") == 0)
        return agent_conf_set_string(&c->name, value);
    if (strcmp(key, "listen") == 0)
        return agent_conf_set_string(&c->listen, value);
    if (strcmp(key, "root") == 0)
        return agent_conf_set_string(&c->root, value);
    if (strcmp(key, "interval") == 0)
        return get_interval(value, &c->interval);
    if (strcmp(key, "token") == 0) {
        if (value[0] == '\0' || strlen(value) > AGENT_TOKEN_MAX)
            return -EINVAL;
        return agent_conf_set_string(&c->token, value);
    }
    if (strcmp(key, "token_file") == 0)
        return load_token_file(st, value);
    return -ENOENT;
}

static int
handle_history(struct load_state *st, const char *key, const char *value)
{
    struct agent_conf *c = st->conf;
    uint64_t bytes;

    if (strcmp(key, "interval") == 0)
        return get_interval(value, &c->history_interval);
    if (strcmp(key, "samples") == 0)
        return get_count(value, 2, SAMPLES_MAX, &c->history_samples);
    if (strcmp(key, "max_series") == 0)
        return get_count(value, 16, SERIES_MAX, &c->history_max_series);
    if (strcmp(key, "max_bytes") == 0) {
        if (conf_size(value, &bytes) < 0 || bytes < 4096 || bytes > RING_BYTES_MAX)
            return -EINVAL;
        c->history_max_bytes = (size_t)bytes;
        return 0;
    }
    if (strcmp(key, "persist") == 0) {
        if (value[0] == '\0') {
            free(c->persist);
            c->persist = NULL;
            return 0;
        }
        return agent_conf_set_string(&c->persist, value);
    }
    if (strcmp(key, "persist_interval") == 0)
        return get_interval(value, &c->persist_interval);
    return -ENOENT;
}

static int
handle_collector(struct load_state *st, const char *name, const char *key, const char *value)
{
    struct agent_collector_conf *cc = NULL;
    int r;

    for (size_t i = 0; i < st->conf->n_collectors; i++) {
        if (strcmp(st->conf->collectors[i].ops->name, name) == 0) {
            cc = &st->conf->collectors[i];
            break;
        }
    }
    if (!cc) {
        (void)snprintf(st->detail, sizeof(st->detail), "no collector named '%s'", name);
        return -ENOENT;
    }
    if (strcmp(key, "enabled") == 0)
        return conf_bool(value, &cc->enabled);
    if (strcmp(key, "interval") == 0)
        return get_interval(value, &cc->interval);
    if (!cc->ops->configure)
        return -ENOENT;
    r = cc->ops->configure(cc->ctx, key, value);
    if (r < 0 && r != -ENOENT && r != -EINVAL) {
        (void)snprintf(st->detail, sizeof(st->detail), "collector %s: %s", name, strerror(-r));
        r = -EINVAL;
    }
    return r;
}

static int
handler(void *ctx, const char *section, const char *key, const char *value, int line)
{
    struct load_state *st = ctx;

    st->line = line;
    if (strcmp(section, "agent") == 0)
        return handle_agent(st, key, value);
    if (strcmp(section, "history") == 0)
        return handle_history(st, key, value);
    if (strncmp(section, COLLECTOR_SECTION, strlen(COLLECTOR_SECTION)) == 0)
        return handle_collector(st, section + strlen(COLLECTOR_SECTION), key, value);
    if (strncmp(section, SENSOR_SECTION, strlen(SENSOR_SECTION)) == 0) {
        /* [sensor LABEL] k = v reaches the sensors collector as "LABEL.k". */
        char k[SENSOR_KEY_MAX];
        const char *label = section + strlen(SENSOR_SECTION);
        if (!*label || (size_t)snprintf(k, sizeof(k), "%s.%s", label, key) >= sizeof(k))
            return -EINVAL;
        return handle_collector(st, "sensors", k, value);
    }
    (void)snprintf(st->detail, sizeof(st->detail), "unknown section [%s]", section);
    return -ENOENT;
}

/* Append the handler's detail, if any, to the conf layer's "path:line: ..." message. */
static void
add_detail(const struct load_state *st, char *err, size_t errlen)
{
    char tag[24];
    size_t n;

    if (!err || errlen == 0 || !st->detail[0])
        return;
    /* Not when the error is a syntax error on an earlier line. */
    (void)snprintf(tag, sizeof(tag), ":%d: ", st->line);
    if (!strstr(err, tag))
        return;
    n = strlen(err);
    if (n + 3 < errlen)
        (void)snprintf(err + n, errlen - n, " (%s)", st->detail);
}

int
agent_conf_load(struct agent_conf *conf, const char *path, char *err, size_t errlen)
{
    struct load_state st = {.conf = conf};
    int r = conf_parse_file(path, handler, &st, err, errlen);

    if (r < 0)
        add_detail(&st, err, errlen);
    return r;
}

int
agent_conf_load_string(struct agent_conf *conf, const char *text, char *err, size_t errlen)
{
    struct load_state st = {.conf = conf};
    int r = conf_parse_string(text, handler, &st, err, errlen);

    if (r < 0)
        add_detail(&st, err, errlen);
    return r;
}
