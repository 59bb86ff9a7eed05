#!/usr/bin/env bash
# shellcheck disable=SC2317  # cleanup functions are only called from traps
# `make test`: bootstrap, create a throwaway database, run pytest, drop the database.
#   make test PYTEST_ARGS='-k foo -x'      (extra arguments to this script go to pytest too)
#
# Runs scripts/lint.sh first (CANVASS_SKIP_LINT=1 skips it for a quick targeted run).
# Honours TEST_DATABASE_URL (a throwaway database is created on that server and dropped
# afterwards; TEST_DB_THROWAWAY=0 uses the URL as is), TEST_REDIS_URL (default: the
# embedded Redis, db 15), CANVASS_KEEP_SERVICES=1 (leave embedded services running).
# Exports to pytest: TEST_DATABASE_URL, TEST_REDIS_URL, and DATABASE_URL/REDIS_URL set to
# the same values so nothing under test can touch the development database.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

TEST_DB=
PGB_DB=
ADMIN_URL=

on_exit() {
    local rc=$?
    trap '' INT TERM
    if [ -n "$TEST_DB" ]; then
        cv_sql "$ADMIN_URL" "drop database if exists \"$TEST_DB\" with (force)" >/dev/null 2>&1 ||
            cv_sql "$ADMIN_URL" "drop database if exists \"$TEST_DB\"" >/dev/null ||
            cv_warn "could not drop test database $TEST_DB"
    fi
    if [ -n "${PGB_DB:-}" ]; then
        cv_sql "$ADMIN_URL" "drop database if exists \"$PGB_DB\" with (force)" >/dev/null 2>&1 || true
    fi
    cv_stop_started
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

canvass_bootstrap test
cd "$CANVASS_ROOT"
# Lint first: a finding fails the run before the slower tests start (CI runs exactly this).
[ "${CANVASS_SKIP_LINT:-0}" = 1 ] || bash scripts/lint.sh

# postgresql+driver://user@host:port/db?query -> parts
url_re='^(postgres(ql)?)(\+[A-Za-z0-9_]+)?(://[^/?]*)(/[^?]*)?(\?.*)?$'

if [ -n "${TEST_DATABASE_URL:-}" ]; then
    [[ $TEST_DATABASE_URL =~ $url_re ]] || cv_die "cannot parse TEST_DATABASE_URL"
    driver=${BASH_REMATCH[3]:-+psycopg}
    server=${BASH_REMATCH[4]}
    query=${BASH_REMATCH[6]}
    ADMIN_URL="postgresql$server${BASH_REMATCH[5]:-/postgres}$query"
    where="the server of TEST_DATABASE_URL"
else
    driver=+psycopg
    [[ $CANVASS_PG_ADMIN_URL =~ $url_re ]]
    server=${BASH_REMATCH[4]}
    query=
    ADMIN_URL=$CANVASS_PG_ADMIN_URL
    where="the embedded cluster"
fi

if [ -n "${TEST_DATABASE_URL:-}" ] && [ "${TEST_DB_THROWAWAY:-1}" = 0 ]; then
    cv_log "Using TEST_DATABASE_URL as is (TEST_DB_THROWAWAY=0)"
else
    name="canvass_test_$$_$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
    [ "$(cv_sql "$ADMIN_URL" "select count(*) from pg_available_extensions where name = 'postgis'")" = 1 ] ||
        cv_die "PostGIS is not available on $where"
    cv_sql "$ADMIN_URL" "create database \"$name\"" || cv_die "could not create database $name on $where"
    TEST_DB=$name
    export TEST_DATABASE_URL="postgresql$driver$server/$name$query"
fi

# The embedded test stack (scripts/bootstrap.sh): the same database read through the streaming replica.
if [ -n "$TEST_DB" ] && [ -n "${TEST_REPLICA_PORT:-}" ] && [ -z "${TEST_READ_DATABASE_URL:-}" ]; then
    export TEST_READ_DATABASE_URL="postgresql$driver://$CANVASS_DB_USER@127.0.0.1:$TEST_REPLICA_PORT/$TEST_DB"
fi
export TEST_DATABASE_URL TEST_REDIS_URL
export DATABASE_URL=$TEST_DATABASE_URL REDIS_URL=$TEST_REDIS_URL
cv_log "Test database: $(cv_redact "$TEST_DATABASE_URL")"
cv_log "Test Redis:    $(cv_redact "$TEST_REDIS_URL")"

args=()
[ -n "${PYTEST_ARGS:-}" ] && eval "args=($PYTEST_ARGS)"
args+=("$@")

rc=0
"$CANVASS_VENV/bin/pytest" ${args[@]+"${args[@]}"} || rc=$?
if [ "$rc" = 5 ]; then
    cv_warn "pytest collected no tests; treating that as a failure"
fi

# Second pass: the tests marked `pgbouncer` (sync, leases, rollups, migrations) again, through a real
# PgBouncer in transaction mode, on a database of their own migrated through it (docs/scaling.md).
# Part of the full run; a targeted run does it when CANVASS_TEST_PGBOUNCER=1.
if [ "$rc" = 0 ] && { [ -z "${PYTEST_ARGS:-}" ] && [ "$#" = 0 ] || [ "${CANVASS_TEST_PGBOUNCER:-0}" = 1 ]; }; then
    if [ -z "$TEST_DB" ] || [ -z "${TEST_PGBOUNCER_PORT:-}" ]; then
        cv_warn "no embedded PgBouncer: the pass through a pooler is skipped"
    else
        PGB_DB=${TEST_DB}_pgbouncer
        # Only the subset's files: collecting the whole suite to deselect it costs half a minute.
        read -r -a pgb_files < <("$CANVASS_VENV/bin/python" -c \
            'from tests.conftest import PGBOUNCER_SUBSET; print(" ".join(PGBOUNCER_SUBSET))')
        cv_sql "$ADMIN_URL" "create database \"$PGB_DB\"" || cv_die "could not create database $PGB_DB"
        cv_log "Tests marked pgbouncer, through PgBouncer (transaction mode) on 127.0.0.1:$TEST_PGBOUNCER_PORT"
        TEST_DATABASE_URL="postgresql$driver://$CANVASS_DB_USER@127.0.0.1:$TEST_PGBOUNCER_PORT/$PGB_DB" \
            DATABASE_URL="postgresql$driver://$CANVASS_DB_USER@127.0.0.1:$TEST_PGBOUNCER_PORT/$PGB_DB" \
            TEST_DATABASE_POOLER=transaction TEST_READ_DATABASE_URL= \
            "$CANVASS_VENV/bin/pytest" -q -p no:cacheprovider -m pgbouncer "${pgb_files[@]}" || rc=$?
        cv_sql "$ADMIN_URL" "drop database if exists \"$PGB_DB\" with (force)" >/dev/null ||
            cv_warn "could not drop test database $PGB_DB"
    fi
fi
exit "$rc"
