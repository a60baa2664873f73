#!/usr/bin/env bash
# CI, PostgreSQL pass: the whole integration suite on PostgreSQL.
#
# Makes sure the local PostgreSQL (127.0.0.1:5432, trust auth) is running, starting it if
# not; creates a fresh database for this run, runs `cargo test --test api` on it (the
# multi-node tests make their own databases on the same server), and drops the database
# at the end. If PostgreSQL cannot be reached, this fails: no silent skip.
#
# `.ci/postgres.sh ensure` only makes sure the server is up (the SQLite pass needs it
# too: its multi-node tests run on PostgreSQL).
#
# Environment: PGHOST/PGPORT/PGUSER override the server (defaults 127.0.0.1, 5432,
# postgres).
set -euo pipefail
cd "$(dirname "$0")/.."

host="${PGHOST:-127.0.0.1}"
port="${PGPORT:-5432}"
user="${PGUSER:-postgres}"
server="postgres://${user}@${host}:${port}"

psql_admin() {
    psql "${server}/postgres" -v ON_ERROR_STOP=1 -qtA "$@"
}

echo "== PostgreSQL at ${host}:${port}"
if ! command -v psql >/dev/null; then
    echo "FAIL: psql is not installed; the PostgreSQL pass cannot run" >&2
    exit 1
fi
if ! pg_isready -h "$host" -p "$port" -q; then
    echo "PostgreSQL is not answering; starting it"
    if [ -d /etc/postgresql ]; then
        for version in $(ls /etc/postgresql); do
            pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        done
    fi
    for _ in $(seq 1 30); do
        pg_isready -h "$host" -p "$port" -q && break
        sleep 1
    done
fi
if ! pg_isready -h "$host" -p "$port" -q; then
    echo "FAIL: PostgreSQL at ${host}:${port} cannot be reached" >&2
    exit 1
fi
psql_admin -c "SELECT version()"
if [ "${1:-}" = "ensure" ]; then
    exit 0
fi

db="userplane_ci_$(date +%s)_$$_${RANDOM}"
drop_db() {
    psql_admin -c "DROP DATABASE IF EXISTS ${db} WITH (FORCE)" >/dev/null || true
}
trap drop_db EXIT
psql_admin -c "CREATE DATABASE ${db}"
echo "fresh database: ${db}"

echo "== tests (PostgreSQL)"
USERPLANE_TEST_DATABASE_URL="${server}/${db}" \
USERPLANE_TEST_POSTGRES_URL="${server}/postgres" \
    cargo test --test api
