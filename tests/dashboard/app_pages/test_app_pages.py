"""AppTest: every page for every role renders from a real seeded store without errors."""

from __future__ import annotations

import pytest

from rehab.clinic import sample_clinic

from ..conftest import SeededClinic, new_app, sign_in, texts, vega_specs


def marks(spec: dict) -> set[str]:
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            m = node.get("mark")
            if m is not None:
                found.add(m["type"] if isinstance(m, dict) else m)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    return found


def test_signed_out_sees_only_sign_in(clinic: SeededClinic) -> None:
    at = new_app().run()
    assert not at.exception
    assert "sign in" in texts(at).lower()
    assert at.text_input(key="sign_in_password").proto.type == at.text_input(key="sign_in_password").proto.PASSWORD
    assert not at.get("vega_lite_chart")


def test_wrong_password_is_refused(clinic: SeededClinic) -> None:
    at = sign_in("patient1", "not-the-password")
    assert "Wrong username or password" in texts(at)
    assert "Hello" not in texts(at)


def test_patient_today(clinic: SeededClinic) -> None:
    at = sign_in("patient1")
    t = texts(at)
    assert "Hello, Patient 1" in t and "Knee raise (left leg)" in t and "Hip extension (left leg)" in t
    done = [m for m in at.metric if m.label == "Done this week"]
    assert len(done) == 2 and all(" of 5" in m.value for m in done)
    assert any(m.label == "Sets × reps" and m.value == "1 × 6" for m in at.metric)
    assert "Target: The angle between your thigh and your body" in t  # "Target 80°" explained
    assert "**Hold at the top:** 2 seconds" in t
    steps = next(m.value for m in at.markdown if str(m.value).startswith("1. Stand tall"))
    assert steps.count("box") == 1  # the box step once, not twice
    assert "lower back rounding" in t  # the article's warning sign, in the knee raise's instructions
    # Start is a real button that opens the live page with this drill chosen
    rx = clinic.store.list_prescriptions(clinic.patient(1))[1]
    at.button(key=f"today_start_{rx.id}").click().run()
    assert not at.exception and at.title[0].value == "Exercise now" and at.query_params["rx"] == str(rx.id)


def test_deep_squat_holds_at_the_bottom(clinic: SeededClinic) -> None:
    clinic.store.add_prescription(clinic.patient(1), "deep_squat", "left", sets=1, reps=8, hold_target_s=3.0)
    at = sign_in("patient1")
    t = texts(at)
    assert "**Hold at the bottom:** 3 seconds" in t and "Hold at the top:** 3" not in t


def test_patient_history_shows_charts_and_own_session(clinic: SeededClinic) -> None:
    at = sign_in("patient1")
    at.switch_page("app_pages/patient_history.py").run()
    assert not at.exception
    specs = vega_specs(at)
    assert len(specs) == 4  # ROM vs target, reps vs prescribed, pain, one session's hip curve
    assert {"line", "bar", "tick", "rect", "point"} <= set().union(*(marks(s) for s in specs))
    assert at.query_params["session"] == str(clinic.sessions(1)[-1])  # newest first
    rec = clinic.store.get_session(clinic.sessions(1)[-1])
    assert f"Your back stayed still on {rec.rep_count - rec.compensation_count} of {rec.rep_count} reps." in texts(at)
    # engineering fields are for the therapist, behind a toggle: not on the patient's page until asked for
    assert not at.dataframe and "Calibration quality" not in texts(at) and "flexion-axis" not in texts(at)
    assert not any("Pelvic tilt" in str(s.get("title", "")) for s in specs)
    at.toggle(key=f"details_{rec.id}").set_value(True).run()
    assert "Calibration quality" in texts(at) and len(vega_specs(at)) == 5
    assert any("misplacement_deg" in d.value.columns for d in at.dataframe)


def test_patient_live_without_service_says_so(clinic: SeededClinic) -> None:
    at = sign_in("patient1")
    at.switch_page("app_pages/patient_live.py").run()
    assert not at.exception
    assert "sensor service is not running" in texts(at)


def test_therapist_roster(clinic: SeededClinic) -> None:
    at = sign_in("therapist1")
    assert not at.exception
    assert at.title[0].value == "Roster"
    table = at.dataframe[0].value
    assert sorted(table["patient"]) == ["Patient 1", "Patient 2"]  # only this therapist's patients
    assert len(vega_specs(at)) == 1 and "circle" in marks(vega_specs(at)[0])
    # the "no sessions in N days" alert follows the widget: every patient's last session was yesterday
    at.number_input(key="alert_days").set_value(1).run()
    assert sum("no sessions" in str(e.value) for e in at.markdown) == 2


