/* SPDX-License-Identifier: MIT */
/*
 * hwmon: temperatures of /sys/class/hwmon/hwmon<N> as
 * node_hwmon_temp_celsius{chip,sensor="temp<M>"} (millidegrees / 1000), with
 * node_exporter's chip names so dashboards work unchanged:
 *   1. "<parent dir>_<device dir>" of the resolved `device` link
 *      (platform_coretemp_0), else the `name` file, else the hwmon<N> dir name,
 *      each lowercased with every byte outside [a-z0-9:_] turned into '_' and
 *      leading/trailing '_' trimmed;
 *   2. chips that end up with the same name (several hwmon dirs under one
 *      device) get "_<name file>" appended when that tells them apart, else
 *      "_hwmon<N>".
 * The value comes from temp<M>_input, or from a bare temp<M> file when present.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "collector.h"
#include "conf.h"
#include "parse.h"
#include "procfile.h"
#include "rootfs.h"

#define HWMON_CHIPS_DEFAULT 64
#define HWMON_CHIPS_LIMIT 4096
#define HWMON_FILES_MAX 256   /* temp* entries looked at per chip dir */
#define HWMON_TEMPS_MAX 64    /* temperature sensors per chip */
#define HWMON_LABEL_MAX 64    /* bytes of a chip name part */
#define HWMON_CHIP_MAX (4 * HWMON_LABEL_MAX)
#define HWMON_RESCAN 60.0     /* seconds a chip's names are reused while the list is unchanged */
#define HWMON_CHIP_FILES 128  /* temp files of a chip remembered between scans */
#define HWMON_KEPT 64         /* temp files kept open between reads */

/* A temperature file of a chip: temp<num>_input or temp<num>, in the chip dir or device/. */
struct hwmon_file {
    uint32_t num;
    uint8_t bare;
    uint8_t in_device;
};

struct hwmon_chip {
    char dir[PROCFILE_DIRNAME_MAX]; /* hwmonN as listed */
    char base[2 * HWMON_LABEL_MAX + 2];
    char name[HWMON_LABEL_MAX];     /* cleaned name file, "" if none */
    char real[HWMON_LABEL_MAX];     /* cleaned basename of the resolved dir */
    char chip[HWMON_CHIP_MAX];      /* final label */
    /* Its temp files as last scanned, in scan order (chip dir, then device/);
     * allocated to the size found. */
    struct hwmon_file *files;
    size_t nfiles;
    int scanned;                    /* 1 files[] is valid, -1 list them on every read, 0 not yet */
};

struct hwmon_temp {
    unsigned num;
    int has_input, has_bare;
    double input, bare;
};

struct hwmon_ctx {
    size_t max_chips;
    struct procfile_dir list;  /* /sys/class/hwmon */
    struct procfile_dir files; /* one chip directory */
    struct hwmon_chip *chips;
    size_t nchips;
    /* The chip list last described: names (realpath, name file) are reused while
     * /sys/class/hwmon lists the same entries, for at most HWMON_RESCAN seconds. */
    char (*listed)[PROCFILE_DIRNAME_MAX];
    size_t nlisted;
    double described_at; /* monotonic seconds, 0 = never */
    struct procfile_cache kept; /* the temp files */
    struct hwmon_temp temps[HWMON_TEMPS_MAX];
    size_t ntemps;
    char path[ROOT_PATH_MAX];
    char real[PATH_MAX];
    char value[128];
};

/* node_exporter's cleanMetricName: lowercase, [^a-z0-9:_] -> '_', trim '_'. */
static void
hwmon_clean(char *dst, size_t size, const char *src)
{
    size_t n = 0, start = 0;

    for (const char *p = src; *p && *p != '\n' && n + 1 < size; p++) {
        char ch = *p;

        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == ':' || ch == '_'))
            ch = '_';
        dst[n++] = ch;
    }
    while (n > 0 && dst[n - 1] == '_')
        n--;
    dst[n] = '\0';
    while (dst[start] == '_')
        start++;
    if (start)
        memmove(dst, dst + start, n - start + 1);
}

