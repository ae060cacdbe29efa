#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests (see ../shared/SERVICES.md "PostgreSQL").
#
#   scripts/pg.sh start [PORT]   start a cluster on 127.0.0.1 (random free port unless given); prints
#                                `export ...` lines (eval them) and writes them to $GATEHOUSE_PG_ENV
#                                (default /tmp/gatehouse-pg.env)
#   scripts/pg.sh stop [DIR]     stop the cluster started last (or the one in DIR) and delete it
#
# The cluster lives in a mktemp dir under /tmp, listens on loopback only, runs with fsync=off (tests only: a
# durability test must start its own cluster with fsync on; `PG_DURABLE=1 scripts/pg.sh start` starts it with fsync
# and synchronous commit on, for benchmarks). As root, the server runs as the `postgres` system user via runuser
# (initdb refuses root); as another user it runs as that user. Installs Debian's postgresql package with apt-get
# if no server binaries are found.
set -euo pipefail

ENV_FILE=${GATEHOUSE_PG_ENV:-/tmp/gatehouse-pg.env}

log() { echo "pg.sh: $*" >&2; }

find_pgbin() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [[ -n "$d" && -x "$d/initdb" ]]; then echo "$d"; return 0; fi
    return 1
}

as_pg() {
    if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

cmd_start() {
    local port=${1:-}
    local pgbin
    if ! pgbin=$(find_pgbin); then
        [[ $EUID -eq 0 ]] || { log "postgresql is not installed and we are not root"; exit 1; }
        log "installing postgresql"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq postgresql >&2
        pgbin=$(find_pgbin) || { log "postgresql installed but no initdb found"; exit 1; }
    fi
    if [[ $EUID -eq 0 ]] && ! id -u postgres >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home --shell /usr/sbin/nologin postgres
    fi
    if [[ -z "$port" ]]; then
        for _ in $(seq 1 50); do
            port=$(( 20000 + RANDOM % 40000 ))
            port_free "$port" && break
        done
    fi
    port_free "$port" || { log "port $port is in use"; exit 1; }

    local dir pass user=gatehouse db=gatehouse userpass durability
    # PG_DURABLE=1 (benchmarks): Postgres's defaults, fsync and synchronous commit on.
    if [[ ${PG_DURABLE:-0} == 1 ]]; then
        durability="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
    else
        durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    dir=$(mktemp -d /tmp/gatehouse-pg.XXXXXX)
    chmod 700 "$dir"
    pass=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
    userpass=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
    printf '%s\n' "$pass" >"$dir/pw"
    chmod 600 "$dir/pw"
    [[ $EUID -eq 0 ]] && chown -R postgres: "$dir"

    as_pg "$pgbin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --pwfile="$dir/pw" -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir $durability -c max_connections=300" \
        start >&2 || { cat "$dir/server.log" >&2; exit 1; }
    as_pg "$pgbin/psql" -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres \
        -c "CREATE ROLE $user LOGIN CREATEDB PASSWORD '$userpass'" \
        -c "CREATE DATABASE $db OWNER $user" >&2

    local url="postgres://$user:$userpass@127.0.0.1:$port/$db"
    {
        echo "export GATEHOUSE_TEST_PG_URL='$url'"
        echo "export GATEHOUSE_PG_DIR='$dir'"
        echo "export GATEHOUSE_PG_PORT='$port'"
    } >"$ENV_FILE.tmp"
    mv "$ENV_FILE.tmp" "$ENV_FILE"
    cp "$ENV_FILE" "$dir/env" 2>/dev/null || true
    cat "$ENV_FILE"
    log "postgres $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, dir $dir, env in $ENV_FILE"
}

cmd_stop() {
    local dir=${1:-${GATEHOUSE_PG_DIR:-}}
    if [[ -z "$dir" && -f "$ENV_FILE" ]]; then
        dir=$(sed -n "s/^export GATEHOUSE_PG_DIR='\(.*\)'$/\1/p" "$ENV_FILE")
    fi
    [[ -n "$dir" && -d "$dir" ]] || { log "no cluster to stop"; exit 0; }
    case "$dir" in /tmp/gatehouse-pg.*) ;; *) log "refusing to remove $dir"; exit 1 ;; esac
    local pgbin
    if pgbin=$(find_pgbin) && [[ -f "$dir/data/postmaster.pid" ]]; then
        as_pg "$pgbin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >&2 || true
    fi
    rm -rf "$dir"
    if [[ -f "$ENV_FILE" ]] && grep -qF "'$dir'" "$ENV_FILE"; then rm -f "$ENV_FILE"; fi
    log "stopped and removed $dir"
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    *) echo "usage: $0 start [PORT] | stop [DIR]" >&2; exit 2 ;;
esac
