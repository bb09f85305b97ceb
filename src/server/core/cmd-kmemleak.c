/* SPDX-License-Identifier: MIT */
/*
 * soak kmemleak - summarise a /sys/kernel/debug/kmemleak report (or two).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "kmemleak.h"
#include "log.h"
#include "parse.h"

#define GROUPS_MAX 4096 /* distinct backtraces / sites kept; the rest is counted as other */

static void
usage(FILE *f)
{
    (void)fprintf(
        f,
        "Usage: soak kmemleak [FILE|-] [--json] [--top N]\n"
        "       soak kmemleak --diff OLD NEW [--json] [--top N]\n"
        "\n"
        "Summarise a kmemleak report (/sys/kernel/debug/kmemleak, old and new kernel\n"
        "formats) by allocation site and by backtrace: objects, bytes, comm, first and\n"
        "last jiffies, with the object type of well-known sites (alloc_empty_file ->\n"
        "struct file, prepare_creds -> struct cred, ...). With --diff: what grew from\n"
        "OLD to NEW. FILE defaults to stdin.\n"
        "\n"
        "Options:\n"
        "  --top N        show the N largest groups (default 10)\n"
        "  --json         JSON: {\"objects\", \"bytes\", \"sites\": [...], \"backtraces\": [...]}\n"
        "  --diff OLD NEW compare two reports\n"
        "  -h, --help     this help\n"
        "\n"
        "Exit: 0 ok, 1 unreadable file, 2 usage error.\n");
}

struct report {
    struct kmemleak_group *tg, *sg;
    struct kmemleak_table bt, bs;
    struct kmemleak_parser p;
};

static void
report_free(struct report *r)
{
    free(r->tg);
    free(r->sg);
    r->tg = r->sg = NULL;
}

static int
report_read(const char *path, struct report *rep)
{
    FILE *f = stdin;
    char buf[65536];
    size_t n;

    rep->tg = calloc(GROUPS_MAX, sizeof(*rep->tg));
    rep->sg = calloc(GROUPS_MAX, sizeof(*rep->sg));
    if (!rep->tg || !rep->sg) {
        report_free(rep);
        return -ENOMEM;
    }
    kmemleak_table_init(&rep->bt, rep->tg, GROUPS_MAX);
    kmemleak_table_init(&rep->bs, rep->sg, GROUPS_MAX);
    kmemleak_parser_init(&rep->p, &rep->bt, &rep->bs);
    if (strcmp(path, "-") != 0) {
        f = fopen(path, "re");
        if (!f) {
            int e = -errno;
            report_free(rep);
            return e;
        }
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        (void)kmemleak_parser_feed(&rep->p, buf, n);
    if (ferror(f)) {
        if (f != stdin)
            (void)fclose(f);
        report_free(rep);
        return -EIO;
    }
    if (f != stdin)
        (void)fclose(f);
    (void)kmemleak_parser_finish(&rep->p);
    kmemleak_table_sort(&rep->bt);
    kmemleak_table_sort(&rep->bs);
    return 0;
}

static void
fmt_count(char out[32], uint64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v), o = 0;

    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = tmp[i];
    }
    out[o] = '\0';
}

/* "16,704 struct file from path_openat via alloc_empty_file" */
static void
describe(const struct kmemleak_group *g, int64_t count, char *out, size_t len)
{
    const char *type = kmemleak_site_type(g->site);
    char num[32];

    fmt_count(num, (uint64_t)(count < 0 ? -count : count));
    if (!g->site[0])
        (void)snprintf(out, len, "%s%s objects with no allocation site", count < 0 ? "-" : "", num);
    else if (g->caller[0])
        (void)snprintf(out, len, "%s%s %s from %s via %s", count < 0 ? "-" : "", num,
                       type ? type : "objects", g->caller, g->site);
    else
        (void)snprintf(out, len, "%s%s %s via %s", count < 0 ? "-" : "", num,
                       type ? type : "objects", g->site);
}

