/* SPDX-License-Identifier: MIT */
/*
 * farm.h - the story's board farm as a deterministic model: THE table of
 * devices, builds, boots, memory sizes and leak rates that `soak sim`, `make
 * demo`, the tests and the benchmarks share.
 *
 * The farm (see docs/internals/SIM.md and seed/board-farm-story.txt):
 *   rock-pi-s  256 MB: 6.12.55 for ~16 days, again ~22 days, then 6.17.6, whose
 *              aufs filp leak exhausts memory after ~4.5 days ("System is
 *              deadlocked on memory" panic), then it reboots and leaks again;
 *   rock-pi-e  1 GB: 6.12.55, an update that renames eth0 to end0 (unreachable
 *              until RAUC falls back), then 6.17.6 leaking slowly for ~22 days;
 *   zero-3e    1 GB: 6.12.55, then 6.17.6 leaking slowly; a daily tmpfs sawtooth;
 *   rock-5b    4 GB server: 6.12.55, then 6.17.6 with a fast leak: OOM-killer
 *              bursts after ~9 days.
 * Every board's page cache fills after boot, values carry noise, sensors follow
 * day/night cycles.
 *
 * Time: the model is anchored at `now` (seconds since the epoch, given to
 * farm_new): the story's boots lie in the ~45 days before it, and the last boot
 * of each device goes on after it (for live mode); a board that panics reboots
 * 3 minutes later into the same build, again and again.
 *
 * Everything is a pure function of (seed, now, device, t) and the updates installed
 * with farm_install(): no hidden state, no clock, no I/O, so history and live mode
 * agree sample for sample.
 */
#ifndef SOAK_FARM_H
#define SOAK_FARM_H

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define FARM_MAX_BOOTS 64   /* boots per device kept in a schedule */
#define FARM_MAX_SENSORS 8  /* sensor readings per device */
#define FARM_MAX_SLABS 10   /* slab caches per device */
#define FARM_BOOT_GAP_S 180 /* seconds between a boot's end and the next boot */
#define FARM_LIVE_DAYS 120  /* how far past now the schedule reaches, days */
#define FARM_FALLBACK_S 7200 /* an installed build that never comes up on the network: RAUC
                                falls back to the previous slot after this many seconds */

enum farm_oom {
    FARM_OOM_PANIC, /* exhaustion ends in a kernel panic and a reboot */
    FARM_OOM_KILL,  /* the OOM killer kills processes in bursts; the board lives on */
};

enum farm_end {
    FARM_END_UPDATE,   /* a new bundle was installed: reboot into the next build */
    FARM_END_FALLBACK, /* unreachable build: RAUC fell back to the previous slot */
    FARM_END_PANIC,    /* out of memory: kernel panic */
    FARM_END_OPEN,     /* still running at the end of the schedule */
};

enum farm_quantity {
    FARM_Q_TEMPERATURE, /* soak_sensor_temperature_celsius */
    FARM_Q_HUMIDITY,    /* soak_sensor_humidity_percent */
    FARM_Q_ILLUMINANCE, /* soak_sensor_illuminance_lux */
    FARM_Q_PRESSURE,    /* soak_sensor_pressure_pascals */
    FARM_Q_VOLTAGE,     /* soak_sensor_voltage_volts */
    _FARM_Q_MAX,
};

struct farm_build {
    /* soak_build_info{build}: "<kernel_release> <os_version>", soakd's default template */
    const char *label;
    const char *kernel_release; /* uname -r */
    const char *os_version;     /* os-release VERSION_ID */
    const char *bundle_version; /* RAUC bundle version */
    int leaks;                  /* carries the aufs filp leak */
    int mem_total_delta_kb;     /* MemTotal difference to the device's 6.12 value */
    const char *iface;          /* network interface name on this build */
    int reachable;              /* 0: the interface never comes up */
};

enum farm_bus {
    FARM_BUS_HWMON, /* /sys/class/hwmon/hwmonN on an i2c device */
    FARM_BUS_IIO,   /* /sys/bus/iio/devices/iio:deviceN */
    FARM_BUS_W1,    /* /sys/bus/w1/devices/28-... */
};

/*
 * One reading of a sensor. A chip with two quantities (sht3x: temperature and
 * humidity) has two rows with the same sensor label. Labels are the ones
 * soakd's sysfs discovery gives ("<name>@<i2c device>", the w1 id), so history
 * and live trees name a sensor the same way.
 */
struct farm_sensor {
    const char *sensor; /* soak label: "sht3x@1-0044" */
    const char *chip;   /* hwmon/IIO name or w1 chip: "sht3x", "ds18b20" */
    const char *role;   /* what it measures in the story: "indoor", "outdoor" */
    enum farm_bus bus;
    const char *addr; /* i2c/spi device ("1-0044", "spi0.0") or w1 id */
    enum farm_quantity q;
    double base, day_amp; /* mean and day/night amplitude */
    double peak_hour;     /* UTC hour of the daily maximum */
    double weather_amp;   /* slow multi-day swing */
    double noise;         /* +- noise */
    int decimals;         /* rounding of reported values */
};

struct farm_slab {
    const char *name;     /* "filp" */
    unsigned object_size; /* bytes */
    unsigned objs_per_slab;
    unsigned base_objects; /* after boot */
    double leak_share;     /* share of the device's leak, bytes */
    int reclaimable;
};

/* One planned boot: which build, and for how long (0 = until memory runs out or open). */
struct farm_plan {
    int build; /* index into the builds table */
    double days;
    enum farm_end end; /* how a planned boot with days > 0 ends */
};

