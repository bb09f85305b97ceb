/* SPDX-License-Identifier: MIT */
/*
 * sensors.c - the sensor manager and the `sensors` collector.
 *
 * Every sensor gets its own small worker thread: a DS18B20 conversion blocks
 * 750 ms inside the kernel, an LPS25 read through IIO about 4 s at 1 Hz, and a
 * wedged bus blocks until the adapter times out; a thread per sensor means one
 * slow or stuck sensor never delays another, the system collectors or a
 * scrape. The collector's read() only copies the cache under the lock.
 * A read that takes longer than its `timeout` is discarded and counted, and a
 * sensor still in flight past it reports up 0 (and is counted once).
 * Failing sensors back off: the interval doubles per consecutive failure up to
 * `backoff_max`; the first good read restores the configured interval.
 */
#include "sensors.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "conf.h"
#include "log.h"
#include "parse.h"
#include "rootfs.h"

#define SENSORS_DEFAULT_INTERVAL 10.0  /* seconds */
#define SENSORS_DEFAULT_TIMEOUT 5.0    /* seconds: budget of one read */
#define SENSORS_DEFAULT_BACKOFF 300.0  /* seconds: cap of the doubled interval */
#define SENSORS_DEFAULT_START_WAIT 2.0 /* seconds start() waits for a first round */
#define SENSORS_STOP_WAIT 2.0          /* seconds free() waits for a worker to stop */
#define SENSORS_STACK (256 * 1024)     /* bytes of worker stack */
#define SENSORS_SPI_HZ 1000000         /* MCP3002 at 3.3 V: stay at or below 1 MHz */
#define SENSORS_DEFAULT_RESCAN 30.0    /* seconds between two discoveries of hot-plugged devices */

/*
 * Provided by the sensor simulator library (src/agent/sensors/sim) when it is
 * linked in (tests, `soak sim`); soakd does not link it, so `bus = sim` there
 * is a configuration error.
 */
extern int sensor_sim_bus_open(const char *spec, const struct sensor_driver *drv,
                               const struct sensor_dev *dev, struct sensor_bus **ret_bus)
    __attribute__((weak));

struct sensor {
    struct sensors *owner;
    size_t index;
    char section[SENSOR_LABEL_MAX]; /* config section label */
    char label[SENSOR_LABEL_MAX];   /* the `sensor` label */
    char chip[32];                  /* the `chip` label; "" = from the driver/probe */
    char bus_path[SENSOR_PATH_MAX];
    const struct sensor_driver *drv;
    struct sensor_dev dev;
    struct sensor_bus *bus;
    uint32_t speed_hz;
    int addr_set;
    double interval, timeout;
    int timeout_auto; /* no `timeout =` of its own: the budget may grow to the chip's pace */
    int discovered;
    int seen; /* a discovery found its device (read and written by the rescan only) */
    /* plausibility bounds per quantity (SI units); a value outside fails the read (-ERANGE) */
    double min[_SENSOR_QUANTITY_MAX], max[_SENSOR_QUANTITY_MAX];
    /* worker-owned */
    unsigned fails;
    struct complaint complaint; /* rate-limited log of a failing sensor */
    /* under owner->lock */
    struct sensor_reading cache;
    int up, in_flight, overrun_counted, last_error;
    uint64_t attempts, errors, timeouts;
    double started, duration, next_due, next_interval, last_ok_wall;
    /* thread */
    pthread_t thread;
    int thread_started, stuck;
};

struct sensors {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop, started, prepared;
    int discover;
    int timing_metrics; /* durations, timestamps and ages (vary run to run) */
    double interval, timeout, backoff_max, start_wait;
    double rescan;      /* seconds between discoveries after start; 0 = only at start */
    double next_rescan; /* monotonic time of the next one */
    int full_warned;    /* "too many sensors" said once */
    char *root;
    size_t n; /* grows (under lock) only by a rescan; sensors are never removed */
    struct sensor *v[SENSORS_MAX];
    struct sensor_found *found; /* discovery's scratch list, SENSORS_MAX entries */
    char err[256];
};

static double
now_mono(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
now_wall(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
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

int
sensors_new(struct sensors **ret)
{
    struct sensors *s = calloc(1, sizeof(*s));
    pthread_condattr_t ca;

    if (!s)
        return -ENOMEM;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return -ENOMEM;
    }
    (void)pthread_condattr_init(&ca);
    (void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_cond_init(&s->cond, &ca) != 0) {
        (void)pthread_condattr_destroy(&ca);
        (void)pthread_mutex_destroy(&s->lock);
        free(s);
        return -ENOMEM;
    }
    (void)pthread_condattr_destroy(&ca);
    s->discover = 1;
    s->timing_metrics = 1;
    s->interval = SENSORS_DEFAULT_INTERVAL;
    s->timeout = SENSORS_DEFAULT_TIMEOUT;
    s->backoff_max = SENSORS_DEFAULT_BACKOFF;
    s->start_wait = SENSORS_DEFAULT_START_WAIT;
    s->rescan = SENSORS_DEFAULT_RESCAN;
    *ret = s;
    return 0;
}

static struct sensor *
sensor_free(struct sensor *x)
{
    if (!x)
        return NULL;
    x->bus = sensor_bus_close(x->bus);
    free(x);
    return NULL;
}

static void
sensors_stop(struct sensors *s)
{
    (void)pthread_mutex_lock(&s->lock);
    s->stop = 1;
    (void)pthread_cond_broadcast(&s->cond);
    (void)pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < s->n; i++) {
        struct sensor *x = s->v[i];
        struct timespec until;
        double t;

        if (!x->thread_started)
            continue;
        t = now_wall() + SENSORS_STOP_WAIT;
        until.tv_sec = (time_t)t;
        until.tv_nsec = (long)((t - floor(t)) * 1e9);
        if (pthread_timedjoin_np(x->thread, NULL, &until) != 0) {
            /* Stuck in the kernel: let it go; its sensor is never freed. */
            (void)pthread_detach(x->thread);
            x->stuck = 1;
        }
        x->thread_started = 0;
    }
}

