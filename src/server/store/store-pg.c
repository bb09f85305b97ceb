/* SPDX-License-Identifier: MIT */
/*
 * store-pg.c - the PostgreSQL back end (libpq): the same tables as SQLite with
 * BYTEA chunks, server-side prepared statements only, one connection.
 *
 * Spec: a libpq URI, postgresql://user@host/db or, for a Unix socket,
 * postgresql://user@/db?host=/run/postgresql. A lost connection is re-established
 * at the next store_begin().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "store-backend.h"
#include "store-chunk.h"

#if HAVE_LIBPQ

#include <endian.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>

#include "buf.h"
#include "parse.h"

enum pstmt {
    P_DEV_GET,
    P_DEV_ADD,
    P_DEVICES,
    P_DEV_TOUCH,
    P_DEV_REFRESH,
    P_SER_GET,
    P_SER_ADD,
    P_SER_LIST,
    P_SER_LIST_ALL,
    P_SER_IDS,
    P_SER_IDS_ALL,
    P_SER_MAX,
    P_REC_INFO,
    P_REC_PUT,
    P_REC_GET,
    P_REC_TAKE,
    P_REC_DEVICES,
    P_V1_SERIES,
    P_V1_TAKE,
    P_CHUNK_PUT,
    P_CHUNK_SCAN,
    P_CHUNK_RANGES,
    P_CHUNK_GET,
    P_CHUNK_DEL,
    P_EV_ADD,
    P_EV_DEV,
    P_EV_ALL,
    P_STATE_GET,
    P_STATE_SET,
    P_DEV_GEN,
    _P_MAX,
};

static const char *const psql[_P_MAX] = {
    [P_DEV_GET] = "SELECT id FROM device WHERE name = $1",
    [P_DEV_ADD] = "INSERT INTO device(name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id",
    [P_DEVICES] = "SELECT d.id, d.name, d.first_ms, d.last_ms,"
                  " (SELECT count(*) FROM series s WHERE s.device_id = d.id)"
                  " FROM device d ORDER BY d.name",
    [P_DEV_TOUCH] = "UPDATE device SET"
                    " first_ms = CASE WHEN first_ms = 0 OR first_ms > $2 THEN $2 ELSE first_ms END,"
                    " last_ms = CASE WHEN last_ms = 0 OR last_ms < $3 THEN $3 ELSE last_ms END,"
                    " gen = gen + 1 WHERE id = $1 RETURNING gen",
    [P_DEV_REFRESH] = "UPDATE device SET"
                      " first_ms = coalesce(least("
                      "   (SELECT min(c.t_start) FROM chunk c JOIN series s ON c.series_id = s.id"
                      "    WHERE s.device_id = $1),"
                      "   (SELECT min(t) FROM hrec WHERE device_id = $1)), 0),"
                      " last_ms = coalesce(greatest("
                      "   (SELECT max(c.t_end) FROM chunk c JOIN series s ON c.series_id = s.id"
                      "    WHERE s.device_id = $1),"
                      "   (SELECT max(t) FROM hrec WHERE device_id = $1)), 0)"
                      " WHERE id = $1",
    [P_SER_GET] = "SELECT id FROM series WHERE device_id = $1 AND key = $2",
    [P_SER_ADD] = "INSERT INTO series(device_id, metric, key) VALUES ($1, $2, $3)"
                  " ON CONFLICT (device_id, key) DO NOTHING RETURNING id",
    [P_SER_LIST] = "SELECT key FROM series WHERE device_id = $1 AND metric = $2"
                   " ORDER BY key COLLATE \"C\"",
    [P_SER_LIST_ALL] = "SELECT key FROM series WHERE device_id = $1 ORDER BY key COLLATE \"C\"",
    [P_SER_IDS] = "SELECT id FROM series WHERE device_id = $1 ORDER BY id",
    [P_SER_IDS_ALL] = "SELECT id FROM series ORDER BY id",
    [P_SER_MAX] = "SELECT max(t_end) FROM chunk WHERE series_id = $1",
    [P_REC_INFO] = "SELECT count(*), min(t), max(t), max(id) FROM hrec WHERE device_id = $1",
    [P_REC_PUT] = "INSERT INTO hrec(device_id, t, n, data) VALUES ($1, $2, $3, $4)",
    [P_REC_GET] = "SELECT id, t, data FROM hrec WHERE device_id = $1 AND t BETWEEN $2 AND $3"
                  " ORDER BY t, id",
    [P_REC_TAKE] = "WITH d AS (DELETE FROM hrec WHERE device_id = $1 AND t BETWEEN $2 AND $3"
                   " RETURNING id, t, data) SELECT id, t, data FROM d ORDER BY t, id",
    [P_REC_DEVICES] = "SELECT DISTINCT device_id FROM hrec ORDER BY device_id",
    /* Schema 1's head table: only while upgrading (prepared on first use). */
    [P_V1_SERIES] = "SELECT DISTINCT series_id FROM head ORDER BY series_id",
    [P_V1_TAKE] = "WITH d AS (DELETE FROM head WHERE series_id = $1 RETURNING t, v)"
                  " SELECT t, v FROM d ORDER BY t",
    [P_CHUNK_PUT] = "INSERT INTO chunk(series_id, t_start, t_end, n, step, data)"
                    " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    [P_CHUNK_SCAN] = "SELECT id, t_start, t_end, step, data FROM chunk"
                     " WHERE series_id = $1 AND t_start <= $3 AND t_end >= $2 ORDER BY t_start",
    [P_CHUNK_RANGES] = "SELECT id, t_start, t_end, step FROM chunk"
                       " WHERE series_id = $1 AND t_start <= $3 AND t_end >= $2 ORDER BY t_start",
    [P_CHUNK_GET] = "SELECT id, t_start, t_end, step, data FROM chunk WHERE id = $1",
    [P_CHUNK_DEL] = "DELETE FROM chunk WHERE id = $1",
    [P_EV_ADD] = "INSERT INTO event(device_id, t_ms, kind, subject, detail, value)"
                 " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    [P_EV_DEV] = "SELECT id, device_id, t_ms, kind, subject, detail, value FROM event"
                 " WHERE device_id = $1 AND t_ms BETWEEN $2 AND $3 ORDER BY t_ms, id",
    [P_EV_ALL] = "SELECT id, device_id, t_ms, kind, subject, detail, value FROM event"
                 " WHERE t_ms BETWEEN $1 AND $2 ORDER BY t_ms, id",
    [P_STATE_GET] = "SELECT value FROM state WHERE device_id = $1 AND key = $2",
    [P_STATE_SET] = "INSERT INTO state(device_id, key, value) VALUES ($1, $2, $3)"
                    " ON CONFLICT (device_id, key) DO UPDATE SET value = excluded.value",
    [P_DEV_GEN] = "SELECT gen FROM device WHERE id = $1",
};

