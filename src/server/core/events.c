/* SPDX-License-Identifier: MIT */
#include "events.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "expo-parse.h"

static const char *const wanted[] = {
    "soak_boot_info",        "node_boot_time_seconds", "soak_build_info",
    "node_vmstat_oom_kill",  "soak_kmsg_oom_kills_total", "soak_pstore_panic",
    "soak_pstore_records",   "soak_sensor_up",         "node_network_up",
};

int
events_wants_metric(const char *name, size_t len)
{
    for (size_t i = 0; i < ARRAY_SIZE(wanted); i++)
        if (strlen(wanted[i]) == len && memcmp(wanted[i], name, len) == 0)
            return 1;
    return 0;
}

/* Is key's metric name exactly name? */
static int
key_is(const char *key, const char *name)
{
    size_t n = strlen(name);

    return strncmp(key, name, n) == 0 && (key[n] == '\0' || key[n] == '{');
}

void
events_state_init(struct events_state *st)
{
    memset(st, 0, sizeof(*st));
    st->oom_vmstat = -1;
    st->oom_kmsg = -1;
    st->pstore = -1;
}

void
events_state_done(struct events_state *st)
{
    for (size_t i = 0; i < st->n_sensors; i++)
        free(st->sensors[i].name);
    free(st->sensors);
    free(st->ifaces);
    st->sensors = NULL;
    st->n_sensors = 0;
    st->ifaces = NULL;
}

int
events_array_push(struct store_event_array *a, int64_t t_ms, enum store_event_kind kind,
                  const char *subject, const char *detail, double value)
{
    struct store_event *e;

    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        e = reallocarray(a->e, cap, sizeof(*e));
        if (!e)
            return -ENOMEM;
        a->e = e;
        a->cap = cap;
    }
    e = &a->e[a->n];
    memset(e, 0, sizeof(*e));
    e->t_ms = t_ms;
    e->kind = kind;
    e->value = value;
    if (subject) {
        e->subject = strdup(subject);
        if (!e->subject)
            return -ENOMEM;
    }
    if (detail) {
        e->detail = strdup(detail);
        if (!e->detail) {
            free(e->subject);
            e->subject = NULL;
            return -ENOMEM;
        }
    }
    a->n++;
    return 0;
}

static struct events_sensor *
sensor_find(struct events_state *st, const char *name)
{
    for (size_t i = 0; i < st->n_sensors; i++)
        if (strcmp(st->sensors[i].name, name) == 0)
            return &st->sensors[i];
    return NULL;
}

static int
sensor_add(struct events_state *st, const char *name, int up)
{
    struct events_sensor *s = reallocarray(st->sensors, st->n_sensors + 1, sizeof(*s));

    if (!s)
        return -ENOMEM;
    st->sensors = s;
    s[st->n_sensors].name = strdup(name);
    if (!s[st->n_sensors].name)
        return -ENOMEM;
    s[st->n_sensors].up = up;
    st->n_sensors++;
    return 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Is word w one of the comma-separated words of list? */
static int
list_has(const char *list, const char *w)
{
    size_t n = strlen(w);

    for (const char *p = list; p && *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && memcmp(p, w, n) == 0)
            return 1;
        if (!c)
            break;
        p = c + 1;
    }
    return 0;
}

/* "+a +b -c": words of now not in was, then words of was not in now. */
static int
iface_diff(const char *was, const char *now, struct buf *out)
{
    const char *lists[2] = {now, was};
    const char *others[2] = {was, now};
    const char signs[2] = {'+', '-'};
    int r = 0;

    for (int k = 0; k < 2; k++) {
        for (const char *p = lists[k]; p && *p;) {
            const char *c = strchr(p, ',');
            size_t len = c ? (size_t)(c - p) : strlen(p);
            char w[EVENTS_ID_MAX];

            if (len < sizeof(w)) {
                memcpy(w, p, len);
                w[len] = '\0';
                if (!list_has(others[k], w)) {
                    if (out->len)
                        r |= buf_putc(out, ' ');
                    r |= buf_putc(out, signs[k]);
                    r |= buf_puts(out, w);
                }
            }
            if (!c)
                break;
            p = c + 1;
        }
    }
    return r ? -ENOMEM : 0;
}

