"""Fixtures for the dashboard tests: a seeded clinic in a private data dir, and a signed-in AppTest."""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

from dashboard.launch import free_port
from dashboard.live_client import SERVICE_URL_ENV
from rehab.clinic import Clinic, SessionFactory, sample_clinic, seed_clinic
from store import Store
from store import auth as store_auth
from store.config import DATA_DIR_ENV, DATABASE_URL_ENV

APP_PATH = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PASSWORD = "test-password-1"  # test accounts only, created in a temp dir
#: Cheap argon2 parameters for creating test accounts (the app verifies with whatever the hash says).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class SeededClinic:
    store: Store
    clinic: Clinic
    data_dir: Path

    def patient(self, n: int) -> int:
        return self.clinic.patient_ids[f"patient{n}"]

    def sessions(self, n: int) -> list[int]:
        return self.clinic.session_ids[f"patient{n}"]


@pytest.fixture(scope="session")
def session_pool() -> SessionFactory:
    return SessionFactory(variants=4)


@pytest.fixture(scope="session")
def clinic_template(tmp_path_factory: pytest.TempPathFactory, session_pool: SessionFactory) -> tuple[Path, Clinic]:
    """Seeded once per test run; each test gets a private copy of the whole data directory."""
    data_dir = tmp_path_factory.mktemp("clinic-template") / "data"
    with Store(data_dir=data_dir, password_hasher=FAST_HASHER) as store:
        c = seed_clinic(
            store, sample_clinic(therapists=2, patients_per_therapist=2, sessions_per_patient=5),
            password=PASSWORD, factory=session_pool, with_raw=True,
        )  # fmt: skip
    return data_dir, c


@pytest.fixture
def clinic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clinic_template: tuple[Path, Clinic]
) -> SeededClinic:
    """Two therapists with two patients each (patient1,2 → therapist1; patient3,4 → therapist2),
    five sessions per patient ending yesterday, in a private data dir the app is pointed at."""
    template, c = clinic_template
    data_dir = tmp_path / "data"
    shutil.copytree(template, data_dir)
    monkeypatch.setenv(DATA_DIR_ENV, str(data_dir))
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    # a loopback port nothing listens on (not `rehab serve`'s default, which a developer may run)
    monkeypatch.setenv(SERVICE_URL_ENV, f"http://127.0.0.1:{free_port()}")
    # the app's own Store verifies and re-hashes with these (cheap) argon2id parameters
    monkeypatch.setattr(store_auth, "DEFAULT_HASHER", FAST_HASHER)
    store = Store(data_dir=data_dir, password_hasher=FAST_HASHER)
    yield SeededClinic(store, copy.deepcopy(c), data_dir)
    store.close()


def new_app() -> AppTest:
    return AppTest.from_file(str(APP_PATH), default_timeout=60)


def sign_in(username: str, password: str = PASSWORD, at: AppTest | None = None) -> AppTest:
    at = at or new_app()
    at.run()
    assert not at.exception, at.exception
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(password)
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    assert not at.exception, at.exception
    return at


def vega_specs(at: AppTest) -> list[dict]:
    """The Vega-Lite specs of every Altair chart on the rendered page."""
    import json

    return [json.loads(el.proto.spec) for el in at.get("vega_lite_chart")]


def texts(at: AppTest) -> str:
    """Everything the page wrote as text (markdown, titles, headers, alerts, metrics), joined."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "error", "warning", "info", "success", "caption"):
        parts += [str(getattr(e, "value", "")) for e in at.get(kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(parts)


