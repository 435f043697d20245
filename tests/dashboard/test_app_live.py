"""The live page, step by step, against a loopback server speaking the ingestion API."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard import auth
from dashboard.live_client import SERVICE_URL_ENV
from rehab.clinic import sample_clinic

from .conftest import SeededClinic, sign_in, texts, vega_specs
from .dashboard_service_double import ServiceDouble


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch):
    with ServiceDouble() as svc:
        monkeypatch.setenv(SERVICE_URL_ENV, svc.url)
        yield svc


def _stored_session(clinic: SeededClinic, patient: int, session_pool) -> int:
    """What the service does when a set ends: analyse and save it to the store."""
    knee_raise = sample_clinic().patients[0].drills[0]  # the seeded patients' box knee raise, left
    analysis, _raw = session_pool.session(knee_raise, 0.0, 0)
    return clinic.store.save_session(
        clinic.patient(patient), analysis, None, started_at=dt.datetime.now(dt.UTC), source="simulated"
    )


def test_live_set_from_pick_to_saved_pain(clinic: SeededClinic, service: ServiceDouble, session_pool) -> None:
    at = sign_in("patient1")
    at.switch_page("app_pages/patient_live.py").run()
    assert not at.exception
    assert "Choose your exercise" in texts(at)
    rx = clinic.store.list_prescriptions(clinic.patient(1))[0]
    at.radio(key="live_pick").set_value(rx.id)
    at.button(key="live_start").click().run()
    assert not at.exception
    method, path, body = next(r for r in reversed(service.requests) if r[0] == "POST")
    assert (method, path) == ("POST", "/sets")
    assert body.pop("request_id")  # the client's idempotency key (dashboard/live_client.py)
    assert body == {"patient": str(clinic.patient(1)), "exercise": rx.exercise, "side": rx.side, "reps": rx.reps,
                    "threshold_deg": rx.compensation_threshold_deg}  # fmt: skip
    # 2. sensors check: the pelvis sensor is still connecting
    t = texts(at)
    assert "Checking your sensors" in t and "Thigh sensor: :material/check_circle: connected · battery 80%" in t
    assert "Pelvis sensor: :material/hourglass_top: connecting…" in t
    # 3. stand still: a countdown
    service.set_phase("recording")
    at.run()
    assert "Stand still" in texts(at)
    # the double reports 0.8 s since the start; the page asks for 3 s of standing still
    assert "# 3" in [m.value for m in at.markdown]
    # 4. the set: angle vs target, reps, a clear alert while the back rounds
    service.set_phase("recording", calibrated=True, hip_deg=64.0, t_s=12.0, rep_count=3, alert_t_s=11.5)
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Hip angle"] == "64°" and metrics["Reps"] == f"3 of {rx.reps}"
    assert metrics["Target"] == f"{rx.target_rom_deg:.0f}°"
    assert any("lower back is rounding" in str(e.value) for e in at.error)
    assert len(vega_specs(at)) == 1
    service.set_phase("recording", calibrated=True, hip_deg=30.0, t_s=16.0, rep_count=4, alert_t_s=11.5)
    at.run()
    assert not any("lower back" in str(e.value) for e in at.error)  # the alert clears
    # 5. done: summary, then pain 0–10, saved to the store
    sid = _stored_session(clinic, 1, session_pool)
    service.set_phase("done", session_id=sid)
    at.run()
    assert not at.exception
    assert "Well done" in texts(at)
    at.slider(key="live_pain").set_value(4)
    at.button(key="live_save_pain").click().run()
    assert "Saved" in texts(at)
    pain = clinic.store.get_pain_report(sid)
    assert pain is not None and pain.pain_after == 4 and pain.reported_by == clinic.patient(1)


def test_result_of_another_patient_is_refused(clinic: SeededClinic, service: ServiceDouble, session_pool) -> None:
    at = sign_in("patient1")
    at.switch_page("app_pages/patient_live.py").run()
    at.button(key="live_start").click().run()
    other = _stored_session(clinic, 2, session_pool)
    service.set_phase("done", session_id=other)
    at.run()
    assert any(auth.NO_ACCESS in str(e.value) for e in at.error)
    assert clinic.store.get_pain_report(other) is None
    assert not at.get("slider")


def test_set_that_fails_offers_a_retry(clinic: SeededClinic, service: ServiceDouble) -> None:
    at = sign_in("patient1")
    at.switch_page("app_pages/patient_live.py").run()
    at.button(key="live_start").click().run()
    service.set_phase("failed")
    at.run()
    assert "could not be saved" in texts(at) and "no calibration stand" in texts(at)
    at.button(key="live_again").click().run()
    assert "Choose your exercise" in texts(at)


def test_service_refusing_to_start_is_shown(clinic: SeededClinic, service: ServiceDouble) -> None:
    service.start_status = 409
    at = sign_in("patient1")
    at.switch_page("app_pages/patient_live.py").run()
    at.button(key="live_start").click().run()
    assert "Could not start" in texts(at) and "still recording" in texts(at)
    assert "Choose your exercise" in texts(at)


def test_stop_button_asks_the_service(clinic: SeededClinic, service: ServiceDouble) -> None:
    at = sign_in("patient1")
    at.switch_page("app_pages/patient_live.py").run()
    at.button(key="live_start").click().run()
    service.set_phase("recording", calibrated=True, hip_deg=10.0, t_s=3.0)
    at.button(key="live_stop").click().run()
    assert ("POST", "/sets/current/stop", {}) in service.requests


def test_hip_extension_is_shown_in_its_own_direction(clinic: SeededClinic, service: ServiceDouble) -> None:
    at = sign_in("patient1")
    at.switch_page("app_pages/patient_live.py").run()
    rx = next(r for r in clinic.store.list_prescriptions(clinic.patient(1)) if r.exercise == "hip_extension")
    at.radio(key="live_pick").set_value(rx.id)
    at.button(key="live_start").click().run()
    service.set_phase("recording", calibrated=True, hip_deg=-18.0, t_s=8.0, rep_count=1, alert_t_s=7.9)
    at.run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Hip extension"] == "18°" and metrics["Target"] == f"{rx.target_rom_deg:.0f}°"
    assert any("lower back is arching" in str(e.value) for e in at.error)
    trace = vega_specs(at)[0]
    assert trace["layer"][0]["encoding"]["y"]["title"] == "Hip extension (°)"