/* Head records (store-chunk.h): one row per device and poll time; bigserial ids are never
 * reused, so (count, max id) tells a reader whether its copy is current. */
#define HREC_SQL                                                                               \
    "CREATE TABLE IF NOT EXISTS hrec(id bigserial PRIMARY KEY, device_id bigint NOT NULL,"     \
    " t bigint NOT NULL, n integer NOT NULL, data bytea NOT NULL);"                             \
    "ALTER TABLE hrec ALTER COLUMN data SET STORAGE EXTERNAL;"                                 \
    "CREATE INDEX IF NOT EXISTS hrec_device ON hrec(device_id, t);"

static const char pg_schema[] =
    "SELECT pg_advisory_xact_lock(7370616);" /* one creator at a time */
    "CREATE TABLE IF NOT EXISTS meta(key text PRIMARY KEY, value text NOT NULL);"
    /* gen: bumped by each commit that writes to the device (device_gen, store-backend.h). */
    "CREATE TABLE IF NOT EXISTS device(id bigserial PRIMARY KEY, name text NOT NULL UNIQUE,"
    " first_ms bigint NOT NULL DEFAULT 0, last_ms bigint NOT NULL DEFAULT 0,"
    " gen bigint NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS series(id bigserial PRIMARY KEY, device_id bigint NOT NULL,"
    " metric text NOT NULL, key text NOT NULL, UNIQUE(device_id, key));"
    "CREATE INDEX IF NOT EXISTS series_metric ON series(device_id, metric);"
    "CREATE TABLE IF NOT EXISTS chunk(id bigserial PRIMARY KEY, series_id bigint NOT NULL,"
    " t_start bigint NOT NULL, t_end bigint NOT NULL, n integer NOT NULL,"
    " step bigint NOT NULL DEFAULT 0, data bytea NOT NULL);"
    /* The blobs are zstd already: no second compression attempt by TOAST. */
    "ALTER TABLE chunk ALTER COLUMN data SET STORAGE EXTERNAL;"
    "CREATE INDEX IF NOT EXISTS chunk_series ON chunk(series_id, t_start, t_end, step);"
    HREC_SQL
    "CREATE TABLE IF NOT EXISTS event(id bigserial PRIMARY KEY, device_id bigint NOT NULL,"
    " t_ms bigint NOT NULL, kind text NOT NULL, subject text, detail text,"
    " value double precision);"
    "CREATE INDEX IF NOT EXISTS event_device ON event(device_id, t_ms);"
    "CREATE TABLE IF NOT EXISTS state(device_id bigint NOT NULL, key text NOT NULL,"
    " value text NOT NULL, PRIMARY KEY(device_id, key));"
    "INSERT INTO meta(key, value) VALUES ('schema', '2') ON CONFLICT DO NOTHING;";

