"""The program's data in the store (migration 0006), on SQLite and PostgreSQL: sets marked "check your
sensors" are kept but left out of trends and the roster; the patient's difficulty answer; suggestions
with kind, target and evidence, one pending per prescription; assessments; the therapist's N weeks."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from program import ScreeningAnswers, ScreeningRules
from store import InvalidValueError, NotFoundError, Store
from store.progression import trend_rows
from tracker.sanity import issue

from .conftest import T0


def _wrong_leg(analysis):  # type: ignore[no-untyped-def]
    """The same set read on the mirrored leg: flexion comes out as extension."""
    return dataclasses.replace(analysis, angles=analysis.angles.assign(hip_flexion_deg=-analysis.angles["hip_flexion_deg"]))


def test_a_wrong_leg_set_is_kept_marked_and_left_out(store: Store, clinic: dict, analysis_factory) -> None:  # type: ignore[no-untyped-def]
    alice = clinic["alice"]
    now = T0 + dt.timedelta(days=3)
    good = store.save_session(alice.id, analysis_factory(seed=1), None, started_at=now - dt.timedelta(days=1))
    bad = store.save_session(alice.id, _wrong_leg(analysis_factory(seed=2)), None, started_at=now - dt.timedelta(hours=1))
    rec = store.get_session(bad)
    assert rec.sensor_flagged and [i["code"] for i in rec.sensor_issues] == ["wrong_leg"]
    assert not store.get_session(good).sensor_flagged and store.get_session(good).counts_for_trends
    history = store.patient_history(alice.id)
    assert list(history["sensor_flagged"]) == [False, True]
    assert list(trend_rows(history)["session_id"]) == [good]
    roster = store.roster(clinic["therapist"].id, now=now).set_index("patient_id")
    assert roster.loc[alice.id, "flagged_sessions"] == 1
    assert roster.loc[alice.id, "last_session_at"] == now - dt.timedelta(days=1)  # the marked set is not "latest"
    assert roster.loc[alice.id, "sessions_this_week"] == 1
    # live checks add to what the store found, once each
    again = store.add_sensor_issues(good, [issue("upside_down", "thigh +x 170° from up", "thigh")] * 2)
    assert again.sensor_flagged and [i["code"] for i in again.sensor_issues] == ["upside_down"]


def test_difficulty_answer_and_suggestions(store: Store, clinic: dict, analysis_factory) -> None:  # type: ignore[no-untyped-def]
    alice, therapist = clinic["alice"], clinic["therapist"]
    sid = store.save_session(alice.id, analysis_factory(), None, started_at=T0)
    store.set_pain_report(sid, pain_after=2, difficulty="too_easy")
    store.set_pain_report(sid, note="kept")  # other fields keep their values
    report = store.get_pain_report(sid)
    assert report is not None and (report.difficulty, report.pain_after, report.note) == ("too_easy", 2, "kept")
    assert store.patient_history(alice.id)["difficulty"].tolist() == ["too_easy"]
    with pytest.raises(InvalidValueError, match="difficulty"):
        store.set_pain_report(sid, difficulty="easy-peasy")

    rx = store.add_prescription(alice.id, "hip_extension", "left", sets=1, reps=8, target_rom_deg=15.0, stage="standard")
    first = store.suggest_progression(rx.id, "standard", kind="target_rom", to_target_rom_deg=20.0,
                                      evidence=[{"reason": "3 good sessions"}])  # fmt: skip
    assert store.suggest_progression(rx.id, "standard", kind="target_rom", to_target_rom_deg=20.0).id == first.id
    assert [d.id for d in store.pending_progressions(therapist.id)] == [first.id]
    assert store.pending_progressions(clinic["other_t"].id) == []
    decided = store.decide_progression(first.id, accept=True, decided_by=therapist.id)
    assert (decided.kind, decided.from_target_rom_deg, decided.to_target_rom_deg) == ("target_rom", 15.0, 20.0)
    assert decided.evidence == [{"reason": "3 good sessions"}]
    assert store.get_prescription(rx.id).target_rom_deg == 20.0
    with pytest.raises(InvalidValueError, match="needs to_target_rom_deg"):
        store.suggest_progression(rx.id, "standard", kind="target_rom")


def test_assessment_lifecycle(store: Store, clinic: dict, analysis_factory) -> None:  # type: ignore[no-untyped-def]
    alice, therapist = clinic["alice"], clinic["therapist"]
    a = store.start_assessment(alice.id, "left", answers={"low_back_pain": True})
    assert a.status == "in_progress" and a.answers["low_back_pain"] is True and a.answers["trouble_sitting_straight"] is None
    sid = store.save_session(alice.id, analysis_factory(), None, started_at=T0)
    right = store.save_session(alice.id, analysis_factory(side="right"), None, started_at=T0)
    linked = store.add_assessment_session(a.id, sid)
    assert linked.assessment_id == a.id and not linked.counts_for_trends
    with pytest.raises(InvalidValueError, match="right side"):
        store.add_assessment_session(a.id, right)
    bob_sid = store.save_session(clinic["bob"].id, analysis_factory(), None, started_at=T0)
    with pytest.raises(NotFoundError):
        store.add_assessment_session(a.id, bob_sid)
    assert set(store.assessment_sessions(a.id)) == {"knee_raise"}
    result = ScreeningRules().evaluate(knee_raise=store.load_session(sid).analysis, answers=ScreeningAnswers(low_back_pain=True))
    done = store.complete_assessment(a.id, result)
    assert done.status == "complete" and done.result is not None
    assert [x.id for x in store.assessments_to_review(therapist.id)] == [a.id]
    for drill in ("knee_raise", "hip_extension", "deep_squat"):
        store.decide_recommendation(a.id, drill, "confirmed", decided_by=therapist.id)
    assert store.get_assessment(a.id).status == "reviewed" and store.assessments_to_review(therapist.id) == []
    with pytest.raises(InvalidValueError, match="is complete|is reviewed"):
        store.add_assessment_session(a.id, sid)
    assert store.list_assessments(alice.id)[0].id == a.id


def test_mobility_weeks_per_patient(store: Store, clinic: dict) -> None:  # type: ignore[no-untyped-def]
    alice = clinic["alice"]
    assert store.mobility_after_weeks(alice.id) == 4
    store.set_mobility_after_weeks(alice.id, 6, updated_by=clinic["therapist"].id)
    store.set_mobility_after_weeks(alice.id, 2, updated_by=clinic["therapist"].id)
    assert store.mobility_after_weeks(alice.id) == 2
    with pytest.raises(InvalidValueError, match="0–52"):
        store.set_mobility_after_weeks(alice.id, 60, updated_by=None)
