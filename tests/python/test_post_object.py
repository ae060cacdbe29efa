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


def _put_only_user(server, bucket):
    """An IAM user allowed s3:PutObject on `bucket`'s objects, nothing else; its S3 client and IAM name."""
    iam = _client(server, "iam")
    user = "poster-" + uuid.uuid4().hex[:6]
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    iam.put_user_policy(UserName=user, PolicyName="put-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"}],
    }))
    return _client(server, "s3", key["AccessKeyId"], key["SecretAccessKey"]), user


def test_post_object_tags_need_put_object_tagging(server):
    root = _client(server, "s3")
    iam = _client(server, "iam")
    bucket = "post-" + uuid.uuid4().hex[:8]
    root.create_bucket(Bucket=bucket)
    s3, user = _put_only_user(server, bucket)

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



def test_post_object_tagging_field_as_aws_documents_it(server):
    """AWS's form field for tags is `tagging`, an XML <Tagging> document (s3s's form parser reads only
    `x-amz-tagging`; the gateway reads `tagging` itself): stored as tags, validated, and decided as tags."""
    root = _client(server, "s3")
    bucket = "post-" + uuid.uuid4().hex[:8]
    root.create_bucket(Bucket=bucket)
    xml = ("<Tagging><TagSet><Tag><Key>team</Key><Value>blue green</Value></Tag>"
           "<Tag><Key>a&amp;b</Key><Value>1</Value></Tag></TagSet></Tagging>")
    r = _post(root, bucket, "xml-tags.txt", {"tagging": xml})
    assert r.status == 204, r.data
    tags = root.get_object_tagging(Bucket=bucket, Key="xml-tags.txt")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a&b", "1"), ("team", "blue green")]
    assert root.get_object(Bucket=bucket, Key="xml-tags.txt")["Body"].read() == b"hello from a form"

    # Malformed XML, or tags given both ways: refused, nothing written.
    r = _post(root, bucket, "bad.txt", {"tagging": "<Tagging><TagSet><Tag>"})
    assert r.status == 400 and b"MalformedXML" in r.data, r.data
    r = _post(root, bucket, "both.txt", {"tagging": xml, "x-amz-tagging": "a=b"})
    assert r.status == 400 and b"InvalidArgument" in r.data, r.data

    # A user who may put objects but not tag them cannot tag them this way either.
    s3, _ = _put_only_user(server, bucket)
    r = _post(s3, bucket, "user-tags.txt", {"tagging": xml})
    assert r.status == 403 and b"AccessDenied" in r.data, r.data
    names = [o["Key"] for o in root.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert names == ["xml-tags.txt"]


def test_post_object_large_file_passes_through_the_form_check(server):
    """The form check peeks at the fields only; a multi-MiB file behind them arrives whole."""
    import os as _os
    root = _client(server, "s3")
    bucket = "post-" + uuid.uuid4().hex[:8]
    root.create_bucket(Bucket=bucket)
    data = _os.urandom(3 * 1024 * 1024 + 17)
    p = root.generate_presigned_post(bucket, "big.bin")
    form = dict(p["fields"])
    form["file"] = ("big.bin", data)
    r = urllib3.PoolManager().request("POST", p["url"], fields=form)
    assert r.status == 204, r.data
    assert root.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == data