struct pg_be {
    PGconn *conn;
    char *conninfo;
    unsigned char prepared[_P_MAX];
    int reconnected;
    char err[256];
};

static struct pg_be *
BE(const struct store *st)
{
    return store_be(st);
}

/* Integers as text parameters. */
struct ints {
    char s[6][24];
};

static const char *
I(struct ints *b, int i, int64_t v)
{
    (void)snprintf(b->s[i], sizeof(b->s[i]), "%" PRId64, v);
    return b->s[i];
}

static int
res_err(struct pg_be *b, PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(b->conn);
    size_t n;

    (void)snprintf(b->err, sizeof(b->err), "%s", msg && *msg ? msg : "PostgreSQL error");
    n = strlen(b->err);
    while (n > 0 && (b->err[n - 1] == '\n' || b->err[n - 1] == ' '))
        b->err[--n] = '\0';
    if (PQstatus(b->conn) != CONNECTION_OK)
        return -ECONNRESET;
    if (!state)
        return -EIO;
    if (strcmp(state, "53100") == 0)
        return -ENOSPC;
    if (strncmp(state, "53", 2) == 0)
        return -ENOMEM;
    if (strcmp(state, "23505") == 0)
        return -EEXIST;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
        return -EBUSY;
    if (strncmp(state, "08", 2) == 0)
        return -ECONNRESET;
    if (strcmp(state, "25P02") == 0)
        return -ECANCELED;
    return -EIO;
}

/*
 * Run prepared statement id with n parameters (text, except those with a length in
 * lens and format 1). Returns the result (caller PQclear()s) or NULL with *ret_err.
 */
static PGresult *
run(struct pg_be *b, enum pstmt id, int n, const char *const *vals, const int *lens,
    const int *fmts, int binary_result, int *ret_err)
{
    char name[16];
    PGresult *res;
    ExecStatusType s;

    (void)snprintf(name, sizeof(name), "soak%d", (int)id);
    if (!b->prepared[id]) {
        res = PQprepare(b->conn, name, psql[id], 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            *ret_err = res_err(b, res);
            PQclear(res);
            return NULL;
        }
        PQclear(res);
        b->prepared[id] = 1;
    }
    res = PQexecPrepared(b->conn, name, n, vals, lens, fmts, binary_result);
    s = PQresultStatus(res);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        *ret_err = res_err(b, res);
        PQclear(res);
        return NULL;
    }
    return res;
}

static int
run_cmd(struct pg_be *b, enum pstmt id, int n, const char *const *vals)
{
    int r = 0;
    PGresult *res = run(b, id, n, vals, NULL, NULL, 0, &r);

    if (!res)
        return r;
    PQclear(res);
    return 0;
}

static int
exec_plain(struct pg_be *b, const char *sql)
{
    PGresult *res = PQexec(b->conn, sql);
    ExecStatusType s = PQresultStatus(res);
    int r = 0;

    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        r = res_err(b, res);
    PQclear(res);
    return r;
}

static int64_t
col_i64(PGresult *res, int row, int col)
{
    int64_t v = 0;

    if (PQgetisnull(res, row, col) || parse_i64(PQgetvalue(res, row, col), &v) < 0)
        return 0;
    return v;
}

/* An int8 column of a binary result. */
static int64_t
col_i64b(PGresult *res, int row, int col)
{
    uint64_t v;

    if (PQgetlength(res, row, col) != 8)
        return 0;
    memcpy(&v, PQgetvalue(res, row, col), 8);
    return (int64_t)be64toh(v);
}