/* Kills counted by a counter going from prev (< 0: unknown) to cur. */
static double
counter_increase(double prev, double cur, int rebooted)
{
    if (!isfinite(cur) || cur < 0)
        return 0;
    if (prev < 0)
        return rebooted ? cur : 0;
    if (cur >= prev)
        return cur - prev;
    return cur; /* reset: everything since the restart is new */
}

/* What one batch says, gathered before comparing with the state. */
struct batch {
    char boot_id[EVENTS_ID_MAX];
    double boot_time;
    char build[EVENTS_ID_MAX];
    double oom_vmstat, oom_kmsg, pstore;
    int have_ifaces;
    char **ifaces; /* names up */
    size_t n_ifaces;
};

static int
gather(struct batch *b, const struct events_sample *s, size_t n)
{
    char val[EVENTS_ID_MAX];

    memset(b, 0, sizeof(*b));
    b->oom_vmstat = b->oom_kmsg = b->pstore = -1;
    for (size_t i = 0; i < n; i++) {
        const char *k = s[i].key;
        double v = s[i].v;

        if (key_is(k, "soak_boot_info")) {
            if (v > 0 && expo_key_label(k, "boot_id", val, sizeof(val)) > 0)
                memcpy(b->boot_id, val, sizeof(val));
        } else if (key_is(k, "node_boot_time_seconds")) {
            if (isfinite(v) && v > 0)
                b->boot_time = v;
        } else if (key_is(k, "soak_build_info")) {
            if (v > 0 && expo_key_label(k, "build", val, sizeof(val)) > 0)
                memcpy(b->build, val, sizeof(val));
        } else if (key_is(k, "node_vmstat_oom_kill")) {
            b->oom_vmstat = v;
        } else if (key_is(k, "soak_kmsg_oom_kills_total")) {
            b->oom_kmsg = v;
        } else if (key_is(k, "soak_pstore_panic")) {
            if (isfinite(v))
                b->pstore = MAX(b->pstore, 0) + MAX(v, 0);
        } else if (key_is(k, "soak_pstore_records")) {
            if (expo_key_label(k, "type", val, sizeof(val)) > 0 && strcmp(val, "dmesg") == 0 &&
                isfinite(v))
                b->pstore = MAX(b->pstore, 0) + MAX(v, 0);
        } else if (key_is(k, "node_network_up")) {
            b->have_ifaces = 1;
            if (v > 0 && expo_key_label(k, "device", val, sizeof(val)) > 0) {
                char **ni = reallocarray(b->ifaces, b->n_ifaces + 1, sizeof(*ni));
                if (!ni)
                    return -ENOMEM;
                b->ifaces = ni;
                ni[b->n_ifaces] = strdup(val);
                if (!ni[b->n_ifaces])
                    return -ENOMEM;
                b->n_ifaces++;
            }
        }
    }
    return 0;
}

static void
batch_done(struct batch *b)
{
    for (size_t i = 0; i < b->n_ifaces; i++)
        free(b->ifaces[i]);
    free(b->ifaces);
}

static int
do_sensors(struct events_state *st, int64_t t_ms, const struct events_sample *s, size_t n,
           int complete, struct store_event_array *out)
{
    char name[EVENTS_ID_MAX];
    int added = 0, r;
    unsigned char *present = NULL;
    size_t n_before = st->n_sensors;

    if (complete && n_before) {
        present = calloc(n_before, 1);
        if (!present)
            return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        struct events_sensor *es;
        int up;

        if (!key_is(s[i].key, "soak_sensor_up"))
            continue;
        if (expo_key_label(s[i].key, "sensor", name, sizeof(name)) <= 0)
            continue;
        up = s[i].v > 0;
        es = sensor_find(st, name);
        if (!es) {
            r = sensor_add(st, name, up);
            if (r < 0)
                goto out;
            /* A sensor first seen down is reported: it never read. */
            if (!up) {
                r = events_array_push(out, t_ms, EVENT_SENSOR_LOST, name, "reports down", NAN);
                if (r < 0)
                    goto out;
                added++;
            }
            continue;
        }
        if (present && (size_t)(es - st->sensors) < n_before)
            present[es - st->sensors] = 1;
        if (es->up && !up) {
            r = events_array_push(out, t_ms, EVENT_SENSOR_LOST, name, "reports down", NAN);
            if (r < 0)
                goto out;
            added++;
        } else if (!es->up && up) {
            r = events_array_push(out, t_ms, EVENT_SENSOR_BACK, name, NULL, NAN);
            if (r < 0)
                goto out;
            added++;
        }
        es->up = up;
    }
    if (present) {
        /* present[] covers the sensors known before this batch (new ones are appended). */
        for (size_t i = 0; i < n_before; i++) {
            struct events_sensor *es = &st->sensors[i];
            if (present[i] || !es->up)
                continue;
            r = events_array_push(out, t_ms, EVENT_SENSOR_LOST, es->name, "no longer reported",
                                  NAN);
            if (r < 0)
                goto out;
            es->up = 0;
            added++;
        }
    }
    r = added;
out:
    free(present);
    return r;
}

