/* SPDX-License-Identifier: MIT */
/*
 * history.c - a device's past as OpenMetrics text, the way the server would
 * have stored it: the agent's series plus the poll's own (soak_poll_*).
 *
 * The whole window is evaluated once into a table (series x steps), then
 * written family by family, as OpenMetrics wants families contiguous.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "expo.h"
#include "sim.h"

#define SLOW_EVERY 10             /* constant-in-a-boot series: every 10th step */
#define SLOW_FIRST_S 3600         /* ... but every step in a boot's first hour */
#define FLUSH_AT (1024 * 1024)    /* bytes buffered before a write */
#define OUT_MAX (4 * 1024 * 1024) /* cap of the output buffer, bytes */
#define MAX_SPECS 160
#define MAX_STEPS (400 * 24 * 60 * 6) /* 400 days at 10 s */

enum spec_kind {
    SK_MEM,
    SK_SLAB_ACTIVE,
    SK_SLAB_OBJS,
    SK_SLAB_SIZE,
    SK_SLAB_BYTES,
    SK_FILEFD_ALLOC,
    SK_FILEFD_MAX,
    SK_OPEN_FDS,
    SK_OOM,
    SK_OOM_KMSG,
    SK_BUILD,
    SK_BOOT,
    SK_BOOT_TIME,
    SK_UPTIME,
    SK_PSTORE_REC,
    SK_PSTORE_PANIC,
    SK_NET_UP,
    SK_THERMAL,
    SK_LOAD,
    SK_SENSOR,
    SK_SENSOR_UP,
    SK_POLL_DUR,
    SK_POLL_UP,
    SK_KML_OBJS,
    SK_KML_BYTES,
    SK_KML_SITE,
};

/*
 * The rock-pi-s ran a kmemleak kernel on its leaking build (the story's report: 22,356
 * objects, 16,704 of them struct file from path_openat via alloc_empty_file). Its leak
 * shows there as unreferenced objects by allocation site: the leaked filp objects, and the
 * other sites in the report's proportions to them (4,489 and 1,262 per 16,704).
 */
#define KML_DEVICE "rock-pi-s"
#define KML_FILP_SHARE 0.66 /* the filp slab's share of the leaked bytes (farm.c) */
static const struct {
    const char *site, *caller, *type;
    double per_filp; /* objects per leaked struct file */
    unsigned size;   /* bytes per object */
} kml_sites[] = {
    {"alloc_empty_file+0x54/0x11c", "path_openat+0x48/0xfd0", "struct file", 1.0, 192},
    {"prepare_creds+0x24/0x338", "prepare_exec_creds+0x14/0x58", "struct cred", 4489.0 / 16704,
     192},
    {"alloc_bprm+0x28/0x240", "do_execveat_common.isra.0+0x6c/0x1e0", "struct linux_binprm",
     1262.0 / 16704, 512},
};

struct spec {
    const char *family;
    const char *sample;
    enum metric_type type;
    const char *help;
    struct expo_label labels[6];
    size_t nl;
    enum spec_kind kind;
    size_t idx;
    int every;
};

struct mem_field {
    const char *sample;
    size_t off;
};

#define MF(name, field)                                                                            \
    {                                                                                              \
        "node_memory_" name "_bytes", offsetof(struct farm_state, field)                           \
    }
static const struct mem_field mem_fields[] = {
    MF("MemTotal", mem_total),
    MF("MemFree", mem_free),
    MF("MemAvailable", mem_available),
    MF("Buffers", buffers),
    MF("Cached", cached),
    MF("Shmem", shmem),
    MF("AnonPages", anon),
    MF("Slab", slab),
    MF("SReclaimable", sreclaim),
    MF("SUnreclaim", sunreclaim),
    MF("KernelStack", kernel_stack),
    MF("PageTables", page_tables),
    MF("Committed_AS", committed_as),
    MF("Active_file", active_file),
    MF("Inactive_file", inactive_file),
};
#undef MF

static const char *const load_names[3] = {"node_load1", "node_load5", "node_load15"};

struct specs {
    struct spec s[MAX_SPECS];
    size_t n;
    char slot_str[FARM_MAX_BOOTS][2];
};

