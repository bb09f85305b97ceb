/* SPDX-License-Identifier: MIT */
/*
 * live.c - a board's /proc and /sys as files under a root directory, for a
 * real soakd started with --root. Formats follow the kernel's (meminfo's
 * "%-16s%8lu kB", slabinfo 2.1, w1_slave with a valid Dallas CRC, hwmon
 * milli-units, IIO raw + scale).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "rootfs.h"
#include "sim.h"

#define FILE_MAX (256 * 1024) /* bytes of one generated file */
#define FD_PIDS 3
#define TMP_DIR ".sim-tmp" /* under the root: files are written here, then renamed */

static int
mkdir_p(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
            int r = -errno;
            *p = '/';
            return r;
        }
        *p = '/';
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* Make the directory that holds rel (under root). */
static int
parent_dir(const char *root, const char *rel)
{
    char p[ROOT_PATH_MAX], *slash;
    int r = root_path(root, rel, p, sizeof(p));

    if (r < 0)
        return r;
    slash = strrchr(p, '/');
    if (!slash || slash == p)
        return 0;
    *slash = '\0';
    return mkdir_p(p);
}

/* Replace root/rel with n bytes of data, atomically. */
static int
put(const char *root, const char *rel, const char *data, size_t n)
{
    char p[ROOT_PATH_MAX], tmp[ROOT_PATH_MAX + 8];
    int fd, r;

    r = root_path(root, rel, p, sizeof(p));
    if (r < 0)
        return r;
    /* Written in a side directory, so directory scans (pstore, /proc) never see it. */
    r = root_path(root, "/" TMP_DIR "/file", tmp, sizeof(tmp));
    if (r < 0)
        return r;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT) {
        r = parent_dir(root, "/" TMP_DIR "/file");
        if (r < 0)
            return r;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    }
    if (fd < 0)
        return -errno;
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            (void)close(fd);
            (void)unlink(tmp);
            return r;
        }
        data += w;
        n -= (size_t)w;
    }
    if (close(fd) < 0) {
        r = -errno;
        (void)unlink(tmp);
        return r;
    }
    if (rename(tmp, p) < 0 && errno == ENOENT) {
        /* first time: make the directories */
        r = parent_dir(root, rel);
        if (r < 0) {
            (void)unlink(tmp);
            return r;
        }
        if (rename(tmp, p) == 0)
            return 0;
    } else
        return 0;
    r = -errno;
    (void)unlink(tmp);
    return r;
}

static int putf(const char *root, const char *rel, const char *fmt, ...) _printf_(3, 4);

static int
putf(const char *root, const char *rel, const char *fmt, ...)
{
    struct buf b;
    va_list ap;
    int r;

    buf_init(&b, FILE_MAX);
    va_start(ap, fmt);
    r = buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (r == 0)
        r = put(root, rel, b.data ? b.data : "", b.len);
    buf_free(&b);
    return r;
}

static int
put_buf(const char *root, const char *rel, struct buf *b)
{
    int r = put(root, rel, b->data ? b->data : "", b->len);
    buf_free(b);
    return r;
}

static void
unlink_rel(const char *root, const char *rel)
{
    char p[ROOT_PATH_MAX];

    if (root_path(root, rel, p, sizeof(p)) == 0)
        (void)unlink(p);
}

/* Remove a directory of plain files (one level), if there. */
static void
rmdir_flat(const char *root, const char *rel)
{
    char p[ROOT_PATH_MAX], f[ROOT_PATH_MAX + 256];
    struct dirent *de;
    DIR *d;

    if (root_path(root, rel, p, sizeof(p)) < 0)
        return;
    d = opendir(p);
    if (!d)
        return;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' && snprintf(f, sizeof(f), "%s/%s", p, de->d_name) < (int)sizeof(f))
            (void)unlink(f);
    closedir(d);
    (void)rmdir(p);
}

