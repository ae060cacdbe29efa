"""The stock web-identity flow: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, with boto3 and the aws CLI, against a
test OIDC issuer this test runs (HTTPS on loopback; its key and certificate made with the openssl CLI, its token
signed RS256 by openssl). The SDKs call AssumeRoleWithWebIdentity themselves and use the session on S3."""
import base64
import http.server
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import boto3
import pytest

from conftest import _serve


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def run(*args, cwd):
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def issuer():
    d = tempfile.mkdtemp(prefix="gh-oidc-")
    # A throwaway CA and a localhost certificate it signs (a self-signed leaf is not a valid trust anchor).
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
        "-subj", "/CN=Gatehouse Test OIDC CA", "-keyout", "ca.key", "-out", "ca.crt", cwd=d)
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-subj", "/CN=localhost", "-keyout", "tls.key", "-out", "tls.csr", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "1", "-extfile", "ext.cnf", "-out", "tls.crt", cwd=d)
    run("openssl", "genrsa", "-out", "sign.key", "2048", cwd=d)
    modulus = subprocess.run(["openssl", "rsa", "-in", "sign.key", "-noout", "-modulus"], cwd=d, check=True,
                             capture_output=True, text=True).stdout.strip().split("=", 1)[1]
    jwks = {"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "n": b64(bytes.fromhex(modulus)),
                      "e": b64((65537).to_bytes(3, "big"))}]}
    state = {}

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/.well-known/openid-configuration":
                body = {"issuer": state["url"], "jwks_uri": state["url"] + "/jwks"}
            elif self.path == "/jwks":
                body = jwks
            else:
                self.send_response(404)
                self.end_headers()
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "tls.crt"), os.path.join(d, "tls.key"))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    state["url"] = "https://localhost:%d" % srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    def token(sub, aud="my-app"):
        now = int(time.time())
        header = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "k1"}).encode())
        claims = b64(json.dumps({"iss": state["url"], "sub": sub, "aud": aud, "iat": now, "exp": now + 600}).encode())
        signing_input = (header + "." + claims).encode()
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", os.path.join(d, "sign.key")], input=signing_input,
                             check=True, capture_output=True).stdout
        return header + "." + claims + "." + b64(sig)

    yield {"url": state["url"], "ca": os.path.join(d, "ca.crt"), "token": token, "dir": d}
    srv.shutdown()


@pytest.fixture(scope="module")
def oidc_server(issuer):
    yield from _serve("--oidc-ca-file", issuer["ca"])


def test_sdk_web_identity_flow(issuer, oidc_server):
    ep = oidc_server["endpoint"]
    root = dict(endpoint_url=ep, region_name="us-east-1", aws_access_key_id=oidc_server["ak"],
                aws_secret_access_key=oidc_server["sk"])
    iam, s3 = boto3.client("iam", **root), boto3.client("s3", **root)
    host = issuer["url"][len("https://"):]
    arn = iam.create_open_id_connect_provider(Url=issuer["url"], ClientIDList=["my-app"],
                                             ThumbprintList=["0" * 40])["OpenIDConnectProviderArn"]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": arn}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {host + ":sub": "ci-job"}}}]}
    role = iam.create_role(RoleName="ci-" + uuid.uuid4().hex[:6], AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    bucket = "wi-" + uuid.uuid4().hex[:8]
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="artifact.txt", Body=b"built")

    token_file = os.path.join(issuer["dir"], "token")
    with open(token_file, "w") as f:
        f.write(issuer["token"]("ci-job"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ROLE_ARN=role["Arn"], AWS_WEB_IDENTITY_TOKEN_FILE=token_file, AWS_ROLE_SESSION_NAME="ci",
               AWS_ENDPOINT_URL=ep, AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    # boto3, in a fresh process so only this environment decides where its credentials come from.
    code = ("import boto3; s3 = boto3.client('s3'); "
            "print(s3.get_object(Bucket='%s', Key='artifact.txt')['Body'].read().decode()); "
            "print(boto3.client('sts').get_caller_identity()['Arn'])" % bucket)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert lines[0] == "built"
    assert re.search(r":assumed-role/%s/ci$" % role["RoleName"], lines[1]), lines
    # The aws CLI, the same way.
    out = subprocess.run(["aws", "s3", "cp", "s3://%s/artifact.txt" % bucket, "-"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "built"
    # A token for another subject is refused by the trust policy.
    with open(token_file, "w") as f:
        f.write(issuer["token"]("someone-else"))
    out = subprocess.run(["aws", "s3", "ls", "s3://%s" % bucket], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode != 0
    assert "AccessDenied" in out.stderr, out.stderr
