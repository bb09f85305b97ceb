/* SPDX-License-Identifier: MIT */
/*
 * soak query - print the samples of one metric of one device, for scripts.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "expo-parse.h"
#include "log.h"
#include "parse.h"
#include "store.h"
#include "storecli.h"

static void
usage(FILE *f)
{
    (void)fprintf(
        f,
        "Usage: soak query --db SPEC --device NAME --metric M [--from T] [--to T] [--csv|--json]\n"
        "\n"
        "Print the samples of metric M of a device. M is a metric name, optionally with\n"
        "label matchers: 'node_memory_MemAvailable_bytes' or 'soak_slab_objects{cache=\"filp\"}'\n"
        "(equality only; label=\"\" matches series without that label).\n"
        "\n"
        "Output: a table 'TIME VALUE SERIES' (RFC 3339 UTC); --csv: 'time,series,value'\n"
        "with time in unix seconds; --json: {\"device\", \"metric\", \"series\": [{\"key\",\n"
        "\"labels\": {...}, \"samples\": [[unix_seconds, value], ...]}]} (NaN and infinities\n"
        "are null in JSON).\n"
        "\n"
        "Options:\n"
        "  --db SPEC       sqlite:PATH, a plain PATH, or postgresql://...\n"
        "  --device NAME   the device\n"
        "  --metric M      metric name with optional {label=\"value\",...}\n"
        "  --from T        first time (inclusive): unix seconds or RFC 3339\n"
        "  --to T          last time (inclusive)\n"
        "  --csv           CSV output\n"
        "  --json          JSON output\n"
        "  -h, --help      this help\n"
        "\n"
        "Exit: 0 printed (even if nothing matched), 1 store error or unknown device,\n"
        "2 usage error.\n");
}

/* Does the series key match every matcher of sel? */
static int
key_matches(const char *key, const struct expo_series *sel)
{
    struct expo_series k;
    int ok = 1;

    if (sel->n == 0)
        return 1;
    if (expo_series_parse(key, &k) < 0)
        return 0;
    for (size_t i = 0; ok && i < sel->n; i++) {
        const char *have = "";
        for (size_t j = 0; j < k.n; j++)
            if (strcmp(k.labels[j].name, sel->labels[i].name) == 0)
                have = k.labels[j].value;
        ok = strcmp(have, sel->labels[i].value) == 0;
    }
    expo_series_done(&k);
    return ok;
}

/* A CSV field: quoted, with quotes doubled. */
static void
csv_field(FILE *f, const char *s)
{
    (void)fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            (void)fputc('"', f);
        (void)fputc(*s, f);
    }
    (void)fputc('"', f);
}

static json_t *
labels_json(const char *key)
{
    struct expo_series k;
    json_t *o = json_object();

    if (o && expo_series_parse(key, &k) == 0) {
        for (size_t i = 0; i < k.n; i++)
            (void)json_object_set_new(o, k.labels[i].name, json_string(k.labels[i].value));
        expo_series_done(&k);
    }
    return o;
}

int
cmd_query(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"device", required_argument, NULL, 'D'},
        {"metric", required_argument, NULL, 'm'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"csv", no_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *device = NULL, *metric = NULL;
    int64_t from = INT64_MIN, to = INT64_MAX, dev;
    struct expo_series sel;
    struct store *st = NULL;
    char **keys = NULL;
    json_t *root = NULL, *arr = NULL;
    int c, r, csv = 0, json = 0, ret = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'D':
            device = optarg;
            break;
        case 'm':
            metric = optarg;
            break;
        case 'f':
        case 't':
            if (storecli_time_parse(optarg, c == 'f' ? &from : &to) < 0) {
                log_warnx("--%s: '%s' is neither unix seconds nor RFC 3339",
                          c == 'f' ? "from" : "to", optarg);
                return 2;
            }
            break;
        case 'c':
            csv = 1;
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
    if (!db || !device || !metric || optind < argc || (csv && json)) {
        log_warnx("query needs --db, --device and --metric, and at most one of --csv/--json "
                  "(see soak query --help)");
        return 2;
    }
    if (expo_series_parse(metric, &sel) < 0 || !sel.name[0]) {
        log_warnx("--metric: '%s' is not NAME or NAME{label=\"value\",...}", metric);
        if (sel.name)
            expo_series_done(&sel);
        return 2;
    }
    if (storecli_open("query", db, &st) < 0) {
        expo_series_done(&sel);
        return 1;
    }
    r = store_device(st, device, 0, &dev);
    if (r < 0) {
        log_warnx("device %s: %s", device, r == -ENOENT ? "not in the store" : store_errmsg(st));
        goto done;
    }
    r = store_series(st, dev, sel.name, &keys);
    if (r < 0) {
        log_warnx("%s", store_errmsg(st));
        goto done;
    }
    if (json) {
        root = json_object();
        arr = json_array();
        if (!root || !arr)
            goto done;
        (void)json_object_set_new(root, "device", json_string(device));
        (void)json_object_set_new(root, "metric", json_string(metric));
        (void)json_object_set(root, "series", arr);
    } else if (csv) {
        (void)printf("time,series,value\n");
    }
    for (size_t i = 0; keys[i]; i++) {
        struct sample_array a = {0};
        json_t *samples = NULL;

        if (!key_matches(keys[i], &sel))
            continue;
        r = store_read(st, dev, keys[i], from, to, &a);
        if (r < 0) {
            log_warnx("%s: %s", keys[i], store_errmsg(st));
            sample_array_free(&a);
            goto done;
        }
        if (json) {
            json_t *o = json_object();
            samples = json_array();
            (void)json_object_set_new(o, "key", json_string(keys[i]));
            (void)json_object_set_new(o, "labels", labels_json(keys[i]));
            (void)json_object_set(o, "samples", samples);
            (void)json_array_append_new(arr, o);
        }
        for (size_t j = 0; j < a.n; j++) {
            char num[32], tbuf[40];
            format_double(num, a.s[j].v);
            if (json) {
                json_t *pt = json_array();
                (void)json_array_append_new(pt, json_real((double)a.s[j].t_ms / 1000.0));
                (void)json_array_append_new(pt,
                                            isfinite(a.s[j].v) ? json_real(a.s[j].v) : json_null());
                (void)json_array_append_new(samples, pt);
            } else if (csv) {
                int64_t t = a.s[j].t_ms;
                (void)printf("%lld.%03d,", (long long)(t / 1000 - (t % 1000 < 0)),
                             (int)(((t % 1000) + 1000) % 1000));
                csv_field(stdout, keys[i]);
                (void)printf(",%s\n", num);
            } else {
                storecli_time_format(a.s[j].t_ms, tbuf, sizeof(tbuf));
                (void)printf("%-24s %-16s %s\n", tbuf, num, keys[i]);
            }
        }
        json_decref(samples);
        sample_array_free(&a);
    }
    if (json) {
        char *s = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
        if (!s)
            goto done;
        (void)printf("%s\n", s);
        free(s);
    }
    ret = fflush(stdout) != 0 ? 1 : 0;
done:
    json_decref(arr);
    json_decref(root);
    store_strv_free(keys);
    expo_series_done(&sel);
    store_close(st);
    return ret;
}
