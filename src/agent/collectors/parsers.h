/* SPDX-License-Identifier: MIT */
/*
 * parsers.h - the pure line/record parsers inside the collectors, exposed so
 * the unit tests and the libFuzzer harnesses call exactly the code that ships.
 * None of them allocates or does I/O; all bound their output by the sizes given.
 */
#ifndef SOAK_COLLECTOR_PARSERS_H
#define SOAK_COLLECTOR_PARSERS_H

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/*
 * One /proc/meminfo line ("Active(anon):  1234 kB", modified in place) into the
 * metric name (node_memory_Active_anon_bytes, or without _bytes for unit-less
 * fields) and the value in bytes. 0, or -EINVAL for a garbled line or unknown unit.
 */
_warn_unused_result_ int meminfo_parse_line(char *line, char *ret_name, size_t size,
                                            double *ret_value);

/* One /proc/vmstat line ("oom_kill 3") into node_vmstat_<field> and its value. 0 or -EINVAL. */
_warn_unused_result_ int vmstat_parse_line(char *line, char *ret_name, size_t size,
                                           double *ret_value);

#define SLABINFO_NAME_MAX 64 /* cache names are cut here, bytes incl. NUL */

struct slabinfo_entry {
    char name[SLABINFO_NAME_MAX];
    uint64_t active_objs, num_objs, objsize, objperslab, pagesperslab;
};

/*
 * One /proc/slabinfo line, split on whitespace (any number of tokens >= 6).
 * Returns 1 for a cache line (*ret filled), 0 for a header line, -EINVAL for garbage.
 */
_warn_unused_result_ int slabinfo_parse_line(char *line, struct slabinfo_entry *ret);

/* A /dev/kmsg record's prefix "pri,seq,usec,flags[,...];". */
struct kmsg_record {
    unsigned level;    /* 0..7 */
    unsigned facility;
    uint64_t seq;
    uint64_t usec;
    const char *text;  /* points into the parsed line */
};

/* Parse "6,339,5140900,-;text" (line is not modified). 0 or -EINVAL. */
_warn_unused_result_ int kmsg_parse_record(const char *line, struct kmsg_record *ret);

/*
 * Find the OOM victim in a kernel log text ("... Killed process 2244 (systemd) ...").
 * 1 with pid and comm (cut to comm_size) set, 0 when the text is not a kill line.
 */
int kmsg_parse_oom_kill(const char *text, uint64_t *ret_pid, char *ret_comm, size_t comm_size);

/*
 * One os-release(5) line: KEY=value with optional single or double quotes and
 * backslash escapes. Key and value are written NUL-terminated into the buffers
 * (cut to their sizes). 1 for an assignment, 0 for a blank or comment line,
 * -EINVAL for a syntax error (no '=', bad key, unterminated quote).
 */
_warn_unused_result_ int osrelease_parse_line(const char *line, char *ret_key, size_t key_size,
                                              char *ret_value, size_t value_size);

#endif
