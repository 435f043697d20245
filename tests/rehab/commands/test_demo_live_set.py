"""`make run` twice: the demo's live set is recorded once, for the demo patient's own drill and side,
and nothing a person recorded is ever deleted (issue 15, item 7)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rehab.clinic import DEMO_CLINIC, Clinic, ClinicPlan, SessionFactory, seed_clinic
from rehab.commands import demo
from store import Store

pytestmark = pytest.mark.slow


def _demo_clinic(data_dir: Path) -> tuple[Store, Clinic]:
    store = Store(data_dir=data_dir)
    plan = ClinicPlan(therapists=DEMO_CLINIC.therapists, patients=DEMO_CLINIC.patients, weeks=1, suggest_progressions=False)
    return store, seed_clinic(store, plan, password="demo-test-pw", factory=SessionFactory(variants=2), with_raw=False)


def test_rerunning_the_demo_never_deletes_a_persons_session(tmp_path: Path) -> None:
    store, clinic = _demo_clinic(tmp_path)
    alex_id = clinic.patient_ids[demo.LIVE_PATIENT]
    # a set Alex recorded himself (from the dashboard), with his pain 3/10
    own_analysis, _ = SessionFactory(variants=1).session(DEMO_CLINIC.patients[0].drills[0], 1.0, 0)
    own = store.save_session(alex_id, own_analysis, None, started_at=dt.datetime.now(dt.UTC), source="recorded")
    store.set_pain_report(own, pain_after=3, reported_by=alex_id)

    demo._record_live_set(store, tmp_path, 2)  # `make run`
    after_first = {s.id for s in store.list_sessions(alex_id)}
    assert own in after_first and len(after_first - {own}) > len(clinic.session_ids[demo.LIVE_PATIENT])
    demo._record_live_set(store, tmp_path, 2)  # `make run` again: nothing recorded, nothing deleted
    assert {s.id for s in store.list_sessions(alex_id)} == after_first
    pain = store.get_pain_report(own)
    assert pain is not None and pain.pain_after == 3
    store.close()


def test_the_live_set_is_the_patients_own_drill_and_side(tmp_path: Path) -> None:
    store, clinic = _demo_clinic(tmp_path)
    sam_id = clinic.patient_ids["sam.demo"]
    sid = demo._record_live_set(store, tmp_path, reps=2, username="sam.demo")
    assert sid is not None
    rec = store.get_session(sid)
    rx = store.list_prescriptions(sam_id)[0]
    assert (rec.patient_id, rec.exercise, rec.side) == (sam_id, rx.exercise, rx.side) == (sam_id, "knee_raise", "left")
    assert not rec.sensor_flagged, rec.sensor_issues  # the virtual sensors simulated Sam's own (left) leg
    assert rec.rep_count >= 1
    store.close()
