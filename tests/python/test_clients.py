"""boto3 and the aws CLI against the real server: multipart upload_file with default checksums, download,
list, presigned GET through curl, and `aws s3 sync` of a directory tree."""
import email.utils
import hashlib
import os
import subprocess
import time

import botocore
import pytest
from boto3.s3.transfer import TransferConfig


def _sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def test_upload_file_multipart_with_default_checksums(s3, tmp_path):
    s3.create_bucket(Bucket="py-multipart")
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(13 * 1024 * 1024 + 5))
    cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_file(str(src), "py-multipart", "big.bin", Config=cfg)
    head = s3.head_object(Bucket="py-multipart", Key="big.bin", ChecksumMode="ENABLED")
    assert head["ContentLength"] == src.stat().st_size
    assert head["ETag"].strip('"').endswith("-3"), head["ETag"]
    # boto3 sends CRC32 by default; the server verified and stored it.
    assert any(k.startswith("Checksum") and k != "ChecksumType" for k in head), head
    dst = tmp_path / "back.bin"
    s3.download_file("py-multipart", "big.bin", str(dst))
    assert _sha(src) == _sha(dst)
    listed = s3.list_objects_v2(Bucket="py-multipart")
    assert [o["Key"] for o in listed["Contents"]] == ["big.bin"]


def test_put_with_wrong_checksum_is_refused(s3):
    s3.create_bucket(Bucket="py-checksum")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket="py-checksum", Key="k", Body=b"hello", ChecksumSHA256="A" * 43 + "=")
    assert e.value.response["Error"]["Code"] == "BadDigest"
    assert e.value.response["ResponseMetadata"]["RequestId"]
    assert s3.list_objects_v2(Bucket="py-checksum")["KeyCount"] == 0


def test_sigv4_with_date_header_instead_of_x_amz_date(server):
    """When the caller sets `Date`, botocore signs SigV4 with `Date` and sends no `x-amz-date` (AWS accepts
    that); the request works, and a `Date` changed after signing fails the signature."""
    import boto3
    from botocore.config import Config
    c = boto3.client("s3", endpoint_url=server["endpoint"], region_name="us-east-1",
                     aws_access_key_id=server["ak"], aws_secret_access_key=server["sk"],
                     config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                   retries={"total_max_attempts": 1}))
    c.create_bucket(Bucket="py-date-header")
    seen = {}

    def add_date(**kwargs):
        kwargs["params"]["headers"]["Date"] = email.utils.formatdate(usegmt=True)

    def record(request, **kwargs):
        seen.update({k.lower(): v for k, v in request.headers.items()})

    c.meta.events.register("before-call.s3.PutObject", add_date)
    c.meta.events.register("before-send.s3.PutObject", record)
    c.put_object(Bucket="py-date-header", Key="k", Body=b"dated")
    assert "date" in seen and "x-amz-date" not in seen, seen
    assert c.get_object(Bucket="py-date-header", Key="k")["Body"].read() == b"dated"

    def shift_date(request, **kwargs):
        # A minute off: well within the allowed skew, so only the signature can refuse it.
        request.headers["Date"] = email.utils.formatdate(usegmt=True, timeval=time.time() - 60)

    c.meta.events.register("before-send.s3.PutObject", shift_date)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.put_object(Bucket="py-date-header", Key="other", Body=b"x")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert [o["Key"] for o in c.list_objects_v2(Bucket="py-date-header")["Contents"]] == ["k"]


def test_presigned_get_with_curl(s3):
    s3.create_bucket(Bucket="py-presign")
    s3.put_object(Bucket="py-presign", Key="a b.txt", Body=b"presigned body")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "py-presign", "Key": "a b.txt"}, ExpiresIn=300)
    out = subprocess.run(["curl", "-sS", "-f", url], capture_output=True, check=True)
    assert out.stdout == b"presigned body"
    sig_at = url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
    flipped = "0" if url[sig_at] != "0" else "1"
    bad = url[:sig_at] + flipped + url[sig_at + 1:]
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", bad], capture_output=True, check=True)
    assert out.stdout == b"403"


def test_sigv2_is_refused_by_default(server):
    """SigV2 is off unless --sigv2 turns it on: a v2-presigned URL gets AWS's error, not a silent pass."""
    import boto3
    from botocore.config import Config
    v2 = boto3.client("s3", endpoint_url=server["endpoint"], region_name="us-east-1",
                      aws_access_key_id=server["ak"], aws_secret_access_key=server["sk"],
                      config=Config(signature_version="s3", s3={"addressing_style": "path"}))
    url = v2.generate_presigned_url("list_objects", Params={"Bucket": "py-presign"}, ExpiresIn=300)
    out = subprocess.run(["curl", "-sS", url], capture_output=True, check=True)
    assert b"<Code>InvalidRequest</Code>" in out.stdout and b"AWS4-HMAC-SHA256" in out.stdout, out.stdout


