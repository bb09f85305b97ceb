/* SPDX-License-Identifier: MIT */
/*
 * farm.c - the farm model: the tables (devices, builds, plans, sensors, slab
 * caches) and the pure functions that turn them into values at a time t.
 *
 * Leak rates come from the story: on the rock-pi-s, slabtop showed 218,820
 * filp objects (192 B, 41,680 kB of slab) plus 60,564 kmalloc-cg-192 after
 * about two days on 6.17.6, i.e. ~20 MB/day of filp and ~30 MB/day in all; at
 * that rate the ~145 MB a 256 MB board has available after boot is gone in
 * ~4.5 days, when it panicked. The 1 GB boards leak the same way but run fewer
 * processes (7-9 MB/day: three weeks look fine), the rock-5b server spawns chart
 * helpers every minute (~370 MB/day: OOM kills after ~9 days).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "farm.h"

#define DAY_S 86400.0
#define LEAK_DAILY 0.3 /* the leak's daily swing, fraction of its rate */
#define HOUR_S 3600.0

/* ---- THE tables ---- */

enum {
    B_612_0910,
    B_612_1010,
    B_617_1111,
    B_617_RC1,
    B_612_SERVER,
    B_617_SERVER,
    B_617_1212_RC1,
    B_618_1212,
    _B_MAX,
};

static const struct farm_build builds[_B_MAX] = {
    [B_612_0910] = {"6.12.55-yocto-standard 2025.09", "6.12.55-yocto-standard", "2025.09",
                    "2025.09.1", 0, 0, "eth0", 1},
    [B_612_1010] = {"6.12.55-yocto-standard 2025.10", "6.12.55-yocto-standard", "2025.10",
                    "2025.10.2", 0, 0, "eth0", 1},
    [B_617_1111] = {"6.17.6-yocto-standard 2025.11", "6.17.6-yocto-standard", "2025.11",
                    "2025.11.1", 1, -792, "eth0", 1},
    /* A release candidate whose udev rules rename eth0 to end0: the board drops off the network. */
    [B_617_RC1] = {"6.17.6-yocto-standard 2025.11-rc1", "6.17.6-yocto-standard", "2025.11-rc1",
                   "2025.11-rc1", 1, -792, "end0", 0},
    [B_612_SERVER] = {"6.12.55-yocto-standard 2025.10-server", "6.12.55-yocto-standard",
                      "2025.10-server", "2025.10.2-server", 0, 0, "eth0", 1},
    [B_617_SERVER] = {"6.17.6-yocto-standard 2025.11-server", "6.17.6-yocto-standard",
                      "2025.11-server", "2025.11.1-server", 1, -792, "eth0", 1},
    /* Not in any plan: bundles for `soak sim install` (soak deploy on the live farm). The
     * next release candidate brings the renaming udev rule back; 2025.12 has the aufs fix. */
    [B_617_1212_RC1] = {"6.17.6-yocto-standard 2025.12-rc1", "6.17.6-yocto-standard",
                        "2025.12-rc1", "2025.12-rc1", 1, -792, "end0", 0},
    [B_618_1212] = {"6.18.1-yocto-standard 2025.12", "6.18.1-yocto-standard", "2025.12",
                    "2025.12.1", 0, -800, "eth0", 1},
};

/* rock-pi-s: ~16 and ~22 days on 6.12.55, then 6.17.6 until the leak panics it, again. */
static const struct farm_plan plans_rockpis[] = {
    {B_612_0910, 15.9, FARM_END_UPDATE},
    {B_612_1010, 21.8, FARM_END_UPDATE},
    {B_617_1111, 0, FARM_END_OPEN},
};

/* rock-pi-e: the rename update is unreachable for 7 h until RAUC falls back; then 6.17.6. */
static const struct farm_plan plans_rockpie[] = {
    {B_612_1010, 20.3, FARM_END_UPDATE},
    {B_617_RC1, 0.3, FARM_END_FALLBACK},
    {B_612_1010, 1.6, FARM_END_UPDATE},
    {B_617_1111, 0, FARM_END_OPEN},
};

static const struct farm_plan plans_zero3e[] = {
    {B_612_1010, 17.8, FARM_END_UPDATE},
    {B_617_1111, 0, FARM_END_OPEN},
};

/* rock-5b: the server, on its own update schedule. */
static const struct farm_plan plans_rock5b[] = {
    {B_612_SERVER, 25.3, FARM_END_UPDATE},
    {B_617_SERVER, 0, FARM_END_OPEN},
};

#define HW FARM_BUS_HWMON
#define IIO FARM_BUS_IIO
#define W1 FARM_BUS_W1
/* sensor, chip, role, bus, address, quantity, base, day amplitude, peak hour UTC,
 * weather amplitude, noise, decimals */
