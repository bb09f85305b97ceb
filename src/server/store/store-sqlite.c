/* SPDX-License-Identifier: MIT */
/*
 * store-sqlite.c - the SQLite back end (the default). WAL mode, prepared
 * statements only, synchronous=NORMAL unless the spec says "?sync=full".
 *
 * Spec: PATH[?sync=normal|full][&max_pages=N] (max_pages: SQLite's
 * max_page_count, which makes a database "full" early; for tests).
 */
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "store-backend.h"
#include "store-chunk.h"

enum stmt_id {
    S_DEV_GET,
    S_DEV_ADD,
    S_DEVICES,
    S_DEV_TOUCH,
    S_DEV_REFRESH,
    S_SER_GET,
    S_SER_ADD,
    S_SER_LIST,
    S_SER_LIST_ALL,
    S_SER_IDS,
    S_SER_IDS_ALL,
    S_SER_MAXC,
    S_REC_INFO,
    S_REC_PUT,
    S_REC_GET,
    S_REC_DEL,
    S_REC_DEVICES,
    S_V1_SERIES,
    S_V1_GET,
    S_V1_DEL,
    S_CHUNK_PUT,
    S_CHUNK_SCAN,
    S_CHUNK_RANGES,
    S_CHUNK_GET,
    S_CHUNK_DEL,
    S_EV_ADD,
    S_EV_DEV,
    S_EV_ALL,
    S_STATE_GET,
    S_STATE_SET,
    S_DATA_VERSION,
    S_BEGIN,
    S_COMMIT,
    _S_MAX,
};

