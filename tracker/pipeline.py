"""Offline analysis of a whole session: raw streams → angles → reps → compensation → SessionAnalysis.

Stages (each its own module, documented in docs/coordinate-systems.md):
  timebase      each sensor on its own uniform grid, gaps marked (tracker/timebase.py)
  orientation   offlineVQF per sensor and segment (tracker/orientation.py)
  timebase      slerp both onto one shared grid (default 100 Hz); ``valid`` False inside gaps
  calibration   quiet stand, verticals, flexion axes, placement checks (tracker/calibration.py)
  joint_angles  relative heading, ISB hip flexion, pelvic tilt (tracker/joint_angles.py)
  reps          streaming hysteresis detector + per-rep compensation (tracker/reps.py, compensation.py)
The live path (tracker/live.py) uses the same calibration, angle and rep objects sample by sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tracker.calibration import CalibrationInput, Calibrator
from tracker.conventions import Exercise, Side, check_exercise, check_side
from tracker.joint_angles import HipAngleEstimator
from tracker.orientation import OrientationEstimator, SensorOrientation
from tracker.raw import RawSession
from tracker.reps import DetectedRep, RepDetector, assign_sets, label_partials
from tracker.results import Rep, SessionAnalysis, SessionSummary
from tracker.timebase import common_grid, native_grid, resample_sensor


@dataclass(frozen=True, slots=True)
class AnalysisParams:
    """Tunable parameters of the offline path (defaults documented in each algorithm class)."""

    rate_hz: float = 100.0
    heading_window_s: float = 6.0
    partial_fraction: float = 0.6
    set_gap_s: float = 12.0
    calibrator: dict[str, Any] = field(default_factory=dict)
    rep_detector: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 20.0 <= self.rate_hz <= 400.0:
            raise ValueError(f"rate_hz must be in 20..400 Hz, got {self.rate_hz!r}")
        if not 0 < self.partial_fraction < 1:
            raise ValueError(f"partial_fraction must be in (0, 1), got {self.partial_fraction!r}")
        if not self.set_gap_s > 0:
            raise ValueError(f"set_gap_s must be > 0 s, got {self.set_gap_s!r}")


@dataclass(frozen=True, slots=True)
class SharedGrid:
    """Both sensors' orientation and signals on the shared uniform grid."""

    t_s: np.ndarray
    rate_hz: float
    quat_thigh: np.ndarray
    quat_pelvis: np.ndarray
    gyr_thigh: np.ndarray
    gyr_pelvis: np.ndarray
    acc_thigh: np.ndarray
    acc_pelvis: np.ndarray
    valid: np.ndarray
    block: np.ndarray  # changes wherever either sensor starts a new VQF segment

    def calibration_input(self) -> CalibrationInput:
        return CalibrationInput(
            t_s=self.t_s, rate_hz=self.rate_hz, quat_thigh=self.quat_thigh, quat_pelvis=self.quat_pelvis,
            gyr_thigh=self.gyr_thigh, gyr_pelvis=self.gyr_pelvis, acc_thigh=self.acc_thigh,
            acc_pelvis=self.acc_pelvis, valid=self.valid, block=self.block,
        )


def orient_sensors(raw: RawSession, *, offline: bool = True) -> dict[str, SensorOrientation]:
    out: dict[str, SensorOrientation] = {}
    for stream in raw.streams():
        try:
            grid = native_grid(stream.t_s, stream.acc_m_s2, stream.gyr_rad_s)
        except ValueError as exc:
            from tracker.calibration import CalibrationError

            raise CalibrationError(f"{stream.sensor} sensor: {exc}") from exc
        out[stream.sensor] = OrientationEstimator(offline=offline).estimate(grid).orientation_
    return out


def to_shared_grid(orient: dict[str, SensorOrientation], rate_hz: float) -> SharedGrid:
    th, pe = orient["thigh"], orient["pelvis"]
    t = common_grid([th.t_s[0], pe.t_s[0]], [th.t_s[-1], pe.t_s[-1]], rate_hz)
    q_t, sig_t, v_t, s_t = resample_sensor(th.t_s, th.quat_wxyz, np.hstack([th.gyr_corr_rad_s, th.acc_m_s2]), th.valid, th.segment, t)
    q_p, sig_p, v_p, s_p = resample_sensor(pe.t_s, pe.quat_wxyz, np.hstack([pe.gyr_corr_rad_s, pe.acc_m_s2]), pe.valid, pe.segment, t)
    block = s_t * 10_000 + s_p
    return SharedGrid(
        t_s=t, rate_hz=rate_hz, quat_thigh=q_t, quat_pelvis=q_p,
        gyr_thigh=sig_t[:, :3], gyr_pelvis=sig_p[:, :3], acc_thigh=sig_t[:, 3:], acc_pelvis=sig_p[:, 3:],
        valid=v_t & v_p & (s_t >= 0) & (s_p >= 0), block=block,
    )


