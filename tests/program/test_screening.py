"""Screening rules on simulated patients (constructed SessionAnalysis objects) with known limitations."""

from __future__ import annotations

import json

import numpy as np
import pytest

from program import (
    DISCLAIMER,
    RuleParameterError,
    ScreeningInputError,
    ScreeningResult,
    ScreeningRules,
)


def jitter(rng: np.random.Generator, mean: float, sd: float, n: int) -> list[float]:
    return [float(v) for v in rng.normal(mean, sd, n)]


@pytest.fixture
def rounder(make_session, rng):
    """Knee raise to ~100°, the pelvis rounds ~14° starting at ~60° of hip flexion in every rep."""
    return make_session(
        "knee_raise",
        peaks_deg=jitter(rng, 100, 3, 6),
        compensation_deg=jitter(rng, 14, 1.5, 6),
        onset_hip_deg=jitter(rng, 60, 2, 6),
    )


@pytest.fixture
def clean_knee_raise(make_session, rng):
    return make_session("knee_raise", peaks_deg=jitter(rng, 105, 3, 6), compensation_deg=jitter(rng, 3, 1, 6))


@pytest.fixture
def full_squat(make_session, rng):
    return make_session("deep_squat", peaks_deg=jitter(rng, 118, 3, 5), compensation_deg=jitter(rng, 4, 1, 5))


@pytest.fixture
def good_extension(make_session, rng):
    return make_session(
        "hip_extension", peaks_deg=jitter(rng, -20, 1.5, 5), compensation_deg=jitter(rng, 4, 1, 5), hold_s=5.0
    )


@pytest.fixture
def stiff_extension(make_session, rng):
    """Only ~8° of active extension, bought with ~12° of anterior tilt."""
    return make_session(
        "hip_extension", peaks_deg=jitter(rng, -8, 1, 5), compensation_deg=jitter(rng, 12, 0.8, 5), hold_s=3.0
    )


def test_rounding_from_60_deg_recommends_shortening(rounder, full_squat, good_extension) -> None:
    result = ScreeningRules().evaluate(knee_raise=rounder, hip_extension=good_extension, deep_squat=full_squat)
    kr = result.knee_raise
    assert kr is not None and kr.rounding
    assert kr.rounding_onset_hip_deg == pytest.approx(60.0, abs=4.0)
    assert kr.rounding_deg == pytest.approx(14.0, abs=2.0)
    assert kr.rounding_rep_count == 6 and kr.rounding_fraction == pytest.approx(1.0)
    rec = result.recommendation("deep_squat")
    assert rec.recommended and rec.status == "pending"
    assert f"pelvis starts rounding at {kr.rounding_onset_hip_deg:.0f}° of hip flexion (threshold 90°)" in rec.reason
    # strengthening for everyone, lengthening not (good extension)
    assert result.recommended_drills == ("knee_raise", "deep_squat")


def test_full_depth_and_no_rounding_gives_no_shortening(clean_knee_raise, full_squat, good_extension) -> None:
    result = ScreeningRules().evaluate(
        knee_raise=clean_knee_raise, hip_extension=good_extension, deep_squat=full_squat
    )
    assert result.knee_raise is not None and not result.knee_raise.rounding
    assert result.knee_raise.rounding_onset_hip_deg is None
    assert result.deep_squat is not None
    assert result.deep_squat.depth_deg == pytest.approx(118.0, abs=4.0)
    assert result.deep_squat.butt_wink_deg == pytest.approx(4.0, abs=1.5)
    assert not result.deep_squat.butt_wink
    assert not result.recommendation("deep_squat").recommended
    assert "at or above 100°" in result.recommendation("deep_squat").reason
    assert result.recommended_drills == ("knee_raise",)
    assert result.notes == ()


def test_limited_extension_with_anterior_tilt_recommends_lengthening(stiff_extension) -> None:
    result = ScreeningRules().evaluate(hip_extension=stiff_extension)
    he = result.hip_extension
    assert he is not None
    assert he.active_extension_deg == pytest.approx(8.0, abs=1.5)
    assert he.active_extension_deg > 0
    assert he.anterior_tilt_deg == pytest.approx(12.0, abs=1.5)
    assert he.anterior_tilt and he.mean_hold_s == pytest.approx(3.0)
    rec = result.recommendation("hip_extension")
    assert rec.recommended
    assert f"active hip extension {he.active_extension_deg:.0f}° (below the normal 15°)" in rec.reason
    assert "active contraction" in rec.reason