static const char *const stmt_sql[_S_MAX] = {
    [S_DEV_GET] = "SELECT id FROM device WHERE name = ?1",
    [S_DEV_ADD] = "INSERT INTO device(name) VALUES (?1)",
    [S_DEVICES] = "SELECT d.id, d.name, d.first_ms, d.last_ms,"
                  " (SELECT count(*) FROM series s WHERE s.device_id = d.id)"
                  " FROM device d ORDER BY d.name",
    [S_DEV_TOUCH] = "UPDATE device SET"
                    " first_ms = CASE WHEN first_ms = 0 OR first_ms > ?2 THEN ?2 ELSE first_ms END,"
                    " last_ms = CASE WHEN last_ms = 0 OR last_ms < ?3 THEN ?3 ELSE last_ms END"
                    " WHERE id = ?1",
    [S_DEV_REFRESH] =
        "UPDATE device SET"
        " first_ms = coalesce((SELECT min(m) FROM ("
        "   SELECT min(c.t_start) AS m FROM chunk c JOIN series s ON c.series_id = s.id"
        "   WHERE s.device_id = ?1 UNION ALL"
        "   SELECT min(t) FROM hrec WHERE device_id = ?1)), 0),"
        " last_ms = coalesce((SELECT max(m) FROM ("
        "   SELECT max(c.t_end) AS m FROM chunk c JOIN series s ON c.series_id = s.id"
        "   WHERE s.device_id = ?1 UNION ALL"
        "   SELECT max(t) FROM hrec WHERE device_id = ?1)), 0)"
        " WHERE id = ?1",
    [S_SER_GET] = "SELECT id FROM series WHERE device_id = ?1 AND key = ?2",
    [S_SER_ADD] = "INSERT INTO series(device_id, metric, key) VALUES (?1, ?2, ?3)",
    [S_SER_LIST] = "SELECT key FROM series WHERE device_id = ?1 AND metric = ?2 ORDER BY key",
    [S_SER_LIST_ALL] = "SELECT key FROM series WHERE device_id = ?1 ORDER BY key",
    [S_SER_IDS] = "SELECT id FROM series WHERE device_id = ?1 ORDER BY id",
    [S_SER_IDS_ALL] = "SELECT id FROM series ORDER BY id",
    [S_SER_MAXC] = "SELECT max(t_end) FROM chunk WHERE series_id = ?1",
    [S_REC_INFO] = "SELECT count(*), min(t), max(t), max(id) FROM hrec WHERE device_id = ?1",
    [S_REC_PUT] = "INSERT INTO hrec(device_id, t, n, data) VALUES (?1, ?2, ?3, ?4)",
    [S_REC_GET] = "SELECT id, t, data FROM hrec WHERE device_id = ?1 AND t BETWEEN ?2 AND ?3"
                  " ORDER BY t, id",
    [S_REC_DEL] = "DELETE FROM hrec WHERE device_id = ?1 AND t BETWEEN ?2 AND ?3",
    [S_REC_DEVICES] = "SELECT DISTINCT device_id FROM hrec ORDER BY device_id",
    /* Schema 1's head table: only while upgrading (prepared on first use). */
    [S_V1_SERIES] = "SELECT DISTINCT series_id FROM head ORDER BY series_id",
    [S_V1_GET] = "SELECT t, v FROM head WHERE series_id = ?1 ORDER BY t",
    [S_V1_DEL] = "DELETE FROM head WHERE series_id = ?1",
    [S_CHUNK_PUT] = "INSERT INTO chunk(series_id, t_start, t_end, n, step, data)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_CHUNK_SCAN] = "SELECT id, t_start, t_end, step, data FROM chunk"
                     " WHERE series_id = ?1 AND t_start <= ?3 AND t_end >= ?2 ORDER BY t_start",
    [S_CHUNK_RANGES] = "SELECT id, t_start, t_end, step FROM chunk"
                       " WHERE series_id = ?1 AND t_start <= ?3 AND t_end >= ?2 ORDER BY t_start",
    [S_CHUNK_GET] = "SELECT id, t_start, t_end, step, data FROM chunk WHERE id = ?1",
    [S_CHUNK_DEL] = "DELETE FROM chunk WHERE id = ?1",
    [S_EV_ADD] = "INSERT INTO event(device_id, t_ms, kind, subject, detail, value)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_EV_DEV] = "SELECT id, device_id, t_ms, kind, subject, detail, value FROM event"
                 " WHERE device_id = ?1 AND t_ms BETWEEN ?2 AND ?3 ORDER BY t_ms, id",
    [S_EV_ALL] = "SELECT id, device_id, t_ms, kind, subject, detail, value FROM event"
                 " WHERE t_ms BETWEEN ?2 AND ?3 ORDER BY t_ms, id",
    [S_STATE_GET] = "SELECT value FROM state WHERE device_id = ?1 AND key = ?2",
    [S_STATE_SET] = "INSERT INTO state(device_id, key, value) VALUES (?1, ?2, ?3)"
                    " ON CONFLICT(device_id, key) DO UPDATE SET value = excluded.value",
    [S_DATA_VERSION] = "PRAGMA data_version",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS device(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " first_ms INTEGER NOT NULL DEFAULT 0, last_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS series(id INTEGER PRIMARY KEY, device_id INTEGER NOT NULL,"
    " metric TEXT NOT NULL, key TEXT NOT NULL, UNIQUE(device_id, key));"
    "CREATE INDEX IF NOT EXISTS series_metric ON series(device_id, metric);"
    /* A rowid table: chunks are appended in id order, so its pages fill up; only the small
     * index takes the scattered inserts. */
    "CREATE TABLE IF NOT EXISTS chunk(id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL,"
    " t_start INTEGER NOT NULL, t_end INTEGER NOT NULL, n INTEGER NOT NULL,"
    " step INTEGER NOT NULL DEFAULT 0, data BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS chunk_series ON chunk(series_id, t_start, t_end, step);"
    /* Head records: one row per device and poll time (store-chunk.h). AUTOINCREMENT: ids
     * are never reused, so (count, max id) tells a reader whether its copy is current. */
    "CREATE TABLE IF NOT EXISTS hrec(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " device_id INTEGER NOT NULL, t INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS hrec_device ON hrec(device_id, t);"
    "CREATE TABLE IF NOT EXISTS event(id INTEGER PRIMARY KEY, device_id INTEGER NOT NULL,"
    " t_ms INTEGER NOT NULL, kind TEXT NOT NULL, subject TEXT, detail TEXT, value REAL);"
    "CREATE INDEX IF NOT EXISTS event_device ON event(device_id, t_ms);"
    "CREATE TABLE IF NOT EXISTS state(device_id INTEGER NOT NULL, key TEXT NOT NULL,"
    " value TEXT NOT NULL, PRIMARY KEY(device_id, key)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', '2');";

struct sqlite_be {
    sqlite3 *db;
    sqlite3_stmt *stmt[_S_MAX];
    int64_t data_version;
    char err[256];
};

static struct sqlite_be *
BE(const struct store *st)
{
    return store_be(st);
}

static int
map_err(struct sqlite_be *b, int rc)
{
    (void)snprintf(b->err, sizeof(b->err), "%s", sqlite3_errmsg(b->db));
    switch (rc & 0xff) {
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return -EROFS;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return -EBADMSG;
    case SQLITE_CANTOPEN:
        return -ENOENT;
    case SQLITE_TOOBIG:
        return -E2BIG;
    case SQLITE_CONSTRAINT:
        return -EEXIST;
    default:
        return -EIO;
    }
}

/* The prepared statement id, reset and with bindings cleared. */
static sqlite3_stmt *
stmt(struct sqlite_be *b, enum stmt_id id, int *ret_err)
{
    sqlite3_stmt *s = b->stmt[id];
    int rc;

    if (!s) {
        rc = sqlite3_prepare_v3(b->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
        if (rc != SQLITE_OK) {
            *ret_err = map_err(b, rc);
            return NULL;
        }
        b->stmt[id] = s;
    }
    (void)sqlite3_reset(s);
    (void)sqlite3_clear_bindings(s);
    return s;
}

/* Run a statement that returns no rows. */
static int
run_done(struct sqlite_be *b, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    int r = rc == SQLITE_DONE ? 0 : map_err(b, rc);

    (void)sqlite3_reset(s);
    return r;
}

static int
exec_sql(struct sqlite_be *b, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(b->db, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK) {
        int r = map_err(b, rc);
        if (msg)
            (void)snprintf(b->err, sizeof(b->err), "%s", msg);
        sqlite3_free(msg);
        return r;
    }
    return 0;
}

static int
sq_open(struct store *st, const char *spec, char *err, size_t errlen)
{
    struct sqlite_be *b;
    char path[4096], pragma[128];
    const char *q = strchr(spec, '?');
    const char *sync = "NORMAL";
    uint64_t max_pages = 0;
    size_t plen = q ? (size_t)(q - spec) : strlen(spec);
    int rc, r;

    if (plen == 0 || plen >= sizeof(path)) {
        (void)snprintf(err, errlen, "bad database path");
        return -EINVAL;
    }
    memcpy(path, spec, plen);
    path[plen] = '\0';
    for (const char *o = q; o && *o;) {
        const char *v, *e;
        o++;
        e = o + strcspn(o, "&");
        v = memchr(o, '=', (size_t)(e - o));
        if (v && (size_t)(v - o) == 4 && memcmp(o, "sync", 4) == 0) {
            if ((size_t)(e - v - 1) == 4 && memcmp(v + 1, "full", 4) == 0)
                sync = "FULL";
            else if ((size_t)(e - v - 1) == 6 && memcmp(v + 1, "normal", 6) == 0)
                sync = "NORMAL";
            else
                goto bad_opt;
        } else if (v && (size_t)(v - o) == 9 && memcmp(o, "max_pages", 9) == 0) {
            char num[24];
            size_t n = (size_t)(e - v - 1);
            if (n == 0 || n >= sizeof(num))
                goto bad_opt;
            memcpy(num, v + 1, n);
            num[n] = '\0';
            if (parse_u64(num, &max_pages) < 0)
                goto bad_opt;
        } else {
            goto bad_opt;
        }
        o = e;
    }
    b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    rc = sqlite3_open_v2(path, &b->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        r = b->db ? map_err(b, rc) : -ENOMEM;
        (void)snprintf(err, errlen, "%s: %s", path, b->db ? sqlite3_errmsg(b->db) : "no memory");
        goto fail;
    }
    (void)sqlite3_busy_timeout(b->db, 10000);
    (void)snprintf(pragma, sizeof(pragma),
                   /* 16 KiB pages pack the ~1-3 KB chunk rows with less slack than 4 KiB
                    * (about 15 % smaller files); only takes effect on a new database. */
                   "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
                   " PRAGMA cache_size=-16384;"
                   " PRAGMA temp_store=MEMORY;",
                   sync);
    r = exec_sql(b, pragma);
    if (r == 0 && max_pages > 0) {
        (void)snprintf(pragma, sizeof(pragma), "PRAGMA max_page_count=%llu;",
                       (unsigned long long)max_pages);
        r = exec_sql(b, pragma);
    }
    if (r == 0)
        r = exec_sql(b, "BEGIN IMMEDIATE");
    if (r == 0) {
        r = exec_sql(b, schema_sql);
        if (r == 0)
            r = exec_sql(b, "COMMIT");
        else
            (void)exec_sql(b, "ROLLBACK");
    }
    if (r < 0) {
        (void)snprintf(err, errlen, "%s: %s", path, b->err);
        goto fail;
    }
    store_set_be(st, b);
    {
        /* Refuse a database from a newer soak. */
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(b->db, "SELECT value FROM meta WHERE key = 'schema'", -1, &s,
                               NULL) == SQLITE_OK &&
            sqlite3_step(s) == SQLITE_ROW) {
            uint64_t v = 0;
            const char *txt = (const char *)sqlite3_column_text(s, 0);
            if (!txt || parse_u64(txt, &v) < 0 || v > STORE_SCHEMA_VERSION) {
                sqlite3_finalize(s);
                (void)snprintf(err, errlen, "%s: schema version %s is newer than this soak's", path,
                               txt ? txt : "?");
                store_set_be(st, NULL);
                r = -EPROTO;
                goto fail;
            }
        }
        sqlite3_finalize(s);
    }
    return 0;
bad_opt:
    (void)snprintf(err, errlen, "bad SQLite option in '%s' (sync=normal|full, max_pages=N)", q);
    return -EINVAL;
fail:
    sqlite3_close_v2(b->db);
    free(b);
    return r;
}

static void
sq_close(struct store *st)
{
    struct sqlite_be *b = BE(st);

    if (!b)
        return;
    for (int i = 0; i < _S_MAX; i++)
        sqlite3_finalize(b->stmt[i]);
    sqlite3_close_v2(b->db);
    free(b);
    store_set_be(st, NULL);
}

/* BEGIN and COMMIT are prepared once: a poller runs them 200 times a second. */
static int
sq_begin(struct store *st)
{
    struct sqlite_be *b = BE(st);
    int r = 0;
    sqlite3_stmt *s = stmt(b, S_BEGIN, &r);

    return s ? run_done(b, s) : r;
}

static int
sq_commit(struct store *st)
{
    struct sqlite_be *b = BE(st);
    int r = 0;
    sqlite3_stmt *s = stmt(b, S_COMMIT, &r);

    return s ? run_done(b, s) : r;
}

static void
sq_rollback(struct store *st)
{
    struct sqlite_be *b = BE(st);

    if (!sqlite3_get_autocommit(b->db))
        (void)exec_sql(b, "ROLLBACK");
}

static int
sq_changed(struct store *st)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    int64_t v;
    int r = 0, rc, changed;

    s = stmt(b, S_DATA_VERSION, &r);
    if (!s)
        return r;
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return map_err(b, rc);
    v = sqlite3_column_int64(s, 0);
    (void)sqlite3_reset(s);
    changed = b->data_version != 0 && v != b->data_version;
    b->data_version = v;
    return changed;
}

static int
sq_device_get(struct store *st, const char *name, int create, int64_t *ret_id)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    int r = 0, rc;

    s = stmt(b, S_DEV_GET, &r);
    if (!s)
        return r;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *ret_id = sqlite3_column_int64(s, 0);
        (void)sqlite3_reset(s);
        return 0;
    }
    if (rc != SQLITE_DONE)
        return map_err(b, rc);
    if (!create)
        return -ENOENT;
    s = stmt(b, S_DEV_ADD, &r);
    if (!s)
        return r;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    r = run_done(b, s);
    if (r < 0)
        return r;
    *ret_id = sqlite3_last_insert_rowid(b->db);
    return 0;
}

