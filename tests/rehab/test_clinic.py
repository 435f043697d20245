"""`make run`'s job: the demo clinic is seeded once, and `rehab demo --check` reaches a served dashboard."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.launch import free_port
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


@pytest.mark.slow
def test_rehab_demo_check_reaches_served_dashboard(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("rehab")
    port = free_port()
    env = {**os.environ, "REHAB_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [str(exe), "demo", "--data-dir", str(tmp_path), "--weeks", "1", "--reps", "3", "--port", str(port), "--check"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads([line for line in done.stdout.splitlines() if line.startswith('{"health"')][-1])
    assert report["ok"] and report["health"] == "ok" and report["patients"] == 2
    store = Store(data_dir=tmp_path)
    alex = store.get_user_by_username("alex.demo")
    live = [s for s in store.list_sessions(alex.id) if s.source == "recorded"]
    assert len(live) == 1 and live[0].rep_count == 3, "the live set through virtual BLE was stored"