static int
hwmon_init(void **ret_ctx)
{
    struct hwmon_ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    c->max_chips = HWMON_CHIPS_DEFAULT;
    *ret_ctx = c;
    return 0;
}

static int
hwmon_configure(void *ctx, const char *key, const char *value)
{
    struct hwmon_ctx *c = ctx;
    uint64_t v;

    if (strcmp(key, "max_chips") != 0)
        return -ENOENT;
    if (conf_uint(value, &v) < 0 || v == 0 || v > HWMON_CHIPS_LIMIT)
        return -EINVAL;
    if (c->chips)
        return -EBUSY;
    c->max_chips = v;
    return 0;
}

static int
hwmon_start(void *ctx, const char *root)
{
    struct hwmon_ctx *c = ctx;

    (void)root;
    if (c->chips)
        return 0;
    c->chips = calloc(c->max_chips, sizeof(*c->chips));
    c->listed = calloc(c->max_chips, sizeof(*c->listed));
    if (!c->chips || !c->listed || procfile_dir_init(&c->list, c->max_chips) < 0 ||
        procfile_dir_init(&c->files, HWMON_FILES_MAX) < 0 ||
        procfile_cache_init(&c->kept, HWMON_KEPT) < 0) {
        free(c->chips);
        c->chips = NULL;
        free(c->listed);
        c->listed = NULL;
        procfile_dir_free(&c->list);
        procfile_dir_free(&c->files);
        procfile_cache_free(&c->kept);
        return -ENOMEM;
    }
    return 0;
}

/* Last path component of p (no trailing slash expected from realpath). */
static const char *
base_of(const char *p)
{
    const char *s = strrchr(p, '/');

    return s ? s + 1 : p;
}

