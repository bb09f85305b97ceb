/* SPDX-License-Identifier: MIT */
/*
 * soak devices - list the devices of a store with their time range and series count.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "log.h"
#include "store.h"
#include "storecli.h"

static void
usage(FILE *f)
{
    (void)fprintf(
        f,
        "Usage: soak devices --db SPEC [--json]\n"
        "\n"
        "List the devices in the store: name, number of series, first and last sample\n"
        "(RFC 3339, UTC). With --json: an array of {\"name\", \"series\", \"first\", \"last\"},\n"
        "times in unix seconds (null when the device has no samples).\n"
        "\n"
        "Options:\n"
        "  --db SPEC    sqlite:PATH, a plain PATH, or postgresql://...\n"
        "  --json       JSON instead of a table\n"
        "  -h, --help   this help\n"
        "\n"
        "Exit: 0 listed, 1 store error, 2 usage error.\n");
}

static json_t *
time_json(const struct store_device *d, int64_t t)
{
    if (d->first_ms == 0 && d->last_ms == 0)
        return json_null();
    return json_real((double)t / 1000.0);
}

int
cmd_devices(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL;
    struct store *st = NULL;
    struct store_device *d = NULL;
    size_t n = 0;
    int c, r, json = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!db || optind < argc) {
        log_warnx("devices needs --db (see soak devices --help)");
        return 2;
    }
    if (storecli_open("devices", db, &st) < 0)
        return 1;
    r = store_devices(st, &d, &n);
    if (r < 0) {
        log_warnx("%s", store_errmsg(st));
        store_close(st);
        return 1;
    }
    if (json) {
        json_t *arr = json_array();
        char *s;
        for (size_t i = 0; arr && i < n; i++) {
            json_t *o = json_object();
            (void)json_object_set_new(o, "name", json_string(d[i].name));
            (void)json_object_set_new(o, "series", json_integer((json_int_t)d[i].series));
            (void)json_object_set_new(o, "first", time_json(&d[i], d[i].first_ms));
            (void)json_object_set_new(o, "last", time_json(&d[i], d[i].last_ms));
            (void)json_array_append_new(arr, o);
        }
        s = arr ? json_dumps(arr, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) : NULL;
        json_decref(arr);
        if (!s) {
            log_warnx("out of memory");
            r = -1;
        } else {
            (void)printf("%s\n", s);
            free(s);
        }
    } else {
        (void)printf("%-24s %8s  %-24s  %-24s\n", "DEVICE", "SERIES", "FIRST", "LAST");
        for (size_t i = 0; i < n; i++) {
            char a[40] = "-", b[40] = "-";
            if (d[i].first_ms || d[i].last_ms) {
                storecli_time_format(d[i].first_ms, a, sizeof(a));
                storecli_time_format(d[i].last_ms, b, sizeof(b));
            }
            (void)printf("%-24s %8zu  %-24s  %-24s\n", d[i].name, d[i].series, a, b);
        }
    }
    store_devices_free(d, n);
    store_close(st);
    return r < 0 || fflush(stdout) != 0 ? 1 : 0;
}