def test_sigv2_when_enabled(server_v2):
    """With --sigv2, boto3's SigV2 signer works end to end (bucket requests are signed as `/bucket/`), presigned
    v2 URLs work, and a wrong secret, a malformed header or a skewed date get AWS's errors."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    def client(sk):
        return boto3.client("s3", endpoint_url=server_v2["endpoint"], region_name="us-east-1",
                            aws_access_key_id=server_v2["ak"], aws_secret_access_key=sk,
                            config=Config(signature_version="s3", s3={"addressing_style": "path"},
                                          retries={"total_max_attempts": 1}))
    v2 = client(server_v2["sk"])
    v2.create_bucket(Bucket="py-v2")
    v2.put_object(Bucket="py-v2", Key="a b+c", Body=b"v2 body")
    assert [o["Key"] for o in v2.list_objects(Bucket="py-v2")["Contents"]] == ["a b+c"]
    assert v2.get_object(Bucket="py-v2", Key="a b+c")["Body"].read() == b"v2 body"
    url = v2.generate_presigned_url("get_object", Params={"Bucket": "py-v2", "Key": "a b+c"}, ExpiresIn=300)
    out = subprocess.run(["curl", "-sS", "-f", url], capture_output=True, check=True)
    assert out.stdout == b"v2 body"
    with pytest.raises(ClientError) as e:
        client("wrong-secret").put_object(Bucket="py-v2", Key="x", Body=b"no")
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"

    def raw(headers):
        args = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", f"{server_v2['endpoint']}/py-v2/"]
        for k, v in headers.items():
            args += ["-H", f"{k}: {v}"]
        return subprocess.run(args, capture_output=True, check=True).stdout
    out = raw({"Authorization": "AWS HAHAHA", "Date": email.utils.formatdate(usegmt=True)})
    assert out.endswith(b"400") and b"<Code>InvalidArgument</Code>" in out, out
    out = raw({"Authorization": f"AWS {server_v2['ak']}:c2ln", "x-amz-date": "Tue, 07 Jul 2010 21:53:04 GMT"})
    assert out.endswith(b"403") and b"<Code>RequestTimeTooSkewed</Code>" in out, out
    out = raw({"Authorization": f"AWS {server_v2['ak']}:c2ln", "x-amz-date": "Bad Date"})
    assert out.endswith(b"403") and b"<Code>AccessDenied</Code>" in out, out
    assert v2.head_object(Bucket="py-v2", Key="a b+c")["ContentLength"] == 7
    assert "x" not in [o["Key"] for o in v2.list_objects(Bucket="py-v2")["Contents"]]


def test_aws_cli_sync_tree(server, cli_env, tmp_path):
    ep = ["--endpoint-url", server["endpoint"]]
    tree = tmp_path / "tree"
    files = {"a.txt": 10, "sub/b.bin": 70000, "sub/deeper/c.bin": 6 * 1024 * 1024, "sp ace/d": 1}
    for rel, size in files.items():
        p = tree / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(size))
    subprocess.run(["aws", *ep, "s3", "mb", "s3://py-sync"], env=cli_env, check=True, capture_output=True)
    subprocess.run(["aws", *ep, "s3", "sync", str(tree), "s3://py-sync/t"], env=cli_env, check=True, capture_output=True)
    out = subprocess.run(["aws", *ep, "s3", "ls", "--recursive", "s3://py-sync/"], env=cli_env, check=True,
                         capture_output=True, text=True).stdout
    listed = sorted(line.split(None, 3)[3] for line in out.splitlines() if line.strip())
    assert listed == sorted("t/" + k for k in files)
    # A second sync uploads nothing; a download sync reproduces the tree.
    again = subprocess.run(["aws", *ep, "s3", "sync", str(tree), "s3://py-sync/t"], env=cli_env, check=True,
                           capture_output=True, text=True).stdout
    assert "upload:" not in again
    back = tmp_path / "back"
    subprocess.run(["aws", *ep, "s3", "sync", "s3://py-sync/t", str(back)], env=cli_env, check=True, capture_output=True)
    for rel in files:
        assert _sha(tree / rel) == _sha(back / rel), rel
    # Errors reach the CLI as AWS errors.
    r = subprocess.run(["aws", *ep, "s3api", "head-object", "--bucket", "py-sync", "--key", "missing"], env=cli_env,
                       capture_output=True, text=True)
    assert r.returncode != 0 and "404" in r.stderr


def test_rclone_copy_and_check(server, tmp_path):
    env = dict(os.environ)
    env.update(RCLONE_CONFIG_G_TYPE="s3", RCLONE_CONFIG_G_PROVIDER="Other", RCLONE_CONFIG_G_ENDPOINT=server["endpoint"],
               RCLONE_CONFIG_G_ACCESS_KEY_ID=server["ak"], RCLONE_CONFIG_G_SECRET_ACCESS_KEY=server["sk"],
               RCLONE_CONFIG_G_FORCE_PATH_STYLE="true", RCLONE_CONFIG_G_REGION="us-east-1", RCLONE_CONFIG="/dev/null")
    src = tmp_path / "src"
    for rel, size in {"x.bin": 12345, "d/y.bin": 9 * 1024 * 1024}.items():
        p = src / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(size))
    subprocess.run(["rclone", "mkdir", "g:py-rclone"], env=env, check=True, capture_output=True)
    subprocess.run(["rclone", "copy", str(src), "g:py-rclone/set"], env=env, check=True, capture_output=True)
    # `rclone check` compares sizes and hashes (MD5 from the ETag for single-part objects) both ways.
    subprocess.run(["rclone", "check", str(src), "g:py-rclone/set"], env=env, check=True, capture_output=True)
    out = subprocess.run(["rclone", "lsf", "-R", "g:py-rclone/set"], env=env, check=True, capture_output=True,
                         text=True).stdout.split()
    assert sorted(out) == ["d/", "d/y.bin", "x.bin"]
