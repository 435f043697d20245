"""Shared fixtures: where the real data lives, a PostgreSQL URL when `make test` provides one, and an
S3-compatible object store (moto's standalone server, on loopback).

The folders mirror the packages: tests/<package>/ and tests/<package>/<subpackage>/ (e.g.
tests/sensors/virtual/, tests/store/files/, tests/rehab/commands/, tests/dashboard/app_pages/) test
that code. Two folders cut across packages on purpose: tests/security (attacks on the API, the
browser session, files and processes, whatever package they land in) and tests/packaging (the
wheel installed outside the repository, the benchmark scripts)."""

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


class ServeProcess:
    """A real `rehab serve` in its own process (loopback, a free port), for API and shutdown tests.

    ``call`` sends one request with the installation's secret unless ``auth=False``; ``stop``
    sends SIGTERM and returns how long the process took to exit."""

    def __init__(self, data_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        import json
        import subprocess
        import sys
        import time

        self.data_dir = data_dir
        ready = data_dir.parent / f"ready-{id(self)}.json"
        self.log = data_dir.parent / f"serve-{id(self)}.log"  # a file: an unread pipe could fill and block it
        self._log_fh = open(self.log, "wb")  # noqa: SIM115 - closed by kill()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rehab", "serve", "--port", "0", "--data-dir", str(data_dir),
             "--ready-file", str(ready), *args],
            cwd=REPO_ROOT, env={**os.environ, "REHAB_DATA_DIR": str(data_dir), **(env or {})},
            stdout=subprocess.DEVNULL, stderr=self._log_fh,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                err = self.log.read_text(errors="replace")
                raise RuntimeError(f"rehab serve did not start: {err[-3000:]}")
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        self.url: str = info["url"]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.secret = (data_dir / "ingest-secret").read_text().strip()

    def call(
        self, method: str, path: str, body: object = None, *, auth: bool = True, headers: dict[str, str] | None = None,
        data: bytes | None = None, timeout_s: float = 30.0,
    ) -> tuple[int, dict]:  # fmt: skip
        import http.client
        import json

        hdrs = {"Authorization": f"Bearer {self.secret}"} if auth else {}
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout_s)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            payload = resp.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(payload) if payload else {}
        except ValueError:
            parsed = {"text": payload.decode(errors="replace")}
        return resp.status, parsed if isinstance(parsed, dict) else {"json": parsed}

    def stop(self, timeout_s: float = 30.0) -> float:
        import signal
        import time

        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        finally:
            self.kill()
        return time.monotonic() - t0

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log_fh.close()


@pytest.fixture
def rehab_serve(tmp_path: Path):
    """Start `rehab serve` processes (``rehab_serve(data_dir, *args)``); all killed at the end."""
    started: list[ServeProcess] = []

    def start(data_dir: Path | None = None, *args: str, env: dict[str, str] | None = None) -> ServeProcess:
        proc = ServeProcess(data_dir or tmp_path / "data", *args, env=env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