static const struct farm_sensor sensors_rockpis[] = {
    {"sht3x@1-0044", "sht3x", "indoor", HW, "1-0044", FARM_Q_TEMPERATURE, 20.8, 1.3, 16, 0.6, 0.05,
     2},
    {"sht3x@1-0044", "sht3x", "indoor", HW, "1-0044", FARM_Q_HUMIDITY, 38, -4, 16, 5, 0.3, 1},
    {"bh1750@1-0023", "bh1750", "light", IIO, "1-0023", FARM_Q_ILLUMINANCE, 0, 1800, 13, 0.4, 4, 1},
    {"28-0416a1b2c3d4", "ds18b20", "regular", W1, "28-0416a1b2c3d4", FARM_Q_TEMPERATURE, 19.5, 1.0,
     17, 0.5, 0.0625, 3},
};

static const struct farm_sensor sensors_rockpie[] = {
    {"sht3x@1-0045", "sht3x", "outdoor", HW, "1-0045", FARM_Q_TEMPERATURE, 3.5, 4.5, 14, 4, 0.05,
     2},
    {"sht3x@1-0045", "sht3x", "outdoor", HW, "1-0045", FARM_Q_HUMIDITY, 78, -12, 14, 10, 0.4, 1},
    {"lps25h@1-005c", "lps25h", "pressure", IIO, "1-005c", FARM_Q_PRESSURE, 101300, 60, 10, 900, 4,
     0},
    {"28-0516b2c3d4e5", "ds18b20", "high-temperature", W1, "28-0516b2c3d4e5", FARM_Q_TEMPERATURE,
     61, 2.5, 15, 1.5, 0.0625, 3},
    {"mcp3002@spi0.0", "mcp3002", "adc", IIO, "spi0.0", FARM_Q_VOLTAGE, 1.62, 0.05, 12, 0.02, 0.003,
     3},
};

static const struct farm_sensor sensors_zero3e[] = {
    {"shtc3@1-0070", "shtc3", "indoor", HW, "1-0070", FARM_Q_TEMPERATURE, 21.6, 1.1, 17, 0.5, 0.05,
     2},
    {"shtc3@1-0070", "shtc3", "indoor", HW, "1-0070", FARM_Q_HUMIDITY, 36, -3, 17, 4, 0.3, 1},
    {"aht20@1-0038", "aht20", "indoor", HW, "1-0038", FARM_Q_TEMPERATURE, 21.1, 1.2, 17, 0.5, 0.05,
     2},
    {"aht20@1-0038", "aht20", "indoor", HW, "1-0038", FARM_Q_HUMIDITY, 37, -3, 17, 4, 0.3, 1},
};
#undef HW
#undef IIO
#undef W1

/* The story's slabtop; the leak lands in filp, kmalloc-cg-192, cred_jar and kmalloc-192. */
static const struct farm_slab slabs_default[] = {
    {"filp", 192, 21, 2900, 0.66, 0},
    {"kmalloc-cg-192", 192, 21, 2100, 0.17, 0},
    {"maple_node", 256, 16, 15800, 0, 0},
    {"kmalloc-192", 192, 21, 6300, 0.09, 0},
    {"cred_jar", 192, 21, 900, 0.08, 0},
    {"debugfs_inode_cache", 640, 25, 5575, 0, 0},
    {"dentry", 192, 21, 21000, 0, 1},
    {"inode_cache", 600, 13, 5200, 0, 1},
    {"kernfs_node_cache", 128, 32, 18400, 0, 0},
    {"buffer_head", 104, 39, 3100, 0, 1},
};

