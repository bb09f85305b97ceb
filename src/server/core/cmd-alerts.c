/* SPDX-License-Identifier: MIT */
/*
 * soak alerts - the alerts the server raised: open ones and recent notifications.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "log.h"
#include "parse.h"
#include "store.h"
#include "storecli.h"

#define RECENT_DEFAULT (7 * 86400.0) /* seconds of notifications listed */

static void
usage(FILE *f)
{
    (void)fprintf(f,
        "Usage: soak alerts --db SPEC [--device NAME] [--recent SECONDS] [--json]\n"
        "\n"
        "List the alerts `soak server` raised (stored as alert events): the ones still open\n"
        "(fired and not resolved), then every notification of the last --recent seconds\n"
        "(default 7 days) before the newest one.\n"
        "\n"
        "Options:\n"
        "  --db SPEC          sqlite:PATH, PATH or postgresql://...\n"
        "  --device NAME      one device (default: every device)\n"
        "  --recent SECONDS   how far back to list notifications\n"
        "  --json             {\"open\": [{\"device\", \"alert\", \"subject\", \"since\",\n"
        "                     \"summary\"}], \"recent\": [{\"device\", \"alert\", \"subject\",\n"
        "                     \"state\", \"time\", \"summary\"}]}\n"
        "  -h, --help         this help\n"
        "\n"
        "Exit: 0 no alert open, 1 some alert open (or a store error), 2 usage error.\n");
}

struct row {
    const char *device;
    const struct store_event *e;
};

static const char *
dev_name(const struct store_device *d, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (d[i].id == id)
            return d[i].name;
    return "?";
}

/* Split "NAME:SUBJECT" into name (copied into out) and subject (NULL when none). */
static const char *
split(const char *subject, char *out, size_t n)
{
    const char *colon = strchr(subject, ':');
    size_t len = colon ? (size_t)(colon - subject) : strlen(subject);

    (void)snprintf(out, n, "%.*s", (int)len, subject);
    return colon ? colon + 1 : NULL;
}

static void
fmt_time(int64_t t_ms, char *out, size_t n)
{
    time_t t = (time_t)(t_ms / 1000);
    struct tm tm;

    (void)gmtime_r(&t, &tm);
    (void)strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
cmd_alerts(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'b'},   {"device", required_argument, NULL, 'd'},
        {"recent", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *device = NULL;
    double recent = RECENT_DEFAULT;
    int json = 0, c, r, code = 0;
    int64_t id = -1, newest = 0;
    struct store *st = NULL;
    struct store_device *devs = NULL;
    size_t n_devs = 0, n_open = 0;
    struct store_event_array evs = {0};
    const struct store_event **open = NULL;

    optind = 1;
    while ((c = getopt_long(argc, argv, "b:d:r:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'b': db = optarg; break;
        case 'd': device = optarg; break;
        case 'r':
            if (parse_double(optarg, &recent) < 0 || !(recent >= 0) || !isfinite(recent)) {
                log_warnx("--recent: '%s' is not a number of seconds", optarg);
                return 2;
            }
            break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || !db) {
        usage(stderr);
        return 2;
    }
    if (storecli_open("alerts", db, &st) < 0)
        return 1;
    if (device && store_device(st, device, 0, &id) < 0) {
        log_warnx("no device '%s' in %s", device, db);
        code = 2;
        goto out;
    }
    r = store_devices(st, &devs, &n_devs);
    if (r >= 0)
        r = store_events(st, id, INT64_MIN / 2, INT64_MAX / 2, &evs);
    if (r < 0) {
        log_warnx("%s: %s", db, store_errmsg(st));
        code = 1;
        goto out;
    }
    open = calloc(evs.n ? evs.n : 1, sizeof(*open));
    if (!open) {
        code = 1;
        goto out;
    }
    /* The last state of each (device, subject) decides whether it is open. */
    for (size_t i = 0; i < evs.n; i++) {
        const struct store_event *e = &evs.e[i];
        size_t k;
        if (e->kind != EVENT_ALERT || !e->subject)
            continue;
        newest = MAX(newest, e->t_ms);
        for (k = 0; k < n_open; k++)
            if (open[k]->device_id == e->device_id && strcmp(open[k]->subject, e->subject) == 0)
                break;
        if (e->value > 0 && k == n_open)
            open[n_open++] = e;
        else if (e->value <= 0 && k < n_open)
            open[k] = open[--n_open];
    }
    if (json) {
        json_t *root = json_object(), *jo = json_array(), *jr = json_array();
        char *s;
        for (size_t k = 0; k < n_open; k++) {
            char name[64];
            const char *subj = split(open[k]->subject, name, sizeof(name));
            json_t *o = json_object();
            (void)json_object_set_new(o, "device", json_string(dev_name(devs, n_devs,
                                                                        open[k]->device_id)));
            (void)json_object_set_new(o, "alert", json_string(name));
            (void)json_object_set_new(o, "subject", subj ? json_string(subj) : json_null());
            (void)json_object_set_new(o, "since", json_real((double)open[k]->t_ms / 1000.0));
            (void)json_object_set_new(o, "summary", json_string(open[k]->detail ?
                                                                open[k]->detail : ""));
            (void)json_array_append_new(jo, o);
        }
        for (size_t i = 0; i < evs.n; i++) {
            const struct store_event *e = &evs.e[i];
            char name[64];
            const char *subj;
            json_t *o;
            if (e->kind != EVENT_ALERT || !e->subject ||
                (double)(newest - e->t_ms) > recent * 1000.0)
                continue;
            subj = split(e->subject, name, sizeof(name));
            o = json_object();
            (void)json_object_set_new(o, "device", json_string(dev_name(devs, n_devs,
                                                                        e->device_id)));
            (void)json_object_set_new(o, "alert", json_string(name));
            (void)json_object_set_new(o, "subject", subj ? json_string(subj) : json_null());
            (void)json_object_set_new(o, "state", json_string(e->value > 0 ? "firing"
                                                                           : "resolved"));
            (void)json_object_set_new(o, "time", json_real((double)e->t_ms / 1000.0));
            (void)json_object_set_new(o, "summary", json_string(e->detail ? e->detail : ""));
            (void)json_array_append_new(jr, o);
        }
        (void)json_object_set_new(root, "open", jo);
        (void)json_object_set_new(root, "recent", jr);
        s = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        json_decref(root);
        if (s)
            (void)printf("%s\n", s);
        free(s);
    } else {
        char when[32];
        (void)printf("Open alerts: %zu\n", n_open);
        for (size_t k = 0; k < n_open; k++) {
            fmt_time(open[k]->t_ms, when, sizeof(when));
            (void)printf("  since %s  %-12s %-24s %s\n", when,
                         dev_name(devs, n_devs, open[k]->device_id), open[k]->subject,
                         open[k]->detail ? open[k]->detail : "");
        }
        (void)printf("Recent notifications:\n");
        for (size_t i = 0; i < evs.n; i++) {
            const struct store_event *e = &evs.e[i];
            if (e->kind != EVENT_ALERT || !e->subject ||
                (double)(newest - e->t_ms) > recent * 1000.0)
                continue;
            fmt_time(e->t_ms, when, sizeof(when));
            (void)printf("  %s  %-8s %-12s %-24s %s\n", when, e->value > 0 ? "firing" : "resolved",
                         dev_name(devs, n_devs, e->device_id), e->subject,
                         e->detail ? e->detail : "");
        }
    }
    if (n_open)
        code = 1;
out:
    free(open);
    store_event_array_free(&evs);
    store_devices_free(devs, n_devs);
    store_close(st);
    return code;
}
