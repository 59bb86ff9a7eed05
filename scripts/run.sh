#!/usr/bin/env bash
# shellcheck disable=SC2317  # cleanup functions are only called from traps
# `make run`: bootstrap, migrate, seed the demo org (first time only), then supervise
# web + worker + cron (scripts/supervise.sh): a process that exits is started again, after
# 1 s, 2 s, 4 s ... up to 30 s (back to 1 s once it has stayed up a minute); the web server
# too. Ctrl-C, SIGTERM or SIGHUP (also when started in the background, `make run &`) stops
# everything cleanly, including the embedded PostgreSQL/Redis this run started; data in .data/
# is kept.
#
# Honours PORT (default 8000), DATABASE_URL, REDIS_URL, .env, CANVASS_KEEP_SERVICES=1.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/supervise.sh"
sv_reexec_with_default_signals "$0" "$@"   # before anything starts: `make run &` must stop on SIGINT
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

on_exit() {
    local rc=$?
    set +e   # a failed write (the pipe's reader died with the same Ctrl-C) must not end the cleanup
    # Neither a second Ctrl-C, a closed pipe (make run | tee) nor a closed terminal may cut the cleanup short.
    trap '' INT TERM PIPE HUP
    sv_stop_all
    cv_stop_started
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP   # the terminal went away: stop everything as for Ctrl-C

WEB_PORT=${PORT:-8000}
API_URL="http://127.0.0.1:$WEB_PORT"
cv_port_free "$WEB_PORT" ||
    cv_die "port $WEB_PORT is already in use; run with another one, e.g. make run PORT=8080"

canvass_bootstrap run
cd "$CANVASS_ROOT"
export PYTHONUNBUFFERED=1
command -v canvass >/dev/null 2>&1 ||
    cv_die "the 'canvass' command is missing from .venv (pip install -e '.[test]' should provide it)"

cv_log "Applying database migrations (canvass db upgrade)"
canvass db upgrade

cv_log "Seeding demo data if the database is empty (canvass demo --if-empty)"
demo_out=$(canvass demo --if-empty)
[ -n "$demo_out" ] && printf '%s\n' "$demo_out"
LOGINS_FILE=$CANVASS_DATA/demo-logins.txt
if [ -n "$demo_out" ] && [ -n "$(printf '%s\n' "$demo_out" | grep -iE 'password|login' || true)" ]; then
    # remember the logins (from the "demo organization ... ready" / "logins" line on) for later runs
    cv_ensure_datadir
    printf '%s\n' "$demo_out" | sed -nE '/(organi[sz]ation .*ready|login)/I,$p' >"$LOGINS_FILE"
fi

sv_add web    gunicorn --bind "127.0.0.1:$WEB_PORT" 'api:create_app()'  # workers: gunicorn.conf.py
sv_add worker python -m workers.main --url "$REDIS_URL" --with-scheduler canvass  # outlives Redis
sv_add cron   rq cron --url "$REDIS_URL" workers/cron_schedule.py
sv_start_all

for _ in $(seq 600); do          # wait up to 60 s for the web server to accept connections
    sv_all_alive || break
    (exec 3<>"/dev/tcp/127.0.0.1/$WEB_PORT") 2>/dev/null && break
    sleep 0.1
done

if sv_all_alive; then
    {
        echo
        echo "  canvass is running"
        echo "    API:       $API_URL"
        echo "    API docs:  $API_URL/v1/docs"
        echo "    Postgres:  $(cv_redact "$DATABASE_URL")"
        echo "    Redis:     $(cv_redact "$REDIS_URL")"
        if [ -s "$LOGINS_FILE" ]; then
            echo "    Demo logins:"
            sed 's/^/      /' "$LOGINS_FILE"
        elif [ -n "$demo_out" ]; then
            echo "    Demo:"
            printf '%s\n' "$demo_out" | sed 's/^/      /'
        fi
        echo "  Press Ctrl-C to stop everything."
        echo
    } >&2
fi

sv_run   # until Ctrl-C / SIGTERM / SIGHUP (the traps above stop everything)
