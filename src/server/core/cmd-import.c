/* SPDX-License-Identifier: MIT */
/*
 * soak import - load OpenMetrics / Prometheus text files with timestamps into a store.
 * One transaction per file: a broken file adds nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "commands.h"
#include "events.h"
#include "expo-parse.h"
#include "log.h"
#include "store.h"
#include "storecli.h"

#define IMPORT_READ_SIZE (256 * 1024)   /* bytes per read() */
#define IMPORT_KEY_MAX (64 * 1024)      /* longest series key accepted, bytes */
#define IMPORT_PROGRESS_BYTES (8 << 20) /* files from this size get a progress line */
#define IMPORT_PROGRESS_EVERY 0.5       /* seconds between progress updates */

static void
usage(FILE *f)
{
    (void)fprintf(
        f, "Usage: soak import --db SPEC --device NAME [OPTIONS] FILE...\n"
           "\n"
           "Import samples with timestamps into the store, creating the database and the\n"
           "device if needed. FILE is OpenMetrics text (timestamps in seconds, ending with\n"
           "'# EOF') or Prometheus text (timestamps in integer milliseconds); the format is\n"
           "detected. '-' reads standard input. Samples already stored (same series and time)\n"
           "are skipped, so importing a file twice adds nothing.\n"
           "\n"
           "Each file is one transaction: a malformed file is reported as FILE:LINE: reason\n"
           "and nothing of it is imported (the other files still are). A sample without a\n"
           "timestamp is an error. Afterwards the device's events (reboots, build changes,\n"
           "OOM kills, panics, lost sensors, interface changes) are derived from what is\n"
           "stored, as `soak server` derives them while polling (see soak events).\n"
           "\n"
           "Options:\n"
           "  --db SPEC        sqlite:PATH, a plain PATH, or postgresql://...\n"
           "  --device NAME    the device the samples belong to\n"
           "  --format F       auto (default), openmetrics or prometheus\n"
           "  -q, --quiet      no progress line, no summary\n"
           "  -h, --help       this help\n"
           "\n"
           "A progress line is shown on a terminal for large files; a summary per file follows\n"
           "(samples read, added, duplicates, series, time range, rate).\n"
           "Exit: 0 all files imported, 1 a file failed, 2 usage error.\n");
}

/* A set of 64-bit key hashes, to count distinct series. */
struct hset {
    uint64_t *v;
    size_t cap, n;
};

static int
hset_add(struct hset *h, uint64_t x)
{
    if (x == 0)
        x = 1;
    if ((h->n + 1) * 2 > h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        uint64_t *nv = calloc(cap, sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        for (size_t i = 0; i < h->cap; i++) {
            if (!h->v[i])
                continue;
            size_t j = h->v[i] & (cap - 1);
            while (nv[j])
                j = (j + 1) & (cap - 1);
            nv[j] = h->v[i];
        }
        free(h->v);
        h->v = nv;
        h->cap = cap;
    }
    for (size_t j = x & (h->cap - 1);; j = (j + 1) & (h->cap - 1)) {
        if (h->v[j] == x)
            return 0;
        if (!h->v[j]) {
            h->v[j] = x;
            h->n++;
            return 1;
        }
    }
}

struct import {
    struct store *st;
    const char *device;
    int64_t dev;
    struct buf key;
    struct hset series;
    uint64_t read, added, dups;
    int64_t tmin, tmax;
    uint64_t last_hash;
    int err; /* store error from the callback */
    char errmsg[300];
};

static uint64_t
key_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int
on_sample(void *ctx, const struct expo_parsed_sample *s)
{
    struct import *im = ctx;
    uint64_t h;
    int r;

    if (!s->has_ts) {
        (void)snprintf(im->errmsg, sizeof(im->errmsg), "sample of '%s' has no timestamp", s->name);
        return -EINVAL;
    }
    r = expo_canonical_key(s->name, s->labels, s->n, &im->key);
    if (r < 0) {
        (void)snprintf(im->errmsg, sizeof(im->errmsg), "series key of '%s' %s", s->name,
                       r == -E2BIG ? "too long" : "invalid");
        return r;
    }
    h = key_hash(im->key.data, im->key.len);
    if (h != im->last_hash) {
        r = hset_add(&im->series, h);
        if (r < 0)
            return r;
        im->last_hash = h;
    }
    r = store_append(im->st, im->dev, im->key.data, s->ts_ms, s->value);
    if (r < 0) {
        (void)snprintf(im->errmsg, sizeof(im->errmsg), "store: %s", store_errmsg(im->st));
        im->err = r;
        return r;
    }
    im->read++;
    if (r > 0)
        im->added++;
    else
        im->dups++;
    if (im->read == 1 || s->ts_ms < im->tmin)
        im->tmin = s->ts_ms;
    if (im->read == 1 || s->ts_ms > im->tmax)
        im->tmax = s->ts_ms;
    return 0;
}

static double
now_mono(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Import one file in one transaction. 0, or -errno after printing FILE:LINE: reason. */
static int
import_file(struct import *im, const char *path, enum expo_parse_format fmt, int quiet)
{
    struct expo_parse_opts o = {
        .format = fmt,
        .on_sample = on_sample,
        .ctx = im,
    };
    struct expo_parser *p = NULL;
    const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
    _cleanup_close_ int fd = -1;
    _cleanup_free_ char *chunk = NULL;
    struct stat sb;
    off_t total = 0, done = 0;
    int progress, r;
    double t0 = now_mono(), last = t0, dt;
    char a[40], b[40];

    fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_warn("%s", name);
        return -errno;
    }
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
        total = sb.st_size;
    progress = !quiet && isatty(STDERR_FILENO) && (total == 0 || total >= IMPORT_PROGRESS_BYTES);
    chunk = malloc(IMPORT_READ_SIZE);
    if (!chunk)
        return -ENOMEM;
    im->read = im->added = im->dups = 0;
    im->series.n = 0;
    if (im->series.v)
        memset(im->series.v, 0, im->series.cap * sizeof(uint64_t));
    im->last_hash = 0;
    im->err = 0;
    im->errmsg[0] = '\0';
    r = expo_parser_new(&o, &p);
    if (r < 0)
        return r;
    r = store_begin(im->st);
    if (r < 0) {
        log_warnx("%s: %s", name, store_errmsg(im->st));
        expo_parser_free(p);
        return r;
    }
    r = store_device(im->st, im->device, 1, &im->dev);
    if (r < 0) {
        log_warnx("%s: device %s: %s", name, im->device, store_errmsg(im->st));
        goto fail;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, IMPORT_READ_SIZE);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            log_warn("%s: read", name);
            goto fail;
        }
        if (n == 0)
            break;
        done += n;
        r = expo_parser_feed(p, chunk, (size_t)n);
        if (r < 0)
            goto parse_fail;
        if (progress && now_mono() - last >= IMPORT_PROGRESS_EVERY) {
            last = now_mono();
            if (total > 0)
                (void)fprintf(stderr, "\r%s: %3d%%  %" PRIu64 " samples  %" PRIu64 " added ", name,
                              (int)(100.0 * (double)done / (double)total), im->read, im->added);
            else
                (void)fprintf(stderr, "\r%s: %" PRIu64 " samples  %" PRIu64 " added ", name,
                              im->read, im->added);
        }
    }
    r = expo_parser_finish(p);
    if (r < 0)
        goto parse_fail;
    r = store_commit(im->st);
    if (progress)
        (void)fputs("\r\033[K", stderr);
    if (r < 0) {
        log_warnx("%s: nothing imported: %s", name, store_errmsg(im->st));
        expo_parser_free(p);
        return r;
    }
    dt = now_mono() - t0;
    if (!quiet) {
        if (im->read) {
            storecli_time_format(im->tmin, a, sizeof(a));
            storecli_time_format(im->tmax, b, sizeof(b));
        }
        (void)fprintf(stderr,
                      "%s: %" PRIu64 " samples read, %" PRIu64 " added, %" PRIu64
                      " duplicates, %zu series, %s%s%s, %.0f samples/s\n",
                      name, im->read, im->added, im->dups, im->series.n, im->read ? a : "no data",
                      im->read ? " .. " : "", im->read ? b : "",
                      dt > 0 ? (double)im->read / dt : 0.0);
    }
    expo_parser_free(p);
    return 0;

