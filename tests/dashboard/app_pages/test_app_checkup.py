"""The article's screening, end to end in the app: a patient who rounds the lower back from 60° does
the at-home check-up (three questions + a short set of each drill through the live page), the rules
recommend the shortening drill with their evidence, the therapist confirms, Today shows it."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.live_client import SERVICE_URL_ENV
from rehab.clinic import DrillPlan

from ..conftest import SeededClinic, sign_in, texts
from ..dashboard_service_double import ServiceDouble

#: How the simulated patient moves in the check-up: rounds from 60° in every knee raise; a normal
#: hip extension (20°, no arching) and a full-depth squat (110°).
ROUNDER = {
    "knee_raise": DrillPlan("knee_raise", "left", 1, 5, 90.0, None, 95.0, 95.0, 1.0, 1.0, 60.0, partial_rep_prob=0.0),
    "hip_extension": DrillPlan("hip_extension", "left", 1, 5, 15.0, None, -20.0, -20.0, 0.0, 0.0, partial_rep_prob=0.0),
    "deep_squat": DrillPlan("deep_squat", "left", 1, 5, 100.0, None, 110.0, 110.0, 0.0, 0.0, partial_rep_prob=0.0),
}


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch):
    with ServiceDouble() as svc:
        monkeypatch.setenv(SERVICE_URL_ENV, svc.url)
        yield svc


def test_check_up_recommends_shortening_and_the_therapist_prescribes_it(
    clinic: SeededClinic, service: ServiceDouble, session_pool
) -> None:
    pid = clinic.patient(1)
    at = sign_in("patient1")
    assert "Your check-up" in texts(at)
    at.switch_page("app_pages/patient_checkup.py").run()
    assert at.button(key="checkup_start").disabled  # the questions first; none has a default
    for key, answer in (("low_back_pain", "No"), ("trouble_sitting_straight", "No"), ("trouble_extending_leg", "No")):
        at.radio(key=f"checkup_q_{key}").set_value(answer)
    at.run()
    at.button(key="checkup_start").click().run()
    assert not at.exception
    for drill in ("knee_raise", "hip_extension", "deep_squat"):
        at.button(key=f"checkup_go_{drill}").click().run()
        assert not at.exception and at.button(key="checkup_stop")
        body = next(r[2] for r in reversed(service.requests) if r[1] == "/sets")
        assert (body["exercise"], body["side"], body["reps"]) == (drill, "left", 5)
        analysis, raw = session_pool.session(ROUNDER[drill], 0.0, 1)
        sid = clinic.store.save_session(pid, analysis, raw, started_at=dt.datetime.now(dt.UTC), source="recorded")
        service.request_ids.clear()
        service.set_phase("done", session_id=sid)
        at.run()
        assert not at.exception
        service.set_phase("idle")
    at.run()
    assert "is with your therapist" in texts(at)
    assert "your lower back rounded from about" in texts(at)
    (assessment,) = clinic.store.list_assessments(pid)
    assert assessment.status == "complete" and set(clinic.store.assessment_sessions(assessment.id)) == set(ROUNDER)
    # the check-up sets are not training: they stay out of the patient's trends and plan counts
    history = clinic.store.patient_history(pid)
    assert history["assessment_id"].notna().sum() == 3

    therapist = sign_in("therapist1")
    assert "Waiting for you (1)" in texts(therapist) and "recommends Knee raise, Deep squat" in texts(therapist)
    therapist.switch_page("app_pages/therapist_patient.py").run()
    t = texts(therapist)
    assert "**Deep squat (shortening mobility – hip flexion)** — Recommended · pending" in t
    assert "pelvis starts rounding at" in t and "(threshold 90°)" in t  # the value and its threshold
    assert "can't raise your knee up without your lower back rounding" in t  # the article's sentence
    evidence = next(d.value for d in therapist.dataframe if "sign" in d.value.columns and "knee raise: lower back rounds" in list(d.value["sign"]))
    row = evidence[evidence["sign"] == "knee raise: lower back rounds"].iloc[0]
    assert row["points to it"] == "yes" and row["from"] == "sensors" and "5 of 5 reps" in row["measured"]
    assert not any(rx.exercise == "deep_squat" for rx in clinic.store.list_prescriptions(pid))  # never automatic
    therapist.button(key=f"confirm_{assessment.id}_deep_squat").click().run()
    assert not therapist.exception
    squat = next(rx for rx in clinic.store.list_prescriptions(pid) if rx.exercise == "deep_squat")
    assert (squat.side, squat.stage) == ("left", "standard")

    patient = sign_in("patient1")
    assert "Deep squat (left leg)" in texts(patient)
