"""The launcher's command line and environment: the safe settings are always there."""

from __future__ import annotations

import sys

from dashboard import launch
from dashboard.live_client import SERVICE_URL_ENV
from store.config import DATA_DIR_ENV, DATABASE_URL_ENV


def test_command_has_the_safe_settings() -> None:
    cmd = launch.command(8765)
    assert cmd[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert cmd[4].endswith("dashboard/server.py")  # the router as an st.App with the sign-in cookie route
    for flag in (
        "--server.port=8765",
        "--server.address=127.0.0.1",
        "--server.headless=true",
        "--server.enableXsrfProtection=true",
        "--browser.gatherUsageStats=false",
        "--client.showErrorDetails=none",
    ):
        assert flag in cmd


def test_environment_passes_store_and_service(tmp_path) -> None:
    env = launch.environment(tmp_path, "postgresql+psycopg://u@localhost/db", "http://127.0.0.1:9")
    assert env[DATA_DIR_ENV] == str(tmp_path.resolve())
    assert env[DATABASE_URL_ENV] == "postgresql+psycopg://u@localhost/db"
    assert env[SERVICE_URL_ENV] == "http://127.0.0.1:9"
    assert env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"


def test_free_port_is_bindable() -> None:
    import socket

    port = launch.free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # raises if the port were taken
        assert s.getsockname()[1] == port
