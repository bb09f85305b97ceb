/* SPDX-License-Identifier: MIT */
/* Unit tests of slabinfo, fds, thermal, hwmon, net and build (with the os-release parser). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "build.h"
#include "collector-test.h"
#include "parsers.h"
#include "rootfs.h"

#define ROCKPIS FIXTURES "/rockpis-6.17"
#define BROKEN FIXTURES "/broken"
#define MINIMAL FIXTURES "/minimal"

static void
test_slabinfo(void **state)
{
    struct buf out;

    (void)state;
    assert_int_equal(ctest_run("slabinfo", ROCKPIS, &out), 0);
    assert_value(&out, "soak_slabinfo_readable", 1);
    assert_value(&out, "node_slabinfo_active_objects{slab=\"filp\"}", 218820);
    assert_value(&out, "node_slabinfo_objects{slab=\"kmalloc-cg-192\"}", 60564);
    assert_value(&out, "node_slabinfo_active_objects{slab=\"kmalloc-cg-192\"}", 60555);
    assert_value(&out, "node_slabinfo_object_size_bytes{slab=\"filp\"}", 192);
    assert_value(&out, "node_slabinfo_objects_per_slab{slab=\"filp\"}", 21);
    assert_value(&out, "node_slabinfo_pages_per_slab{slab=\"debugfs_inode_cache\"}", 4);
    /* A name longer than 17 characters pushes the columns: split on blanks. */
    assert_value(&out, "node_slabinfo_objects{slab=\"debugfs_inode_cache\"}", 5575);
    assert_value(&out, "soak_slabinfo_bytes{slab=\"filp\"}", 218820.0 * 192);
    assert_int_equal(ctest_count(&out, "node_slabinfo_objects{"), 12);
    buf_free(&out);
}

static void
test_slabinfo_broken(void **state)
{
    struct buf out;

    (void)state;
    /* Statistics columns (> 16 tokens) are fine; garbage, overflow and a short line are errors. */
    assert_int_equal(ctest_run("slabinfo", BROKEN, &out), -EINVAL);
    assert_value(&out, "node_slabinfo_active_objects{slab=\"filp\"}", 218820); /* first wins */
    assert_value(&out, "node_slabinfo_objects{slab=\"odd\\\"name\\\\x\"}", 2);
    assert_int_equal(ctest_count(&out, "node_slabinfo_objects{"), 3);
    assert_int_equal(ctest_count(&out, "node_slabinfo_objects{slab=\"huge\"}"), 0);
    assert_non_null(strstr(buf_str(&out), "slab=\"a_cache_name_that_is_much_longer_than"));
    buf_free(&out);
}