static struct spec *
add(struct specs *ss, const char *family, const char *sample, enum metric_type type,
    const char *help, enum spec_kind kind, size_t idx)
{
    struct spec *s;

    if (ss->n >= MAX_SPECS)
        return NULL;
    s = &ss->s[ss->n++];
    memset(s, 0, sizeof(*s));
    s->family = family;
    s->sample = sample ? sample : family;
    s->type = type;
    s->help = help;
    s->kind = kind;
    s->idx = idx;
    s->every = 1;
    return s;
}

static void
label(struct spec *s, const char *name, const char *value)
{
    if (s && s->nl < ARRAY_SIZE(s->labels)) {
        s->labels[s->nl].name = name;
        s->labels[s->nl].value = value;
        s->nl++;
    }
}

/* The series of device dev whose boots overlap [from, to]; families contiguous. */
static int
make_specs(const struct farm *f, size_t dev, int64_t from, int64_t to, struct specs *ss)
{
    size_t nd, nb, nboots;
    const struct farm_device *d = &farm_devices(&nd)[dev];
    const struct farm_build *builds = farm_builds(&nb);
    const struct farm_boot *boots = farm_boots(f, dev, &nboots);
    static const char *const ifaces[] = {"eth0", "end0"};
    struct spec *s;

    for (size_t i = 0; i < ARRAY_SIZE(mem_fields); i++)
        (void)add(ss, mem_fields[i].sample, NULL, METRIC_GAUGE, "Memory information field.", SK_MEM,
                  i);
    for (size_t i = 0; i < 3; i++)
        (void)add(ss, load_names[i], NULL, METRIC_GAUGE, "Load average.", SK_LOAD, i);
    (void)add(ss, "node_filefd_allocated", NULL, METRIC_GAUGE,
              "File descriptor statistics: allocated.", SK_FILEFD_ALLOC, 0);
    (void)add(ss, "node_filefd_maximum", NULL, METRIC_GAUGE, "File descriptor statistics: maximum.",
              SK_FILEFD_MAX, 0);
    (void)add(ss, "soak_open_fds", NULL, METRIC_GAUGE, "Open file descriptors over /proc/*/fd.",
              SK_OPEN_FDS, 0);
    (void)add(ss, "node_vmstat_oom_kill", NULL, METRIC_UNTYPED,
              "/proc/vmstat information field oom_kill.", SK_OOM, 0);
    (void)add(ss, "soak_kmsg_oom_kills", "soak_kmsg_oom_kills_total", METRIC_COUNTER,
              "OOM kills seen in the kernel log.", SK_OOM_KMSG, 0);
    (void)add(ss, "node_boot_time_seconds", NULL, METRIC_GAUGE, "Node boot time, in unixtime.",
              SK_BOOT_TIME, 0);
    (void)add(ss, "soak_uptime_seconds", NULL, METRIC_GAUGE, "Seconds since boot.", SK_UPTIME, 0);
    s = add(ss, "node_thermal_zone_temp", NULL, METRIC_GAUGE, "Zone temperature in Celsius",
            SK_THERMAL, 0);
    label(s, "type", "soc-thermal");
    label(s, "zone", "0");

    /* One build_info series per (build, slot) seen; one boot_info series per boot. */
    for (size_t i = 0; i < nboots; i++) {
        const struct farm_boot *b = &boots[i];
        int seen = 0;

        if (b->end_s < from || b->start_s > to)
            continue;
        for (size_t j = 0; j < i; j++)
            if (boots[j].build == b->build && boots[j].slot == b->slot &&
                !(boots[j].end_s < from || boots[j].start_s > to))
                seen = 1;
        if (seen)
            continue;
        ss->slot_str[i][0] = b->slot;
        ss->slot_str[i][1] = '\0';
        s = add(ss, "soak_build_info", NULL, METRIC_GAUGE, "What runs on the board.", SK_BUILD, i);
        label(s, "build", builds[b->build].label);
        label(s, "kernel_release", builds[b->build].kernel_release);
        label(s, "model", d->model);
        label(s, "os_version", builds[b->build].os_version);
        label(s, "rauc_slot", ss->slot_str[i]);
    }
    for (size_t i = 0; i < nboots; i++) {
        if (boots[i].end_s < from || boots[i].start_s > to)
            continue;
        s = add(ss, "soak_boot_info", NULL, METRIC_GAUGE, "The boot id of this boot.", SK_BOOT, i);
        label(s, "boot_id", boots[i].boot_id);
    }
    s = add(ss, "soak_pstore_records", NULL, METRIC_GAUGE, "Crash records left in pstore.",
            SK_PSTORE_REC, 0);
    label(s, "type", "dmesg");
    (void)add(ss, "soak_pstore_panic", NULL, METRIC_GAUGE,
              "1 when a pstore record holds a kernel panic.", SK_PSTORE_PANIC, 0);
    for (size_t i = 0; i < ARRAY_SIZE(ifaces); i++) {
        int used = 0;
        for (size_t j = 0; j < nboots; j++)
            if (strcmp(builds[boots[j].build].iface, ifaces[i]) == 0)
                used = 1;
        if (!used)
            continue;
        s = add(ss, "node_network_up", NULL, METRIC_GAUGE, "Value is 1 if operstate is 'up'.",
                SK_NET_UP, i);
        label(s, "device", ifaces[i]);
    }
    for (int q = 0; q < _FARM_Q_MAX; q++)
        for (size_t i = 0; i < d->n_sensors && i < FARM_MAX_SENSORS; i++) {
            if ((int)d->sensors[i].q != q)
                continue;
            s = add(ss, farm_quantity_metric((enum farm_quantity)q), NULL, METRIC_GAUGE,
                    "Sensor reading.", SK_SENSOR, i);
            label(s, "chip", d->sensors[i].chip);
            label(s, "sensor", d->sensors[i].sensor);
        }
    for (size_t i = 0; i < d->n_sensors && i < FARM_MAX_SENSORS; i++) {
        int dup = 0;
        for (size_t j = 0; j < i; j++)
            if (strcmp(d->sensors[j].sensor, d->sensors[i].sensor) == 0)
                dup = 1;
        if (dup)
            continue;
        s = add(ss, "soak_sensor_up", NULL, METRIC_GAUGE, "1 when the sensor was read.",
                SK_SENSOR_UP, i);
        label(s, "sensor", d->sensors[i].sensor);
    }
    {
        static const struct {
            const char *family;
            const char *help;
            enum spec_kind kind;
        } slab_fams[] = {
            {"node_slabinfo_active_objects", "The number of objects that are currently active.",
             SK_SLAB_ACTIVE},
            {"node_slabinfo_objects", "The total number of allocated objects.", SK_SLAB_OBJS},
            {"node_slabinfo_object_size_bytes", "The size of objects in this slab, in bytes.",
             SK_SLAB_SIZE},
            {"soak_slabinfo_bytes", "Bytes held by the cache's objects.", SK_SLAB_BYTES},
        };
        for (size_t k = 0; k < ARRAY_SIZE(slab_fams); k++)
            for (size_t i = 0; i < d->n_slabs && i < FARM_MAX_SLABS; i++) {
                s = add(ss, slab_fams[k].family, NULL, METRIC_GAUGE, slab_fams[k].help,
                        slab_fams[k].kind, i);
                label(s, "slab", d->slabs[i].name);
                if (s)
                    s->every = SLOW_EVERY;
            }
    }
    if (strcmp(d->name, KML_DEVICE) == 0) {
        s = add(ss, "soak_kmemleak_unreferenced_objects", NULL, METRIC_GAUGE,
                "Unreferenced objects in the kmemleak report.", SK_KML_OBJS, 0);
        if (s)
            s->every = SLOW_EVERY;
        s = add(ss, "soak_kmemleak_unreferenced_bytes", NULL, METRIC_GAUGE,
                "Bytes of the unreferenced objects in the kmemleak report.", SK_KML_BYTES, 0);
        if (s)
            s->every = SLOW_EVERY;
        for (size_t i = 0; i < ARRAY_SIZE(kml_sites); i++) {
            s = add(ss, "soak_kmemleak_site_objects", NULL, METRIC_GAUGE,
                    "Unreferenced objects by allocation site (top sites).", SK_KML_SITE, i);
            label(s, "site", kml_sites[i].site);
            label(s, "caller", kml_sites[i].caller);
            label(s, "type", kml_sites[i].type);
            if (s)
                s->every = SLOW_EVERY;
        }
    }
    (void)add(ss, "soak_poll_duration_seconds", NULL, METRIC_GAUGE,
              "How long the server's poll of the device took.", SK_POLL_DUR, 0);
    (void)add(ss, "soak_poll_up", NULL, METRIC_GAUGE,
              "1 when the poll reached the device and parsed its reply.", SK_POLL_UP, 0);
    return ss->n < MAX_SPECS ? 0 : -E2BIG;
}

