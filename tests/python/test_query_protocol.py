"""The query protocol (STS, IAM) on the S3 listener: SigV4 verified by re-signing, errors in <ErrorResponse>."""
import json
import subprocess

import boto3
import botocore
import pytest
from botocore.config import Config


def _client(server, service, sk=None, region="us-east-1"):
    return boto3.client(
        service, endpoint_url=server["endpoint"], region_name=region,
        aws_access_key_id=server["ak"], aws_secret_access_key=sk or server["sk"],
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_get_caller_identity_for_the_account_root(server):
    ident = _client(server, "sts").get_caller_identity()
    assert ident["Arn"] == f"arn:aws:iam::{ident['Account']}:root"
    assert ident["UserId"] == ident["Account"]
    assert len(ident["Account"]) == 12 and ident["Account"].isdigit()


def test_aws_cli_get_caller_identity(server, cli_env):
    out = subprocess.run(
        ["aws", "--endpoint-url", server["endpoint"], "sts", "get-caller-identity", "--output", "json"],
        env=cli_env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Arn"].endswith(":root")


def test_wrong_secret_is_signature_does_not_match(server):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _client(server, "sts", sk="x" * 40).get_caller_identity()
    err = e.value.response
    assert err["Error"]["Code"] == "SignatureDoesNotMatch"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err["ResponseMetadata"]["RequestId"]


def test_unknown_key_is_invalid_client_token_id(server):
    c = boto3.client(
        "sts", endpoint_url=server["endpoint"], region_name="us-east-1",
        aws_access_key_id="AKIANOSUCHKEY0000000", aws_secret_access_key="y" * 40,
        config=Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.get_caller_identity()
    assert e.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_iam_scope_in_another_region_is_refused(server):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _client(server, "iam", region="eu-west-1").list_users()
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert "region" in e.value.response["Error"]["Message"]


def test_unsigned_iam_call_is_missing_authentication_token(server):
    import urllib.request
    req = urllib.request.Request(
        server["endpoint"] + "/", data=b"Action=ListUsers&Version=2010-05-08",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)
    body = e.value.read().decode()
    assert e.value.code == 403
    assert "<ErrorResponse" in body and "<Code>MissingAuthenticationToken</Code>" in body
    assert "<RequestId>" in body


def test_aws_cli_iam_user_lifecycle(server, cli_env):
    def aws(*args):
        out = subprocess.run(
            ["aws", "--endpoint-url", server["endpoint"], "iam", *args, "--output", "json"],
            env=cli_env, capture_output=True, text=True, timeout=120,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout) if out.stdout.strip() else {}

    user = aws("create-user", "--user-name", "cli-user", "--path", "/ops/")["User"]
    assert user["Arn"].endswith(":user/ops/cli-user") and user["UserId"].startswith("AIDA")
    key = aws("create-access-key", "--user-name", "cli-user")["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["SecretAccessKey"]) == 40
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]})
    aws("put-user-policy", "--user-name", "cli-user", "--policy-name", "who", "--policy-document", policy)
    assert aws("list-user-policies", "--user-name", "cli-user")["PolicyNames"] == ["who"]
    got = aws("get-user-policy", "--user-name", "cli-user", "--policy-name", "who")
    assert got["PolicyDocument"]["Statement"][0]["Action"] == "sts:GetCallerIdentity"
    # Other tests share the server's account: list this test's path only.
    assert [u["UserName"] for u in aws("list-users", "--path-prefix", "/ops/")["Users"]] == ["cli-user"]
    # The new key signs for the user.
    ident = boto3.client(
        "sts", endpoint_url=server["endpoint"], region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
    ).get_caller_identity()
    assert ident["Arn"] == user["Arn"] and ident["UserId"] == user["UserId"]
    aws("delete-user-policy", "--user-name", "cli-user", "--policy-name", "who")
    aws("delete-access-key", "--user-name", "cli-user", "--access-key-id", key["AccessKeyId"])
    aws("delete-user", "--user-name", "cli-user")
    assert aws("list-users", "--path-prefix", "/ops/")["Users"] == []