static const struct farm_device devices[] = {
    {
        .name = "rock-pi-s",
        .model = "Radxa ROCK Pi S",
        .mem_total_kb = 230428,
        .first_boot_days_ago = 43.9,
        .plans = plans_rockpis,
        .n_plans = ARRAY_SIZE(plans_rockpis),
        .oom = FARM_OOM_PANIC,
        .leak_kb_per_day = 30000,
        .kernel_kb = 11500,
        .anon_kb = 52000,
        .step_kb = 0,
        .shmem_kb = 3800,
        .sawtooth_kb = 0,
        .sreclaim_kb = 9800,
        .sunreclaim_kb = 12500,
        .buffers_kb = 3200,
        .cache_max_kb = 70000,
        .cache_fill_days = 2.5,
        .open_fds = 1260,
        .load_base = 0.35,
        .latency_s = 0.018,
        .sensors = sensors_rockpis,
        .n_sensors = ARRAY_SIZE(sensors_rockpis),
        .slabs = slabs_default,
        .n_slabs = ARRAY_SIZE(slabs_default),
    },
    {
        .name = "rock-pi-e",
        .model = "Radxa ROCK Pi E",
        .mem_total_kb = 1001728,
        .first_boot_days_ago = 44.5,
        .plans = plans_rockpie,
        .n_plans = ARRAY_SIZE(plans_rockpie),
        .oom = FARM_OOM_PANIC,
        .leak_kb_per_day = 9000,
        .kernel_kb = 21000,
        .anon_kb = 88000,
        .step_kb = 20480,
        .shmem_kb = 6100,
        .sawtooth_kb = 0,
        .sreclaim_kb = 24000,
        .sunreclaim_kb = 21000,
        .buffers_kb = 9800,
        .cache_max_kb = 310000,
        .cache_fill_days = 4,
        .open_fds = 1480,
        .load_base = 0.42,
        .latency_s = 0.011,
        .sensors = sensors_rockpie,
        .n_sensors = ARRAY_SIZE(sensors_rockpie),
        .slabs = slabs_default,
        .n_slabs = ARRAY_SIZE(slabs_default),
    },
    {
        .name = "zero-3e",
        .model = "Radxa ZERO 3E",
        .mem_total_kb = 982332,
        .first_boot_days_ago = 40.1,
        .plans = plans_zero3e,
        .n_plans = ARRAY_SIZE(plans_zero3e),
        .oom = FARM_OOM_PANIC,
        .leak_kb_per_day = 7000,
        .kernel_kb = 19800,
        .anon_kb = 81000,
        .step_kb = 0,
        .shmem_kb = 5200,
        .sawtooth_kb = 36000,
        .sreclaim_kb = 22000,
        .sunreclaim_kb = 19500,
        .buffers_kb = 9100,
        .cache_max_kb = 280000,
        .cache_fill_days = 3.5,
        .open_fds = 1390,
        .load_base = 0.38,
        .latency_s = 0.009,
        .sensors = sensors_zero3e,
        .n_sensors = ARRAY_SIZE(sensors_zero3e),
        .slabs = slabs_default,
        .n_slabs = ARRAY_SIZE(slabs_default),
    },
    {
        .name = "rock-5b",
        .model = "Radxa ROCK 5B",
        .mem_total_kb = 3981112,
        .first_boot_days_ago = 35.0,
        .plans = plans_rock5b,
        .n_plans = ARRAY_SIZE(plans_rock5b),
        .oom = FARM_OOM_KILL,
        .leak_kb_per_day = 359000,
        .kernel_kb = 64000,
        .anon_kb = 420000,
        .step_kb = 0,
        .shmem_kb = 24000,
        .sawtooth_kb = 0,
        .sreclaim_kb = 96000,
        .sunreclaim_kb = 58000,
        .buffers_kb = 42000,
        .cache_max_kb = 2100000,
        .cache_fill_days = 3,
        .open_fds = 3900,
        .load_base = 1.1,
        .latency_s = 0.004,
        .sensors = NULL,
        .n_sensors = 0,
        .slabs = slabs_default,
        .n_slabs = ARRAY_SIZE(slabs_default),
    },
};

/* The rock-pi-e's high-temperature probe drops off the 1-Wire bus for 45 minutes once. */
#define SENSOR_GLITCH_DEVICE 1
#define SENSOR_GLITCH_SENSOR 3
#define SENSOR_GLITCH_DAYS_AGO 3.2
#define SENSOR_GLITCH_S (45 * 60)

static const char *const quantity_metrics[_FARM_Q_MAX] = {
    [FARM_Q_TEMPERATURE] = "soak_sensor_temperature_celsius",
    [FARM_Q_HUMIDITY] = "soak_sensor_humidity_percent",
    [FARM_Q_ILLUMINANCE] = "soak_sensor_illuminance_lux",
    [FARM_Q_PRESSURE] = "soak_sensor_pressure_pascals",
    [FARM_Q_VOLTAGE] = "soak_sensor_voltage_volts",
};

const struct farm_device *
farm_devices(size_t *ret_n)
{
    *ret_n = ARRAY_SIZE(devices);
    return devices;
}

const struct farm_build *
farm_builds(size_t *ret_n)
{
    *ret_n = ARRAY_SIZE(builds);
    return builds;
}

int
farm_device_find(const char *name)
{
    for (size_t i = 0; name && i < ARRAY_SIZE(devices); i++)
        if (strcmp(devices[i].name, name) == 0)
            return (int)i;
    return -ENOENT;
}

const char *
farm_quantity_metric(enum farm_quantity q)
{
    if ((unsigned)q >= _FARM_Q_MAX)
        return NULL;
    return quantity_metrics[q];
}

/* ---- schedules ---- */

