/* SPDX-License-Identifier: MIT */
/*
 * sysfs.c - chips the kernel drives, read through hwmon and IIO files, and
 * the discovery of hwmon, IIO and w1 devices.
 *
 * Units, as Documentation/ABI/testing/sysfs-class-hwmon and sysfs-bus-iio say:
 *   hwmon temp*_input m°C, humidity*_input m%RH, in*_input mV
 *   (the hwmon ABI has no pressure or illuminance attributes);
 *   IIO in_temp* m°C, in_humidityrelative* m%, in_pressure* kPa,
 *   in_voltage* mV, in_illuminance* lux; value = _input, or
 *   (_raw + _offset) * _scale, the channel's own _scale/_offset first, then
 *   the type-wide one (in_voltage_scale), offset 0 and scale 1 when absent.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs.h"
#include "sensor.h"

#define SYSFS_VALUE_MAX 64

static int
path_join(char *out, size_t size, const char *dir, const char *file)
{
    size_t a = strlen(dir), b = strlen(file);

    if (a + 1 + b + 1 > size)
        return -ENAMETOOLONG;
    memcpy(out, dir, a);
    out[a] = '/';
    memcpy(out + a + 1, file, b + 1);
    return 0;
}

static void
copy_str(char *dst, size_t size, const char *src)
{
    size_t l = strlen(src);

    if (l > size - 1)
        l = size - 1;
    memcpy(dst, src, l);
    dst[l] = '\0';
}

static int
read_number(const char *root, const char *dir, const char *file, double *ret)
{
    char p[SENSOR_PATH_MAX + 80], text[SYSFS_VALUE_MAX];
    ssize_t n;
    int r;

    r = path_join(p, sizeof(p), dir, file);
    if (r < 0)
        return r;
    n = root_read(root, p, text, sizeof(text));
    if (n < 0)
        return n == -EFBIG ? -EINVAL : (int)n;
    return sysfs_parse_number(text, (size_t)n, ret);
}

/* Read the first line of dir/file into out. */
static int
read_word(const char *root, const char *dir, const char *file, char *out, size_t size)
{
    char p[SENSOR_PATH_MAX + 80];
    ssize_t n;
    int r;

    r = path_join(p, sizeof(p), dir, file);
    if (r < 0)
        return r;
    n = root_read_line(root, p, out, size);
    if (n < 0)
        return (int)n;
    return n > 0 ? 0 : -ENODATA;
}

/* Basename of the target of symlink dir/link (or of the path itself when link is NULL). */
static int
link_base(const char *root, const char *dir, const char *link, char *out, size_t size)
{
    char p[SENSOR_PATH_MAX + 80], rp[ROOT_PATH_MAX], target[SENSOR_PATH_MAX];
    const char *slash;
    ssize_t n;
    int r;

    if (link)
        r = path_join(p, sizeof(p), dir, link);
    else
        r = path_join(p, sizeof(p), dir, "");
    if (r < 0)
        return r;
    if (!link)
        p[strlen(p) - 1] = '\0';
    r = root_path(root, p, rp, sizeof(rp));
    if (r < 0)
        return r;
    n = readlink(rp, target, sizeof(target) - 1);
    if (n < 0)
        return -errno;
    target[n] = '\0';
    slash = strrchr(target, '/');
    copy_str(out, size, slash ? slash + 1 : target);
    return 0;
}

/* The second-to-last component of the target of symlink path (an IIO device's parent). */
static int
link_parent_base(const char *root, const char *path, char *out, size_t size)
{
    char rp[ROOT_PATH_MAX], target[SENSOR_PATH_MAX];
    char *slash;
    ssize_t n;
    int r;

    r = root_path(root, path, rp, sizeof(rp));
    if (r < 0)
        return r;
    n = readlink(rp, target, sizeof(target) - 1);
    if (n < 0)
        return -errno;
    target[n] = '\0';
    slash = strrchr(target, '/');
    if (!slash)
        return -EINVAL;
    *slash = '\0';
    slash = strrchr(target, '/');
    copy_str(out, size, slash ? slash + 1 : target);
    return 0;
}