struct sensors *
sensors_free(struct sensors *s)
{
    int any_stuck = 0;

    if (!s)
        return NULL;
    sensors_stop(s);
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i]->stuck)
            any_stuck = 1;
        else
            s->v[i] = sensor_free(s->v[i]);
    }
    if (any_stuck)
        return NULL; /* a detached worker still references the lock and root */
    free(s->found);
    free(s->root);
    (void)pthread_cond_destroy(&s->cond);
    (void)pthread_mutex_destroy(&s->lock);
    free(s);
    return NULL;
}

const char *
sensors_error(const struct sensors *s)
{
    return s->err;
}

size_t
sensors_count(const struct sensors *s)
{
    return s->n;
}

int
sensors_find(const struct sensors *s, const char *label)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i]->label, label) == 0)
            return (int)i;
    return -ENOENT;
}

const char *
sensors_label(const struct sensors *s, size_t i)
{
    return i < s->n ? s->v[i]->label : NULL;
}

struct sensor_bus *
sensors_bus(struct sensors *s, size_t i)
{
    return i < s->n ? s->v[i]->bus : NULL;
}

/* ---- configuration ---- */

/* A sensor with defaults, not yet in the list (the caller appends it). */
static struct sensor *
sensor_alloc(struct sensors *s)
{
    struct sensor *x;

    if (s->n >= SENSORS_MAX)
        return NULL;
    x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->owner = s;
    x->index = s->n;
    x->interval = -1;
    x->timeout = -1;
    x->dev.vref = 3.3;
    x->speed_hz = SENSORS_SPI_HZ;
    for (size_t q = 0; q < _SENSOR_QUANTITY_MAX; q++) {
        x->min[q] = -INFINITY;
        x->max[q] = INFINITY;
    }
    return x;
}

/* A new sensor appended to the list (configuration time: no other thread runs). */
static struct sensor *
sensor_new(struct sensors *s)
{
    struct sensor *x = sensor_alloc(s);

    if (x)
        s->v[s->n++] = x;
    return x;
}

static int
parse_addr(const char *v, uint16_t *ret)
{
    uint64_t a = 0;

    if ((v[0] == '0') && (v[1] == 'x' || v[1] == 'X')) {
        const char *p = v + 2;

        if (!*p)
            return -EINVAL;
        for (; *p; p++) {
            int h;

            if (*p >= '0' && *p <= '9')
                h = *p - '0';
            else if (*p >= 'a' && *p <= 'f')
                h = *p - 'a' + 10;
            else if (*p >= 'A' && *p <= 'F')
                h = *p - 'A' + 10;
            else
                return -EINVAL;
            a = a * 16 + (uint64_t)h;
            if (a > 0x7f)
                return -ERANGE;
        }
    } else if (parse_u64(v, &a) < 0)
        return -EINVAL;
    if (a < 0x03 || a > 0x77)
        return -ERANGE; /* reserved 7-bit addresses */
    *ret = (uint16_t)a;
    return 0;
}

static int
parse_seconds(const char *v, double *ret)
{
    double d;

    if (conf_duration(v, &d) < 0 || !(d > 0) || d > 86400.0)
        return -EINVAL;
    *ret = d;
    return 0;
}

static int
configure_global(struct sensors *s, const char *key, const char *value)
{
    if (strcmp(key, "discover") == 0)
        return conf_bool(value, &s->discover) < 0 ? -EINVAL : 0;
    if (strcmp(key, "timing_metrics") == 0)
        return conf_bool(value, &s->timing_metrics) < 0 ? -EINVAL : 0;
    /* `interval` of [collector.sensors] is the daemon's (how often the cache is copied). */
    if (strcmp(key, "default_interval") == 0)
        return parse_seconds(value, &s->interval);
    if (strcmp(key, "timeout") == 0)
        return parse_seconds(value, &s->timeout);
    if (strcmp(key, "backoff_max") == 0)
        return parse_seconds(value, &s->backoff_max);
    if (strcmp(key, "rescan") == 0) {
        double d;
        int b;

        /* "no" (or 0) turns it off; otherwise a duration of at least a second */
        if (conf_bool(value, &b) == 0 && !b) {
            s->rescan = 0;
            return 0;
        }
        if (conf_duration(value, &d) < 0 || d < 0 || d > 86400.0 || (d > 0 && d < 1.0))
            return -EINVAL;
        s->rescan = d;
        return 0;
    }
    if (strcmp(key, "start_wait") == 0) {
        double d;

        if (conf_duration(value, &d) < 0 || d < 0 || d > 60)
            return -EINVAL;
        s->start_wait = d;
        return 0;
    }
    return -ENOENT;
}

/* Config key stem of each quantity: `<stem>_min` / `<stem>_max` bound its values. */
static const char *const quantity_key[_SENSOR_QUANTITY_MAX] = {
    [SENSOR_TEMPERATURE] = "temperature", [SENSOR_HUMIDITY] = "humidity",
    [SENSOR_ILLUMINANCE] = "illuminance", [SENSOR_PRESSURE] = "pressure",
    [SENSOR_VOLTAGE] = "voltage",
};

