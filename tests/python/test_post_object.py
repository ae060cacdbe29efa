"""Browser-form uploads (POST object) go through the same access decision as PUT, on the parsed form: tags in
the form need s3:PutObjectTagging as tags in a PUT's header do (the form's fields are only known once s3s has
parsed it, so this is decided in the typed hook, not before)."""
import json
import uuid

import boto3
import urllib3
from botocore.config import Config


def _client(server, service, ak=None, sk=None):
    return boto3.client(
        service, endpoint_url=server["endpoint"], region_name="us-east-1",
        aws_access_key_id=ak or server["ak"], aws_secret_access_key=sk or server["sk"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )


def _post(s3, bucket, key, fields):
    conditions = [{k: v} for k, v in fields.items()]
    p = s3.generate_presigned_post(bucket, key, Fields=dict(fields), Conditions=conditions)
    form = dict(p["fields"])
    form["file"] = (key, b"hello from a form")
    return urllib3.PoolManager().request("POST", p["url"], fields=form)


def test_post_object_tags_need_put_object_tagging(server):
    root = _client(server, "s3")
    iam = _client(server, "iam")
    bucket = "post-" + uuid.uuid4().hex[:8]
    root.create_bucket(Bucket=bucket)
    user = "poster-" + uuid.uuid4().hex[:6]
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    iam.put_user_policy(UserName=user, PolicyName="put-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"}],
    }))
    s3 = _client(server, "s3", key["AccessKeyId"], key["SecretAccessKey"])

    r = _post(s3, bucket, "plain.txt", {})
    assert r.status == 204, r.data
    r = _post(s3, bucket, "tagged.txt", {"x-amz-tagging": "team=blue"})
    assert r.status == 403, r.data
    assert b"AccessDenied" in r.data
    # Nothing was written.
    names = [o["Key"] for o in root.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert names == ["plain.txt"]

    iam.put_user_policy(UserName=user, PolicyName="tagging", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:PutObjectTagging", "Resource": f"arn:aws:s3:::{bucket}/*"}],
    }))
    r = _post(s3, bucket, "tagged.txt", {"x-amz-tagging": "team=blue"})
    assert r.status == 204, r.data
    tags = root.get_object_tagging(Bucket=bucket, Key="tagged.txt")["TagSet"]
    assert tags == [{"Key": "team", "Value": "blue"}]
