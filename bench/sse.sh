#!/usr/bin/env bash
# Throughput with server-side encryption next to plaintext, on one server, alternating: 64 MiB PUT and GET at
# concurrency 8 and 4 KiB PUT and GET at concurrency 32, into buckets whose default encryption is none, SSE-S3
# (AES256), SSE-KMS (aws:kms) and SSE-KMS with BucketKeyEnabled (a bucket key: one KMS data key for many
# objects), one round (the 64 MiB PUTs write about 25 GB). The bench client sends no SSE headers: the bucket
# default encrypts every PUT, and every GET decrypts. Needs release builds of gatehouse and gatehouse-bench and
# the aws CLI:
#   GATEHOUSE_BIN=... BENCH_BIN=... AWS_CLI=.venv/bin/aws bench/sse.sh [--kms vault] [--only "WORKLOADS"]
# --kms vault: the KMS is Vault/OpenBao transit (eval "$(scripts/openbao.sh start)" first: it exports
# GATEHOUSE_VAULT_ADDR, GATEHOUSE_VAULT_TOKEN and GATEHOUSE_VAULT_CACERT); default the local KMS.
# --only: a subset of "put-64MiB get-64MiB put-4KiB get-4KiB" (default all four). ROUNDS=N repeats the
# workloads N times (default 1), alternating the buckets each round, for ratios on a noisy machine.
# ONLY_BUCKETS: a subset of "plain sse-s3 sse-kms sse-kms-bk" to measure (default all four).
set -euo pipefail
BIN=${GATEHOUSE_BIN:-target/release/gatehouse}
BENCH=${BENCH_BIN:-target/release/gatehouse-bench}
AWS=${AWS_CLI:-aws}
KMS=local
ONLY="put-64MiB get-64MiB put-4KiB get-4KiB"
while [[ $# -gt 0 ]]; do
  case $1 in
    --kms) KMS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    *) echo "usage: $0 [--kms local|vault] [--only WORKLOADS]" >&2; exit 2 ;;
  esac
done
KMS_ARGS=()
if [[ $KMS == vault ]]; then
  : "${GATEHOUSE_VAULT_ADDR:?eval \"\$(scripts/openbao.sh start)\" first}" "${GATEHOUSE_VAULT_TOKEN:?}" "${GATEHOUSE_VAULT_CACERT:?}"
  KMS_ARGS=(--kms vault --vault-addr "$GATEHOUSE_VAULT_ADDR" --vault-ca "$GATEHOUSE_VAULT_CACERT")
elif [[ $KMS != local ]]; then
  echo "--kms local or vault" >&2; exit 2
fi
D=$(mktemp -d /tmp/sse-bench.XXXXXX)
RAK=AKIABENCHROOT0000001; RSK=benchrootsecret0000000000000000000000001
GATEHOUSE_ROOT_ACCESS_KEY=$RAK GATEHOUSE_ROOT_SECRET_KEY=$RSK $BIN serve --data-dir $D --listen 127.0.0.1:9401 \
  "${KMS_ARGS[@]}" >$D/log 2>&1 &
PID=$!
trap 'kill $PID; wait $PID 2>/dev/null; rm -rf $D' EXIT
for _ in $(seq 100); do curl -fsS http://127.0.0.1:9401/health >/dev/null 2>&1 && break; sleep 0.1; done
export AWS_ACCESS_KEY_ID=$RAK AWS_SECRET_ACCESS_KEY=$RSK AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
E="--endpoint-url http://127.0.0.1:9401"
NAME=bench-key-$$-$RANDOM
KEY=$($BIN admin kms key create $NAME --key-id $NAME --data-dir $D "${KMS_ARGS[@]}" | sed -n 's/^arn=//p')
echo "kms $KMS, key $KEY"
BUCKETS="plain sse-s3 sse-kms sse-kms-bk"
for b in $BUCKETS; do $AWS $E s3 mb s3://$b >/dev/null; done
$AWS $E s3api put-bucket-encryption --bucket sse-s3 --server-side-encryption-configuration \
  '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'
$AWS $E s3api put-bucket-encryption --bucket sse-kms --server-side-encryption-configuration \
  "{\"Rules\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\",\"KMSMasterKeyID\":\"$KEY\"}}]}"
$AWS $E s3api put-bucket-encryption --bucket sse-kms-bk --server-side-encryption-configuration \
  "{\"Rules\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\",\"KMSMasterKeyID\":\"$KEY\"},\"BucketKeyEnabled\":true}]}"
kms_calls() { curl -fsS http://127.0.0.1:9401/metrics | awk '/^gatehouse_kms_requests_total\{op="(generate_data_key|decrypt|describe_key)"\}/ {n += $2} END {print n + 0}'; }
# The server's CPU time (user + system), sampled every 0.2 s, over each measured phase (populating excluded):
# CPU seconds per GiB served is a cost that other load on the machine changes far less than throughput.
( while kill -0 $PID 2>/dev/null; do echo "$(date +%s%3N) $(awk '{print $14 + $15}' /proc/$PID/stat 2>/dev/null)"; sleep 0.2; done ) >$D/cpu &
run() { # bucket workload size concurrency objects
  local before after end
  before=$(kms_calls)
  $BENCH --endpoint http://127.0.0.1:9401 --access-key $RAK --secret-key $RSK --bucket $1 --workload $2 --size $3 \
    --concurrency $4 --duration 10s --objects $5 --prefix "$2-$3-$RANDOM/" --json >$D/run.json
  end=$(date +%s%3N); after=$(kms_calls)
  python3 - "$D/run.json" "$1 $2 $3 c$4" "$((after - before))" "$(getconf CLK_TCK)" "$end" "$D/cpu" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = d['total']
hz, end = int(sys.argv[4]), int(sys.argv[5])
start = end - int(d['elapsed_secs'] * 1000)
samples = [tuple(map(int, l.split())) for l in open(sys.argv[6]) if len(l.split()) == 2]
at = lambda ms: min(samples, key=lambda s: abs(s[0] - ms))
(t0, c0), (t1, c1) = at(start), at(end)
cpu = (c1 - c0) / hz * (end - start) / max(t1 - t0, 1)
gib = t['mib_per_sec'] * d['elapsed_secs'] / 1024
per = f"{cpu / gib:.2f} server cpu s/GiB" if gib > 0.5 else f"{cpu * 1e6 / max(t['ops'], 1):.0f} server cpu us/op"
print(sys.argv[2], round(t['ops_per_sec']), 'ops/s', round(t['mib_per_sec'], 1), 'MiB/s errors', t['errors'],
      'kms calls', sys.argv[3], per)
PY
}
want() { [[ " $ONLY " == *" $1 "* ]]; }
RUN_BUCKETS=${ONLY_BUCKETS:-$BUCKETS}  # ONLY_BUCKETS="plain sse-s3": measure a subset of the buckets
for round in $(seq ${ROUNDS:-1}); do  # one round of all four: the 64 MiB PUTs write ~25 GB
  if want put-64MiB; then for b in $RUN_BUCKETS; do run $b put 64MiB 8 16; done; fi
  if want get-64MiB; then for b in $RUN_BUCKETS; do run $b get 64MiB 8 16; done; fi
  if want put-4KiB; then for b in $RUN_BUCKETS; do run $b put 4KiB 32 2000; done; fi
  if want get-4KiB; then for b in $RUN_BUCKETS; do run $b get 4KiB 32 2000; done; fi
done