static const struct {
    const char *alias;
    const char *driver;
    unsigned model;
} driver_aliases[] = {
    {"sht30", "sht3x", 0},   {"sht31", "sht3x", 0},     {"sht35", "sht3x", 0},
    {"aht10", "aht20", 0},   {"aht21", "aht20", 0},     {"lps25h", "lps25", 0},
    {"lps25hb", "lps25", 0}, {"mcp3004", "mcp3002", 4}, {"mcp3008", "mcp3002", 8},
};

int
sensors_configure(struct sensors *s, const char *section_label, const char *key, const char *value)
{
    struct sensor *x = NULL;
    uint64_t u;

    if (!key || !value)
        return -EINVAL;
    if (!section_label)
        return configure_global(s, key, value);
    if (!section_label[0] || strlen(section_label) >= SENSOR_LABEL_MAX)
        return -EINVAL;
    for (size_t i = 0; i < s->n; i++)
        if (!s->v[i]->discovered && strcmp(s->v[i]->section, section_label) == 0)
            x = s->v[i];
    if (!x) {
        x = sensor_new(s);
        if (!x)
            return s->n >= SENSORS_MAX ? -E2BIG : -ENOMEM;
        copy_str(x->section, sizeof(x->section), section_label);
        copy_str(x->label, sizeof(x->label), section_label);
    }

    if (strcmp(key, "driver") == 0) {
        const struct sensor_driver *d = sensor_driver_find(value);

        for (size_t i = 0; !d && i < ARRAY_SIZE(driver_aliases); i++)
            if (strcmp(value, driver_aliases[i].alias) == 0) {
                d = sensor_driver_find(driver_aliases[i].driver);
                x->dev.model = driver_aliases[i].model;
            }
        if (!d)
            return -EINVAL;
        x->drv = d;
        return 0;
    }
    if (strcmp(key, "bus") == 0) {
        if (!value[0] || strlen(value) >= sizeof(x->bus_path))
            return -EINVAL;
        if (strncmp(value, "sim", 3) == 0 && !sensor_sim_bus_open)
            return -EINVAL; /* this binary was built without the simulators */
        copy_str(x->bus_path, sizeof(x->bus_path), value);
        return 0;
    }
    if (strcmp(key, "address") == 0) {
        if (parse_addr(value, &x->dev.addr) < 0)
            return -EINVAL;
        x->addr_set = 1;
        return 0;
    }
    if (strcmp(key, "channel") == 0) {
        if (parse_u64(value, &u) < 0 || u > 7)
            return -EINVAL;
        x->dev.channel = (unsigned)u;
        return 0;
    }
    if (strcmp(key, "differential") == 0)
        return conf_bool(value, &x->dev.differential) < 0 ? -EINVAL : 0;
    if (strcmp(key, "device") == 0) {
        if (!value[0] || strlen(value) >= sizeof(x->dev.device) || strstr(value, ".."))
            return -EINVAL;
        copy_str(x->dev.device, sizeof(x->dev.device), value);
        return 0;
    }
    if (strcmp(key, "interval") == 0)
        return parse_seconds(value, &x->interval);
    if (strcmp(key, "timeout") == 0)
        return parse_seconds(value, &x->timeout);
    if (strcmp(key, "label") == 0) {
        if (!value[0] || strlen(value) >= sizeof(x->label))
            return -EINVAL;
        copy_str(x->label, sizeof(x->label), value);
        return 0;
    }
    if (strcmp(key, "chip") == 0) {
        if (!value[0] || strlen(value) >= sizeof(x->chip))
            return -EINVAL;
        copy_str(x->chip, sizeof(x->chip), value);
        return 0;
    }
    if (strcmp(key, "vref") == 0) {
        double d;

        if (parse_double(value, &d) < 0 || !(d > 0.5) || d > 10.0)
            return -EINVAL;
        x->dev.vref = d;
        return 0;
    }
    if (strcmp(key, "mtreg") == 0) {
        if (parse_u64(value, &u) < 0 || u < 31 || u > 254)
            return -EINVAL;
        x->dev.model = (unsigned)u;
        return 0;
    }
    for (int q = 0; q < _SENSOR_QUANTITY_MAX; q++) {
        size_t l = strlen(quantity_key[q]);
        double d;

        if (strncmp(key, quantity_key[q], l) != 0 ||
            (strcmp(key + l, "_min") != 0 && strcmp(key + l, "_max") != 0))
            continue;
        if (parse_double(value, &d) < 0 || !isfinite(d))
            return -EINVAL;
        if (key[l + 2] == 'i')
            x->min[q] = d;
        else
            x->max[q] = d;
        return 0;
    }
    if (strcmp(key, "speed_hz") == 0) {
        if (parse_u64(value, &u) < 0 || u < 10000 || u > 50000000)
            return -EINVAL;
        x->speed_hz = (uint32_t)u;
        return 0;
    }
    return -ENOENT;
}

/* ---- preparing the list ---- */

