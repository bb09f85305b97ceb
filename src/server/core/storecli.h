/* SPDX-License-Identifier: MIT */
/*
 * storecli.h - helpers shared by the store commands (soak import, export,
 * devices, query): time arguments and their output format.
 */
#ifndef SOAK_STORECLI_H
#define SOAK_STORECLI_H

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/*
 * Parse a time argument: unix seconds ("1700000000", "1700000000.5") or RFC 3339
 * ("2026-11-25T13:00:00Z", "2026-11-25T13:00:00.250+01:00", "2026-11-25 13:00:00Z",
 * "2026-11-25" = midnight UTC). Milliseconds since the epoch into *ret_ms.
 * 0 or -EINVAL.
 */
_warn_unused_result_ int storecli_time_parse(const char *s, int64_t *ret_ms);

/* Format t_ms as RFC 3339 UTC ("2026-11-25T13:00:00.250Z", no fraction when whole). */
void storecli_time_format(int64_t t_ms, char *out, size_t n);

#endif