static int
channel_cmp(const void *a, const void *b)
{
    const struct sensor_sysfs_channel *x = a, *y = b;

    if (x->quantity != y->quantity)
        return (int)x->quantity - (int)y->quantity;
    return strcmp(x->base, y->base);
}

/* A channel suffix is only needed to tell several channels of one quantity apart. */
static void
drop_lone_suffixes(struct sensor_dev *d)
{
    for (size_t i = 0; i < d->nchannels; i++) {
        size_t same = 0;

        for (size_t j = 0; j < d->nchannels; j++)
            if (d->channels[j].quantity == d->channels[i].quantity)
                same++;
        if (same == 1)
            d->channels[i].channel[0] = '\0';
    }
}

static int
has_suffix(const char *s, const char *suffix, size_t *ret_stem)
{
    size_t a = strlen(s), b = strlen(suffix);

    if (a <= b || strcmp(s + a - b, suffix) != 0)
        return 0;
    *ret_stem = a - b;
    return 1;
}

static void
make_label(char *out, size_t size, const char *a, const char *sep, const char *b)
{
    size_t la = strnlen(a, size - 1), ls, lb;

    memcpy(out, a, la);
    ls = MIN(strlen(sep), size - 1 - la);
    memcpy(out + la, sep, ls);
    lb = strnlen(b, size - 1 - la - ls);
    memcpy(out + la + ls, b, lb);
    out[la + ls + lb] = '\0';
}

/* ---- hwmon ---- */

struct hwmon_type {
    const char *prefix;
    enum sensor_quantity q;
    double factor;
};

static const struct hwmon_type hwmon_types[] = {
    {"temp", SENSOR_TEMPERATURE, 0.001},  /* m°C */
    {"humidity", SENSOR_HUMIDITY, 0.001}, /* m%RH */
    {"in", SENSOR_VOLTAGE, 0.001},        /* mV */
};

static const struct hwmon_type *
hwmon_type_of(const char *base, const char **ret_index)
{
    for (size_t i = 0; i < ARRAY_SIZE(hwmon_types); i++) {
        size_t l = strlen(hwmon_types[i].prefix);
        const char *p = base + l;

        if (strncmp(base, hwmon_types[i].prefix, l) != 0 || !*p)
            continue;
        for (const char *q = p; *q; q++)
            if (*q < '0' || *q > '9')
                return NULL;
        *ret_index = p;
        return &hwmon_types[i];
    }
    return NULL;
}

/*
 * Resolve d->device into d->sysfs_dir. A device may name the chip's device
 * directory (/sys/bus/i2c/devices/1-0044, which has a `name` file of its own):
 * then its child "<prefix>K" (hwmon/hwmonK, iio:deviceK) is the node, found
 * again at every probe because K changes when the driver is rebound.
 * Otherwise the directory is the node itself.
 */
static int
sysfs_resolve(struct sensor_dev *d, const char *subdir, const char *prefix)
{
    char p[ROOT_PATH_MAX], sub[SENSOR_PATH_MAX + 8];
    size_t pl = strlen(prefix);
    struct dirent *de;
    DIR *dir;

    copy_str(d->sysfs_dir, sizeof(d->sysfs_dir), d->device);
    if (subdir) {
        if (path_join(sub, sizeof(sub), d->device, subdir) < 0)
            return -ENAMETOOLONG;
    } else
        copy_str(sub, sizeof(sub), d->device);
    if (root_path(d->root, sub, p, sizeof(p)) < 0)
        return -ENAMETOOLONG;
    dir = opendir(p);
    if (!dir)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
    while ((de = readdir(dir))) {
        if (strncmp(de->d_name, prefix, pl) == 0 && de->d_name[pl] >= '0' &&
            de->d_name[pl] <= '9') {
            char full[SENSOR_PATH_MAX];

            if (path_join(full, sizeof(full), sub, de->d_name) == 0)
                copy_str(d->sysfs_dir, sizeof(d->sysfs_dir), full);
            break;
        }
    }
    closedir(dir);
    return 0;
}