parse_fail:
    if (progress)
        (void)fputs("\r\033[K", stderr);
    if (im->err)
        log_warnx("%s:%lu: %s; nothing of this file imported", name, expo_parser_errline(p),
                  im->errmsg);
    else if (im->errmsg[0])
        log_warnx("%s:%lu: %s; nothing of this file imported", name, expo_parser_errline(p),
                  im->errmsg);
    else
        log_warnx("%s:%lu: %s; nothing of this file imported", name, expo_parser_errline(p),
                  expo_parser_errmsg(p));
    store_rollback(im->st);
    expo_parser_free(p);
    return r;
fail:
    if (progress)
        (void)fputs("\r\033[K", stderr);
    store_rollback(im->st);
    expo_parser_free(p);
    return r;
}

int
cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},     {"device", required_argument, NULL, 'D'},
        {"format", required_argument, NULL, 'f'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *device = NULL;
    enum expo_parse_format fmt = EXPO_PARSE_AUTO;
    struct import im = {0};
    char err[512];
    int c, quiet = 0, failed = 0, r;

    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'D':
            device = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "auto") == 0)
                fmt = EXPO_PARSE_AUTO;
            else if (strcmp(optarg, "openmetrics") == 0)
                fmt = EXPO_PARSE_OPENMETRICS;
            else if (strcmp(optarg, "prometheus") == 0)
                fmt = EXPO_PARSE_PROMETHEUS;
            else {
                log_warnx("--format: auto, openmetrics or prometheus, not '%s'", optarg);
                return 2;
            }
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!db || !device || optind >= argc) {
        log_warnx("import needs --db, --device and at least one FILE (see soak import --help)");
        return 2;
    }
    r = store_open(db, &im.st, err, sizeof(err));
    if (r < 0) {
        log_warnx("cannot open store %s: %s", db, err);
        return 1;
    }
    im.device = device;
    buf_init(&im.key, IMPORT_KEY_MAX);
    for (int i = optind; i < argc; i++)
        if (import_file(&im, argv[i], fmt, quiet) < 0)
            failed++;
    if (failed < argc - optind) {
        /* Reboots, builds, OOM kills, panics ... of what was imported, as the server
         * derives them while polling (idempotent: a re-import adds none). */
        int64_t id;
        int n = store_device(im.st, device, 0, &id);
        if (n >= 0)
            n = events_rebuild(im.st, id);
        if (n < 0)
            log_warnx("%s: events not derived: %s (run soak events --rebuild)", device,
                      store_errmsg(im.st));
        else if (!quiet && n > 0)
            (void)fprintf(stderr, "%s: %d event(s) derived\n", device, n);
    }
    buf_free(&im.key);
    free(im.series.v);
    im.st = store_close(im.st);
    return failed ? 1 : 0;
}