static int
sq_devices(struct store *st, struct store_device **ret, size_t *ret_n)
{
    struct sqlite_be *b = BE(st);
    struct store_device *d = NULL;
    size_t n = 0;
    sqlite3_stmt *s;
    int r = 0, rc;

    s = stmt(b, S_DEVICES, &r);
    if (!s)
        return r;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_device *nd = realloc(d, (n + 1) * sizeof(*d));
        if (!nd) {
            r = -ENOMEM;
            break;
        }
        d = nd;
        d[n].id = sqlite3_column_int64(s, 0);
        d[n].name = strdup((const char *)sqlite3_column_text(s, 1));
        d[n].first_ms = sqlite3_column_int64(s, 2);
        d[n].last_ms = sqlite3_column_int64(s, 3);
        d[n].series = (size_t)sqlite3_column_int64(s, 4);
        if (!d[n].name) {
            r = -ENOMEM;
            break;
        }
        n++;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = map_err(b, rc);
    (void)sqlite3_reset(s);
    if (r < 0) {
        store_devices_free(d, n);
        return r;
    }
    *ret = d;
    *ret_n = n;
    return (int)n;
}

static int
sq_device_touch(struct store *st, int64_t dev, int64_t t0, int64_t t1, int64_t *ret_gen)
{
    struct sqlite_be *b = BE(st);
    int r = 0;
    sqlite3_stmt *s = stmt(b, S_DEV_TOUCH, &r);

    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, dev);
    sqlite3_bind_int64(s, 2, t0);
    sqlite3_bind_int64(s, 3, t1);
    *ret_gen = 0; /* SQLite: PRAGMA data_version (changed()) does the job */
    return run_done(b, s);
}