static int
sensor_check(struct sensors *s, struct sensor *x)
{
    const char *why = NULL;

    if (!x->drv)
        why = "no driver = (sht3x, shtc3, aht20, bh1750, lps25, mcp3002, ds18b20, hwmon, iio, w1)";
    else if ((x->drv->bus == SENSOR_BUS_I2C || x->drv->bus == SENSOR_BUS_SPI) && !x->bus_path[0])
        why = "no bus = (/dev/i2c-N or /dev/spidevB.C)";
    else if ((x->drv->bus == SENSOR_BUS_W1 || x->drv->bus == SENSOR_BUS_SYSFS) && !x->dev.device[0])
        why = "no device = (w1 id like 28-04160b1e64ff, or a sysfs directory)";
    else if (strncmp(x->bus_path, "sim", 3) == 0 && !sensor_sim_bus_open)
        why = "bus = sim needs the sensor simulator, which this soakd was built without";
    if (why) {
        (void)snprintf(s->err, sizeof(s->err), "[sensor %s]: %s", x->section, why);
        return -EINVAL;
    }
    for (int q = 0; q < _SENSOR_QUANTITY_MAX; q++)
        if (x->min[q] > x->max[q]) {
            (void)snprintf(s->err, sizeof(s->err), "[sensor %s]: %s_min is above %s_max",
                           x->section, quantity_key[q], quantity_key[q]);
            return -EINVAL;
        }
    if (x->drv->bus == SENSOR_BUS_I2C && !x->addr_set)
        x->dev.addr = x->drv->default_addr;
    if (x->interval < 0)
        x->interval = s->interval;
    if (x->timeout < 0) {
        x->timeout = s->timeout;
        x->timeout_auto = 1;
    }
    x->dev.root = s->root;
    return 0;
}

/*
 * Is configured device path `configured` the same directory as the one whose
 * real path is `real` (or one inside the other)?
 */
static int
same_device(const char *root, const char *configured, const char *real)
{
    char a[ROOT_PATH_MAX], ra[PATH_MAX];
    size_t l;

    if (root_path(root, configured, a, sizeof(a)) < 0 || !realpath(a, ra))
        return 0;
    l = strlen(ra);
    if (strncmp(ra, real, l) == 0 && (real[l] == '\0' || real[l] == '/'))
        return 1;
    l = strlen(real);
    return strncmp(real, ra, l) == 0 && ra[l] == '/';
}

/*
 * The index of the sensor among the first n that already covers found device
 * f, or -1: the same label first (every discovered sensor, cheaply), then a
 * configured sensor of the same w1 id or sysfs directory (resolving paths).
 */
static int
sensor_known(const struct sensors *s, size_t n, const struct sensor_found *f)
{
    char b[ROOT_PATH_MAX], rb[PATH_MAX];
    int resolved = -1; /* rb: -1 not tried yet, 0 failed, 1 holds f's real path */

    for (size_t j = 0; j < n; j++)
        if (strcmp(s->v[j]->label, f->label) == 0)
            return (int)j;
    for (size_t j = 0; j < n; j++) {
        const struct sensor *c = s->v[j];

        if (c->discovered || !c->drv || !c->dev.device[0])
            continue;
        if ((c->drv->bus == SENSOR_BUS_W1 || c->drv->bus == SENSOR_BUS_SYSFS) &&
            strcmp(c->dev.device, f->device) == 0)
            return (int)j;
        if (c->drv->bus != SENSOR_BUS_SYSFS)
            continue;
        if (resolved < 0)
            resolved = root_path(s->root, f->device, b, sizeof(b)) == 0 && realpath(b, rb);
        if (resolved && same_device(s->root, c->dev.device, rb))
            return (int)j;
    }
    return -1;
}

static int sensor_thread_start(struct sensors *s, struct sensor *x);

int
sensors_rescan(struct sensors *s)
{
    uint8_t present[SENSORS_MAX] = {0};
    size_t n0 = s->n;
    double now = now_mono();
    int nf, added = 0, woken = 0;

    if (!s->prepared || !s->discover || !s->found)
        return 0;
    s->next_rescan = now + s->rescan;
    nf = sensor_discover(s->root, s->found, SENSORS_MAX);
    if (nf < 0)
        return nf;
    for (int i = 0; i < MIN(nf, SENSORS_MAX); i++) {
        const struct sensor_found *f = &s->found[i];
        int k = sensor_known(s, s->n, f); /* s->n: only this thread appends */
        struct sensor *x;

        if (k >= 0) {
            present[k] = 1;
            s->v[k]->seen = 1;
            continue;
        }
        x = sensor_alloc(s);
        if (!x) {
            if (!s->full_warned)
                log_warnx("sensors: %s and later devices are not read: %d sensors at most",
                          f->label, SENSORS_MAX);
            s->full_warned = 1;
            break;
        }
        x->discovered = 1;
        x->seen = 1;
        x->drv = f->driver;
        copy_str(x->section, sizeof(x->section), f->label);
        copy_str(x->label, sizeof(x->label), f->label);
        copy_str(x->chip, sizeof(x->chip), f->chip);
        copy_str(x->dev.device, sizeof(x->dev.device), f->device);
        x->interval = s->interval;
        x->timeout = s->timeout;
        x->timeout_auto = 1;
        x->dev.root = s->root;
        (void)pthread_mutex_lock(&s->lock);
        s->v[s->n++] = x;
        (void)pthread_mutex_unlock(&s->lock);
        if (s->started) {
            log_info("sensor %s (%s) appeared", x->label, x->chip);
            (void)sensor_thread_start(s, x);
        }
        added++;
    }
    /*
     * A device that is back while its sensor is down (backed off) is read now;
     * one that went away while up is read now too, so that it reports up 0 at
     * the next scrape instead of after its interval. This covers discovered
     * sensors and configured hwmon/iio/w1 ones whose device discovery finds.
     */
    (void)pthread_mutex_lock(&s->lock);
    for (size_t j = 0; j < n0; j++) {
        struct sensor *x = s->v[j];

        if (!x->seen || x->in_flight || x->next_due <= now)
            continue;
        if ((present[j] && !x->up && (x->last_error == -ENOENT || x->last_error == -ENODATA)) ||
            (!present[j] && x->up)) {
            x->next_due = now;
            x->fails = 0;
            woken++;
        }
    }
    if (woken) /* the workers share one condition: wake them only when one is due */
        (void)pthread_cond_broadcast(&s->cond);
    (void)pthread_mutex_unlock(&s->lock);
    return added;
}