struct farm_device {
    const char *name;           /* "rock-pi-s" */
    const char *model;          /* device-tree model */
    unsigned mem_total_kb;      /* MemTotal on 6.12 */
    double first_boot_days_ago; /* start of the first planned boot, days before now */
    const struct farm_plan *plans;
    size_t n_plans;
    enum farm_oom oom;
    double leak_kb_per_day; /* on a leaking build */
    unsigned kernel_kb;     /* kernel stacks, page tables, vmalloc... */
    unsigned anon_kb;       /* userspace, steady state */
    unsigned step_kb;       /* a one-time allocation 2 h after boot (0 = none) */
    unsigned shmem_kb;
    unsigned sawtooth_kb; /* tmpfs growth per day, emptied at 03:00 UTC (0 = none) */
    unsigned sreclaim_kb, sunreclaim_kb;
    unsigned buffers_kb;
    unsigned cache_max_kb;  /* page cache it fills to when memory allows */
    double cache_fill_days; /* time constant of the filling */
    unsigned open_fds;      /* what lsof shows */
    double load_base;
    double latency_s; /* typical poll latency */
    const struct farm_sensor *sensors;
    size_t n_sensors;
    const struct farm_slab *slabs;
    size_t n_slabs;
};

/* A boot in a device's schedule. */
struct farm_boot {
    int64_t start_s, end_s; /* boot time and the moment it ends (panic, update) */
    int build;
    enum farm_end end;
    int64_t exhaust_s; /* uptime at which memory runs out, -1 = never */
    char boot_id[37];  /* uuid, deterministic */
    char slot;         /* RAUC slot booted: 'A' or 'B' (an update switches) */
    int index;         /* 0-based boot number */
};

/* Everything a board reports at one moment. Memory in kB (as /proc/meminfo). */
struct farm_state {
    int up;                       /* 1: running; 0: rebooting (between boots) */
    int reachable;                /* 1: the server reaches it */
    const struct farm_boot *boot; /* NULL when !up */
    int64_t t_s;
    double uptime_s;
    double mem_total, mem_free, mem_available, buffers, cached, shmem, anon, slab, sreclaim,
        sunreclaim, kernel_stack, page_tables, committed_as, active_file, inactive_file,
        active_anon, inactive_anon, vmalloc_used;
    double leak_kb; /* leaked so far in this boot */
    double slab_active[FARM_MAX_SLABS], slab_objects[FARM_MAX_SLABS];
    double filefd_allocated, filefd_maximum, open_fds;
    double oom_kills; /* node_vmstat_oom_kill since boot */
    double load[3];
    double cpu_temp_c;
    double sensor[FARM_MAX_SENSORS];
    int sensor_up[FARM_MAX_SENSORS];
    double poll_duration_s;
    int pstore_panic; /* the previous boot panicked (record in pstore) */
};

struct farm;

/* The tables. */
const struct farm_device *farm_devices(size_t *ret_n);
const struct farm_build *farm_builds(size_t *ret_n);
/* Device index by name, -ENOENT when unknown. */
int farm_device_find(const char *name);
const char *farm_quantity_metric(enum farm_quantity q);

/*
 * Build the schedules for every device, anchored at now_s with the noise seed.
 * 0 or -ENOMEM. Free with farm_free() (accepts NULL, returns NULL).
 */
_warn_unused_result_ int farm_new(uint64_t seed, int64_t now_s, struct farm **ret);
struct farm *farm_free(struct farm *f);

int64_t farm_now(const struct farm *f);
uint64_t farm_seed(const struct farm *f);

/* A device's boot schedule (oldest first); *ret_n boots. */
const struct farm_boot *farm_boots(const struct farm *f, size_t dev, size_t *ret_n);

/* The boot running at t, NULL when the board is rebooting (or not yet started). */
const struct farm_boot *farm_boot_at(const struct farm *f, size_t dev, int64_t t_s);

/* First moment a device has data (its first boot), seconds. */
int64_t farm_first_s(const struct farm *f, size_t dev);

/* Build index of a RAUC bundle version ("2025.12-rc1"), -ENOENT when unknown. */
int farm_build_find_bundle(const char *bundle);

/*
 * Install build on device dev at t_s and reboot into it, as `rauc install` and a reboot
 * would (what `soak sim install` asks a live farm for): the boot running at t_s ends there,
 * the new build boots FARM_BOOT_GAP_S later in the other slot and runs on. A build whose
 * interface never comes up (reachable == 0) runs unreachable for FARM_FALLBACK_S, then RAUC
 * falls back to the build before it, which runs on (and leaks or panics as it did). The boots
 * planned after t_s are replaced; earlier ones stay, so history up to t_s is unchanged.
 * *ret_start (may be NULL) gets the new boot's start. 0, -EINVAL (bad device or build),
 * -EAGAIN (the board is not running at t_s: rebooting or not started), -ENOSPC (schedule full).
 */
_warn_unused_result_ int farm_install(struct farm *f, size_t dev, int64_t t_s, int build,
                                      int64_t *ret_start);

/* Evaluate device dev at t (seconds). 0, or -EINVAL for a bad device. */
_warn_unused_result_ int farm_eval(const struct farm *f, size_t dev, int64_t t_s,
                                   struct farm_state *ret);

/* The kernel's panic text for a boot that ended in FARM_END_PANIC, written into out. */
void farm_panic_text(const struct farm_boot *b, const struct farm_device *d, char *out,
                     size_t size);

#endif
