/* SPDX-License-Identifier: MIT */
/*
 * sim.h - the outputs of the farm simulator: OpenMetrics history files that
 * `soak import` reads, and live /proc + /sys trees that a real soakd serves
 * with `soakd --root DIR`.
 */
#ifndef SOAK_SIM_H
#define SOAK_SIM_H

#include <stdint.h>
#include <stdio.h>

#include "farm.h"
#include "macro.h"

/*
 * Write what device dev reported (and what the server measured polling it:
 * soak_poll_up, soak_poll_duration_seconds) every step_s seconds in
 * [from_s, to_s] as OpenMetrics text (timestamps in seconds, families grouped,
 * "# EOF" last) to out. Slab caches are written every 10th step. While the
 * board reboots only soak_poll_up 0 appears; while it runs a build that never
 * came up on the network, its samples are there (what soakd's persisted ring
 * gives the server once the board is back) beside soak_poll_up 0, with its
 * interface down and no poll duration.
 * Returns the number of samples written (>= 0) or a negative errno
 * (-EINVAL bad arguments, -ENOMEM, -EIO write error).
 */
_warn_unused_result_ long sim_history_write(const struct farm *f, size_t dev, int64_t from_s,
                                            int64_t to_s, int64_t step_s, FILE *out);

/*
 * Write the files a board has at time t under root (created as needed):
 * /proc/{meminfo,slabinfo,loadavg,uptime,stat,vmstat,cmdline,version},
 * /proc/sys/fs/file-nr, /proc/sys/kernel/{osrelease,hostname,random/boot_id,...},
 * /proc/device-tree/model, /proc/1/fd (one entry per open descriptor),
 * /etc/os-release, /sys/class/thermal, /sys/class/net/<iface>, hwmon, IIO and
 * w1 sensor files and /sys/fs/pstore after a panic. Each file is replaced
 * atomically (written in root/.sim-tmp, then renamed into place), so a reader
 * never sees half a file. While the board is rebooting nothing is touched.
 * The first call creates ~1,300 /proc/<pid>/fd entries and takes longest.
 *
 * speed is how much faster than real time t_s runs from farm_now(f) on. The
 * boot time in /proc/stat is put on the real clock: a boot that starts at
 * simulated time S > now is reported as now + (S - now) / speed, so a server
 * polling the tree sees boot times in its own past, constant within a boot
 * (uptime and everything else run at the simulated pace). speed 1: no mapping.
 * 0 or a negative errno.
 */
_warn_unused_result_ int sim_live_write(const struct farm *f, size_t dev, int64_t t_s, double speed,
                                        const char *root);

#endif