static int
symlink_rel(const char *root, const char *rel, const char *target)
{
    char p[ROOT_PATH_MAX];
    int r = root_path(root, rel, p, sizeof(p));

    if (r < 0)
        return r;
    if (symlink(target, p) == 0 || errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return -errno;
    r = parent_dir(root, rel);
    if (r < 0)
        return r;
    if (symlink(target, p) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int
write_meminfo(const char *root, const struct farm_state *st)
{
    const struct {
        const char *name;
        double kb;
    } f[] = {
        {"MemTotal", st->mem_total},
        {"MemFree", st->mem_free},
        {"MemAvailable", st->mem_available},
        {"Buffers", st->buffers},
        {"Cached", st->cached},
        {"SwapCached", 0},
        {"Active", st->active_anon + st->active_file},
        {"Inactive", st->inactive_anon + st->inactive_file},
        {"Active(anon)", st->active_anon},
        {"Inactive(anon)", st->inactive_anon},
        {"Active(file)", st->active_file},
        {"Inactive(file)", st->inactive_file},
        {"Unevictable", 0},
        {"Mlocked", 0},
        {"SwapTotal", 0},
        {"SwapFree", 0},
        {"Dirty", 12},
        {"Writeback", 0},
        {"AnonPages", st->anon},
        {"Mapped", round(st->cached * 0.3)},
        {"Shmem", st->shmem},
        {"KReclaimable", st->sreclaim},
        {"Slab", st->slab},
        {"SReclaimable", st->sreclaim},
        {"SUnreclaim", st->sunreclaim},
        {"KernelStack", st->kernel_stack},
        {"PageTables", st->page_tables},
        {"SecPageTables", 0},
        {"NFS_Unstable", 0},
        {"Bounce", 0},
        {"WritebackTmp", 0},
        {"CommitLimit", floor(st->mem_total / 2)},
        {"Committed_AS", st->committed_as},
        {"VmallocTotal", 135288315904.0 / 1024},
        {"VmallocUsed", st->vmalloc_used},
        {"VmallocChunk", 0},
        {"Percpu", 640},
        {"CmaTotal", 65536},
        {"CmaFree", 0},
    };
    struct buf b;
    int r = 0;

    buf_init(&b, FILE_MAX);
    for (size_t i = 0; i < ARRAY_SIZE(f) && r == 0; i++) {
        char name[24];
        (void)snprintf(name, sizeof(name), "%s:", f[i].name);
        r = buf_printf(&b, "%-16s%8.0f kB\n", name, f[i].kb);
    }
    if (r < 0) {
        buf_free(&b);
        return r;
    }
    return put_buf(root, "/proc/meminfo", &b);
}

static int
write_slabinfo(const char *root, const struct farm_device *d, const struct farm_state *st)
{
    struct buf b;
    int r;

    buf_init(&b, FILE_MAX);
    r = buf_puts(&b, "slabinfo - version: 2.1\n"
                     "# name            <active_objs> <num_objs> <objsize> <objperslab> "
                     "<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata "
                     "<active_slabs> <num_slabs> <sharedavail>\n");
    for (size_t i = 0; i < d->n_slabs && i < FARM_MAX_SLABS && r == 0; i++) {
        const struct farm_slab *s = &d->slabs[i];
        unsigned pages = (s->object_size * s->objs_per_slab + 4095) / 4096;
        double slabs = st->slab_objects[i] / s->objs_per_slab;
        r = buf_printf(&b,
                       "%-17s %6.0f %6.0f %6u %4u %4u : tunables %4d %4d %4d : slabdata %6.0f "
                       "%6.0f %6d\n",
                       s->name, st->slab_active[i], st->slab_objects[i], s->object_size,
                       s->objs_per_slab, pages, 0, 0, 0, slabs, slabs, 0);
    }
    if (r < 0) {
        buf_free(&b);
        return r;
    }
    return put_buf(root, "/proc/slabinfo", &b);
}

static int
write_proc(const char *root, const struct farm_device *d, const struct farm_build *bd,
           const struct farm_state *st, int64_t btime)
{
    const struct farm_boot *b = st->boot;
    double up = st->uptime_s, jiffies = up * 100;
    int r = 0;

    r |= write_meminfo(root, st);
    r |= write_slabinfo(root, d, st);
    r |= putf(root, "/proc/uptime", "%.2f %.2f\n", up, up * 3.6);
    r |= putf(root, "/proc/loadavg", "%.2f %.2f %.2f 1/%u %u\n", st->load[0], st->load[1],
              st->load[2], 118 + (unsigned)(st->load[0] * 3), 1000 + (unsigned)(up / 60) % 30000);
    r |= putf(root, "/proc/stat",
              "cpu  %.0f 0 %.0f %.0f %.0f 0 %.0f 0 0 0\n"
              "cpu0 %.0f 0 %.0f %.0f %.0f 0 %.0f 0 0 0\n"
              "intr %.0f\nctxt %.0f\nbtime %lld\nprocesses %.0f\nprocs_running 1\n"
              "procs_blocked 0\nsoftirq %.0f\n",
              jiffies * 0.08, jiffies * 0.03, jiffies * 3.8, jiffies * 0.01, jiffies * 0.002,
              jiffies * 0.02, jiffies * 0.008, jiffies * 0.95, jiffies * 0.003, jiffies * 0.0005,
              up * 310, up * 620, (long long)btime, up * 0.9, up * 150);
    r |= putf(root, "/proc/vmstat",
              "nr_free_pages %.0f\nnr_slab_reclaimable %.0f\nnr_slab_unreclaimable %.0f\n"
              "pgpgin %.0f\npgpgout %.0f\npgfault %.0f\npgmajfault %.0f\noom_kill %.0f\n",
              st->mem_free / 4, st->sreclaim / 4, st->sunreclaim / 4, up * 3, up * 1.5, up * 900,
              up * 0.02, st->oom_kills);
    r |= putf(root, "/proc/sys/fs/file-nr", "%.0f\t0\t%.0f\n", st->filefd_allocated,
              st->filefd_maximum);
    r |= putf(root, "/proc/sys/kernel/random/boot_id", "%s\n", b->boot_id);
    r |= putf(root, "/proc/sys/kernel/ostype", "Linux\n");
    r |= putf(root, "/proc/sys/kernel/osrelease", "%s\n", bd->kernel_release);
    r |= putf(root, "/proc/sys/kernel/version", "#1 SMP PREEMPT\n");
    r |= putf(root, "/proc/sys/kernel/arch", "aarch64\n");
    r |= putf(root, "/proc/sys/kernel/hostname", "%s\n", d->name);
    r |= putf(root, "/proc/sys/kernel/domainname", "(none)\n");
    r |= putf(root, "/proc/version", "Linux version %s (oe-user@oe-host) #1 SMP PREEMPT\n",
              bd->kernel_release);
    r |= putf(root, "/proc/cmdline",
              "console=ttyS0,1500000 root=PARTLABEL=rootfs%c rauc.slot=%c rootwait\n", b->slot,
              b->slot);
    r |= put(root, "/proc/device-tree/model", d->model, strlen(d->model) + 1);
    r |= putf(root, "/etc/os-release",
              "ID=poky\nNAME=\"Poky (Yocto Project Reference Distro)\"\nVERSION=\"%s (farm)\"\n"
              "VERSION_ID=%s\nPRETTY_NAME=\"Poky (Yocto Project Reference Distro) %s\"\n",
              bd->os_version, bd->os_version, bd->os_version);
    return r < 0 ? -EIO : 0;
}

/* /proc/<pid>/fd entries: three processes share the board's open descriptors. */
static int
write_fds(const char *root, const struct farm_state *st)
{
    static const struct {
        unsigned pid;
        const char *comm;
        double share;
    } procs[FD_PIDS] = {
        {1, "systemd", 0.22},
        {214, "systemd-journal", 0.08},
        {377, "sensor-logger", 0.70},
    };
    int r = 0;

    for (size_t i = 0; i < FD_PIDS; i++) {
        char rel[96], p[ROOT_PATH_MAX];
        unsigned want = (unsigned)(st->open_fds * procs[i].share);
        struct stat sb;

        (void)snprintf(rel, sizeof(rel), "/proc/%u/comm", procs[i].pid);
        r |= putf(root, rel, "%s\n", procs[i].comm);
        for (unsigned k = 0; k < want + 64; k++) {
            (void)snprintf(rel, sizeof(rel), "/proc/%u/fd/%u", procs[i].pid, k);
            if (root_path(root, rel, p, sizeof(p)) < 0)
                return -ENAMETOOLONG;
            if (k < want) {
                if (lstat(p, &sb) < 0)
                    r |= symlink_rel(root, rel, "/dev/null");
            } else
                (void)unlink(p);
        }
    }
    return r < 0 ? -EIO : 0;
}

/* Dallas/Maxim CRC-8 (polynomial x^8 + x^5 + x^4 + 1, reflected 0x8C). */
static uint8_t
w1_crc8(const uint8_t *p, size_t n)
{
    uint8_t crc = 0;

    for (size_t i = 0; i < n; i++) {
        uint8_t in = p[i];
        for (int b = 0; b < 8; b++) {
            uint8_t mix = (crc ^ in) & 1;
            crc >>= 1;
            if (mix)
                crc ^= 0x8C;
            in >>= 1;
        }
    }
    return crc;
}

static int
write_w1(const char *root, const struct farm_sensor *s, double c)
{
    char rel[160], line[64];
    int16_t raw = (int16_t)lround(c * 16);
    uint8_t sp[9] = {(uint8_t)(raw & 0xff),
                     (uint8_t)((uint16_t)raw >> 8),
                     0x4b,
                     0x46,
                     0x7f,
                     0xff,
                     0x0c,
                     0x10,
                     0};
    size_t n = 0;
    int r;

    sp[8] = w1_crc8(sp, 8);
    for (size_t i = 0; i < 9; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%02x ", sp[i]);
    line[n ? n - 1 : 0] = '\0';
    (void)snprintf(rel, sizeof(rel), "/sys/bus/w1/devices/%s/w1_slave", s->addr);
    r = putf(root, rel, "%s : crc=%02x YES\n%s t=%ld\n", line, sp[8], line,
             lround(raw * 1000.0 / 16));
    (void)snprintf(rel, sizeof(rel), "/sys/bus/w1/devices/%s/temperature", s->addr);
    r |= putf(root, rel, "%ld\n", lround(raw * 1000.0 / 16));
    return r;
}

/* Index of a sensor's device among the device's sensors of the same bus (hwmonN / iio:deviceN). */
static unsigned
bus_index(const struct farm_device *d, size_t i)
{
    unsigned n = 0;

    for (size_t j = 0; j < i; j++) {
        int dup = 0;
        if (d->sensors[j].bus != d->sensors[i].bus)
            continue;
        for (size_t k = 0; k < j; k++)
            if (strcmp(d->sensors[k].sensor, d->sensors[j].sensor) == 0)
                dup = 1;
        if (!dup && strcmp(d->sensors[j].sensor, d->sensors[i].sensor) != 0)
            n++;
    }
    return n;
}

/* rel -> target, replacing a directory a tree of an older soak sim had there. */
static int
iio_link(const char *root, const char *rel, const char *target)
{
    char p[ROOT_PATH_MAX];
    struct stat sb;

    if (root_path(root, rel, p, sizeof(p)) < 0)
        return -ENAMETOOLONG;
    if (lstat(p, &sb) == 0) {
        if (S_ISLNK(sb.st_mode))
            return 0;
        rmdir_flat(root, rel);
    }
    return symlink_rel(root, rel, target);
}

static int
write_sensors(const char *root, const struct farm_device *d, const struct farm_state *st)
{
    int r = 0;

    for (size_t i = 0; i < d->n_sensors && i < FARM_MAX_SENSORS; i++) {
        const struct farm_sensor *s = &d->sensors[i];
        double v = st->sensor[i];
        unsigned idx = bus_index(d, i);
        char dir[128], rel[192], target[192];

        if (s->bus == FARM_BUS_W1) {
            (void)snprintf(rel, sizeof(rel), "/sys/bus/w1/devices/%s", s->addr);
            if (!st->sensor_up[i] || isnan(v)) {
                rmdir_flat(root, rel); /* unplugged: the kernel removes the slave */
                continue;
            }
            r |= write_w1(root, s, v);
            continue;
        }
        if (s->bus == FARM_BUS_HWMON) {
            /* hwmon0 is the SoC's; the chips on i2c-1 follow. */
            (void)snprintf(dir, sizeof(dir), "/sys/class/hwmon/hwmon%u", idx + 1);
            (void)snprintf(rel, sizeof(rel), "%s/name", dir);
            r |= putf(root, rel, "%s\n", s->chip);
            (void)snprintf(rel, sizeof(rel), "/sys/devices/platform/ff0d0000.i2c/i2c-1/%s/name",
                           s->addr);
            r |= putf(root, rel, "%s\n", s->chip);
            (void)snprintf(rel, sizeof(rel), "%s/device", dir);
            (void)snprintf(target, sizeof(target),
                           "../../../devices/platform/ff0d0000.i2c/i2c-1/%s", s->addr);
            r |= symlink_rel(root, rel, target);
            (void)snprintf(rel, sizeof(rel),
                           "/sys/devices/platform/ff0d0000.i2c/i2c-1/%s/subsystem", s->addr);
            r |= symlink_rel(root, rel, "../../../../../bus/i2c");
            (void)snprintf(rel, sizeof(rel), "%s/%s", dir,
                           s->q == FARM_Q_HUMIDITY ? "humidity1_input" : "temp1_input");
            r |= putf(root, rel, "%ld\n", lround(v * 1000));
            continue;
        }
        /* IIO: /sys/bus/iio/devices/iio:deviceN links to the node under its i2c or spi
         * device, as the kernel's does; soakd names the sensor "<name>@<that device>". */
        if (strncmp(s->addr, "spi", 3) == 0)
            (void)snprintf(dir, sizeof(dir),
                           "/sys/devices/platform/ff1d0000.spi/spi_master/spi0/%s/iio:device%u",
                           s->addr, idx);
        else
            (void)snprintf(dir, sizeof(dir),
                           "/sys/devices/platform/ff0d0000.i2c/i2c-1/%s/iio:device%u", s->addr,
                           idx);
        (void)snprintf(rel, sizeof(rel), "/sys/bus/iio/devices/iio:device%u", idx);
        (void)snprintf(target, sizeof(target), "../../..%s", dir + strlen("/sys"));
        r |= iio_link(root, rel, target);
        (void)snprintf(rel, sizeof(rel), "%s/name", dir);
        r |= putf(root, rel, "%s\n", s->chip);
        switch (s->q) {
        case FARM_Q_ILLUMINANCE:
            (void)snprintf(rel, sizeof(rel), "%s/in_illuminance_raw", dir);
            r |= putf(root, rel, "%ld\n", lround(v / 0.833333));
            (void)snprintf(rel, sizeof(rel), "%s/in_illuminance_scale", dir);
            r |= putf(root, rel, "0.833333\n");
            break;
        case FARM_Q_PRESSURE:
            /* LPS25H: 4096 LSB per hPa; IIO pressure is in kPa. */
            (void)snprintf(rel, sizeof(rel), "%s/in_pressure_raw", dir);
            r |= putf(root, rel, "%ld\n", lround(v / 100.0 * 4096));
            (void)snprintf(rel, sizeof(rel), "%s/in_pressure_scale", dir);
            r |= putf(root, rel, "0.000024414\n");
            break;
        case FARM_Q_VOLTAGE:
            /* MCP3002: 10 bits over a 3.3 V reference; IIO voltage is in mV. */
            (void)snprintf(rel, sizeof(rel), "%s/in_voltage0_raw", dir);
            r |= putf(root, rel, "%ld\n", lround(v * 1000 / 3.22265625));
            (void)snprintf(rel, sizeof(rel), "%s/in_voltage_scale", dir);
            r |= putf(root, rel, "3.222656250\n");
            break;
        default:
            (void)snprintf(rel, sizeof(rel), "%s/in_temp_input", dir);
            r |= putf(root, rel, "%ld\n", lround(v * 1000));
            break;
        }
    }
    return r < 0 ? -EIO : 0;
}

static int
write_net(const char *root, const struct farm_build *bd, const struct farm_state *st)
{
    static const char *const ifaces[] = {"eth0", "end0"};
    int r = 0;

    for (size_t i = 0; i < ARRAY_SIZE(ifaces); i++) {
        char rel[96];
        if (strcmp(ifaces[i], bd->iface) != 0) {
            (void)snprintf(rel, sizeof(rel), "/sys/class/net/%s", ifaces[i]);
            rmdir_flat(root, rel);
            continue;
        }
        (void)snprintf(rel, sizeof(rel), "/sys/class/net/%s/operstate", ifaces[i]);
        r |= putf(root, rel, "%s\n", st->reachable ? "up" : "down");
        (void)snprintf(rel, sizeof(rel), "/sys/class/net/%s/carrier", ifaces[i]);
        r |= putf(root, rel, "%d\n", st->reachable ? 1 : 0);
        (void)snprintf(rel, sizeof(rel), "/sys/class/net/%s/address", ifaces[i]);
        r |= putf(root, rel, "02:5a:00:00:00:%02x\n", 0x10 + (unsigned)i);
        (void)snprintf(rel, sizeof(rel), "/sys/class/net/%s/mtu", ifaces[i]);
        r |= putf(root, rel, "1500\n");
    }
    r |= putf(root, "/sys/class/net/lo/operstate", "unknown\n");
    r |= putf(root, "/sys/class/net/lo/address", "00:00:00:00:00:00\n");
    return r < 0 ? -EIO : 0;
}

int
sim_live_write(const struct farm *f, size_t dev, int64_t t_s, double speed, const char *root)
{
    size_t nd, nb;
    const struct farm_device *devs = farm_devices(&nd);
    const struct farm_build *builds = farm_builds(&nb);
    const struct farm_device *d;
    const struct farm_build *bd;
    struct farm_state st;
    char text[2048];
    int64_t btime;
    int r;

    if (!f || dev >= nd || !root || !root[0] || !(speed > 0))
        return -EINVAL;
    d = &devs[dev];
    r = farm_eval(f, dev, t_s, &st);
    if (r < 0)
        return r;
    if (!st.up)
        return 0; /* rebooting: the files stay as the last boot left them */
    bd = &builds[st.boot->build];
    btime = st.boot->start_s;
    if (btime > farm_now(f))
        btime = farm_now(f) + (int64_t)((double)(btime - farm_now(f)) / speed);
    r = write_proc(root, d, bd, &st, btime);
    if (r == 0)
        r = write_fds(root, &st);
    if (r == 0)
        r = putf(root, "/sys/class/thermal/thermal_zone0/type", "soc-thermal\n");
    if (r == 0)
        r = putf(root, "/sys/class/thermal/thermal_zone0/temp", "%ld\n",
                 lround(st.cpu_temp_c * 1000));
    if (r == 0)
        r = write_net(root, bd, &st);
    if (r == 0)
        r = write_sensors(root, d, &st);
    if (r == 0) {
        if (st.pstore_panic) {
            size_t nboots;
            const struct farm_boot *boots = farm_boots(f, dev, &nboots);
            farm_panic_text(&boots[st.boot->index - 1], d, text, sizeof(text));
            r = putf(root, "/sys/fs/pstore/dmesg-ramoops-0", "%s", text);
        } else {
            r = parent_dir(root, "/sys/fs/pstore/x");
            unlink_rel(root, "/sys/fs/pstore/dmesg-ramoops-0");
        }
    }
    return r;
}
