#!/usr/bin/env bash
# Run the Ceph s3-tests suite against Gatehouse (not part of CI: the suite cannot be committed).
#
#   S3TESTS_DIR=/path/to/s3-tests scripts/s3tests.sh [extra pytest args, e.g. -k 'multipart']
#
# Starts the server on a fresh data dir with the suite's users as accounts (keys and ids are the defaults of
# ../shared/s3tests/s3tconf.py), runs ../shared/s3tests/run.sh, stops the server. GATEHOUSE_BIN picks the
# binary (default: target/release/gatehouse, else target/debug/gatehouse-under-test).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
HARNESS=${S3TESTS_HARNESS:-$ROOT/../shared/s3tests}
PORT=${S3_PORT:-8000}
BIN=${GATEHOUSE_BIN:-}
if [ -z "$BIN" ]; then
    if [ -x target/release/gatehouse ]; then BIN=target/release/gatehouse; else BIN=target/debug/gatehouse-under-test; fi
fi
DATA=$(mktemp -d /tmp/gatehouse-s3tests.XXXXXX)
mk() { # name ak sk canonical display email [account id]; prints the account id
    "$BIN" admin account create "$1" --access-key "$2" --secret-key "$3" --canonical-id "$4" \
        --display-name "$5" --email "$6" ${7:+--account-id "$7"} --data-dir "$DATA" | sed -n 's/^account_id=//p'
}
MAIN_ACCOUNT=$(mk main 0555b35654ad1656d804 'h7GhxuBLTrlhVUyxSPUKUV8r/2EI4ngqJxD7iBdBYLhwluN30JaT3Q==' testid 'M. Tester' tester@ceph.com)
mk alt NOPQRSTUVWXYZABCDEFG nopqrstuvwxyzabcdefghijklmnabcdefghijklm \
    56789abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234 john.doe john.doe@example.com >/dev/null
mk tenant HIJKLMNOPQRSTUVWXYZA opqrstuvwxyzabcdefghijklmnopqrstuvwxyzab \
    'testx$9876543210abcdef0123456789abcdef0123456789abcdef0123456789abcdef' 'testx$tenanteduser' tenanteduser@example.com >/dev/null
mk iam ABCDEFGHIJKLMNOPQRST abcdefghijklmnopqrstuvwxyzabcdefghijklmn \
    0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef youruseridhere s3@example.com >/dev/null
# The suite's account roots: its `user_id` stands both for the account id (GetCallerIdentity) and for the id
# ACL grants name, so these two accounts get 12-digit ids that are also their canonical ids.
mk iamroot AAAAAAAAAAAAAAAAAAaa aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 111111111111 111111111111 account1@ceph.com 111111111111 >/dev/null
mk iamaltroot BBBBBBBBBBBBBBBBBBbb bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 222222222222 222222222222 account2@ceph.com 222222222222 >/dev/null
export S3_IAM_ROOT_USER_ID=111111111111 S3_IAM_ALT_ROOT_USER_ID=222222222222
# The suite's SSE-KMS keys testkey-1 and testkey-2, owned by the main user's account. The suite compares the
# x-amz-server-side-encryption-aws-kms-key-id it gets back with its configured key id, and S3 answers with
# the key's ARN (as AWS does), so the suite is given the ARNs (S3_KMS_KEYID / S3_KMS_KEYID2), as on AWS.
kms_arn() {
    "$BIN" admin kms key create "$1" --key-id "$1" --account "$MAIN_ACCOUNT" --data-dir "$DATA" |
        sed -n 's/^arn=//p'
}
ARN1=$(kms_arn testkey-1)
ARN2=$(kms_arn testkey-2)
export S3_KMS_KEYID=${S3_KMS_KEYID:-$ARN1} S3_KMS_KEYID2=${S3_KMS_KEYID2:-$ARN2}
# The suite's [s3 main] storage_classes and lc_debug_interval follow the server's settings: the class names of
# GATEHOUSE_STORAGE_CLASSES (without :archive or =DIR) and GATEHOUSE_LIFECYCLE_DAY_SECONDS.
if [ -n "${GATEHOUSE_STORAGE_CLASSES:-}" ] && [ -z "${S3_STORAGE_CLASSES:-}" ]; then
    S3_STORAGE_CLASSES=$(echo "$GATEHOUSE_STORAGE_CLASSES" | tr ',' '\n' | sed 's/[:=].*//' | paste -sd, -)
    export S3_STORAGE_CLASSES
fi
if [ -n "${GATEHOUSE_LIFECYCLE_DAY_SECONDS:-}" ] && [ -z "${S3_LC_DEBUG_INTERVAL:-}" ]; then
    export S3_LC_DEBUG_INTERVAL=$GATEHOUSE_LIFECYCLE_DAY_SECONDS
fi
"$BIN" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT" >"$DATA/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done
S3_PORT=$PORT "$HARNESS/run.sh" "$@"