static int
sq_device_refresh(struct store *st, int64_t dev)
{
    struct sqlite_be *b = BE(st);
    int r = 0;
    sqlite3_stmt *s = stmt(b, S_DEV_REFRESH, &r);

    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, dev);
    return run_done(b, s);
}

static int
sq_series_get(struct store *st, int64_t dev, const char *key, const char *metric, int create,
              int64_t *ret_id)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    int r = 0, rc;

    s = stmt(b, S_SER_GET, &r);
    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, dev);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *ret_id = sqlite3_column_int64(s, 0);
        (void)sqlite3_reset(s);
        return 0;
    }
    if (rc != SQLITE_DONE)
        return map_err(b, rc);
    if (!create)
        return -ENOENT;
    s = stmt(b, S_SER_ADD, &r);
    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, dev);
    sqlite3_bind_text(s, 2, metric, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
    r = run_done(b, s);
    if (r < 0)
        return r;
    *ret_id = sqlite3_last_insert_rowid(b->db);
    return 0;
}

static int
sq_series_list(struct store *st, int64_t dev, const char *metric, char ***ret)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    char **v = NULL;
    size_t n = 0;
    int r = 0, rc;

    s = stmt(b, metric ? S_SER_LIST : S_SER_LIST_ALL, &r);
    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, dev);
    if (metric)
        sqlite3_bind_text(s, 2, metric, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        r = store_strv_push(&v, &n, (const char *)sqlite3_column_text(s, 0));
        if (r < 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = map_err(b, rc);
    (void)sqlite3_reset(s);
    if (r == 0 && !v) {
        v = calloc(1, sizeof(char *));
        if (!v)
            r = -ENOMEM;
    }
    if (r < 0) {
        store_strv_free(v);
        return r;
    }
    *ret = v;
    return (int)n;
}

static int
sq_series_ids(struct store *st, int64_t dev, store_id_fn fn, void *ctx)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    int r = 0, rc;

    s = stmt(b, dev < 0 ? S_SER_IDS_ALL : S_SER_IDS, &r);
    if (!s)
        return r;
    if (dev >= 0)
        sqlite3_bind_int64(s, 1, dev);
    while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
        r = fn(ctx, sqlite3_column_int64(s, 0));
    if (r == 0 && rc != SQLITE_DONE)
        r = map_err(b, rc);
    (void)sqlite3_reset(s);
    return r;
}