int
events_scrape(struct events_state *st, int64_t t_ms, const struct events_sample *s, size_t n,
              int complete, struct store_event_array *out)
{
    struct batch b;
    int added = 0, r, rebooted = 0, first = !st->seen;
    int build_changed = 0;
    size_t n_known_sensors = st->n_sensors;
    char subject[EVENTS_ID_MAX + 32];

    r = gather(&b, s, n);
    if (r < 0)
        goto out;

    /* Build first, so that a reboot into a new build is marked as expected. */
    if (b.build[0]) {
        if (st->build[0] && strcmp(st->build, b.build) != 0) {
            r = events_array_push(out, t_ms, EVENT_BUILD_CHANGE, b.build, st->build, NAN);
            if (r < 0)
                goto out;
            added++;
            build_changed = 1;
        }
        memcpy(st->build, b.build, sizeof(st->build));
    }

    if (b.boot_id[0]) {
        if (st->boot_id[0] && strcmp(st->boot_id, b.boot_id) != 0)
            rebooted = 1;
    } else if (b.boot_time > 0 && !st->boot_id[0]) {
        if (st->boot_time > 0 && fabs(b.boot_time - st->boot_time) > EVENTS_BOOT_SLACK)
            rebooted = 1;
    }
    if (rebooted) {
        char detail[2 * EVENTS_ID_MAX + 32];
        if (b.boot_id[0]) {
            (void)snprintf(subject, sizeof(subject), "%s", b.boot_id);
            (void)snprintf(detail, sizeof(detail), "boot id was %s", st->boot_id);
        } else {
            (void)snprintf(subject, sizeof(subject), "%.0f", b.boot_time);
            (void)snprintf(detail, sizeof(detail), "boot time was %.0f", st->boot_time);
        }
        r = events_array_push(out, t_ms, EVENT_REBOOT, subject, detail, build_changed ? 1 : 0);
        if (r < 0)
            goto out;
        added++;
    }
    if (b.boot_id[0])
        memcpy(st->boot_id, b.boot_id, sizeof(st->boot_id));
    if (b.boot_time > 0 && (rebooted || st->boot_time <= 0 ||
                            fabs(b.boot_time - st->boot_time) > EVENTS_BOOT_SLACK))
        st->boot_time = b.boot_time;

    /* OOM kills: both counters may rise for the same kill; report the larger increase. */
    {
        double inc = 0;
        if (b.oom_vmstat >= 0) {
            inc = MAX(inc, counter_increase(first ? b.oom_vmstat : st->oom_vmstat, b.oom_vmstat,
                                            rebooted));
            st->oom_vmstat = b.oom_vmstat;
        }
        if (b.oom_kmsg >= 0) {
            inc = MAX(inc, counter_increase(first ? b.oom_kmsg : st->oom_kmsg, b.oom_kmsg,
                                            rebooted));
            st->oom_kmsg = b.oom_kmsg;
        }
        if (inc > 0) {
            r = events_array_push(out, t_ms, EVENT_OOM_KILL, NULL, NULL, inc);
            if (r < 0)
                goto out;
            added++;
        }
    }

    /* Panic: crash records of the previous boot appear (or change), once per boot. */
    if (b.pstore >= 0) {
        const char *boot = st->boot_id[0] ? st->boot_id : "";
        char bt[64];

        if (!st->boot_id[0] && st->boot_time > 0) {
            (void)snprintf(bt, sizeof(bt), "%.0f", st->boot_time);
            boot = bt;
        }
        if (b.pstore > 0 && b.pstore != st->pstore && strcmp(st->panic_boot, boot) != 0) {
            char detail[96];
            (void)snprintf(detail, sizeof(detail), "%.0f pstore crash record(s) from the boot "
                           "before this one", b.pstore);
            r = events_array_push(out, t_ms, EVENT_PANIC, NULL, detail, b.pstore);
            if (r < 0)
                goto out;
            added++;
            (void)snprintf(st->panic_boot, sizeof(st->panic_boot), "%s", boot);
        }
        st->pstore = b.pstore;
    }

    r = do_sensors(st, t_ms, s, n, complete && n_known_sensors > 0, out);
    if (r < 0)
        goto out;
    added += r;

    if (b.have_ifaces) {
        struct buf now, diff;
        buf_init(&now, 1 << 16);
        buf_init(&diff, 1 << 16);
        if (b.n_ifaces > 1) /* ifaces is NULL when no interface is up */
            qsort(b.ifaces, b.n_ifaces, sizeof(*b.ifaces), cmp_str);
        for (size_t i = 0; i < b.n_ifaces && r >= 0; i++) {
            if (i)
                r = buf_putc(&now, ',');
            if (r >= 0)
                r = buf_puts(&now, b.ifaces[i]);
        }
        if (r >= 0 && st->ifaces && strcmp(st->ifaces, buf_str(&now)) != 0) {
            r = iface_diff(st->ifaces, buf_str(&now), &diff);
            if (r >= 0) {
                char *detail = NULL;
                if (asprintf(&detail, "up: %s (was %s)", buf_str(&now), st->ifaces) < 0)
                    r = -ENOMEM;
                else
                    r = events_array_push(out, t_ms, EVENT_IFACE_CHANGE, buf_str(&diff), detail,
                                          NAN);
                free(detail);
                if (r >= 0)
                    added++;
            }
        }
        if (r >= 0) {
            char *dup = strdup(buf_str(&now));
            if (!dup) {
                r = -ENOMEM;
            } else {
                free(st->ifaces);
                st->ifaces = dup;
            }
        }
        buf_free(&now);
        buf_free(&diff);
        if (r < 0)
            goto out;
    }
    st->seen = 1;
    r = added;
out:
    batch_done(&b);
    return r;
}

