"""Sensor sanity checks against simulated recordings whose mistake is known by construction."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simulation import SimulationConfig, simulate
from tracker.calibration import CalibrationError
from tracker.pipeline import analyze_session
from tracker.sanity import (
    PLAIN,
    SanityLimits,
    SanityMonitor,
    SanityParameterError,
    SensorIssue,
    ThighSide,
    check_analysis,
    check_stand,
    from_calibration_error,
)


def _raw(exercise: str, seed: int = 1, side: str = "left"):
    return simulate(SimulationConfig(exercise=exercise, side=side, reps=5, seed=seed, compensation_prob=0.5)).raw  # type: ignore[arg-type]


@pytest.mark.parametrize("exercise", ["knee_raise", "hip_extension", "deep_squat"])
def test_right_leg_is_clean_and_wrong_leg_is_named(exercise: str) -> None:
    raw = _raw(exercise)
    assert check_analysis(analyze_session(raw, exercise, "left")) == ()
    wrong = check_analysis(analyze_session(raw, exercise, "right"))  # sensors on the left, set for the right
    assert [i.code for i in wrong] == ["wrong_leg"]
    assert wrong[0].message == PLAIN["wrong_leg"] and "other leg" in wrong[0].detail


@pytest.mark.parametrize("exercise", ["knee_raise", "hip_extension", "deep_squat"])
def test_live_monitor_agrees_with_the_whole_set_check(exercise: str) -> None:
    """The live checks (angle rules + the thigh-side accumulator fed sample by sample) find what the
    whole-set check finds."""
    raw = _raw(exercise, seed=2)
    for side, expected in (("left", set()), ("right", {"wrong_leg"})):
        a = analyze_session(raw, exercise, side)
        assert {i.code for i in check_analysis(a)} == expected
        m = SanityMonitor(exercise)
        for t, hip, tilt, ok in a.angles[["t", "hip_flexion_deg", "pelvic_tilt_deg", "valid"]].itertuples(index=False):
            if ok:
                m.update(t, hip, tilt)
        thigh = ThighSide(exercise)
        stand = raw.thigh.t_s < raw.thigh.t_s[0] + 2.0
        thigh.stand(raw.thigh.acc_m_s2[stand].mean(0))
        for acc in raw.thigh.acc_m_s2[~stand]:
            thigh.update(acc)
            found = thigh.check(side)
            if found is not None:
                m.add([found])
        assert {i.code for i in m.issues_} == expected


@pytest.mark.parametrize("side", ["left", "right"])
def test_thigh_side_batch_and_live_are_one_accumulator(side: str) -> None:
    cfg = dataclasses.replace(SimulationConfig.realistic(3, exercise="knee_raise"), side=side)
    acc = simulate(cfg).raw.thigh.acc_m_s2
    batch, live = ThighSide("knee_raise"), ThighSide("knee_raise")
    for t in (batch, live):
        t.stand(acc[:100].mean(0))
    batch.update_batch(acc[100:])
    for a in acc[100:]:
        live.update(a)
    assert live.votes_ == batch.votes_ > 100
    assert live.agreement == pytest.approx(batch.agreement)
    assert batch.side_ == side  # a realistic patient: non-hinge hip, soft tissue, strap up to 25° off
    assert batch.check(side) is None
    other = "left" if side == "right" else "right"
    assert batch.check(other) is not None and batch.check(other).code == "wrong_leg"


@pytest.mark.slow
def test_no_issue_on_real_motion(ui_prmd_dir) -> None:  # type: ignore[no-untyped-def]
    """Real marker motion (UI-PRMD subject 01, right leg; incorrect squats tip the pelvis 45–48°):
    correct sensors raise no issue, and the same recording analysed for the left leg is the wrong leg."""
    from evaluation.vicon import build_session

    for movement, exercise in (("m06", "knee_raise"), ("m01", "deep_squat")):
        for folder in ("correct", "incorrect"):
            raw, _ = build_session(ui_prmd_dir, movement, folder=folder, seed=0)
            assert check_analysis(analyze_session(raw, exercise, "right")) == (), (movement, folder)
        assert [i.code for i in check_analysis(analyze_session(raw, exercise, "left"))] == ["wrong_leg"]


def test_swapped_and_upside_down_sensors_map_to_plain_messages() -> None:
    raw = _raw("knee_raise")
    swapped = dataclasses.replace(raw, thigh=dataclasses.replace(raw.pelvis, sensor="thigh"),
                                  pelvis=dataclasses.replace(raw.thigh, sensor="pelvis"))  # fmt: skip
    with pytest.raises(CalibrationError) as exc:
        analyze_session(swapped, "knee_raise", "left")
    assert from_calibration_error(str(exc.value)).code == "swapped"
    flip = np.diag([-1.0, -1.0, 1.0])  # turned 180° about z: +x points down
    upside = dataclasses.replace(raw, thigh=dataclasses.replace(raw.thigh, acc_m_s2=raw.thigh.acc_m_s2 @ flip,
                                                                 gyr_rad_s=raw.thigh.gyr_rad_s @ flip))  # fmt: skip
    with pytest.raises(CalibrationError) as exc:
        analyze_session(upside, "knee_raise", "left")
    found = from_calibration_error(str(exc.value))
    assert (found.code, found.sensor) == ("upside_down", "thigh")
    # the stand check sees it from the first second of samples, before the core calibrates
    stand = upside.thigh.acc_m_s2[upside.thigh.t_s < 1.0].mean(0)
    assert check_stand("thigh", stand) is not None and check_stand("pelvis", raw.pelvis.acc_m_s2[:50].mean(0)) is None


def test_impossible_angles_and_a_single_glitch() -> None:
    m = SanityMonitor("knee_raise")
    for k in range(100):  # a 0.1 s spike to 170°: not an issue
        m.update(k * 0.01, 170.0 if 10 <= k < 20 else 40.0, 0.0)
    assert m.issues_ == ()
    for k in range(100, 200):  # 0.5 s at 170°: impossible
        m.update(k * 0.01, 170.0, 0.0)
    assert [i.code for i in m.issues_] == ["impossible_angle"]
    issue = m.issues_[0]
    assert SensorIssue.from_dict(issue.to_dict()) == issue


def test_limits_are_validated() -> None:
    with pytest.raises(SanityParameterError, match="wrong_leg_min_deg"):
        SanityLimits(wrong_leg_min_deg=-1)
    with pytest.raises(SanityParameterError, match="upside_down_cos"):
        SanityLimits(upside_down_cos=0.5)
