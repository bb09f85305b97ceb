/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the files and directories soakd keeps open between reads
 * (procfile_keep, procfile_cache, procfile_dir): a file replaced, rewritten or
 * removed under a kept fd, a missing file that appears, a directory that gains or
 * loses an entry, a sysfs file whose device goes away (ENODEV), and collectors
 * read twice while their tree changes in between.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector-test.h"
#include "procfile.h"
#include "rootfs.h"

/* A scratch root; removed by rm_tree(). */
static void
make_root(char *dir)
{
    assert_non_null(mkdtemp(dir));
}

static void
rm_tree(const char *dir)
{
    char cmd[ROOT_PATH_MAX + 16];

    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Write text to root/rel: in place (truncate and write) or by rename of a new file. */
static void
put(const char *root, const char *rel, const char *text, int by_rename)
{
    char p[ROOT_PATH_MAX], tmp[ROOT_PATH_MAX + 8];
    FILE *f;

    assert_int_equal(root_path(root, rel, p, sizeof(p)), 0);
    (void)snprintf(tmp, sizeof(tmp), "%s.new", p);
    f = fopen(by_rename ? tmp : p, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    if (by_rename)
        assert_int_equal(rename(tmp, p), 0);
}

/* Set the mtime of root/rel to `ago` seconds in the past (a tree that has settled). */
static void
age(const char *root, const char *rel, time_t ago)
{
    char p[ROOT_PATH_MAX];
    struct timespec ts[2];

    assert_int_equal(root_path(root, rel, p, sizeof(p)), 0);
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts[0]), 0);
    ts[0].tv_sec -= ago;
    ts[1] = ts[0];
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

static void
mkdir_rel(const char *root, const char *rel)
{
    char p[ROOT_PATH_MAX];

    assert_int_equal(root_path(root, rel, p, sizeof(p)), 0);
    assert_int_equal(mkdir(p, 0755), 0);
}

static void
test_keep_replaced_rewritten_removed(void **state)
{
    char dir[] = "/tmp/soak-keep-XXXXXX", out[64];
    struct procfile_keep k;
    int fd;

    (void)state;
    make_root(dir);
    mkdir_rel(dir, "/proc");
    put(dir, "/proc/loadavg", "1.00 2.00 3.00 1/100 42\n", 0);
    procfile_keep_init(&k);

    assert_int_equal(procfile_keep_read_line(&k, dir, "/proc/loadavg", out, sizeof(out)), 23);
    assert_string_equal(out, "1.00 2.00 3.00 1/100 42");
    fd = k.fd;
    assert_true(fd >= 0);

    /* Rewritten in place: same inode, the kept fd reads the new text. */
    put(dir, "/proc/loadavg", "4.00 5.00 6.00 1/100 43\n", 0);
    assert_int_equal(procfile_keep_read_line(&k, dir, "/proc/loadavg", out, sizeof(out)), 23);
    assert_string_equal(out, "4.00 5.00 6.00 1/100 43");

    /* Replaced by rename (as `soak sim` writes): the old inode lost its link. */
    put(dir, "/proc/loadavg", "7.00 8.00 9.00 2/100 44\n", 1);
    assert_int_equal(procfile_keep_read_line(&k, dir, "/proc/loadavg", out, sizeof(out)), 23);
    assert_string_equal(out, "7.00 8.00 9.00 2/100 44");

    /* Longer than the buffer: -EFBIG with the first size-1 bytes, as root_read(). */
    assert_int_equal(procfile_keep_read(&k, dir, "/proc/loadavg", out, 5), -EFBIG);
    assert_string_equal(out, "7.00");

    /* Removed: the read fails and nothing is left open. */
    {
        char p[ROOT_PATH_MAX];
        assert_int_equal(root_path(dir, "/proc/loadavg", p, sizeof(p)), 0);
        assert_int_equal(unlink(p), 0);
    }
    assert_int_equal(procfile_keep_read_line(&k, dir, "/proc/loadavg", out, sizeof(out)), -ENOENT);
    assert_int_equal(k.fd, -1);

    /* And it comes back. */
    put(dir, "/proc/loadavg", "0.50 0.50 0.50 1/1 1\n", 0);
    assert_int_equal(procfile_keep_read_line(&k, dir, "/proc/loadavg", out, sizeof(out)), 20);
    procfile_keep_close(&k);
    procfile_keep_close(&k);
    rm_tree(dir);
}

static void
test_keep_missing_file_appears(void **state)
{
    char dir[] = "/tmp/soak-keep-XXXXXX", out[64];
    struct procfile_keep k;

    (void)state;
    make_root(dir);
    mkdir_rel(dir, "/proc");
    age(dir, "/proc", 10);
    procfile_keep_init(&k);

    /* Missing, and its directory settled: remembered with the directory kept open. */
    assert_int_equal(procfile_keep_read_line(&k, dir, "/proc/sys/kernel/hostname", out,
                                             sizeof(out)), -ENOENT);
    assert_true(k.miss_fd >= 0);
    assert_int_equal(procfile_keep_read_line(&k, dir, "/proc/sys/kernel/hostname", out,
                                             sizeof(out)), -ENOENT);

    /* Its parents and the file appear: the directory changed, so it is looked up again. */
    mkdir_rel(dir, "/proc/sys");
    mkdir_rel(dir, "/proc/sys/kernel");
    put(dir, "/proc/sys/kernel/hostname", "board7\n", 1);
    assert_int_equal(procfile_keep_read_line(&k, dir, "/proc/sys/kernel/hostname", out,
                                             sizeof(out)), 6);
    assert_string_equal(out, "board7");
    assert_int_equal(k.miss_fd, -1);

    procfile_keep_close(&k);

    /* A directory changed just now is not trusted: a miss is looked up every time. */
    mkdir_rel(dir, "/etc");
    assert_int_equal(procfile_keep_read_line(&k, dir, "/etc/os-release", out, sizeof(out)),
                     -ENOENT);
    assert_int_equal(k.miss_fd, -1);
    procfile_keep_close(&k);
    rm_tree(dir);
}

static void
test_cache_drops_unused(void **state)
{
    char dir[] = "/tmp/soak-keep-XXXXXX", out[64];
    struct procfile_cache c;

    (void)state;
    make_root(dir);
    put(dir, "/a", "1\n", 0);
    put(dir, "/b", "2\n", 0);
    put(dir, "/c", "3\n", 0);
    assert_int_equal(procfile_cache_init(&c, 2), 0);

    procfile_cache_begin(&c);
    assert_int_equal(procfile_cache_read_line(&c, dir, "/a", out, sizeof(out)), 1);
    assert_int_equal(procfile_cache_read_line(&c, dir, "/b", out, sizeof(out)), 1);
    /* Full: /c is read without being kept. */
    assert_int_equal(procfile_cache_read_line(&c, dir, "/c", out, sizeof(out)), 1);
    assert_string_equal(out, "3");
    assert_null(procfile_cache_get(&c, "/c"));
    procfile_cache_end(&c);
    assert_int_equal(c.n, 2);

    /* /a is not asked for in this read: end() closes it, which makes room for /c. */
    procfile_cache_begin(&c);
    assert_int_equal(procfile_cache_read_line(&c, dir, "/b", out, sizeof(out)), 1);
    procfile_cache_end(&c);
    assert_int_equal(c.n, 1);
    procfile_cache_begin(&c);
    assert_int_equal(procfile_cache_read_line(&c, dir, "/c", out, sizeof(out)), 1);
    assert_non_null(procfile_cache_get(&c, "/c"));
    procfile_cache_end(&c);
    assert_int_equal(c.n, 1);
    procfile_cache_free(&c);
    procfile_cache_free(&c);
    rm_tree(dir);
}

static void
test_dir_gains_and_loses(void **state)
{
    char dir[] = "/tmp/soak-keep-XXXXXX", p[ROOT_PATH_MAX];
    struct procfile_dir d;
    struct timespec ts[2];

    (void)state;
    make_root(dir);
    mkdir_rel(dir, "/net");
    mkdir_rel(dir, "/net/eth0");
    mkdir_rel(dir, "/net/lo");
    age(dir, "/net", 10);
    assert_int_equal(procfile_dir_init(&d, 8), 0);

    assert_int_equal(procfile_dir_list(&d, dir, "/net", ""), 2);
    assert_true(d.trusted);
    assert_int_equal(procfile_dir_list(&d, dir, "/net", ""), 2);

    /* Gains an entry: the mtime moved, it is listed again (and not trusted yet). */
    mkdir_rel(dir, "/net/wlan0");
    assert_int_equal(procfile_dir_list(&d, dir, "/net", ""), 3);
    assert_string_equal(d.names[2], "wlan0");
    assert_false(d.trusted);

    /* Untrusted listing: a change that leaves the mtime as it was is still seen. */
    assert_int_equal(root_path(dir, "/net", p, sizeof(p)), 0);
    ts[0] = d.mtime;
    ts[1] = d.mtime;
    mkdir_rel(dir, "/net/usb0");
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
    assert_int_equal(procfile_dir_list(&d, dir, "/net", ""), 4);

    /* Loses one (renamed, as an update that renames eth0 does). */
    {
        char from[ROOT_PATH_MAX], to[ROOT_PATH_MAX];
        assert_int_equal(root_path(dir, "/net/eth0", from, sizeof(from)), 0);
        assert_int_equal(root_path(dir, "/net/end0", to, sizeof(to)), 0);
        assert_int_equal(rename(from, to), 0);
    }
    assert_int_equal(procfile_dir_list(&d, dir, "/net", ""), 4);
    assert_string_equal(d.names[0], "end0");
    assert_string_equal(d.names[1], "lo");

    /* Another path or prefix is another listing. */
    assert_int_equal(procfile_dir_list(&d, dir, "/net", "w"), 1);
    assert_int_equal(procfile_dir_list(&d, dir, "/nowhere", ""), -ENOENT);
    assert_int_equal(d.n, 0);

    /* The directory itself removed and made again. */
    assert_int_equal(procfile_dir_list(&d, dir, "/net", ""), 4);
    rm_tree(p);
    mkdir_rel(dir, "/net");
    mkdir_rel(dir, "/net/eth1");
    assert_int_equal(procfile_dir_list(&d, dir, "/net", ""), 1);
    assert_string_equal(d.names[0], "eth1");
    procfile_dir_free(&d);
    procfile_dir_free(&d);
    rm_tree(dir);
}

/* A sysfs file of a device that goes away: the kept fd fails with ENODEV, the file is
 * looked up again and is gone. Needs CAP_NET_ADMIN for a veth pair. */
static void
test_keep_sysfs_enodev(void **state)
{
    char name[32], cmd[160], rel[96], out[64];
    struct procfile_keep k;

    (void)state;
    (void)snprintf(name, sizeof(name), "soakk%u", (unsigned)getpid() % 100000);
    (void)snprintf(cmd, sizeof(cmd), "ip link add %s type veth peer name %sp 2>/dev/null", name,
                   name);
    if (access("/sys/class/net/lo/operstate", R_OK) != 0 || system(cmd) != 0) {
        skip(); /* no sysfs or not allowed to add an interface */
        return;
    }
    (void)snprintf(rel, sizeof(rel), "/sys/class/net/%s/operstate", name);
    procfile_keep_init(&k);
    assert_true(procfile_keep_read_line(&k, "/", rel, out, sizeof(out)) > 0);
    assert_true(k.kernel);
    assert_true(procfile_keep_read_line(&k, "/", rel, out, sizeof(out)) > 0);
    (void)snprintf(cmd, sizeof(cmd), "ip link del %s", name);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(procfile_keep_read_line(&k, "/", rel, out, sizeof(out)), -ENOENT);
    assert_int_equal(k.fd, -1);
    procfile_keep_close(&k);
}

/* Collectors keep their files between reads and still see every change. */
static void
test_collectors_see_changes(void **state)
{
    char dir[] = "/tmp/soak-keep-XXXXXX";
    const struct collector_ops *net = collector_find("net");
    const struct collector_ops *thermal = collector_find("thermal");
    void *nctx = NULL, *tctx = NULL;
    struct expo_writer w;
    struct buf out;

    (void)state;
    make_root(dir);
    {
        char cmd[1024];
        (void)snprintf(cmd, sizeof(cmd),
                       "set -e; cd %s; mkdir -p sys/class/net/eth0 sys/class/thermal/thermal_zone0; "
                       "echo up > sys/class/net/eth0/operstate; echo 1 > sys/class/net/eth0/carrier; "
                       "echo aa:bb:cc:dd:ee:ff > sys/class/net/eth0/address; "
                       "echo soc > sys/class/thermal/thermal_zone0/type; "
                       "echo 40000 > sys/class/thermal/thermal_zone0/temp",
                       dir);
        assert_int_equal(system(cmd), 0);
    }
    age(dir, "/sys/class/net", 10);
    age(dir, "/sys/class/thermal", 10);
    buf_init(&out, 1 << 20);
    assert_int_equal(net->init(&nctx), 0);
    assert_int_equal(net->start(nctx, dir), 0);
    assert_int_equal(thermal->init(&tctx), 0);
    assert_int_equal(thermal->start(tctx, dir), 0);

#define READ(ops, ctx, want)                                                                       \
    do {                                                                                           \
        buf_reset(&out);                                                                           \
        expo_writer_init(&w, &out, EXPO_PROMETHEUS);                                               \
        assert_int_equal((ops)->read((ctx), dir, &w), (want));                                     \
    } while (0)

    READ(net, nctx, 0);
    assert_true(ctest_value(&out, "node_network_up{device=\"eth0\"}") == 1);
    READ(thermal, tctx, 0);
    assert_true(ctest_value(&out, "node_thermal_zone_temp{type=\"soc\",zone=\"0\"}") == 40);

    /* The link goes down (file replaced), a second interface appears, eth0 is renamed. */
    put(dir, "/sys/class/net/eth0/operstate", "down\n", 1);
    READ(net, nctx, 0);
    assert_true(ctest_value(&out, "node_network_up{device=\"eth0\"}") == 0);
    {
        char cmd[512];
        (void)snprintf(cmd, sizeof(cmd),
                       "set -e; cd %s/sys/class/net; mkdir wlan0; echo up > wlan0/operstate; "
                       "mv eth0 end0",
                       dir);
        assert_int_equal(system(cmd), 0);
    }
    READ(net, nctx, 0);
    assert_true(isnan(ctest_value(&out, "node_network_up{device=\"eth0\"}")));
    assert_true(ctest_value(&out, "node_network_up{device=\"end0\"}") == 0);
    assert_true(ctest_value(&out, "node_network_up{device=\"wlan0\"}") == 1);

    /* A temperature written in place, then the zone removed. */
    put(dir, "/sys/class/thermal/thermal_zone0/temp", "41500\n", 0);
    READ(thermal, tctx, 0);
    assert_true(ctest_value(&out, "node_thermal_zone_temp{type=\"soc\",zone=\"0\"}") == 41.5);
    {
        char p[ROOT_PATH_MAX];
        assert_int_equal(root_path(dir, "/sys/class/thermal/thermal_zone0", p, sizeof(p)), 0);
        rm_tree(p);
    }
    READ(thermal, tctx, 0);
    assert_int_equal(ctest_count(&out, "node_thermal_zone_temp"), 0);
#undef READ

    net->fini(nctx);
    thermal->fini(tctx);
    buf_free(&out);
    rm_tree(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_replaced_rewritten_removed),
        cmocka_unit_test(test_keep_missing_file_appears),
        cmocka_unit_test(test_cache_drops_unused),
        cmocka_unit_test(test_dir_gains_and_loses),
        cmocka_unit_test(test_keep_sysfs_enodev),
        cmocka_unit_test(test_collectors_see_changes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
