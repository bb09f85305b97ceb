/* SPDX-License-Identifier: MIT */
/*
 * sensors.h - soakd's sensor manager: the configured and discovered sensors,
 * one worker thread per sensor reading it on its own schedule, a cache of the
 * latest readings, and the `sensors` collector that writes that cache.
 *
 * Life cycle (one owner thread; the workers are internal):
 *   sensors_new()                       defaults: discovery on, interval 10 s
 *   sensors_configure(s, label, k, v)   per `[sensor LABEL] k = v` (label NULL: global option)
 *   sensors_start(s, root)              discovery, workers start; waits (bounded by
 *                                       `start_wait`, default 2 s) for a first round so
 *                                       that `soakd --once` prints values
 *   sensors_write(s, w)                 the cached readings; never touches a bus
 *   sensors_rescan(s)                   hot-plugged hwmon/IIO/w1 devices (the collector's
 *                                       read() calls it every `rescan` seconds)
 *   sensors_free(s)                     stops and joins the workers
 * Tests use sensors_prepare() + sensors_sample() to drive sensors without threads.
 *
 * The collector (sensors_collector, registered as "sensors") receives its
 * options as configure(ctx, key, value): "LABEL.key" for a `[sensor LABEL]`
 * section, plain "key" for the [collector.sensors] section.
 */
#ifndef SOAK_SENSORS_H
#define SOAK_SENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "collector.h"
#include "expo.h"
#include "macro.h"
#include "sensor.h"

#define SENSORS_MAX 64 /* configured + discovered sensors per agent */

struct sensors;

/* Allocate a manager with defaults. 0 or -ENOMEM. */
_warn_unused_result_ int sensors_new(struct sensors **ret);

/* Stop the workers and free everything; accepts NULL; returns NULL. A worker stuck
 * in a kernel call past shutdown is detached and its sensor leaked on purpose. */
struct sensors *sensors_free(struct sensors *s);

/*
 * Apply one option. section_label is the sensor's label (`[sensor indoor]` ->
 * "indoor"), or NULL for a global option.
 * Sensor keys: driver, bus, address, channel, differential, device, interval,
 * timeout, label, chip, vref, mtreg, speed_hz, and the plausibility bounds
 * <quantity>_min / <quantity>_max (quantity: temperature, humidity, illuminance,
 * pressure, voltage; SI units as exported) that turn a value outside them into a
 * failed read (-ERANGE).
 * Global keys: discover (bool), default_interval, timeout, backoff_max, start_wait,
 * rescan (duration, or no), timing_metrics (bool: durations, timestamps and ages,
 * which vary run to run).
 * Returns 0, -ENOENT for an unknown key, -EINVAL for a bad value (unknown driver,
 * bad address ...), -E2BIG past SENSORS_MAX sensors. Call before start.
 */
_warn_unused_result_ int sensors_configure(struct sensors *s, const char *section_label,
                                           const char *key, const char *value);

/*
 * Check the configuration and build the sensor list under root (configured
 * sensors first, then discovered ones not already configured). Buses are
 * opened lazily by the first read. 0, or -EINVAL with sensors_error() saying
 * which sensor is incomplete.
 */
_warn_unused_result_ int sensors_prepare(struct sensors *s, const char *root);

/*
 * Discover hwmon/IIO/w1 devices again (when discovery is on): a device not yet
 * in the list is added (and its worker started once the workers run); sensors
 * are never removed, so a device that went away keeps reporting up 0 with
 * error ENOENT. A sensor whose device discovery has found (discovered, or a
 * configured hwmon/iio/w1 one) and which went away while up, or came back
 * while down with ENOENT/ENODATA, is read at once instead of after its
 * interval or backoff. Call from one thread at a time (the collector's read(),
 * or a test). Returns how many sensors were added, or a negative errno.
 */
int sensors_rescan(struct sensors *s);

/* sensors_prepare(), then start the workers and wait for the first round (bounded). */
_warn_unused_result_ int sensors_start(struct sensors *s, const char *root);

/* A message about the last configuration error ("" if none). */
const char *sensors_error(const struct sensors *s);

/*
 * Write every sensor family from the cache (takes the lock briefly). A sensor
 * whose first read attempt has not ended (and not overrun its timeout) is left
 * out: neither up nor down yet. 0 or the writer's error.
 */
int sensors_write(struct sensors *s, struct expo_writer *w);

/* Number of sensors after prepare, and the index of a label (-ENOENT). */
size_t sensors_count(const struct sensors *s);
int sensors_find(const struct sensors *s, const char *label);
const char *sensors_label(const struct sensors *s, size_t i);

/*
 * Run one read attempt of sensor i on the calling thread (only when the
 * workers are not running): opens the bus, probes if needed, reads, and
 * updates the cache, counters and backoff. Returns the attempt's result.
 */
int sensors_sample(struct sensors *s, size_t i);

/*
 * The bus of sensor i once opened (a simulator's, in tests); NULL before. A
 * worker may reopen a real bus, so use it only while the workers are not
 * running, or for a simulated bus (never reopened).
 */
struct sensor_bus *sensors_bus(struct sensors *s, size_t i);

/* Observed state of sensor i, for tests and the docs' examples. */
struct sensors_state {
    int up;
    int in_flight;
    uint64_t attempts, errors, timeouts;
    int last_error;
    double next_interval; /* seconds until the next attempt after the last one (backoff) */
    double timeout;       /* the read's time budget in seconds (may grow to the chip's pace) */
};
void sensors_get_state(struct sensors *s, size_t i, struct sensors_state *ret);

extern const struct collector_ops sensors_collector;

#endif
