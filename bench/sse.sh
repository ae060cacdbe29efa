#!/usr/bin/env bash
# Throughput with server-side encryption next to plaintext, on one server, alternating: 64 MiB PUT and GET at
# concurrency 8 and 4 KiB PUT and GET at concurrency 32, into buckets whose default encryption is none, SSE-S3
# (AES256) and SSE-KMS (aws:kms with a local-KMS key), one round (the 64 MiB PUTs write about 20 GB). The bench client sends no SSE headers: the bucket default
# encrypts every PUT, and every GET decrypts. Needs release builds of gatehouse and gatehouse-bench and the aws CLI:
#   GATEHOUSE_BIN=... BENCH_BIN=... AWS_CLI=.venv/bin/aws bench/sse.sh
set -euo pipefail
BIN=${GATEHOUSE_BIN:-target/release/gatehouse}
BENCH=${BENCH_BIN:-target/release/gatehouse-bench}
AWS=${AWS_CLI:-aws}
D=$(mktemp -d /tmp/sse-bench.XXXXXX)
RAK=AKIABENCHROOT0000001; RSK=benchrootsecret0000000000000000000000001
GATEHOUSE_ROOT_ACCESS_KEY=$RAK GATEHOUSE_ROOT_SECRET_KEY=$RSK $BIN serve --data-dir $D --listen 127.0.0.1:9401 >$D/log 2>&1 &
PID=$!
trap 'kill $PID; wait $PID 2>/dev/null; rm -rf $D' EXIT
for _ in $(seq 100); do curl -fsS http://127.0.0.1:9401/health >/dev/null 2>&1 && break; sleep 0.1; done
export AWS_ACCESS_KEY_ID=$RAK AWS_SECRET_ACCESS_KEY=$RSK AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
E="--endpoint-url http://127.0.0.1:9401"
KEY=$($BIN admin kms key create bench-key --data-dir $D | sed -n 's/^arn=//p')
for b in plain sse-s3 sse-kms; do $AWS $E s3 mb s3://$b >/dev/null; done
$AWS $E s3api put-bucket-encryption --bucket sse-s3 --server-side-encryption-configuration \
  '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'
$AWS $E s3api put-bucket-encryption --bucket sse-kms --server-side-encryption-configuration \
  "{\"Rules\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\",\"KMSMasterKeyID\":\"$KEY\"}}]}"
run() { # bucket workload size concurrency objects
  $BENCH --endpoint http://127.0.0.1:9401 --access-key $RAK --secret-key $RSK --bucket $1 --workload $2 --size $3 \
    --concurrency $4 --duration 10s --objects $5 --prefix "$2-$3-$RANDOM/" --json |
    python3 -c "import json,sys; d=json.load(sys.stdin)['total']; print('$1 $2 $3 c$4', round(d['ops_per_sec']), 'ops/s', round(d['mib_per_sec'], 1), 'MiB/s errors', d['errors'])"
}
for round in 1; do  # one round: the 64 MiB PUTs write ~20 GB
  for b in plain sse-s3 sse-kms; do run $b put 64MiB 8 16; done
  for b in plain sse-s3 sse-kms; do run $b get 64MiB 8 16; done
  for b in plain sse-s3 sse-kms; do run $b put 4KiB 32 2000; done
  for b in plain sse-s3 sse-kms; do run $b get 4KiB 32 2000; done
done
