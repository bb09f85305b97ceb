/* SPDX-License-Identifier: MIT */
/*
 * store-pg.c - the PostgreSQL back end (libpq).
 */
#include <errno.h>
#include <stdio.h>

#include "config.h"
#include "store-backend.h"

static int
pg_open_stub(struct store *st, const char *spec, char *err, size_t errlen)
{
    (void)st;
    (void)spec;
    (void)snprintf(err, errlen, "this soak was built without PostgreSQL support");
    return -EOPNOTSUPP;
}

const struct store_ops store_pg_ops = {
    .version = 1,
    .name = "postgresql",
    .open = pg_open_stub,
};
