"""Progression suggestions on simulated session histories."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from program import (
    Prescription,
    ProgressionInputError,
    ProgressionRule,
    ProgressionSuggestion,
    RuleParameterError,
    SessionOutcome,
    records_to_frame,
)

T0 = datetime(2026, 10, 1, 9, 0)


def history(
    rng: np.random.Generator,
    n: int,
    *,
    drill: str = "knee_raise",
    stage: str = "box",
    reps: int = 10,
    rom_deg: float = 95.0,
    compensation_rate: float = 0.0,
    felt: str | None = "too_easy",
) -> list[SessionOutcome]:
    """``n`` sessions two days apart, ROM jittered upward by up to 3° (all above ``rom_deg``); the
    patient answered ``felt`` after each."""
    return [
        SessionOutcome(
            drill=drill,  # type: ignore[arg-type]
            stage=stage,
            rep_count=reps,
            rom_deg=rom_deg + float(rng.uniform(0, 3)),
            compensation_rate=compensation_rate,
            started_at=T0 + timedelta(days=2 * i),
            side="left",
            session_id=f"s{i}",
            difficulty=felt,  # type: ignore[arg-type]
        )
        for i in range(n)
    ]


@pytest.fixture
def box_rx() -> Prescription:
    return Prescription(drill="knee_raise", stage="box", target_reps=10, target_rom_deg=90.0, sets=1, side="left")


def test_three_good_sessions_suggest_box_to_floor(box_rx, rng) -> None:
    sessions = history(rng, 5, compensation_rate=0.1)  # 1 of 10 reps compensated: allowed
    suggestion = ProgressionRule().suggest(box_rx, sessions)
    assert suggestion is not None
    assert suggestion.kind == "stage" and suggestion.from_stage == "box" and suggestion.to_stage == "floor"
    assert suggestion.status == "pending"
    assert len(suggestion.evidence) == 3
    assert [e.session_id for e in suggestion.evidence] == ["s2", "s3", "s4"]  # the most recent three
    assert all(e.passed for e in suggestion.evidence)
    assert "≥ 10 full reps, ROM ≥ 90° and ≤ 10% compensated reps" in suggestion.reasons[0]
    assert "feels too easy" in suggestion.reasons[1] and "only when the current one feels too easy" in suggestion.reasons[2]
    new_rx = suggestion.accept().apply(box_rx)
    assert new_rx.stage == "floor" and new_rx.target_reps == 10 and new_rx.target_rom_deg == 90.0


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (["too_easy", "too_easy", "too_easy"], "suggest"),
        (["about_right", "about_right", "too_easy"], "suggest"),  # the latest answer counts
        (["too_easy", "too_easy", "about_right"], "latest answer: about right"),
        ([None, None, None], "latest answer: not asked"),
        (["too_easy", "too_hard", "too_easy"], "'too hard' after 1 of these sessions"),
    ],
)
def test_box_to_floor_needs_the_patient_to_find_it_too_easy(box_rx, rng, answers, expected) -> None:
    """The article: 'Only progress to that next level when [the box version] is feeling too easy' —
    the patient's answer after each set, together with the sensors' evidence."""
    sessions = [SessionOutcome(**{**s.to_dict(), "started_at": s.started_at, "difficulty": a})
                for s, a in zip(history(rng, 3), answers, strict=True)]  # fmt: skip
    check = ProgressionRule().check(box_rx, sessions)
    if expected == "suggest":
        assert check.suggestion is not None and check.suggestion.to_stage == "floor"
        assert [e.difficulty for e in check.suggestion.evidence] == answers
    else:
        assert check.suggestion is None and not check.ready
        assert any(expected in r for r in check.reasons), check.reasons
    # the sensors alone, when the clinic chooses so
    assert ProgressionRule(require_too_easy=False).suggest(box_rx, sessions) is not None


def test_too_easy_does_not_override_the_sensors(box_rx, rng) -> None:
    sessions = history(rng, 3, compensation_rate=0.4)
    check = ProgressionRule().check(box_rx, sessions)
    assert check.suggestion is None and "40% compensated reps" in check.reasons[0]
    assert "Thu 01 Oct 2026 09:00" in " ".join(check.reasons)  # dates people read, not ISO 8601


def test_one_bad_session_blocks(box_rx, rng) -> None:
    sessions = history(rng, 3)
    bad = SessionOutcome("knee_raise", "box", 10, 96.0, 0.3, sessions[1].started_at + timedelta(hours=1), "left", "bad",
                         "too_easy")  # fmt: skip
    check = ProgressionRule().check(box_rx, [*sessions, bad])
    assert check.suggestion is None and not check.ready
    assert "30% compensated reps (max 10%)" in check.reasons[0]
    assert [c.passed for c in check.sessions] == [True, False, True]  # sorted by time, bad is middle


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("rep_count", 9, "9 of 10 reps"), ("rom_deg", 80.0, "ROM 80° below 90°")],
)
def test_short_or_shallow_session_blocks(box_rx, rng, field, value, message) -> None:
    sessions = history(rng, 3)
    last = sessions[-1]
    sessions[-1] = SessionOutcome(**{**last.to_dict(), "started_at": last.started_at, field: value})
    check = ProgressionRule().check(box_rx, sessions)
    assert check.suggestion is None
    assert message in check.reasons[0]


def test_too_few_sessions_and_other_stages_do_not_count(box_rx, rng) -> None:
    sessions = history(rng, 2) + history(rng, 3, drill="deep_squat", stage="standard", rom_deg=110)
    check = ProgressionRule().check(box_rx, sessions)
    assert check.suggestion is None
    assert "only 2 session(s)" in check.reasons[0]
    floor_sessions = history(rng, 4, stage="floor")
    assert ProgressionRule().suggest(box_rx, floor_sessions) is None
    assert ProgressionRule(last_n_sessions=2).suggest(box_rx, history(rng, 2)) is not None


def test_other_side_does_not_count(box_rx, rng) -> None:
    sessions = [SessionOutcome(**{**s.to_dict(), "started_at": s.started_at, "side": "right"}) for s in history(rng, 3)]
    assert ProgressionRule().suggest(box_rx, sessions) is None


def test_thresholds_are_configurable(box_rx, rng) -> None:
    sessions = history(rng, 3, reps=9, rom_deg=82.0, compensation_rate=0.2)
    assert ProgressionRule().suggest(box_rx, sessions) is None
    lenient = ProgressionRule(min_reps_fraction=0.9, rom_fraction_of_target=0.9, max_compensation_rate=0.2)
    assert lenient.suggest(box_rx, sessions) is not None


def test_floor_is_the_last_knee_raise_stage(rng) -> None:
    rx = Prescription(drill="knee_raise", stage="floor", target_reps=10, target_rom_deg=90.0)
    check = ProgressionRule().check(rx, history(rng, 3, stage="floor"))
    assert check.ready and check.suggestion is None
    assert "no further stage" in check.reasons[1]


def test_mobility_drill_target_rom_increase(rng) -> None:
    rx = Prescription(drill="hip_extension", stage="standard", target_reps=10, target_rom_deg=15.0)
    sessions = history(rng, 3, drill="hip_extension", stage="standard", rom_deg=15.5)
    s = ProgressionRule(rom_step_deg=5.0).suggest(rx, sessions)
    assert s is not None and s.kind == "target_rom"
    assert s.to_target_rom_deg == pytest.approx(20.0)
    assert s.apply(rx).target_rom_deg == pytest.approx(20.0)
    near_cap = Prescription(drill="hip_extension", stage="standard", target_reps=10, target_rom_deg=23.0)
    capped = ProgressionRule().suggest(near_cap, history(rng, 3, drill="hip_extension", stage="standard", rom_deg=24))
    assert capped is not None and capped.to_target_rom_deg == pytest.approx(25.0)  # the drill's ceiling
    at_cap = Prescription(drill="hip_extension", stage="standard", target_reps=10, target_rom_deg=25.0)
    assert ProgressionRule().suggest(at_cap, history(rng, 3, drill="hip_extension", stage="standard", rom_deg=26)) is None
    assert ProgressionRule(suggest_rom_increase=False).suggest(rx, sessions) is None


def test_sets_multiply_required_reps(rng) -> None:
    rx = Prescription.default("knee_raise")  # 2 x 10 from the catalogue
    assert rx.reps_per_session == 20
    assert ProgressionRule().suggest(rx, history(rng, 3, reps=10)) is None
    assert ProgressionRule().suggest(rx, history(rng, 3, reps=20)) is not None


def test_dataframe_input(box_rx, rng) -> None:
    df = records_to_frame(history(rng, 3))
    df["started_at"] = df["started_at"].astype(str)  # as read back from CSV
    s = ProgressionRule().suggest(box_rx, df)
    assert s is not None and s.to_stage == "floor"
    alt = df.drop(columns=["rom_deg"]).assign(mean_peak_hip_flexion_deg=95.0)
    assert ProgressionRule().suggest(box_rx, alt) is not None
    with pytest.raises(ProgressionInputError, match="missing column\\(s\\) compensation_rate"):
        ProgressionRule().suggest(box_rx, df.drop(columns=["compensation_rate"]))
    with pytest.raises(ProgressionInputError, match="row 1: rom_deg is missing"):
        ProgressionRule().suggest(box_rx, df.assign(rom_deg=[95.0, np.nan, 95.0]))
    empty = pd.DataFrame(columns=list(df.columns))
    assert ProgressionRule().suggest(box_rx, empty) is None


def test_from_analysis(make_session) -> None:
    s = make_session("hip_extension", peaks_deg=[-16.0, -18.0, -17.0], compensation_deg=[2.0, 12.0, 3.0])
    rec = SessionOutcome.from_analysis(s, stage="standard", started_at=T0)
    assert rec.rom_deg == pytest.approx(17.0)
    assert rec.rep_count == 3 and rec.compensation_rate == pytest.approx(1 / 3)


def test_suggestion_serialises_and_decisions(box_rx, rng) -> None:
    s = ProgressionRule().suggest(box_rx, history(rng, 3))
    assert s is not None
    payload = json.loads(json.dumps(s.to_dict()))
    assert payload["summary"] == "Knee raise (psoas strengthening): progress from 'Foot starts on a box' to 'Foot starts on the floor'"
    assert ProgressionSuggestion.from_dict(payload) == s
    rejected = s.reject("not yet, knee pain")
    assert rejected.status == "rejected" and rejected.note == "not yet, knee pain"
    assert ProgressionSuggestion.from_dict(rejected.to_dict()) == rejected
    with pytest.raises(ProgressionInputError, match="unknown status"):
        ProgressionSuggestion.from_dict({**payload, "status": "later"})
    floor_rx = Prescription(drill="knee_raise", stage="floor", target_reps=10, target_rom_deg=90.0)
    with pytest.raises(ProgressionInputError, match="cannot apply"):
        s.apply(floor_rx)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"last_n_sessions": 0}, "last_n_sessions"),
        ({"min_reps_fraction": 0.0}, "min_reps_fraction"),
        ({"rom_fraction_of_target": float("inf")}, "rom_fraction_of_target"),
        ({"max_compensation_rate": 1.5}, "max_compensation_rate"),
        ({"rom_step_deg": -1.0}, "rom_step_deg"),
    ],
)
def test_bad_rule_parameters(kwargs, name) -> None:
    with pytest.raises(RuleParameterError, match=name):
        ProgressionRule(**kwargs)


def test_bad_prescriptions() -> None:
    with pytest.raises(ProgressionInputError, match="target_reps"):
        Prescription(drill="knee_raise", stage="box", target_reps=0, target_rom_deg=90.0)
    with pytest.raises(ProgressionInputError, match="target_rom_deg"):
        Prescription(drill="hip_extension", stage="standard", target_reps=10, target_rom_deg=-15.0)
    with pytest.raises(ValueError, match="no stage 'floor'"):
        Prescription(drill="deep_squat", stage="floor", target_reps=10, target_rom_deg=100.0)
    with pytest.raises(ValueError, match="unknown drill 'plank'"):
        Prescription(drill="plank", stage="box", target_reps=10, target_rom_deg=90.0)  # type: ignore[arg-type]
