/* SPDX-License-Identifier: MIT */
#include "alerts.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

#define LOAD_WINDOW_MS (365LL * 86400 * 1000) /* alert events read back at start-up */

extern char **environ;

struct open_alert {
    char *device;
    char *name;
    char *subject;      /* may be NULL */
    int64_t since_ms;
    int64_t last_ms;    /* last time it was seen active */
    int held;           /* resolves after hold without a repeat */
};

struct alerts {
    double unreachable_after; /* s */
    double hold;              /* s */
    char *exec;
    char *webhook;
    char *webhook_token;
    alert_post_fn post;
    void *post_ctx;
    struct open_alert *open;
    size_t n_open;
    alert_sink_fn sink;
    void *sink_ctx;
    unsigned long sent;
    int loaded;
};

static int
dup_or_null(char **dst, const char *src)
{
    char *s = NULL;

    if (src && !(s = strdup(src)))
        return -ENOMEM;
    free(*dst);
    *dst = s;
    return 0;
}

void
alerts_configure(struct alerts *a, const struct farm_conf *c)
{
    a->unreachable_after = c->unreachable_after;
    a->hold = c->alert_hold;
    if (dup_or_null(&a->exec, c->alert_exec) < 0 || dup_or_null(&a->webhook, c->alert_webhook) < 0 ||
        dup_or_null(&a->webhook_token, c->alert_token) < 0)
        log_warnx("alerts: out of memory applying the config, ignoring");
}

int
alerts_new(const struct farm_conf *conf, alert_post_fn post, void *post_ctx,
           struct alerts **ret)
{
    struct alerts *a = calloc(1, sizeof(*a));

    if (!a)
        return -ENOMEM;
    a->post = post;
    a->post_ctx = post_ctx;
    alerts_configure(a, conf);
    *ret = a;
    return 0;
}

void
alerts_set_sink(struct alerts *a, alert_sink_fn fn, void *ctx)
{
    a->sink = fn;
    a->sink_ctx = ctx;
}

size_t
alerts_open_count(const struct alerts *a)
{
    return a->n_open;
}

unsigned long
alerts_sent(const struct alerts *a)
{
    return a->sent;
}

static void
open_free(struct open_alert *o)
{
    free(o->device);
    free(o->name);
    free(o->subject);
}

struct alerts *
alerts_free(struct alerts *a)
{
    if (!a)
        return NULL;
    for (size_t i = 0; i < a->n_open; i++)
        open_free(&a->open[i]);
    free(a->open);
    free(a->exec);
    free(a->webhook);
    free(a->webhook_token);
    free(a);
    return NULL;
}

static int
streq_null(const char *x, const char *y)
{
    if (!x || !y)
        return x == y;
    return strcmp(x, y) == 0;
}

static struct open_alert *
find_open(struct alerts *a, const char *device, const char *name, const char *subject)
{
    for (size_t i = 0; i < a->n_open; i++) {
        struct open_alert *o = &a->open[i];
        if (strcmp(o->device, device) == 0 && strcmp(o->name, name) == 0 &&
            streq_null(o->subject, subject))
            return o;
    }
    return NULL;
}

static struct open_alert *
add_open(struct alerts *a, const char *device, const char *name, const char *subject,
         int64_t since_ms)
{
    struct open_alert *o = reallocarray(a->open, a->n_open + 1, sizeof(*o));

    if (!o)
        return NULL;
    a->open = o;
    o = &a->open[a->n_open];
    memset(o, 0, sizeof(*o));
    o->device = strdup(device);
    o->name = strdup(name);
    o->subject = subject ? strdup(subject) : NULL;
    if (!o->device || !o->name || (subject && !o->subject)) {
        open_free(o);
        return NULL;
    }
    o->since_ms = o->last_ms = since_ms;
    a->n_open++;
    return o;
}

static void
remove_open(struct alerts *a, struct open_alert *o)
{
    size_t i = (size_t)(o - a->open);

    open_free(o);
    memmove(&a->open[i], &a->open[i + 1], (a->n_open - i - 1) * sizeof(*o));
    a->n_open--;
}

