/* SPDX-License-Identifier: MIT */
/*
 * storecli.h - helpers shared by the store commands (soak import, export,
 * devices, query, and the analysis commands leak, slab, verdict, judge): time
 * arguments and their output format, the options --db/--device/--at/--json and
 * opening the store.
 */
#ifndef SOAK_STORECLI_H
#define SOAK_STORECLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "store.h"

/*
 * Parse a time argument: unix seconds ("1700000000", "1700000000.5") or RFC 3339
 * ("2026-11-25T13:00:00Z", "2026-11-25T13:00:00.250+01:00", "2026-11-25 13:00:00Z",
 * "2026-11-25" = midnight UTC). Milliseconds since the epoch into *ret_ms.
 * 0 or -EINVAL.
 */
_warn_unused_result_ int storecli_time_parse(const char *s, int64_t *ret_ms);

/* Format t_ms as RFC 3339 UTC ("2026-11-25T13:00:00.250Z", no fraction when whole). */
void storecli_time_format(int64_t t_ms, char *out, size_t n);

/* getopt_long() codes of the shared options (above any short option character). */
enum {
    STORECLI_OPT_DB = 0x100,
    STORECLI_OPT_DEVICE,
    STORECLI_OPT_AT,
    STORECLI_OPT_JSON,
};

/* struct option entries for a command's getopt_long() table. */
/* clang-format off */
#define STORECLI_OPTION_DB {"db", required_argument, NULL, STORECLI_OPT_DB}
#define STORECLI_OPTION_DEVICE {"device", required_argument, NULL, STORECLI_OPT_DEVICE}
#define STORECLI_OPTION_AT {"at", required_argument, NULL, STORECLI_OPT_AT}
#define STORECLI_OPTION_JSON {"json", no_argument, NULL, STORECLI_OPT_JSON}
/* clang-format on */

/* What the shared options gave; start from STORECLI_ARGS_INIT. */
struct storecli_args {
    const char *db;     /* --db SPEC, NULL when absent */
    const char *device; /* --device NAME, NULL when absent */
    int64_t at_ms;      /* --at T (storecli_time_parse()); INT64_MAX when absent */
    bool json;          /* --json */
};
/* clang-format off */
#define STORECLI_ARGS_INIT {.at_ms = INT64_MAX}
/* clang-format on */

/*
 * Take one getopt_long() result c (with its optarg arg) if it is a shared option.
 * Returns 1 when taken, 0 when c is not a shared option (the caller handles it),
 * -EINVAL for a bad --at, with "CMD: bad --at 'T' (...)" logged.
 */
_warn_unused_result_ int storecli_arg(const char *cmd, int c, const char *arg,
                                      struct storecli_args *a);

/*
 * Open the existing store spec (store_open_existing(): a missing SQLite file is
 * an error, not a new store). On failure logs "CMD: cannot open store SPEC: why"
 * and returns the error. Every store command opens its store this way.
 */
_warn_unused_result_ int storecli_open(const char *cmd, const char *spec, struct store **ret);

#endif
