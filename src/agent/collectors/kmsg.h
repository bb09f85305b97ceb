/* SPDX-License-Identifier: MIT */
/*
 * kmsg.h - what the kmsg collector keeps, for the agent's /info and for tests:
 * the last OOM victim and the last lines of the kernel log.
 * Neither call is synchronised with read(): call them from the thread that
 * runs the collector or under the lock that serialises it.
 */
#ifndef SOAK_COLLECTOR_KMSG_H
#define SOAK_COLLECTOR_KMSG_H

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define KMSG_LINE_MAX 256 /* bytes of one kept log line, with the NUL */

/*
 * The last process the OOM killer killed: 1 with *ret_pid and comm (cut to
 * comm_size) set, 0 when none was seen.
 */
int kmsg_last_oom_kill(void *ctx, uint64_t *ret_pid, char *ret_comm, size_t comm_size);

/*
 * Call fn for each kept line, oldest first (the text after the record prefix).
 * Returns the number of lines.
 */
size_t kmsg_last_lines(void *ctx, void (*fn)(void *userdata, const char *line), void *userdata);

#endif
