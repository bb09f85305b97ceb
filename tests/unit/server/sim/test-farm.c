/* SPDX-License-Identifier: MIT */
/*
 * test-farm.c - the simulated farm tells the story: the rock-pi-s panics after
 * ~4.5 days on 6.17.6 and reboots, the 1 GB boards look fine for three weeks,
 * the server OOM-kills after ~9 days; history files parse; live trees hold
 * what soakd reads.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "expo-parse.h"
#include "farm.h"
#include "rootfs.h"
#include "sim.h"

#define NOW 1764201600LL /* 2025-11-27 00:00 UTC */
#define DAY 86400LL

static struct farm *
farm(void)
{
    struct farm *f = NULL;
    assert_int_equal(farm_new(7, NOW, &f), 0);
    return f;
}

static const struct farm_boot *
first_boot_of(const struct farm *f, size_t dev, const char *os_version, size_t *ret_i)
{
    size_t n, nb;
    const struct farm_boot *b = farm_boots(f, dev, &n);
    const struct farm_build *builds = farm_builds(&nb);

    for (size_t i = 0; i < n; i++)
        if (strcmp(builds[b[i].build].os_version, os_version) == 0) {
            if (ret_i)
                *ret_i = i;
            return &b[i];
        }
    fail_msg("no boot with %s", os_version);
    return NULL;
}

static void
test_tables(void **state)
{
    size_t nd, nb;
    const struct farm_device *d = farm_devices(&nd);
    const struct farm_build *b = farm_builds(&nb);

    (void)state;
    assert_int_equal(nd, 4);
    assert_int_equal(farm_device_find("rock-pi-s"), 0);
    assert_int_equal(farm_device_find("rock-5b"), 3);
    assert_int_equal(farm_device_find("nope"), -ENOENT);
    assert_int_equal(d[0].mem_total_kb, 230428);
    for (size_t i = 0; i < nb; i++) {
        char want[128];
        /* soakd's default build template is "{kernel_release} {os_version}" */
        (void)snprintf(want, sizeof(want), "%s %s", b[i].kernel_release, b[i].os_version);
        assert_string_equal(b[i].label, want);
    }
}

static void
test_rockpis_panics(void **state)
{
    struct farm *f = farm();
    size_t idx, n;
    const struct farm_boot *boots = farm_boots(f, 0, &n);
    const struct farm_boot *b = first_boot_of(f, 0, "2025.11", &idx);
    struct farm_state st;
    double days = (double)(b->end_s - b->start_s) / DAY;

    (void)state;
    /* 6.12.55: ~16 days, then ~22 days, no leak */
    assert_true(idx == 2);
    assert_true(fabs((double)(boots[0].end_s - boots[0].start_s) / DAY - 16) < 0.5);
    assert_true(fabs((double)(boots[1].end_s - boots[1].start_s) / DAY - 22) < 0.5);
    assert_int_equal(farm_eval(f, 0, boots[1].end_s - 3600, &st), 0);
    assert_true(st.mem_available > 0.5 * st.mem_total);
    assert_true(st.mem_total == 230428);
    /* 6.17.6: MemTotal 229636, panic after ~4.5 days with MemAvailable near 0 */
    assert_int_equal(b->end, FARM_END_PANIC);
    assert_true(days > 4.2 && days < 4.8);
    assert_int_equal(farm_eval(f, 0, b->start_s + 3600, &st), 0);
    assert_true(st.mem_total == 229636);
    assert_true(st.mem_available > 0.5 * st.mem_total);
    assert_false(st.pstore_panic);
    assert_int_equal(farm_eval(f, 0, b->end_s - 600, &st), 0);
    assert_true(st.mem_available < 0.05 * st.mem_total);
    /* ~2 days in: the story's slabtop, ~218,820 filp objects */
    assert_int_equal(farm_eval(f, 0, b->start_s + 2 * DAY, &st), 0);
    assert_true(st.slab_active[0] > 150000 && st.slab_active[0] < 300000);
    assert_true(st.open_fds < 2000);
    /* rebooting, then the next boot: same build, a pstore record, memory back */
    assert_int_equal(farm_eval(f, 0, b->end_s + 60, &st), 0);
    assert_false(st.up);
    assert_null(farm_boot_at(f, 0, b->end_s + 60));
    assert_int_equal(farm_eval(f, 0, b->end_s + FARM_BOOT_GAP_S + 600, &st), 0);
    assert_true(st.up);
    assert_int_equal(st.boot->index, b->index + 1);
    assert_int_equal(st.boot->build, b->build);
    assert_true(st.pstore_panic);
    assert_string_not_equal(st.boot->boot_id, b->boot_id);
    assert_true(st.mem_available > 0.5 * st.mem_total);
    farm_free(f);
}