/* Series that do not change within a boot are written every SLOW_EVERY steps. */
static void
slow_specs(struct specs *ss)
{
    for (size_t i = 0; i < ss->n; i++) {
        struct spec *s = &ss->s[i];
        if ((s->kind == SK_MEM && s->idx == 0) || s->kind == SK_FILEFD_MAX || s->kind == SK_BUILD ||
            s->kind == SK_BOOT || s->kind == SK_BOOT_TIME || s->kind == SK_PSTORE_REC ||
            s->kind == SK_PSTORE_PANIC || s->kind == SK_NET_UP || s->kind == SK_SENSOR_UP)
            s->every = SLOW_EVERY;
    }
}

static double
spec_value(const struct spec *sp, const struct farm_state *st, const struct farm_device *d,
           const struct farm_boot *boots)
{
    size_t nb;
    const struct farm_build *builds = farm_builds(&nb);
    int answers = st->up && st->reachable;

    if (sp->kind == SK_POLL_UP)
        return answers ? 1 : 0;
    /* Up but off the network: what soakd sampled meanwhile reaches the server from its
     * persisted ring (/history) once the board is back; no poll took any time. */
    if (!st->up || (!answers && sp->kind == SK_POLL_DUR))
        return NAN;
    switch (sp->kind) {
    case SK_MEM:
        return *(const double *)((const char *)st + mem_fields[sp->idx].off) * 1024.0;
    case SK_SLAB_ACTIVE:
        return st->slab_active[sp->idx];
    case SK_SLAB_OBJS:
        return st->slab_objects[sp->idx];
    case SK_SLAB_SIZE:
        return d->slabs[sp->idx].object_size;
    case SK_SLAB_BYTES:
        return st->slab_objects[sp->idx] * d->slabs[sp->idx].object_size;
    case SK_FILEFD_ALLOC:
        return st->filefd_allocated;
    case SK_FILEFD_MAX:
        return st->filefd_maximum;
    case SK_OPEN_FDS:
        return st->open_fds;
    case SK_OOM:
    case SK_OOM_KMSG:
        return st->oom_kills;
    case SK_BUILD:
        return boots[sp->idx].build == st->boot->build && boots[sp->idx].slot == st->boot->slot
                   ? 1
                   : NAN;
    case SK_BOOT:
        return st->boot->index == (int)sp->idx ? 1 : NAN;
    case SK_BOOT_TIME:
        return (double)st->boot->start_s;
    case SK_UPTIME:
        return round(st->uptime_s * 100) / 100;
    case SK_PSTORE_REC:
    case SK_PSTORE_PANIC:
        return st->pstore_panic ? 1 : 0;
    case SK_NET_UP:
        if (strcmp(builds[st->boot->build].iface, sp->labels[0].value) != 0)
            return NAN;
        return st->reachable ? 1 : 0;
    case SK_THERMAL:
        return st->cpu_temp_c;
    case SK_LOAD:
        return st->load[sp->idx];
    case SK_SENSOR:
        return st->sensor[sp->idx];
    case SK_SENSOR_UP:
        return st->sensor_up[sp->idx] ? 1 : 0;
    case SK_POLL_DUR:
        return st->poll_duration_s;
    case SK_KML_OBJS:
    case SK_KML_BYTES:
    case SK_KML_SITE: {
        /* Only the leaking build's kernel had kmemleak; a report lists whole objects. */
        double objs = 0, bytes = 0;
        if (!builds[st->boot->build].leaks)
            return NAN;
        for (size_t i = 0; i < ARRAY_SIZE(kml_sites); i++) {
            double o =
                floor(st->leak_kb * 1024.0 * KML_FILP_SHARE / 192 * kml_sites[i].per_filp);
            if (sp->kind == SK_KML_SITE && sp->idx == i)
                return o;
            objs += o;
            bytes += o * kml_sites[i].size;
        }
        return sp->kind == SK_KML_OBJS ? objs : bytes;
    }
    default:
        return NAN;
    }
}