def test_therapist_patient_detail_and_drilldown(clinic: SeededClinic) -> None:
    at = sign_in("therapist1")
    at.switch_page("app_pages/therapist_patient.py").run()
    assert not at.exception
    assert at.selectbox(key="patient_pick").value == clinic.patient(1)
    specs = vega_specs(at)
    assert len(specs) == 6  # 4 trends + the drill-down's hip and tilt curves
    hip, tilt = specs[-2:]
    assert {"rect", "line", "point", "rule"} <= marks(hip) and {"rect", "line", "rule"} <= marks(tilt)
    assert hip["layer"][1]["encoding"]["y"]["field"] == "hip_flexion_deg"
    assert tilt["layer"][1]["encoding"]["y"]["field"] == "pelvic_tilt_deg"
    rep_table = next(d.value for d in at.dataframe if "Compensated" in d.value.columns)
    sid = int(at.query_params["session"])
    assert len(rep_table) == clinic.store.get_session(sid).rep_count
    assert "Calibration quality" in texts(at)
    assert len(at.get("download_button")) == 5  # the session's zip, and summary, reps, angles, raw
    # pick the other patient: the page follows, and the old session link is dropped
    at.selectbox(key="patient_pick").set_value(clinic.patient(2)).run()
    assert at.query_params["patient"] == str(clinic.patient(2))
    assert int(at.query_params["session"]) in clinic.sessions(2)


def test_therapist_prescription_editor_saves(clinic: SeededClinic) -> None:
    at = sign_in("therapist1")
    at.switch_page("app_pages/therapist_prescriptions.py").run()
    assert not at.exception
    rx = clinic.store.list_prescriptions(clinic.patient(1))[0]
    at.number_input(key=f"rx_{rx.id}_reps").set_value(12)
    at.number_input(key=f"rx_{rx.id}_target").set_value(85.0)
    at.selectbox(key=f"rx_{rx.id}_stage").set_value("floor")
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception
    saved = clinic.store.get_prescription(rx.id)
    assert (saved.reps, saved.target_rom_deg, saved.stage) == (12, 85.0, "floor")
    # add a deep squat
    at.selectbox(key="new_rx_exercise").set_value("deep_squat").run()
    next(b for b in at.button if b.label == "Add").click().run()
    assert not at.exception
    assert "deep_squat" in {p.exercise for p in clinic.store.list_prescriptions(clinic.patient(1))}


def test_therapist_downloads_and_exports(clinic: SeededClinic) -> None:
    from dashboard import components

    at = sign_in("therapist1")
    at.switch_page("app_pages/therapist_downloads.py").run()
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert len(labels) == 1 + 6 + 1 + 4  # the patient's zip + 6 tables, the session's zip + 4 CSVs
    sid = clinic.sessions(1)[0]
    reps_csv = components.session_export_bytes(clinic.store, sid, "reps").decode()
    assert reps_csv.count("\n") == clinic.store.get_session(sid).rep_count + 1
    history_csv = components.patient_export_bytes(clinic.store, clinic.patient(1), "sessions").decode()
    assert history_csv.count("\n") == len(clinic.sessions(1)) + 1


def test_admin_creates_accounts(clinic: SeededClinic) -> None:
    at = sign_in("admin")
    assert not at.exception and at.title[0].value == "Accounts"
    at.text_input(key="new_username").input("newpatient")
    at.text_input(key="new_display_name").input("New Patient")
    at.selectbox(key="new_role").set_value("patient")
    at.selectbox(key="new_therapist").set_value(clinic.clinic.therapist_ids["therapist2"])
    at.text_input(key="new_password").input("a-long-password")
    next(b for b in at.button if b.label == "Create").click().run()
    assert not at.exception
    assert "Created patient 'newpatient'" in texts(at)
    user = clinic.store.get_user_by_username("newpatient")
    assert user.therapist_id == clinic.clinic.therapist_ids["therapist2"]
    assert clinic.store.authenticate("newpatient", "a-long-password") is not None


@pytest.mark.parametrize("username", ["patient1", "therapist1", "admin"])
def test_sign_out(clinic: SeededClinic, username: str) -> None:
    at = sign_in(username)
    at.button(key="sign_out").click().run()
    assert not at.exception
    assert at.text_input(key="sign_in_username") is not None