static int
hwmon_probe(struct sensor_dev *d)
{
    char p[ROOT_PATH_MAX], name[64];
    struct dirent *de;
    DIR *dir;
    int r;

    r = sysfs_resolve(d, "hwmon", "hwmon");
    if (r < 0)
        return r;
    r = read_word(d->root, d->sysfs_dir, "name", name, sizeof(name));
    if (r < 0)
        return r;
    copy_str(d->chip, sizeof(d->chip), name);
    r = root_path(d->root, d->sysfs_dir, p, sizeof(p));
    if (r < 0)
        return r;
    dir = opendir(p);
    if (!dir)
        return -errno;
    d->nchannels = 0;
    while ((de = readdir(dir)) && d->nchannels < SENSOR_SYSFS_CHANNELS) {
        struct sensor_sysfs_channel *c = &d->channels[d->nchannels];
        const struct hwmon_type *t;
        const char *idx;
        size_t stem;

        if (!has_suffix(de->d_name, "_input", &stem) || stem >= sizeof(c->base))
            continue;
        memcpy(c->base, de->d_name, stem);
        c->base[stem] = '\0';
        t = hwmon_type_of(c->base, &idx);
        if (!t)
            continue;
        c->quantity = t->q;
        c->has_input = 1;
        c->type_base[0] = '\0';
        /* Channel 1 of temp/humidity is the sensor itself; others carry their name. */
        if (t->q != SENSOR_VOLTAGE && strcmp(idx, "1") == 0)
            c->channel[0] = '\0';
        else
            copy_str(c->channel, sizeof(c->channel), c->base);
        d->nchannels++;
    }
    closedir(dir);
    if (d->nchannels == 0)
        return -ENODATA;
    qsort(d->channels, d->nchannels, sizeof(d->channels[0]), channel_cmp);
    drop_lone_suffixes(d);
    return 0;
}

static double
hwmon_factor(enum sensor_quantity q)
{
    for (size_t i = 0; i < ARRAY_SIZE(hwmon_types); i++)
        if (hwmon_types[i].q == q)
            return hwmon_types[i].factor;
    return 1.0;
}

static int
hwmon_read(struct sensor_dev *d, struct sensor_reading *ret)
{
    struct sensor_reading rd = {0};

    for (size_t i = 0; i < d->nchannels; i++) {
        const struct sensor_sysfs_channel *c = &d->channels[i];
        char file[80];
        double v;
        int r;

        make_label(file, sizeof(file), c->base, "_", "input");
        r = read_number(d->root, d->sysfs_dir, file, &v);
        if (r < 0)
            return r;
        r = sensor_reading_add(&rd, c->quantity, v * hwmon_factor(c->quantity), c->channel);
        if (r < 0)
            return r;
    }
    *ret = rd;
    return 0;
}

const struct sensor_driver sensor_driver_hwmon = {
    .name = "hwmon",
    .chip = "hwmon",
    .bus = SENSOR_BUS_SYSFS,
    .probe = hwmon_probe,
    .read = hwmon_read,
};

/* ---- IIO ---- */

struct iio_type {
    const char *name;
    enum sensor_quantity q;
    double factor; /* ABI unit -> SI */
};

static const struct iio_type iio_types[] = {
    {"illuminance", SENSOR_ILLUMINANCE, 1.0},     /* lux */
    {"pressure", SENSOR_PRESSURE, 1000.0},        /* kPa */
    {"temp", SENSOR_TEMPERATURE, 0.001},          /* m°C */
    {"humidityrelative", SENSOR_HUMIDITY, 0.001}, /* m% */
    {"voltage", SENSOR_VOLTAGE, 0.001},           /* mV */
};

