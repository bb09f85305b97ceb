#!/bin/sh
# Run the store unit tests against a throwaway PostgreSQL server (tests/lib/pg.sh).
# Exit 77 (skip) when the PostgreSQL server binaries are not installed.
set -u
SRC=${SOAK_SRC:?SOAK_SRC not set}
BUILD=${SOAK_BUILD:?SOAK_BUILD not set}
. "$SRC/tests/lib/pg.sh"
if ! pg_available; then
    echo "PostgreSQL server binaries not found (apt-get install postgresql): skipping" >&2
    exit 77
fi
trap pg_stop EXIT INT TERM
pg_start || { echo "could not start PostgreSQL" >&2; exit 1; }
SOAK_TEST_STORE=$PG_URL "$BUILD/tests/unit/server/store/test-store"