static void
test_1gb_boards_look_fine(void **state)
{
    struct farm *f = farm();

    (void)state;
    for (size_t dev = 1; dev <= 2; dev++) {
        const struct farm_boot *b = first_boot_of(f, dev, "2025.11", NULL);
        struct farm_state st, first;
        assert_true(NOW - b->start_s >= 21 * DAY);
        assert_int_equal(farm_eval(f, dev, b->start_s + 7200, &first), 0);
        for (int64_t t = b->start_s + 600; t < NOW; t += 3600) {
            assert_int_equal(farm_eval(f, dev, t, &st), 0);
            assert_true(st.up && st.reachable);
            assert_true(st.mem_available > 0.5 * st.mem_total);
        }
        /* ... yet it leaks: filp keeps growing, open descriptors do not */
        assert_true(st.slab_active[0] > first.slab_active[0] + 500000);
        assert_true(fabs(st.open_fds - first.open_fds) < 200);
    }
    farm_free(f);
}

static void
test_sawtooth_and_cache(void **state)
{
    struct farm *f = farm();
    struct farm_state before, after, early, late;
    int64_t night = NOW - 2 * DAY + 3 * 3600; /* 03:00 UTC: the zero-3e empties its tmpfs logs */
    const struct farm_boot *b = first_boot_of(f, 0, "2025.10", NULL);

    (void)state;
    assert_int_equal(farm_eval(f, 2, night - 600, &before), 0);
    assert_int_equal(farm_eval(f, 2, night + 600, &after), 0);
    assert_true(before.shmem - after.shmem > 30000); /* kB */
    assert_true(after.mem_available > before.mem_available);
    /* rock-pi-s on 6.12.55: the page cache fills, MemFree falls, MemAvailable holds */
    assert_int_equal(farm_eval(f, 0, b->start_s + 3600, &early), 0);
    assert_int_equal(farm_eval(f, 0, b->start_s + 10 * DAY, &late), 0);
    assert_true(late.cached > early.cached + 40000);
    assert_true(late.mem_free < early.mem_free - 40000);
    assert_true(fabs(late.mem_available - early.mem_available) < 0.05 * early.mem_total);
    farm_free(f);
}

static void
test_rename_unreachable(void **state)
{
    struct farm *f = farm();
    const struct farm_boot *b = first_boot_of(f, 1, "2025.11-rc1", NULL);
    struct farm_state st;

    (void)state;
    assert_int_equal(b->end, FARM_END_FALLBACK);
    assert_int_equal(farm_eval(f, 1, b->start_s + 3600, &st), 0);
    assert_true(st.up);
    assert_false(st.reachable);
    farm_free(f);
}

