"""Bad placement is reported as a CalibrationError naming the sensor and the problem — never a number."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import simulation
from tracker.calibration import CalibrationError
from tracker.pipeline import analyze_session
from tracker.raw import RawSession, SensorStream


@pytest.fixture(scope="module")
def session():
    return simulation.simulate(simulation.SimulationConfig(exercise="knee_raise", side="right", reps=3, seed=5))


def _renamed(s: SensorStream, name: str) -> SensorStream:
    return dataclasses.replace(s, sensor=name)


def test_good_session_calibrates(session) -> None:
    res = analyze_session(session.raw, "knee_raise", "right")
    assert res.calibration.stand_duration_s >= 2.0
    assert res.calibration.quality in ("good", "fair")
    est = {c.sensor: c.misplacement_deg for c in res.calibration.sensors}
    for name in ("thigh", "pelvis"):
        assert est[name] == pytest.approx(session.truth.sensors[name].misplacement_deg, abs=8.0)


def test_swapped_sensors(session) -> None:
    raw = RawSession(thigh=_renamed(session.raw.pelvis, "thigh"), pelvis=_renamed(session.raw.thigh, "pelvis"))
    with pytest.raises(CalibrationError, match="swapped"):
        analyze_session(raw, "knee_raise", "right")


def test_upside_down_thigh(session) -> None:
    th = session.raw.thigh
    flip = np.array([-1.0, -1.0, 1.0])  # 180° about the sensor's z axis
    raw = RawSession(thigh=dataclasses.replace(th, acc_m_s2=th.acc_m_s2 * flip, gyr_rad_s=th.gyr_rad_s * flip), pelvis=session.raw.pelvis)
    with pytest.raises(CalibrationError, match="thigh sensor appears upside-down"):
        analyze_session(raw, "knee_raise", "right")


def test_thigh_never_moves(session) -> None:
    th = session.raw.thigh
    rng = np.random.default_rng(0)
    n = len(th)
    acc = np.tile(th.acc_m_s2[:50].mean(0), (n, 1)) + rng.normal(0, 0.02, (n, 3))
    gyr = rng.normal(0, 0.004, (n, 3))
    raw = RawSession(thigh=dataclasses.replace(th, acc_m_s2=acc, gyr_rad_s=gyr), pelvis=session.raw.pelvis)
    with pytest.raises(CalibrationError, match="thigh sensor never moves"):
        analyze_session(raw, "knee_raise", "right")


def test_too_short_stand(session) -> None:
    cut = session.truth.reps[0].start_s - 1.0  # leaves ~1 s of quiet before the first rep

    def trim(s: SensorStream) -> SensorStream:
        m = s.t_s >= cut
        return dataclasses.replace(s, t_s=s.t_s[m], acc_m_s2=s.acc_m_s2[m], gyr_rad_s=s.gyr_rad_s[m])

    raw = RawSession(thigh=trim(session.raw.thigh), pelvis=trim(session.raw.pelvis))
    with pytest.raises(CalibrationError, match="quiet stand at the start is too short"):
        analyze_session(raw, "knee_raise", "right")


def test_calibration_error_is_a_value_error() -> None:
    assert issubclass(CalibrationError, ValueError)