static void
test_slabinfo_unreadable(void **state)
{
    char dir[] = "/tmp/soak-slab-XXXXXX", path[256];
    struct buf out;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(path, sizeof(path), "%s/proc", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    /* Missing: readable 0 and the error. */
    assert_int_equal(ctest_run("slabinfo", dir, &out), -ENOENT);
    assert_value(&out, "soak_slabinfo_readable", 0);
    assert_int_equal(ctest_count(&out, "node_slabinfo"), 0);
    buf_free(&out);
    /* A directory where the file should be: open works, read fails (EISDIR). */
    (void)snprintf(path, sizeof(path), "%s/proc/slabinfo", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(ctest_run("slabinfo", dir, &out), -EISDIR);
    assert_value(&out, "soak_slabinfo_readable", 0);
    buf_free(&out);
    assert_int_equal(rmdir(path), 0);
    if (geteuid() != 0) {
        /* The real case: mode 0400 and not root. */
        int fd = open(path, O_CREAT | O_WRONLY, 0000);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(ctest_run("slabinfo", dir, &out), -EACCES);
        assert_value(&out, "soak_slabinfo_readable", 0);
        buf_free(&out);
        (void)unlink(path);
    }
    (void)snprintf(path, sizeof(path), "%s/proc", dir);
    assert_int_equal(rmdir(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void
test_slabinfo_drop_caches(void **state)
{
    char dir[] = "/tmp/soak-drop-XXXXXX", path[256], cmd[512], got[8] = "";
    const struct ctest_kv kv[] = { { "drop_caches", "1h" }, { NULL, NULL } };
    const struct ctest_kv bad[] = { { "drop_caches", "soon" }, { NULL, NULL } };
    struct buf out;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(cmd, sizeof(cmd), "mkdir -p %s/proc/sys/vm && cp %s/proc/slabinfo %s/proc/ && "
                   ": > %s/proc/sys/vm/drop_caches", dir, ROCKPIS, dir, dir);
    assert_int_equal(system(cmd), 0);
    /* Three reads within the hour: one drop, before the first sample. */
    assert_int_equal(ctest_run_conf("slabinfo", dir, kv, 3, &out), 0);
    assert_value(&out, "soak_slabinfo_drop_caches_total", 1);
    assert_value(&out, "soak_slabinfo_drop_caches_failures_total", 0);
    (void)snprintf(path, sizeof(path), "%s/proc/sys/vm/drop_caches", dir);
    assert_true(root_read(NULL, path, got, sizeof(got)) == 1);
    assert_string_equal(got, "2");
    buf_free(&out);
    assert_int_equal(ctest_run_conf("slabinfo", dir, bad, 1, &out), -EINVAL);
    buf_free(&out);
    /* Off by default: no drop counters. */
    assert_int_equal(ctest_run("slabinfo", dir, &out), 0);
    assert_absent(&out, "soak_slabinfo_drop_caches_total");
    buf_free(&out);
    (void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void
test_slabinfo_parse_line(void **state)
{
    struct slabinfo_entry e;
    char line[256];

    (void)state;
    (void)snprintf(line, sizeof(line), "%s", "slabinfo - version: 2.1");
    assert_int_equal(slabinfo_parse_line(line, &e), 0);
    (void)snprintf(line, sizeof(line), "%s", "# name <active_objs>");
    assert_int_equal(slabinfo_parse_line(line, &e), 0);
    (void)snprintf(line, sizeof(line), "%s",
                   "nvidia_p2p_page_cache      0      0    368   22    2");
    assert_int_equal(slabinfo_parse_line(line, &e), 1);
    assert_string_equal(e.name, "nvidia_p2p_page_cache");
    assert_true(e.objsize == 368 && e.pagesperslab == 2);
    (void)snprintf(line, sizeof(line), "%s", "x 1 2 3 4");
    assert_int_equal(slabinfo_parse_line(line, &e), -EINVAL);
    (void)snprintf(line, sizeof(line), "%s", "x 1 2 -3 4 5");
    assert_int_equal(slabinfo_parse_line(line, &e), -EINVAL);
}

static void
test_fds(void **state)
{
    const struct ctest_kv top2[] = { { "top", "2" }, { NULL, NULL } };
    const struct ctest_kv bad[] = { { "top", "-1" }, { NULL, NULL } };
    struct buf out;

    (void)state;
    assert_int_equal(ctest_run("fds", ROCKPIS, &out), 0);
    assert_value(&out, "soak_open_fds", 41 + 25 + 9 + 3);
    assert_value(&out, "soak_open_fds_processes", 4);
    assert_value(&out, "soak_process_open_fds{pid=\"1\",comm=\"systemd\"}", 41);
    assert_value(&out, "soak_process_open_fds{pid=\"401\",comm=\"png_temp_1w_out\"}", 3);
    buf_free(&out);
    assert_int_equal(ctest_run_conf("fds", ROCKPIS, top2, 2, &out), 0);
    assert_int_equal(ctest_count(&out, "soak_process_open_fds{"), 2);
    assert_value(&out, "soak_process_open_fds{pid=\"212\",comm=\"systemd-journal\"}", 25);
    assert_absent(&out, "soak_process_open_fds{pid=\"318\",comm=\"soakd\"}");
    assert_value(&out, "soak_open_fds", 78); /* the total still counts everyone */
    buf_free(&out);
    assert_int_equal(ctest_run_conf("fds", ROCKPIS, bad, 1, &out), -EINVAL);
    buf_free(&out);
    assert_int_equal(ctest_run("fds", MINIMAL, &out), -ENODATA);
    buf_free(&out);
    /* The real /proc: at least this process, with its own descriptors. */
    assert_int_equal(ctest_run("fds", "/", &out), 0);
    assert_true(ctest_value(&out, "soak_open_fds") >= 3);
    buf_free(&out);
}

static void
test_thermal(void **state)
{
    struct buf out;

    (void)state;
    assert_int_equal(ctest_run("thermal", ROCKPIS, &out), 0);
    assert_value(&out, "node_thermal_zone_temp{type=\"soc-thermal\",zone=\"0\"}", 48.125);
    assert_value(&out, "node_thermal_zone_temp{type=\"gpu-thermal\",zone=\"1\"}", -2.5);
    buf_free(&out);
    /* "hot" and an overflowing value: left out (not 0), error; the third zone kept, escaped. */
    assert_int_equal(ctest_run("thermal", BROKEN, &out), -EINVAL);
    assert_int_equal(ctest_count(&out, "node_thermal_zone_temp{"), 1);
    assert_value(&out, "node_thermal_zone_temp{type=\"\\\"quoted\\\"\",zone=\"2\"}", 41);
    buf_free(&out);
    assert_int_equal(ctest_run("thermal", MINIMAL, &out), -ENOENT);
    buf_free(&out);
}

static void
test_hwmon(void **state)
{
    struct buf out;

    (void)state;
    /* device -> ../../../thermal_zone0 under .../thermal/: node_exporter's chip naming. */
    assert_int_equal(ctest_run("hwmon", ROCKPIS, &out), 0);
    assert_value(&out, "node_hwmon_temp_celsius{chip=\"thermal_thermal_zone0\",sensor=\"temp1\"}",
                 48.125);
    buf_free(&out);
    /* Name cleaned, empty name falls back to hwmonN, bare temp3 file, bad values skipped. */
    assert_int_equal(ctest_run("hwmon", BROKEN, &out), 0);
    assert_value(&out, "node_hwmon_temp_celsius{chip=\"weird_chip\",sensor=\"temp1\"}", 40);
    assert_value(&out, "node_hwmon_temp_celsius{chip=\"hwmon1\",sensor=\"temp3\"}", 30.5);
    assert_int_equal(ctest_count(&out, "node_hwmon_temp_celsius{"), 2);
    buf_free(&out);
    assert_int_equal(ctest_run("hwmon", MINIMAL, &out), -ENOENT);
    buf_free(&out);
}

static void
test_hwmon_collisions(void **state)
{
    char dir[] = "/tmp/soak-hwmon-XXXXXX", cmd[2048];
    struct buf out;

    (void)state;
    assert_non_null(mkdtemp(dir));
    /* Two hwmon dirs under one device with the same name: told apart by hwmonN. Two more
     * under another device with different names: told apart by the name. */
    (void)snprintf(cmd, sizeof(cmd),
                   "set -e; cd %s; mkdir -p sys/class/hwmon; "
                   "for h in 2 3; do d=sys/devices/platform/dual/hwmon/hwmon$h; mkdir -p $d; "
                   "echo same > $d/name; echo 4${h}000 > $d/temp1_input; "
                   "ln -s ../../../dual $d/device; "
                   "ln -s ../../devices/platform/dual/hwmon/hwmon$h sys/class/hwmon/hwmon$h; "
                   "done; "
                   "for h in 5 6; do d=sys/devices/platform/nic/hwmon/hwmon$h; mkdir -p $d; "
                   "echo phy$h > $d/name; echo 3${h}500 > $d/temp2_input; "
                   "ln -s ../../../nic $d/device; "
                   "ln -s ../../devices/platform/nic/hwmon/hwmon$h sys/class/hwmon/hwmon$h; "
                   "done; ln -s ../../nowhere sys/class/hwmon/hwmon9",
                   dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(ctest_run("hwmon", dir, &out), 0);
    assert_value(&out, "node_hwmon_temp_celsius{chip=\"platform_dual_hwmon2\",sensor=\"temp1\"}",
                 42);
    assert_value(&out, "node_hwmon_temp_celsius{chip=\"platform_dual_hwmon3\",sensor=\"temp1\"}",
                 43);
    assert_value(&out, "node_hwmon_temp_celsius{chip=\"platform_nic_phy5\",sensor=\"temp2\"}",
                 35.5);
    assert_value(&out, "node_hwmon_temp_celsius{chip=\"platform_nic_phy6\",sensor=\"temp2\"}",
                 36.5);
    assert_int_equal(ctest_count(&out, "node_hwmon_temp_celsius{"), 4); /* dangling link skipped */
    buf_free(&out);
    (void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void
test_net(void **state)
{
    struct buf out;

    (void)state;
    assert_int_equal(ctest_run("net", ROCKPIS, &out), 0);
    assert_value(&out, "node_network_up{device=\"eth0\"}", 1);
    assert_value(&out, "node_network_up{device=\"wlan0\"}", 0);
    assert_value(&out, "node_network_carrier{device=\"eth0\"}", 1);
    assert_absent(&out, "node_network_carrier{device=\"wlan0\"}"); /* unreadable when down */
    assert_value(&out,
                 "soak_network_info{device=\"eth0\",operstate=\"up\","
                 "address=\"2a:e1:4c:33:05:9b\"}",
                 1);
    /* Under --root, no getifaddrs(): the host's addresses must not leak into a fixture. */
    assert_int_equal(ctest_count(&out, "soak_network_address_info"), 0);
    buf_free(&out);
    assert_int_equal(ctest_run("net", BROKEN, &out), 0);
    assert_value(&out, "node_network_up{device=\"we\\\"ird\\\\name\"}", 1);
    buf_free(&out);
    assert_int_equal(ctest_run("net", "/", &out), 0);
    assert_true(ctest_count(&out, "soak_network_address_info{device=\"lo\"") >= 1);
    buf_free(&out);
}

static void
test_build(void **state)
{
    const struct collector_ops *ops = collector_find("build");
    struct build_identity id;
    struct expo_writer w;
    struct buf out;
    void *ctx;

    (void)state;
    assert_int_equal(ctest_run("build", ROCKPIS, &out), 0);
    assert_value(&out,
                 "soak_build_info{build=\"6.17.6-yocto-standard 5.0.13\","
                 "kernel_release=\"6.17.6-yocto-standard\",os_version=\"5.0.13\",rauc_slot=\"A\","
                 "rauc_bundle_version=\"2025.11.24-6.17.6\",model=\"Radxa ROCK Pi S\"}",
                 1);
    assert_non_null(strstr(buf_str(&out), "node_uname_info{sysname=\"Linux\","
                                          "release=\"6.17.6-yocto-standard\""));
    assert_non_null(strstr(buf_str(&out), "machine=\"aarch64\",nodename=\"test-rockpis\""));
    assert_non_null(strstr(buf_str(&out), "image_version=\"2025.11.24-6.17\""));
    assert_non_null(strstr(buf_str(&out), "pretty_name=\"Poky (Yocto Project Reference Distro) "
                                          "5.0.13 (scarthgap)\""));
    buf_free(&out);

    /* A template, and the accessor for /info. */
    assert_int_equal(ops->init(&ctx), 0);
    assert_int_equal(build_identity_get(ctx, &id), -ENODATA);
    assert_int_equal(ops->configure(ctx, "build", "{image_version}/{rauc_slot}"), 0);
    assert_int_equal(ops->configure(ctx, "rauc_status_file", "relative"), -EINVAL);
    assert_int_equal(ops->configure(ctx, "nope", "x"), -ENOENT);
    buf_init(&out, 1 << 20);
    expo_writer_init(&w, &out, EXPO_PROMETHEUS);
    assert_int_equal(ops->read(ctx, ROCKPIS, &w), 0);
    assert_int_equal(build_identity_get(ctx, &id), 0);
    assert_string_equal(id.build, "2025.11.24-6.17/A");
    assert_string_equal(id.model, "Radxa ROCK Pi S");
    assert_string_equal(id.hostname, "test-rockpis");
    assert_string_equal(id.rauc_bundle_version, "2025.11.24-6.17.6");
    ops->fini(ctx);
    buf_free(&out);

    /* Broken os-release and a 5000-byte release: error, values bounded, NULs cut. */
    assert_int_equal(ctest_run("build", BROKEN, &out), -EINVAL);
    assert_non_null(strstr(buf_str(&out), "model=\"Model\""));
    assert_non_null(strstr(buf_str(&out), "version_id=\"5.0\""));
    buf_free(&out);
    assert_int_equal(ctest_run("build", MINIMAL, &out), -ENOENT);
    assert_int_equal(ctest_count(&out, "soak_build_info"), 0);
    buf_free(&out);
    /* The real root uses uname(2). */
    assert_true(ctest_run("build", "/", &out) <= 0);
    assert_non_null(strstr(buf_str(&out), "node_uname_info{sysname=\"Linux\""));
    buf_free(&out);
}

static void
test_osrelease_parse_line(void **state)
{
    char k[32], v[64];

    (void)state;
    assert_int_equal(osrelease_parse_line("NAME=\"Poky \\\"x\\\" \\$HOME\"", k, sizeof(k), v,
                                          sizeof(v)), 1);
    assert_string_equal(k, "NAME");
    assert_string_equal(v, "Poky \"x\" $HOME");
    assert_int_equal(osrelease_parse_line("V='a \\ b'", k, sizeof(k), v, sizeof(v)), 1);
    assert_string_equal(v, "a \\ b");
    assert_int_equal(osrelease_parse_line("ID=poky  # comment", k, sizeof(k), v, sizeof(v)), 1);
    assert_string_equal(v, "poky");
    assert_int_equal(osrelease_parse_line("X=a\\ b\"c d\"", k, sizeof(k), v, sizeof(v)), 1);
    assert_string_equal(v, "a bc d");
    assert_int_equal(osrelease_parse_line("  # c", k, sizeof(k), v, sizeof(v)), 0);
    assert_int_equal(osrelease_parse_line("", k, sizeof(k), v, sizeof(v)), 0);
    assert_int_equal(osrelease_parse_line("A=\"open", k, sizeof(k), v, sizeof(v)), -EINVAL);
    assert_int_equal(osrelease_parse_line("A=a b", k, sizeof(k), v, sizeof(v)), -EINVAL);
    assert_int_equal(osrelease_parse_line("=x", k, sizeof(k), v, sizeof(v)), -EINVAL);
    assert_int_equal(osrelease_parse_line("1A=x", k, sizeof(k), v, sizeof(v)), -EINVAL);
    assert_int_equal(osrelease_parse_line("A", k, sizeof(k), v, sizeof(v)), -EINVAL);
    /* Values longer than the buffer are cut, not overflowed. */
    assert_int_equal(osrelease_parse_line("A=0123456789", k, sizeof(k), v, 4), 1);
    assert_string_equal(v, "012");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slabinfo),
        cmocka_unit_test(test_slabinfo_broken),
        cmocka_unit_test(test_slabinfo_unreadable),
        cmocka_unit_test(test_slabinfo_drop_caches),
        cmocka_unit_test(test_slabinfo_parse_line),
        cmocka_unit_test(test_fds),
        cmocka_unit_test(test_thermal),
        cmocka_unit_test(test_hwmon),
        cmocka_unit_test(test_hwmon_collisions),
        cmocka_unit_test(test_net),
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_osrelease_parse_line),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