static const struct iio_type *
iio_classify(const char *base, char *type_base, size_t tbsize, char *channel, size_t chsize)
{
    if (strncmp(base, "in_", 3) != 0)
        return NULL;
    for (size_t i = 0; i < ARRAY_SIZE(iio_types); i++) {
        size_t l = strlen(iio_types[i].name);
        const char *rest = base + 3 + l;

        if (strncmp(base + 3, iio_types[i].name, l) != 0)
            continue;
        if (*rest && *rest != '_' && *rest != '-' && (*rest < '0' || *rest > '9'))
            continue; /* "in_tempfoo": another type */
        if (3 + l + 1 > tbsize)
            return NULL;
        memcpy(type_base, base, 3 + l);
        type_base[3 + l] = '\0';
        if (*rest >= '0' && *rest <= '9')
            copy_str(channel, chsize, base + 3);
        else
            copy_str(channel, chsize, *rest == '_' ? rest + 1 : rest);
        return &iio_types[i];
    }
    return NULL;
}

int
iio_channel_parse(const char *file, struct sensor_sysfs_channel *ret)
{
    struct sensor_sysfs_channel c;
    const struct iio_type *t;
    size_t stem;
    int input;

    if (has_suffix(file, "_input", &stem))
        input = 1;
    else if (has_suffix(file, "_raw", &stem))
        input = 0;
    else
        return -EINVAL;
    if (stem >= sizeof(c.base))
        return -EINVAL;
    memcpy(c.base, file, stem);
    c.base[stem] = '\0';
    t = iio_classify(c.base, c.type_base, sizeof(c.type_base), c.channel, sizeof(c.channel));
    if (!t)
        return -EINVAL;
    c.quantity = t->q;
    c.has_input = input;
    *ret = c;
    return 0;
}

/* The channels soak exports in IIO node d->sysfs_dir; -ENODATA when there are none. */
static int
iio_scan_channels(struct sensor_dev *d)
{
    char p[ROOT_PATH_MAX];
    struct dirent *de;
    DIR *dir;
    int r;

    r = root_path(d->root, d->sysfs_dir, p, sizeof(p));
    if (r < 0)
        return r;
    dir = opendir(p);
    if (!dir)
        return -errno;
    d->nchannels = 0;
    while ((de = readdir(dir))) {
        struct sensor_sysfs_channel c;
        size_t j;

        if (iio_channel_parse(de->d_name, &c) < 0)
            continue;
        for (j = 0; j < d->nchannels; j++)
            if (strcmp(d->channels[j].base, c.base) == 0)
                break;
        if (j < d->nchannels) {
            d->channels[j].has_input |= c.has_input; /* _input wins over _raw */
            continue;
        }
        if (d->nchannels == SENSOR_SYSFS_CHANNELS)
            continue;
        d->channels[d->nchannels++] = c;
    }
    closedir(dir);
    if (d->nchannels == 0)
        return -ENODATA;
    qsort(d->channels, d->nchannels, sizeof(d->channels[0]), channel_cmp);
    drop_lone_suffixes(d);
    return 0;
}

/*
 * How long one read of every channel may take. A driver that powers its chip
 * up for each _raw read waits for a couple of samples at sampling_frequency
 * (st_sensors: 2000 / ODR ms, so 2 s per channel for an LPS25 at its default
 * 1 Hz); allow two sample periods per _raw channel. 0 without the attribute.
 */
static void
iio_estimate(struct sensor_dev *d)
{
    double f = 0;
    size_t nraw = 0;

    d->read_estimate = 0;
    if (read_number(d->root, d->sysfs_dir, "sampling_frequency", &f) < 0 || !(f >= 0.01))
        return;
    for (size_t i = 0; i < d->nchannels; i++)
        if (!d->channels[i].has_input)
            nraw++;
    d->read_estimate = (double)nraw * 2.0 / f;
}

static int
iio_probe(struct sensor_dev *d)
{
    char name[64];
    int r;

    r = sysfs_resolve(d, NULL, "iio:device");
    if (r < 0)
        return r;
    r = read_word(d->root, d->sysfs_dir, "name", name, sizeof(name));
    if (r < 0)
        return r;
    copy_str(d->chip, sizeof(d->chip), name);
    r = iio_scan_channels(d);
    if (r < 0)
        return r;
    iio_estimate(d);
    return 0;
}