int
sensors_prepare(struct sensors *s, const char *root)
{
    int r;

    if (s->prepared)
        return -EALREADY;
    free(s->root);
    s->root = strdup(root ? root : "");
    if (!s->root)
        return -ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        r = sensor_check(s, s->v[i]);
        if (r < 0)
            return r;
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->v[i]->label, s->v[j]->label) == 0) {
                (void)snprintf(s->err, sizeof(s->err), "[sensor %s]: label \"%s\" used twice",
                               s->v[i]->section, s->v[i]->label);
                return -EINVAL;
            }
    }
    if (s->discover) {
        s->found = calloc(SENSORS_MAX, sizeof(*s->found));
        if (!s->found)
            return -ENOMEM;
    }
    s->prepared = 1;
    if (s->discover)
        (void)sensors_rescan(s);
    return 0;
}

/* ---- one attempt ---- */

static int
sensor_open_bus(struct sensors *s, struct sensor *x)
{
    if (strncmp(x->bus_path, "sim", 3) == 0) {
        if (!sensor_sim_bus_open)
            return -EOPNOTSUPP;
        return sensor_sim_bus_open(x->bus_path, x->drv, &x->dev, &x->bus);
    }
    switch (x->drv->bus) {
    case SENSOR_BUS_I2C:
        return sensor_bus_open_i2c(s->root, x->bus_path, x->dev.addr, &x->bus);
    case SENSOR_BUS_SPI:
        return sensor_bus_open_spi(s->root, x->bus_path, x->speed_hz, &x->bus);
    case SENSOR_BUS_W1:
        return sensor_bus_open_w1(s->root, &x->bus);
    default:
        return 0;
    }
}

/*
 * -ERANGE when a value lies outside the sensor's configured bounds (an ADC
 * input shorted to ground or left floating reads as a valid voltage; only the
 * wiring tells what is plausible). The chip itself answered: it stays probed.
 */
static int
sensor_plausible(const struct sensor *x, const struct sensor_reading *rd)
{
    for (size_t k = 0; k < rd->n; k++) {
        const struct sensor_value *v = &rd->v[k];

        if ((int)v->quantity < 0 || v->quantity >= _SENSOR_QUANTITY_MAX)
            continue;
        if (v->value < x->min[v->quantity] || v->value > x->max[v->quantity])
            return -ERANGE;
    }
    return 0;
}

/* Open, probe when needed, read. Runs without the lock. */
static int
sensor_attempt(struct sensors *s, struct sensor *x, struct sensor_reading *ret)
{
    int r;

    if (!x->bus && x->drv->bus != SENSOR_BUS_SYSFS) {
        r = sensor_open_bus(s, x);
        if (r < 0)
            return r;
        x->dev.bus = x->bus;
    }
    if (!x->dev.ready) {
        r = x->drv->probe(&x->dev);
        if (r < 0)
            goto fail;
        x->dev.ready = 1;
    }
    r = x->drv->read(&x->dev, ret);
    if (r == 0)
        return sensor_plausible(x, ret);
fail:
    /* Reset and re-identify the chip next time. */
    x->dev.ready = 0;
    /*
     * Reopen a real bus after a broken-fd error or a third failure in a row (an
     * adapter that went away and came back is a new device). A simulated bus is
     * kept: reopening it would make a new chip and drop its injected faults.
     */
    if (x->bus && strncmp(x->bus_path, "sim", 3) != 0 &&
        (r == -ENODEV || r == -EBADF || r == -ENOTTY || x->fails >= 2)) {
        x->bus = sensor_bus_close(x->bus);
        x->dev.bus = NULL;
    }
    return r;
}

static const struct {
    int err;
    const char *name;
    const char *meaning; /* for the log, in sensor terms */
} sensor_errors[] = {
    {ENXIO, "ENXIO", "no acknowledge (unplugged, wrong address, or asleep)"},
    {EREMOTEIO, "EREMOTEIO", "no acknowledge"},
    {EBADMSG, "EBADMSG", "CRC mismatch or corrupted frame"},
    {ETIMEDOUT, "ETIMEDOUT", "timed out (busy bit stuck, bus hung, or over its time budget)"},
    {EAGAIN, "EAGAIN", "no new conversion (DS18B20 power-on value, data-ready bits clear)"},
    {EIO, "EIO", "implausible data (bus stuck high/low, uncalibrated, fault flag)"},
    {ERANGE, "ERANGE", "value outside the chip's range or the configured <quantity>_min/_max"},
    {ENODEV, "ENODEV", "wrong chip (identity check failed)"},
    {EBUSY, "EBUSY", "a kernel driver owns this address: use driver = hwmon or iio"},
    {ENOENT, "ENOENT", "device or bus node not found"},
    {ENOTTY, "ENOTTY", "not an i2c-dev/spidev node"},
    {EACCES, "EACCES", "permission denied"},
    {EPERM, "EPERM", "permission denied"},
    {EINVAL, "EINVAL", "unparsable value or bad setting"},
    {ENODATA, "ENODATA", "no channels to read"},
    {EOPNOTSUPP, "EOPNOTSUPP", "not supported by this bus"},
    {ENOMEM, "ENOMEM", "out of memory"},
};

