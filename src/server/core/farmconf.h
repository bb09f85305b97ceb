/* SPDX-License-Identifier: MIT */
/*
 * farmconf.h - the server's configuration file (DESIGN §5): one [server]
 * section, an optional [alerts] section and one [device NAME] section per board.
 *
 *   [server]
 *   store = sqlite:/var/lib/soak/farm.db   ; or postgresql://...
 *   listen = 127.0.0.1:8080                ; dashboard + API (empty: none)
 *   listen_token = SECRET                  ; bearer token the dashboard asks for
 *   baseline = 6.12.55                     ; build the dashboard's verdicts compare against
 *   shard = 0/1                            ; this poller owns hash(name) % n == i
 *   token = SECRET                         ; default bearer token for every device
 *   interval = 60                          ; default poll interval (duration)
 *   timeout = 10                           ; default total timeout per request
 *   connect_timeout = 3
 *   max_body = 16M                         ; a longer body aborts that poll
 *   jitter = 0.05                          ; +- fraction of the interval
 *
 *   [alerts]
 *   unreachable_after = 5m                 ; alert when unreachable this long
 *   exhaustion_days = 7                    ; alert when memory runs out within
 *   leak_every = 15m                       ; run the leak analysis per device this often (0: off)
 *   hold = 1h                              ; one-off alerts (OOM kill, panic, reboot)
 *                                          ; resolve after this long without a repeat
 *   exec = /usr/local/bin/notify {alert} {device} {state}   ; argv template
 *   webhook = http://127.0.0.1:9000/hook   ; JSON POST
 *
 *   [device rockpis-1]
 *   url = http://10.0.0.21:9123            ; soakd base URL or any exporter's /metrics URL
 *   interval = 60   timeout = 10   connect_timeout = 3   token = ...
 *   model = rock-pi-s
 *   ram_sizes = 256M,512M                  ; RAM sizes the board is sold with
 *   history = auto|yes|no                  ; use soakd's /history (auto: when detected)
 *   install = ...  reboot = ...            ; argv templates for `soak deploy`
 *
 * Argv templates are split on blanks (no shell, no quoting); "{name}" tokens are
 * replaced by the caller (see farm_argv_expand()).
 */
#ifndef SOAK_FARMCONF_H
#define SOAK_FARMCONF_H

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define FARM_RAM_SIZES_MAX 8     /* ram_sizes entries per device */
#define FARM_DEFAULT_INTERVAL 60 /* seconds */
#define FARM_DEFAULT_TIMEOUT 10  /* seconds, capped at the interval */
#define FARM_DEFAULT_CONNECT 3   /* seconds */
#define FARM_DEFAULT_MAX_BODY (16u * 1024 * 1024) /* bytes */

enum farm_history {
    FARM_HISTORY_AUTO,
    FARM_HISTORY_YES,
    FARM_HISTORY_NO,
};

struct farm_device {
    char *name;
    char *url;                /* as configured */
    double interval;          /* seconds; 0 = server default */
    double timeout;           /* seconds; 0 = server default */
    double connect_timeout;   /* seconds; 0 = server default */
    char *token;              /* NULL = server default */
    char *model;              /* may be NULL */
    uint64_t ram_sizes[FARM_RAM_SIZES_MAX];
    size_t n_ram_sizes;
    enum farm_history history;
    char *install;            /* argv template, may be NULL */
    char *reboot;             /* argv template, may be NULL */
};

struct farm_conf {
    char *path;               /* the file it came from (NULL for strings) */
    char *store;              /* NULL = none configured */
    char *listen;             /* NULL = no dashboard */
    char *listen_token;       /* dashboard bearer token, NULL = none */
    char *baseline;           /* dashboard verdict baseline build, NULL = judge's default */
    unsigned shard_i, shard_n;/* default 0/1 */
    char *token;
    double interval, timeout, connect_timeout, jitter;
    uint64_t max_body;
    /* [alerts] */
    double unreachable_after; /* seconds, default 300 */
    double exhaustion_days;   /* default 7 */
    double alert_hold;        /* seconds, default 3600 */
    double leak_every;        /* seconds between leak analyses per device, default 900, < 0 off */
    char *alert_exec;         /* argv template, may be NULL */
    char *alert_webhook;      /* URL, may be NULL */
    char *alert_token;        /* bearer token for the webhook, may be NULL */
    struct farm_device *dev;
    size_t n_dev;
};

/*
 * Parse a config file (path, "-" for stdin) into a new farm_conf, with
 * defaults filled in and every device checked (url set and http(s)://, sane
 * numbers, shard i < n). On failure returns -EINVAL (or -errno for I/O) and a
 * message naming the file, line or device in err.
 */
_warn_unused_result_ int farmconf_load(const char *path, struct farm_conf **ret, char *err,
                                       size_t errlen);

/* Same, from a string in memory. */
_warn_unused_result_ int farmconf_parse_string(const char *text, struct farm_conf **ret,
                                               char *err, size_t errlen);

/* Free; accepts NULL; returns NULL. */
struct farm_conf *farmconf_free(struct farm_conf *c);

/* The device named name, or NULL. */
const struct farm_device *farmconf_device(const struct farm_conf *c, const char *name);

/* Effective per-device values (device's own or the server's default). */
double farm_device_interval(const struct farm_conf *c, const struct farm_device *d);
double farm_device_timeout(const struct farm_conf *c, const struct farm_device *d);
double farm_device_connect_timeout(const struct farm_conf *c, const struct farm_device *d);
const char *farm_device_token(const struct farm_conf *c, const struct farm_device *d);

/* FNV-1a 64-bit hash of a string: stable across hosts, builds and versions. */
uint64_t farm_hash(const char *s);

/* 1 when the device named name belongs to shard i of n (farm_hash(name) % n == i). */
int farm_shard_owns(unsigned i, unsigned n, const char *name);

/*
 * Expand an argv template: split tmpl on blanks, then in each word replace
 * "{KEY}" by the value of KEY from the NULL-terminated kv list
 * {"key1", "value1", "key2", "value2", ..., NULL}. Unknown {KEY}s are an error
 * (-EINVAL). *ret is a NULL-terminated argv the caller frees with
 * farm_argv_free(). Values are inserted as data, never re-split.
 */
_warn_unused_result_ int farm_argv_expand(const char *tmpl, const char *const *kv, char ***ret);
void farm_argv_free(char **argv);

#endif
