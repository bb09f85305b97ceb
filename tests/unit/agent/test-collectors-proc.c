/* SPDX-License-Identifier: MIT */
/* Unit tests of the /proc collectors: meminfo, load, uptime, filefd, vmstat, and the registry. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector-test.h"
#include "parsers.h"
#include "procfile.h"

#define ROCKPIS FIXTURES "/rockpis-6.17"
#define BROKEN FIXTURES "/broken"
#define MINIMAL FIXTURES "/minimal"
#define NOWHERE FIXTURES "/does-not-exist"

static void
test_registry(void **state)
{
    (void)state;
    assert_non_null(collector_find("meminfo"));
    assert_null(collector_find("nope"));
    for (size_t i = 0; collector_registry[i]; i++) {
        const struct collector_ops *o = collector_registry[i];

        assert_non_null(o->name);
        assert_non_null(o->init);
        assert_non_null(o->read);
        assert_non_null(o->fini);
        assert_ptr_equal(collector_find(o->name), o);
        o->fini(NULL); /* destructors accept NULL */
    }
}

static void
test_meminfo(void **state)
{
    struct buf out;

    (void)state;
    assert_int_equal(ctest_run("meminfo", ROCKPIS, &out), 0);
    assert_value(&out, "node_memory_MemTotal_bytes", 229636.0 * 1024);
    assert_value(&out, "node_memory_SUnreclaim_bytes", 133024.0 * 1024);
    assert_value(&out, "node_memory_Active_anon_bytes", 17516.0 * 1024);
    assert_value(&out, "node_memory_HugePages_Total", 0);
    assert_value(&out, "node_memory_VmallocTotal_bytes", 133141626880.0 * 1024);
    /* Every field, generically: 56 lines in the fixture. */
    assert_int_equal(ctest_count(&out, "node_memory_"), 56);
    assert_non_null(strstr(buf_str(&out), "# TYPE node_memory_MemAvailable_bytes gauge\n"));
    buf_free(&out);
}

static void
test_meminfo_broken(void **state)
{
    struct buf out;

    (void)state;
    /* Garbled value, unknown unit, duplicate, truncated last line: error, rest kept. */
    assert_int_equal(ctest_run("meminfo", BROKEN, &out), -EINVAL);
    assert_value(&out, "node_memory_MemTotal_bytes", 229636.0 * 1024);
    assert_value(&out, "node_memory_Active_anon_bytes", 17516.0 * 1024); /* first one wins */
    assert_absent(&out, "node_memory_MemFree_bytes");
    assert_absent(&out, "node_memory_BogusUnit_bytes");
    assert_int_equal(ctest_count(&out, "node_memory_Active_anon_bytes "), 1);
    /* The truncated "MemAvailable: 314" has no unit: kept as a unit-less field. */
    buf_free(&out);
    assert_int_equal(ctest_run("meminfo", NOWHERE, &out), -ENOENT);
    assert_int_equal(out.len, 0);
    buf_free(&out);
}

static void
test_meminfo_parse_line(void **state)
{
    char line[128], name[EXPO_NAME_MAX + 1];
    double v;

    (void)state;
    (void)snprintf(line, sizeof(line), "%s", "Inactive(file):    14124 kB");
    assert_int_equal(meminfo_parse_line(line, name, sizeof(name), &v), 0);
    assert_string_equal(name, "node_memory_Inactive_file_bytes");
    assert_true(v == 14124.0 * 1024);
    (void)snprintf(line, sizeof(line), "%s", "HugePages_Free:        7");
    assert_int_equal(meminfo_parse_line(line, name, sizeof(name), &v), 0);
    assert_string_equal(name, "node_memory_HugePages_Free");
    (void)snprintf(line, sizeof(line), "%s", "MemTotal: 18446744073709551616 kB");
    assert_int_equal(meminfo_parse_line(line, name, sizeof(name), &v), -EINVAL);
    (void)snprintf(line, sizeof(line), "%s", ": 5 kB");
    assert_int_equal(meminfo_parse_line(line, name, sizeof(name), &v), -EINVAL);
    (void)snprintf(line, sizeof(line), "%s", "MemTotal: 5 kB extra");
    assert_int_equal(meminfo_parse_line(line, name, sizeof(name), &v), -EINVAL);
    (void)snprintf(line, sizeof(line), "%s", "((())): 5 kB");
    assert_int_equal(meminfo_parse_line(line, name, sizeof(name), &v), -EINVAL);
}

static void
test_load(void **state)
{
    struct buf out;

    (void)state;
    assert_int_equal(ctest_run("load", ROCKPIS, &out), 0);
    assert_value(&out, "node_load1", 3.42);
    assert_value(&out, "node_load5", 2.87);
    assert_value(&out, "node_load15", 2.51);
    buf_free(&out);
    assert_int_equal(ctest_run("load", BROKEN, &out), -EINVAL);
    assert_int_equal(out.len, 0);
    buf_free(&out);
    assert_int_equal(ctest_run("load", MINIMAL, &out), -ENOENT);
    buf_free(&out);
}

