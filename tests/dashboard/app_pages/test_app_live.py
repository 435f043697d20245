"""The live page on a phone, step by step, against a loopback server speaking the ingestion API."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from dashboard import auth
from dashboard.live_client import SERVICE_URL_ENV
from rehab.clinic import sample_clinic

from ..conftest import SeededClinic, sign_in, texts, vega_specs
from ..dashboard_service_double import ServiceDouble


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch):
    with ServiceDouble() as svc:
        monkeypatch.setenv(SERVICE_URL_ENV, svc.url)
        yield svc


def _stored_session(clinic: SeededClinic, patient: int, session_pool, *, compensated: int | None = None) -> int:
    """What the service does when a set ends: analyse and save it to the store."""
    knee_raise = sample_clinic().patients[0].drills[0]  # the seeded patients' box knee raise, left
    analysis, _raw = session_pool.session(knee_raise, 0.0, 0)
    if compensated is not None:
        analysis = dataclasses.replace(analysis, summary=dataclasses.replace(analysis.summary, compensation_count=compensated))
    return clinic.store.save_session(
        clinic.patient(patient), analysis, None, started_at=dt.datetime.now(dt.UTC), source="recorded"
    )


def _start(at, clinic: SeededClinic, exercise: str = "knee_raise"):  # type: ignore[no-untyped-def]
    at.switch_page("app_pages/patient_live.py").run()
    assert not at.exception
    rx = next(r for r in clinic.store.list_prescriptions(clinic.patient(1)) if r.exercise == exercise)
    at.radio(key="live_pick").set_value(rx.id)
    at.button(key="live_start").click().run()
    assert not at.exception
    return rx


def _stop_button(at):  # type: ignore[no-untyped-def]
    return at.button(key="live_stop")


def test_live_set_from_pick_to_saved_pain(clinic: SeededClinic, service: ServiceDouble, session_pool) -> None:
    at = sign_in("patient1")
    rx = _start(at, clinic)
    method, path, body = next(r for r in reversed(service.requests) if r[0] == "POST")
    assert (method, path) == ("POST", "/sets")
    assert {k: v for k, v in body.items() if k != "request_id"} == {
        "patient": str(clinic.patient(1)), "exercise": rx.exercise, "side": rx.side, "reps": rx.reps,
        "threshold_deg": rx.compensation_threshold_deg}  # fmt: skip
    assert body["request_id"]  # the start is idempotent in the service
    # 2. sensors check: the pelvis sensor is still connecting; Stop is there already
    t = texts(at)
    assert "Checking your sensors" in t and "**Thigh sensor**: :material/check_circle: connected · battery 80%" in t
    assert "**Pelvis sensor**: :material/hourglass_top: connecting…" in t
    assert _stop_button(at).label == "Stop"
    # 3. stand still: a countdown
    service.set_phase("recording")
    at.run()
    assert "Stand still" in texts(at) and _stop_button(at)
    assert "3" in [t.value for t in at.title]  # the double reports 0.8 s of the 3 s asked for
    # 4. the set: a big angle and rep count, no chart, the warning during the lift
    service.set_phase("recording", calibrated=True, hip_deg=64.0, t_s=12.0, rep_count=3, lifting=True, compensating_now=True)
    at.run()
    assert not at.exception
    big = [t.value for t in at.title]
    assert "64°" in big and f"3 of {rx.reps}" in big
    assert not vega_specs(at)  # nothing with a toolbar on the phone
    warning = [str(e.value) for e in at.warning]
    assert warning == ["Lower back rounding — lift only as high as it stays still."]  # compact: one line
    service.set_phase("recording", calibrated=True, hip_deg=30.0, t_s=16.0, rep_count=4, lifting=True)
    at.run()
    assert not at.warning and not at.error  # a clean lift: the warning is gone
    # 5. done: the summary in plain words, then how it felt and the pain — neither has a default
    sid = _stored_session(clinic, 1, session_pool)
    service.set_phase("done", session_id=sid)
    at.run()
    assert not at.exception
    rec = clinic.store.get_session(sid)
    t = texts(at)
    assert f"You lifted your knee to {rec.rom_deg:.0f}°, your target is {rec.target_rom_deg:.0f}°." in t
    assert f"Your back stayed still on {rec.rep_count - rec.compensation_count} of {rec.rep_count} reps." in t
    felt, pain = at.segmented_control
    assert felt.value is None and pain.value is None
    assert at.button(key="live_save_pain").disabled
    felt.set_value("too_easy")
    pain.set_value(4).run()
    at.button(key="live_save_pain").click().run()
    assert "Saved" in texts(at)
    report = clinic.store.get_pain_report(sid)
    assert report is not None and report.pain_after == 4 and report.difficulty == "too_easy"
    assert report.reported_by == clinic.patient(1)


def test_summary_praises_only_what_was_earned(clinic: SeededClinic, service: ServiceDouble, session_pool) -> None:
    at = sign_in("patient1")
    _start(at, clinic)
    sid = _stored_session(clinic, 1, session_pool, compensated=3)  # 3 of 6 with a rounding back
    service.set_phase("done", session_id=sid)
    at.run()
    t = texts(at)
    assert "Well done" not in t and "Good set" not in t
    rec = clinic.store.get_session(sid)
    assert f"You did {rec.rep_count} of" in t and f"Your back stayed still on {rec.rep_count - 3} of {rec.rep_count} reps." in t


def test_stop_works_in_every_phase(clinic: SeededClinic, service: ServiceDouble) -> None:
    at = sign_in("patient1")
    _start(at, clinic)
    for phase in ({"state": "connecting"}, {"state": "recording"}, {"state": "recording", "calibrated": True, "hip_deg": 5.0, "t_s": 4.0}):
        service.set_phase(**phase)  # type: ignore[arg-type]
        at.run()
        n = sum(1 for r in service.requests if r[1] == "/sets/current/stop")
        _stop_button(at).click().run()
        assert not at.exception
        assert sum(1 for r in service.requests if r[1] == "/sets/current/stop") == n + 1


def test_hold_countdown_and_short_hold_flag(clinic: SeededClinic, service: ServiceDouble) -> None:
    at = sign_in("patient1")
    rx = _start(at, clinic)
    assert rx.hold_target_s == 2.0
    service.set_phase("recording", calibrated=True, hip_deg=78.0, t_s=8.0, rep_count=0, lifting=True, hold_s=0.6)
    at.run()
    assert "Hold at the top… 2" in [h.value for h in at.header]
    service.set_phase("recording", calibrated=True, hip_deg=2.0, t_s=10.0, rep_count=1, last_rep={"hold_s": 1.0})
    at.run()
    assert any("Hold a little longer at the top: 1.0 s of 2 s." in str(i.value) for i in at.info)


def test_wrong_leg_shows_check_your_sensors_with_the_picture(clinic: SeededClinic, service: ServiceDouble) -> None:
    from tracker.sanity import PLAIN

    at = sign_in("patient1")
    _start(at, clinic)
    issue = {"code": "wrong_leg", "message": PLAIN["wrong_leg"], "detail": "hip −108°", "sensor": "thigh"}
    service.set_phase("recording", calibrated=True, hip_deg=-108.0, t_s=9.0, rep_count=1, sanity=[issue])
    at.run()
    assert any("Check your sensors" in str(w.value) and "other leg" in str(w.value) for w in at.warning)
    assert at.get("image"), "the placement picture is shown"
    assert _stop_button(at)


def test_result_of_another_patient_is_refused(clinic: SeededClinic, service: ServiceDouble, session_pool) -> None:
    at = sign_in("patient1")
    _start(at, clinic)
    other = _stored_session(clinic, 2, session_pool)
    service.set_phase("done", session_id=other)
    at.run()
    assert any(auth.NO_ACCESS in str(e.value) for e in at.error)
    assert clinic.store.get_pain_report(other) is None
    assert not at.segmented_control


def test_set_that_fails_offers_a_retry(clinic: SeededClinic, service: ServiceDouble) -> None:
    at = sign_in("patient1")
    _start(at, clinic)
    service.set_phase("failed")
    at.run()
    assert "could not be saved" in texts(at) and "no calibration stand" in texts(at)
    at.button(key="live_again").click().run()
    assert at.radio(key="live_pick") is not None and at.button(key="live_start")


def test_a_set_already_running_is_shown_not_a_dead_end(clinic: SeededClinic, service: ServiceDouble) -> None:
    """Issue 15 item 1: a retry used to read "still recording; stop it first" with no Stop button."""
    service.set_phase("recording", patient=str(clinic.patient(1)), exercise="knee_raise", side="left", reps=6)
    at = sign_in("patient1")
    at.switch_page("app_pages/patient_live.py").run()
    assert "A set is already running" in texts(at)
    at.button(key="live_attach").click().run()
    assert _stop_button(at) and "Stand still" in texts(at)
    # a start refused because the set already runs (the first POST timed out in the browser): attached
    at2 = sign_in("patient1")
    service.start_status = 409
    service.set_phase("idle")
    at2.switch_page("app_pages/patient_live.py").run()
    service.set_phase("recording", patient=str(clinic.patient(1)), exercise="knee_raise", side="left", reps=6)
    at2.button(key="live_start").click().run()  # the set started meanwhile (another tab, a slow first try)
    assert not at2.exception and "Could not start" not in texts(at2)
    at2.button(key="live_stop_other").click().run()
    assert ("POST", "/sets/current/stop", {}) in service.requests


def test_service_refusing_to_start_is_shown(clinic: SeededClinic, service: ServiceDouble) -> None:
    service.start_status = 409
    at = sign_in("patient1")
    at.switch_page("app_pages/patient_live.py").run()
    at.button(key="live_start").click().run()
    assert "Could not start" in texts(at) and "still recording" in texts(at)
    assert at.button(key="live_start")


def test_hip_extension_is_shown_in_its_own_direction(clinic: SeededClinic, service: ServiceDouble) -> None:
    at = sign_in("patient1")
    rx = _start(at, clinic, "hip_extension")
    service.set_phase("recording", calibrated=True, hip_deg=-18.0, t_s=8.0, rep_count=1, lifting=True, compensating_now=True)
    at.run()
    assert "18°" in [t.value for t in at.title]
    assert any(f"Leg back · target {rx.target_rom_deg:.0f}°" in str(c.value) for c in at.caption)
    assert [str(e.value) for e in at.warning] == ["Lower back arching — lift only as high as it stays still."]
