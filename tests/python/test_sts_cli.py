"""The README's STS walk-through, run as written with the aws CLI and bash: a role, a user allowed to assume it,
`assume-role` read into the environment, and the session used on STS and S3 (read-only, as its policy says)."""
import os
import subprocess
import uuid


def test_readme_assume_role_flow(server, cli_env):
    bucket = "photos-" + uuid.uuid4().hex[:8]
    script = r'''
set -euo pipefail
E=--endpoint-url=$ENDPOINT
ACCOUNT=$(aws $E sts get-caller-identity --query Account --output text)
aws $E s3 mb s3://$BUCKET >/dev/null
echo hello | aws $E s3 cp - s3://$BUCKET/hello.txt >/dev/null
aws $E iam create-user --user-name alice-$SUFFIX >/dev/null
read -r ALICE_AK ALICE_SK < <(aws $E iam create-access-key --user-name alice-$SUFFIX \
    --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)
aws $E iam create-role --role-name reader-$SUFFIX --assume-role-policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::'$ACCOUNT':root"},"Action":"sts:AssumeRole"}]}' >/dev/null
aws $E iam attach-role-policy --role-name reader-$SUFFIX --policy-arn arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess
aws $E iam put-user-policy --user-name alice-$SUFFIX --policy-name assume-reader --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::'$ACCOUNT':role/reader-'$SUFFIX'"}]}'
# The root may not assume roles.
if aws $E sts assume-role --role-arn arn:aws:iam::$ACCOUNT:role/reader-$SUFFIX --role-session-name x >/dev/null 2>&1; then
  echo "root assumed a role"; exit 1
fi
export AWS_ACCESS_KEY_ID=$ALICE_AK AWS_SECRET_ACCESS_KEY=$ALICE_SK
read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN < <(aws $E sts assume-role \
    --role-arn arn:aws:iam::$ACCOUNT:role/reader-$SUFFIX --role-session-name job-1 \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
echo "WHO $(aws $E sts get-caller-identity --query Arn --output text)"
echo "LS $(aws $E s3 ls s3://$BUCKET)"
echo "GET $(aws $E s3 cp s3://$BUCKET/hello.txt -)"
if echo x | aws $E s3 cp - s3://$BUCKET/new.txt 2>/dev/null; then echo "WRITE allowed"; else echo "WRITE denied"; fi
'''
    env = dict(cli_env, ENDPOINT=server["endpoint"], BUCKET=bucket, SUFFIX=uuid.uuid4().hex[:6])
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = dict(l.split(" ", 1) for l in out.stdout.splitlines() if " " in l)
    assert lines["WHO"].endswith(":assumed-role/reader-" + env["SUFFIX"] + "/job-1"), out.stdout
    assert lines["WHO"].startswith("arn:aws:sts::")
    assert "hello.txt" in lines["LS"]
    assert lines["GET"] == "hello"
    assert lines["WRITE"] == "denied", out.stdout


def test_cli_federation_token_and_access_key_info(server, cli_env):
    """`aws sts get-federation-token` with a managed session policy by ARN, the federated user on S3, and
    `aws sts get-access-key-info` on the user's key and on the session's."""
    bucket = "fed-" + uuid.uuid4().hex[:8]
    script = r'''
set -euo pipefail
E=--endpoint-url=$ENDPOINT
ACCOUNT=$(aws $E sts get-caller-identity --query Account --output text)
aws $E s3 mb s3://$BUCKET >/dev/null
echo hello | aws $E s3 cp - s3://$BUCKET/hello.txt >/dev/null
aws $E iam create-user --user-name fed-$SUFFIX >/dev/null
aws $E iam attach-user-policy --user-name fed-$SUFFIX --policy-arn arn:aws:iam::aws:policy/AmazonS3FullAccess
aws $E iam put-user-policy --user-name fed-$SUFFIX --policy-name federate --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:GetFederationToken","sts:GetAccessKeyInfo"],"Resource":"*"}]}'
read -r FED_AK FED_SK < <(aws $E iam create-access-key --user-name fed-$SUFFIX \
    --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)
export AWS_ACCESS_KEY_ID=$FED_AK AWS_SECRET_ACCESS_KEY=$FED_SK
echo "INFO $(aws $E sts get-access-key-info --access-key-id $FED_AK --query Account --output text) $ACCOUNT"
read -r AK SK TOKEN < <(aws $E sts get-federation-token --name carol \
    --policy-arns arn=arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
echo "TEMPINFO $(aws $E sts get-access-key-info --access-key-id $AK --query Account --output text)"
export AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_SESSION_TOKEN=$TOKEN
echo "WHO $(aws $E sts get-caller-identity --query Arn --output text)"
echo "GET $(aws $E s3 cp s3://$BUCKET/hello.txt -)"
if echo x | aws $E s3 cp - s3://$BUCKET/new.txt 2>/dev/null; then echo "WRITE allowed"; else echo "WRITE denied"; fi
'''
    env = dict(cli_env, ENDPOINT=server["endpoint"], BUCKET=bucket, SUFFIX=uuid.uuid4().hex[:6])
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = dict(l.split(" ", 1) for l in out.stdout.splitlines() if " " in l)
    got, account = lines["INFO"].split()
    assert got == account, out.stdout
    assert lines["TEMPINFO"] == account, out.stdout
    assert lines["WHO"] == "arn:aws:sts::" + account + ":federated-user/carol", out.stdout
    assert lines["GET"] == "hello"
    assert lines["WRITE"] == "denied", out.stdout
