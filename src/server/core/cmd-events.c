/* SPDX-License-Identifier: MIT */
/*
 * soak events - list (or rebuild from the stored samples) a device's events.
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
#include "events.h"
#include "log.h"
#include "parse.h"
#include "store.h"
#include "storecli.h"

static void
usage(FILE *f)
{
    (void)fprintf(f,
        "Usage: soak events --db SPEC [--device NAME] [--from T] [--to T] [--kind K] [--json]\n"
        "       soak events --db SPEC --device NAME --rebuild\n"
        "\n"
        "List the events soak derived from a device's samples, oldest first: reboot,\n"
        "build_change, unreachable, reachable (value = outage seconds), oom_kill (value =\n"
        "kills), panic, sensor_lost, sensor_back, iface_change, deploy, alert.\n"
        "--rebuild derives them again from the stored samples (e.g. after `soak import`)\n"
        "and adds the ones not yet stored; it prints how many.\n"
        "\n"
        "Options:\n"
        "  --db SPEC       sqlite:PATH, PATH or postgresql://...\n"
        "  --device NAME   one device (default: every device)\n"
        "  --from T        only events at or after T (UNIX seconds)\n"
        "  --to T          only events at or before T (UNIX seconds)\n"
        "  --kind K        only events of this kind\n"
        "  --json          JSON: {\"events\": [{\"device\", \"time\", \"kind\", \"subject\",\n"
        "                  \"detail\", \"value\"}, ...]}\n"
        "  --rebuild       derive events from the stored samples and add the missing ones\n"
        "  -h, --help      this help\n"
        "\n"
        "Exit: 0 ok, 1 store error, 2 usage error or unknown device.\n");
}

static int
parse_time(const char *s, int64_t *ret)
{
    double x;

    if (parse_double(s, &x) < 0 || !isfinite(x) || x < 0 || x > 1e11)
        return -EINVAL;
    *ret = (int64_t)llround(x * 1000.0);
    return 0;
}

static const char *
dev_name(const struct store_device *d, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (d[i].id == id)
            return d[i].name;
    return "?";
}

static int
rebuild(struct store *st, int64_t id, const char *name)
{
    int added = events_rebuild(st, id);

    if (added < 0) {
        log_warnx("events: %s: %s", name, store_errmsg(st));
        return 1;
    }
    (void)printf("%s: %d event(s) added\n", name, added);
    return 0;
}

static void
print_text(const struct store_event *e, const char *device)
{
    char when[32], val[32] = "";
    time_t t = (time_t)(e->t_ms / 1000);
    struct tm tm;

    (void)gmtime_r(&t, &tm);
    (void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!isnan(e->value))
        (void)snprintf(val, sizeof(val), "%g", e->value);
    (void)printf("%s  %-12s %-13s %s%s%s%s%s\n", when, device, store_event_kind_name(e->kind),
                 e->subject ? e->subject : "", e->subject && (e->detail || val[0]) ? "  " : "",
                 e->detail ? e->detail : "", e->detail && val[0] ? "  " : "", val);
}

int
cmd_events(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'b'},     {"device", required_argument, NULL, 'd'},
        {"from", required_argument, NULL, 'f'},   {"to", required_argument, NULL, 't'},
        {"kind", required_argument, NULL, 'k'},   {"json", no_argument, NULL, 'j'},
        {"rebuild", no_argument, NULL, 'r'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *device = NULL;
    int64_t from = INT64_MIN / 2, to = INT64_MAX / 2, id = -1;
    int json = 0, rebuild_flag = 0, kind = -1, c, r, code = 0;
    struct store *st = NULL;
    struct store_device *devs = NULL;
    size_t n_devs = 0;
    struct store_event_array evs = {0};

    optind = 1;
    while ((c = getopt_long(argc, argv, "b:d:f:t:k:jrh", opts, NULL)) != -1) {
        switch (c) {
        case 'b': db = optarg; break;
        case 'd': device = optarg; break;
        case 'f':
        case 't':
            if (parse_time(optarg, c == 'f' ? &from : &to) < 0) {
                log_warnx("--%s: '%s' is not a UNIX time in seconds", c == 'f' ? "from" : "to",
                          optarg);
                return 2;
            }
            break;
        case 'k':
            kind = store_event_kind_from_name(optarg);
            if (kind < 0) {
                log_warnx("--kind: unknown event kind '%s'", optarg);
                return 2;
            }
            break;
        case 'j': json = 1; break;
        case 'r': rebuild_flag = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || !db || (rebuild_flag && !device)) {
        usage(stderr);
        return 2;
    }
    if (storecli_open("events", db, &st) < 0)
        return 1;
    if (device) {
        r = store_device(st, device, 0, &id);
        if (r == -ENOENT) {
            log_warnx("no device '%s' in %s", device, db);
            code = 2;
            goto out;
        }
        if (r < 0) {
            log_warnx("%s: %s", db, store_errmsg(st));
            code = 1;
            goto out;
        }
    }
    if (rebuild_flag) {
        code = rebuild(st, id, device);
        goto out;
    }
    r = store_devices(st, &devs, &n_devs);
    if (r >= 0)
        r = store_events(st, id, from, to, &evs);
    if (r < 0) {
        log_warnx("%s: %s", db, store_errmsg(st));
        code = 1;
        goto out;
    }
    if (json) {
        json_t *root = json_object(), *arr = json_array();
        char *s;
        for (size_t i = 0; i < evs.n; i++) {
            const struct store_event *e = &evs.e[i];
            json_t *o;
            if (kind >= 0 && (int)e->kind != kind)
                continue;
            o = json_object();
            (void)json_object_set_new(o, "device", json_string(dev_name(devs, n_devs,
                                                                        e->device_id)));
            (void)json_object_set_new(o, "time", json_real((double)e->t_ms / 1000.0));
            (void)json_object_set_new(o, "kind", json_string(store_event_kind_name(e->kind)));
            (void)json_object_set_new(o, "subject", e->subject ? json_string(e->subject)
                                                                 : json_null());
            (void)json_object_set_new(o, "detail", e->detail ? json_string(e->detail)
                                                               : json_null());
            (void)json_object_set_new(o, "value", isfinite(e->value) ? json_real(e->value)
                                                                     : json_null());
            (void)json_array_append_new(arr, o);
        }
        if (device)
            (void)json_object_set_new(root, "device", json_string(device));
        (void)json_object_set_new(root, "events", arr);
        s = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        json_decref(root);
        if (!s) {
            code = 1;
            goto out;
        }
        (void)printf("%s\n", s);
        free(s);
    } else {
        for (size_t i = 0; i < evs.n; i++)
            if (kind < 0 || (int)evs.e[i].kind == kind)
                print_text(&evs.e[i], dev_name(devs, n_devs, evs.e[i].device_id));
    }
out:
    store_event_array_free(&evs);
    store_devices_free(devs, n_devs);
    store_close(st);
    return code;
}