def build_reps(
    detected: list[DetectedRep], partial_flags: list[bool], set_gap_s: float
) -> list[Rep]:
    sets = assign_sets([d.start_s for d in detected], [d.end_s for d in detected], set_gap_s)
    reps = []
    for i, (d, partial, s) in enumerate(zip(detected, partial_flags, sets), start=1):
        c = d.compensation
        reps.append(
            Rep(
                index=i, start_s=d.start_s, peak_s=d.peak_s, end_s=d.end_s,
                peak_hip_flexion_deg=d.peak_hip_deg, hold_s=d.hold_s, partial=partial,
                compensation=c.compensated, compensation_deg=c.compensation_deg,
                compensation_onset_hip_deg=c.onset_hip_deg, set_index=s,
                start_hip_flexion_deg=d.start_hip_deg, range_deg=abs(d.peak_hip_deg - d.start_hip_deg),
                pelvic_tilt_change_deg=c.tilt_change_deg, duration_s=d.duration_s,
            )
        )
    return reps


def summarise(reps: list[Rep], duration_s: float) -> SessionSummary:
    n = len(reps)
    peaks = np.array([r.peak_hip_flexion_deg for r in reps]) if n else np.array([])
    n_comp = sum(r.compensation for r in reps)
    return SessionSummary(
        rep_count=n,
        full_rep_count=sum(not r.partial for r in reps),
        partial_rep_count=sum(r.partial for r in reps),
        rom_deg=float(max((r.range_deg for r in reps), default=0.0)),
        mean_peak_hip_flexion_deg=float(peaks.mean()) if n else float("nan"),
        compensation_count=int(n_comp),
        compensation_rate=float(n_comp / n) if n else 0.0,
        mean_rep_duration_s=float(np.mean([r.duration_s for r in reps])) if n else float("nan"),
        mean_hold_s=float(np.mean([r.hold_s for r in reps])) if n else float("nan"),
        duration_s=float(duration_s),
        set_count=(max(r.set_index for r in reps) + 1) if n else 0,
    )


class SessionAnalyzer:
    """The offline path as an algorithm object; ``analyze_session`` is its functional face.

    Results: ``analysis_`` (SessionAnalysis), ``grid_`` (SharedGrid), ``calibrator_``,
    ``angles_estimator_`` (relative heading and heading reference diagnostics), ``rep_detector_``.
    """

    def __init__(self, exercise: str, side: str, *, threshold_deg: float = 10.0, params: AnalysisParams | None = None) -> None:
        self.exercise: Exercise = check_exercise(exercise)
        self.side: Side = check_side(side)
        if not (np.isfinite(threshold_deg) and threshold_deg > 0):
            raise ValueError(f"threshold_deg must be a positive number of degrees, got {threshold_deg!r}")
        self.threshold_deg = float(threshold_deg)
        self.params = params or AnalysisParams()

    def analyze(self, raw: RawSession) -> SessionAnalyzer:
        p = self.params
        grid = to_shared_grid(orient_sensors(raw, offline=True), p.rate_hz)
        cal = Calibrator(**p.calibrator).calibrate(grid.calibration_input(), self.side, self.exercise)
        est = HipAngleEstimator(heading_window_s=p.heading_window_s).estimate(
            grid.quat_thigh, grid.quat_pelvis, cal.frame_thigh_, cal.frame_pelvis_, grid.block,
            grid.rate_hz, cal.stand_index_, grid.gyr_pelvis, cal.hinge_axis_thigh_, cal.hinge_axis_pelvis_,
        )
        hip = np.degrees(est.hip_flexion_rad_)
        tilt = np.degrees(est.pelvic_tilt_rad_)
        det = RepDetector(self.exercise, rate_hz=grid.rate_hz, threshold_deg=self.threshold_deg, **p.rep_detector)
        det.detect(grid.t_s, hip, tilt, grid.valid)
        detected = det.reps_
        typical = float(np.median([d.peak_hip_deg for d in detected])) if detected else 0.0
        partial = label_partials([d.peak_hip_deg for d in detected], typical, p.partial_fraction)
        reps = build_reps(detected, partial, p.set_gap_s)
        angles = pd.DataFrame(
            {
                "t": grid.t_s,
                "hip_flexion_deg": np.where(grid.valid, hip, np.nan),
                "pelvic_tilt_deg": np.where(grid.valid, tilt, np.nan),
                "valid": grid.valid,
            }
        )
        self.grid_, self.calibrator_, self.angles_estimator_, self.rep_detector_ = grid, cal, est, det
        self.analysis_ = SessionAnalysis(
            exercise=self.exercise, side=self.side, calibration=cal.calibration_,
            summary=summarise(reps, float(grid.t_s[-1] - grid.t_s[0])), reps=reps, angles=angles,
            threshold_deg=self.threshold_deg,
        )
        return self


def analyze_session(
    raw: RawSession, exercise: str, side: str, *, threshold_deg: float = 10.0, params: AnalysisParams | None = None
) -> SessionAnalysis:
    """Analyse a whole recording. Raises CalibrationError (a ValueError) for bad placement."""
    return SessionAnalyzer(exercise, side, threshold_deg=threshold_deg, params=params).analyze(raw).analysis_
