"""Ground truth of a simulated session: what every accuracy claim is compared against.

Angle definitions are the processing core's (tracker/conventions.py, issue 4):
  hip_flexion_deg      ISB JCS flexion of the thigh relative to the pelvis (+ flexion, − extension)
  pelvic_tilt_deg      pelvis sagittal rotation relative to the mean standing calibration pose (+ anterior)
  pelvic_tilt_yxz_deg  alternative: tilt as the last angle of the rotation-obliquity-tilt (Y-X-Z, Baker 2001)
                       sequence, i.e. about the pelvis' own medio-lateral axis, relative to the stand
                       (+ anterior). It follows from gravity alone (no heading needed); it differs from
                       pelvic_tilt_deg by up to ~5° when the pelvis rotates 25° with obliquity.
  pelvic_obliquity_deg right-hand rotation about the pelvis' anterior axis, pelvic_rotation_deg about
                       its superior axis (the 2nd and 3rd angles of the Z-X-Y Cardan sequence, heading
                       removed); hip_abduction_deg (+ abduction), hip_rotation_deg (+ internal)
Per rep (TruthRep): ``index`` is 1-based over the session, ``set_index`` 0-based; start = the hip starts
to move, end = back at rest; ``peak_hip_flexion_deg`` the signed extreme; ``hold_s`` the planned time at
the top (between the end of the rise and the start of the lowering); ``compensation_deg`` per issue 4:
knee_raise largest posterior tilt change from the rep's start; deep_squat largest anterior tilt during
the descent minus the tilt at depth (butt wink); hip_extension largest anterior tilt change from the
start; ``compensation_onset_hip_deg`` the hip flexion where the compensatory component begins (None when
the rep is not compensated); ``compensated`` = compensation_deg >= threshold.

Holes (``Truth.gaps``): every run of samples a sensor did not deliver, from the last sample before to
the first after (true session time), with its cause (``dropout`` — a planned hole of
``Truth.dropouts`` — or ``packet_loss``) and whether the raw session reports it as a gap (``reported``:
longer than tracker.rawcsv.GAP_FACTOR sample periods; shorter losses are only thinner data). Per rep:
``cut_by_gap`` a reported gap of either sensor overlaps the rep, ``gap_s`` how long (union of both
sensors) data was missing inside it, ``longest_gap_s`` the longest such gap, ``peak_in_gap`` the peak
itself fell in one. ``quiet_stands``: every span of quiet standing of >= 2 s (postural sway only);
``calibration_start_s``/``calibration_end_s``: the one the pelvic tilt is relative to.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.holes import PlannedHole


@dataclass(frozen=True, slots=True)
class TruthRep:
    index: int
    set_index: int
    start_s: float
    peak_s: float
    end_s: float
    peak_hip_flexion_deg: float
    hold_s: float
    partial: bool
    compensation_deg: float
    compensation_onset_hip_deg: float | None
    compensated: bool
    start_pelvic_tilt_deg: float = 0.0
    peak_pelvic_tilt_deg: float = 0.0
    compensation_yxz_deg: float = 0.0  # the same measure on pelvic_tilt_yxz_deg
    cut_by_gap: bool = False
    gap_s: float = 0.0
    longest_gap_s: float = 0.0
    peak_in_gap: bool = False


@dataclass(frozen=True, slots=True)
class TruthGap:
    """A run of samples one sensor did not deliver (true session time, like tracker.raw.Gap)."""

    sensor: str
    start_s: float  # the last delivered sample before (the first due sample when none was before)
    end_s: float  # the first delivered sample after (the session's end when none came)
    samples_lost: int
    cause: str  # "dropout" | "packet_loss"
    reported: bool  # also in RawSession.gaps


@dataclass(frozen=True, slots=True)
class SensorTruth:
    """How one virtual sensor was mounted and clocked, and its own timestamps."""

    sensor: str
    rate_hz: float
    misplacement_rotvec_deg: tuple[float, float, float]
    misplacement_deg: float
    mount_quat_wxyz: tuple[float, float, float, float]  # actual sensor frame in the segment frame
    lever_arm_m: tuple[float, float, float]  # position in the segment frame: thigh from the hip joint
    # centre, pelvis from the midpoint of the hip joint centres
    clock_offset_us: int  # sensor clock reading at session t = 0
    clock_drift_ppm: float  # sensor_time = offset + (1 + drift·1e-6)·t
    alignment_offset_error_s: float  # the recorder's mapping error (offset part)
    alignment_drift_error_ppm: float
    gyr_bias_rad_s: tuple[float, float, float]  # constant part (a random walk rides on it)
    acc_bias_m_s2: tuple[float, float, float]
    gyr_scale: tuple[float, float, float]
    acc_scale: tuple[float, float, float]
    samples_lost: int
    sensor_time_us: np.ndarray = field(repr=False)  # int64, each delivered sample, sensor clock
    t_true_s: np.ndarray = field(repr=False)  # the true session time of each delivered sample
    quat_world_wxyz: np.ndarray | None = field(default=None, repr=False)  # exact orientation (not in JSON)
    #: the exercised hip joint centre seen from the sensor, in the sensor frame (m) — the lever arm a
    #: joint-centre method estimates (for the bone-fixed mount; soft tissue turns the sensor about it)
    hip_centre_in_sensor_m: tuple[float, float, float] | None = None
    soft_tissue_max_deg: float = 0.0  # largest rotation of the sensor relative to its bone
    #: |local magnetic disturbance| (µT) at each delivered sample (with_magnetometer; not in JSON)
    mag_disturbance_ut: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Truth:
    exercise: str
    side: str
    seed: int
    compensation_threshold_deg: float
    calibration_start_s: float
    calibration_end_s: float
    duration_s: float
    t_s: np.ndarray = field(repr=False)
    hip_flexion_deg: np.ndarray = field(repr=False)
    pelvic_tilt_deg: np.ndarray = field(repr=False)
    pelvic_obliquity_deg: np.ndarray = field(repr=False)
    pelvic_rotation_deg: np.ndarray = field(repr=False)
    hip_abduction_deg: np.ndarray = field(repr=False)
    hip_rotation_deg: np.ndarray = field(repr=False)
    heading_deg: np.ndarray = field(repr=False)
    pelvic_tilt_yxz_deg: np.ndarray | None = field(default=None, repr=False)
    reps: tuple[TruthRep, ...] = ()
    sets: tuple[tuple[float, float], ...] = ()  # (start_s, end_s) of each set
    turns_deg: tuple[float, ...] = ()
    sensors: dict[str, SensorTruth] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    gaps: tuple[TruthGap, ...] = ()
    dropouts: tuple[PlannedHole, ...] = ()
    quiet_stands: tuple[tuple[float, float], ...] = ()
    anatomy: dict[str, Any] = field(default_factory=dict)

    @property
    def rep_count(self) -> int:
        return len(self.reps)

    def angles_frame(self) -> pd.DataFrame:
        """``t, hip_flexion_deg, pelvic_tilt_deg`` — the layout of ``rehab analyze --angles-out``."""
        return pd.DataFrame(
            {"t": self.t_s, "hip_flexion_deg": self.hip_flexion_deg, "pelvic_tilt_deg": self.pelvic_tilt_deg}
        )

    def reps_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(r) for r in self.reps])

    # ------------------------------------------------------------------ JSON
    def to_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": "rehab-simulation-truth", "version": 2}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in ("reps", "gaps", "dropouts"):
                out[f.name] = [asdict(r) for r in v]
            elif f.name == "sensors":
                out["sensors"] = {k: _sensor_to_json(s) for k, s in v.items()}
            elif v is None:
                out[f.name] = None
            elif isinstance(v, np.ndarray):
                out[f.name] = _round_list(v, 6 if f.name == "t_s" else 4)
            elif isinstance(v, tuple):
                out[f.name] = [list(x) if isinstance(x, tuple) else x for x in v]
            else:
                out[f.name] = v
        return out

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        text = json.dumps(self.to_json_dict(), separators=(",", ":"))
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_json(cls, text_or_path: str | os.PathLike[str]) -> Truth:
        """Load from a JSON string or a file path."""
        if isinstance(text_or_path, os.PathLike) or not str(text_or_path).lstrip().startswith("{"):
            text = Path(text_or_path).read_text()
        else:
            text = str(text_or_path)
        d = json.loads(text)
        kw: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in d:
                continue
            v = d[f.name]
            if f.name == "reps":
                kw["reps"] = tuple(TruthRep(**r) for r in v)
            elif f.name == "gaps":
                kw["gaps"] = tuple(TruthGap(**g) for g in v)
            elif f.name == "dropouts":
                kw["dropouts"] = tuple(PlannedHole(**h) for h in v)
            elif f.name == "sensors":
                kw["sensors"] = {k: _sensor_from_json(s) for k, s in v.items()}
            elif f.name in ("sets", "quiet_stands"):
                kw[f.name] = tuple(tuple(x) for x in v)
            elif f.name == "turns_deg":
                kw[f.name] = tuple(v)
            elif isinstance(v, list):
                kw[f.name] = np.asarray(v, dtype=np.float64)
            else:
                kw[f.name] = v
        return cls(**kw)


def _round_list(a: np.ndarray, digits: int) -> list[Any]:
    if a.dtype.kind in "iu":
        return a.tolist()
    return np.round(a, digits).tolist()


def _sensor_to_json(s: SensorTruth) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(s):
        v = getattr(s, f.name)
        if f.name in ("quat_world_wxyz", "mag_disturbance_ut"):
            continue
        if isinstance(v, np.ndarray):
            out[f.name] = _round_list(v, 7)
        elif isinstance(v, tuple):
            out[f.name] = list(v)
        else:
            out[f.name] = v
    return out


def _sensor_from_json(d: dict[str, Any]) -> SensorTruth:
    kw: dict[str, Any] = {}
    for f in fields(SensorTruth):
        if f.name not in d:
            continue
        v = d[f.name]
        if f.name == "sensor_time_us":
            kw[f.name] = np.asarray(v, dtype=np.int64)
        elif f.name == "t_true_s":
            kw[f.name] = np.asarray(v, dtype=np.float64)
        elif isinstance(v, list):
            kw[f.name] = tuple(v)
        else:
            kw[f.name] = v
    return SensorTruth(**kw)
