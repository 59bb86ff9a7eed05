#!/usr/bin/env bash
# Embedded PostgreSQL/PostGIS + Redis for development (data under .data/).
#   scripts/services.sh start    start them (installing packages if needed), print URLs
#   scripts/services.sh env      start them and print `export DATABASE_URL=... REDIS_URL=...`
#                                (eval "$(scripts/services.sh env)")
#   scripts/services.sh status   show whether they run and where
#   scripts/services.sh stop     stop them cleanly (data is kept)
#   scripts/services.sh clean    stop them and delete .data (all local data!)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

cmd=${1:-status}
case $cmd in
    start)
        canvass_bootstrap services
        ;;
    env)
        canvass_bootstrap services
        printf 'export DATABASE_URL=%q\nexport REDIS_URL=%q\n' "$DATABASE_URL" "$REDIS_URL"
        ;;
    stop)
        [ -d "$CANVASS_DATA" ] || exit 0
        cv_with_lock cv_stop_services
        ;;
    status)
        rc=0
        cv_pg_layout
        if [ -f "$CV_PGDATA/PG_VERSION" ] && cv_pg_running "$(cat "$CV_PGDATA/PG_VERSION")"; then
            port=$(sed -n 4p "$CV_PGDATA/postmaster.pid")
            echo "postgres: running  postgresql+psycopg://$CANVASS_DB_USER@127.0.0.1:$port/$CANVASS_DB_NAME  (data: $CV_PGDATA)"
        else
            echo "postgres: stopped${CV_PGDATA:+  (data: $CV_PGDATA)}"; rc=3
        fi
        port=$(cv_port_get REDIS_PORT)
        if cv_redis_running "$port"; then
            echo "redis:    running  redis://127.0.0.1:$port/0  (data: $CV_REDIS_DIR)"
        else
            echo "redis:    stopped"; rc=3
        fi
        exit "$rc"
        ;;
    clean)
        [ -e "$CANVASS_DATA" ] || exit 0
        cv_with_lock cv_stop_services
        cv_pg_layout
        if [ -L "$CANVASS_DATA/pg" ]; then
            target=$(readlink -f "$CANVASS_DATA/pg")
            case $target in
                /var/tmp/canvass-*/pg) cv_log "Removing $(dirname "$target")"; rm -rf "$(dirname "$target")" ;;
            esac
        fi
        cv_log "Removing $CANVASS_DATA"
        rm -rf "$CANVASS_DATA"
        ;;
    *)
        echo "usage: $0 start|env|status|stop|clean" >&2
        exit 2
        ;;
esac