def _good_box_sessions(clinic: SeededClinic, session_pool, felt: str = "too_easy") -> int:
    import dataclasses
    import datetime as dt

    pid = clinic.patient(1)
    rx = next(r for r in clinic.store.list_prescriptions(pid) if r.exercise == "knee_raise")
    clinic.store.update_prescription(rx.id, sets=1, reps=4, target_rom_deg=40.0)
    base, _raw = session_pool.session(sample_clinic().patients[0].drills[0], 0.0, 0)  # a box knee raise, left
    clean = dataclasses.replace(
        base, side="left", summary=dataclasses.replace(base.summary, compensation_count=0, compensation_rate=0.0)
    )
    for hours in (3, 2, 1):  # three good sessions at the current stage, the newest ones
        sid = clinic.store.save_session(pid, clean, None, started_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours))
        clinic.store.set_pain_report(sid, pain_after=1, difficulty=felt, reported_by=pid)
    return rx.id


def test_therapist_accepts_a_progression_suggestion(clinic: SeededClinic, session_pool) -> None:
    """Box → floor: the sensors' evidence and the patient's "too easy" → a stored suggestion → one
    click → the patient's Today shows the new stage."""
    rx_id = _good_box_sessions(clinic, session_pool)
    decision = clinic.store.propose_progression(rx_id)  # what saving a set's answers does
    assert decision is not None and decision.to_stage == "floor" and decision.status == "pending"
    at = sign_in("therapist1")
    at.switch_page("app_pages/therapist_patient.py").run()
    assert any("Suggested" in str(s.value) and "on the floor" in str(s.value) for s in at.success), texts(at)
    evidence = next(d.value for d in at.dataframe if "met" in d.value.columns)
    assert list(evidence["felt"]) == ["Too easy"] * 3 and list(evidence["met"]) == ["yes"] * 3
    at.button(key=f"accept_{decision.id}").click().run()
    assert not at.exception
    assert clinic.store.get_prescription(rx_id).stage == "floor"
    assert [(d.status, d.to_stage) for d in clinic.store.list_progression_decisions(clinic.patient(1))] == [("accepted", "floor")]
    patient = sign_in("patient1")
    assert any("New: your therapist moved you on to **Foot starts on the floor**" in str(s.value) for s in patient.success)


def test_a_stored_suggestion_always_offers_accept_and_reject(clinic: SeededClinic) -> None:
    """Issue 15 item 6: a suggestion stored as pending showed in the decisions table while the card
    said "No progression suggested yet" and offered no Accept/Reject."""
    pid = clinic.patient(1)
    rx = next(r for r in clinic.store.list_prescriptions(pid) if r.exercise == "knee_raise")
    stored = clinic.store.suggest_progression(rx.id, "floor", reason="seeded by the demo")
    at = sign_in("therapist1")
    at.switch_page("app_pages/therapist_patient.py").run()
    assert "No progression suggested yet" not in texts(at)
    at.button(key=f"reject_{stored.id}").click().run()
    assert clinic.store.get_progression_decision(stored.id).status == "rejected"
    assert clinic.store.get_prescription(rx.id).stage == "box"


def test_roster_accepts_in_place(clinic: SeededClinic, session_pool) -> None:
    rx_id = _good_box_sessions(clinic, session_pool)
    decision = clinic.store.propose_progression(rx_id)
    at = sign_in("therapist1")
    assert "Waiting for you (1)" in texts(at)
    assert "from 'Foot starts on a box' to 'Foot starts on the floor'" in texts(at)  # stages in the patient's words
    at.button(key=f"roster_accept_{decision.id}").click().run()
    assert not at.exception and clinic.store.get_prescription(rx_id).stage == "floor"
    assert "Waiting for you" not in texts(at)


def test_patient_who_finds_it_hard_gets_no_step_up(clinic: SeededClinic, session_pool) -> None:
    rx_id = _good_box_sessions(clinic, session_pool, felt="too_hard")
    assert clinic.store.propose_progression(rx_id) is None
    at = sign_in("therapist1")
    at.switch_page("app_pages/therapist_patient.py").run()
    assert "'too hard'" in texts(at)


def test_patient_checkup_page_starts_with_the_questions(clinic: SeededClinic) -> None:
    at = sign_in("patient1")
    at.switch_page("app_pages/patient_checkup.py").run()
    assert not at.exception and not at.error
    assert [r.value for r in at.radio] == [None, None, None]  # no default answer
    assert at.button(key="checkup_start").disabled
    assert "uses your left leg" in texts(at)  # the knee raise's side