struct farm_sched {
    struct farm_boot boots[FARM_MAX_BOOTS];
    size_t n;
};

struct farm {
    uint64_t seed;
    int64_t now_s;
    struct farm_sched sched[ARRAY_SIZE(devices)];
};

static uint64_t
splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t
hash4(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    return splitmix64(splitmix64(splitmix64(seed ^ a) ^ b) ^ c);
}

/* Uniform in [-1, 1]. */
static double
unit_noise(uint64_t h)
{
    return (double)(h >> 11) / 4503599627370496.0 - 1.0; /* 2^52 */
}

/* Smooth noise in [-1, 1]: knots every period seconds, linear in between. */
static double
smooth_noise(const struct farm *f, size_t dev, uint64_t key, double t, double period)
{
    double k = floor(t / period), fr = t / period - k;
    double a = unit_noise(hash4(f->seed, dev, key, (uint64_t)(int64_t)k));
    double b = unit_noise(hash4(f->seed, dev, key, (uint64_t)(int64_t)k + 1));
    return a + (b - a) * fr;
}

static double
jitter(const struct farm *f, size_t dev, uint64_t key, int64_t t)
{
    return unit_noise(hash4(f->seed, dev, key | 0x1000000ULL, (uint64_t)t));
}

static double
total_kb(const struct farm_device *d, const struct farm_build *b)
{
    return (double)d->mem_total_kb + b->mem_total_delta_kb;
}

static double
min_free_kb(double total)
{
    return MAX(1024.0, total * 0.012);
}

static double
cache_floor_kb(double total)
{
    return total * 0.03;
}

/*
 * Uptime (s) at which a leaking build has eaten everything reclaimable:
 * kernel + anon + shmem + slab + floors of cache, buffers and reclaimable slab
 * + the free watermark reach MemTotal. -1 when the build does not leak.
 */
static int64_t
exhaust_uptime(const struct farm_device *d, const struct farm_build *b)
{
    double total = total_kb(d, b);
    double fixed = d->kernel_kb + d->anon_kb + d->step_kb + d->shmem_kb + d->sawtooth_kb / 2.0 +
                   d->sunreclaim_kb + cache_floor_kb(total) + d->buffers_kb * 0.3 +
                   d->sreclaim_kb * 0.4 + min_free_kb(total);

    if (!b->leaks || d->leak_kb_per_day <= 0)
        return -1;
    if (fixed >= total)
        return 0;
    return (int64_t)((total - fixed) / d->leak_kb_per_day * DAY_S);
}

static void
make_boot_id(const struct farm *f, size_t dev, int idx, char out[37])
{
    uint64_t a = hash4(f->seed, dev, 0xb007, (uint64_t)idx);
    uint64_t b = hash4(f->seed, dev, 0xb008, (uint64_t)idx);

    /* A version-4 style uuid. */
    (void)snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
                   (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
                   (unsigned)(0x8000 | ((b >> 48) & 0x3fff)),
                   (unsigned long long)(b & 0xffffffffffffULL));
}

/*
 * Append boots to dev's schedule from t on, following plans (the last plan with days 0 repeats:
 * a board that panics reboots into the same build), starting in slot.
 */
static void
schedule_from(struct farm *f, size_t dev, int64_t t, char slot, const struct farm_plan *plans,
              size_t n_plans)
{
    const struct farm_device *d = &devices[dev];
    struct farm_sched *s = &f->sched[dev];
    int64_t horizon = f->now_s + (int64_t)(FARM_LIVE_DAYS * DAY_S);
    size_t p = 0;

    while (s->n < FARM_MAX_BOOTS && t < horizon) {
        const struct farm_plan *pl = &plans[MIN(p, n_plans - 1)];
        const struct farm_build *b = &builds[pl->build];
        struct farm_boot *bt = &s->boots[s->n];

        bt->start_s = t;
        bt->build = pl->build;
        bt->index = (int)s->n;
        bt->exhaust_s = exhaust_uptime(d, b);
        make_boot_id(f, dev, bt->index, bt->boot_id);
        bt->slot = slot;
        if (pl->days > 0) {
            bt->end_s = t + (int64_t)llround(pl->days * DAY_S);
            bt->end = pl->end;
        } else if (d->oom == FARM_OOM_PANIC && bt->exhaust_s >= 0) {
            bt->end_s = t + bt->exhaust_s;
            bt->end = FARM_END_PANIC;
        } else {
            bt->end_s = horizon;
            bt->end = FARM_END_OPEN;
        }
        s->n++;
        t = bt->end_s + FARM_BOOT_GAP_S;
        /* An update installs into the other slot; a fallback boots the old one again. */
        if (bt->end == FARM_END_UPDATE || bt->end == FARM_END_FALLBACK)
            slot = slot == 'A' ? 'B' : 'A';
        if (pl->days > 0 || p + 1 < n_plans)
            p++;
        if (bt->end == FARM_END_OPEN)
            break;
    }
    if (s->n > 0 && s->boots[s->n - 1].end != FARM_END_OPEN && s->boots[s->n - 1].end_s >= horizon)
        s->boots[s->n - 1].end = FARM_END_OPEN;
}