def test_limited_extension_without_tilt_is_not_lengthening(make_session, rng) -> None:
    s = make_session("hip_extension", peaks_deg=jitter(rng, -8, 1, 5), compensation_deg=jitter(rng, 3, 1, 5))
    rec = ScreeningRules().evaluate(hip_extension=s).recommendation("hip_extension")
    assert not rec.recommended
    assert "no anterior tilt" in rec.reason


def test_tilt_with_normal_extension_is_not_lengthening(make_session, rng) -> None:
    s = make_session("hip_extension", peaks_deg=jitter(rng, -22, 1, 5), compensation_deg=jitter(rng, 13, 1, 5))
    result = ScreeningRules().evaluate(hip_extension=s)
    assert result.hip_extension is not None and result.hip_extension.anterior_tilt
    assert not result.recommendation("hip_extension").recommended


def test_shallow_squat_recommends_shortening(make_session, clean_knee_raise, rng) -> None:
    squat = make_session("deep_squat", peaks_deg=jitter(rng, 85, 3, 5), compensation_deg=jitter(rng, 12, 1, 5))
    result = ScreeningRules().evaluate(knee_raise=clean_knee_raise, deep_squat=squat)
    assert result.deep_squat is not None and result.deep_squat.butt_wink
    rec = result.recommendation("deep_squat")
    assert rec.recommended
    assert f"squat depth {result.deep_squat.depth_deg:.0f}° of hip flexion (below 100°)" in rec.reason
    assert "butt wink" in rec.reason


def test_late_rounding_above_threshold_is_not_shortening(make_session, full_squat, rng) -> None:
    kr = make_session(
        "knee_raise",
        peaks_deg=jitter(rng, 115, 2, 5),
        compensation_deg=jitter(rng, 12, 1, 5),
        onset_hip_deg=jitter(rng, 100, 2, 5),
    )
    result = ScreeningRules().evaluate(knee_raise=kr, deep_squat=full_squat)
    assert result.knee_raise is not None and result.knee_raise.rounding
    rec = result.recommendation("deep_squat")
    assert not rec.recommended
    assert "at or above the threshold 90°" in rec.reason


def test_thresholds_are_configurable(rounder, stiff_extension, make_session, rng) -> None:
    strict = ScreeningRules(rounding_onset_max_hip_deg=50.0, normal_active_extension_deg=5.0)
    result = strict.evaluate(knee_raise=rounder, hip_extension=stiff_extension)
    assert not result.recommendation("deep_squat").recommended
    assert not result.recommendation("hip_extension").recommended
    assert result.rules["rounding_onset_max_hip_deg"] == 50.0
    squat = make_session("deep_squat", peaks_deg=jitter(rng, 105, 2, 5), compensation_deg=jitter(rng, 3, 1, 5))
    assert ScreeningRules(min_squat_depth_deg=110).evaluate(deep_squat=squat).recommendation("deep_squat").recommended
    assert not ScreeningRules().evaluate(deep_squat=squat).recommendation("deep_squat").recommended


def test_occasional_rounding_is_not_rounding(make_session, rng, full_squat) -> None:
    comp = [14.0, 3.0, 2.0, 4.0, 3.0]
    kr = make_session(
        "knee_raise", peaks_deg=jitter(rng, 100, 2, 5), compensation_deg=comp, onset_hip_deg=[60.0] * 5
    )
    result = ScreeningRules().evaluate(knee_raise=kr, deep_squat=full_squat)
    assert result.knee_raise is not None
    assert result.knee_raise.rounding_rep_count == 1 and not result.knee_raise.rounding
    assert not result.recommendation("deep_squat").recommended
    assert ScreeningRules(min_compensated_fraction=0.2).evaluate(knee_raise=kr).recommendation(
        "deep_squat"
    ).recommended


def test_rounding_without_onset_angle_still_recommends_and_says_so(make_session, rng) -> None:
    kr = make_session("knee_raise", peaks_deg=jitter(rng, 100, 2, 4), compensation_deg=jitter(rng, 15, 1, 4))
    result = ScreeningRules().evaluate(knee_raise=kr)
    assert result.knee_raise is not None and result.knee_raise.rounding_onset_hip_deg is None
    rec = result.recommendation("deep_squat")
    assert rec.recommended and "onset angle not measured" in rec.reason


