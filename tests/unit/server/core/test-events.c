/* SPDX-License-Identifier: MIT */
/* Unit tests of src/server/core/events.c: the pure event derivation. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "events.h"

#define S(k, v) ((struct events_sample){(k), (v)})

static void
clear(struct store_event_array *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->e[i].subject);
        free(a->e[i].detail);
    }
    a->n = 0;
}

static void
release(struct store_event_array *a)
{
    clear(a);
    free(a->e);
    a->e = NULL;
    a->cap = 0;
}

static void
test_baseline_then_reboot(void **state)
{
    struct events_state st;
    struct store_event_array out = {0};
    struct events_sample b1[] = {
        S("soak_boot_info{boot_id=\"aaa\"}", 1),
        S("soak_build_info{build=\"6.12.55\",kernel_release=\"6.12.55\"}", 1),
        S("node_vmstat_oom_kill", 3),
        S("node_memory_MemFree_bytes", 1e8),
    };
    struct events_sample b2[] = {
        S("soak_boot_info{boot_id=\"bbb\"}", 1),
        S("soak_build_info{build=\"6.12.55\",kernel_release=\"6.12.55\"}", 1),
        S("node_vmstat_oom_kill", 0),
    };
    struct events_sample b3[] = {
        S("soak_boot_info{boot_id=\"ccc\"}", 1),
        S("soak_build_info{build=\"6.17.6\",kernel_release=\"6.17.6\"}", 1),
        S("node_vmstat_oom_kill", 2),
    };

    (void)state;
    events_state_init(&st);
    /* First contact: baseline only (OOM kills of the past are not news). */
    assert_int_equal(events_scrape(&st, 1000, b1, 4, 1, &out), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(events_scrape(&st, 2000, b1, 4, 1, &out), 0);
    /* New boot id, same build: an unexpected reboot (value 0); the counter reset is no kill. */
    assert_int_equal(events_scrape(&st, 3000, b2, 3, 1, &out), 1);
    assert_int_equal(out.e[0].kind, EVENT_REBOOT);
    assert_int_equal(out.e[0].t_ms, 3000);
    assert_string_equal(out.e[0].subject, "bbb");
    assert_true(out.e[0].value == 0);
    clear(&out);
    /* New build and boot: build change, expected reboot, and 2 kills since the reset. */
    assert_int_equal(events_scrape(&st, 4000, b3, 3, 1, &out), 3);
    assert_int_equal(out.e[0].kind, EVENT_BUILD_CHANGE);
    assert_string_equal(out.e[0].subject, "6.17.6");
    assert_string_equal(out.e[0].detail, "6.12.55");
    assert_int_equal(out.e[1].kind, EVENT_REBOOT);
    assert_true(out.e[1].value == 1);
    assert_int_equal(out.e[2].kind, EVENT_OOM_KILL);
    assert_true(out.e[2].value == 2);
    release(&out);
    events_state_done(&st);
}

static void
test_boot_time(void **state)
{
    struct events_state st;
    struct store_event_array out = {0};
    struct events_sample a = S("node_boot_time_seconds", 1700000000);
    struct events_sample b = S("node_boot_time_seconds", 1700000002); /* jitter */
    struct events_sample c = S("node_boot_time_seconds", 1700090000);

    (void)state;
    events_state_init(&st);
    assert_int_equal(events_scrape(&st, 1, &a, 1, 1, &out), 0);
    assert_int_equal(events_scrape(&st, 2, &b, 1, 1, &out), 0);
    assert_int_equal(events_scrape(&st, 3, &c, 1, 1, &out), 1);
    assert_int_equal(out.e[0].kind, EVENT_REBOOT);
    assert_string_equal(out.e[0].subject, "1700090000");
    release(&out);
    events_state_done(&st);
}