static int
sq_series_max(struct store *st, int64_t sid, int64_t *ret_max_t)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    int r = 0, rc;

    s = stmt(b, S_SER_MAXC, &r);
    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, sid);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return map_err(b, rc);
    *ret_max_t = sqlite3_column_type(s, 0) != SQLITE_NULL ? sqlite3_column_int64(s, 0) : INT64_MIN;
    (void)sqlite3_reset(s);
    return 0;
}

static int
sq_rec_info(struct store *st, int64_t dev, struct store_rec_info *ret)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    int r = 0, rc;

    s = stmt(b, S_REC_INFO, &r);
    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, dev);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return map_err(b, rc);
    ret->n = sqlite3_column_int64(s, 0);
    ret->t_min = sqlite3_column_int64(s, 1);
    ret->t_max = sqlite3_column_int64(s, 2);
    ret->max_id = sqlite3_column_int64(s, 3);
    (void)sqlite3_reset(s);
    return 0;
}

static int
sq_rec_put(struct store *st, int64_t dev, int64_t t, size_t n, const void *blob, size_t len)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    int r = 0;

    if (len > INT32_MAX)
        return -E2BIG;
    s = stmt(b, S_REC_PUT, &r);
    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, dev);
    sqlite3_bind_int64(s, 2, t);
    sqlite3_bind_int64(s, 3, (int64_t)n);
    sqlite3_bind_blob(s, 4, blob, (int)len, SQLITE_STATIC);
    return run_done(b, s);
}

