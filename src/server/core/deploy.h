/* SPDX-License-Identifier: MIT */
/*
 * deploy.h - put a build on a farm board and make sure it came back.
 *
 * A deploy runs the device's install and reboot argv templates (never a shell
 * string), then polls the agent until it answers with a NEW boot id, and
 * checks what came back: the expected build (or at least not the old one:
 * RAUC falls back to the old slot when the new one fails), the same network
 * interfaces up, the same sensors reading.
 */
#ifndef SOAK_DEPLOY_H
#define SOAK_DEPLOY_H

#include <stddef.h>

#include "macro.h"

#define DEPLOY_NAMES_MAX 32   /* interfaces or sensors remembered per board */
#define DEPLOY_NAME_LEN 64    /* longest interface or sensor name kept */

/* What an agent said about itself at one moment. */
struct deploy_state {
    int reachable;                 /* 1 when /info or /metrics answered */
    char boot_id[64];
    char build[256];
    char ifaces[DEPLOY_NAMES_MAX][DEPLOY_NAME_LEN]; /* interfaces up */
    size_t n_ifaces;
    char sensors[DEPLOY_NAMES_MAX][DEPLOY_NAME_LEN]; /* sensors reading (soak_sensor_up 1) */
    size_t n_sensors;
    char error[256];               /* why it was not reachable */
};

enum deploy_outcome {
    DEPLOY_OK,
    DEPLOY_INSTALL_FAILED,    /* the install command failed */
    DEPLOY_UNREACHABLE_BEFORE, /* the board did not answer before the update */
    DEPLOY_NOT_BACK,          /* never answered with a new boot id in time */
    DEPLOY_OLD_BUILD,         /* came back on the build it had (fallback) */
    DEPLOY_WRONG_BUILD,       /* came back on a build other than the expected one */
    DEPLOY_MISSING_IFACE,     /* an interface that was up before is not */
    DEPLOY_MISSING_SENSOR,    /* a sensor that read before does not */
    _DEPLOY_OUTCOME_MAX,
};

/* Short machine name of an outcome ("ok", "not_back", ...). */
const char *deploy_outcome_name(enum deploy_outcome o);

/*
 * Ask the agent at url (a soakd base URL or an exporter's /metrics URL) for its
 * state: GET /info (boot id, build) and /metrics (interfaces, sensors).
 * Never fails: an unreachable agent gives reachable = 0 and error set.
 */
void deploy_probe(const char *url, const char *token, double timeout, struct deploy_state *ret);

/*
 * Judge what came back (pure). before: the state before the update; after: the
 * first state with a new boot id, or the last one seen (not_back set when the
 * boot id never changed); expected_build may be NULL. Writes a one-line reason
 * into msg (size bytes) and returns the outcome.
 */
enum deploy_outcome deploy_judge(const struct deploy_state *before,
                                 const struct deploy_state *after, int not_back,
                                 const char *expected_build, char *msg, size_t size);

/*
 * Run argv, wait at most timeout seconds (then SIGTERM, SIGKILL). Returns the exit
 * status (0..255), 128+signal when killed by one, -ETIMEDOUT, or -errno when it
 * could not start. The last lines of its stderr go to errtail (size bytes).
 */
_warn_unused_result_ int deploy_run(char *const argv[], double timeout, char *errtail,
                                    size_t size);

#endif