static void
test_oom_counters(void **state)
{
    struct events_state st;
    struct store_event_array out = {0};
    struct events_sample s[2];

    (void)state;
    events_state_init(&st);
    s[0] = S("node_vmstat_oom_kill", 5);
    s[1] = S("soak_kmsg_oom_kills_total", 1);
    assert_int_equal(events_scrape(&st, 1, s, 2, 1, &out), 0);
    /* Both counters see the same kill: one event, the larger increase. */
    s[0] = S("node_vmstat_oom_kill", 6);
    s[1] = S("soak_kmsg_oom_kills_total", 2);
    assert_int_equal(events_scrape(&st, 2, s, 2, 1, &out), 1);
    assert_int_equal(out.e[0].kind, EVENT_OOM_KILL);
    assert_true(out.e[0].value == 1);
    clear(&out);
    /* Steady: nothing. A reset without a known reboot counts the new value. */
    assert_int_equal(events_scrape(&st, 3, s, 2, 1, &out), 0);
    s[0] = S("node_vmstat_oom_kill", 0);
    s[1] = S("soak_kmsg_oom_kills_total", 0);
    assert_int_equal(events_scrape(&st, 4, s, 2, 1, &out), 0);
    s[0] = S("node_vmstat_oom_kill", 3);
    assert_int_equal(events_scrape(&st, 5, s, 1, 1, &out), 1);
    assert_true(out.e[0].value == 3);
    release(&out);
    events_state_done(&st);
}

static void
test_panic_once_per_boot(void **state)
{
    struct events_state st;
    struct store_event_array out = {0};
    struct events_sample s[2];

    (void)state;
    events_state_init(&st);
    s[0] = S("soak_boot_info{boot_id=\"b1\"}", 1);
    s[1] = S("soak_pstore_records{type=\"dmesg\"}", 0);
    assert_int_equal(events_scrape(&st, 1, s, 2, 1, &out), 0);
    /* The board panics and comes back: a reboot and, on the new boot, the pstore record. */
    s[0] = S("soak_boot_info{boot_id=\"b2\"}", 1);
    s[1] = S("soak_pstore_records{type=\"dmesg\"}", 1);
    assert_int_equal(events_scrape(&st, 2, s, 2, 1, &out), 2);
    assert_int_equal(out.e[0].kind, EVENT_REBOOT);
    assert_int_equal(out.e[1].kind, EVENT_PANIC);
    clear(&out);
    /* Same record on later polls, and after a clean reboot that kept it: no new panic. */
    assert_int_equal(events_scrape(&st, 3, s, 2, 1, &out), 0);
    s[0] = S("soak_boot_info{boot_id=\"b3\"}", 1);
    assert_int_equal(events_scrape(&st, 4, s, 2, 1, &out), 1);
    assert_int_equal(out.e[0].kind, EVENT_REBOOT);
    clear(&out);
    /* A second panic adds a record. */
    s[0] = S("soak_boot_info{boot_id=\"b4\"}", 1);
    s[1] = S("soak_pstore_records{type=\"dmesg\"}", 2);
    assert_int_equal(events_scrape(&st, 5, s, 2, 1, &out), 2);
    assert_int_equal(out.e[1].kind, EVENT_PANIC);
    /* Other pstore types are no panic. */
    clear(&out);
    s[1] = S("soak_pstore_records{type=\"console\"}", 5);
    assert_int_equal(events_scrape(&st, 6, s, 2, 1, &out), 0);
    release(&out);
    events_state_done(&st);
}

static void
test_sensors(void **state)
{
    struct events_state st;
    struct store_event_array out = {0};
    struct events_sample s[2];

    (void)state;
    events_state_init(&st);
    s[0] = S("soak_sensor_up{sensor=\"sht30-in\"}", 1);
    s[1] = S("soak_sensor_up{sensor=\"bh1750\"}", 1);
    assert_int_equal(events_scrape(&st, 1, s, 2, 1, &out), 0);
    s[1] = S("soak_sensor_up{sensor=\"bh1750\"}", 0);
    assert_int_equal(events_scrape(&st, 2, s, 2, 1, &out), 1);
    assert_int_equal(out.e[0].kind, EVENT_SENSOR_LOST);
    assert_string_equal(out.e[0].subject, "bh1750");
    clear(&out);
    assert_int_equal(events_scrape(&st, 3, s, 2, 1, &out), 0); /* still down: once */
    s[1] = S("soak_sensor_up{sensor=\"bh1750\"}", 1);
    assert_int_equal(events_scrape(&st, 4, s, 2, 1, &out), 1);
    assert_int_equal(out.e[0].kind, EVENT_SENSOR_BACK);
    clear(&out);
    /* Vanishing from a complete scrape is a loss; from a partial batch it is not. */
    assert_int_equal(events_scrape(&st, 5, s, 1, 0, &out), 0);
    assert_int_equal(events_scrape(&st, 6, s, 1, 1, &out), 1);
    assert_int_equal(out.e[0].kind, EVENT_SENSOR_LOST);
    assert_string_equal(out.e[0].subject, "bh1750");
    release(&out);
    events_state_done(&st);
}