static void
build_schedule(struct farm *f, size_t dev)
{
    const struct farm_device *d = &devices[dev];

    f->sched[dev].n = 0;
    schedule_from(f, dev, f->now_s - (int64_t)llround(d->first_boot_days_ago * DAY_S), 'A',
                  d->plans, d->n_plans);
}

int
farm_build_find_bundle(const char *bundle)
{
    for (size_t i = 0; bundle && i < ARRAY_SIZE(builds); i++)
        if (strcmp(builds[i].bundle_version, bundle) == 0)
            return (int)i;
    return -ENOENT;
}

int
farm_install(struct farm *f, size_t dev, int64_t t_s, int build, int64_t *ret_start)
{
    struct farm_sched *s;
    struct farm_boot *cur;
    size_t lo = 0, hi;
    int from;

    if (!f || dev >= ARRAY_SIZE(devices) || build < 0 || (size_t)build >= ARRAY_SIZE(builds))
        return -EINVAL;
    s = &f->sched[dev];
    hi = s->n;
    while (lo < hi) { /* the last boot that started at or before t */
        size_t mid = lo + (hi - lo) / 2;
        if (s->boots[mid].start_s <= t_s)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || t_s >= s->boots[lo - 1].end_s)
        return -EAGAIN; /* not running (not started yet, or rebooting): nothing to install on */
    if (lo >= FARM_MAX_BOOTS - 2)
        return -ENOSPC;
    cur = &s->boots[lo - 1];
    from = cur->build;
    /* A fallback after a fallback boots the build that last came up on the network. */
    for (size_t k = lo; k-- > 0 && !builds[from].reachable;)
        from = s->boots[k].build;
    cur->end_s = t_s;
    cur->end = FARM_END_UPDATE;
    s->n = lo; /* the boots planned after t are replaced */
    if (builds[build].reachable) {
        const struct farm_plan plan[] = {{build, 0, FARM_END_OPEN}};
        schedule_from(f, dev, t_s + FARM_BOOT_GAP_S, cur->slot == 'A' ? 'B' : 'A', plan,
                      ARRAY_SIZE(plan));
    } else {
        const struct farm_plan plan[] = {
            {build, (double)FARM_FALLBACK_S / DAY_S, FARM_END_FALLBACK},
            {from, 0, FARM_END_OPEN},
        };
        schedule_from(f, dev, t_s + FARM_BOOT_GAP_S, cur->slot == 'A' ? 'B' : 'A', plan,
                      ARRAY_SIZE(plan));
    }
    if (ret_start)
        *ret_start = t_s + FARM_BOOT_GAP_S;
    return 0;
}

int
farm_new(uint64_t seed, int64_t now_s, struct farm **ret)
{
    struct farm *f = calloc(1, sizeof(*f));

    if (!f)
        return -ENOMEM;
    f->seed = seed;
    f->now_s = now_s;
    for (size_t i = 0; i < ARRAY_SIZE(devices); i++)
        build_schedule(f, i);
    *ret = f;
    return 0;
}

struct farm *
farm_free(struct farm *f)
{
    free(f);
    return NULL;
}

int64_t
farm_now(const struct farm *f)
{
    return f->now_s;
}

uint64_t
farm_seed(const struct farm *f)
{
    return f->seed;
}

const struct farm_boot *
farm_boots(const struct farm *f, size_t dev, size_t *ret_n)
{
    if (dev >= ARRAY_SIZE(devices)) {
        *ret_n = 0;
        return NULL;
    }
    *ret_n = f->sched[dev].n;
    return f->sched[dev].boots;
}

