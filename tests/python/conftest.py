"""Fixtures: a real Gatehouse server process (SQLite, temp data dir) and clients configured for it."""
import os
import re
import subprocess
import tempfile
import threading

import boto3
import pytest
from botocore.config import Config

AK = "AKIAPYTHONCLIENTS001"
SK = "python/clients/secret/key/00000000000001"


def _binary():
    b = os.environ.get("GATEHOUSE_BIN")
    if not b:
        raise RuntimeError("GATEHOUSE_BIN must point at the gatehouse binary (scripts/test.sh sets it)")
    return b


def _serve(*extra):
    """Starts `gatehouse serve` on a fresh data dir and a free port; yields its endpoint and keys."""
    data = tempfile.mkdtemp(prefix="gatehouse-py-")
    env = dict(os.environ, GATEHOUSE_ROOT_ACCESS_KEY=AK, GATEHOUSE_ROOT_SECRET_KEY=SK)
    proc = subprocess.Popen(
        [_binary(), "serve", "--data-dir", data, "--listen", "127.0.0.1:0", *extra],
        stdout=subprocess.PIPE, stderr=None, env=env, text=True,
    )
    url = None
    for line in proc.stdout:
        m = re.match(r"Gatehouse listening on (\S+)", line)
        if m:
            url = m.group(1)
            break
    assert url, "server did not start"
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    yield {"endpoint": url, "ak": AK, "sk": SK, "data": data}
    proc.terminate()
    proc.wait(timeout=60)


@pytest.fixture(scope="session")
def server():
    yield from _serve()


@pytest.fixture(scope="session")
def server_v2():
    """A server with SigV2 turned on (`--sigv2`)."""
    yield from _serve("--sigv2")


@pytest.fixture(scope="session")
def s3(server):
    return boto3.client(
        "s3", endpoint_url=server["endpoint"], region_name="us-east-1",
        aws_access_key_id=server["ak"], aws_secret_access_key=server["sk"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )


@pytest.fixture()
def cli_env(server):
    env = dict(os.environ)
    env.update(AWS_ACCESS_KEY_ID=server["ak"], AWS_SECRET_ACCESS_KEY=server["sk"], AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    return env