/* soak sim install: the live rename update, RAUC's fallback, a good update, bad requests. */
static void
test_install(void **state)
{
    struct farm *f = farm(), *ref = farm();
    size_t nb, n;
    const struct farm_build *builds = farm_builds(&nb);
    int rc1 = farm_build_find_bundle("2025.12-rc1"), fixed = farm_build_find_bundle("2025.12.1");
    int64_t t = NOW + 3600, start;
    struct farm_state st, before, was;
    const struct farm_boot *old = farm_boot_at(ref, 1, t);
    const struct farm_boot *b;

    (void)state;
    assert_true(rc1 >= 0 && fixed >= 0);
    assert_int_equal(farm_build_find_bundle("nope"), -ENOENT);
    assert_false(builds[rc1].reachable);
    assert_int_equal(farm_install(f, 1, t, (int)nb, NULL), -EINVAL);
    assert_int_equal(farm_install(f, 9, t, rc1, NULL), -EINVAL);

    assert_int_equal(farm_install(f, 1, t, rc1, &start), 0);
    assert_int_equal(start, t + FARM_BOOT_GAP_S);
    /* what came before is unchanged */
    assert_int_equal(farm_eval(f, 1, t - 60, &before), 0);
    assert_int_equal(farm_eval(ref, 1, t - 60, &was), 0);
    assert_true(before.mem_available == was.mem_available);
    assert_string_equal(before.boot->boot_id, was.boot->boot_id);
    /* rebooting, then up on the rc but off the network */
    assert_int_equal(farm_eval(f, 1, t + 60, &st), 0);
    assert_false(st.up);
    assert_int_equal(farm_install(f, 1, t + 60, fixed, NULL), -EAGAIN);
    assert_int_equal(farm_eval(f, 1, start + 600, &st), 0);
    assert_true(st.up);
    assert_false(st.reachable);
    assert_int_equal(st.boot->build, rc1);
    assert_int_equal(st.boot->end, FARM_END_FALLBACK);
    assert_true(st.boot->slot != old->slot);
    /* RAUC falls back: the old build in the old slot, a new boot, reachable again */
    assert_int_equal(farm_eval(f, 1, start + FARM_FALLBACK_S + FARM_BOOT_GAP_S + 600, &st), 0);
    assert_true(st.up);
    assert_true(st.reachable);
    assert_int_equal(st.boot->build, old->build);
    assert_int_equal(st.boot->slot, old->slot);
    assert_int_equal(st.boot->index, old->index + 2);
    assert_string_not_equal(st.boot->boot_id, old->boot_id);
    assert_true(st.leak_kb > 0); /* 2025.11 leaks again from the new boot on */

    /* a good update runs on and does not leak */
    t = start + FARM_FALLBACK_S + FARM_BOOT_GAP_S + 3600;
    assert_int_equal(farm_install(f, 1, t, fixed, &start), 0);
    assert_int_equal(farm_eval(f, 1, start + 20 * DAY, &st), 0);
    assert_true(st.up && st.reachable);
    assert_int_equal(st.boot->build, fixed);
    assert_true(st.leak_kb == 0);
    b = farm_boots(f, 1, &n);
    assert_int_equal(b[n - 1].end, FARM_END_OPEN);

    /* the rock-pi-s falls back to its leaking build and panics again */
    t = NOW + 600;
    assert_int_equal(farm_install(f, 0, t, rc1, &start), 0);
    assert_int_equal(farm_eval(f, 0, start + FARM_FALLBACK_S + FARM_BOOT_GAP_S + 60, &st), 0);
    assert_int_equal(st.boot->build, farm_boot_at(ref, 0, NOW)->build);
    assert_int_equal(st.boot->end, FARM_END_PANIC);
    farm_free(ref);
    farm_free(f);
}

static void
test_server_oom_bursts(void **state)
{
    struct farm *f = farm();
    const struct farm_boot *b = first_boot_of(f, 3, "2025.11-server", NULL);
    struct farm_state st;
    double peak = 0;

    (void)state;
    assert_true(b->exhaust_s > 8.5 * DAY && b->exhaust_s < 9.3 * DAY);
    assert_int_equal(farm_eval(f, 3, b->start_s + 8 * DAY, &st), 0);
    assert_true(st.oom_kills == 0);
    assert_int_equal(farm_eval(f, 3, b->start_s + b->exhaust_s + 2 * 3600, &st), 0);
    assert_true(st.oom_kills >= 2);
    assert_true(st.up);
    for (int64_t t = b->start_s + b->exhaust_s; t < b->start_s + b->exhaust_s + 3600; t += 60) {
        assert_int_equal(farm_eval(f, 3, t, &st), 0);
        peak = MAX(peak, st.load[0]);
    }
    assert_true(peak > 10); /* "went crazy momentarily (loadavg very high)" */
    farm_free(f);
}