const struct farm_boot *
farm_boot_at(const struct farm *f, size_t dev, int64_t t_s)
{
    const struct farm_sched *s;
    size_t lo = 0, hi;

    if (dev >= ARRAY_SIZE(devices))
        return NULL;
    s = &f->sched[dev];
    hi = s->n;
    /* Last boot that started at or before t. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->boots[mid].start_s <= t_s)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    if (t_s >= s->boots[lo - 1].end_s)
        return NULL;
    return &s->boots[lo - 1];
}

int64_t
farm_first_s(const struct farm *f, size_t dev)
{
    if (dev >= ARRAY_SIZE(devices) || f->sched[dev].n == 0)
        return f->now_s;
    return f->sched[dev].boots[0].start_s;
}

/* ---- evaluation ---- */

/* Fraction of the UTC day, 0 at midnight. */
static double
day_frac(int64_t t)
{
    int64_t r = t % 86400;
    if (r < 0)
        r += 86400;
    return (double)r / DAY_S;
}

/* Daily cycle in [-1, 1] peaking at peak_hour UTC. */
static double
daily(int64_t t, double peak_hour)
{
    return cos(2 * M_PI * (day_frac(t) - peak_hour / 24.0));
}

/* Seconds since the last OOM-kill burst start (or -1) and the kills so far, for KILL boards. */
static void
oom_bursts(const struct farm *f, size_t dev, const struct farm_boot *b, double uptime,
           double *ret_kills, double *ret_since)
{
    double kills = 0, since = -1;

    if (b->exhaust_s >= 0 && uptime >= (double)b->exhaust_s) {
        /* Bursts about every 6.9 h (+-1 h); each of 2-10 kills, one every ~3 minutes. */
        for (int k = 0; k < 4096; k++) {
            double start = (double)b->exhaust_s + k * 6.9 * HOUR_S +
                           (k ? 3600.0 * unit_noise(hash4(f->seed, dev, 0x00b0, (uint64_t)k)) : 0);
            int n = 2 + (int)(hash4(f->seed, dev, 0x00b1, (uint64_t)k) % 9);
            if (start > uptime)
                break;
            since = uptime - start;
            kills += MIN((double)n, floor(since / 180.0) + 1);
        }
    }
    *ret_kills = kills;
    *ret_since = since;
}

static void
eval_memory(const struct farm *f, size_t dev, const struct farm_boot *b, int64_t t,
            struct farm_state *st)
{
    const struct farm_device *d = &devices[dev];
    const struct farm_build *bd = &builds[b->build];
    double u = st->uptime_s;
    double total = total_kb(d, bd), min_free = min_free_kb(total);
    double ramp = u < 600 ? 0.6 + 0.4 * u / 600 : 1.0;
    double n1 = smooth_noise(f, dev, 1, (double)t, 1800),
           n2 = smooth_noise(f, dev, 2, (double)t, 900);
    double kernel = d->kernel_kb * (1 + 0.004 * n1);
    double anon = d->anon_kb * ramp * (1 + 0.025 * n2) + (u >= 7200 ? d->step_kb : 0);
    double shmem = d->shmem_kb;
    double sreclaim, sunreclaim, buffers, cache, cache_want, cache_floor, free_kb, room, wants,
        floors, leak, wlow, reserve, avail;

    if (d->sawtooth_kb) {
        /* tmpfs logs grow all day and are emptied at 03:00 UTC */
        double fr = day_frac(t - 3 * 3600);
        shmem += d->sawtooth_kb * fr;
    }
    if (bd->leaks) {
        /* The leak follows activity: +-30 % over the day (the integral of 1 + 0.3 cos). */
        double w = 2 * M_PI;
        leak =
            d->leak_kb_per_day *
            (u / DAY_S + LEAK_DAILY / w * (sin(w * day_frac(t)) - sin(w * day_frac(b->start_s))));
    } else
        leak = 0;
    sunreclaim = d->sunreclaim_kb * ramp * (1 + 0.004 * n1) + leak;
    sreclaim = d->sreclaim_kb * (0.6 + 0.4 * (1 - exp(-u / (6 * HOUR_S))));
    buffers = d->buffers_kb * (0.3 + 0.7 * (1 - exp(-u / (2 * HOUR_S))));
    cache_floor = cache_floor_kb(total);
    cache_want = cache_floor +
                 (d->cache_max_kb - cache_floor) * (1 - exp(-u / (d->cache_fill_days * DAY_S)));
    cache_want *= 1 + 0.01 * smooth_noise(f, dev, 3, (double)t, 3600);

    room = total - kernel - anon - shmem - sunreclaim - min_free;
    wants = cache_want + buffers + sreclaim;
    floors = cache_floor + buffers * 0.3 + sreclaim * 0.4;
    if (room >= wants) {
        cache = cache_want;
        free_kb = total - kernel - anon - shmem - sunreclaim - wants;
    } else if (room >= floors) {
        /* Reclaim: the page cache goes first, then buffers, then reclaimable slab. */
        double over = wants - room, c = MIN(over, cache_want - cache_floor);
        cache = cache_want - c;
        over -= c;
        c = MIN(over, buffers * 0.7);
        buffers -= c;
        over -= c;
        sreclaim -= MIN(over, sreclaim * 0.6);
        free_kb = min_free * (1 + 0.1 * fabs(n1));
    } else {
        cache = cache_floor;
        buffers *= 0.3;
        sreclaim *= 0.4;
        free_kb = total - kernel - anon - shmem - sunreclaim - cache - buffers - sreclaim;
        if (d->oom == FARM_OOM_KILL) {
            /* The OOM killer frees anonymous memory; services come back and are killed again. */
            double deficit = min_free * 0.8 - free_kb;
            anon = MAX(anon * 0.35, anon - deficit);
            free_kb = total - kernel - anon - shmem - sunreclaim - cache - buffers - sreclaim;
        }
        free_kb = MAX(free_kb, min_free * 0.25);
    }
    free_kb *= 1 + 0.02 * jitter(f, dev, 4, t);

    wlow = min_free * 1.25;
    reserve = min_free * 1.5;
    avail =
        free_kb - reserve + (cache - MIN(cache / 2, wlow)) + (sreclaim - MIN(sreclaim / 2, wlow));
    if (avail < 0)
        avail = 0;

    st->leak_kb = leak;
    st->mem_total = total;
    st->mem_free = round(free_kb);
    st->mem_available = round(avail);
    st->buffers = round(buffers);
    st->cached = round(cache + shmem);
    st->shmem = round(shmem);
    st->anon = round(anon);
    st->sreclaim = round(sreclaim);
    st->sunreclaim = round(sunreclaim);
    st->slab = st->sreclaim + st->sunreclaim;
    st->kernel_stack = round(kernel * 0.16);
    st->page_tables = round(kernel * 0.22);
    st->vmalloc_used = round(kernel * 0.35);
    st->committed_as = round(anon * 1.9 + shmem);
    st->active_file = round(cache * 0.42);
    st->inactive_file = round(cache - st->active_file);
    st->active_anon = round(anon * 0.12 + shmem);
    st->inactive_anon = round(anon - anon * 0.12);

    for (size_t i = 0; i < d->n_slabs && i < FARM_MAX_SLABS; i++) {
        const struct farm_slab *s = &d->slabs[i];
        double scale = s->reclaimable ? sreclaim / d->sreclaim_kb : ramp;
        double active = s->base_objects * scale * (1 + 0.01 * n2) +
                        leak * 1024.0 * s->leak_share / s->object_size;
        double per = s->objs_per_slab;
        active = round(active);
        st->slab_active[i] = active;
        st->slab_objects[i] = ceil((active + per * 0.6) / per) * per;
    }
}

static void
eval_sensors(const struct farm *f, size_t dev, int64_t t, struct farm_state *st)
{
    const struct farm_device *d = &devices[dev];

    for (size_t i = 0; i < d->n_sensors && i < FARM_MAX_SENSORS; i++) {
        const struct farm_sensor *s = &d->sensors[i];
        double weather = s->weather_amp * smooth_noise(f, dev, 100 + i, (double)t, 1.7 * DAY_S);
        double noise = s->noise * jitter(f, dev, 200 + i, t);
        double v, scale = pow(10, s->decimals);
        int64_t glitch = f->now_s - (int64_t)(SENSOR_GLITCH_DAYS_AGO * DAY_S);

        if (s->q == FARM_Q_ILLUMINANCE) {
            /* Daylight 07:00-17:00 UTC through a window, clouds from the weather term. */
            double h = day_frac(t) * 24.0, sun = 0;
            if (h > 7 && h < 17)
                sun = sin(M_PI * (h - 7) / 10.0);
            v = s->day_amp * sun * (0.75 + 0.25 * weather) + (sun > 0 ? noise : 0);
            if (h > 18 && h < 23)
                v += 95 + noise; /* the lamp in the evening */
            v = MAX(v, 0);
        } else
            v = s->base + s->day_amp * daily(t, s->peak_hour) + weather + noise;
        if (s->q == FARM_Q_HUMIDITY)
            v = MIN(MAX(v, 0), 100);
        st->sensor[i] = round(v * scale) / scale;
        st->sensor_up[i] = 1;
        if (dev == SENSOR_GLITCH_DEVICE &&
            strcmp(s->sensor, d->sensors[MIN(SENSOR_GLITCH_SENSOR, d->n_sensors - 1)].sensor) ==
                0 &&
            t >= glitch && t < glitch + SENSOR_GLITCH_S) {
            st->sensor[i] = NAN;
            st->sensor_up[i] = 0;
        }
    }
}

int
farm_eval(const struct farm *f, size_t dev, int64_t t_s, struct farm_state *ret)
{
    const struct farm_device *d;
    const struct farm_boot *b;
    const struct farm_build *bd;
    struct farm_state st;
    double kills = 0, since = -1, thrash = 0, day;

    if (!f || dev >= ARRAY_SIZE(devices))
        return -EINVAL;
    d = &devices[dev];
    memset(&st, 0, sizeof(st));
    st.t_s = t_s;
    b = farm_boot_at(f, dev, t_s);
    if (!b) {
        *ret = st; /* rebooting or not started: nothing answers */
        return 0;
    }
    bd = &builds[b->build];
    st.up = 1;
    st.reachable = bd->reachable;
    st.boot = b;
    st.uptime_s = (double)(t_s - b->start_s);
    st.pstore_panic = b->index > 0 && f->sched[dev].boots[b->index - 1].end == FARM_END_PANIC;
    eval_memory(f, dev, b, t_s, &st);
    eval_sensors(f, dev, t_s, &st);

    if (d->oom == FARM_OOM_KILL)
        oom_bursts(f, dev, b, st.uptime_s, &kills, &since);
    st.oom_kills = kills;
    if (b->exhaust_s >= 0 && d->oom == FARM_OOM_PANIC && b->end == FARM_END_PANIC) {
        /* The last two hours before the panic: reclaim thrashes, load climbs. */
        double left = (double)(b->end_s - t_s);
        if (left < 2 * HOUR_S)
            thrash = (2 * HOUR_S - left) / (2 * HOUR_S);
    }
    day = daily(t_s, 15);
    st.load[0] = MAX(0.0, d->load_base * (1 + 0.45 * day) + 0.15 * jitter(f, dev, 5, t_s));
    if (since >= 0 && since < 1800)
        st.load[0] += 28 * (1 - since / 1800.0);
    st.load[0] += 6 * thrash;
    st.load[1] =
        MAX(0.0, d->load_base * (1 + 0.4 * day) + 0.05 * jitter(f, dev, 6, t_s) +
                     (since >= 0 && since < 3600 ? 14 * (1 - since / 3600.0) : 0) + 4 * thrash);
    st.load[2] =
        MAX(0.0, d->load_base * (1 + 0.3 * day) +
                     (since >= 0 && since < 5400 ? 6 * (1 - since / 5400.0) : 0) + 2 * thrash);
    for (int i = 0; i < 3; i++)
        st.load[i] = round(st.load[i] * 100) / 100;
    st.cpu_temp_c =
        round((41.0 + 4.0 * day + 2.5 * MIN(st.load[0], 4.0) + 0.4 * jitter(f, dev, 7, t_s)) *
              1000) /
        1000;
    st.open_fds = round(d->open_fds * (1 + 0.02 * smooth_noise(f, dev, 8, (double)t_s, 1200)));
    st.filefd_allocated = round(st.open_fds * 1.15 + 320 + 30 * jitter(f, dev, 9, t_s));
    st.filefd_maximum = floor(st.mem_total / 10);
    st.poll_duration_s = d->latency_s * (1 + 0.35 * fabs(jitter(f, dev, 10, t_s))) +
                         0.004 * st.load[0] + 1.8 * thrash;
    if (since >= 0 && since < 1800)
        st.poll_duration_s += 0.9 * (1 - since / 1800.0);
    st.poll_duration_s = round(st.poll_duration_s * 1e5) / 1e5;
    *ret = st;
    return 0;
}

void
farm_panic_text(const struct farm_boot *b, const struct farm_device *d, char *out, size_t size)
{
    double up = (double)(b->end_s - b->start_s) + 0.063311;

    (void)snprintf(out, size,
                   "Panic#1 Part1\n"
                   "<0>[%12.6f] Kernel panic - not syncing: System is deadlocked on memory\n"
                   "<4>[%12.6f] CPU: 2 UID: 0 PID: 1 Comm: systemd Not tainted %s #1 PREEMPT\n"
                   "<4>[%12.6f] Hardware name: %s (DT)\n"
                   "<4>[%12.6f] Call trace:\n"
                   "<4>[%12.6f]  out_of_memory+0x560/0x580\n"
                   "<4>[%12.6f]  __alloc_frozen_pages_noprof+0xc24/0xcf4\n"
                   "<4>[%12.6f]  new_slab+0x328/0x3b0\n"
                   "<4>[%12.6f]  ___slab_alloc+0x5dc/0x9c0\n"
                   "<4>[%12.6f]  __kmalloc_cache_noprof+0x168/0x2c0\n"
                   "<4>[%12.6f]  bpf_prog_load+0x620/0xbe0\n"
                   "<0>[%12.6f] ---[ end Kernel panic - not syncing: System is deadlocked on "
                   "memory ]---\n",
                   up, up + 0.0006, builds[b->build].kernel_release, up + 0.0016, d->model,
                   up + 0.0020, up + 0.0023, up + 0.0027, up + 0.0058, up + 0.0062, up + 0.0070,
                   up + 0.0093, up + 0.0142);
}
