/* SPDX-License-Identifier: MIT */
/*
 * pstore: crash records the previous boot left in /sys/fs/pstore
 * (<type>-<backend>-<id>[.enc.z]): soak_pstore_records{type}, and whether a
 * dmesg record holds a "Kernel panic - not syncing: <reason>" line
 * (soak_pstore_panic, soak_pstore_panic_info{reason}). The records cannot
 * change before the next boot, so the directory is scanned once and the result
 * reported on every read. soak never deletes the records.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "procfile.h"
#include "rootfs.h"

#define PSTORE_FILES_MAX 64    /* records looked at (ramoops keeps a handful) */
#define PSTORE_TYPES_MAX 16    /* distinct record types reported */
#define PSTORE_LINE_MAX 1024   /* bytes of one record line kept */
#define PSTORE_REASON_MAX 200  /* bytes of the panic reason kept */
#define PSTORE_TYPE_MAX 32

struct pstore_type {
    char name[PSTORE_TYPE_MAX];
    unsigned count;
};

struct pstore_ctx {
    struct procfile_dir dir;
    struct procfile pf;
    char line[PSTORE_LINE_MAX];
    struct pstore_type types[PSTORE_TYPES_MAX];
    size_t ntypes;
    int scanned, scan_err, panic;
    char reason[PSTORE_REASON_MAX];
};

static int
pstore_init(void **ret_ctx)
{
    struct pstore_ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    procfile_init(&c->pf, c->line, sizeof(c->line));
    if (procfile_dir_init(&c->dir, PSTORE_FILES_MAX) < 0) {
        free(c);
        return -ENOMEM;
    }
    *ret_ctx = c;
    return 0;
}

static void
count_type(struct pstore_ctx *c, const char *file)
{
    char type[PSTORE_TYPE_MAX];
    size_t n = strcspn(file, "-");

    if (n == 0 || file[n] != '-' || n >= sizeof(type))
        return; /* not a <type>-<backend>-<id> record */
    memcpy(type, file, n);
    type[n] = '\0';
    for (size_t i = 0; i < c->ntypes; i++) {
        if (strcmp(c->types[i].name, type) == 0) {
            c->types[i].count++;
            return;
        }
    }
    if (c->ntypes >= PSTORE_TYPES_MAX)
        return;
    memcpy(c->types[c->ntypes].name, type, n + 1);
    c->types[c->ntypes++].count = 1;
}

/* Look for the panic line in one dmesg record. */
static void
scan_dmesg(struct pstore_ctx *c, const char *root, const char *file)
{
    static const char needle[] = "Kernel panic - not syncing: ";
    char rel[PROCFILE_DIRNAME_MAX + 32], *line;
    size_t len;

    (void)snprintf(rel, sizeof(rel), "/sys/fs/pstore/%s", file);
    if (procfile_open(&c->pf, root, rel) < 0)
        return;
    while (procfile_next(&c->pf, &line, &len) > 0) {
        const char *p = strstr(line, needle);

        if (!p || strstr(line, "---[ end Kernel panic"))
            continue;
        if (!c->panic)
            (void)procfile_copy_line(c->reason, sizeof(c->reason), p + strlen(needle));
        c->panic = 1;
        break;
    }
    procfile_close(&c->pf);
}

static void
scan(struct pstore_ctx *c, const char *root)
{
    int n = procfile_dir_list(&c->dir, root, "/sys/fs/pstore", "");

    c->ntypes = 0;
    c->panic = 0;
    c->reason[0] = '\0';
    if (n < 0) {
        /* Not mounted (yet): try again on the next read. */
        c->scan_err = n;
        return;
    }
    c->scanned = 1;
    c->scan_err = 0;
    for (int i = 0; i < n; i++) {
        const char *f = c->dir.names[i];
        size_t l = strlen(f);

        count_type(c, f);
        /* Compressed records that the kernel could not decompress end in .enc.z. */
        if (strncmp(f, "dmesg-", 6) == 0 && !(l > 6 && strcmp(f + l - 6, ".enc.z") == 0))
            scan_dmesg(c, root, f);
    }
}

static int
pstore_read(void *ctx, const char *root, struct expo_writer *w)
{
    struct pstore_ctx *c = ctx;

    if (!c->scanned)
        scan(c, root);
    if (!c->scanned)
        return c->scan_err;
    if (c->ntypes > 0) {
        (void)expo_family(w, "soak_pstore_records", METRIC_GAUGE,
                          "Crash records left in /sys/fs/pstore by the previous boot, by type.");
        for (size_t i = 0; i < c->ntypes; i++) {
            struct expo_label l = { "type", c->types[i].name };
            (void)expo_sample(w, "soak_pstore_records", &l, 1, c->types[i].count);
        }
    }
    (void)expo_single(w, "soak_pstore_panic", METRIC_GAUGE,
                      "1 when a pstore dmesg record holds a kernel panic.", c->panic);
    if (c->panic) {
        struct expo_label l = { "reason", c->reason };
        (void)expo_family(w, "soak_pstore_panic_info", METRIC_GAUGE,
                          "The reason of the kernel panic found in pstore.");
        (void)expo_sample(w, "soak_pstore_panic_info", &l, 1, 1);
    }
    return expo_error(w);
}

static void
pstore_fini(void *ctx)
{
    struct pstore_ctx *c = ctx;

    if (!c)
        return;
    procfile_close(&c->pf);
    procfile_dir_free(&c->dir);
    free(c);
}

const struct collector_ops pstore_collector = {
    .name = "pstore",
    .help = "crash records of the previous boot in /sys/fs/pstore (soak_pstore_*)",
    .init = pstore_init,
    .read = pstore_read,
    .fini = pstore_fini,
};