char *
alert_note_json(const struct alert_note *n)
{
    json_t *o = json_object();
    char *s;

    if (!o)
        return NULL;
    (void)json_object_set_new(o, "alert", json_string(n->alert));
    (void)json_object_set_new(o, "device", json_string(n->device));
    (void)json_object_set_new(o, "subject", n->subject ? json_string(n->subject) : json_null());
    (void)json_object_set_new(o, "state", json_string(n->firing ? "firing" : "resolved"));
    (void)json_object_set_new(o, "since", json_real((double)n->since_ms / 1000.0));
    (void)json_object_set_new(o, "time", json_real((double)n->t_ms / 1000.0));
    (void)json_object_set_new(o, "summary", json_string(n->summary ? n->summary : ""));
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void
run_hook(struct alerts *a, const struct alert_note *n, const char *json)
{
    const char *kv[] = {"alert", n->alert, "device", n->device,
                        "subject", n->subject ? n->subject : "",
                        "state", n->firing ? "firing" : "resolved",
                        "summary", n->summary ? n->summary : "", NULL};
    posix_spawn_file_actions_t fa;
    char **argv = NULL;
    int p[2], r;
    pid_t pid;
    size_t len = strlen(json);

    r = farm_argv_expand(a->exec, kv, &argv);
    if (r < 0) {
        log_errno(r, "alerts: exec template '%s', ignoring", a->exec);
        return;
    }
    if (pipe2(p, O_CLOEXEC) < 0) {
        log_warn("alerts: pipe, ignoring");
        farm_argv_free(argv);
        return;
    }
    (void)posix_spawn_file_actions_init(&fa);
    (void)posix_spawn_file_actions_adddup2(&fa, p[0], 0);
    r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    (void)posix_spawn_file_actions_destroy(&fa);
    (void)close(p[0]);
    if (r != 0) {
        log_errno(r, "alerts: cannot run %s, ignoring", argv[0]);
    } else {
        /* A notification is far smaller than a pipe's buffer: this never blocks. */
        (void)fcntl(p[1], F_SETFL, O_NONBLOCK);
        if (write(p[1], json, len) != (ssize_t)len)
            log_warnx("alerts: %s did not take the whole notification, ignoring", argv[0]);
    }
    (void)close(p[1]);
    farm_argv_free(argv);
}

static void
deliver(struct alerts *a, struct store *st, int64_t device_id, const struct alert_note *n)
{
    char *json = alert_note_json(n);
    char *subj = NULL;

    if (!json) {
        log_warnx("alerts: out of memory, %s on %s not delivered", n->alert, n->device);
        return;
    }
    a->sent++;
    log_info("alert %s: %s%s%s on %s: %s", n->firing ? "firing" : "resolved", n->alert,
             n->subject ? " " : "", n->subject ? n->subject : "", n->device,
             n->summary ? n->summary : "");
    if (a->sink)
        a->sink(a->sink_ctx, n, json);
    if (a->exec)
        run_hook(a, n, json);
    if (a->webhook && a->post)
        a->post(a->post_ctx, a->webhook, a->webhook_token, json);
    if (st && device_id > 0) {
        struct store_event ev = {
            .device_id = device_id,
            .t_ms = n->t_ms,
            .kind = EVENT_ALERT,
            .detail = (char *)(uintptr_t)(n->summary ? n->summary : ""),
            .value = n->firing ? 1 : 0,
        };
        if (n->subject && asprintf(&subj, "%s:%s", n->alert, n->subject) < 0)
            subj = NULL;
        ev.subject = subj ? subj : (char *)(uintptr_t)n->alert;
        if (store_begin(st) < 0 || store_event_add(st, &ev) < 0 || store_commit(st) < 0) {
            store_rollback(st);
            log_warnx("alerts: cannot store %s on %s: %s, ignoring", n->alert, n->device,
                      store_errmsg(st));
        }
    }
    free(subj);
    free(json);
}

int
alerts_set(struct alerts *a, struct store *st, const char *device, int64_t device_id,
           const char *name, const char *subject, int active, int64_t now_ms,
           const char *summary)
{
    struct open_alert *o = find_open(a, device, name, subject);
    struct alert_note n = {
        .alert = name, .device = device, .subject = subject, .t_ms = now_ms,
        .summary = summary,
    };

    if (active && o) {
        o->last_ms = now_ms;
        return 0;
    }
    if (active) {
        o = add_open(a, device, name, subject, now_ms);
        if (!o) {
            log_warnx("alerts: out of memory, %s on %s not raised", name, device);
            return 0;
        }
        n.firing = 1;
        n.since_ms = now_ms;
        deliver(a, st, device_id, &n);
        return 1;
    }
    if (!o)
        return 0;
    n.firing = 0;
    n.since_ms = o->since_ms;
    remove_open(a, o);
    deliver(a, st, device_id, &n);
    return 2;
}

/* A one-off alert: opens (or is extended) now, resolves after hold without a repeat. */
static void
raise_held(struct alerts *a, struct store *st, const char *device, int64_t device_id,
           const char *name, int64_t now_ms, const char *summary)
{
    struct open_alert *o;

    if (alerts_set(a, st, device, device_id, name, NULL, 1, now_ms, summary) >= 0) {
        o = find_open(a, device, name, NULL);
        if (o)
            o->held = 1;
    }
}

void
alerts_observe(struct alerts *a, struct store *st, const char *device, int64_t device_id,
               const struct events_state *ev, const struct store_event_array *evs,
               int64_t now_ms)
{
    char summary[256];

    if (!a->loaded && st) {
        if (alerts_load(a, st) < 0)
            log_warnx("alerts: cannot read the open alerts back: %s, ignoring",
                      store_errmsg(st));
        a->loaded = 1;
    }

    for (size_t i = 0; evs && i < evs->n; i++) {
        const struct store_event *e = &evs->e[i];
        switch (e->kind) {
        case EVENT_OOM_KILL:
            (void)snprintf(summary, sizeof(summary), "the OOM killer ran (%.0f kill(s))",
                           e->value);
            raise_held(a, st, device, device_id, "oom_kill", now_ms, summary);
            break;
        case EVENT_PANIC:
            (void)snprintf(summary, sizeof(summary), "kernel panic before the last boot: %s",
                           e->detail ? e->detail : "");
            raise_held(a, st, device, device_id, "panic", now_ms, summary);
            break;
        case EVENT_REBOOT:
            if (e->value == 0) {
                (void)snprintf(summary, sizeof(summary), "rebooted without a build change (%s)",
                               e->detail ? e->detail : "");
                raise_held(a, st, device, device_id, "unexpected_reboot", now_ms, summary);
            }
            break;
        default:
            break;
        }
    }

    /* Unreachable: only once the outage has lasted long enough. */
    if (ev->down && (double)(now_ms - ev->down_since_ms) >= a->unreachable_after * 1000.0) {
        (void)snprintf(summary, sizeof(summary), "unreachable for %.0f s",
                       (double)(now_ms - ev->down_since_ms) / 1000.0);
        (void)alerts_set(a, st, device, device_id, "unreachable", NULL, 1, now_ms, summary);
    } else if (!ev->down) {
        (void)alerts_set(a, st, device, device_id, "unreachable", NULL, 0, now_ms, "reachable");
    }

    for (size_t i = 0; i < ev->n_sensors; i++) {
        const struct events_sensor *s = &ev->sensors[i];
        (void)snprintf(summary, sizeof(summary), s->up ? "sensor %s reads again"
                                                       : "sensor %s stopped reading", s->name);
        (void)alerts_set(a, st, device, device_id, "sensor_lost", s->name, !s->up, now_ms,
                         summary);
    }

    /* One-off alerts of this device resolve after hold without a repeat. */
    for (size_t i = 0; i < a->n_open;) {
        struct open_alert *o = &a->open[i];
        if (o->held && strcmp(o->device, device) == 0 &&
            (double)(now_ms - o->last_ms) >= a->hold * 1000.0) {
            char *name = strdup(o->name);
            if (!name)
                break;
            (void)snprintf(summary, sizeof(summary), "no %s for %.0f s", name, a->hold);
            (void)alerts_set(a, st, device, device_id, name, NULL, 0, now_ms, summary);
            free(name);
            continue; /* the entry at i was removed */
        }
        i++;
    }
}

void
alerts_tick(struct alerts *a)
{
    int status;
    pid_t pid;

    (void)a;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            log_warnx("alerts: hook process %d failed (status %d), ignoring", (int)pid, status);
}

int
alerts_load(struct alerts *a, struct store *st)
{
    struct store_event_array evs = {0};
    struct store_device *devs = NULL;
    size_t n_devs = 0;
    int64_t now = 0;
    int r;

    r = store_devices(st, &devs, &n_devs);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n_devs; i++)
        now = devs[i].last_ms > now ? devs[i].last_ms : now;
    r = store_events(st, -1, now - LOAD_WINDOW_MS, INT64_MAX, &evs);
    for (size_t i = 0; r >= 0 && i < evs.n; i++) {
        const struct store_event *e = &evs.e[i];
        const char *dev = NULL;
        char name[64];
        const char *subject = NULL, *colon;
        struct open_alert *o;

        if (e->kind != EVENT_ALERT || !e->subject)
            continue;
        for (size_t k = 0; k < n_devs && !dev; k++)
            if (devs[k].id == e->device_id)
                dev = devs[k].name;
        if (!dev)
            continue;
        colon = strchr(e->subject, ':');
        (void)snprintf(name, sizeof(name), "%.*s",
                       (int)(colon ? (size_t)(colon - e->subject) : strlen(e->subject)),
                       e->subject);
        if (colon)
            subject = colon + 1;
        o = find_open(a, dev, name, subject);
        if (e->value > 0 && !o) {
            o = add_open(a, dev, name, subject, e->t_ms);
            if (o)
                o->held = strcmp(name, "oom_kill") == 0 || strcmp(name, "panic") == 0 ||
                          strcmp(name, "unexpected_reboot") == 0;
        } else if (e->value <= 0 && o) {
            remove_open(a, o);
        }
    }
    store_event_array_free(&evs);
    store_devices_free(devs, n_devs);
    a->loaded = 1;
    return r < 0 ? r : 0;
}
