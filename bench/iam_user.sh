#!/usr/bin/env bash
# 4 KiB GET at concurrency 32 (10 s, 2,000 objects) as the account root and as an IAM user whose inline policy has
# 10 statements (9 conditioned ones for other buckets, 1 granting the bench bucket), against a bucket whose policy
# has 10 statements (9 conditioned Allows and Denies for other prefixes and callers, 1 Deny that never matches),
# on one server, alternating twice. Needs release builds of gatehouse and gatehouse-bench and the aws CLI:
#   GATEHOUSE_BIN=... BENCH_BIN=... AWS_CLI=.venv/bin/aws bench/iam_user.sh
# GATEHOUSE_EXTRA_ARGS is appended to `gatehouse serve` (for example `--database-url postgres://...`).
set -euo pipefail
BIN=${GATEHOUSE_BIN:-target/release/gatehouse}
BENCH=${BENCH_BIN:-target/release/gatehouse-bench}
AWS=${AWS_CLI:-aws}
D=$(mktemp -d /tmp/iam-bench.XXXXXX)
RAK=AKIABENCHROOT0000001; RSK=benchrootsecret0000000000000000000000001
GATEHOUSE_ROOT_ACCESS_KEY=$RAK GATEHOUSE_ROOT_SECRET_KEY=$RSK $BIN serve --data-dir $D --listen 127.0.0.1:9400 ${GATEHOUSE_EXTRA_ARGS:-} >$D/log 2>&1 &
PID=$!
trap 'kill $PID; wait $PID 2>/dev/null; rm -rf $D' EXIT
for _ in $(seq 100); do curl -fsS http://127.0.0.1:9400/health >/dev/null 2>&1 && break; sleep 0.1; done
export AWS_ACCESS_KEY_ID=$RAK AWS_SECRET_ACCESS_KEY=$RSK AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
E="--endpoint-url http://127.0.0.1:9400"
$AWS $E s3 mb s3://bench >/dev/null
$AWS $E iam create-user --user-name bencher >/dev/null
KEY=$($AWS $E iam create-access-key --user-name bencher --output text --query 'AccessKey.[AccessKeyId,SecretAccessKey]')
UAK=$(echo "$KEY" | cut -f1); USK=$(echo "$KEY" | cut -f2)
STMTS=""
for i in 1 2 3 4 5 6 7 8 9; do
  STMTS="$STMTS{\"Sid\":\"Other$i\",\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",\"s3:PutObject\"],\"Resource\":\"arn:aws:s3:::other-$i/*\",\"Condition\":{\"StringEquals\":{\"aws:RequestedRegion\":\"us-east-1\"}}},"
done
STMTS="$STMTS{\"Sid\":\"Bench\",\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",\"s3:PutObject\",\"s3:ListBucket\",\"s3:CreateBucket\"],\"Resource\":[\"arn:aws:s3:::bench\",\"arn:aws:s3:::bench/*\"]}"
$AWS $E iam put-user-policy --user-name bencher --policy-name ten --policy-document "{\"Version\":\"2012-10-17\",\"Statement\":[$STMTS]}"
ACCOUNT=$($AWS $E sts get-caller-identity --output text --query Account)
BSTMTS=""
for i in 1 2 3 4 5 6 7 8 9; do
  BSTMTS="$BSTMTS{\"Sid\":\"Prefix$i\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::$ACCOUNT:root\"},\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bench/shared-$i/*\",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"10.$i.0.0/16\"}}},"
done
BSTMTS="$BSTMTS{\"Sid\":\"NoPlainHttpFromOutside\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::bench/*\",\"Condition\":{\"NotIpAddress\":{\"aws:SourceIp\":\"127.0.0.0/8\"}}}"
$AWS $E s3api delete-public-access-block --bucket bench
$AWS $E s3api put-bucket-policy --bucket bench --policy "{\"Version\":\"2012-10-17\",\"Statement\":[$BSTMTS]}"
run() { # label ak sk
  AWS_ACCESS_KEY_ID=$2 AWS_SECRET_ACCESS_KEY=$3 $BENCH --endpoint http://127.0.0.1:9400 --bucket bench \
    --workload get --size 4KiB --concurrency 32 --duration 10s --objects 2000 --prefix "$1-$RANDOM/" --json \
    | python3 -c "import json,sys; d=json.load(sys.stdin)['total']; print('$1', round(d['ops_per_sec']), 'ops/s p50', d['latency_ms']['p50'], 'ms errors', d['errors'])"
}
for round in 1 2; do
  run root $RAK $RSK
  run user $UAK $USK
done