int
events_poll_failed(struct events_state *st, int64_t t_ms, const char *error,
                   struct store_event_array *out)
{
    int r;

    if (st->down)
        return 0;
    r = events_array_push(out, t_ms, EVENT_UNREACHABLE, NULL, error ? error : "poll failed", NAN);
    if (r < 0)
        return r;
    st->down = 1;
    st->down_since_ms = t_ms;
    return 1;
}

int
events_poll_ok(struct events_state *st, int64_t t_ms, struct store_event_array *out)
{
    int r = 0;

    if (st->down) {
        double secs = (double)(t_ms - st->down_since_ms) / 1000.0;
        r = events_array_push(out, t_ms, EVENT_REACHABLE, NULL, NULL, secs);
        if (r < 0)
            return r;
        st->down = 0;
        r = 1;
    }
    st->last_ok_ms = t_ms;
    return r;
}

int
events_state_to_json(const struct events_state *st, char **ret)
{
    json_t *o = json_object(), *sens = json_object();
    char *s;

    if (!o || !sens) {
        json_decref(o);
        json_decref(sens);
        return -ENOMEM;
    }
    for (size_t i = 0; i < st->n_sensors; i++)
        (void)json_object_set_new(sens, st->sensors[i].name, json_boolean(st->sensors[i].up));
    (void)json_object_set_new(o, "seen", json_boolean(st->seen));
    (void)json_object_set_new(o, "boot_id", json_string(st->boot_id));
    (void)json_object_set_new(o, "boot_time", json_real(st->boot_time));
    (void)json_object_set_new(o, "build", json_string(st->build));
    (void)json_object_set_new(o, "oom_vmstat", json_real(st->oom_vmstat));
    (void)json_object_set_new(o, "oom_kmsg", json_real(st->oom_kmsg));
    (void)json_object_set_new(o, "pstore", json_real(st->pstore));
    (void)json_object_set_new(o, "panic_boot", json_string(st->panic_boot));
    (void)json_object_set_new(o, "sensors", sens);
    if (st->ifaces)
        (void)json_object_set_new(o, "ifaces", json_string(st->ifaces));
    (void)json_object_set_new(o, "down", json_boolean(st->down));
    (void)json_object_set_new(o, "down_since_ms", json_integer(st->down_since_ms));
    (void)json_object_set_new(o, "last_ok_ms", json_integer(st->last_ok_ms));
    s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (!s)
        return -ENOMEM;
    *ret = s;
    return 0;
}

