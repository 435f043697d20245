"""Database rows ↔ the records and tracker results the store hands out (NaN ↔ NULL, Rep.index ↔ rep_index)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from store.errors import InvalidValueError
from store.models import (
    AssessmentRow,
    DeviceRow,
    PainReportRow,
    PrescriptionRow,
    ProgressionDecisionRow,
    RepRow,
    SessionRow,
    UserRow,
)
from store.records import (
    Assessment,
    Device,
    PainReport,
    Prescription,
    ProgressionDecision,
    SessionRecord,
    User,
    nan_if_none,
    none_if_nan,
)
from tracker.results import Calibration, Rep, SensorCalibration

REP_FIELDS = [f.name for f in fields(Rep)]
REP_FLOATS = [
    "start_s", "peak_s", "end_s", "peak_hip_flexion_deg", "hold_s", "compensation_deg",
    "start_hip_flexion_deg", "range_deg", "pelvic_tilt_change_deg", "duration_s", "confidence",
]  # fmt: skip
REP_TEXTS = ["low_confidence_reason"]
SUMMARY_FLOATS = [
    "rom_deg", "mean_peak_hip_flexion_deg", "compensation_rate", "mean_rep_duration_s",
    "mean_hold_s", "duration_s",
]  # fmt: skip
SUMMARY_INTS = ["rep_count", "full_rep_count", "partial_rep_count", "compensation_count", "set_count"]


def user(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        therapist_id=row.therapist_id,
        active=row.active,
        created_at=row.created_at,
    )


def prescription(row: PrescriptionRow) -> Prescription:
    return Prescription(**{f.name: getattr(row, f.name) for f in fields(Prescription)})


def session(row: SessionRow) -> SessionRecord:
    values = {f.name: getattr(row, f.name) for f in fields(SessionRecord)}
    for name in SUMMARY_FLOATS:
        values[name] = nan_if_none(values[name])
    values["sensor_issues"] = list(values["sensor_issues"] or [])
    values["sensor_flagged"] = bool(values["sensor_flagged"])
    return SessionRecord(**values)


def pain(row: PainReportRow) -> PainReport:
    return PainReport(**{f.name: getattr(row, f.name) for f in fields(PainReport)})


def decision(row: ProgressionDecisionRow) -> ProgressionDecision:
    values = {f.name: getattr(row, f.name) for f in fields(ProgressionDecision)}
    values["evidence"] = list(values["evidence"] or [])
    values["kind"] = values["kind"] or "stage"
    return ProgressionDecision(**values)


def assessment(row: AssessmentRow) -> Assessment:
    values = {f.name: getattr(row, f.name) for f in fields(Assessment)}
    values["answers"] = dict(values["answers"] or {})
    return Assessment(**values)


def calibration_from_json(data: Mapping[str, Any]) -> Calibration:
    return Calibration(
        stand_start_s=nan_if_none(data["stand_start_s"]),
        stand_duration_s=nan_if_none(data["stand_duration_s"]),
        sensors=tuple(
            SensorCalibration(
                sensor=s["sensor"],
                misplacement_deg=nan_if_none(s["misplacement_deg"]),
                stand_accel_norm_m_s2=nan_if_none(s["stand_accel_norm_m_s2"]),
                stand_gyro_rms_rad_s=nan_if_none(s["stand_gyro_rms_rad_s"]),
            )
            for s in data["sensors"]
        ),
        flexion_axis_confidence=nan_if_none(data["flexion_axis_confidence"]),
        quality=data["quality"],
        flags=tuple(data.get("flags", ())),
    )


def rep_values(session_id: int, rep: Rep) -> dict[str, Any]:
    conf = rep.confidence
    if conf is None or not (math.isnan(conf) or 0.0 <= conf <= 1.0):
        raise InvalidValueError(f"rep {rep.index}: confidence {conf!r} is outside 0..1 (NaN = not assessed)")
    if not isinstance(rep.low_confidence_reason, str):
        raise InvalidValueError(f"rep {rep.index}: low_confidence_reason {rep.low_confidence_reason!r} is not text")
    values: dict[str, Any] = {"session_id": session_id, "rep_index": int(rep.index)}
    for name in REP_FIELDS:
        if name == "index":
            continue
        v = getattr(rep, name)
        if name in REP_FLOATS or name == "compensation_onset_hip_deg":
            values[name] = none_if_nan(v)
        elif name in REP_TEXTS:
            values[name] = v
        elif name in ("partial", "compensation"):
            values[name] = bool(v)
        else:
            values[name] = int(v)
    return values


def rep_from_row(row: RepRow) -> Rep:
    kwargs: dict[str, Any] = {"index": row.rep_index}
    for name in REP_FIELDS:
        if name == "index":
            continue
        v = getattr(row, name)
        kwargs[name] = nan_if_none(v) if name in REP_FLOATS else v
    return Rep(**kwargs)


def device(row: DeviceRow) -> Device:
    return Device(**{f.name: getattr(row, f.name) for f in fields(Device)})
