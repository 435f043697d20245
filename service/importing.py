"""Import raw-session CSVs recorded elsewhere: validate, analyse, store — all of them or none.

Every file is parsed and validated (tracker.rawcsv, errors carry the line and reason; values outside
what any supported sensor can measure are refused, naming line and column) and analysed before
anything is written, and the raw samples are snapped to the storage grid *before* analysis, so the
stored raw file reproduces the stored analysis exactly (export → re-import gives identical reps and
angles). A file's identity is its content: the same bytes imported again for the same patient have
the same session uid (`import_uid`), so a second import is recognised and skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from pathlib import Path

from store.raw_files import quantize_raw
from store.repository import Store
from tracker.conventions import (
    DEFAULT_COMPENSATION_THRESHOLD_DEG,
    GRAVITY_M_S2,
    check_exercise,
    check_side,
)
from tracker.raw import RawSession
from tracker.rawcsv import ACC_COLUMNS, GYR_COLUMNS, MAG_COLUMNS, QUAT_COLUMNS, Limits, read_raw_csv
from tracker.results import SessionAnalysis

#: A session lasts at most a day; sample times before -1 min are not a session clock.
MAX_SESSION_S = 86_400.0
#: Magnetometers of wearable IMUs saturate well below this (AK09918: ±4 912 µT).
MAX_MAG_UT = 5_000.0


def import_limits() -> Limits:
    """What a value in an imported file may be: within the widest full scale of every supported
    sensor profile (sensors/profiles) — 1e300 m/s² is refused here, not as a "quiet stand" later."""
    from sensors.profiles import PROFILES, get_profile

    profiles = [get_profile(name) for name in PROFILES]
    acc = max(max(p.accel_ranges_g, default=p.default_accel_range_g) for p in profiles) * GRAVITY_M_S2
    gyr = math.radians(max(max(p.gyro_ranges_dps, default=p.default_gyro_range_dps) for p in profiles))
    return {
        "t": (-60.0, MAX_SESSION_S),
        **dict.fromkeys(ACC_COLUMNS, (-acc, acc)),
        **dict.fromkeys(GYR_COLUMNS, (-gyr, gyr)),
        **dict.fromkeys(MAG_COLUMNS, (-MAX_MAG_UT, MAX_MAG_UT)),
        **dict.fromkeys(QUAT_COLUMNS, (-1.001, 1.001)),
    }


def read_for_import(path: Path) -> RawSession:
    """Parse + validate (raises tracker.rawcsv.RawCsvError with line and reason, including values
    outside `import_limits`) and snap to the grid."""
    return quantize_raw(read_raw_csv(path, limits=import_limits()))


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes: what "the same file" means for duplicate detection."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def import_uid(patient_id: int, digest: str) -> str:
    """The session uid of a file imported for a patient: the same content → the same uid."""
    return "imp-" + hashlib.sha256(f"{patient_id}:{digest}".encode()).hexdigest()[:56]


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


def analyse_for_import(
    store: Store, raw: RawSession, *, patient_id: int, exercise: str, side: str, threshold_deg: float | None = None
) -> SessionAnalysis:
    """The analysis an import would store (nothing is written)."""
    from tracker.pipeline import analyze_session  # the processing core

    check_exercise(exercise)
    check_side(side)
    store.get_user(patient_id)  # fail before the (slow) analysis if the patient does not exist
    threshold = threshold_deg if threshold_deg is not None else threshold_for(store, patient_id, exercise, side)
    return analyze_session(raw, exercise, side, threshold_deg=threshold)


def store_import(
    store: Store,
    raw: RawSession,
    analysis: SessionAnalysis,
    *,
    patient_id: int,
    started_at: dt.datetime,
    source_name: str,
    digest: str | None = None,
    uid: str | None = None,
    source: str = "imported",
) -> int:
    """Store one analysed file; ``uid`` (e.g. `import_uid`) makes a second copy a DuplicateError."""
    info = sensors_info(raw, source_name)
    if digest is not None:
        info["sha256"] = digest
    return store.save_session(patient_id, analysis, raw, started_at=started_at, source=source, sensors=info, uid=uid)


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
    """Analyse and store one file (the command line imports several all-or-none: see rehab import)."""
    analysis = analyse_for_import(
        store, raw, patient_id=patient_id, exercise=exercise, side=side, threshold_deg=threshold_deg
    )
    session_id = store_import(
        store, raw, analysis, patient_id=patient_id, started_at=started_at, source_name=source_name, source=source
    )
    return session_id, analysis