/* The symbolic name of an error (a label value), "other" when not one of ours. */
static const char *
error_name(int err)
{
    for (size_t i = 0; i < ARRAY_SIZE(sensor_errors); i++)
        if (sensor_errors[i].err == -err)
            return sensor_errors[i].name;
    return "other";
}

static const char *
error_meaning(int err)
{
    for (size_t i = 0; i < ARRAY_SIZE(sensor_errors); i++)
        if (sensor_errors[i].err == -err)
            return sensor_errors[i].meaning;
    return strerror(-err);
}

/* Record an attempt's outcome; called with the lock held. Returns the outcome as recorded. */
static int
sensor_record(struct sensors *s, struct sensor *x, int r, const struct sensor_reading *rd,
              double t0, double t1)
{
    double next;

    x->in_flight = 0;
    x->attempts++;
    x->duration = t1 - t0;
    /*
     * A kernel driver that wakes its chip for each read (st_sensors: 2 samples at
     * the output data rate, 4 s for an LPS25's two channels at 1 Hz) is given
     * that time plus a margin, unless the sensor's own `timeout` says otherwise.
     */
    if (x->timeout_auto)
        x->timeout = MAX(x->timeout, x->dev.read_estimate * 1.5 + 1.0);
    if (r == 0 && x->duration > x->timeout)
        r = -ETIMEDOUT; /* over its budget: the value is discarded */
    if (r < 0) {
        if (!x->overrun_counted) {
            x->errors++;
            if (r == -ETIMEDOUT)
                x->timeouts++;
        }
        x->up = 0;
        x->last_error = r;
        if (x->fails < 30)
            x->fails++;
        next = x->interval * (double)(1u << MIN(x->fails, 20u));
        next = MIN(next, MAX(s->backoff_max, x->interval));
    } else {
        x->up = 1;
        x->last_error = 0;
        x->cache = *rd;
        x->last_ok_wall = now_wall();
        x->fails = 0;
        next = x->interval;
    }
    x->overrun_counted = 0;
    x->next_interval = next;
    x->next_due = (r == 0 ? t0 : t1) + next;
    if (x->next_due < t1)
        x->next_due = t1;
    return r;
}

/* Log a failure (rate-limited) or the recovery; called without the lock. */
static void
sensor_complain(struct sensor *x, int r, double now, double next)
{
    if (r < 0)
        complain(&x->complaint, now, "sensor %s: %s [%s], next attempt in %.3g s", x->label,
                 error_meaning(r), error_name(r), next);
    else
        complain_release(&x->complaint, "sensor %s: reading again", x->label);
}

int
sensors_sample(struct sensors *s, size_t i)
{
    struct sensor_reading rd = {0};
    struct sensor *x;
    double t0, next;
    int r;

    if (i >= s->n || s->started)
        return -EINVAL;
    x = s->v[i];
    t0 = now_mono();
    (void)pthread_mutex_lock(&s->lock);
    x->in_flight = 1;
    x->started = t0;
    (void)pthread_mutex_unlock(&s->lock);
    r = sensor_attempt(s, x, &rd);
    (void)pthread_mutex_lock(&s->lock);
    r = sensor_record(s, x, r, &rd, t0, now_mono());
    next = x->next_interval;
    (void)pthread_cond_broadcast(&s->cond);
    (void)pthread_mutex_unlock(&s->lock);
    sensor_complain(x, r, t0, next);
    return r;
}

void
sensors_get_state(struct sensors *s, size_t i, struct sensors_state *ret)
{
    struct sensor *x;

    memset(ret, 0, sizeof(*ret));
    if (i >= s->n)
        return;
    x = s->v[i];
    (void)pthread_mutex_lock(&s->lock);
    ret->up = x->up;
    ret->in_flight = x->in_flight;
    ret->attempts = x->attempts;
    ret->errors = x->errors;
    ret->timeouts = x->timeouts;
    ret->last_error = x->last_error;
    ret->next_interval = x->next_interval;
    ret->timeout = x->timeout;
    (void)pthread_mutex_unlock(&s->lock);
}

/* ---- workers ---- */

static void
abs_deadline(double mono, struct timespec *ts)
{
    ts->tv_sec = (time_t)mono;
    ts->tv_nsec = (long)((mono - floor(mono)) * 1e9);
    if (ts->tv_nsec >= 1000000000L)
        ts->tv_nsec = 999999999L;
}

static void *
sensor_worker(void *arg)
{
    struct sensor *x = arg;
    struct sensors *s = x->owner;

    (void)pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        struct sensor_reading rd = {0};
        double t0 = now_mono(), next;
        int r;

        if (t0 < x->next_due) {
            struct timespec ts;

            abs_deadline(x->next_due, &ts);
            (void)pthread_cond_timedwait(&s->cond, &s->lock, &ts);
            continue;
        }
        x->in_flight = 1;
        x->started = t0;
        (void)pthread_mutex_unlock(&s->lock);
        r = sensor_attempt(s, x, &rd);
        (void)pthread_mutex_lock(&s->lock);
        r = sensor_record(s, x, r, &rd, t0, now_mono());
        next = x->next_interval;
        (void)pthread_cond_broadcast(&s->cond);
        (void)pthread_mutex_unlock(&s->lock);
        sensor_complain(x, r, t0, next);
        (void)pthread_mutex_lock(&s->lock);
    }
    (void)pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Start x's worker; its first read is due at once. */