static int
sq_rec_get(struct store *st, int64_t dev, int64_t from, int64_t to, int del, store_rec_fn fn,
           void *ctx)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    int r = 0, rc;

    s = stmt(b, S_REC_GET, &r);
    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, dev);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, to);
    while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
        r = fn(ctx, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
               sqlite3_column_blob(s, 2), (size_t)sqlite3_column_bytes(s, 2));
    if (r == 0 && rc != SQLITE_DONE)
        r = map_err(b, rc);
    (void)sqlite3_reset(s);
    if (r < 0 || !del)
        return r;
    s = stmt(b, S_REC_DEL, &r);
    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, dev);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, to);
    return run_done(b, s);
}

static int
id_rows(struct sqlite_be *b, sqlite3_stmt *s, store_id_fn fn, void *ctx)
{
    int r = 0, rc;

    while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
        r = fn(ctx, sqlite3_column_int64(s, 0));
    if (r == 0 && rc != SQLITE_DONE)
        r = map_err(b, rc);
    (void)sqlite3_reset(s);
    return r;
}

static int
sq_rec_devices(struct store *st, store_id_fn fn, void *ctx)
{
    struct sqlite_be *b = BE(st);
    int r = 0;
    sqlite3_stmt *s = stmt(b, S_REC_DEVICES, &r);

    return s ? id_rows(b, s, fn, ctx) : r;
}

static int
sq_chunk_put(struct store *st, int64_t sid, int64_t t_start, int64_t t_end, size_t n, int64_t step,
             const void *blob, size_t len, int64_t *ret_id)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    int r = 0;

    s = stmt(b, S_CHUNK_PUT, &r);
    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, sid);
    sqlite3_bind_int64(s, 2, t_start);
    sqlite3_bind_int64(s, 3, t_end);
    sqlite3_bind_int64(s, 4, (int64_t)n);
    sqlite3_bind_int64(s, 5, step);
    sqlite3_bind_blob(s, 6, blob, (int)len, SQLITE_STATIC);
    r = run_done(b, s);
    if (r < 0)
        return r;
    *ret_id = sqlite3_last_insert_rowid(b->db);
    return 0;
}