/* dir/<base><suffix>, else dir/<type_base><suffix>; dflt when neither exists. */
static int
iio_attr(const struct sensor_dev *d, const struct sensor_sysfs_channel *c, const char *suffix,
         double dflt, double *ret)
{
    const char *bases[2] = {c->base, c->type_base};

    for (size_t i = 0; i < 2; i++) {
        char file[128];
        size_t a = strlen(bases[i]), b = strlen(suffix);
        int r;

        if (a + b + 1 > sizeof(file))
            return -ENAMETOOLONG;
        memcpy(file, bases[i], a);
        memcpy(file + a, suffix, b + 1);
        r = read_number(d->root, d->sysfs_dir, file, ret);
        if (r != -ENOENT)
            return r;
    }
    *ret = dflt;
    return 0;
}

static double
iio_factor(enum sensor_quantity q)
{
    for (size_t i = 0; i < ARRAY_SIZE(iio_types); i++)
        if (iio_types[i].q == q)
            return iio_types[i].factor;
    return 1.0;
}

static int
iio_read(struct sensor_dev *d, struct sensor_reading *ret)
{
    struct sensor_reading rd = {0};

    for (size_t i = 0; i < d->nchannels; i++) {
        const struct sensor_sysfs_channel *c = &d->channels[i];
        double v, scale, offset;
        int r;

        if (c->has_input) {
            r = iio_attr(d, c, "_input", 0, &v);
        } else {
            r = iio_attr(d, c, "_raw", 0, &v);
            if (r == 0)
                r = iio_attr(d, c, "_offset", 0.0, &offset);
            if (r == 0)
                r = iio_attr(d, c, "_scale", 1.0, &scale);
            if (r == 0)
                v = (v + offset) * scale;
        }
        if (r < 0)
            return r;
        r = sensor_reading_add(&rd, c->quantity, v * iio_factor(c->quantity), c->channel);
        if (r < 0)
            return r;
    }
    *ret = rd;
    return 0;
}

const struct sensor_driver sensor_driver_iio = {
    .name = "iio",
    .chip = "iio",
    .bus = SENSOR_BUS_SYSFS,
    .probe = iio_probe,
    .read = iio_read,
};

/* ---- discovery ---- */

/* Where discovery collects what it finds: out[0..max), *n counts every find. */
struct discovery {
    const char *root;
    struct sensor_found *out;
    size_t max;
    size_t n;
};

static void
found_add(struct discovery *dc, const struct sensor_driver *drv, const char *device,
          const char *chip, const char *label)
{
    if (dc->n < dc->max) {
        struct sensor_found *f = &dc->out[dc->n];

        f->driver = drv;
        copy_str(f->device, sizeof(f->device), device);
        copy_str(f->chip, sizeof(f->chip), chip);
        copy_str(f->label, sizeof(f->label), label);
    }
    dc->n++;
}