static void
quiet_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static int
pg_connect(struct pg_be *b, char *err, size_t errlen)
{
    b->conn = PQconnectdb(b->conninfo);
    if (!b->conn)
        return -ENOMEM;
    if (PQstatus(b->conn) != CONNECTION_OK) {
        (void)snprintf(err, errlen, "%s", PQerrorMessage(b->conn));
        return -ECONNREFUSED;
    }
    (void)PQsetNoticeProcessor(b->conn, quiet_notice, NULL);
    memset(b->prepared, 0, sizeof(b->prepared));
    return 0;
}

static int
pg_open(struct store *st, const char *spec, char *err, size_t errlen)
{
    struct pg_be *b = calloc(1, sizeof(*b));
    int r;

    if (!b)
        return -ENOMEM;
    b->conninfo = strdup(spec);
    if (!b->conninfo) {
        free(b);
        return -ENOMEM;
    }
    r = pg_connect(b, err, errlen);
    if (r == 0) {
        /* Create the schema only when it is missing: its ALTER TABLE would otherwise take
         * an exclusive lock at every open, stalling the pollers for a `soak query`. */
        PGresult *res = PQexec(b->conn, "SELECT to_regclass('meta') IS NOT NULL");
        int have = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
                   strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (have)
            goto check_version;
        r = exec_plain(b, "BEGIN");
        if (r == 0)
            r = exec_plain(b, pg_schema);
        if (r == 0)
            r = exec_plain(b, "COMMIT");
        else
            (void)exec_plain(b, "ROLLBACK");
        if (r < 0)
            (void)snprintf(err, errlen, "creating the schema: %s", b->err);
    }
check_version:
    if (r == 0) {
        PGresult *res = PQexec(b->conn, "SELECT value FROM meta WHERE key = 'schema'");
        uint64_t v = 0;
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
            (parse_u64(PQgetvalue(res, 0, 0), &v) < 0 || v > STORE_SCHEMA_VERSION)) {
            (void)snprintf(err, errlen, "schema version %s is newer than this soak's",
                           PQgetvalue(res, 0, 0));
            r = -EPROTO;
        }
        PQclear(res);
    }
    if (r < 0) {
        PQfinish(b->conn);
        free(b->conninfo);
        free(b);
        return r;
    }
    store_set_be(st, b);
    return 0;
}

static void
pg_close(struct store *st)
{
    struct pg_be *b = BE(st);

    if (!b)
        return;
    PQfinish(b->conn);
    free(b->conninfo);
    free(b);
    store_set_be(st, NULL);
}

static int
pg_begin(struct store *st)
{
    struct pg_be *b = BE(st);

    if (PQstatus(b->conn) != CONNECTION_OK) {
        PQreset(b->conn);
        if (PQstatus(b->conn) != CONNECTION_OK) {
            (void)snprintf(b->err, sizeof(b->err), "%s", PQerrorMessage(b->conn));
            return -ECONNREFUSED;
        }
        memset(b->prepared, 0, sizeof(b->prepared));
        b->reconnected = 1;
    }
    return exec_plain(b, "BEGIN");
}

static int
pg_commit(struct store *st)
{
    return exec_plain(BE(st), "COMMIT");
}

static void
pg_rollback(struct store *st)
{
    struct pg_be *b = BE(st);

    if (PQtransactionStatus(b->conn) != PQTRANS_IDLE)
        (void)exec_plain(b, "ROLLBACK");
}

/* Only a reconnect invalidates everything; other writers are seen per device (pg_device_gen). */
static int
pg_changed(struct store *st)
{
    struct pg_be *b = BE(st);
    int changed = b->reconnected;

    b->reconnected = 0;
    return changed;
}

static int
pg_device_gen(struct store *st, int64_t dev, int64_t *ret_gen)
{
    struct ints v;
    const char *p[1] = {I(&v, 0, dev)};
    int r = 0;
    PGresult *res = run(BE(st), P_DEV_GEN, 1, p, NULL, NULL, 0, &r);

    if (!res)
        return r;
    *ret_gen = PQntuples(res) == 1 ? col_i64(res, 0, 0) : 0;
    PQclear(res);
    return 0;
}

