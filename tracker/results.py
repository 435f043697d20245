"""Typed results of the processing core; the store, the CLI's JSON and the dashboard speak these.

Angles are degrees (API edge), times are seconds on the session clock. Field names are the
`rehab analyze --json` contract: renaming one breaks other tools.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from tracker.conventions import Exercise, Side


@dataclass(frozen=True, slots=True)
class Rep:
    """One repetition. ``peak_hip_flexion_deg`` is the signed extreme (negative for extension)."""

    index: int
    start_s: float
    peak_s: float
    end_s: float
    peak_hip_flexion_deg: float
    hold_s: float
    partial: bool
    compensation: bool
    compensation_deg: float
    compensation_onset_hip_deg: float | None
    set_index: int = 0
    start_hip_flexion_deg: float = 0.0
    range_deg: float = 0.0
    pelvic_tilt_change_deg: float = 0.0
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class SensorCalibration:
    """What calibration estimated for one sensor: how far it sits from the documented placement."""

    sensor: str
    misplacement_deg: float
    stand_accel_norm_m_s2: float
    stand_gyro_rms_rad_s: float


@dataclass(frozen=True, slots=True)
class Calibration:
    stand_start_s: float
    stand_duration_s: float
    sensors: tuple[SensorCalibration, ...]
    flexion_axis_confidence: float
    quality: str  # "good" | "fair" | "poor"
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionSummary:
    rep_count: int
    full_rep_count: int
    partial_rep_count: int
    rom_deg: float
    mean_peak_hip_flexion_deg: float
    compensation_count: int
    compensation_rate: float
    mean_rep_duration_s: float
    mean_hold_s: float
    duration_s: float
    set_count: int = 1


@dataclass(slots=True)
class SessionAnalysis:
    exercise: Exercise
    side: Side
    calibration: Calibration
    summary: SessionSummary
    reps: list[Rep]
    #: Uniform time base: columns t, hip_flexion_deg, pelvic_tilt_deg, valid (False inside gaps).
    angles: pd.DataFrame = field(repr=False)
    threshold_deg: float = 10.0

    def to_json_dict(self) -> dict[str, Any]:
        """The `rehab analyze --json` object (NaN becomes null)."""
        return _clean(
            {
                "exercise": self.exercise,
                "side": self.side,
                "threshold_deg": self.threshold_deg,
                "calibration": asdict(self.calibration),
                "summary": asdict(self.summary),
                "reps": [asdict(r) for r in self.reps],
            }
        )


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj
