/* SPDX-License-Identifier: MIT */
/*
 * soak export - write a device's samples as OpenMetrics text that `soak import` reads back.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "commands.h"
#include "expo-parse.h"
#include "expo.h"
#include "log.h"
#include "store.h"
#include "storecli.h"

#define EXPORT_BUF_MAX (4 << 20)    /* output buffer cap, bytes */
#define EXPORT_FLUSH_AT (256 << 10) /* write out when this much is buffered, bytes */

static void
usage(FILE *f)
{
    (void)fprintf(
        f, "Usage: soak export --db SPEC --device NAME [--from T] [--to T] [-o FILE]\n"
           "\n"
           "Write the device's samples as OpenMetrics text (timestamps in seconds with\n"
           "millisecond precision, '# EOF' at the end) on standard output. `soak import`\n"
           "reads it back to identical data. Series are grouped by metric name (each under\n"
           "'# TYPE NAME unknown'), each series in time order.\n"
           "\n"
           "Options:\n"
           "  --db SPEC       sqlite:PATH, a plain PATH, or postgresql://...\n"
           "  --device NAME   the device\n"
           "  --from T        first time (inclusive): unix seconds or RFC 3339\n"
           "  --to T          last time (inclusive): unix seconds or RFC 3339\n"
           "  -o FILE         write to FILE instead of standard output\n"
           "  -h, --help      this help\n"
           "\n"
           "Exit: 0 written, 1 failure (unknown device, store or write error), 2 usage error.\n");
}

static int
flush_out(struct buf *b, FILE *out)
{
    if (b->len && fwrite(b->data, 1, b->len, out) != b->len)
        return -EIO;
    buf_reset(b);
    return 0;
}

static int
cmp_key(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    size_t nx = strcspn(x, "{"), ny = strcspn(y, "{");
    int c = strncmp(x, y, MIN(nx, ny));

    /* By metric name first (so a family's series are together), then by key. */
    if (c == 0 && nx != ny)
        c = nx < ny ? -1 : 1;
    return c ? c : strcmp(x, y);
}

int
cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},   {"device", required_argument, NULL, 'D'},
        {"from", required_argument, NULL, 'f'}, {"to", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *device = NULL, *outpath = NULL;
    int64_t from = INT64_MIN, to = INT64_MAX, dev;
    struct store *st = NULL;
    char **keys = NULL, family[EXPO_NAME_MAX + 1] = "";
    struct buf text;
    struct expo_writer w;
    FILE *out = stdout;
    size_t nkeys = 0;
    int c, r, ret = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'D':
            device = optarg;
            break;
        case 'f':
        case 't':
            if (storecli_time_parse(optarg, c == 'f' ? &from : &to) < 0) {
                log_warnx("--%s: '%s' is neither unix seconds nor RFC 3339",
                          c == 'f' ? "from" : "to", optarg);
                return 2;
            }
            break;
        case 'o':
            outpath = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!db || !device || optind < argc) {
        log_warnx("export needs --db and --device (see soak export --help)");
        return 2;
    }
    if (storecli_open("export", db, &st) < 0)
        return 1;
    r = store_device(st, device, 0, &dev);
    if (r < 0) {
        log_warnx("device %s: %s", device, r == -ENOENT ? "not in the store" : store_errmsg(st));
        store_close(st);
        return 1;
    }
    r = store_series(st, dev, NULL, &keys);
    if (r < 0) {
        log_warnx("%s", store_errmsg(st));
        store_close(st);
        return 1;
    }
    nkeys = (size_t)r;
    qsort(keys, nkeys, sizeof(char *), cmp_key);
    if (outpath) {
        out = fopen(outpath, "we");
        if (!out) {
            log_warn("%s", outpath);
            goto done;
        }
    }
    buf_init(&text, EXPORT_BUF_MAX);
    expo_writer_init(&w, &text, EXPO_OPENMETRICS);
    r = 0;
    for (size_t i = 0; r == 0 && i < nkeys; i++) {
        struct sample_array a = {0};
        char name[EXPO_NAME_MAX + 1];

        if (expo_key_name(keys[i], name, sizeof(name)) < 0) {
            log_warnx("skipping series with a bad key '%.60s'", keys[i]);
            continue;
        }
        if (strcmp(name, family) != 0) {
            r = expo_family(&w, name, METRIC_UNTYPED, NULL);
            memcpy(family, name, sizeof(name));
        }
        if (r == 0)
            r = store_read(st, dev, keys[i], from, to, &a);
        if (r < 0) {
            log_warnx("%s: %s", keys[i], store_errmsg(st));
            sample_array_free(&a);
            break;
        }
        r = 0;
        for (size_t j = 0; r == 0 && j < a.n; j++) {
            r = expo_sample_key(&w, keys[i], a.s[j].v, a.s[j].t_ms, 1);
            if (r == 0 && text.len >= EXPORT_FLUSH_AT)
                r = flush_out(&text, out);
        }
        sample_array_free(&a);
    }
    if (r == 0)
        r = expo_finish(&w);
    if (r == 0)
        r = flush_out(&text, out);
    if (r == 0 && fflush(out) != 0)
        r = -EIO;
    if (r < 0)
        log_errno(r, "export failed");
    else
        ret = 0;
    buf_free(&text);
    if (outpath && out && fclose(out) != 0 && ret == 0) {
        log_warn("%s", outpath);
        ret = 1;
    }
done:
    store_strv_free(keys);
    store_close(st);
    return ret;
}