static int
pg_device_get(struct store *st, const char *name, int create, int64_t *ret_id)
{
    struct pg_be *b = BE(st);
    const char *p[1] = {name};
    PGresult *res;
    int r = 0;

    for (int attempt = 0; attempt < 2; attempt++) {
        res = run(b, P_DEV_GET, 1, p, NULL, NULL, 0, &r);
        if (!res)
            return r;
        if (PQntuples(res) == 1) {
            *ret_id = col_i64(res, 0, 0);
            PQclear(res);
            return 0;
        }
        PQclear(res);
        if (!create)
            return -ENOENT;
        res = run(b, P_DEV_ADD, 1, p, NULL, NULL, 0, &r);
        if (!res)
            return r;
        if (PQntuples(res) == 1) {
            *ret_id = col_i64(res, 0, 0);
            PQclear(res);
            return 0;
        }
        PQclear(res); /* someone else added it meanwhile: look again */
    }
    return -EAGAIN;
}

static int
pg_devices(struct store *st, struct store_device **ret, size_t *ret_n)
{
    struct pg_be *b = BE(st);
    struct store_device *d;
    PGresult *res;
    int r = 0, n;

    res = run(b, P_DEVICES, 0, NULL, NULL, NULL, 0, &r);
    if (!res)
        return r;
    n = PQntuples(res);
    d = calloc((size_t)n + 1, sizeof(*d));
    if (!d) {
        PQclear(res);
        return -ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        d[i].id = col_i64(res, i, 0);
        d[i].name = strdup(PQgetvalue(res, i, 1));
        d[i].first_ms = col_i64(res, i, 2);
        d[i].last_ms = col_i64(res, i, 3);
        d[i].series = (size_t)col_i64(res, i, 4);
        if (!d[i].name) {
            store_devices_free(d, (size_t)i);
            PQclear(res);
            return -ENOMEM;
        }
    }
    PQclear(res);
    *ret = d;
    *ret_n = (size_t)n;
    return n;
}

static int
pg_device_touch(struct store *st, int64_t dev, int64_t t0, int64_t t1, int64_t *ret_gen)
{
    struct ints v;
    const char *p[3] = {I(&v, 0, dev), I(&v, 1, t0), I(&v, 2, t1)};
    int r = 0;
    PGresult *res = run(BE(st), P_DEV_TOUCH, 3, p, NULL, NULL, 0, &r);

    if (!res)
        return r;
    *ret_gen = PQntuples(res) == 1 ? col_i64(res, 0, 0) : 0;
    PQclear(res);
    return 0;
}

static int
pg_device_refresh(struct store *st, int64_t dev)
{
    struct ints v;
    const char *p[1] = {I(&v, 0, dev)};

    return run_cmd(BE(st), P_DEV_REFRESH, 1, p);
}

static int
pg_series_get(struct store *st, int64_t dev, const char *key, const char *metric, int create,
              int64_t *ret_id)
{
    struct pg_be *b = BE(st);
    struct ints v;
    const char *pg[2] = {I(&v, 0, dev), key};
    const char *pa[3] = {v.s[0], metric, key};
    PGresult *res;
    int r = 0;

    for (int attempt = 0; attempt < 2; attempt++) {
        res = run(b, P_SER_GET, 2, pg, NULL, NULL, 0, &r);
        if (!res)
            return r;
        if (PQntuples(res) == 1) {
            *ret_id = col_i64(res, 0, 0);
            PQclear(res);
            return 0;
        }
        PQclear(res);
        if (!create)
            return -ENOENT;
        res = run(b, P_SER_ADD, 3, pa, NULL, NULL, 0, &r);
        if (!res)
            return r;
        if (PQntuples(res) == 1) {
            *ret_id = col_i64(res, 0, 0);
            PQclear(res);
            return 0;
        }
        PQclear(res);
    }
    return -EAGAIN;
}

static int
pg_series_list(struct store *st, int64_t dev, const char *metric, char ***ret)
{
    struct pg_be *b = BE(st);
    struct ints v;
    const char *p[2] = {I(&v, 0, dev), metric};
    char **out = NULL;
    size_t n = 0;
    PGresult *res;
    int r = 0;

    res = run(b, metric ? P_SER_LIST : P_SER_LIST_ALL, metric ? 2 : 1, p, NULL, NULL, 0, &r);
    if (!res)
        return r;
    for (int i = 0; r == 0 && i < PQntuples(res); i++)
        r = store_strv_push(&out, &n, PQgetvalue(res, i, 0));
    PQclear(res);
    if (r == 0 && !out) {
        out = calloc(1, sizeof(char *));
        if (!out)
            r = -ENOMEM;
    }
    if (r < 0) {
        store_strv_free(out);
        return r;
    }
    *ret = out;
    return (int)n;
}

