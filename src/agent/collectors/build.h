/* SPDX-License-Identifier: MIT */
/*
 * build.h - what the build collector found, for the agent's /info.
 */
#ifndef SOAK_COLLECTOR_BUILD_H
#define SOAK_COLLECTOR_BUILD_H

#include "macro.h"

#define BUILD_VALUE_MAX 256 /* bytes of every identity string kept, with the NUL */

struct build_identity {
    char build[BUILD_VALUE_MAX];          /* the `build` label verdicts compare */
    char kernel_release[BUILD_VALUE_MAX]; /* uname release */
    char kernel_version[BUILD_VALUE_MAX]; /* uname version ("#1 PREEMPT ...") */
    char machine[BUILD_VALUE_MAX];
    char hostname[BUILD_VALUE_MAX];
    char os_version[BUILD_VALUE_MAX];     /* VERSION_ID, else VERSION */
    char os_pretty_name[BUILD_VALUE_MAX];
    char rauc_slot[BUILD_VALUE_MAX];      /* rauc.slot= of /proc/cmdline, "" if none */
    char rauc_bundle_version[BUILD_VALUE_MAX]; /* "" when unknown */
    char model[BUILD_VALUE_MAX];          /* /proc/device-tree/model, "" if none */
};

/*
 * Copy the identity of the last successful read of the build collector whose
 * context is ctx into *ret. Not synchronised with read(): call it from the
 * thread that runs the collector or under the lock that serialises it.
 * Returns 0, or -ENODATA before the first read.
 */
_warn_unused_result_ int build_identity_get(void *ctx, struct build_identity *ret);

#endif
