"""Typed results of the processing core; the store, the CLI's JSON and the dashboard speak these.

Angles are degrees (API edge), times are seconds on the session clock. Field names are the
`rehab analyze --json` contract: renaming one breaks other tools.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any

import numpy as np
import pandas as pd

from tracker import ENGINE_VERSION
from tracker.conventions import Exercise, Side

#: A rep whose ``confidence`` is below this is shown and exported as low-confidence (with its reason).
LOW_CONFIDENCE_BELOW = 0.6


@dataclass(frozen=True, slots=True)
class Rep:
    """One repetition. ``peak_hip_flexion_deg`` is the signed extreme (negative for extension).

    ``confidence`` (0..1; NaN = not assessed, as for reps stored before it existed) says how far the
    rep's numbers can be trusted; below LOW_CONFIDENCE_BELOW ``low_confidence_reason`` says why in
    plain words ("data gap during the rep", "3D and sagittal estimates disagree by 7°").
    """

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
    #: 0..1: how far the rep's numbers can be trusted (heading observability, missing data, flexion
    #: axis, agreement of the 3D and the heading-free estimate); below LOW_CONFIDENCE_BELOW a reason
    #: is given.
    confidence: float = 1.0
    low_confidence_reason: str = ""

    @property
    def low_confidence(self) -> bool:
        return bool(self.confidence < LOW_CONFIDENCE_BELOW)  # NaN (not assessed) is not low


@dataclass(frozen=True, slots=True)
class RepDiagnostics:
    """How one rep's numbers were obtained (the therapist's detail; ``rehab analyze --json``)."""

    index: int
    #: "joint_centre" (3D, relative heading from the joint-centre constraint) or "sagittal" (heading-free).
    heading_method: str
    peak_hip_3d_deg: float
    peak_hip_sagittal_deg: float
    #: |3D − sagittal| the measured out-of-plane motion (thigh frontal tilt, pelvic obliquity) explains.
    explained_difference_deg: float
    heading_sigma_deg: float
    missing_s: float
    end_reason: str
    peak_at_gap: bool
    #: The factors the confidence is the product of.
    heading_factor: float
    gap_factor: float
    axis_factor: float
    agreement_factor: float


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
    #: Uniform time base: columns t, hip_flexion_deg, pelvic_tilt_deg, valid (False inside gaps),
    #: hip_flexion_sagittal_deg (the heading-free estimate; ``rep_diagnostics`` say which one a rep used).
    angles: pd.DataFrame = field(repr=False)
    threshold_deg: float = 10.0
    #: The engine that made this analysis (tracker.ENGINE_VERSION); None for a stored one from
    #: before versions were recorded.
    engine_version: str | None = ENGINE_VERSION
    #: How the relative heading was resolved (method, constant, its uncertainty, joint-centre offsets).
    heading: dict[str, Any] = field(default_factory=dict)
    rep_diagnostics: list[RepDiagnostics] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        """The `rehab analyze --json` object (NaN becomes null)."""
        out: dict[str, Any] = json_safe(
            {
                "exercise": self.exercise,
                "side": self.side,
                "threshold_deg": self.threshold_deg,
                "engine_version": self.engine_version,
                "calibration": asdict(self.calibration),
                "summary": asdict(self.summary),
                "reps": [asdict(r) for r in self.reps],
                "heading": self.heading,
                "rep_diagnostics": [asdict(d) for d in self.rep_diagnostics],
            }
        )
        return out


def json_safe(obj: Any, *, ndigits: int | None = None) -> Any:
    """The one JSON cleaner: NaN/±inf → None (JSON has no NaN), numpy scalars and arrays → Python,
    dataclasses → dicts, tuples → lists, keys → str; floats rounded to ``ndigits`` when given."""
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        if not math.isfinite(v):
            return None
        return round(v, ndigits) if ndigits is not None else v
    if isinstance(obj, np.generic):
        return json_safe(obj.item(), ndigits=ndigits)
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist(), ndigits=ndigits)
    if is_dataclass(obj) and not isinstance(obj, type):
        return json_safe(asdict(obj), ndigits=ndigits)
    if isinstance(obj, dict):
        return {str(k): json_safe(v, ndigits=ndigits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v, ndigits=ndigits) for v in obj]
    return obj