static int
ids_result(PGresult *res, store_id_fn fn, void *ctx)
{
    int r = 0;

    for (int i = 0; r == 0 && i < PQntuples(res); i++)
        r = fn(ctx, col_i64(res, i, 0));
    PQclear(res);
    return r;
}

static int
pg_series_ids(struct store *st, int64_t dev, store_id_fn fn, void *ctx)
{
    struct ints v;
    const char *p[1] = {I(&v, 0, dev)};
    int r = 0;
    PGresult *res =
        run(BE(st), dev < 0 ? P_SER_IDS_ALL : P_SER_IDS, dev < 0 ? 0 : 1, p, NULL, NULL, 0, &r);

    return res ? ids_result(res, fn, ctx) : r;
}

static int
pg_series_max(struct store *st, int64_t sid, int64_t *ret_max_t)
{
    struct ints v;
    const char *p[1] = {I(&v, 0, sid)};
    int r = 0;
    PGresult *res = run(BE(st), P_SER_MAX, 1, p, NULL, NULL, 0, &r);

    if (!res)
        return r;
    *ret_max_t = PQgetisnull(res, 0, 0) ? INT64_MIN : col_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

static int
pg_rec_info(struct store *st, int64_t dev, struct store_rec_info *ret)
{
    struct ints v;
    const char *p[1] = {I(&v, 0, dev)};
    int r = 0;
    PGresult *res = run(BE(st), P_REC_INFO, 1, p, NULL, NULL, 0, &r);

    if (!res)
        return r;
    ret->n = col_i64(res, 0, 0);
    ret->t_min = col_i64(res, 0, 1);
    ret->t_max = col_i64(res, 0, 2);
    ret->max_id = col_i64(res, 0, 3);
    PQclear(res);
    return 0;
}

static int
pg_rec_put(struct store *st, int64_t dev, int64_t t, size_t n, const void *blob, size_t len)
{
    struct ints v;
    const char *p[4] = {I(&v, 0, dev), I(&v, 1, t), I(&v, 2, (int64_t)n), blob};
    const int lens[4] = {0, 0, 0, (int)len};
    const int fmts[4] = {0, 0, 0, 1};

    if (len > INT32_MAX)
        return -E2BIG;
    {
        int r = 0;
        PGresult *res = run(BE(st), P_REC_PUT, 4, p, lens, fmts, 0, &r);
        if (!res)
            return r;
        PQclear(res);
    }
    return 0;
}

static int
pg_rec_get(struct store *st, int64_t dev, int64_t from, int64_t to, int del, store_rec_fn fn,
           void *ctx)
{
    struct ints v;
    const char *p[3] = {I(&v, 0, dev), I(&v, 1, from), I(&v, 2, to)};
    int r = 0;
    PGresult *res = run(BE(st), del ? P_REC_TAKE : P_REC_GET, 3, p, NULL, NULL, 1, &r);

    if (!res)
        return r;
    for (int i = 0; r == 0 && i < PQntuples(res); i++)
        r = fn(ctx, col_i64b(res, i, 0), col_i64b(res, i, 1), PQgetvalue(res, i, 2),
               (size_t)PQgetlength(res, i, 2));
    PQclear(res);
    return r;
}

static int
pg_rec_devices(struct store *st, store_id_fn fn, void *ctx)
{
    int r = 0;
    PGresult *res = run(BE(st), P_REC_DEVICES, 0, NULL, NULL, NULL, 0, &r);

    return res ? ids_result(res, fn, ctx) : r;
}

static int
pg_chunk_put(struct store *st, int64_t sid, int64_t t_start, int64_t t_end, size_t n, int64_t step,
             const void *blob, size_t len, int64_t *ret_id)
{
    struct ints v;
    const char *p[6] = {I(&v, 0, sid),        I(&v, 1, t_start), I(&v, 2, t_end),
                        I(&v, 3, (int64_t)n), I(&v, 4, step),    blob};
    const int lens[6] = {0, 0, 0, 0, 0, (int)len};
    const int fmts[6] = {0, 0, 0, 0, 0, 1};
    int r = 0;
    PGresult *res = run(BE(st), P_CHUNK_PUT, 6, p, lens, fmts, 0, &r);

    if (!res)
        return r;
    *ret_id = col_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

static int
chunk_result(PGresult *res, int want_blob, store_chunk_fn fn, void *ctx)
{
    int r = 0;

    for (int i = 0; r == 0 && i < PQntuples(res); i++) {
        const void *blob = want_blob ? PQgetvalue(res, i, 4) : NULL;
        size_t len = want_blob ? (size_t)PQgetlength(res, i, 4) : 0;
        r = fn(ctx, col_i64b(res, i, 0), col_i64b(res, i, 1), col_i64b(res, i, 2),
               col_i64b(res, i, 3), blob, len);
    }
    PQclear(res);
    return r;
}

static int
pg_chunk_scan(struct store *st, int64_t sid, int64_t from, int64_t to, int want_blob,
              store_chunk_fn fn, void *ctx)
{
    struct ints v;
    const char *p[3] = {I(&v, 0, sid), I(&v, 1, from), I(&v, 2, to)};
    int r = 0;
    PGresult *res = run(BE(st), want_blob ? P_CHUNK_SCAN : P_CHUNK_RANGES, 3, p, NULL, NULL, 1, &r);

    return res ? chunk_result(res, want_blob, fn, ctx) : r;
}

static int
pg_chunk_get(struct store *st, int64_t id, store_chunk_fn fn, void *ctx)
{
    struct ints v;
    const char *p[1] = {I(&v, 0, id)};
    int r = 0;
    PGresult *res = run(BE(st), P_CHUNK_GET, 1, p, NULL, NULL, 1, &r);

    return res ? chunk_result(res, 1, fn, ctx) : r;
}

static int
pg_chunk_del(struct store *st, int64_t id)
{
    struct ints v;
    const char *p[1] = {I(&v, 0, id)};

    return run_cmd(BE(st), P_CHUNK_DEL, 1, p);
}

static int
pg_event_add(struct store *st, struct store_event *ev)
{
    struct ints v;
    char val[32];
    const char *p[6] = {I(&v, 0, ev->device_id),
                        I(&v, 1, ev->t_ms),
                        store_event_kind_name(ev->kind),
                        ev->subject,
                        ev->detail,
                        NULL};
    int r = 0;
    PGresult *res;

    if (!isnan(ev->value)) {
        format_double(val, ev->value);
        if (isinf(ev->value))
            (void)snprintf(val, sizeof(val), "%s", ev->value > 0 ? "Infinity" : "-Infinity");
        p[5] = val;
    }
    res = run(BE(st), P_EV_ADD, 6, p, NULL, NULL, 0, &r);
    if (!res)
        return r;
    ev->id = col_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

static int
pg_events(struct store *st, int64_t dev, int64_t from, int64_t to, struct store_event_array *out)
{
    struct ints v;
    const char *pd[3] = {I(&v, 0, dev), I(&v, 1, from), I(&v, 2, to)};
    const char *pa[2] = {v.s[1], v.s[2]};
    int r = 0, n = 0;
    PGresult *res = dev < 0 ? run(BE(st), P_EV_ALL, 2, pa, NULL, NULL, 0, &r)
                            : run(BE(st), P_EV_DEV, 3, pd, NULL, NULL, 0, &r);

    if (!res)
        return r;
    for (int i = 0; r == 0 && i < PQntuples(res); i++) {
        struct store_event ev = {
            .id = col_i64(res, i, 0),
            .device_id = col_i64(res, i, 1),
            .t_ms = col_i64(res, i, 2),
            .value = NAN,
        };
        int k = store_event_kind_from_name(PQgetvalue(res, i, 3));
        if (k < 0)
            continue;
        ev.kind = (enum store_event_kind)k;
        if (!PQgetisnull(res, i, 6) && parse_double(PQgetvalue(res, i, 6), &ev.value) < 0) {
            const char *s = PQgetvalue(res, i, 6);
            ev.value = strcmp(s, "Infinity") == 0 ? INFINITY : -INFINITY;
        }
        r = store_event_array_push(out, &ev);
        if (r < 0)
            break;
        {
            struct store_event *e = &out->e[out->n - 1];
            if (!PQgetisnull(res, i, 4))
                e->subject = strdup(PQgetvalue(res, i, 4));
            if (!PQgetisnull(res, i, 5))
                e->detail = strdup(PQgetvalue(res, i, 5));
            if ((!PQgetisnull(res, i, 4) && !e->subject) || (!PQgetisnull(res, i, 5) && !e->detail))
                r = -ENOMEM;
        }
        n++;
    }
    PQclear(res);
    return r < 0 ? r : n;
}

static int
pg_state_get(struct store *st, int64_t dev, const char *key, char **ret)
{
    struct ints v;
    const char *p[2] = {I(&v, 0, dev), key};
    int r = 0;
    PGresult *res = run(BE(st), P_STATE_GET, 2, p, NULL, NULL, 0, &r);
    char *s;

    if (!res)
        return r;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return -ENOENT;
    }
    s = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!s)
        return -ENOMEM;
    *ret = s;
    return 0;
}

static int
pg_state_set(struct store *st, int64_t dev, const char *key, const char *value)
{
    struct ints v;
    const char *p[3] = {I(&v, 0, dev), key, value};

    return run_cmd(BE(st), P_STATE_SET, 3, p);
}

static int
pg_schema_get(struct store *st, int *ret_version)
{
    struct pg_be *b = BE(st);
    PGresult *res = PQexec(b->conn, "SELECT value FROM meta WHERE key = 'schema'");
    uint64_t v = 0;
    int r = 0;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        r = res_err(b, res);
    } else if (PQntuples(res) == 1) {
        if (parse_u64(PQgetvalue(res, 0, 0), &v) < 0 || v > INT32_MAX)
            v = INT32_MAX;
    }
    PQclear(res);
    if (r == 0)
        *ret_version = (int)v;
    return r;
}

static int
pg_v1_prepare(struct store *st)
{
    /* One upgrader at a time (the others then find version 2). */
    return exec_plain(BE(st), "SELECT pg_advisory_xact_lock(7370616);" HREC_SQL);
}

static int
pg_v1_head_series(struct store *st, store_id_fn fn, void *ctx)
{
    int r = 0;
    PGresult *res = run(BE(st), P_V1_SERIES, 0, NULL, NULL, NULL, 0, &r);

    return res ? ids_result(res, fn, ctx) : r;
}

static int
pg_v1_head_take(struct store *st, int64_t sid, struct sample_array *out)
{
    struct ints v;
    const char *p[1] = {I(&v, 0, sid)};
    int r = 0;
    PGresult *res = run(BE(st), P_V1_TAKE, 1, p, NULL, NULL, 0, &r);

    if (!res)
        return r;
    for (int i = 0; r == 0 && i < PQntuples(res); i++)
        r = sample_array_push(out, col_i64(res, i, 0), chunk_bits2d((uint64_t)col_i64(res, i, 1)));
    PQclear(res);
    return r;
}

static int
pg_v1_finish(struct store *st)
{
    struct pg_be *b = BE(st);

    int r = exec_plain(b, "DEALLOCATE ALL; DROP TABLE IF EXISTS head;"
                          " UPDATE meta SET value = '2' WHERE key = 'schema';");

    memset(b->prepared, 0, sizeof(b->prepared));
    return r;
}

static const char *
pg_errmsg(const struct store *st)
{
    struct pg_be *b = BE(st);
    return b ? b->err : "";
}

const struct store_ops store_pg_ops = {
    .version = 1,
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .changed = pg_changed,
    .device_get = pg_device_get,
    .devices = pg_devices,
    .device_touch = pg_device_touch,
    .device_gen = pg_device_gen,
    .device_refresh = pg_device_refresh,
    .series_get = pg_series_get,
    .series_list = pg_series_list,
    .series_ids = pg_series_ids,
    .series_max = pg_series_max,
    .rec_info = pg_rec_info,
    .rec_put = pg_rec_put,
    .rec_get = pg_rec_get,
    .rec_devices = pg_rec_devices,
    .chunk_put = pg_chunk_put,
    .chunk_scan = pg_chunk_scan,
    .chunk_get = pg_chunk_get,
    .chunk_del = pg_chunk_del,
    .event_add = pg_event_add,
    .events = pg_events,
    .state_get = pg_state_get,
    .state_set = pg_state_set,
    .errmsg = pg_errmsg,
    .schema_get = pg_schema_get,
    .v1_prepare = pg_v1_prepare,
    .v1_head_series = pg_v1_head_series,
    .v1_head_take = pg_v1_head_take,
    .v1_finish = pg_v1_finish,
};

#else /* !HAVE_LIBPQ */

static int
pg_open_unsupported(struct store *st, const char *spec, char *err, size_t errlen)
{
    (void)st;
    (void)spec;
    (void)snprintf(err, errlen, "this soak was built without PostgreSQL support (libpq)");
    return -EOPNOTSUPP;
}

const struct store_ops store_pg_ops = {
    .version = 1,
    .name = "postgresql",
    .open = pg_open_unsupported,
};

#endif
