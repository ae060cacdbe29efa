#!/usr/bin/env python3
"""A test OIDC issuer for the Ceph suite's `[webidentity]` section (test_sts.py's web-identity tests).

The suite hard-codes its issuer as Keycloak on `http://localhost:8080/auth/realms/REALM`, so this serves that
URL on loopback port 8080: the discovery document and the JWKS of an RSA key made with the openssl CLI. It
signs the suite's tokens (RS256; `sub`, `aud`, `azp`, an `app_id` equal to the audience, session tags under
`https://aws.amazon.com/tags`), prints the settings as shell exports on stdout, then serves until killed:

    scripts/s3tests-webidentity.py > /tmp/webidentity.env &
    sleep 2; . /tmp/webidentity.env
    S3TESTS_DIR=/tmp/s3-tests scripts/s3tests.sh -k web_identity

`scripts/s3tests.sh` hands the S3_WEBIDENTITY_* variables to the harness, which writes the `[webidentity]`
section. (AWS, and Gatehouse, accept only https:// OpenID Connect provider URLs: the suite's
CreateOpenIDConnectProvider calls with the http:// URL are refused before any token is used.)
"""
import base64
import http.server
import json
import os
import subprocess
import sys
import tempfile
import time

PORT = int(os.environ.get("WEBIDENTITY_PORT", "8080"))
REALM = os.environ.get("WEBIDENTITY_REALM", "gatehouse")
AUD = "gatehouse-s3tests"
SUB = "s3tests-user"


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def main():
    d = tempfile.mkdtemp(prefix="gh-s3t-oidc-")
    key = os.path.join(d, "sign.key")
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
    modulus = subprocess.run(["openssl", "rsa", "-in", key, "-noout", "-modulus"], check=True,
                             capture_output=True, text=True).stdout.strip().split("=", 1)[1]
    jwks = {"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
                      "n": b64(bytes.fromhex(modulus)), "e": b64((65537).to_bytes(3, "big"))}]}
    issuer = "http://localhost:%d/auth/realms/%s" % (PORT, REALM)

    def token(extra):
        now = int(time.time())
        claims = {"iss": issuer, "sub": SUB, "aud": AUD, "azp": AUD, "app_id": AUD, "iat": now,
                  "exp": now + 24 * 3600, **extra}
        head = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "k1"}).encode())
        body = b64(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=(head + "." + body).encode(),
                             check=True, capture_output=True).stdout
        return head + "." + body + "." + b64(sig)

    tags = {"https://aws.amazon.com/tags": {"principal_tags": {"Department": ["Engineering", "Marketing"]},
                                            "transitive_tag_keys": ["Department"]}}
    settings = {
        "S3_WEBIDENTITY_TOKEN": token({}),
        "S3_WEBIDENTITY_AUD": AUD,
        "S3_WEBIDENTITY_SUB": SUB,
        "S3_WEBIDENTITY_AZP": AUD,
        "S3_WEBIDENTITY_USER_TOKEN": token(tags),
        # No TLS on the suite's issuer URL, so no certificate to take a thumbprint of: any 40 hex digits.
        "S3_WEBIDENTITY_THUMBPRINT": "0" * 40,
        "S3_WEBIDENTITY_KC_REALM": REALM,
    }
    for k, v in settings.items():
        print("export %s='%s'" % (k, v))
    sys.stdout.flush()

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            base = "/auth/realms/%s" % REALM
            if self.path == base + "/.well-known/openid-configuration":
                body = {"issuer": issuer, "jwks_uri": issuer + "/protocol/openid-connect/certs"}
            elif self.path == base + "/protocol/openid-connect/certs":
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

    http.server.ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()


if __name__ == "__main__":
    main()