static void
test_uptime(void **state)
{
    struct buf out;

    (void)state;
    assert_int_equal(ctest_run("uptime", ROCKPIS, &out), 0);
    assert_value(&out, "node_boot_time_seconds", 1764121187);
    assert_value(&out, "soak_uptime_seconds", 389412.37);
    assert_value(&out, "soak_boot_info{boot_id=\"5c1e9a2b-7d43-4f0e-9b1a-2c3d4e5f6a7b\"}", 1);
    assert_true(ctest_value(&out, "node_time_seconds") > 1.7e9);
    buf_free(&out);
    /* btime garbled, uptime empty, boot id not a UUID: error; the wall time still there. */
    assert_int_equal(ctest_run("uptime", BROKEN, &out), -EINVAL);
    assert_absent(&out, "node_boot_time_seconds");
    assert_absent(&out, "soak_uptime_seconds");
    assert_int_equal(ctest_count(&out, "soak_boot_info"), 0);
    assert_true(ctest_value(&out, "node_time_seconds") > 1.7e9);
    buf_free(&out);
    assert_int_equal(ctest_run("uptime", MINIMAL, &out), -ENOENT);
    buf_free(&out);
}

static void
test_filefd(void **state)
{
    struct buf out;

    (void)state;
    assert_int_equal(ctest_run("filefd", ROCKPIS, &out), 0);
    assert_value(&out, "node_filefd_allocated", 219648);
    assert_value(&out, "node_filefd_maximum", 22422);
    buf_free(&out);
    assert_int_equal(ctest_run("filefd", BROKEN, &out), -EINVAL);
    assert_int_equal(out.len, 0);
    buf_free(&out);
}

static void
test_vmstat(void **state)
{
    struct buf out;

    (void)state;
    assert_int_equal(ctest_run("vmstat", ROCKPIS, &out), 0);
    assert_value(&out, "node_vmstat_oom_kill", 0);
    assert_value(&out, "node_vmstat_pgmajfault", 60211);
    assert_value(&out, "node_vmstat_nr_slab_unreclaimable", 33256);
    assert_non_null(strstr(buf_str(&out), "# TYPE node_vmstat_oom_kill untyped\n"));
    /* The default set: node_exporter's (oom_kill, pgpg*, pswp*, pg*fault) + slab counters. */
    assert_absent(&out, "node_vmstat_nr_dirty");
    {
        int n_default = ctest_count(&out, "node_vmstat_");
        const struct ctest_kv all[] = {{"fields", "*"}, {NULL, NULL}};
        const struct ctest_kv two[] = {{"fields", "oom_kill, nr_dirty"}, {NULL, NULL}};
        const struct ctest_kv none[] = {{"fields", "  "}, {NULL, NULL}};

        assert_true(n_default > 0 && n_default < 46);
        buf_free(&out);
        assert_int_equal(ctest_run_conf("vmstat", ROCKPIS, all, 1, &out), 0);
        assert_int_equal(ctest_count(&out, "node_vmstat_"), 46);
        buf_free(&out);
        assert_int_equal(ctest_run_conf("vmstat", ROCKPIS, two, 1, &out), 0);
        assert_int_equal(ctest_count(&out, "node_vmstat_"), 2);
        buf_free(&out);
        assert_int_equal(ctest_run_conf("vmstat", ROCKPIS, none, 1, &out), -EINVAL);
    }
    buf_free(&out);
    /* Overflowing number and a 3000-byte line are errors; the odd name is sanitised. */
    {
        const struct ctest_kv all[] = {{"fields", "*"}, {NULL, NULL}};
        assert_int_equal(ctest_run_conf("vmstat", BROKEN, all, 1, &out), -EINVAL);
    }
    assert_absent(&out, "node_vmstat_oom_kill");
    assert_value(&out, "node_vmstat_pgmajfault", 60211);
    assert_int_equal(ctest_count(&out, "node_vmstat_pgmajfault "), 1);
    assert_value(&out, "node_vmstat_weird_name", 5);
    assert_value(&out, "node_vmstat_nr_free_pages", 3011);
    buf_free(&out);
}

static void
test_run_twice(void **state)
{
    struct buf out;

    (void)state;
    /* No hidden state: a second read gives the same output. */
    for (size_t i = 0; i < 5; i++) {
        const char *names[] = { "meminfo", "load", "filefd", "vmstat", "uptime" };
        assert_int_equal(ctest_run_conf(names[i], ROCKPIS, NULL, 3, &out), 0);
        assert_true(out.len > 0);
        buf_free(&out);
    }
}

static void
test_procfile_lines(void **state)
{
    char buf[16], *line;
    struct procfile pf;
    size_t len;
    int p[2];

    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "ab\n0123456789abcdefghij\nlast\0x", 30), 30);
    close(p[1]);
    procfile_init(&pf, buf, sizeof(buf));
    procfile_fdopen(&pf, p[0]);
    assert_int_equal(procfile_next(&pf, &line, &len), 1);
    assert_string_equal(line, "ab");
    assert_int_equal(procfile_next(&pf, &line, &len), 1);
    assert_int_equal(len, 15); /* cut to the buffer */
    assert_int_equal(procfile_next(&pf, &line, &len), 1);
    assert_string_equal(line, "last x"); /* NUL became a blank, no final newline */
    assert_int_equal(procfile_next(&pf, &line, &len), 0);
    assert_int_equal(pf.long_lines, 1);
    assert_int_equal(pf.nul_bytes, 1);
    procfile_close(&pf);
    procfile_close(&pf);
}

static void
test_procfile_split(void **state)
{
    char line[64] = "  a\tbb   c  ", *f[2];

    (void)state;
    assert_int_equal(procfile_split(line, f, 2), 3);
    assert_string_equal(f[0], "a");
    assert_string_equal(f[1], "bb");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_meminfo),
        cmocka_unit_test(test_meminfo_broken),
        cmocka_unit_test(test_meminfo_parse_line),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_uptime),
        cmocka_unit_test(test_filefd),
        cmocka_unit_test(test_vmstat),
        cmocka_unit_test(test_run_twice),
        cmocka_unit_test(test_procfile_lines),
        cmocka_unit_test(test_procfile_split),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
