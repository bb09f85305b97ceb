/* SPDX-License-Identifier: MIT */
/* Unit tests of kmsg (record parser, follower, accessors), pstore and kmemleak. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector-test.h"
#include "kmsg.h"
#include "parsers.h"

#define ROCKPIS FIXTURES "/rockpis-6.17"
#define BROKEN FIXTURES "/broken"
#define MINIMAL FIXTURES "/minimal"

static void
test_kmsg_parse_record(void **state)
{
    struct kmsg_record r;
    char comm[8];
    uint64_t pid;

    (void)state;
    assert_int_equal(kmsg_parse_record("6,339,5140900,-;NET: Registered", &r), 0);
    assert_int_equal(r.level, 6);
    assert_true(r.seq == 339 && r.usec == 5140900);
    assert_string_equal(r.text, "NET: Registered");
    assert_int_equal(kmsg_parse_record("12,1,2,-,caller=T1;user", &r), 0);
    assert_int_equal(r.level, 4);
    assert_int_equal(r.facility, 1);
    assert_int_equal(kmsg_parse_record("6,1,2;no flags", &r), 0);
    assert_int_equal(kmsg_parse_record("6,1;short", &r), -EINVAL);
    assert_int_equal(kmsg_parse_record("a,1,2,-;x", &r), -EINVAL);
    assert_int_equal(kmsg_parse_record("no prefix", &r), -EINVAL);
    assert_int_equal(kmsg_parse_record("6,99999999999999999999999,2,-;x", &r), -EINVAL);

    assert_int_equal(kmsg_parse_oom_kill("Out of memory: Killed process 3053441 (convert) "
                                         "total-vm:20760kB", &pid, comm, sizeof(comm)), 1);
    assert_true(pid == 3053441);
    assert_string_equal(comm, "convert");
    /* Cut to the buffer. */
    assert_int_equal(kmsg_parse_oom_kill("Killed process 1 (png_shelly_humi) total-vm:1kB", &pid,
                                         comm, sizeof(comm)), 1);
    assert_string_equal(comm, "png_she");
    assert_int_equal(kmsg_parse_oom_kill("Killed process x (a)", &pid, comm, sizeof(comm)), 0);
    assert_int_equal(kmsg_parse_oom_kill("Killed process 5 (open", &pid, comm, sizeof(comm)), 0);
    assert_int_equal(kmsg_parse_oom_kill("oom_reaper: reaped process 5 (a)", &pid, comm,
                                         sizeof(comm)), 0);
}

struct lines {
    int n;
    char last[KMSG_LINE_MAX];
    char first[KMSG_LINE_MAX];
};

static void
collect_line(void *userdata, const char *line)
{
    struct lines *l = userdata;

    if (l->n++ == 0)
        (void)snprintf(l->first, sizeof(l->first), "%s", line);
    (void)snprintf(l->last, sizeof(l->last), "%s", line);
}

static void
test_kmsg(void **state)
{
    struct buf out;

    (void)state;
    assert_int_equal(ctest_run("kmsg", ROCKPIS, &out), 0);
    assert_value(&out, "soak_kmsg_oom_kills_total", 3);
    assert_value(&out, "soak_kmsg_panics_total", 1); /* not twice: the "end" line is no panic */
    assert_value(&out, "soak_kmsg_warnings_total", 1);
    assert_value(&out, "soak_kmsg_garbled_total", 1);
    assert_value(&out, "soak_kmsg_last_oom_kill_info{pid=\"2247\",comm=\"(sd-pam)\"}", 1);
    buf_free(&out);
    assert_int_equal(ctest_run("kmsg", BROKEN, &out), 0);
    assert_value(&out, "soak_kmsg_oom_kills_total", 1);
    assert_value(&out, "soak_kmsg_garbled_total", 2);
    assert_value(&out, "soak_kmsg_last_oom_kill_info{pid=\"12\",comm=\"victim\"}", 1);
    buf_free(&out);
    /* No log: an error and no counters pretending to be 0. */
    assert_int_equal(ctest_run("kmsg", MINIMAL, &out), -ENOENT);
    assert_int_equal(out.len, 0);
    buf_free(&out);
}