static int
chunk_rows(struct sqlite_be *b, sqlite3_stmt *s, int want_blob, store_chunk_fn fn, void *ctx)
{
    int r = 0, rc;

    while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const void *blob = NULL;
        size_t len = 0;
        if (want_blob) {
            blob = sqlite3_column_blob(s, 4);
            len = (size_t)sqlite3_column_bytes(s, 4);
        }
        r = fn(ctx, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
               sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 3), blob, len);
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = map_err(b, rc);
    (void)sqlite3_reset(s);
    return r;
}

static int
sq_chunk_scan(struct store *st, int64_t sid, int64_t from, int64_t to, int want_blob,
              store_chunk_fn fn, void *ctx)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    int r = 0;

    s = stmt(b, want_blob ? S_CHUNK_SCAN : S_CHUNK_RANGES, &r);
    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, sid);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, to);
    return chunk_rows(b, s, want_blob, fn, ctx);
}

static int
sq_chunk_get(struct store *st, int64_t id, store_chunk_fn fn, void *ctx)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    int r = 0;

    s = stmt(b, S_CHUNK_GET, &r);
    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, id);
    return chunk_rows(b, s, 1, fn, ctx);
}

static int
sq_chunk_del(struct store *st, int64_t id)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    int r = 0;

    s = stmt(b, S_CHUNK_DEL, &r);
    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, id);
    return run_done(b, s);
}

static int
sq_event_add(struct store *st, struct store_event *ev)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    int r = 0;

    s = stmt(b, S_EV_ADD, &r);
    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, ev->device_id);
    sqlite3_bind_int64(s, 2, ev->t_ms);
    sqlite3_bind_text(s, 3, store_event_kind_name(ev->kind), -1, SQLITE_STATIC);
    if (ev->subject)
        sqlite3_bind_text(s, 4, ev->subject, -1, SQLITE_STATIC);
    if (ev->detail)
        sqlite3_bind_text(s, 5, ev->detail, -1, SQLITE_STATIC);
    if (!isnan(ev->value))
        sqlite3_bind_double(s, 6, ev->value);
    r = run_done(b, s);
    if (r < 0)
        return r;
    ev->id = sqlite3_last_insert_rowid(b->db);
    return 0;
}

static int
sq_events(struct store *st, int64_t dev, int64_t from, int64_t to, struct store_event_array *out)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    int r = 0, rc, n = 0;

    s = stmt(b, dev < 0 ? S_EV_ALL : S_EV_DEV, &r);
    if (!s)
        return r;
    if (dev >= 0)
        sqlite3_bind_int64(s, 1, dev);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, to);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_event ev = {
            .id = sqlite3_column_int64(s, 0),
            .device_id = sqlite3_column_int64(s, 1),
            .t_ms = sqlite3_column_int64(s, 2),
            .value = sqlite3_column_type(s, 6) == SQLITE_NULL ? NAN : sqlite3_column_double(s, 6),
        };
        int k = store_event_kind_from_name((const char *)sqlite3_column_text(s, 3));
        if (k < 0)
            continue; /* a kind from a newer soak */
        ev.kind = (enum store_event_kind)k;
        r = store_event_array_push(out, &ev);
        if (r < 0)
            break;
        n++;
        {
            struct store_event *e = &out->e[out->n - 1];
            const char *subj = (const char *)sqlite3_column_text(s, 4);
            const char *det = (const char *)sqlite3_column_text(s, 5);
            e->subject = subj ? strdup(subj) : NULL;
            e->detail = det ? strdup(det) : NULL;
            if ((subj && !e->subject) || (det && !e->detail)) {
                r = -ENOMEM;
                break;
            }
        }
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = map_err(b, rc);
    (void)sqlite3_reset(s);
    return r < 0 ? r : n;
}

static int
sq_state_get(struct store *st, int64_t dev, const char *key, char **ret)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    int r = 0, rc;

    s = stmt(b, S_STATE_GET, &r);
    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, dev);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        char *v = strdup((const char *)sqlite3_column_text(s, 0));
        (void)sqlite3_reset(s);
        if (!v)
            return -ENOMEM;
        *ret = v;
        return 0;
    }
    (void)sqlite3_reset(s);
    return rc == SQLITE_DONE ? -ENOENT : map_err(b, rc);
}

