#!/usr/bin/env bash
# Bootstrap for canvass on Debian/Ubuntu: system packages, .venv, and
# embedded PostgreSQL/PostGIS + Redis under .data/ (unless you point
# DATABASE_URL / REDIS_URL, or TEST_DATABASE_URL / TEST_REDIS_URL, elsewhere).
#
# Sourced by scripts/run.sh, scripts/test.sh and scripts/services.sh:
#     . scripts/bootstrap.sh
#     canvass_bootstrap run|bench|test|services|venv
# or executed:
#     scripts/bootstrap.sh [--mode run|bench|test|services|venv]          # prepare, print URLs, leave services up
#     scripts/bootstrap.sh [--mode run|bench|test|services|venv] CMD...   # prepare, run CMD, stop what we started
#
# Environment honoured (a variable already set in the environment wins over .env):
#   DATABASE_URL, REDIS_URL             run mode: use these instead of the embedded services
#   TEST_DATABASE_URL, TEST_REDIS_URL   test mode: likewise
#   CANVASS_DATA_DIR                    default <repo>/.data
#   CANVASS_PG_VERSION                  force a PostgreSQL major version (default: newest with PostGIS)
#   CANVASS_PG_OSUSER                   OS user that runs the embedded PostgreSQL when invoked as root
#   CANVASS_KEEP_SERVICES=1             do not stop the embedded services we started when done
#   CANVASS_SKIP_APT=1                  never try to install system packages (just report)

# ---------------------------------------------------------------- basics
CANVASS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
CANVASS_DATA=${CANVASS_DATA_DIR:-$CANVASS_ROOT/.data}
CANVASS_VENV=$CANVASS_ROOT/.venv
CANVASS_DB_USER=canvass          # superuser of the embedded cluster
CANVASS_DB_NAME=canvass          # database used by `make run`
CANVASS_PORTS_FILE=$CANVASS_DATA/ports

CV_PG_STARTED=0
CV_REDIS_STARTED=0
CV_PG_PORT=
CV_REDIS_PORT=
CV_PG_BIN=
CV_LOCK_FD=

cv_log()  { printf '==> %s\n' "$*" >&2; }
cv_warn() { printf '==> WARNING: %s\n' "$*" >&2; }
cv_die()  { printf '==> ERROR: %s\n' "$*" >&2; exit 1; }
cv_is_root() { [ "$(id -u)" = 0 ]; }

# ---------------------------------------------------------------- .env
# Load .env (KEY=value shell syntax). Variables already in the environment win.
cv_load_dotenv() {
    local f=$CANVASS_ROOT/.env name names val
    [ -f "$f" ] || return 0
    names=$(sed -nE 's/^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=.*/\2/p' "$f")
    for name in $names; do
        if [ -z "${!name+x}" ]; then
            val=$(set -a; . "$f" >/dev/null 2>&1; printf '%s' "${!name-}") ||
                cv_die "could not parse $f"
            export "$name=$val"
        fi
    done
}

# ---------------------------------------------------------------- system packages
cv_pg_bindir() { printf '/usr/lib/postgresql/%s/bin' "$1"; }
cv_pg_has_server() { [ -x "/usr/lib/postgresql/$1/bin/initdb" ] && [ -x "/usr/lib/postgresql/$1/bin/pg_ctl" ]; }
cv_pg_has_postgis() { [ -f "/usr/share/postgresql/$1/extension/postgis.control" ]; }

cv_pg_installed_versions() {   # newest first
    local d
    for d in /usr/lib/postgresql/*/bin/initdb; do
        [ -x "$d" ] || continue
        d=${d#/usr/lib/postgresql/}; printf '%s\n' "${d%%/*}"
    done | sort -rn
}

# The version an existing embedded cluster was created with (empty if none).
cv_pg_cluster_version() {
    local f=$CANVASS_DATA/pg/data/PG_VERSION
    if [ -r "$f" ]; then cat "$f"; fi
}

# Version to use: forced > existing cluster > newest installed with PostGIS. Empty if none usable.
cv_pg_pick_version() {
    local v
    if [ -n "${CANVASS_PG_VERSION:-}" ]; then printf '%s' "$CANVASS_PG_VERSION"; return; fi
    v=$(cv_pg_cluster_version)
    if [ -n "$v" ]; then printf '%s' "$v"; return; fi
    for v in $(cv_pg_installed_versions); do
        if cv_pg_has_postgis "$v"; then printf '%s' "$v"; return; fi
    done
}

cv_apt_available() {   # package has an install candidate
    local c
    c=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
    [ -n "$c" ] && [ "$c" != "(none)" ]
}

# Resolve the PostgreSQL packages to install. $1 = version wanted or "" (let apt decide).
cv_pg_packages() {
    local v=$1 pkgs=() cand
    if [ -z "$v" ]; then
        v=$(cv_pg_installed_versions | sed -n 1p)
    fi
    if [ -z "$v" ]; then
        v=$(apt-cache depends postgresql 2>/dev/null | sed -nE 's/^ *Depends: postgresql-([0-9]+)$/\1/p' | sed -n 1p)
        if [ -n "$v" ] && ! cv_apt_available "postgresql-$v-postgis-3"; then
            # the default version has no PostGIS package: take the newest one that has
            for cand in $(apt-cache search --names-only '^postgresql-[0-9]+-postgis-3$' 2>/dev/null |
                          sed -nE 's/^postgresql-([0-9]+)-postgis-3 .*/\1/p' | sort -rn); do
                if cv_apt_available "postgresql-$cand"; then v=$cand; break; fi
            done
        fi
    fi
    if [ -z "$v" ]; then
        printf '%s\n' postgresql 'postgresql-<version>-postgis-3'
        return
    fi
    cv_pg_has_server "$v" || pkgs+=("postgresql-$v")
    cv_pg_has_postgis "$v" || pkgs+=("postgresql-$v-postgis-3")
    [ "${#pkgs[@]}" = 0 ] || printf '%s\n' "${pkgs[@]}"
}

