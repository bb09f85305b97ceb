/* SPDX-License-Identifier: MIT */
/*
 * soak slab - the `slabtop -s c` view of a device from stored data, with growth rates.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "judge.h"
#include "log.h"
#include "parse.h"
#include "store.h"
#include "storecli.h"

static void
usage(FILE *f)
{
    (void)fprintf(
        f, "Usage: soak slab --db SPEC --device NAME [--at T] [--top N] [--json]\n"
           "\n"
           "The slab caches of a device's newest boot by size (slabtop -s c) with each\n"
           "cache's growth rate over the boot (Theil-Sen on 10-minute medians). Flags the\n"
           "signs of a struct file leak: filp the largest cache, and filp objects far\n"
           "above the open descriptors (soak_open_fds).\n"
           "\n"
           "Options:\n"
           "  --db SPEC       sqlite:PATH, PATH or postgresql://...\n"
           "  --device NAME   the device\n"
           "  --at T          use only data up to T, in UNIX seconds or RFC 3339\n"
           "                  (2026-11-25T13:00:00Z; 2026-11-25 is midnight UTC)\n"
           "  --top N         caches shown (default 15)\n"
           "  --json          JSON: {\"device\", \"caches\": [{\"name\", \"objects\", "
           "\"object_size\",\n"
           "                  \"bytes\", \"bytes_per_day\", \"objects_per_day\"}], \"open_fds\",\n"
           "                  \"filefd_allocated\", \"filp_on_top\", \"filp_gap\"}\n"
           "  -h, --help      this help\n"
           "\n"
           "Exit: 0 ok, 1 store error or a filp warning, 2 usage error, unknown device or\n"
           "no slab data (slabinfo needs root on the board).\n");
}

static json_t *
num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

int
cmd_slab(int argc, char **argv)
{
    static const struct option opts[] = {
        STORECLI_OPTION_DB,   STORECLI_OPTION_DEVICE,
        STORECLI_OPTION_AT,   {"top", required_argument, NULL, 't'},
        STORECLI_OPTION_JSON, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct storecli_args a = STORECLI_ARGS_INIT;
    const char *device;
    uint64_t top = 15;
    int c, r;
    struct store *st = NULL;
    struct judge_slab_view v;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        r = storecli_arg("slab", c, optarg, &a);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        switch (c) {
        case 't':
            if (parse_u64(optarg, &top) < 0 || top == 0) {
                log_warnx("slab: bad --top '%s'", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!a.db || !a.device || optind != argc) {
        usage(stderr);
        return 2;
    }
    device = a.device;
    if (storecli_open("slab", a.db, &st) < 0)
        return 1;
    r = judge_slab_load(st, device, a.at_ms, &v);
    if (r == -ENOENT) {
        log_warnx("slab: no device '%s' in %s", device, a.db);
        (void)store_close(st);
        return 2;
    }
    if (r < 0) {
        log_errno(r, "slab: %s", store_errmsg(st));
        (void)store_close(st);
        return 1;
    }
    if (v.n == 0) {
        log_warnx("slab: no slabinfo data for %s (the agent needs root to read /proc/slabinfo)",
                  device);
        judge_slab_free(&v);
        (void)store_close(st);
        return 2;
    }
    if (a.json) {
        json_t *o = json_object(), *arr = json_array();
        if (o && arr) {
            (void)json_object_set_new(o, "device", json_string(device));
            for (size_t i = 0; i < v.n && i < top; i++) {
                json_t *x = json_object();
                if (!x)
                    continue;
                (void)json_object_set_new(x, "name", json_string(v.c[i].name));
                (void)json_object_set_new(x, "objects", num(v.c[i].objects));
                (void)json_object_set_new(x, "object_size", num(v.c[i].obj_size));
                (void)json_object_set_new(x, "bytes", num(v.c[i].bytes));
                (void)json_object_set_new(x, "bytes_per_day", num(v.c[i].rate));
                (void)json_object_set_new(x, "objects_per_day", num(v.c[i].obj_rate));
                (void)json_array_append_new(arr, x);
            }
            (void)json_object_set_new(o, "caches", arr);
            arr = NULL;
            (void)json_object_set_new(o, "open_fds", num(v.open_fds));
            (void)json_object_set_new(o, "filefd_allocated", num(v.filefd));
            (void)json_object_set_new(o, "filp_on_top", json_boolean(v.filp_on_top));
            (void)json_object_set_new(o, "filp_gap", json_boolean(v.filp_gap));
            (void)json_dumpf(o, stdout, JSON_INDENT(2));
            (void)fputc('\n', stdout);
        }
        json_decref(arr);
        json_decref(o);
    } else {
        (void)printf("%s: newest boot, %.1f h\n\n", device, v.hours);
        (void)printf("%10s %9s %10s %14s %14s  %s\n", "OBJS", "OBJ SIZE", "CACHE SIZE",
                     "GROWTH/DAY", "OBJS/DAY", "NAME");
        for (size_t i = 0; i < v.n && i < top; i++) {
            const struct judge_slab *s = &v.c[i];
            (void)printf("%10.0f %8.2fK %9.0fK %+13.0fK %+14.0f  %s\n", s->objects,
                         s->obj_size / 1024, s->bytes / 1024,
                         isfinite(s->rate) ? s->rate / 1024 : 0.0,
                         isfinite(s->obj_rate) ? s->obj_rate : 0.0, s->name);
        }
        if (isfinite(v.open_fds))
            (void)printf("\nopen descriptors (soak_open_fds): %.0f", v.open_fds);
        if (isfinite(v.filefd))
            (void)printf("; file-nr allocated: %.0f", v.filefd);
        (void)printf("\n");
        if (v.filp_on_top)
            (void)printf("WARNING: filp is the largest slab cache: struct file objects are "
                         "probably leaking\n");
        if (v.filp_gap)
            (void)printf("WARNING: filp objects far exceed the open descriptors: struct file "
                         "objects are not freed\n");
    }
    r = v.filp_on_top || v.filp_gap ? 1 : 0;
    judge_slab_free(&v);
    (void)store_close(st);
    return r;
}