static void
copy_str(char *dst, size_t size, json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    (void)snprintf(dst, size, "%s", s ? s : "");
}

static double
get_real(json_t *o, const char *key, double dflt)
{
    json_t *v = json_object_get(o, key);

    return json_is_number(v) ? json_number_value(v) : dflt;
}

int
events_state_from_json(struct events_state *st, const char *text)
{
    json_t *o = json_loads(text, 0, NULL), *sens, *v;
    const char *k;
    int r = 0;

    if (!o || !json_is_object(o)) {
        json_decref(o);
        return -EINVAL;
    }
    events_state_done(st);
    events_state_init(st);
    st->seen = json_is_true(json_object_get(o, "seen"));
    copy_str(st->boot_id, sizeof(st->boot_id), o, "boot_id");
    copy_str(st->build, sizeof(st->build), o, "build");
    copy_str(st->panic_boot, sizeof(st->panic_boot), o, "panic_boot");
    st->boot_time = get_real(o, "boot_time", 0);
    st->oom_vmstat = get_real(o, "oom_vmstat", -1);
    st->oom_kmsg = get_real(o, "oom_kmsg", -1);
    st->pstore = get_real(o, "pstore", -1);
    st->down = json_is_true(json_object_get(o, "down"));
    st->down_since_ms = (int64_t)get_real(o, "down_since_ms", 0);
    st->last_ok_ms = (int64_t)get_real(o, "last_ok_ms", 0);
    if (json_is_string(json_object_get(o, "ifaces"))) {
        st->ifaces = strdup(json_string_value(json_object_get(o, "ifaces")));
        if (!st->ifaces)
            r = -ENOMEM;
    }
    sens = json_object_get(o, "sensors");
    if (json_is_object(sens)) {
        json_object_foreach(sens, k, v) {
            if (r >= 0)
                r = sensor_add(st, k, json_is_true(v));
        }
    }
    json_decref(o);
    return r < 0 ? r : 0;
}

/* ---- Derivation over stored data (not pure: reads the store) ---- */

struct tagged {
    int64_t t_ms;
    size_t key;  /* index into keys */
    double v;
};

