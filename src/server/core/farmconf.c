/* SPDX-License-Identifier: MIT */
#include "farmconf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "hash.h"
#include "parse.h"

#define DEVICE_PREFIX "device "

struct parse_ctx {
    struct farm_conf *c;
    char *err;
    size_t errlen;
};

static int
set_str(char **dst, const char *v)
{
    char *s = strdup(v);

    if (!s)
        return -ENOMEM;
    free(*dst);
    *dst = s;
    return 0;
}

/* A duration > 0 and at most a day (intervals, timeouts). */
static int
set_seconds(double *dst, const char *v)
{
    double x;

    if (conf_duration(v, &x) < 0 || x <= 0 || x > 86400)
        return -EINVAL;
    *dst = x;
    return 0;
}

/* "i/n" with n >= 1 and i < n. */
static int
parse_shard(const char *v, unsigned *ret_i, unsigned *ret_n)
{
    const char *slash = strchr(v, '/');
    uint64_t i, n;

    if (!slash)
        return -EINVAL;
    if (parse_u64_n(v, (size_t)(slash - v), &i) < 0 || parse_u64(slash + 1, &n) < 0)
        return -EINVAL;
    if (n < 1 || n > 65536 || i >= n)
        return -EINVAL;
    *ret_i = (unsigned)i;
    *ret_n = (unsigned)n;
    return 0;
}

/* "256M,512M" (blanks allowed around the commas). */
static int
parse_ram_sizes(const char *v, struct farm_device *d)
{
    const char *p = v;

    d->n_ram_sizes = 0;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char word[32];
        size_t a = 0, b = n;
        uint64_t x;

        while (a < b && (p[a] == ' ' || p[a] == '\t'))
            a++;
        while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t'))
            b--;
        if (b == a || b - a >= sizeof(word) || d->n_ram_sizes >= FARM_RAM_SIZES_MAX)
            return -EINVAL;
        memcpy(word, p + a, b - a);
        word[b - a] = '\0';
        if (conf_size(word, &x) < 0 || x == 0)
            return -EINVAL;
        d->ram_sizes[d->n_ram_sizes++] = x;
        if (!end)
            break;
        p = end + 1;
    }
    return d->n_ram_sizes ? 0 : -EINVAL;
}

static struct farm_device *
device_get(struct farm_conf *c, const char *name)
{
    struct farm_device *nd;

    for (size_t i = 0; i < c->n_dev; i++)
        if (strcmp(c->dev[i].name, name) == 0)
            return &c->dev[i];
    nd = reallocarray(c->dev, c->n_dev + 1, sizeof(*nd));
    if (!nd)
        return NULL;
    c->dev = nd;
    nd = &c->dev[c->n_dev];
    memset(nd, 0, sizeof(*nd));
    nd->name = strdup(name);
    if (!nd->name)
        return NULL;
    c->n_dev++;
    return nd;
}

/* A device name: printable, no blanks, no '/', at most 128 bytes. */
static int
valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 128)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == '/' || *s == '"' || *s == '\\' || *s == 0x7f)
            return 0;
    return 1;
}

static int
handle_server(struct farm_conf *c, const char *key, const char *v)
{
    if (strcmp(key, "store") == 0)
        return set_str(&c->store, v);
    if (strcmp(key, "listen") == 0)
        return set_str(&c->listen, v);
    if (strcmp(key, "listen_token") == 0)
        return set_str(&c->listen_token, v);
    if (strcmp(key, "baseline") == 0)
        return set_str(&c->baseline, v);
    if (strcmp(key, "shard") == 0)
        return parse_shard(v, &c->shard_i, &c->shard_n);
    if (strcmp(key, "token") == 0)
        return set_str(&c->token, v);
    if (strcmp(key, "interval") == 0)
        return set_seconds(&c->interval, v);
    if (strcmp(key, "timeout") == 0)
        return set_seconds(&c->timeout, v);
    if (strcmp(key, "connect_timeout") == 0)
        return set_seconds(&c->connect_timeout, v);
    if (strcmp(key, "max_body") == 0) {
        uint64_t x;
        if (conf_size(v, &x) < 0 || x < 1024 || x > (1ull << 31))
            return -EINVAL;
        c->max_body = x;
        return 0;
    }
    if (strcmp(key, "jitter") == 0) {
        double x;
        if (parse_double(v, &x) < 0 || !(x >= 0 && x <= 0.5))
            return -EINVAL;
        c->jitter = x;
        return 0;
    }
    return -ENOENT;
}