static json_t *
group_json(const struct kmemleak_group *g, int with_frames, int64_t delta, int diff)
{
    json_t *o = json_object();
    const char *type = kmemleak_site_type(g->site);
    char key[32];

    if (!o)
        return NULL;
    (void)snprintf(key, sizeof(key), "%016llx", (unsigned long long)g->key);
    (void)json_object_set_new(o, "key", json_string(key));
    (void)json_object_set_new(o, "site", json_string(g->site));
    (void)json_object_set_new(o, "caller", json_string(g->caller));
    (void)json_object_set_new(o, "type", type ? json_string(type) : json_null());
    (void)json_object_set_new(o, "objects", json_integer((json_int_t)g->objects));
    (void)json_object_set_new(o, "bytes", json_integer((json_int_t)g->bytes));
    (void)json_object_set_new(o, "comm", json_string(g->comm));
    (void)json_object_set_new(o, "first_jiffies", json_integer((json_int_t)g->first_jiffies));
    (void)json_object_set_new(o, "last_jiffies", json_integer((json_int_t)g->last_jiffies));
    if (diff)
        (void)json_object_set_new(o, "objects_delta", json_integer((json_int_t)delta));
    if (with_frames) {
        json_t *fr = json_array();
        for (unsigned i = 0; fr && i < g->nframes; i++)
            (void)json_array_append_new(fr, json_string(g->frames[i]));
        if (fr)
            (void)json_object_set_new(o, "backtrace", fr);
    }
    return o;
}

static int
print_one(const struct report *rep, size_t top, int json)
{
    char num[32], bytes[32], line[256];

    if (json) {
        json_t *o = json_object(), *sites = json_array(), *bts = json_array();
        if (!o || !sites || !bts) {
            json_decref(o);
            json_decref(sites);
            json_decref(bts);
            return -ENOMEM;
        }
        (void)json_object_set_new(o, "objects", json_integer((json_int_t)rep->p.objects));
        (void)json_object_set_new(o, "bytes", json_integer((json_int_t)rep->p.bytes));
        (void)json_object_set_new(o, "unparsed_lines", json_integer((json_int_t)rep->p.bad_lines));
        for (size_t i = 0; i < rep->bs.n && i < top; i++)
            (void)json_array_append_new(sites, group_json(&rep->bs.g[i], 0, 0, 0));
        for (size_t i = 0; i < rep->bt.n && i < top; i++)
            (void)json_array_append_new(bts, group_json(&rep->bt.g[i], 1, 0, 0));
        (void)json_object_set_new(o, "sites", sites);
        (void)json_object_set_new(o, "backtraces", bts);
        (void)json_dumpf(o, stdout, JSON_INDENT(2));
        (void)fputc('\n', stdout);
        json_decref(o);
        return 0;
    }
    fmt_count(num, rep->p.objects);
    fmt_count(bytes, rep->p.bytes);
    (void)printf("%s unreferenced objects, %s bytes, %zu allocation sites, %zu backtraces\n", num,
                 bytes, rep->bs.n, rep->bt.n);
    if (rep->p.bad_lines)
        (void)printf("(%llu lines did not parse and were skipped)\n",
                     (unsigned long long)rep->p.bad_lines);
    (void)printf("\nBy allocation site:\n");
    for (size_t i = 0; i < rep->bs.n && i < top; i++) {
        const struct kmemleak_group *g = &rep->bs.g[i];
        describe(g, (int64_t)g->objects, line, sizeof(line));
        fmt_count(bytes, g->bytes);
        (void)printf("  %s  (%s bytes, comm %s, jiffies %llu..%llu)\n", line, bytes, g->comm,
                     (unsigned long long)g->first_jiffies, (unsigned long long)g->last_jiffies);
    }
    if (rep->bs.other_objects)
        (void)printf("  ... %llu more objects in sites not kept\n",
                     (unsigned long long)rep->bs.other_objects);
    (void)printf("\nBy backtrace:\n");
    for (size_t i = 0; i < rep->bt.n && i < top; i++) {
        const struct kmemleak_group *g = &rep->bt.g[i];
        fmt_count(num, g->objects);
        fmt_count(bytes, g->bytes);
        (void)printf("  %s objects, %s bytes, %s %016llx, comm %s\n", num, bytes,
                     g->has_crc ? "crc" : "hash", (unsigned long long)g->key, g->comm);
        for (unsigned k = 0; k < g->nframes; k++)
            (void)printf("      %s\n", g->frames[k]);
    }
    return 0;
}

