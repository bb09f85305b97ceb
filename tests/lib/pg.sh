# shellcheck shell=sh
# tests/lib/pg.sh - start and stop a throwaway PostgreSQL server for tests.
#
# Source it, then:
#   pg_available || skip        # 1 when the server binaries are missing
#   pg_start                    # sets PG_URL (a libpq URI), PG_DIR, PG_PORT
#   ... use "$PG_URL" ...
#   pg_stop                     # stops the server and removes everything
#
# The cluster lives in a fresh temporary directory, listens on a Unix socket in
# that directory only (no TCP), on a random port number, with trust
# authentication, as the invoking user; root cannot run postgres, so as root the
# server runs as the 'postgres' user (runuser). fsync is off: the data is thrown away.

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PG_DIR=
PG_PORT=
PG_URL=
PG_AS=

pg_available() {
    [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] || return 1
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1 || return 1
    fi
    return 0
}

pg_start() {
    PG_DIR=$(mktemp -d /tmp/soak-pg-XXXXXX) || return 1
    chmod 755 "$PG_DIR"
    PG_PORT=$(awk 'BEGIN { srand(); print 20000 + int(rand() * 40000) }')
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$PG_DIR"
        PG_AS="runuser -u postgres --"
    fi
    if ! $PG_AS "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --no-sync \
        >"$PG_DIR/initdb.log" 2>&1; then
        cat "$PG_DIR/initdb.log" >&2
        return 1
    fi
    if ! $PG_AS "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
        -o "-c listen_addresses= -k $PG_DIR -p $PG_PORT -c fsync=off -c full_page_writes=off" \
        start >/dev/null 2>&1; then
        cat "$PG_DIR/server.log" >&2
        return 1
    fi
    if ! $PG_AS "$PG_BIN/createdb" -h "$PG_DIR" -p "$PG_PORT" -U postgres soak; then
        pg_stop
        return 1
    fi
    PG_URL="postgresql://postgres@/soak?host=$PG_DIR&port=$PG_PORT"
    export PG_URL PG_DIR PG_PORT
}

# Run SQL against the test database (psql), e.g. pg_sql "SELECT 1".
pg_sql() {
    $PG_AS "$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -d soak -qAtX -c "$1"
}

pg_stop() {
    [ -n "$PG_DIR" ] || return 0
    if [ -d "$PG_DIR/data" ]; then
        $PG_AS "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
    fi
    rm -rf "$PG_DIR"
    PG_DIR=
}