static int
sensor_thread_start(struct sensors *s, struct sensor *x)
{
    pthread_attr_t attr;
    int r;

    (void)s;
    if (pthread_attr_init(&attr) != 0)
        return -ENOMEM;
    (void)pthread_attr_setstacksize(&attr, SENSORS_STACK);
    x->next_due = 0;
    r = pthread_create(&x->thread, &attr, sensor_worker, x);
    (void)pthread_attr_destroy(&attr);
    if (r != 0) {
        /* Out of threads: this sensor reports up 0 forever; the agent goes on. */
        (void)pthread_mutex_lock(&s->lock);
        x->last_error = -EAGAIN;
        (void)pthread_mutex_unlock(&s->lock);
        return -r;
    }
    x->thread_started = 1;
    return 0;
}

int
sensors_start(struct sensors *s, const char *root)
{
    double until;
    int r;

    r = sensors_prepare(s, root);
    if (r < 0)
        return r;
    s->started = 1;
    for (size_t i = 0; i < s->n; i++)
        (void)sensor_thread_start(s, s->v[i]);

    /* Wait, bounded, until every sensor has finished its first attempt. */
    until = now_mono() + s->start_wait;
    (void)pthread_mutex_lock(&s->lock);
    for (;;) {
        struct timespec ts;
        size_t pending = 0;

        for (size_t i = 0; i < s->n; i++)
            if (s->v[i]->thread_started && s->v[i]->attempts == 0)
                pending++;
        if (pending == 0 || now_mono() >= until)
            break;
        abs_deadline(until, &ts);
        (void)pthread_cond_timedwait(&s->cond, &s->lock, &ts);
    }
    (void)pthread_mutex_unlock(&s->lock);
    return 0;
}

/* ---- output ---- */

static const struct {
    const char *name;
    const char *help;
} quantity_family[_SENSOR_QUANTITY_MAX] = {
    [SENSOR_TEMPERATURE] = {"soak_sensor_temperature_celsius",
                            "Sensor temperature in degrees Celsius."},
    [SENSOR_HUMIDITY] = {"soak_sensor_humidity_percent", "Sensor relative humidity in percent."},
    [SENSOR_ILLUMINANCE] = {"soak_sensor_illuminance_lux", "Sensor illuminance in lux."},
    [SENSOR_PRESSURE] = {"soak_sensor_pressure_pascals", "Sensor air pressure in pascals."},
    [SENSOR_VOLTAGE] = {"soak_sensor_voltage_volts", "Sensor (ADC) voltage in volts."},
};

static const char *
sensor_chip(const struct sensor *x)
{
    if (x->chip[0])
        return x->chip;
    if (x->dev.chip[0])
        return x->dev.chip;
    return x->drv ? x->drv->chip : "unknown";
}

/*
 * Has sensor x anything to report yet (lock held)? Not before its first read
 * attempt has ended, unless that attempt overran its budget (then it is down)
 * or the sensor could not start: a sensor just plugged in, or one whose first
 * read is slower than start_wait, is neither up nor down until it has been
 * read, so the server does not call it lost.
 */
static int
sensor_has_news(const struct sensor *x)
{
    return x->attempts > 0 || x->overrun_counted || x->last_error != 0;
}

/* Is sensor x currently counted as up (lock held)? */
static int
sensor_is_up(struct sensor *x, double mono)
{
    if (x->in_flight && mono - x->started > x->timeout) {
        if (!x->overrun_counted) {
            x->overrun_counted = 1;
            x->errors++;
            x->timeouts++;
        }
        return 0;
    }
    return x->up;
}

static void
family(struct expo_writer *w, const char *name, enum metric_type t, const char *help)
{
    char fam[EXPO_NAME_MAX];
    size_t l = strlen(name);

    /* OpenMetrics counter families are named without _total. */
    if (t == METRIC_COUNTER && w->format == EXPO_OPENMETRICS && l > 6 &&
        strcmp(name + l - 6, "_total") == 0 && l - 6 < sizeof(fam)) {
        memcpy(fam, name, l - 6);
        fam[l - 6] = '\0';
        (void)expo_family(w, fam, t, help);
        return;
    }
    (void)expo_family(w, name, t, help);
}