struct delta {
    const struct kmemleak_group *g;
    int64_t d;
};

static int
cmp_delta(const void *a, const void *b)
{
    const struct delta *x = a, *y = b;

    return (x->d < y->d) - (x->d > y->d);
}

static int
print_diff(const struct report *old, const struct report *new, size_t top, int json)
{
    struct delta *d = calloc(new->bs.n + old->bs.n + 1, sizeof(*d));
    size_t n = 0;
    char line[256], num[32];

    if (!d)
        return -ENOMEM;
    for (size_t i = 0; i < new->bs.n; i++) {
        const struct kmemleak_group *o = kmemleak_table_find(&old->bs, new->bs.g[i].key);
        d[n++] = (struct delta){&new->bs.g[i],
                                (int64_t) new->bs.g[i].objects - (int64_t)(o ? o->objects : 0)};
    }
    for (size_t i = 0; i < old->bs.n; i++)
        if (!kmemleak_table_find(&new->bs, old->bs.g[i].key))
            d[n++] = (struct delta){&old->bs.g[i], -(int64_t)old->bs.g[i].objects};
    qsort(d, n, sizeof(*d), cmp_delta);
    if (json) {
        json_t *o = json_object(), *arr = json_array();
        if (!o || !arr) {
            json_decref(o);
            json_decref(arr);
            free(d);
            return -ENOMEM;
        }
        (void)json_object_set_new(o, "objects_old", json_integer((json_int_t)old->p.objects));
        (void)json_object_set_new(o, "objects_new", json_integer((json_int_t) new->p.objects));
        for (size_t i = 0; i < n && i < top; i++)
            if (d[i].d > 0)
                (void)json_array_append_new(arr, group_json(d[i].g, 0, d[i].d, 1));
        (void)json_object_set_new(o, "grew", arr);
        (void)json_dumpf(o, stdout, JSON_INDENT(2));
        (void)fputc('\n', stdout);
        json_decref(o);
        free(d);
        return 0;
    }
    fmt_count(num, old->p.objects);
    (void)printf("%s -> ", num);
    fmt_count(num, new->p.objects);
    (void)printf("%s unreferenced objects\n\nGrew:\n", num);
    for (size_t i = 0; i < n && i < top; i++) {
        if (d[i].d <= 0)
            break;
        describe(d[i].g, d[i].d, line, sizeof(line));
        (void)printf("  +%s\n", line);
    }
    free(d);
    return 0;
}

int
cmd_kmemleak(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"top", required_argument, NULL, 't'},
        {"diff", no_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct report a = {0}, b = {0};
    int json = 0, diff = 0, c, r;
    uint64_t top = 10;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'D':
            diff = 1;
            break;
        case 't':
            if (parse_u64(optarg, &top) < 0 || top == 0 || top > GROUPS_MAX) {
                log_warnx("kmemleak: bad --top '%s' (1..%d)", optarg, GROUPS_MAX);
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
    if (diff) {
        if (argc - optind != 2) {
            usage(stderr);
            return 2;
        }
        r = report_read(argv[optind], &a);
        if (r < 0) {
            log_errno(r, "kmemleak: cannot read %s", argv[optind]);
            return 1;
        }
        r = report_read(argv[optind + 1], &b);
        if (r < 0) {
            log_errno(r, "kmemleak: cannot read %s", argv[optind + 1]);
            report_free(&a);
            return 1;
        }
        r = print_diff(&a, &b, (size_t)top, json);
        report_free(&a);
        report_free(&b);
        return r < 0 ? 1 : 0;
    }
    if (argc - optind > 1) {
        usage(stderr);
        return 2;
    }
    r = report_read(optind < argc ? argv[optind] : "-", &a);
    if (r < 0) {
        log_errno(r, "kmemleak: cannot read %s", optind < argc ? argv[optind] : "stdin");
        return 1;
    }
    r = print_one(&a, (size_t)top, json);
    report_free(&a);
    return r < 0 ? 1 : 0;
}