# $1: need pg (0/1), $2: need redis (0/1), $3: need venv tooling (0/1)
cv_ensure_packages() {
    local need_pg=$1 need_redis=$2 need_venv=$3 pg_missing=0 want_pg_ver=
    local extra=() pkgs=() sudo=()

    if [ "$need_pg" = 1 ]; then
        want_pg_ver=$(cv_pg_pick_version)
        if [ -z "$want_pg_ver" ] || ! cv_pg_has_server "$want_pg_ver" || ! cv_pg_has_postgis "$want_pg_ver"; then
            pg_missing=1
            want_pg_ver=${CANVASS_PG_VERSION:-$(cv_pg_cluster_version)}
        fi
    fi
    if [ "$need_redis" = 1 ] && ! { command -v redis-server && command -v redis-cli; } >/dev/null 2>&1; then
        extra+=(redis-server)
    fi
    if [ "$need_venv" = 1 ]; then
        local py
        py=$(cv_base_python)
        if [ -z "$py" ]; then
            if command -v python3 >/dev/null 2>&1; then
                cv_die "canvass needs Python >= $CANVASS_MIN_PYTHON but python3 is $(python3 -V 2>&1); install a newer one (e.g. apt-get install python3.11 python3.11-venv) or set PYTHON=/path/to/python3.x"
            fi
            extra+=(python3 python3-venv)
        elif ! "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
            case ${py##*/} in
                python3) extra+=(python3-venv) ;;
                python3.*) extra+=("${py##*/}-venv") ;;
                *) cv_die "$py cannot create virtualenvs (no venv/ensurepip module)" ;;
            esac
        fi
    fi
    [ "$pg_missing" = 0 ] && [ "${#extra[@]}" = 0 ] && return 0

    if cv_is_root; then
        sudo=()
    elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
        sudo=(sudo -n)
    else
        sudo=(none)
    fi
    if [ "${CANVASS_SKIP_APT:-0}" = 1 ] || ! command -v apt-get >/dev/null 2>&1 || [ "${sudo[0]:-}" = none ]; then
        pkgs=(${extra[@]+"${extra[@]}"})
        [ "$pg_missing" = 1 ] && mapfile -t -O "${#pkgs[@]}" pkgs < <(cv_pg_packages "$want_pg_ver")
        cv_die "missing system packages; install them with:
      sudo apt-get update && sudo apt-get install -y ${pkgs[*]}
    (or set DATABASE_URL/REDIS_URL, TEST_DATABASE_URL/TEST_REDIS_URL to existing services)"
    fi

    cv_log "Updating apt package lists"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a apt-get -o DPkg::Lock::Timeout=300 -qq update ||
        cv_die "apt-get update failed"
    pkgs=(${extra[@]+"${extra[@]}"})
    if [ "$pg_missing" = 1 ]; then
        mapfile -t -O "${#pkgs[@]}" pkgs < <(cv_pg_packages "$want_pg_ver")
        case " ${pkgs[*]} " in
            *'<version>'*) cv_die "apt offers no PostgreSQL server with a matching PostGIS package (postgresql-<ver>-postgis-3)";;
        esac
    fi
    cv_log "Installing system packages: ${pkgs[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a apt-get -o DPkg::Lock::Timeout=300 -y -q \
        --no-install-recommends install "${pkgs[@]}" ||
        cv_die "apt-get install ${pkgs[*]} failed"

    if [ "$need_pg" = 1 ]; then
        want_pg_ver=$(cv_pg_pick_version)
        if [ -z "$want_pg_ver" ] || ! cv_pg_has_postgis "$want_pg_ver"; then
            cv_die "PostgreSQL with PostGIS still not found under /usr/lib/postgresql after installing"
        fi
    fi
}