static int
flush(struct buf *b, FILE *out)
{
    if (b->len && fwrite(b->data, 1, b->len, out) != b->len)
        return -EIO;
    buf_reset(b);
    return 0;
}

long
sim_history_write(const struct farm *f, size_t dev, int64_t from_s, int64_t to_s, int64_t step_s,
                  FILE *out)
{
    size_t nd, nboots, nsteps;
    const struct farm_device *devs = farm_devices(&nd);
    const struct farm_boot *boots;
    _cleanup_free_ struct specs *ss = NULL;
    _cleanup_free_ double *vals = NULL;
    _cleanup_free_ unsigned char *young = NULL;
    struct expo_writer w;
    struct buf b;
    int64_t t0;
    long written = 0;
    int r = 0;

    if (!f || dev >= nd || step_s <= 0 || !out || to_s < from_s)
        return -EINVAL;
    boots = farm_boots(f, dev, &nboots);
    from_s = MAX(from_s, farm_first_s(f, dev));
    t0 = (from_s + step_s - 1) / step_s * step_s;
    nsteps = to_s >= t0 ? (size_t)((to_s - t0) / step_s) + 1 : 0;
    if (nsteps > MAX_STEPS)
        return -E2BIG;
    ss = calloc(1, sizeof(*ss));
    if (!ss)
        return -ENOMEM;
    r = make_specs(f, dev, from_s, to_s, ss);
    if (r < 0)
        return r;
    slow_specs(ss);
    if (nsteps) {
        vals = calloc(nsteps * ss->n, sizeof(*vals));
        young = calloc(nsteps, 1);
        if (!vals || !young)
            return -ENOMEM;
    }
    for (size_t k = 0; k < nsteps; k++) {
        struct farm_state st;
        int64_t t = t0 + (int64_t)k * step_s;
        r = farm_eval(f, dev, t, &st);
        if (r < 0)
            return r;
        young[k] = st.up && st.uptime_s < SLOW_FIRST_S;
        for (size_t i = 0; i < ss->n; i++)
            vals[i * nsteps + k] = spec_value(&ss->s[i], &st, &devs[dev], boots);
    }

    buf_init(&b, OUT_MAX);
    expo_writer_init(&w, &b, EXPO_OPENMETRICS);
    for (size_t i = 0; i < ss->n && r == 0; i++) {
        const struct spec *sp = &ss->s[i];
        if (i == 0 || strcmp(ss->s[i - 1].family, sp->family) != 0)
            (void)expo_family(&w, sp->family, sp->type, sp->help);
        for (size_t k = 0; k < nsteps; k++) {
            double v = vals[i * nsteps + k];
            int64_t t = t0 + (int64_t)k * step_s;
            if (isnan(v) || (sp->every > 1 && (t / step_s) % sp->every != 0 && !young[k]))
                continue;
            if (expo_sample_ts(&w, sp->sample, sp->labels, sp->nl, v, t * 1000) < 0)
                break;
            written++;
            if (b.len >= FLUSH_AT) {
                r = flush(&b, out);
                if (r < 0)
                    break;
            }
        }
        if (r == 0)
            r = expo_error(&w);
    }
    if (r == 0)
        r = expo_finish(&w);
    if (r == 0)
        r = flush(&b, out);
    if (r == 0 && fflush(out) != 0)
        r = -EIO;
    buf_free(&b);
    return r < 0 ? r : written;
}