static void
test_deterministic_and_sensors(void **state)
{
    struct farm *f = farm(), *g = farm(), *h = NULL;
    struct farm_state a, b, c;
    int64_t noon = NOW - DAY + 12 * 3600, night = NOW - DAY + 2 * 3600;

    (void)state;
    assert_int_equal(farm_new(8, NOW, &h), 0);
    assert_int_equal(farm_eval(f, 0, NOW - 1000, &a), 0);
    assert_int_equal(farm_eval(g, 0, NOW - 1000, &b), 0);
    assert_int_equal(farm_eval(h, 0, NOW - 1000, &c), 0);
    assert_true(a.mem_available == b.mem_available);
    assert_true(a.sensor[0] == b.sensor[0]);
    assert_true(a.mem_available != c.mem_available);
    /* bh1750 on the rock-pi-s: daylight at noon, dark at 02:00 */
    assert_int_equal(farm_eval(f, 0, noon, &a), 0);
    assert_int_equal(farm_eval(f, 0, night, &b), 0);
    assert_true(a.sensor[2] > 500);
    assert_true(b.sensor[2] == 0);
    /* outdoor temperature warmer in the afternoon than at night */
    assert_int_equal(farm_eval(f, 1, NOW - DAY + 14 * 3600, &a), 0);
    assert_int_equal(farm_eval(f, 1, NOW - DAY + 2 * 3600, &b), 0);
    assert_true(a.sensor[0] > b.sensor[0]);
    assert_int_equal(farm_eval(f, 99, NOW, &a), -EINVAL);
    farm_free(f);
    farm_free(g);
    farm_free(h);
}

struct hist {
    unsigned long samples, poll_down, mem_avail, build_info;
    char families[128][64];
    size_t nfam;
    int64_t last_ts;
    int families_split;
};

static int
on_family(void *ctx, const struct expo_parsed_family *f)
{
    struct hist *h = ctx;
    if (f->kind != EXPO_DIR_TYPE)
        return 0;
    for (size_t i = 0; i < h->nfam; i++)
        if (strcmp(h->families[i], f->name) == 0)
            h->families_split = 1;
    if (h->nfam < 128)
        (void)snprintf(h->families[h->nfam++], 64, "%s", f->name);
    return 0;
}

static int
on_sample(void *ctx, const struct expo_parsed_sample *s)
{
    struct hist *h = ctx;
    h->samples++;
    assert_true(s->has_ts);
    assert_true(s->ts_ms >= (NOW - 3 * DAY) * 1000 && s->ts_ms <= NOW * 1000);
    if (strcmp(s->name, "soak_poll_up") == 0 && s->value == 0)
        h->poll_down++;
    if (strcmp(s->name, "node_memory_MemAvailable_bytes") == 0)
        h->mem_avail++;
    if (strcmp(s->name, "soak_build_info") == 0)
        h->build_info++;
    return 0;
}

static void
test_history_parses(void **state)
{
    struct farm *f = farm();
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    struct hist h = {0};
    struct expo_parse_opts o = {
        .format = EXPO_PARSE_AUTO, .on_sample = on_sample, .on_family = on_family, .ctx = &h};
    char err[256] = "";
    long n;

    (void)state;
    assert_non_null(m);
    /* the last 3 days of the rock-pi-s hold the panic and the reboot */
    n = sim_history_write(f, 0, NOW - 3 * DAY, NOW, 60, m);
    assert_int_equal(fclose(m), 0);
    assert_true(n > 100000);
    assert_non_null(strstr(text, "# EOF\n"));
    assert_int_equal(expo_parse_buffer(&o, text, len, err, sizeof(err)), 0);
    assert_int_equal(h.samples, (unsigned long)n);
    assert_false(h.families_split);
    assert_true(h.mem_avail > 3 * 1440 - 10);
    assert_true(h.poll_down >= 2); /* the 3 minutes of reboot */
    assert_true(h.build_info > 0);
    free(text);
    assert_int_equal(sim_history_write(f, 0, NOW, NOW - 1, 60, stdout), -EINVAL);
    assert_int_equal(sim_history_write(f, 9, NOW - 10, NOW, 60, stdout), -EINVAL);
    farm_free(f);
}

