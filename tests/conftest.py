"""Shared fixtures: where the real data lives, a PostgreSQL URL when `make test` provides one, and an
S3-compatible object store (moto's standalone server, on loopback)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def ui_prmd_dir() -> Path:
    path = SHARED_DATA / "ui-prmd"
    if not path.is_dir():
        pytest.skip(f"real Vicon data not found at {path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("REHAB_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("REHAB_TEST_POSTGRES_URL not set (run the suite through `make test`)")
    return url


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server in its own process on a free loopback port; yields host:port."""
    from dashboard.launch import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"moto S3 server did not start (exit {proc.poll()})")
            time.sleep(0.1)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def s3_url(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """A fresh bucket; credentials in the environment, as in production (never in the URL)."""
    import pyarrow.fs as pafs

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    bucket = f"rehab-{os.getpid()}-{abs(hash(request.node.nodeid)) % 10**8}"
    fs = pafs.S3FileSystem(endpoint_override=s3_endpoint, scheme="http", region="us-east-1", allow_bucket_creation=True)
    fs.create_dir(bucket)
    return f"s3://{bucket}/clinic-a?endpoint_override={s3_endpoint}&scheme=http&region=us-east-1"
