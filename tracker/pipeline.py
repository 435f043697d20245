"""Offline analysis of a whole session — the engine (tracker/engine.py) in its offline mode.

``analyze_session(raw, exercise, side)`` and ``SessionAnalyzer`` are the entry points the CLI, the
recorder, the store's re-analysis and the evaluation use; both run ``Engine(mode="offline")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tracker.calibration import CalibrationError, Calibrator
from tracker.conventions import Exercise, Side, check_exercise, check_side
from tracker.engine import Engine, EngineParams
from tracker.raw import RawSession
from tracker.reps import RepDetector
from tracker.results import SessionAnalysis
from tracker.stages import AngleSolution, SharedGrid, orient_streams, to_shared_grid
from tracker.timebase import GapPolicy


@dataclass(frozen=True, slots=True)
class AnalysisParams:
    """Tunable parameters of the offline path (the engine's, see ``EngineParams``)."""

    rate_hz: float = 100.0
    partial_fraction: float = 0.6
    set_gap_s: float = 12.0
    calibrator: dict[str, Any] = field(default_factory=dict)
    rep_detector: dict[str, Any] = field(default_factory=dict)
    heading: dict[str, Any] = field(default_factory=dict)
    gaps: GapPolicy = field(default_factory=GapPolicy)

    def engine_params(self) -> EngineParams:
        return EngineParams(
            rate_hz=self.rate_hz, partial_fraction=self.partial_fraction, set_gap_s=self.set_gap_s,
            calibrator=self.calibrator, rep_detector=self.rep_detector, heading=self.heading, gaps=self.gaps,
        )

    def __post_init__(self) -> None:
        self.engine_params()  # validates


def to_grid(raw: RawSession, *, rate_hz: float = 100.0, offline: bool = True) -> SharedGrid:
    """Both sensors oriented and on the shared grid (evaluation and diagnostics use this stage alone)."""
    return to_shared_grid(orient_streams(raw.streams(), offline=offline), rate_hz)


class SessionAnalyzer:
    """The offline path as an algorithm object; ``analyze_session`` is its functional face.

    Results: ``analysis_`` (SessionAnalysis), ``grid_`` (SharedGrid), ``calibrator_``, ``angles_``
    (AngleSolution: 3D and sagittal hip flexion, tilt, relative heading), ``rep_detector_``.
    """

    def __init__(self, exercise: str, side: str, *, threshold_deg: float = 10.0, params: AnalysisParams | None = None) -> None:
        self.exercise: Exercise = check_exercise(exercise)
        self.side: Side = check_side(side)
        if not (np.isfinite(threshold_deg) and threshold_deg > 0):
            raise ValueError(f"threshold_deg must be a positive number of degrees, got {threshold_deg!r}")
        self.threshold_deg = float(threshold_deg)
        self.params = params or AnalysisParams()

    def analyze(self, raw: RawSession) -> SessionAnalyzer:
        eng = Engine(self.exercise, self.side, mode="offline", threshold_deg=self.threshold_deg, params=self.params.engine_params())
        self.analysis_ = eng.feed(raw).finish()
        self.grid_: SharedGrid = eng.grid_
        self.calibrator_: Calibrator = eng.calibrator_
        self.angles_: AngleSolution = eng.angles_
        self.rep_detector_: RepDetector = eng.rep_detector_
        self.identification_ = eng.identification_
        self.heading_ = eng.heading
        return self


def analyze_session(
    raw: RawSession, exercise: str, side: str, *, threshold_deg: float = 10.0, params: AnalysisParams | None = None
) -> SessionAnalysis:
    """Analyse a whole recording. Raises CalibrationError (a ValueError) for bad placement or no stand."""
    return SessionAnalyzer(exercise, side, threshold_deg=threshold_deg, params=params).analyze(raw).analysis_


__all__ = ["AnalysisParams", "CalibrationError", "SessionAnalyzer", "analyze_session", "to_grid"]
