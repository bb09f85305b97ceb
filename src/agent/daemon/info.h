/* SPDX-License-Identifier: MIT */
/*
 * info.h - the /info document: the device's identity taken from the samples
 * the collectors already published, so it does not depend on which collector
 * emits them.
 *
 * From the snapshot text: the labels of every "*_info{...}" sample
 * (soak_build_info first, then the others in order) provide build,
 * kernel_release, os_version, rauc_slot, rauc_bundle_version, boot_id and
 * model (empty values count as absent); soak_uptime_seconds (else node_time_seconds - node_boot_time_seconds)
 * provides uptime_seconds. A value the snapshot lacks is JSON null.
 */
#ifndef SOAK_INFO_H
#define SOAK_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct info_history {
    uint64_t oldest_seq;
    uint64_t newest_seq;
    uint64_t ring_id;
    int present; /* 0 = no ring: "history" is null */
};

/*
 * Find label name in the rendered series key ("metric{a=\"x\",b=\"y\"}") and
 * unescape its value into out (size bytes). Returns the length, -ENOENT when
 * absent, -EINVAL on a malformed key, -E2BIG when it does not fit.
 */
_warn_unused_result_ int info_label(const char *key, const char *name, char *out, size_t size);

/*
 * Build the /info JSON from a Prometheus text snapshot. device may be NULL
 * (then: the nodename label, else the host name). Returns a string the caller
 * frees, or NULL on allocation failure.
 */
char *info_json(const char *snapshot, size_t len, const char *device,
                const struct info_history *hist);

#endif