# Test mode only: Debian's chromium + chromium-driver for the browser tests (tests/e2e). Optional:
# where they can't be installed the browser tests skip with a message, so this only warns.
CV_BROWSER_PACKAGES=(chromium chromium-driver)
cv_ensure_browser() {
    [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && return 0
    cv_optional_packages "the browser tests" "browser tests will be skipped" "${CV_BROWSER_PACKAGES[@]}"
}

# Bench mode only: wrk, the load generator of the walk-list benchmark (bench/bench_walklist.py).
# Optional: without it that benchmark falls back to Python client threads, and says so.
CV_BENCH_PACKAGES=(wrk)
cv_ensure_bench_tools() {
    command -v wrk >/dev/null 2>&1 && return 0
    cv_optional_packages "the benchmarks" "the walk-list benchmark will use its Python client" "${CV_BENCH_PACKAGES[@]}"
}

# cv_optional_packages FOR WITHOUT PACKAGE...: apt-get install what FOR needs, or warn WITHOUT
# (no apt, CANVASS_SKIP_APT=1, not root and no password-less sudo, or the install failed).
cv_optional_packages() {
    local what=$1 without=$2 sudo=()
    shift 2
    if ! cv_is_root; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then sudo=(sudo -n); else sudo=(none); fi
    fi
    if [ "${CANVASS_SKIP_APT:-0}" = 1 ] || ! command -v apt-get >/dev/null 2>&1 || [ "${sudo[0]:-}" = none ]; then
        cv_warn "$without: apt-get install $* for $what"
        return 0
    fi
    cv_log "Installing system packages for $what: $*"
    { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq update &&
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a apt-get -o DPkg::Lock::Timeout=300 -y -q \
          --no-install-recommends install "$@"; } >&2 ||
        cv_warn "could not install $*; $without"
}

# ---------------------------------------------------------------- virtualenv
CANVASS_MIN_PYTHON=3.11

# First of $PYTHON, python3, python3.13, python3.12, python3.11 that is new enough (empty if none).
cv_base_python() {
    local c p
    for c in ${PYTHON:-} python3 python3.13 python3.12 python3.11; do
        p=$(command -v "$c" 2>/dev/null) || continue
        if "$p" -c "import sys; sys.exit(sys.version_info < tuple(map(int, '$CANVASS_MIN_PYTHON'.split('.'))))" 2>/dev/null; then
            printf '%s' "$p"; return
        fi
    done
}
cv_install_fingerprint() {
    local f
    {
        for f in setup.cfg setup.py pyproject.toml; do
            [ -f "$CANVASS_ROOT/$f" ] && { printf '%s\n' "$f"; cat "$CANVASS_ROOT/$f"; }
        done
        "$CANVASS_VENV/bin/python" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

cv_ensure_venv() {
    local stamp=$CANVASS_VENV/.canvass-install-stamp want
    if [ -e "$CANVASS_VENV/bin/python" ] && ! "$CANVASS_VENV/bin/python" -c '' >/dev/null 2>&1; then
        cv_warn ".venv is broken (its Python no longer runs); recreating it"
        rm -rf "$CANVASS_VENV"
    fi
    if [ ! -x "$CANVASS_VENV/bin/python" ]; then
        local py
        py=$(cv_base_python)
        [ -n "$py" ] || cv_die "no python3 >= $CANVASS_MIN_PYTHON found (set PYTHON=/path/to/python3.x)"
        cv_log "Creating virtualenv .venv ($("$py" -V 2>&1), $py)"
        "$py" -m venv "$CANVASS_VENV" || cv_die "$py -m venv .venv failed (is python3-venv installed?)"
    fi
    if [ ! -f "$CANVASS_ROOT/setup.cfg" ] && [ ! -f "$CANVASS_ROOT/pyproject.toml" ] && [ ! -f "$CANVASS_ROOT/setup.py" ]; then
        cv_warn "no setup.cfg yet; not installing the project into .venv"
        return 0
    fi
    want=$(cv_install_fingerprint)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        cv_log "Installing Python dependencies: pip install -e '.[test]'"
        (cd "$CANVASS_ROOT" &&
            PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
            "$CANVASS_VENV/bin/python" -m pip install -q -e '.[test]') ||
            cv_die "pip install -e '.[test]' failed"
        printf '%s\n' "$want" >"$stamp"
    fi
}

cv_python() {
    if [ -x "$CANVASS_VENV/bin/python" ]; then printf '%s' "$CANVASS_VENV/bin/python"
    elif command -v python3 >/dev/null 2>&1; then command -v python3
    fi
}

# ---------------------------------------------------------------- ports
cv_port_get() { if [ -f "$CANVASS_PORTS_FILE" ]; then sed -n "s/^$1=//p" "$CANVASS_PORTS_FILE" | sed -n 1p; fi; }

cv_port_set() {
    local tmp=$CANVASS_PORTS_FILE.tmp
    { if [ -f "$CANVASS_PORTS_FILE" ]; then grep -v "^$1=" "$CANVASS_PORTS_FILE" || true; fi; printf '%s=%s\n' "$1" "$2"; } >"$tmp"
    mv -f "$tmp" "$CANVASS_PORTS_FILE"
}

# Can a server bind 127.0.0.1:$1 (with SO_REUSEADDR, as postgres/redis do)?
cv_port_free() {
    local py
    py=$(cv_python)
    if [ -n "$py" ]; then
        "$py" -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" >/dev/null 2>&1
    else
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") >/dev/null 2>&1; then return 1; fi
    fi
}

# Remembered port for $1 (PG_PORT/REDIS_PORT) if free, else a new free one (remembered).
cv_port_for() {
    local key=$1 avoid=$2 p _
    p=$(cv_port_get "$key")
    if [ -n "$p" ] && cv_port_free "$p"; then printf '%s' "$p"; return; fi
    [ -n "$p" ] && cv_warn "port $p (remembered for $key) is taken by something else; picking another"
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 10000))       # below the Linux ephemeral range
        [ "$p" = "$avoid" ] && continue
        if cv_port_free "$p"; then cv_port_set "$key" "$p"; printf '%s' "$p"; return; fi
    done
    return 1
}

cv_ensure_datadir() {
    if [ ! -d "$CANVASS_DATA" ]; then
        mkdir -p "$CANVASS_DATA"
        chmod 755 "$CANVASS_DATA"   # the PostgreSQL user must be able to traverse it
    fi
}

# ---------------------------------------------------------------- PostgreSQL
# Sets CV_PG_DIR (cluster home: data/, run/, postgres.log), CV_PGDATA, CV_PG_OSUSER.
cv_pg_layout() {
    CV_PG_DIR=$CANVASS_DATA/pg
    [ -L "$CV_PG_DIR" ] && CV_PG_DIR=$(readlink -f "$CV_PG_DIR")
    CV_PGDATA=$CV_PG_DIR/data
    if ! cv_is_root; then
        CV_PG_OSUSER=$(id -un)
    elif [ -d "$CV_PGDATA" ]; then
        CV_PG_OSUSER=$(stat -c %U "$CV_PGDATA")
    elif [ -n "${CANVASS_PG_OSUSER:-}" ]; then
        CV_PG_OSUSER=$CANVASS_PG_OSUSER
    elif id postgres >/dev/null 2>&1; then
        CV_PG_OSUSER=postgres
    else
        CV_PG_OSUSER=canvass-pg
    fi
}

# Run a command as the PostgreSQL OS user (PostgreSQL refuses to run as root).
cv_as_pg() {
    if cv_is_root && [ "$CV_PG_OSUSER" != root ]; then
        (cd / && runuser -u "$CV_PG_OSUSER" -- "$@")
    else
        "$@"
    fi
}

cv_pg_prepare_dir() {
    cv_pg_layout
    [ -d "$CV_PGDATA" ] && return 0
    if cv_is_root; then
        [ "$CV_PG_OSUSER" != root ] || cv_die "PostgreSQL cannot run as root; set CANVASS_PG_OSUSER to another user"
        if ! id "$CV_PG_OSUSER" >/dev/null 2>&1; then
            cv_log "Creating system user $CV_PG_OSUSER to run the embedded PostgreSQL"
            useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin "$CV_PG_OSUSER" || cv_die "useradd $CV_PG_OSUSER failed"
        fi
        mkdir -p "$CV_PG_DIR"
        chown "$CV_PG_OSUSER:" "$CV_PG_DIR"
        chmod 700 "$CV_PG_DIR"
        if ! cv_as_pg test -w "$CV_PG_DIR" -a -x "$CV_PG_DIR"; then
            # some parent of the repo (e.g. /root) is not traversable by that user
            local alt hash
            hash=$(printf '%s' "$CANVASS_ROOT" | sha256sum | cut -c1-12)
            alt=/var/tmp/canvass-$hash/pg
            rmdir "$CV_PG_DIR"
            mkdir -p "$alt"
            chmod 755 "$(dirname "$alt")"
            chown "$CV_PG_OSUSER:" "$alt"
            chmod 700 "$alt"
            ln -s "$alt" "$CANVASS_DATA/pg"
            cv_log "User $CV_PG_OSUSER cannot reach $CANVASS_DATA, so the PostgreSQL cluster lives in $alt (symlinked from .data/pg)"
            CV_PG_DIR=$alt
            CV_PGDATA=$alt/data
        fi
    else
        mkdir -p "$CV_PG_DIR"
        chmod 700 "$CV_PG_DIR"
    fi
}

cv_pg_initdb() {
    local ver=$1 bin locale sockdir
    bin=$(cv_pg_bindir "$ver")
    locale=C
    [ -n "$(locale -a 2>/dev/null | grep -iE '^c\.utf-?8$' || true)" ] && locale=C.UTF-8
    cv_log "Creating PostgreSQL $ver cluster in $CV_PGDATA (runs as $CV_PG_OSUSER)"
    cv_as_pg mkdir -p "$CV_PG_DIR/run"
    cv_as_pg env LC_ALL=C "$bin/initdb" -D "$CV_PGDATA" -U "$CANVASS_DB_USER" --auth=trust \
        -E UTF8 --locale="$locale" >"$CANVASS_DATA/initdb.log" 2>&1 ||
        { cv_as_pg rm -rf "$CV_PGDATA"; cv_die "initdb failed; see $CANVASS_DATA/initdb.log"; }
    sockdir=$CV_PG_DIR/run
    [ "${#sockdir}" -gt 80 ] && sockdir=   # unix socket paths are limited to ~107 bytes: TCP only
    cv_as_pg tee -a "$CV_PGDATA/postgresql.conf" >/dev/null <<EOF

# ---- canvass embedded cluster (scripts/bootstrap.sh); port is given on the command line
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sockdir'
max_connections = 200
log_line_prefix = '%m [%p] %q%u@%d '
EOF
}

# A commit is acknowledged only once it is on disk. Bootstraps before issue 10 wrote
# `synchronous_commit = off` into the cluster's postgresql.conf (an acknowledged sync could be
# lost in a crash); take that line out of a cluster they made. Sets CV_PG_CONF_CHANGED.
CV_PG_CONF_CHANGED=0
cv_pg_durable_conf() {
    local conf=$CV_PGDATA/postgresql.conf
    CV_PG_CONF_CHANGED=0
    if grep -qE '^[[:space:]]*synchronous_commit[[:space:]]*=[[:space:]]*off' "$conf" 2>/dev/null; then
        cv_log "Removing 'synchronous_commit = off' from $conf (an older bootstrap wrote it)"
        cv_as_pg sed -i -E '/^[[:space:]]*synchronous_commit[[:space:]]*=[[:space:]]*off/d' "$conf" ||
            cv_die "could not edit $conf"
        CV_PG_CONF_CHANGED=1
    fi
}

cv_pg_running() {
    [ -f "$CV_PGDATA/postmaster.pid" ] &&
        cv_as_pg "$(cv_pg_bindir "$1")/pg_ctl" status -D "$CV_PGDATA" >/dev/null 2>&1
}

cv_pg_start() {
    local ver bin port
    cv_pg_prepare_dir
    ver=$(cv_pg_pick_version)
    if [ -z "$ver" ] || ! cv_pg_has_server "$ver"; then cv_die "no PostgreSQL server binaries found"; fi
    cv_pg_has_postgis "$ver" || cv_die "PostGIS is not installed for PostgreSQL $ver (apt-get install postgresql-$ver-postgis-3)"
    bin=$(cv_pg_bindir "$ver")
    CV_PG_BIN=$bin
    [ -f "$CV_PGDATA/PG_VERSION" ] || cv_pg_initdb "$ver"
    cv_pg_durable_conf
    if cv_pg_running "$ver"; then
        port=$(sed -n 4p "$CV_PGDATA/postmaster.pid")
        if [ "$CV_PG_CONF_CHANGED" = 1 ]; then
            cv_log "Reloading PostgreSQL's configuration (commits are durable again)"
            cv_as_pg "$bin/pg_ctl" reload -D "$CV_PGDATA" >/dev/null || cv_warn "pg_ctl reload failed"
        fi
    else
        port=$(cv_port_for PG_PORT "$(cv_port_get REDIS_PORT)") || cv_die "no free port for PostgreSQL"
        cv_log "Starting PostgreSQL $ver on 127.0.0.1:$port"
        cv_spawn cv_as_pg "$bin/pg_ctl" start -D "$CV_PGDATA" -l "$CV_PG_DIR/postgres.log" -w -t 90 \
            -o "-p $port" >/dev/null 2>&1 ||
            { tail -n 20 "$CV_PG_DIR/postgres.log" >&2 2>/dev/null || true
              cv_die "PostgreSQL failed to start (log: $CV_PG_DIR/postgres.log)"; }
        CV_PG_STARTED=1
    fi
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30 ||
        cv_die "PostgreSQL on 127.0.0.1:$port is not accepting connections (log: $CV_PG_DIR/postgres.log)"
    CV_PG_PORT=$port
    cv_port_set PG_PORT "$port"
}

cv_pg_stop() {
    local ver
    cv_pg_layout
    [ -f "$CV_PGDATA/PG_VERSION" ] || return 0
    ver=$(cat "$CV_PGDATA/PG_VERSION")
    cv_pg_has_server "$ver" || { cv_warn "PostgreSQL $ver binaries missing; cannot stop the cluster"; return 0; }
    if cv_pg_running "$ver"; then
        cv_log "Stopping PostgreSQL"
        cv_as_pg "$(cv_pg_bindir "$ver")/pg_ctl" stop -D "$CV_PGDATA" -m fast -w -t 60 >/dev/null ||
            cv_warn "pg_ctl stop failed"
    fi
}

# Run SQL against a libpq URL; prints rows as a|b. Uses psql, else psycopg from .venv.
cv_sql() {
    local url=$1 sql=$2 psql=${CV_PG_BIN:+$CV_PG_BIN/psql}
    if [ -z "$psql" ] || [ ! -x "$psql" ]; then
        psql=$(command -v psql || true)
        local newest
        newest=$(cv_pg_installed_versions | sed -n 1p)
        [ -z "$psql" ] && [ -n "$newest" ] && psql=$(cv_pg_bindir "$newest")/psql
    fi
    if [ -n "$psql" ] && [ -x "$psql" ]; then
        PGCONNECT_TIMEOUT=10 "$psql" -X -q -t -A -v ON_ERROR_STOP=1 -d "$url" -c "$sql"
    else
        "$CANVASS_VENV/bin/python" - "$url" "$sql" <<'EOF'
import sys
import psycopg
with psycopg.connect(sys.argv[1], autocommit=True, connect_timeout=10) as conn:
    cur = conn.execute(sys.argv[2])
    if cur.description:
        for row in cur:
            print("|".join("" if v is None else str(v) for v in row))
EOF
    fi
}

cv_pg_admin_url() { printf 'postgresql://%s@127.0.0.1:%s/%s' "$CANVASS_DB_USER" "$CV_PG_PORT" "${1:-postgres}"; }

cv_pg_ensure_db() {
    local name=$1 admin
    admin=$(cv_pg_admin_url postgres)
    if [ "$(cv_sql "$admin" "select 1 from pg_database where datname = '$name'")" != 1 ]; then
        cv_log "Creating database $name"
        cv_sql "$admin" "create database \"$name\"" || cv_die "could not create database $name"
    fi
}

# ---------------------------------------------------------------- Redis
CV_REDIS_DIR=$CANVASS_DATA/redis

cv_redis_running() {   # $1 port
    local pid
    [ -f "$CV_REDIS_DIR/redis.pid" ] || return 1
    pid=$(cat "$CV_REDIS_DIR/redis.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    [ -n "$1" ] && [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
}

cv_redis_start() {
    local port _
    port=$(cv_port_get REDIS_PORT)
    mkdir -p "$CV_REDIS_DIR"
    if ! cv_redis_running "$port"; then
        rm -f "$CV_REDIS_DIR/redis.pid"
        port=$(cv_port_for REDIS_PORT "${CV_PG_PORT:-$(cv_port_get PG_PORT)}") || cv_die "no free port for Redis"
        cv_log "Starting Redis on 127.0.0.1:$port"
        (cd "$CV_REDIS_DIR" && cv_spawn redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes \
            --dir "$CV_REDIS_DIR" --daemonize yes --pidfile "$CV_REDIS_DIR/redis.pid" \
            --logfile "$CV_REDIS_DIR/redis.log" --appendonly yes --save '' >/dev/null) ||
            cv_die "redis-server failed to start (log: $CV_REDIS_DIR/redis.log)"
        for _ in $(seq 100); do
            [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && break
            sleep 0.1
        done
        cv_redis_running "$port" ||
            { tail -n 20 "$CV_REDIS_DIR/redis.log" >&2 2>/dev/null || true
              cv_die "Redis did not come up on 127.0.0.1:$port (log: $CV_REDIS_DIR/redis.log)"; }
        CV_REDIS_STARTED=1
    fi
    CV_REDIS_PORT=$port
}

cv_redis_stop() {
    local port pid _
    port=$(cv_port_get REDIS_PORT)
    [ -f "$CV_REDIS_DIR/redis.pid" ] || return 0
    pid=$(cat "$CV_REDIS_DIR/redis.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        cv_log "Stopping Redis"
        redis-cli -h 127.0.0.1 -p "$port" shutdown >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && { cv_warn "Redis did not stop; killing it"; kill -KILL "$pid" 2>/dev/null || true; }
    fi
    rm -f "$CV_REDIS_DIR/redis.pid"
}

# ---------------------------------------------------------------- test stack: replica + PgBouncer
# `make test` runs a few tests against a real streaming replica of the embedded cluster and through
# a real PgBouncer in transaction mode (docs/scaling.md). Both live next to the cluster (.data/, or
# its /var/tmp home when the cluster had to move there), on their own remembered ports, and run as
# the cluster's OS user (neither PostgreSQL nor PgBouncer runs as root).
CV_REPLICA_STARTED=0
CV_REPLICA_PORT=
CV_PGBOUNCER_STARTED=0
CV_PGBOUNCER_PORT=

# Callers run cv_pg_layout first, in their own shell (not in this $(...)): cv_as_pg needs CV_PG_OSUSER.
cv_stack_dir() { printf '%s/%s' "$(dirname "$CV_PG_DIR")" "$1"; }

cv_replica_streaming() {   # $1 port: the replica's WAL receiver streams from the primary
    [ "$(cv_sql "postgresql://$CANVASS_DB_USER@127.0.0.1:$1/postgres" \
        "select count(*) from pg_stat_wal_receiver where status = 'streaming'" 2>/dev/null)" = 1 ]
}

cv_pgbouncer_bin() { command -v pgbouncer 2>/dev/null || { [ -x /usr/sbin/pgbouncer ] && echo /usr/sbin/pgbouncer; }; }

# A streaming replica of the embedded cluster (pg_basebackup -R). Sets CV_REPLICA_PORT.
cv_replica_start() {
    local dir data ver bin port _ attempt
    cv_pg_layout
    dir=$(cv_stack_dir pg-replica)
    data=$dir/data
    ver=$(cat "$CV_PGDATA/PG_VERSION")
    bin=$(cv_pg_bindir "$ver")
    for attempt in 1 2; do
        if [ ! -f "$data/PG_VERSION" ]; then
            cv_log "Creating a streaming replica of the embedded cluster in $data (pg_basebackup)"
            mkdir -p "$dir"
            if cv_is_root; then chown "$CV_PG_OSUSER:" "$dir"; fi
            chmod 700 "$dir"
            cv_as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$CV_PG_PORT" -U "$CANVASS_DB_USER" -D "$data" \
                -R -X stream -c fast >"$dir/basebackup.log" 2>&1 ||
                { cv_as_pg rm -rf "$data"; cv_warn "pg_basebackup failed (see $dir/basebackup.log)"; return 1; }
        fi
        if [ -f "$data/postmaster.pid" ] && cv_as_pg "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1; then
            port=$(sed -n 4p "$data/postmaster.pid")
        else
            port=$(cv_port_for REPLICA_PORT "$CV_PG_PORT") || { cv_warn "no free port for the replica"; return 1; }
            cv_spawn cv_as_pg "$bin/pg_ctl" start -D "$data" -l "$dir/postgres.log" -w -t 90 -o "-p $port" \
                >/dev/null 2>&1 || { cv_warn "the replica failed to start (log: $dir/postgres.log)"; return 1; }
            CV_REPLICA_STARTED=1
        fi
        for _ in $(seq 100); do cv_replica_streaming "$port" && break; sleep 0.2; done
        if cv_replica_streaming "$port"; then
            CV_REPLICA_PORT=$port
            return 0
        fi
        # Left behind too long (the primary recycled the WAL it needed): take a fresh copy, once.
        cv_warn "the replica in $data does not stream from the primary; making it again"
        cv_as_pg "$bin/pg_ctl" stop -D "$data" -m immediate -w >/dev/null 2>&1 || true
        cv_as_pg rm -rf "$data"
        CV_REPLICA_STARTED=0
        [ "$attempt" = 2 ] && return 1
    done
}

cv_replica_stop() {
    local data bin
    cv_pg_layout
    data=$(cv_stack_dir pg-replica)/data
    [ -f "$data/PG_VERSION" ] || return 0
    bin=$(cv_pg_bindir "$(cat "$data/PG_VERSION")")
    if [ -f "$data/postmaster.pid" ] && cv_as_pg "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1; then
        cv_log "Stopping the replica"
        cv_as_pg "$bin/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null || cv_warn "pg_ctl stop (replica) failed"
    fi
}

# PgBouncer in transaction mode in front of the embedded cluster. Sets CV_PGBOUNCER_PORT.
cv_pgbouncer_start() {
    local dir port pid bouncer _
    cv_pg_layout
    bouncer=$(cv_pgbouncer_bin) || return 1
    dir=$(cv_stack_dir pgbouncer)
    mkdir -p "$dir"
    pid=$(cat "$dir/pgbouncer.pid" 2>/dev/null || true)
    port=$(cv_port_get PGBOUNCER_PORT)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ -n "$port" ] &&
        grep -q "^\* = host=127.0.0.1 port=$CV_PG_PORT\$" "$dir/pgbouncer.ini" 2>/dev/null; then
        CV_PGBOUNCER_PORT=$port
        return 0
    fi
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; sleep 0.5; fi
    port=$(cv_port_for PGBOUNCER_PORT "$CV_PG_PORT") || { cv_warn "no free port for PgBouncer"; return 1; }
    printf '"%s" ""\n' "$CANVASS_DB_USER" >"$dir/userlist.txt"
    {
        echo "; written by scripts/bootstrap.sh for the tests through a pooler (docs/scaling.md)"
        echo "[databases]"
        echo "* = host=127.0.0.1 port=$CV_PG_PORT"
        echo "[pgbouncer]"
        echo "listen_addr = 127.0.0.1"
        echo "listen_port = $port"
        echo "unix_socket_dir ="
        echo "auth_type = trust"
        echo "auth_file = $dir/userlist.txt"
        echo "pool_mode = transaction"
        echo "max_client_conn = 400"
        echo "default_pool_size = 20"
        echo "ignore_startup_parameters = extra_float_digits"
        echo "pidfile = $dir/pgbouncer.pid"
        echo "logfile = $dir/pgbouncer.log"
    } >"$dir/pgbouncer.ini"
    if cv_is_root; then chown -R "$CV_PG_OSUSER:" "$dir"; fi
    rm -f "$dir/pgbouncer.pid"
    cv_spawn cv_as_pg "$bouncer" -d -q "$dir/pgbouncer.ini" >/dev/null 2>&1 ||
        { cv_warn "PgBouncer failed to start (log: $dir/pgbouncer.log)"; return 1; }
    for _ in $(seq 50); do
        "$CV_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres -t 1 && break
        sleep 0.1
    done
    CV_PGBOUNCER_STARTED=1
    CV_PGBOUNCER_PORT=$port
}

cv_pgbouncer_stop() {
    local dir pid _
    cv_pg_layout
    dir=$(cv_stack_dir pgbouncer)
    pid=$(cat "$dir/pgbouncer.pid" 2>/dev/null || true)
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then return 0; fi
    cv_log "Stopping PgBouncer"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}

# Test mode, embedded cluster: the replica and PgBouncer for the tests that need them (optional:
# without them those tests skip and say why). Exports TEST_REPLICA_PORT, TEST_PGBOUNCER_PORT.
cv_test_stack() {
    [ "${CANVASS_TEST_STACK:-1}" = 0 ] && return 0
    cv_pgbouncer_bin >/dev/null ||
        cv_optional_packages "the tests through a pooler" "the PgBouncer tests will be skipped" pgbouncer
    if cv_replica_start; then export TEST_REPLICA_PORT=$CV_REPLICA_PORT; fi
    if cv_pgbouncer_start; then export TEST_PGBOUNCER_PORT=$CV_PGBOUNCER_PORT; fi
    return 0
}

# ---------------------------------------------------------------- lifecycle
cv_with_lock() {   # serialise service start/stop between concurrent invocations
    cv_ensure_datadir
    exec {CV_LOCK_FD}>"$CANVASS_DATA/.lock"
    flock -w 300 "$CV_LOCK_FD" || cv_die "timed out waiting for $CANVASS_DATA/.lock (held by another make run/test?)"
    "$@"    # callers run with set -e: a failure exits (and thereby releases the lock)
    exec {CV_LOCK_FD}>&-
    CV_LOCK_FD=
}

# Run a command that may leave daemons behind without letting them inherit the lock fd.
cv_spawn() {
    if [ -n "${CV_LOCK_FD:-}" ]; then "$@" {CV_LOCK_FD}>&-; else "$@"; fi
}

cv_start_services() {   # $1 need pg, $2 need redis
    [ "$1" = 1 ] && cv_pg_start
    [ "$2" = 1 ] && cv_redis_start
    return 0
}

cv_stop_services() { cv_redis_stop; cv_pgbouncer_stop; cv_replica_stop; cv_pg_stop; }

# Stop only what this invocation started (unless CANVASS_KEEP_SERVICES=1).
cv_stop_started() {
    [ "${CANVASS_KEEP_SERVICES:-0}" = 1 ] && return 0
    [ "$CV_REDIS_STARTED" = 1 ] && { cv_redis_stop || true; CV_REDIS_STARTED=0; }
    [ "$CV_PGBOUNCER_STARTED" = 1 ] && { cv_pgbouncer_stop || true; CV_PGBOUNCER_STARTED=0; }
    [ "$CV_REPLICA_STARTED" = 1 ] && { cv_replica_stop || true; CV_REPLICA_STARTED=0; }
    [ "$CV_PG_STARTED" = 1 ] && { cv_pg_stop || true; CV_PG_STARTED=0; }
    return 0
}

# canvass_bootstrap MODE
#   run      : embedded PG/Redis unless DATABASE_URL / REDIS_URL; exports DATABASE_URL, REDIS_URL
#   bench    : as run, plus the benchmarks' load generator (wrk)
#   test     : embedded PG/Redis unless TEST_DATABASE_URL / TEST_REDIS_URL; exports
#              CANVASS_PG_ADMIN_URL (libpq URL of the embedded cluster's postgres db) and TEST_REDIS_URL
#   services : embedded PG + Redis regardless of URLs, no venv
#   venv     : only the virtualenv
canvass_bootstrap() {
    local mode=${1:-run} need_pg=0 need_redis=0 need_venv=1 venv_tools=0
    case $mode in
        run|bench) [ -z "${DATABASE_URL:-}" ] && need_pg=1; [ -z "${REDIS_URL:-}" ] && need_redis=1 ;;
        test)     [ -z "${TEST_DATABASE_URL:-}" ] && need_pg=1; [ -z "${TEST_REDIS_URL:-}" ] && need_redis=1 ;;
        services) need_pg=1; need_redis=1; need_venv=0 ;;
        venv)     ;;
        *) cv_die "unknown bootstrap mode: $mode" ;;
    esac
    if [ "$need_venv" = 1 ] && ! "$CANVASS_VENV/bin/python" -c '' >/dev/null 2>&1; then venv_tools=1; fi
    cv_ensure_packages "$need_pg" "$need_redis" "$venv_tools"
    [ "$mode" = test ] && cv_ensure_browser
    [ "$mode" = bench ] && cv_ensure_bench_tools
    if [ "$need_venv" = 1 ]; then
        cv_ensure_venv
        export VIRTUAL_ENV=$CANVASS_VENV
        case ":$PATH:" in *":$CANVASS_VENV/bin:"*) ;; *) export PATH=$CANVASS_VENV/bin:$PATH ;; esac
    fi
    if [ "$need_pg" = 1 ] || [ "$need_redis" = 1 ]; then
        cv_ensure_datadir
        cv_with_lock cv_start_services "$need_pg" "$need_redis"
        [ "$need_pg" = 1 ] && [ "$mode" != test ] && cv_with_lock cv_pg_ensure_db "$CANVASS_DB_NAME"
    fi
    case $mode in
        run|bench|services)
            if [ "$need_pg" = 1 ]; then
                export DATABASE_URL="postgresql+psycopg://$CANVASS_DB_USER@127.0.0.1:$CV_PG_PORT/$CANVASS_DB_NAME"
                cv_log "PostgreSQL (embedded): $DATABASE_URL"
            elif [ "$mode" != services ]; then
                cv_log "PostgreSQL (DATABASE_URL): $(cv_redact "$DATABASE_URL")"
            fi
            if [ "$need_redis" = 1 ]; then
                export REDIS_URL="redis://127.0.0.1:$CV_REDIS_PORT/0"
                cv_log "Redis (embedded): $REDIS_URL"
            elif [ "$mode" != services ]; then
                cv_log "Redis (REDIS_URL): $(cv_redact "$REDIS_URL")"
            fi
            cv_write_embedded_env "$need_pg" "$need_redis"
            ;;
        test)
            if [ "$need_pg" = 1 ]; then
                export CANVASS_PG_ADMIN_URL
                CANVASS_PG_ADMIN_URL=$(cv_pg_admin_url postgres)
                cv_with_lock cv_test_stack
            fi
            if [ "$need_redis" = 1 ]; then
                export TEST_REDIS_URL="redis://127.0.0.1:$CV_REDIS_PORT/15"
                # The embedded Redis keeps its data (AOF): a killed run leaves job ids behind that a later
                # run's coalesced enqueues would merge into. Its test db starts empty.
                redis-cli -h 127.0.0.1 -p "$CV_REDIS_PORT" -n 15 flushdb >/dev/null ||
                    cv_warn "could not empty the test Redis db 15"
            fi
            ;;
    esac
    return 0
}

