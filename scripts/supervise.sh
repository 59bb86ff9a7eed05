#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions called from traps
# The process supervisor of `make run` (sourced by scripts/run.sh): keeps web, worker and cron
# running. A process that exits (crash, OOM kill, anything) is started again after a pause that
# begins at 1 s and doubles up to 30 s, and starts over at 1 s once the process has stayed up a
# minute. That holds for all of them, the web server included: a `make run` left running must
# come back by itself after PostgreSQL or Redis restarts or a bad deploy of one process, never
# take the database down with it. SIGINT (Ctrl-C), SIGTERM and SIGHUP stop everything.
#
#   . scripts/supervise.sh
#   sv_add NAME CMD...      register a process (started by sv_run)
#   sv_run                  start them all and supervise; returns only through a signal's trap
#   sv_stop_all             TERM each, up to 30 s to finish (rq completes its job), then KILL
#
# Executed directly (what tests/scripts/test_supervise.py does), with shell command strings:
#   scripts/supervise.sh 'web=gunicorn ...' 'worker=python -m workers.main ...'
#
# Tunables (milliseconds / seconds): CANVASS_RESTART_MIN_MS=1000, CANVASS_RESTART_MAX_MS=30000,
# CANVASS_RESTART_STABLE_S=60, CANVASS_STOP_TIMEOUT_S=30.

SV_MIN_MS=${CANVASS_RESTART_MIN_MS:-1000}
SV_MAX_MS=${CANVASS_RESTART_MAX_MS:-30000}
SV_STABLE_MS=$(( ${CANVASS_RESTART_STABLE_S:-60} * 1000 ))
SV_STOP_TIMEOUT_S=${CANVASS_STOP_TIMEOUT_S:-30}

declare -a SV_NAMES=()
declare -A SV_CMD=() SV_PID=() SV_DELAY_MS=() SV_STARTED_MS=() SV_DUE_MS=()
SV_NOW=0

sv_log()  { printf '==> %s\n' "$*" >&2; }

# bash started as a background job of a non-interactive shell (`make run &` in a script, a
# service manager's shell) inherits SIGINT and SIGQUIT ignored, and a non-interactive bash can't
# trap a signal ignored on entry: `kill -INT` would do nothing and leave the processes running.
# So re-execute the script once with every signal back at its default (coreutils env), then trap.
sv_reexec_with_default_signals() {   # "$0" "$@" of the script
    [ -n "${CV_SIGNALS_RESET:-}" ] && return 0
    export CV_SIGNALS_RESET=1
    if env --default-signal=INT true >/dev/null 2>&1; then
        exec env --default-signal=INT,QUIT,TERM,HUP bash "$@"
    fi
    sv_log "WARNING: env --default-signal is unavailable; if started in the background, stop with SIGTERM"
}

sv_now() { local t=${EPOCHREALTIME/[.,]/}; SV_NOW=$(( t / 1000 )); }
sv_seconds() { printf '%d.%d' $(( $1 / 1000 )) $(( $1 % 1000 / 100 )); }

sv_add() {
    local name=$1 q
    shift
    printf -v q '%q ' "$@"
    SV_NAMES+=("$name")
    SV_CMD[$name]=$q
    SV_PID[$name]=
    SV_DELAY_MS[$name]=$SV_MIN_MS
    SV_DUE_MS[$name]=0
}

# Own session (so a terminal's Ctrl-C reaches only the supervisor, which stops them in order),
# output prefixed with the name.
sv_start() {
    local name=$1 prefix
    printf -v prefix '%-6s | ' "$name"
    # exec: the pid we hold is the program's (setsid doesn't fork: not a group leader here)
    ( eval "exec setsid ${SV_CMD[$name]}" ) </dev/null > >(trap '' INT TERM; exec sed -u "s/^/$prefix/") 2>&1 &
    SV_PID[$name]=$!
    sv_now
    SV_STARTED_MS[$name]=$SV_NOW
    sv_log "$name started (pid $!)"
}

# One pass: collect exits, schedule restarts, start what is due.
sv_check() {
    local name pid rc up delay
    sv_now
    for name in "${SV_NAMES[@]}"; do
        pid=${SV_PID[$name]}
        if [ -n "$pid" ]; then
            kill -0 "$pid" 2>/dev/null && continue
            rc=0
            wait "$pid" 2>/dev/null || rc=$?
            # What it started in its session and left behind (rq's scheduler process, a horse)
            # must not outlive it, holding locks and the log pipe.
            if kill -TERM -- "-$pid" 2>/dev/null; then sv_log "$name left processes behind; stopped them"; fi
            up=$(( SV_NOW - SV_STARTED_MS[$name] ))
            [ "$up" -ge "$SV_STABLE_MS" ] && SV_DELAY_MS[$name]=$SV_MIN_MS
            delay=${SV_DELAY_MS[$name]}
            sv_log "$name exited with status $rc after $(sv_seconds "$up") s; restarting in $(sv_seconds "$delay") s"
            SV_PID[$name]=
            SV_DUE_MS[$name]=$(( SV_NOW + delay ))
            delay=$(( delay * 2 ))
            [ "$delay" -gt "$SV_MAX_MS" ] && delay=$SV_MAX_MS
            SV_DELAY_MS[$name]=$delay
        elif [ "$SV_NOW" -ge "${SV_DUE_MS[$name]}" ]; then
            sv_start "$name"
        fi
    done
}

sv_all_alive() {
    local name
    for name in "${SV_NAMES[@]}"; do
        [ -n "${SV_PID[$name]}" ] && kill -0 "${SV_PID[$name]}" 2>/dev/null || return 1
    done
}

sv_start_all() { local name; for name in "${SV_NAMES[@]}"; do sv_start "$name"; done; }

sv_run() {
    [ -n "${SV_PID[${SV_NAMES[0]}]:-}" ] || sv_start_all
    while :; do
        sv_check
        sleep 0.2   # a signal's trap runs when this returns
    done
}

sv_stop_all() {
    local name pid _ alive pids=()
    for name in "${SV_NAMES[@]}"; do
        pid=${SV_PID[$name]:-}
        [ -n "$pid" ] && pids+=("$pid")
    done
    [ "${#pids[@]}" = 0 ] && return 0
    sv_log "Stopping ${SV_NAMES[*]}"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq $(( SV_STOP_TIMEOUT_S * 10 ))); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for name in "${SV_NAMES[@]}"; do
        pid=${SV_PID[$name]:-}
        [ -n "$pid" ] || continue
        if kill -0 "$pid" 2>/dev/null; then
            sv_log "WARNING: $name did not stop in time; killing it"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
        kill -KILL -- "-$pid" 2>/dev/null || true   # leftovers of its session
        SV_PID[$name]=
    done
}

# ---------------------------------------------------------------- executed directly
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    sv_reexec_with_default_signals "$0" "$@"
    sv_on_exit() {
        local rc=$?
        set +e
        trap '' INT TERM PIPE HUP
        sv_stop_all
        exit "$rc"
    }
    trap sv_on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    for spec in "$@"; do
        sv_add "${spec%%=*}" bash -c "exec ${spec#*=}"
    done
    sv_log "supervisor pid $$"
    sv_run
fi