static int
exists(const char *root, const char *path)
{
    char p[ROOT_PATH_MAX];
    struct stat st;

    return root_path(root, path, p, sizeof(p)) == 0 && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* /sys/bus/<bus>/devices/<dev> when it exists: stable across driver rebinds, unlike hwmonK. */
static int
bus_device_path(const char *root, const char *bus, const char *dev, char *out, size_t size)
{
    char p[SENSOR_PATH_MAX];

    int n = snprintf(p, sizeof(p), "/sys/bus/%s/devices/%s", bus, dev);

    if (n < 0 || (size_t)n >= sizeof(p))
        return 0;
    if (!exists(root, p))
        return 0;
    copy_str(out, size, p);
    return 1;
}

/* One entry of a class or bus directory: dir is its sysfs path, entry its name. */
typedef void (*discover_fn)(struct discovery *dc, const char *dir, const char *entry);

/* Call fn for every entry of sysfs directory dir; a missing directory has no entries. */
static int
discover_dir(struct discovery *dc, const char *dir, discover_fn fn)
{
    char p[ROOT_PATH_MAX];
    struct dirent *de;
    DIR *d;
    int r;

    r = root_path(dc->root, dir, p, sizeof(p));
    if (r < 0)
        return r;
    d = opendir(p);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            fn(dc, dir, de->d_name);
    closedir(d);
    return 0;
}

/* hwmonN of a chip on I2C or SPI (not the SoC's own thermal hwmons). */
static void
discover_hwmon(struct discovery *dc, const char *dir, const char *entry)
{
    char dev[SENSOR_PATH_MAX], name[32], subsys[32], devbase[64], label[SENSOR_LABEL_MAX];

    if (strncmp(entry, "hwmon", 5) != 0 || path_join(dev, sizeof(dev), dir, entry) < 0)
        return;
    if (read_word(dc->root, dev, "name", name, sizeof(name)) < 0 ||
        link_base(dc->root, dev, "device/subsystem", subsys, sizeof(subsys)) < 0)
        return;
    if (strcmp(subsys, "i2c") != 0 && strcmp(subsys, "spi") != 0)
        return;
    if (link_base(dc->root, dev, "device", devbase, sizeof(devbase)) < 0)
        return;
    make_label(label, sizeof(label), name, "@", devbase);
    (void)bus_device_path(dc->root, subsys, devbase, dev, sizeof(dev));
    found_add(dc, &sensor_driver_hwmon, dev, name, label);
}

/* iio:deviceN with a channel we export. */
static void
discover_iio(struct discovery *dc, const char *dir, const char *entry)
{
    char dev[SENSOR_PATH_MAX], name[32], parent[64], label[SENSOR_LABEL_MAX];
    struct sensor_dev probe;

    if (strncmp(entry, "iio:device", 10) != 0 || path_join(dev, sizeof(dev), dir, entry) < 0)
        return;
    if (read_word(dc->root, dev, "name", name, sizeof(name)) < 0)
        return;
    memset(&probe, 0, sizeof(probe));
    probe.root = dc->root;
    copy_str(probe.sysfs_dir, sizeof(probe.sysfs_dir), dev);
    if (iio_scan_channels(&probe) < 0)
        return;
    if (link_parent_base(dc->root, dev, parent, sizeof(parent)) < 0)
        copy_str(parent, sizeof(parent), entry);
    else if (!bus_device_path(dc->root, "i2c", parent, dev, sizeof(dev)))
        (void)bus_device_path(dc->root, "spi", parent, dev, sizeof(dev));
    make_label(label, sizeof(label), name, "@", parent);
    found_add(dc, &sensor_driver_iio, dev, name, label);
}

/* A 1-Wire slave <ff>-<12 hex digits, lowercase> whose family code we know. */
static void
discover_w1(struct discovery *dc, const char *dir, const char *entry)
{
    const char *chip;
    unsigned fam = 0;
    size_t i;

    (void)dir;
    if (strlen(entry) != 15 || entry[2] != '-')
        return;
    for (i = 0; i < 15; i++) {
        if (i == 2)
            continue;
        if (!((entry[i] >= '0' && entry[i] <= '9') || (entry[i] >= 'a' && entry[i] <= 'f')))
            return;
    }
    for (i = 0; i < 2; i++)
        fam = fam << 4 | (unsigned)(entry[i] <= '9' ? entry[i] - '0' : entry[i] - 'a' + 10);
    chip = w1_family_chip(fam);
    if (chip)
        found_add(dc, &sensor_driver_w1, entry, chip, entry);
}

static int
found_cmp(const void *a, const void *b)
{
    const struct sensor_found *x = a, *y = b;

    return strcmp(x->label, y->label);
}

int
sensor_discover(const char *root, struct sensor_found *out, size_t max)
{
    static const struct {
        const char *dir;
        discover_fn fn;
    } where[] = {
        {"/sys/class/hwmon", discover_hwmon},
        {"/sys/bus/iio/devices", discover_iio},
        {"/sys/bus/w1/devices", discover_w1},
    };
    struct discovery dc = {.root = root, .out = out, .max = max};

    for (size_t i = 0; i < ARRAY_SIZE(where); i++) {
        int r = discover_dir(&dc, where[i].dir, where[i].fn);
        if (r < 0)
            return r;
    }
    qsort(out, MIN(dc.n, max), sizeof(*out), found_cmp);
    return (int)dc.n;
}
