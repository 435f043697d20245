"""Start the dashboard: ``streamlit run dashboard/asgi.py`` (the router app.py as an ``st.App`` with
the sign-in cookie route) as a child process with safe settings.

Settings always applied (flags, so they hold whatever the working directory): loopback address,
headless, XSRF protection on, CORS restricted, usage statistics off, no file watcher, error details
hidden from the browser. The store and the ingestion service are passed through the environment
(``REHAB_DATA_DIR``, ``REHAB_DATABASE_URL``, ``REHAB_INGEST_URL``); nothing secret is written.

    python -m dashboard.launch --port 8501 --data-dir /tmp/rehab
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from dashboard.live_client import SERVICE_URL_ENV
from sensors.virtual.process import DIES_WITH_PARENT
from store.config import DATA_DIR_ENV, DATABASE_URL_ENV

#: What `streamlit run` starts: the router as an st.App with the sign-in cookie route (asgi.py).
APP_PATH = Path(__file__).resolve().parent / "asgi.py"
DEFAULT_PORT = 8501
READY_TIMEOUT_S = 60.0

#: Streamlit options the launcher always sets (name → value).
STREAMLIT_OPTIONS: dict[str, str] = {
    "server.address": "127.0.0.1",
    "server.headless": "true",
    "server.enableXsrfProtection": "true",
    "server.enableCORS": "true",
    "server.fileWatcherType": "none",
    "server.runOnSave": "false",
    "browser.gatherUsageStats": "false",
    "client.showErrorDetails": "none",
    "client.toolbarMode": "minimal",
    "theme.baseFontSize": "18",
}


class DashboardStartError(RuntimeError):
    """The Streamlit process exited or did not answer on its port in time."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def command(port: int, *, app_path: Path = APP_PATH, extra: Mapping[str, str] | None = None) -> list[str]:
    args = [sys.executable, "-m", "streamlit", "run", str(app_path), f"--server.port={port}"]
    for name, value in {**STREAMLIT_OPTIONS, **(extra or {})}.items():
        args.append(f"--{name}={value}")
    return args


def environment(
    data_dir: Path | str | None = None, database_url: str | None = None, service_url: str | None = None
) -> dict[str, str]:
    env = dict(os.environ)
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    if data_dir is not None:
        env[DATA_DIR_ENV] = str(Path(data_dir).expanduser().resolve())
    if database_url is not None:
        env[DATABASE_URL_ENV] = database_url
    if service_url is not None:
        env[SERVICE_URL_ENV] = service_url
    repo = str(APP_PATH.parent.parent)
    env["PYTHONPATH"] = repo + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def start(
    port: int = DEFAULT_PORT,
    data_dir: Path | str | None = None,
    database_url: str | None = None,
    service_url: str | None = None,
    *,
    wait: bool = True,
    timeout_s: float = READY_TIMEOUT_S,
    quiet: bool = False,
) -> subprocess.Popen[bytes]:
    """Start Streamlit in the background; with ``wait`` return only once it answers on ``port``."""
    out = subprocess.DEVNULL if quiet else None
    proc = subprocess.Popen(
        command(port),
        env=environment(data_dir, database_url, service_url),
        cwd=str(APP_PATH.parent.parent),
        stdout=out,
        stderr=out,
        **DIES_WITH_PARENT,  # the Streamlit child ends with the launcher, however it ends
    )
    if wait:
        try:
            wait_until_ready(port, proc, timeout_s=timeout_s)
        except BaseException:
            stop(proc)
            raise
    return proc


def wait_until_ready(port: int, proc: subprocess.Popen[bytes] | None = None, *, timeout_s: float = READY_TIMEOUT_S) -> None:
    url = f"http://127.0.0.1:{port}/_stcore/health"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise DashboardStartError(f"streamlit exited with code {proc.returncode} before serving on port {port}")
        try:
            with urllib.request.urlopen(url, timeout=1.0) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.2)
    raise DashboardStartError(f"streamlit did not answer on {url} within {timeout_s:.0f} s")


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve(
    port: int = DEFAULT_PORT,
    data_dir: Path | str | None = None,
    database_url: str | None = None,
    service_url: str | None = None,
) -> int:
    """Run the dashboard in the foreground until it exits, Ctrl-C or SIGTERM (which stop the
    Streamlit child too); return its exit code."""
    proc = start(port, data_dir, database_url, service_url, wait=False)

    def on_sigterm(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        stop(proc)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dashboard.launch", description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--database-url", default=None)
    p.add_argument("--service-url", default=None)
    a = p.parse_args(argv)
    return serve(a.port, a.data_dir, a.database_url, a.service_url)


if __name__ == "__main__":
    raise SystemExit(main())
