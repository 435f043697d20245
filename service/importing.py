"""Import a raw-session CSV recorded elsewhere: validate, analyse, store — or store nothing.

The whole file is parsed and validated (tracker.rawcsv, errors carry the line and reason) before
anything is written, and the raw samples are snapped to the storage grid *before* analysis, so the
stored raw file reproduces the stored analysis exactly (export → re-import gives identical reps and
angles).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from store.raw_files import quantize_raw
from store.repository import Store
from tracker.conventions import (
    DEFAULT_COMPENSATION_THRESHOLD_DEG,
    check_exercise,
    check_side,
)
from tracker.raw import RawSession
from tracker.rawcsv import read_raw_csv
from tracker.results import SessionAnalysis


def read_for_import(path: Path) -> RawSession:
    """Parse + validate (raises tracker.rawcsv.RawCsvError with line and reason) and snap to the grid."""
    return quantize_raw(read_raw_csv(path))


def sensors_info(raw: RawSession, source_name: str) -> dict[str, object]:
    """What is known about the sensors of an imported file (stored in ``sessions.sensors``)."""
    info: dict[str, object] = {"file": source_name}
    for s in raw.streams():
        rate = s.rate_hz
        info[s.sensor] = {
            "samples": len(s),
            "rate_hz": round(rate, 3) if math.isfinite(rate) else None,
            "magnetometer": s.mag_ut is not None,
            "quaternion": s.quat is not None,
        }
    return info


def threshold_for(store: Store, patient_id: int, exercise: str, side: str) -> float:
    """The patient's active prescription threshold for this drill, else the documented default."""
    for rx in store.list_prescriptions(patient_id):
        if rx.exercise == exercise and rx.side == side:
            return rx.compensation_threshold_deg
    return DEFAULT_COMPENSATION_THRESHOLD_DEG


def analyse_and_store(
    store: Store,
    raw: RawSession,
    *,
    patient_id: int,
    exercise: str,
    side: str,
    started_at: dt.datetime,
    source_name: str,
    threshold_deg: float | None = None,
    source: str = "imported",
) -> tuple[int, SessionAnalysis]:
    from tracker.pipeline import analyze_session  # the processing core

    check_exercise(exercise)
    check_side(side)
    store.get_user(patient_id)  # fail before the (slow) analysis if the patient does not exist
    threshold = threshold_deg if threshold_deg is not None else threshold_for(store, patient_id, exercise, side)
    analysis = analyze_session(raw, exercise, side, threshold_deg=threshold)
    session_id = store.save_session(
        patient_id,
        analysis,
        raw,
        started_at=started_at,
        source=source,
        sensors=sensors_info(raw, source_name),
    )
    return session_id, analysis