static int
handle_alerts(struct farm_conf *c, const char *key, const char *v)
{
    if (strcmp(key, "unreachable_after") == 0)
        return set_seconds(&c->unreachable_after, v);
    if (strcmp(key, "exhaustion_days") == 0) {
        double x;
        if (parse_double(v, &x) < 0 || !(x > 0 && x <= 3650))
            return -EINVAL;
        c->exhaustion_days = x;
        return 0;
    }
    if (strcmp(key, "leak_every") == 0) {
        if (strcmp(v, "0") == 0) {
            c->leak_every = -1;
            return 0;
        }
        return set_seconds(&c->leak_every, v);
    }
    if (strcmp(key, "hold") == 0) {
        double x;
        if (conf_duration(v, &x) < 0 || x <= 0 || x > 30 * 86400.0)
            return -EINVAL;
        c->alert_hold = x;
        return 0;
    }
    if (strcmp(key, "exec") == 0)
        return set_str(&c->alert_exec, v);
    if (strcmp(key, "webhook") == 0)
        return set_str(&c->alert_webhook, v);
    if (strcmp(key, "webhook_token") == 0)
        return set_str(&c->alert_token, v);
    return -ENOENT;
}

static int
handle_device(struct farm_device *d, const char *key, const char *v)
{
    if (strcmp(key, "url") == 0)
        return set_str(&d->url, v);
    if (strcmp(key, "interval") == 0)
        return set_seconds(&d->interval, v);
    if (strcmp(key, "timeout") == 0)
        return set_seconds(&d->timeout, v);
    if (strcmp(key, "connect_timeout") == 0)
        return set_seconds(&d->connect_timeout, v);
    if (strcmp(key, "token") == 0)
        return set_str(&d->token, v);
    if (strcmp(key, "model") == 0)
        return set_str(&d->model, v);
    if (strcmp(key, "ram_sizes") == 0)
        return parse_ram_sizes(v, d);
    if (strcmp(key, "install") == 0)
        return set_str(&d->install, v);
    if (strcmp(key, "reboot") == 0)
        return set_str(&d->reboot, v);
    if (strcmp(key, "history") == 0) {
        int b;
        if (strcasecmp(v, "auto") == 0) {
            d->history = FARM_HISTORY_AUTO;
            return 0;
        }
        if (conf_bool(v, &b) < 0)
            return -EINVAL;
        d->history = b ? FARM_HISTORY_YES : FARM_HISTORY_NO;
        return 0;
    }
    return -ENOENT;
}

static int
handler(void *ctx, const char *section, const char *key, const char *value, _unused_ int line)
{
    struct parse_ctx *pc = ctx;
    struct farm_conf *c = pc->c;

    if (strcmp(section, "server") == 0)
        return handle_server(c, key, value);
    if (strcmp(section, "alerts") == 0)
        return handle_alerts(c, key, value);
    if (strncmp(section, DEVICE_PREFIX, strlen(DEVICE_PREFIX)) == 0) {
        const char *name = section + strlen(DEVICE_PREFIX);
        struct farm_device *d;

        while (*name == ' ')
            name++;
        if (!valid_name(name))
            return -EINVAL;
        d = device_get(c, name);
        if (!d)
            return -ENOMEM;
        return handle_device(d, key, value);
    }
    return -ENOENT;
}

static int
valid_url(const char *u)
{
    return strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0;
}

static int
finish(struct farm_conf *c, char *err, size_t errlen)
{
    if (c->shard_n == 0) {
        c->shard_i = 0;
        c->shard_n = 1;
    }
    if (c->interval <= 0)
        c->interval = FARM_DEFAULT_INTERVAL;
    if (c->timeout <= 0)
        c->timeout = FARM_DEFAULT_TIMEOUT;
    if (c->connect_timeout <= 0)
        c->connect_timeout = FARM_DEFAULT_CONNECT;
    if (c->max_body == 0)
        c->max_body = FARM_DEFAULT_MAX_BODY;
    if (c->unreachable_after <= 0)
        c->unreachable_after = 300;
    if (c->exhaustion_days <= 0)
        c->exhaustion_days = 7;
    if (c->alert_hold <= 0)
        c->alert_hold = 3600;
    if (c->leak_every == 0)
        c->leak_every = 900;
    if (c->listen && !c->listen[0]) {
        free(c->listen);
        c->listen = NULL;
    }
    if (c->alert_webhook && !valid_url(c->alert_webhook)) {
        (void)snprintf(err, errlen, "%s: [alerts] webhook must be an http:// or https:// URL",
                       c->path ? c->path : "<string>");
        return -EINVAL;
    }
    for (size_t i = 0; i < c->n_dev; i++) {
        const struct farm_device *d = &c->dev[i];

        if (!d->url || !valid_url(d->url)) {
            (void)snprintf(err, errlen, "%s: [device %s] needs url = http://HOST:PORT[/PATH]",
                           c->path ? c->path : "<string>", d->name);
            return -EINVAL;
        }
    }
    return 0;
}

static int
load(const char *path, const char *text, struct farm_conf **ret, char *err, size_t errlen)
{
    struct farm_conf *c = calloc(1, sizeof(*c));
    struct parse_ctx pc = {.c = c, .err = err, .errlen = errlen};
    char dummy[8];
    int r;

    if (!c)
        return -ENOMEM;
    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = '\0';
    c->jitter = 0.05;
    if (path) {
        c->path = strdup(path);
        if (!c->path) {
            farmconf_free(c);
            return -ENOMEM;
        }
        r = conf_parse_file(path, handler, &pc, err, errlen);
    } else {
        r = conf_parse_string(text, handler, &pc, err, errlen);
    }
    if (r >= 0)
        r = finish(c, err, errlen);
    if (r < 0) {
        farmconf_free(c);
        return r;
    }
    *ret = c;
    return 0;
}