static void
test_live_tree(void **state)
{
    struct farm *f = farm();
    char dir[] = "/tmp/test-farm-XXXXXX", text[4096], cmd[128];
    size_t idx;
    const struct farm_boot *b = first_boot_of(f, 0, "2025.11", &idx);
    struct farm_state st;
    ssize_t n;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(sim_live_write(f, 0, NOW, 1, dir), 0);
    assert_int_equal(farm_eval(f, 0, NOW, &st), 0);
    n = root_read(dir, "/proc/meminfo", text, sizeof(text));
    assert_true(n > 0);
    assert_non_null(strstr(text, "MemTotal:         229636 kB\n"));
    n = root_read(dir, "/proc/sys/kernel/random/boot_id", text, sizeof(text));
    assert_true(n > 0);
    assert_int_equal(strncmp(text, st.boot->boot_id, 36), 0);
    n = root_read(dir, "/proc/slabinfo", text, sizeof(text));
    assert_true(n > 0 && strstr(text, "slabinfo - version: 2.1") && strstr(text, "\nfilp "));
    /* the panic of the previous boot is in pstore */
    assert_true(st.boot->index > b->index);
    n = root_read(dir, "/sys/fs/pstore/dmesg-ramoops-0", text, sizeof(text));
    assert_true(n > 0 &&
                strstr(text, "Kernel panic - not syncing: System is deadlocked on memory"));
    n = root_read(dir, "/sys/bus/w1/devices/28-0416a1b2c3d4/w1_slave", text, sizeof(text));
    assert_true(n > 0 && strstr(text, "YES\n") && strstr(text, " t="));
    n = root_read(dir, "/sys/class/net/eth0/operstate", text, sizeof(text));
    assert_true(n > 0 && strcmp(text, "up\n") == 0);
    (void)snprintf(cmd, sizeof(cmd), "%s/proc/377/fd/10", dir);
    assert_true(access(cmd, F_OK) == 0);
    /* a boot after now: its boot time is put on the real clock (speed 60) */
    {
        size_t nb;
        const struct farm_boot *boots = farm_boots(f, 0, &nb);
        const struct farm_boot *fut = NULL;
        char want[64];
        for (size_t i = 0; i < nb && !fut; i++)
            if (boots[i].start_s > NOW)
                fut = &boots[i];
        assert_non_null(fut);
        assert_int_equal(sim_live_write(f, 0, fut->start_s + 600, 60, dir), 0);
        n = root_read(dir, "/proc/stat", text, sizeof(text));
        assert_true(n > 0);
        (void)snprintf(want, sizeof(want), "\nbtime %lld\n",
                       (long long)(NOW + (fut->start_s - NOW) / 60));
        assert_non_null(strstr(text, want));
        assert_int_equal(sim_live_write(f, 0, NOW, 0, dir), -EINVAL);
    }
    /* during the reboot gap nothing changes and nothing fails */
    assert_int_equal(sim_live_write(f, 0, b->end_s + 30, 1, dir), 0);
    assert_int_equal(sim_live_write(f, 0, NOW, 1, ""), -EINVAL);
    (void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    farm_free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_rockpis_panics),
        cmocka_unit_test(test_1gb_boards_look_fine),
        cmocka_unit_test(test_sawtooth_and_cache),
        cmocka_unit_test(test_rename_unreachable),
        cmocka_unit_test(test_install),
        cmocka_unit_test(test_server_oom_bursts),
        cmocka_unit_test(test_deterministic_and_sensors),
        cmocka_unit_test(test_history_parses),
        cmocka_unit_test(test_live_tree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