static void
test_ifaces(void **state)
{
    struct events_state st;
    struct store_event_array out = {0};
    struct events_sample s[3] = {
        S("node_network_up{device=\"eth0\"}", 1),
        S("node_network_up{device=\"wlan0\"}", 1),
        S("node_network_up{device=\"lo\"}", 0),
    };

    (void)state;
    events_state_init(&st);
    assert_int_equal(events_scrape(&st, 1, s, 3, 1, &out), 0);
    assert_int_equal(events_scrape(&st, 2, s, 3, 1, &out), 0);
    /* The story: an interface is renamed after an update and does not come up. */
    s[0] = S("node_network_up{device=\"end0\"}", 0);
    assert_int_equal(events_scrape(&st, 3, s, 3, 1, &out), 1);
    assert_int_equal(out.e[0].kind, EVENT_IFACE_CHANGE);
    assert_string_equal(out.e[0].subject, "-eth0");
    assert_string_equal(out.e[0].detail, "up: wlan0 (was eth0,wlan0)");
    release(&out);
    events_state_done(&st);
}

static void
test_reachability(void **state)
{
    struct events_state st;
    struct store_event_array out = {0};

    (void)state;
    events_state_init(&st);
    assert_int_equal(events_poll_ok(&st, 1000, &out), 0);
    assert_int_equal(events_poll_failed(&st, 61000, "connection refused", &out), 1);
    assert_int_equal(events_poll_failed(&st, 121000, "connection refused", &out), 0);
    assert_int_equal(events_poll_ok(&st, 181000, &out), 1);
    assert_int_equal(out.n, 2);
    assert_int_equal(out.e[0].kind, EVENT_UNREACHABLE);
    assert_string_equal(out.e[0].detail, "connection refused");
    assert_int_equal(out.e[1].kind, EVENT_REACHABLE);
    assert_true(out.e[1].value == 120);
    release(&out);
    events_state_done(&st);
}

static void
test_state_json(void **state)
{
    struct events_state st, back;
    struct store_event_array out = {0};
    struct events_sample s[4] = {
        S("soak_boot_info{boot_id=\"b1\"}", 1),
        S("soak_sensor_up{sensor=\"ds18b20\"}", 1),
        S("node_network_up{device=\"eth0\"}", 1),
        S("node_vmstat_oom_kill", 4),
    };
    char *json = NULL;

    (void)state;
    events_state_init(&st);
    events_state_init(&back);
    assert_int_equal(events_scrape(&st, 1, s, 4, 1, &out), 0);
    assert_int_equal(events_poll_failed(&st, 5, NULL, &out), 1);
    assert_int_equal(events_state_to_json(&st, &json), 0);
    assert_int_equal(events_state_from_json(&back, json), 0);
    assert_string_equal(back.boot_id, "b1");
    assert_string_equal(back.ifaces, "eth0");
    assert_int_equal(back.n_sensors, 1);
    assert_true(back.oom_vmstat == 4);
    assert_true(back.down);
    assert_int_equal(back.down_since_ms, 5);
    /* The restored state continues the derivation: the sensor loss is news. */
    clear(&out);
    s[1] = S("soak_sensor_up{sensor=\"ds18b20\"}", 0);
    assert_int_equal(events_scrape(&back, 9, s, 4, 1, &out), 1);
    assert_int_equal(events_state_from_json(&back, "[1,2"), -EINVAL);
    free(json);
    release(&out);
    events_state_done(&st);
    events_state_done(&back);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baseline_then_reboot),
        cmocka_unit_test(test_boot_time),
        cmocka_unit_test(test_oom_counters),
        cmocka_unit_test(test_panic_once_per_boot),
        cmocka_unit_test(test_sensors),
        cmocka_unit_test(test_ifaces),
        cmocka_unit_test(test_reachability),
        cmocka_unit_test(test_state_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