static int
sq_state_set(struct store *st, int64_t dev, const char *key, const char *value)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    int r = 0;

    s = stmt(b, S_STATE_SET, &r);
    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, dev);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, value, -1, SQLITE_STATIC);
    return run_done(b, s);
}

static int
sq_schema_get(struct store *st, int *ret_version)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s = NULL;
    uint64_t v = 0;
    int rc;

    rc = sqlite3_prepare_v2(b->db, "SELECT value FROM meta WHERE key = 'schema'", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return map_err(b, rc);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const char *txt = (const char *)sqlite3_column_text(s, 0);
        if (!txt || parse_u64(txt, &v) < 0 || v > INT32_MAX)
            v = INT32_MAX;
    } else if (rc != SQLITE_DONE) {
        int r = map_err(b, rc);
        sqlite3_finalize(s);
        return r;
    }
    sqlite3_finalize(s);
    *ret_version = (int)v;
    return 0;
}

static int
sq_v1_prepare(struct store *st)
{
    (void)st; /* schema_sql created hrec at open (IF NOT EXISTS) */
    return 0;
}

static int
sq_v1_head_series(struct store *st, store_id_fn fn, void *ctx)
{
    struct sqlite_be *b = BE(st);
    int r = 0;
    sqlite3_stmt *s = stmt(b, S_V1_SERIES, &r);

    return s ? id_rows(b, s, fn, ctx) : r;
}

static int
sq_v1_head_take(struct store *st, int64_t sid, struct sample_array *out)
{
    struct sqlite_be *b = BE(st);
    sqlite3_stmt *s;
    int r = 0, rc;

    s = stmt(b, S_V1_GET, &r);
    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, sid);
    while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
        r = sample_array_push(out, sqlite3_column_int64(s, 0),
                              chunk_bits2d((uint64_t)sqlite3_column_int64(s, 1)));
    if (r == 0 && rc != SQLITE_DONE)
        r = map_err(b, rc);
    (void)sqlite3_reset(s);
    if (r < 0)
        return r;
    s = stmt(b, S_V1_DEL, &r);
    if (!s)
        return r;
    sqlite3_bind_int64(s, 1, sid);
    return run_done(b, s);
}

static int
sq_v1_finish(struct store *st)
{
    struct sqlite_be *b = BE(st);

    /* The statements on the old table go before it does. */
    for (int i = S_V1_SERIES; i <= S_V1_DEL; i++) {
        sqlite3_finalize(b->stmt[i]);
        b->stmt[i] = NULL;
    }
    return exec_sql(b, "DROP TABLE IF EXISTS head;"
                       " UPDATE meta SET value = '2' WHERE key = 'schema';");
}

static const char *
sq_errmsg(const struct store *st)
{
    struct sqlite_be *b = BE(st);
    return b ? b->err : "";
}

const struct store_ops store_sqlite_ops = {
    .version = 1,
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .changed = sq_changed,
    .device_get = sq_device_get,
    .devices = sq_devices,
    .device_touch = sq_device_touch,
    .device_refresh = sq_device_refresh,
    .series_get = sq_series_get,
    .series_list = sq_series_list,
    .series_ids = sq_series_ids,
    .series_max = sq_series_max,
    .rec_info = sq_rec_info,
    .rec_put = sq_rec_put,
    .rec_get = sq_rec_get,
    .rec_devices = sq_rec_devices,
    .chunk_put = sq_chunk_put,
    .chunk_scan = sq_chunk_scan,
    .chunk_get = sq_chunk_get,
    .chunk_del = sq_chunk_del,
    .event_add = sq_event_add,
    .events = sq_events,
    .state_get = sq_state_get,
    .state_set = sq_state_set,
    .errmsg = sq_errmsg,
    .schema_get = sq_schema_get,
    .v1_prepare = sq_v1_prepare,
    .v1_head_series = sq_v1_head_series,
    .v1_head_take = sq_v1_head_take,
    .v1_finish = sq_v1_finish,
};