# .data/embedded.env: the embedded services' addresses, which the `canvass` command reads (after
# the environment and .env) so that it reaches them from another terminal with nothing set.
cv_write_embedded_env() {   # $1 need_pg, $2 need_redis
    local file=$CANVASS_DATA/embedded.env
    {
        echo "# Written by scripts/bootstrap.sh (make run / make start): the embedded services' addresses."
        if [ "$1" = 1 ]; then echo "DATABASE_URL=$DATABASE_URL"; fi
        if [ "$2" = 1 ]; then echo "REDIS_URL=$REDIS_URL"; fi
    } >"$file.tmp"
    mv -f "$file.tmp" "$file"
}

cv_redact() { printf '%s' "$1" | sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#'; }

cv_load_dotenv

# ---------------------------------------------------------------- executed directly
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    mode=run
    if [ "${1:-}" = --mode ]; then mode=${2:?--mode needs a value}; shift 2; fi
    if [ "$#" = 0 ]; then
        canvass_bootstrap "$mode"
        exit 0
    fi
    # shellcheck disable=SC2154  # rc is assigned inside the trap
    trap 'rc=$?; trap "" INT TERM; cv_stop_started; exit $rc' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    canvass_bootstrap "$mode"
    cd "$CANVASS_ROOT"
    "$@"
fi
