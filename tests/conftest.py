"""Shared fixtures: where the real data lives, a PostgreSQL URL when `make test` provides one."""

from __future__ import annotations

import os
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
