"""`make run`'s job: the demo clinic is seeded once (`rehab demo --check` end to end runs from the
installed wheel: tests/packaging/test_wheel.py)."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

from rehab.clinic import DEMO_PATIENTS as PATIENTS
from rehab.clinic import THERAPIST, seed_demo_clinic
from store import Store

TODAY = dt.date(2026, 11, 26)


def test_seeding_is_idempotent_and_gives_every_chart_data(tmp_path: Path) -> None:
    store = Store(data_dir=tmp_path)
    first = seed_demo_clinic(store, weeks=2, today=TODAY)
    second = seed_demo_clinic(store, weeks=2, today=TODAY)
    assert first.sessions_added > 0 and second.sessions_added == 0
    assert first.logins.passwords == second.logins.passwords
    therapist = store.get_user_by_username(THERAPIST)
    patients = store.list_patients(therapist.id)
    assert sorted(p.username for p in patients) == sorted(p.username for p in PATIENTS)
    for patient, spec in zip(sorted(patients, key=lambda p: p.username), sorted(PATIENTS, key=lambda p: p.username)):
        history = store.patient_history(patient.id)
        assert set(history["exercise"]) == {d.exercise for d in spec.drills}
        assert (history["rep_count"] > 0).all()
        assert history["pain_before"].notna().all()
    # every account signs in with the generated password, which is kept owner-only
    for name, password in first.logins.passwords.items():
        assert store.authenticate(name, password) is not None
    logins_file = tmp_path / "demo-logins.json"
    assert stat.S_IMODE(logins_file.stat().st_mode) == 0o600
    assert json.loads(logins_file.read_text()) == first.logins.passwords


def test_alex_is_suggested_the_floor_stage(tmp_path: Path) -> None:
    """Alex reaches target reps and ROM with little compensation: box -> floor is suggested."""
    store = Store(data_dir=tmp_path)
    seed_demo_clinic(store, weeks=2, today=TODAY)
    alex = store.get_user_by_username("alex.demo")
    decisions = store.list_progression_decisions(alex.id, status="pending")
    assert [(d.from_stage, d.to_stage) for d in decisions] == [("box", "floor")]
    sam = store.get_user_by_username("sam.demo")
    assert store.list_progression_decisions(sam.id) == []
