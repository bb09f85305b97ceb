/* SPDX-License-Identifier: MIT */
#include "info.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "expo.h"
#include "sampler.h"

/* Identity fields, in the order of the JSON document, and the label each comes from. */
enum field {
    F_MODEL,
    F_BUILD,
    F_KERNEL_RELEASE,
    F_OS_VERSION,
    F_RAUC_SLOT,
    F_RAUC_BUNDLE_VERSION,
    F_BOOT_ID,
    F_NODENAME,
    _F_MAX,
};

static const char *const field_label[_F_MAX] = {
    [F_MODEL] = "model",
    [F_BUILD] = "build",
    [F_KERNEL_RELEASE] = "kernel_release",
    [F_OS_VERSION] = "os_version",
    [F_RAUC_SLOT] = "rauc_slot",
    [F_RAUC_BUNDLE_VERSION] = "rauc_bundle_version",
    [F_BOOT_ID] = "boot_id",
    [F_NODENAME] = "nodename",
};

struct scan {
    int pass; /* 0: soak_build_info only, 1: every *_info */
    char val[_F_MAX][EXPO_LABEL_VALUE_MAX + 1];
    int have[_F_MAX];
    double uptime, now, boot;
    int have_uptime, have_now, have_boot;
};

int
info_label(const char *key, const char *name, char *out, size_t size)
{
    const char *p = strchr(key, '{');
    size_t nl = strlen(name);

    if (!p)
        return -ENOENT;
    p++;
    while (*p && *p != '}') {
        const char *eq = strchr(p, '=');
        size_t n = 0;
        int match;

        if (!eq || eq[1] != '"')
            return -EINVAL;
        match = (size_t)(eq - p) == nl && memcmp(p, name, nl) == 0;
        p = eq + 2;
        while (*p && *p != '"') {
            char c = *p;
            if (c == '\\') {
                p++;
                if (*p == 'n')
                    c = '\n';
                else if (*p == '\\' || *p == '"')
                    c = *p;
                else
                    return -EINVAL;
            }
            if (match) {
                if (n + 1 >= size)
                    return -E2BIG;
                out[n++] = c;
            }
            p++;
        }
        if (*p != '"')
            return -EINVAL;
        if (match) {
            out[n] = '\0';
            return (int)n;
        }
        p++;
        if (*p == ',')
            p++;
    }
    return -ENOENT;
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int
scan_sample(void *ctx, const char *family, enum metric_type type, const char *key, double value)
{
    struct scan *sc = ctx;

    (void)type;
    if (sc->pass == 1) {
        if (strcmp(family, "soak_uptime_seconds") == 0) {
            sc->uptime = value;
            sc->have_uptime = 1;
        } else if (strcmp(family, "node_time_seconds") == 0) {
            sc->now = value;
            sc->have_now = 1;
        } else if (strcmp(family, "node_boot_time_seconds") == 0) {
            sc->boot = value;
            sc->have_boot = 1;
        }
    }
    if (sc->pass == 0 ? strcmp(family, "soak_build_info") != 0 : !ends_with(family, "_info"))
        return 0;
    for (int f = 0; f < _F_MAX; f++) {
        if (sc->have[f])
            continue;
        /* An empty label means "not known here" (no RAUC, say): keep looking. */
        if (info_label(key, field_label[f], sc->val[f], sizeof(sc->val[f])) > 0)
            sc->have[f] = 1;
        else if (f == F_KERNEL_RELEASE && strcmp(family, "node_uname_info") == 0 &&
                 info_label(key, "release", sc->val[f], sizeof(sc->val[f])) > 0)
            sc->have[f] = 1;
    }
    return 0;
}

/* A JSON string, or null when absent or not valid UTF-8 (jansson refuses those). */
static json_t *
str_or_null(const struct scan *sc, enum field f)
{
    json_t *j = sc->have[f] ? json_string(sc->val[f]) : NULL;

    return j ? j : json_null();
}

char *
info_json(const char *snapshot, size_t len, const char *device, const struct info_history *hist)
{
    struct scan *sc = calloc(1, sizeof(*sc));
    json_t *o = NULL, *h;
    char host[256], idbuf[17];
    char *out = NULL;
    int fail = 0;

    if (!sc)
        return NULL;
    /* scan_sample never fails, so neither does the walk. */
    for (sc->pass = 0; sc->pass < 2; sc->pass++)
        if (sampler_feed_text(snapshot, len, scan_sample, sc) < 0)
            break;
    if (!device && sc->have[F_NODENAME])
        device = sc->val[F_NODENAME];
    if (!device) {
        if (gethostname(host, sizeof(host)) < 0)
            host[0] = '\0';
        host[sizeof(host) - 1] = '\0';
        device = host;
    }
    o = json_object();
    if (!o)
        goto out;
    fail |= json_object_set_new(o, "device", json_string(device) ?: json_null());
    fail |= json_object_set_new(o, "model", str_or_null(sc, F_MODEL));
    fail |= json_object_set_new(o, "build", str_or_null(sc, F_BUILD));
    fail |= json_object_set_new(o, "kernel_release", str_or_null(sc, F_KERNEL_RELEASE));
    fail |= json_object_set_new(o, "os_version", str_or_null(sc, F_OS_VERSION));
    fail |= json_object_set_new(o, "rauc_slot", str_or_null(sc, F_RAUC_SLOT));
    fail |= json_object_set_new(o, "rauc_bundle_version",
                                str_or_null(sc, F_RAUC_BUNDLE_VERSION));
    fail |= json_object_set_new(o, "boot_id", str_or_null(sc, F_BOOT_ID));
    if (sc->have_uptime)
        fail |= json_object_set_new(o, "uptime_seconds", json_real(sc->uptime));
    else if (sc->have_now && sc->have_boot)
        fail |= json_object_set_new(o, "uptime_seconds", json_real(sc->now - sc->boot));
    else
        fail |= json_object_set_new(o, "uptime_seconds", json_null());
    fail |= json_object_set_new(o, "agent_version", json_string(SOAK_VERSION));
    if (hist && hist->present) {
        (void)snprintf(idbuf, sizeof(idbuf), "%016llx", (unsigned long long)hist->ring_id);
        h = json_pack("{s:I,s:I,s:s}", "oldest_seq", (json_int_t)hist->oldest_seq, "newest_seq",
                      (json_int_t)hist->newest_seq, "ring_id", idbuf);
        fail |= json_object_set_new(o, "history", h ? h : json_null());
    } else {
        fail |= json_object_set_new(o, "history", json_null());
    }
    if (!fail)
        out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
    json_decref(o);
    free(sc);
    return out;
}
