/* SPDX-License-Identifier: MIT */
/*
 * The worker threads: a sensor frozen mid-read (the simulator's gate) does
 * not delay the collector's read(), which returns the previous cached value
 * while the read is still in flight, nor the other sensors, which keep being
 * read. A read over its time budget reports up 0 and is counted once; the
 * next read recovers. Assertions are on ordering and state, never on a
 * wall-clock threshold.
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
#include <time.h>

#include <cmocka.h>

#include "buf.h"
#include "expo.h"
#include "parse.h"
#include "sensors.h"
#include "sim.h"

#define WAIT_STEPS 5000 /* x 1 ms: a generous bound for a loaded machine, not an assertion */

static void
nap(void)
{
    struct timespec ts = {0, 1000000L};

    (void)nanosleep(&ts, NULL);
}

static char *
render(struct sensors *s)
{
    const struct collector_ops *ops = &sensors_collector;
    struct expo_writer w;
    struct buf b;

    buf_init(&b, 1 << 20);
    expo_writer_init(&w, &b, EXPO_PROMETHEUS);
    assert_int_equal(ops->read(s, "", &w), 0);
    return buf_take(&b);
}

static double
value(const char *out, const char *key)
{
    const char *p = strstr(out, key);
    double v;

    if (!p)
        fail_msg("series %s missing in:\n%s", key, out);
    p += strlen(key);
    assert_int_equal(parse_double_field(&p, &v), 0);
    return v;
}

static struct sensors *
two_sensors(const char *timeout)
{
    struct sensors *s;

    assert_int_equal(sensors_new(&s), 0);
    assert_int_equal(sensors_configure(s, NULL, "discover", "no"), 0);
    assert_int_equal(sensors_configure(s, "slow", "driver", "sht3x"), 0);
    assert_int_equal(sensors_configure(s, "slow", "bus", "sim"), 0);
    assert_int_equal(sensors_configure(s, "slow", "interval", "0.01"), 0);
    assert_int_equal(sensors_configure(s, "slow", "timeout", timeout), 0);
    assert_int_equal(sensors_configure(s, "fast", "driver", "bh1750"), 0);
    assert_int_equal(sensors_configure(s, "fast", "bus", "sim"), 0);
    assert_int_equal(sensors_configure(s, "fast", "interval", "0.01"), 0);
    assert_int_equal(sensors_start(s, "/nonexistent"), 0);
    return s;
}

static void
wait_blocked(struct sim_bus *sb)
{
    int i;

    for (i = 0; i < WAIT_STEPS && sim_bus_blocked(sb) == 0; i++)
        nap();
    assert_true(sim_bus_blocked(sb) > 0);
}

static void
wait_attempts(struct sensors *s, size_t k, uint64_t more_than)
{
    struct sensors_state st;
    int i;

    for (i = 0; i < WAIT_STEPS; i++) {
        sensors_get_state(s, k, &st);
        if (st.attempts > more_than && !st.in_flight)
            return;
        nap();
    }
    fail_msg("sensor %zu made no progress", k);
}

static void
test_slow_sensor_does_not_delay_read(void **state)
{
    struct sensors *s = two_sensors("30s");
    struct sensors_state slow, fast, fast_after;
    struct sim_bus *sb;
    char *out;

    (void)state;
    /* start() waited for the first round: both are up with values. */
    out = render(s);
    assert_true(value(out, "soak_sensor_up{sensor=\"slow\"} ") == 1);
    assert_true(
        fabs(value(out, "soak_sensor_temperature_celsius{sensor=\"slow\",chip=\"sht3x\"} ") -
             25.0) < 0.01);
    free(out);

    sb = sim_bus_from(sensors_bus(s, 0));
    assert_non_null(sb);
    /* Freeze the slow sensor's bus: its worker blocks inside a transfer. */
    sim_bus_hold(sb, 1);
    wait_blocked(sb);
    sim_chip_set_temperature(sim_bus_chip(sb, 0), 30.0);
    sensors_get_state(s, 0, &slow);
    assert_true(slow.in_flight);
    sensors_get_state(s, 1, &fast);

    /* read() returns, with the previous value, while the slow read is in flight. */
    out = render(s);
    sensors_get_state(s, 0, &slow);
    assert_true(slow.in_flight);
    assert_true(sim_bus_blocked(sb) > 0);
    assert_true(value(out, "soak_sensor_up{sensor=\"slow\"} ") == 1);
    assert_true(
        fabs(value(out, "soak_sensor_temperature_celsius{sensor=\"slow\",chip=\"sht3x\"} ") -
             25.0) < 0.01);
    free(out);

    /* The other sensor keeps being read meanwhile. */
    wait_attempts(s, 1, fast.attempts + 2);
    sensors_get_state(s, 1, &fast_after);
    sensors_get_state(s, 0, &slow);
    assert_true(slow.in_flight);
    assert_true(fast_after.attempts >= fast.attempts + 3);
    assert_int_equal(fast_after.errors, 0);

    /* Released: the slow read completes and the new value shows. */
    sim_bus_hold(sb, 0);
    wait_attempts(s, 0, slow.attempts + 1); /* the frozen read, then a fresh one */
    out = render(s);
    assert_true(
        fabs(value(out, "soak_sensor_temperature_celsius{sensor=\"slow\",chip=\"sht3x\"} ") -
             30.0) < 0.01);
    free(out);
    s = sensors_free(s);
}

static void
test_overrun_counted_once(void **state)
{
    struct sensors *s = two_sensors("0.2s");
    struct sensors_state st;
    struct sim_bus *sb;
    struct timespec ts = {0, 500000000L}; /* 500 ms: past the 200 ms budget */
    char *out;

    (void)state;
    sb = sim_bus_from(sensors_bus(s, 0));
    assert_non_null(sb);
    sim_bus_hold(sb, 1);
    wait_blocked(sb);
    (void)nanosleep(&ts, NULL);
    /* In flight past its budget: up 0, one timeout, one error. */
    out = render(s);
    assert_true(value(out, "soak_sensor_up{sensor=\"slow\"} ") == 0);
    assert_true(value(out, "soak_sensor_read_timeouts_total{sensor=\"slow\"} ") == 1);
    assert_true(value(out, "soak_sensor_read_errors_total{sensor=\"slow\"} ") == 1);
    assert_null(strstr(out, "soak_sensor_temperature_celsius{sensor=\"slow\""));
    assert_non_null(strstr(out, "soak_sensor_error_info{sensor=\"slow\",error=\"ETIMEDOUT\"} 1\n"));
    free(out);
    out = render(s); /* a second scrape does not count it again */
    assert_true(value(out, "soak_sensor_read_timeouts_total{sensor=\"slow\"} ") == 1);
    free(out);

    sensors_get_state(s, 0, &st);
    sim_bus_hold(sb, 0);
    /* The late result is discarded (still one timeout), then a normal read recovers. */
    wait_attempts(s, 0, st.attempts);
    sensors_get_state(s, 0, &st);
    assert_int_equal(st.timeouts, 1);
    assert_int_equal(st.last_error, -ETIMEDOUT);
    wait_attempts(s, 0, st.attempts);
    sensors_get_state(s, 0, &st);
    assert_int_equal(st.up, 1);
    assert_int_equal(st.timeouts, 1);
    s = sensors_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_sensor_does_not_delay_read),
        cmocka_unit_test(test_overrun_counted_once),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