def test_missing_drills_are_named(rounder) -> None:
    nothing = ScreeningRules().evaluate()
    assert nothing.side is None
    assert nothing.recommended_drills == ("knee_raise",)
    assert len(nothing.notes) == 3
    assert any("Hip extension" in n and "not measured" in n for n in nothing.notes)
    assert "not measured" in nothing.recommendation("hip_extension").reason
    only_kr = ScreeningRules().evaluate(knee_raise=rounder)
    assert only_kr.side == "left"
    assert only_kr.recommendation("deep_squat").recommended
    assert "deep squat not measured" in only_kr.recommendation("deep_squat").reason
    assert len(only_kr.notes) == 2


def test_too_few_full_reps_is_a_note(make_session) -> None:
    s = make_session("deep_squat", peaks_deg=[80.0, 82.0, 60.0], compensation_deg=[2, 2, 2], partial=[True, True, False])
    result = ScreeningRules().evaluate(deep_squat=s)
    assert result.deep_squat is None
    squat_notes = [n for n in result.notes if n.startswith("Deep squat")]
    assert len(squat_notes) == 1 and "only 1 full rep(s) of 3" in squat_notes[0]
    assert not result.recommendation("deep_squat").recommended


def test_partial_reps_are_excluded_from_depth(make_session) -> None:
    s = make_session(
        "deep_squat", peaks_deg=[120.0, 118.0, 40.0, 122.0], compensation_deg=[2, 2, 2, 2],
        partial=[False, False, True, False],
    )
    result = ScreeningRules().evaluate(deep_squat=s)
    assert result.deep_squat is not None
    assert result.deep_squat.rep_count == 3
    assert result.deep_squat.depth_deg == pytest.approx(120.0)


def test_wrong_drill_and_mixed_sides_raise(rounder, make_session, rng) -> None:
    with pytest.raises(ScreeningInputError, match="deep_squat= was given a 'knee_raise' session"):
        ScreeningRules().evaluate(deep_squat=rounder)
    right = make_session("deep_squat", peaks_deg=[110, 112], compensation_deg=[2, 2], side="right")
    with pytest.raises(ScreeningInputError, match="mixes sides"):
        ScreeningRules().evaluate(knee_raise=rounder, deep_squat=right)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"normal_active_extension_deg": -5.0}, "normal_active_extension_deg"),
        ({"min_squat_depth_deg": float("nan")}, "min_squat_depth_deg"),
        ({"rounding_onset_max_hip_deg": 500.0}, "rounding_onset_max_hip_deg"),
        ({"min_compensated_fraction": 0.0}, "min_compensated_fraction"),
        ({"min_reps": 0}, "min_reps"),
    ],
)
def test_bad_parameters_are_named(kwargs, name) -> None:
    with pytest.raises(RuleParameterError, match=name):
        ScreeningRules(**kwargs)


def test_therapist_decisions_and_round_trip(rounder, stiff_extension, full_squat) -> None:
    result = ScreeningRules().evaluate(knee_raise=rounder, hip_extension=stiff_extension, deep_squat=full_squat)
    assert result.pending and result.prescribed_drills == ()
    assert result.disclaimer == DISCLAIMER
    decided = (
        result.with_decision("knee_raise", "confirmed")
        .with_decision("hip_extension", "rejected", note="back pain today; revisit")
        .with_decision("deep_squat", "confirmed")
    )
    assert not decided.pending
    assert decided.prescribed_drills == ("knee_raise", "deep_squat")
    assert decided.recommendation("hip_extension").note == "back pain today; revisit"
    assert result.recommendation("hip_extension").status == "pending"  # original untouched
    with pytest.raises(ScreeningInputError, match="unknown status"):
        result.with_decision("knee_raise", "maybe")  # type: ignore[arg-type]
    payload = json.loads(json.dumps(decided.to_dict()))
    back = ScreeningResult.from_dict(payload)
    assert back == decided
    rec = result.recommendation("deep_squat").confirm("agreed")
    assert rec.status == "confirmed" and rec.note == "agreed"
    assert result.recommendation("deep_squat").reject().status == "rejected"