static void
test_kmsg_follow(void **state)
{
    const struct collector_ops *ops = collector_find("kmsg");
    char dir[] = "/tmp/soak-kmsg-XXXXXX", path[256], comm[32];
    struct lines l = { 0 };
    struct expo_writer w;
    struct buf out;
    uint64_t pid;
    void *ctx;
    int fd;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(path, sizeof(path), "%s/dev", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    (void)snprintf(path, sizeof(path), "%s/dev/kmsg", dir);
    fd = open(path, O_CREAT | O_WRONLY | O_APPEND, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "6,1,1,-;first\n", 14), 14);

    assert_int_equal(ops->init(&ctx), 0);
    assert_int_equal(ops->configure(ctx, "lines", "3"), 0);
    assert_int_equal(ops->start(ctx, dir), 0);
    assert_int_equal(kmsg_last_oom_kill(ctx, &pid, comm, sizeof(comm)), 0);
    buf_init(&out, 1 << 20);
    expo_writer_init(&w, &out, EXPO_PROMETHEUS);
    assert_int_equal(ops->read(ctx, dir, &w), 0);
    assert_value(&out, "soak_kmsg_records_total", 1);

    /* Lines appended later are picked up; a half-written line waits for its newline. */
    {
        static const char more[] = "3,2,2,-;Out of memory: Killed process 9 (leaky) total-vm:1kB\n"
                                   "6,3,3,-;x\n6,4,4,-;y\n6,5,5,-;hal";
        assert_int_equal(write(fd, more, strlen(more)), (ssize_t)strlen(more));
    }
    buf_reset(&out);
    expo_writer_init(&w, &out, EXPO_PROMETHEUS);
    assert_int_equal(ops->read(ctx, dir, &w), 0);
    assert_value(&out, "soak_kmsg_records_total", 4);
    assert_value(&out, "soak_kmsg_oom_kills_total", 1);
    assert_int_equal(write(fd, "f\n", 2), 2);
    buf_reset(&out);
    expo_writer_init(&w, &out, EXPO_PROMETHEUS);
    assert_int_equal(ops->read(ctx, dir, &w), 0);
    assert_value(&out, "soak_kmsg_records_total", 5);

    assert_int_equal(kmsg_last_oom_kill(ctx, &pid, comm, sizeof(comm)), 1);
    assert_true(pid == 9);
    assert_string_equal(comm, "leaky");
    /* The ring keeps the last 3 lines, oldest first. */
    assert_int_equal(kmsg_last_lines(ctx, collect_line, &l), 3);
    assert_string_equal(l.first, "x");
    assert_string_equal(l.last, "half");
    ops->fini(ctx);
    buf_free(&out);
    close(fd);
    assert_int_equal(unlink(path), 0);
    (void)snprintf(path, sizeof(path), "%s/dev", dir);
    assert_int_equal(rmdir(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void
test_pstore(void **state)
{
    struct buf out;

    (void)state;
    assert_int_equal(ctest_run_conf("pstore", ROCKPIS, NULL, 2, &out), 0);
    assert_value(&out, "soak_pstore_records{type=\"dmesg\"}", 1);
    assert_value(&out, "soak_pstore_records{type=\"console\"}", 1);
    assert_value(&out, "soak_pstore_records{type=\"pmsg\"}", 1);
    assert_value(&out, "soak_pstore_panic", 1);
    assert_value(&out, "soak_pstore_panic_info{reason=\"System is deadlocked on memory\"}", 1);
    buf_free(&out);
    /* A compressed record is counted, not parsed; a stray file is not a record. */
    assert_int_equal(ctest_run("pstore", BROKEN, &out), 0);
    assert_value(&out, "soak_pstore_records{type=\"dmesg\"}", 2);
    assert_value(&out, "soak_pstore_panic", 0);
    assert_int_equal(ctest_count(&out, "soak_pstore_records{type=\"noseparator\"}"), 0);
    assert_int_equal(ctest_count(&out, "soak_pstore_panic_info"), 0);
    buf_free(&out);
    assert_int_equal(ctest_run("pstore", MINIMAL, &out), -ENOENT);
    buf_free(&out);
}

static void
test_kmemleak(void **state)
{
    const struct ctest_kv kv[] = { { "top", "1" }, { "scan_interval", "10m" }, { NULL, NULL } };
    const struct collector_ops *ops = collector_find("kmemleak");
    struct buf out;

    (void)state;
    assert_true(ops->flags & COLLECTOR_DEFAULT_OFF);
    assert_true(ops->flags & COLLECTOR_SLOW);
    assert_int_equal(ctest_run("kmemleak", ROCKPIS, &out), 0);
    assert_value(&out, "soak_kmemleak_readable", 1);
    assert_value(&out, "soak_kmemleak_unreferenced_objects", 4);
    assert_value(&out, "soak_kmemleak_unreferenced_bytes", 768);
    assert_value(&out, "soak_kmemleak_backtraces", 3);
    assert_value(&out,
                 "soak_kmemleak_site_objects{site=\"alloc_empty_file\",caller=\"path_openat\","
                 "type=\"struct file\"}",
                 3);
    assert_value(&out, "soak_kmemleak_site_bytes{site=\"prepare_creds\",caller=\"copy_creds\","
                       "type=\"struct cred\"}", 192);
    /* Under --root the report is never written to (no "scan"). */
    assert_int_equal(ctest_count(&out, "soak_kmemleak_scans_total"), 0);
    buf_free(&out);
    assert_int_equal(ctest_run_conf("kmemleak", ROCKPIS, kv, 2, &out), 0);
    assert_int_equal(ctest_count(&out, "soak_kmemleak_site_objects{"), 1);
    buf_free(&out);
    assert_int_equal(ctest_run("kmemleak", BROKEN, &out), -EINVAL);
    assert_value(&out, "soak_kmemleak_readable", 1);
    buf_free(&out);
    assert_int_equal(ctest_run("kmemleak", MINIMAL, &out), -ENOENT);
    assert_value(&out, "soak_kmemleak_readable", 0);
    assert_int_equal(ctest_count(&out, "soak_kmemleak_unreferenced"), 0);
    buf_free(&out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kmsg_parse_record),
        cmocka_unit_test(test_kmsg),
        cmocka_unit_test(test_kmsg_follow),
        cmocka_unit_test(test_pstore),
        cmocka_unit_test(test_kmemleak),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
