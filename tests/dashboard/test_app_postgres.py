"""The therapist pages and an access rule on PostgreSQL (the clinic deployment), via AppTest."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from dashboard import auth
from rehab.clinic import sample_clinic, seed_clinic
from store import Store
from store import auth as store_auth
from store.config import DATA_DIR_ENV, DATABASE_URL_ENV

from .conftest import FAST_HASHER, PASSWORD, sign_in, vega_specs

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_clinic(postgres_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch, session_pool):
    schema = f"dash_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{postgres_url}{'&' if '?' in postgres_url else '?'}options=-csearch_path%3D{schema}"
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.setattr(store_auth, "DEFAULT_HASHER", FAST_HASHER)
    store = Store(url, data_dir=tmp_path / "data", password_hasher=FAST_HASHER)
    clinic = seed_clinic(
        store, sample_clinic(therapists=2, patients_per_therapist=1, sessions_per_patient=4), password=PASSWORD,
        factory=session_pool, with_raw=False,
    )  # fmt: skip
    try:
        yield store, clinic
    finally:
        store.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_therapist_pages_on_postgres(pg_clinic) -> None:
    store, clinic = pg_clinic
    at = sign_in("therapist1")
    assert not at.exception
    assert list(at.dataframe[0].value["patient"]) == ["Patient 1"]
    at.switch_page("app_pages/therapist_patient.py").run()
    assert not at.exception and len(vega_specs(at)) == 6
    at.query_params["session"] = str(clinic.session_ids["patient2"][0])  # the other therapist's patient
    at.run()
    assert any(auth.NO_ACCESS in str(e.value) for e in at.error)
