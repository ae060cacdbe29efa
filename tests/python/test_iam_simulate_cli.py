"""The policy simulator and GetAccountAuthorizationDetails as the aws CLI drives them: shorthand context
entries, the CLI's own pagination over MaxItems/Marker, URL-encoded documents decoded by the CLI."""
import json
import os
import subprocess
import uuid


def _aws(env, endpoint, *args):
    out = subprocess.run(["aws", "--endpoint-url", endpoint, "--output", "json", *args], env=env,
                         capture_output=True, text=True, timeout=120)
    return out


def _ok(env, endpoint, *args):
    out = _aws(env, endpoint, *args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else None


def test_simulate_principal_and_custom_policy(server, cli_env):
    e = server["endpoint"]
    suffix = uuid.uuid4().hex[:6]
    user = "sim-" + suffix
    account = _ok(cli_env, e, "sts", "get-caller-identity")["Account"]
    _ok(cli_env, e, "iam", "create-user", "--user-name", user)
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"},
        {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]}
    _ok(cli_env, e, "iam", "put-user-policy", "--user-name", user, "--policy-name", "p",
        "--policy-document", json.dumps(policy, indent=2))
    res = _ok(cli_env, e, "iam", "simulate-principal-policy",
              "--policy-source-arn", f"arn:aws:iam::{account}:user/{user}",
              "--action-names", "s3:GetObject", "s3:DeleteObject", "s3:PutObject",
              "--resource-arns", "arn:aws:s3:::data/x")
    by = {r["EvalActionName"]: r for r in res["EvaluationResults"]}
    assert by["s3:GetObject"]["EvalDecision"] == "allowed"
    assert by["s3:DeleteObject"]["EvalDecision"] == "explicitDeny"
    assert by["s3:PutObject"]["EvalDecision"] == "implicitDeny"
    m = by["s3:GetObject"]["MatchedStatements"][0]
    assert m["SourcePolicyId"] == f"user_{user}_p"
    # json.dumps(indent=2): the first statement's `{` is on line 4, column 5, its `}` on line 9; IAM reports
    # the positions just after them.
    assert m["StartPosition"] == {"Line": 4, "Column": 6}
    assert m["EndPosition"] == {"Line": 9, "Column": 6}
    assert by["s3:DeleteObject"]["MatchedStatements"][0]["StartPosition"] == {"Line": 10, "Column": 6}

    custom = json.dumps({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}})
    for ip, want in [("203.0.113.9", "allowed"), ("198.51.100.1", "implicitDeny")]:
        res = _ok(cli_env, e, "iam", "simulate-custom-policy", "--policy-input-list", custom,
                  "--action-names", "s3:ListBucket",
                  "--context-entries", f"ContextKeyName=aws:SourceIp,ContextKeyValues={ip},ContextKeyType=ip")
        assert res["EvaluationResults"][0]["EvalDecision"] == want, res
    res = _ok(cli_env, e, "iam", "simulate-custom-policy", "--policy-input-list", custom,
              "--action-names", "s3:ListBucket")
    assert res["EvaluationResults"][0]["MissingContextValues"] == ["aws:SourceIp"]

    bad = _aws(cli_env, e, "iam", "simulate-principal-policy",
               "--policy-source-arn", f"arn:aws:iam::{account}:user/nobody-{suffix}", "--action-names", "s3:GetObject")
    assert bad.returncode != 0 and "NoSuchEntity" in bad.stderr


def test_get_account_authorization_details(server, cli_env):
    e = server["endpoint"]
    suffix = uuid.uuid4().hex[:6]
    names = [f"aad-{suffix}-{i}" for i in range(3)]
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    for n in names:
        _ok(cli_env, e, "iam", "create-user", "--user-name", n)
    _ok(cli_env, e, "iam", "put-user-policy", "--user-name", names[0], "--policy-name", "all",
        "--policy-document", json.dumps(doc))
    # The CLI follows Marker itself: a page size of 1 still returns every user.
    res = _ok(cli_env, e, "iam", "get-account-authorization-details", "--filter", "User", "--page-size", "1")
    mine = [u for u in res["UserDetailList"] if u["UserName"].startswith(f"aad-{suffix}-")]
    assert [u["UserName"] for u in mine] == names
    assert mine[0]["UserPolicyList"][0]["PolicyName"] == "all"
    # The CLI decodes IAM's URL-encoded documents into JSON.
    assert mine[0]["UserPolicyList"][0]["PolicyDocument"] == doc
    assert res["GroupDetailList"] == [] and res["Policies"] == []