static int
cmp_tagged(const void *a, const void *b)
{
    const struct tagged *x = a, *y = b;

    if (x->t_ms != y->t_ms)
        return x->t_ms < y->t_ms ? -1 : 1;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* events_derive_range() that leaves the derivation's final state in es (initialised here). */
static int
derive_range(struct store *st, int64_t device_id, int64_t from_ms, int64_t to_ms,
             struct store_event_array *out, struct events_state *es_out)
{
    static const char *const metrics[] = {
        "soak_poll_up",          "soak_boot_info",            "node_boot_time_seconds",
        "soak_build_info",       "node_vmstat_oom_kill",      "soak_kmsg_oom_kills_total",
        "soak_pstore_panic",     "soak_pstore_records",       "soak_sensor_up",
        "node_network_up",
    };
    char **keys = NULL;
    size_t n_keys = 0;
    struct tagged *all = NULL;
    size_t n_all = 0, cap_all = 0;
    struct events_sample *batch = NULL;
    struct events_state *es = es_out;
    size_t first_new = out->n;
    int r = 0;

    events_state_init(es);
    for (size_t m = 0; m < ARRAY_SIZE(metrics) && r >= 0; m++) {
        char **ks = NULL;
        r = store_series(st, device_id, metrics[m], &ks);
        if (r < 0)
            break;
        for (char **k = ks; k && *k && r >= 0; k++) {
            struct sample_array sa = {0};
            char **nk = reallocarray(keys, n_keys + 1, sizeof(*nk));
            if (!nk) {
                r = -ENOMEM;
                break;
            }
            keys = nk;
            keys[n_keys] = strdup(*k);
            if (!keys[n_keys]) {
                r = -ENOMEM;
                break;
            }
            n_keys++;
            r = store_read(st, device_id, *k, from_ms, to_ms, &sa);
            for (size_t i = 0; r >= 0 && i < sa.n; i++) {
                if (n_all == cap_all) {
                    size_t nc = cap_all ? cap_all * 2 : 1024;
                    struct tagged *na = reallocarray(all, nc, sizeof(*na));
                    if (!na) {
                        r = -ENOMEM;
                        break;
                    }
                    all = na;
                    cap_all = nc;
                }
                all[n_all++] = (struct tagged){sa.s[i].t_ms, n_keys - 1, sa.s[i].v};
            }
            sample_array_free(&sa);
        }
        store_strv_free(ks);
    }
    if (r >= 0 && n_all) {
        qsort(all, n_all, sizeof(*all), cmp_tagged);
        batch = calloc(n_all, sizeof(*batch));
        if (!batch)
            r = -ENOMEM;
    }
    for (size_t i = 0; r >= 0 && i < n_all;) {
        size_t j = i, nb = 0;
        int poll = -1;

        for (; j < n_all && all[j].t_ms == all[i].t_ms; j++) {
            if (key_is(keys[all[j].key], "soak_poll_up"))
                poll = all[j].v > 0;
            else
                batch[nb++] = (struct events_sample){keys[all[j].key], all[j].v};
        }
        if (poll == 0)
            r = events_poll_failed(es, all[i].t_ms, "poll failed", out);
        else if (poll == 1)
            r = events_poll_ok(es, all[i].t_ms, out);
        if (r >= 0 && nb)
            r = events_scrape(es, all[i].t_ms, batch, nb, 0, out);
        i = j;
    }
    for (size_t i = first_new; i < out->n; i++)
        out->e[i].device_id = device_id;
    free(batch);
    free(all);
    for (size_t i = 0; i < n_keys; i++)
        free(keys[i]);
    free(keys);
    if (r < 0)
        return r;
    return (int)(out->n - first_new);
}

int
events_derive_range(struct store *st, int64_t device_id, int64_t from_ms, int64_t to_ms,
                    struct store_event_array *out)
{
    struct events_state es;
    int r = derive_range(st, device_id, from_ms, to_ms, out, &es);

    events_state_done(&es);
    return r;
}

static int
same_event(const struct store_event *a, const struct store_event *b)
{
    const char *sa = a->subject ? a->subject : "", *sb = b->subject ? b->subject : "";

    return a->kind == b->kind && a->t_ms == b->t_ms && strcmp(sa, sb) == 0;
}

int
events_rebuild(struct store *st, int64_t device_id)
{
    struct store_event_array derived = {0}, have = {0};
    struct events_state es;
    _cleanup_free_ char *saved = NULL, *json = NULL;
    int r, added = 0;

    r = derive_range(st, device_id, INT64_MIN / 2, INT64_MAX / 2, &derived, &es);
    /* Where the derivation ended is where a server polling the device goes on from (so it
     * does not report a crash record of the current boot again), unless one already did. */
    if (r >= 0) {
        r = store_state_get(st, device_id, "events", &saved);
        if (r == -ENOENT) {
            saved = NULL;
            r = 0;
        }
    }
    if (r >= 0 && !saved)
        r = events_state_to_json(&es, &json);
    events_state_done(&es);
    if (r >= 0)
        r = store_events(st, device_id, INT64_MIN / 2, INT64_MAX / 2, &have);
    if (r >= 0)
        r = store_begin(st);
    for (size_t i = 0; r >= 0 && i < derived.n; i++) {
        int dup = 0;
        for (size_t k = 0; k < have.n && !dup; k++)
            dup = same_event(&derived.e[i], &have.e[k]);
        if (dup)
            continue;
        r = store_event_add(st, &derived.e[i]);
        if (r >= 0)
            added++;
    }
    if (r >= 0 && json)
        r = store_state_set(st, device_id, "events", json);
    if (r >= 0)
        r = store_commit(st);
    else if (r != -EBUSY)
        store_rollback(st);
    store_event_array_free(&derived);
    store_event_array_free(&have);
    return r < 0 ? r : added;
}