/* Fill chip's names; 0, or a negative errno when the entry is not a directory. */
static int
describe_chip(struct hwmon_ctx *c, const char *root, struct hwmon_chip *chip)
{
    char rel[PROCFILE_DIRNAME_MAX + 64];
    struct stat st;

    (void)snprintf(rel, sizeof(rel), "/sys/class/hwmon/%s", chip->dir);
    if (root_path(root, rel, c->path, sizeof(c->path)) < 0)
        return -ENAMETOOLONG;
    if (stat(c->path, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if (realpath(c->path, c->real))
        hwmon_clean(chip->real, sizeof(chip->real), base_of(c->real));
    else
        hwmon_clean(chip->real, sizeof(chip->real), chip->dir);

    (void)snprintf(rel, sizeof(rel), "/sys/class/hwmon/%s/name", chip->dir);
    if (root_read_line(root, rel, c->value, sizeof(c->value)) >= 0)
        hwmon_clean(chip->name, sizeof(chip->name), c->value);
    else
        chip->name[0] = '\0';

    chip->base[0] = '\0';
    (void)snprintf(rel, sizeof(rel), "/sys/class/hwmon/%s/device", chip->dir);
    if (root_path(root, rel, c->path, sizeof(c->path)) == 0 && realpath(c->path, c->real)) {
        char dev[HWMON_LABEL_MAX], type[HWMON_LABEL_MAX];
        char *slash = strrchr(c->real, '/');

        hwmon_clean(dev, sizeof(dev), base_of(c->real));
        type[0] = '\0';
        if (slash && slash != c->real) {
            *slash = '\0';
            hwmon_clean(type, sizeof(type), base_of(c->real));
        }
        if (type[0] && dev[0])
            (void)snprintf(chip->base, sizeof(chip->base), "%s_%s", type, dev);
        else if (dev[0])
            (void)snprintf(chip->base, sizeof(chip->base), "%s", dev);
    }
    if (!chip->base[0])
        (void)snprintf(chip->base, sizeof(chip->base), "%s",
                       chip->name[0] ? chip->name : chip->real);
    return chip->base[0] ? 0 : -EINVAL;
}

static void
disambiguate(struct hwmon_ctx *c)
{
    for (size_t i = 0; i < c->nchips; i++) {
        struct hwmon_chip *a = &c->chips[i];
        int shared = 0, name_unique = a->name[0] != '\0';

        for (size_t j = 0; j < c->nchips; j++) {
            if (j == i || strcmp(c->chips[j].base, a->base) != 0)
                continue;
            shared = 1;
            if (strcmp(c->chips[j].name, a->name) == 0)
                name_unique = 0;
        }
        if (!shared)
            (void)snprintf(a->chip, sizeof(a->chip), "%s", a->base);
        else
            (void)snprintf(a->chip, sizeof(a->chip), "%s_%s", a->base,
                           name_unique ? a->name : a->real);
    }
}

static struct hwmon_temp *
temp_slot(struct hwmon_ctx *c, unsigned num)
{
    for (size_t i = 0; i < c->ntemps; i++)
        if (c->temps[i].num == num)
            return &c->temps[i];
    if (c->ntemps >= HWMON_TEMPS_MAX)
        return NULL;
    memset(&c->temps[c->ntemps], 0, sizeof(c->temps[0]));
    c->temps[c->ntemps].num = num;
    return &c->temps[c->ntemps++];
}

/* Read one temp file (relative to the root) into the temperature table. */
static void
read_temp(struct hwmon_ctx *c, const char *root, const char *rel, unsigned num, int bare)
{
    struct hwmon_temp *t;
    ssize_t k;
    double v;

    k = procfile_cache_read_line(&c->kept, root, rel, c->value, sizeof(c->value));
    if (k < 0 || parse_double(c->value, &v) < 0)
        return;
    t = temp_slot(c, num);
    if (!t)
        return;
    if (bare) {
        t->has_bare = 1;
        t->bare = v;
    } else {
        t->has_input = 1;
        t->input = v;
    }
}

/*
 * List the temp<M>_input and temp<M> files of one directory of chip: remember them
 * in chip->files (store; -E2BIG when they do not fit or a name is not written the
 * usual way, temp01), or read each one now (!store).
 */
static int
list_temps(struct hwmon_ctx *c, const char *root, struct hwmon_chip *chip, int in_device,
           int store)
{
    char dir[PROCFILE_DIRNAME_MAX + 64], rel[PROCFILE_DIRNAME_MAX * 2 + 64];
    int n;

    (void)snprintf(dir, sizeof(dir), "/sys/class/hwmon/%s%s", chip->dir,
                   in_device ? "/device" : "");
    n = procfile_dir_list(&c->files, root, dir, "temp");
    for (int i = 0; i < n; i++) {
        const char *f = c->files.names[i] + 4, *p = f;
        uint64_t num;
        int bare;

        while (*p >= '0' && *p <= '9')
            p++;
        if (p == f || p - f > 9)
            continue;
        bare = *p == '\0';
        if (!bare && strcmp(p, "_input") != 0)
            continue;
        if (parse_u64_n(f, (size_t)(p - f), &num) < 0)
            continue;
        if (store) {
            struct hwmon_file *nf;

            if (chip->nfiles >= HWMON_CHIP_FILES || (f[0] == '0' && p - f > 1))
                return -E2BIG;
            nf = realloc(chip->files, (chip->nfiles + 1) * sizeof(*nf));
            if (!nf)
                return -ENOMEM;
            chip->files = nf;
            chip->files[chip->nfiles++] = (struct hwmon_file){ (uint32_t)num, (uint8_t)bare,
                                                               (uint8_t)in_device };
            continue;
        }
        if (snprintf(rel, sizeof(rel), "%s/%s", dir, c->files.names[i]) >= (int)sizeof(rel))
            continue;
        read_temp(c, root, rel, (unsigned)num, bare);
    }
    return 0;
}

/*
 * Read the temp files of chip into c->temps. Which files a chip has is listed
 * when the chips are described (at most HWMON_RESCAN seconds apart) and reused
 * until then; a chip whose files cannot be remembered is listed on every read.
 */
static void
scan_temps(struct hwmon_ctx *c, const char *root, struct hwmon_chip *chip)
{
    char rel[PROCFILE_DIRNAME_MAX + 64];

    if (chip->scanned == 0) {
        chip->nfiles = 0;
        chip->scanned = list_temps(c, root, chip, 0, 1) == 0 &&
                                list_temps(c, root, chip, 1, 1) == 0
                            ? 1
                            : -1;
        if (chip->scanned < 0)
            chip->nfiles = 0;
    }
    if (chip->scanned < 0) {
        (void)list_temps(c, root, chip, 0, 0);
        (void)list_temps(c, root, chip, 1, 0);
        return;
    }
    for (size_t i = 0; i < chip->nfiles; i++) {
        const struct hwmon_file *hf = &chip->files[i];

        if (snprintf(rel, sizeof(rel), "/sys/class/hwmon/%s/%stemp%u%s", chip->dir,
                     hf->in_device ? "device/" : "", (unsigned)hf->num,
                     hf->bare ? "" : "_input") >= (int)sizeof(rel))
            continue;
        read_temp(c, root, rel, hf->num, hf->bare);
    }
}

static int
cmp_temp(const void *a, const void *b)
{
    const struct hwmon_temp *x = a, *y = b;

    return x->num < y->num ? -1 : x->num > y->num;
}

static double
mono_seconds(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Does the fresh listing equal the one last described, recently enough? */
static int
same_list(const struct hwmon_ctx *c, size_t n)
{
    if (c->described_at == 0 || n != c->nlisted ||
        mono_seconds() - c->described_at > HWMON_RESCAN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(c->listed[i], c->list.names[i]) != 0)
            return 0;
    return 1;
}

static int
hwmon_read(void *ctx, const char *root, struct expo_writer *w)
{
    struct hwmon_ctx *c = ctx;
    int r, n, family = 0;

    r = hwmon_start(c, root);
    if (r < 0)
        return r;
    n = procfile_dir_list(&c->list, root, "/sys/class/hwmon", "");
    if (n < 0)
        return n;
    if (!same_list(c, (size_t)n)) {
        c->nchips = 0;
        for (int i = 0; i < n; i++) {
            struct hwmon_chip *chip = &c->chips[c->nchips];

            (void)snprintf(chip->dir, sizeof(chip->dir), "%s", c->list.names[i]);
            chip->scanned = 0;
            if (describe_chip(c, root, chip) == 0)
                c->nchips++;
            memcpy(c->listed[i], c->list.names[i], sizeof(c->listed[i]));
        }
        c->nlisted = (size_t)n;
        c->described_at = mono_seconds();
        disambiguate(c);
    }
    procfile_cache_begin(&c->kept);
    for (size_t i = 0; i < c->nchips; i++) {
        c->ntemps = 0;
        scan_temps(c, root, &c->chips[i]);
        qsort(c->temps, c->ntemps, sizeof(c->temps[0]), cmp_temp);
        for (size_t k = 0; k < c->ntemps; k++) {
            struct hwmon_temp *t = &c->temps[k];
            char sensor[32];
            struct expo_label l[2] = { { "chip", c->chips[i].chip }, { "sensor", sensor } };

            (void)snprintf(sensor, sizeof(sensor), "temp%u", t->num);
            if (!family) {
                (void)expo_family(w, "node_hwmon_temp_celsius", METRIC_GAUGE,
                                  "Hardware monitor for temperature (input).");
                family = 1;
            }
            (void)expo_sample(w, "node_hwmon_temp_celsius", l, 2,
                              (t->has_bare ? t->bare : t->input) / 1000.0);
        }
    }
    procfile_cache_end(&c->kept);
    if (expo_error(w))
        return expo_error(w);
    return 0;
}

static void
hwmon_fini(void *ctx)
{
    struct hwmon_ctx *c = ctx;

    if (!c)
        return;
    procfile_dir_free(&c->list);
    procfile_dir_free(&c->files);
    procfile_cache_free(&c->kept);
    for (size_t i = 0; c->chips && i < c->max_chips; i++)
        free(c->chips[i].files);
    free(c->chips);
    free(c->listed);
    free(c);
}

const struct collector_ops hwmon_collector = {
    .name = "hwmon",
    .help = "hwmon temperatures with node_exporter's chip names (node_hwmon_temp_celsius)",
    .init = hwmon_init,
    .configure = hwmon_configure,
    .start = hwmon_start,
    .read = hwmon_read,
    .fini = hwmon_fini,
};