int
sensors_write(struct sensors *s, struct expo_writer *w)
{
    double mono = now_mono(), wall = now_wall();
    int up[SENSORS_MAX], shown[SENSORS_MAX];
    size_t nshown = 0;

    (void)pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n; i++) {
        up[i] = sensor_is_up(s->v[i], mono);
        shown[i] = sensor_has_news(s->v[i]);
        nshown += (size_t)shown[i];
    }

    for (int q = 0; q < _SENSOR_QUANTITY_MAX; q++) {
        int started = 0;

        for (size_t i = 0; i < s->n; i++) {
            const struct sensor *x = s->v[i];

            if (!up[i])
                continue;
            for (size_t k = 0; k < x->cache.n; k++) {
                const struct sensor_value *v = &x->cache.v[k];
                char label[SENSOR_LABEL_MAX + SENSOR_CHANNEL_MAX + 1];
                struct expo_label l[2];

                if ((int)v->quantity != q)
                    continue;
                if (!started) {
                    family(w, quantity_family[q].name, METRIC_GAUGE, quantity_family[q].help);
                    started = 1;
                }
                if (v->channel[0])
                    (void)snprintf(label, sizeof(label), "%s_%s", x->label, v->channel);
                else
                    copy_str(label, sizeof(label), x->label);
                l[0] = (struct expo_label){"sensor", label};
                l[1] = (struct expo_label){"chip", sensor_chip(x)};
                (void)expo_sample(w, quantity_family[q].name, l, 2, v->value);
            }
        }
    }
    if (nshown) {
        family(w, "soak_sensor_up", METRIC_GAUGE,
               "1 when the sensor's latest read succeeded within its time budget.");
        for (size_t i = 0; i < s->n; i++) {
            struct expo_label l = {"sensor", s->v[i]->label};

            if (shown[i])
                (void)expo_sample(w, "soak_sensor_up", &l, 1, up[i]);
        }
        family(w, "soak_sensor_error_info", METRIC_GAUGE,
               "The error of a sensor that is down (ENXIO no ACK, EBADMSG CRC, ETIMEDOUT, "
               "EAGAIN no conversion, EIO implausible data, ERANGE out of range or bounds, "
               "ENODEV wrong chip, EBUSY kernel driver bound, ENOENT device gone).");
        for (size_t i = 0; i < s->n; i++) {
            const struct sensor *x = s->v[i];
            int err = x->in_flight && !up[i] && x->overrun_counted ? -ETIMEDOUT : x->last_error;
            struct expo_label l[2] = {{"sensor", x->label}, {"error", error_name(err)}};

            if (shown[i] && !up[i] && err)
                (void)expo_sample(w, "soak_sensor_error_info", l, 2, 1);
        }
        family(w, "soak_sensor_read_errors_total", METRIC_COUNTER,
               "Failed sensor reads (NACK, CRC, timeout, implausible value).");
        for (size_t i = 0; i < s->n; i++) {
            struct expo_label l = {"sensor", s->v[i]->label};

            if (shown[i])
                (void)expo_sample(w, "soak_sensor_read_errors_total", &l, 1,
                                  (double)s->v[i]->errors);
        }
        family(w, "soak_sensor_read_timeouts_total", METRIC_COUNTER,
               "Sensor reads that overran their time budget (also counted as errors).");
        for (size_t i = 0; i < s->n; i++) {
            struct expo_label l = {"sensor", s->v[i]->label};

            if (shown[i])
                (void)expo_sample(w, "soak_sensor_read_timeouts_total", &l, 1,
                                  (double)s->v[i]->timeouts);
        }
    }
    if (nshown && s->timing_metrics) {
        family(w, "soak_sensor_read_duration_seconds", METRIC_GAUGE,
               "Duration of the sensor's latest completed read attempt.");
        for (size_t i = 0; i < s->n; i++) {
            struct expo_label l = {"sensor", s->v[i]->label};

            if (s->v[i]->attempts)
                (void)expo_sample(w, "soak_sensor_read_duration_seconds", &l, 1, s->v[i]->duration);
        }
        family(w, "soak_sensor_last_read_timestamp_seconds", METRIC_GAUGE,
               "Unix time of the sensor's latest successful read.");
        for (size_t i = 0; i < s->n; i++) {
            struct expo_label l = {"sensor", s->v[i]->label};

            if (s->v[i]->last_ok_wall > 0)
                (void)expo_sample(w, "soak_sensor_last_read_timestamp_seconds", &l, 1,
                                  floor(s->v[i]->last_ok_wall * 1000.0) / 1000.0);
        }
        family(w, "soak_sensor_reading_age_seconds", METRIC_GAUGE,
               "Seconds since the sensor's latest successful read.");
        for (size_t i = 0; i < s->n; i++) {
            struct expo_label l = {"sensor", s->v[i]->label};

            if (s->v[i]->last_ok_wall > 0)
                (void)expo_sample(
                    w, "soak_sensor_reading_age_seconds", &l, 1,
                    MAX(0.0, floor((wall - s->v[i]->last_ok_wall) * 1000.0) / 1000.0));
        }
    }
    (void)pthread_mutex_unlock(&s->lock);
    return expo_error(w);
}

/* ---- the collector ---- */

static int
collector_init(void **ret_ctx)
{
    struct sensors *s;
    int r = sensors_new(&s);

    if (r < 0)
        return r;
    *ret_ctx = s;
    return 0;
}

static int
collector_configure(void *ctx, const char *key, const char *value)
{
    const char *dot = strrchr(key, '.');
    char label[SENSOR_LABEL_MAX];
    size_t l;

    if (!dot)
        return sensors_configure(ctx, NULL, key, value);
    l = (size_t)(dot - key);
    if (l == 0 || l >= sizeof(label))
        return -EINVAL;
    memcpy(label, key, l);
    label[l] = '\0';
    return sensors_configure(ctx, label, dot + 1, value);
}

static int
collector_start(void *ctx, const char *root)
{
    int r = sensors_start(ctx, root);

    /* Start-up only: the daemon reports the errno, this says which sensor and why. */
    if (r < 0 && sensors_error(ctx)[0])
        log_warnx("%s", sensors_error(ctx));
    return r;
}

static int
collector_read(void *ctx, const char *root, struct expo_writer *w)
{
    struct sensors *s = ctx;

    (void)root;
    /* Hot-plugged devices: a few readdir/readlink calls on sysfs, never a sensor read. */
    if (s->started && s->discover && s->rescan > 0 && now_mono() >= s->next_rescan)
        (void)sensors_rescan(s);
    return sensors_write(s, w);
}

static void
collector_fini(void *ctx)
{
    (void)sensors_free(ctx);
}

const struct collector_ops sensors_collector = {
    .name = "sensors",
    .help = "I2C/SPI/1-Wire sensors (userspace drivers) and hwmon/IIO/w1 devices, read by worker "
            "threads",
    .flags = COLLECTOR_SLOW,
    .interval = 0,
    .init = collector_init,
    .configure = collector_configure,
    .start = collector_start,
    .read = collector_read,
    .fini = collector_fini,
};