int
farmconf_load(const char *path, struct farm_conf **ret, char *err, size_t errlen)
{
    return load(path, NULL, ret, err, errlen);
}

int
farmconf_parse_string(const char *text, struct farm_conf **ret, char *err, size_t errlen)
{
    return load(NULL, text, ret, err, errlen);
}

struct farm_conf *
farmconf_free(struct farm_conf *c)
{
    if (!c)
        return NULL;
    for (size_t i = 0; i < c->n_dev; i++) {
        struct farm_device *d = &c->dev[i];
        free(d->name);
        free(d->url);
        free(d->token);
        free(d->model);
        free(d->install);
        free(d->reboot);
    }
    free(c->dev);
    free(c->path);
    free(c->store);
    free(c->listen);
    free(c->listen_token);
    free(c->baseline);
    free(c->token);
    free(c->alert_exec);
    free(c->alert_webhook);
    free(c->alert_token);
    free(c);
    return NULL;
}

const struct farm_device *
farmconf_device(const struct farm_conf *c, const char *name)
{
    for (size_t i = 0; i < c->n_dev; i++)
        if (strcmp(c->dev[i].name, name) == 0)
            return &c->dev[i];
    return NULL;
}

double
farm_device_interval(const struct farm_conf *c, const struct farm_device *d)
{
    return d->interval > 0 ? d->interval : c->interval;
}

double
farm_device_timeout(const struct farm_conf *c, const struct farm_device *d)
{
    double t = d->timeout > 0 ? d->timeout : c->timeout;

    /* A poll never outlives its interval: the next one is due by then. */
    return MIN(t, farm_device_interval(c, d));
}

double
farm_device_connect_timeout(const struct farm_conf *c, const struct farm_device *d)
{
    double t = d->connect_timeout > 0 ? d->connect_timeout : c->connect_timeout;

    return MIN(t, farm_device_timeout(c, d));
}

const char *
farm_device_token(const struct farm_conf *c, const struct farm_device *d)
{
    return d->token ? d->token : c->token;
}

uint64_t
farm_hash(const char *s)
{
    return fnv1a(s);
}

int
farm_shard_owns(unsigned i, unsigned n, const char *name)
{
    if (n <= 1)
        return 1;
    return farm_hash(name) % n == i;
}

void
farm_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

static const char *
kv_lookup(const char *const *kv, const char *key, size_t keylen)
{
    for (; kv && kv[0] && kv[1]; kv += 2)
        if (strlen(kv[0]) == keylen && strncmp(kv[0], key, keylen) == 0)
            return kv[1];
    return NULL;
}

/* Expand the {KEY}s of one word of n bytes into a new string. */
static int
expand_word(const char *w, size_t n, const char *const *kv, char **ret)
{
    size_t cap = n + 1, len = 0;
    char *out = malloc(cap);

    if (!out)
        return -ENOMEM;
    for (size_t i = 0; i < n;) {
        const char *val = NULL;
        size_t adv = 1, vlen = 1;

        if (w[i] == '{') {
            const char *close = memchr(w + i, '}', n - i);
            if (!close) {
                free(out);
                return -EINVAL;
            }
            val = kv_lookup(kv, w + i + 1, (size_t)(close - (w + i) - 1));
            if (!val) {
                free(out);
                return -EINVAL;
            }
            adv = (size_t)(close - (w + i)) + 1;
            vlen = strlen(val);
        }
        if (len + vlen + 1 > cap) {
            char *nout;
            cap = (len + vlen + 1) * 2;
            nout = realloc(out, cap);
            if (!nout) {
                free(out);
                return -ENOMEM;
            }
            out = nout;
        }
        memcpy(out + len, val ? val : w + i, vlen);
        len += vlen;
        i += adv;
    }
    out[len] = '\0';
    *ret = out;
    return 0;
}

int
farm_argv_expand(const char *tmpl, const char *const *kv, char ***ret)
{
    char **argv = NULL;
    size_t argc = 0;
    const char *p = tmpl;
    int r;

    for (;;) {
        const char *start;
        char **na;

        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        start = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        na = reallocarray(argv, argc + 2, sizeof(*na));
        if (!na) {
            r = -ENOMEM;
            goto fail;
        }
        argv = na;
        argv[argc + 1] = NULL;
        r = expand_word(start, (size_t)(p - start), kv, &argv[argc]);
        if (r < 0)
            goto fail;
        argc++;
    }
    if (argc == 0)
        return -EINVAL;
    *ret = argv;
    return 0;
fail:
    if (argv)
        argv[argc] = NULL;
    farm_argv_free(argv);
    return r;
}
