"""The launcher's command line and environment: the safe settings are always there."""

from __future__ import annotations

import sys
from pathlib import Path

from dashboard import launch
from dashboard.live_client import SERVICE_URL_ENV
from store.config import DATA_DIR_ENV, DATABASE_URL_ENV


def test_command_has_the_safe_settings() -> None:
    cmd = launch.command(8765)
    assert cmd[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert cmd[4].endswith("dashboard/asgi.py")  # the router as an st.App with the sign-in cookie route
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


def test_no_dashboard_module_shadows_a_top_level_package() -> None:
    """`streamlit run` puts dashboard/ first on sys.path: a dashboard/server.py once hid the clinic
    `server` package from every page that imported it."""
    import tomllib

    root = Path(__file__).resolve().parents[2]
    packages = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["mypy"]["packages"])
    modules = {p.stem for p in (root / "dashboard").glob("*.py")} | {p.name for p in (root / "dashboard").iterdir() if p.is_dir()}
    assert not modules & packages, f"dashboard/ modules named like top-level packages: {sorted(modules & packages)}"


def test_checkout_config_and_launcher_options_agree() -> None:
    """The options are written twice — dashboard/.streamlit/config.toml for `streamlit run` from a
    checkout, launch.STREAMLIT_OPTIONS for the launcher (a wheel has no .streamlit folder)."""
    import tomllib

    config = tomllib.loads((Path(launch.__file__).resolve().parent / ".streamlit" / "config.toml").read_text())
    flat = {f"{section}.{key}": value for section, table in config.items() for key, value in table.items()}
    as_flags = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in flat.items()}
    assert as_flags == launch.STREAMLIT_OPTIONS
