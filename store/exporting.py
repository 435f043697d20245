"""CSV exports of one session (raw, angles, reps, summary) and of a patient's whole history.

Column meanings and units: docs/store.md. Text a spreadsheet would execute — any *line* of a text
cell starting with ``= + - @``, tab or CR — gets a ``'`` in front; numeric columns are never touched,
so −12.5° stays the number -12.5. Lines end with CRLF (RFC 4180), so every field containing CR, LF,
a quote or a comma is quoted: a CR inside a name cannot start a new row. Derived floats are rounded
to the sensors' resolution (``EXPORT_DECIMALS``: no ``0.9757900000000002``) and written with
Python's shortest repr; the raw-session CSV keeps the stored samples as they are. Sets are numbered
from 1, like reps (column ``set``). Times are ISO 8601 UTC; booleans are ``True``/``False``.
``session_zip_bytes`` / ``patient_zip_bytes`` put every CSV of a session or a patient in one zip.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from store.records import PainReport, Prescription, ProgressionDecision, SessionRecord
from store.repository import Store
from tracker.rawcsv import write_raw_csv
from tracker.results import Rep, SessionSummary

#: Leading characters that make Excel/LibreOffice/Sheets evaluate a cell (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: The start of the cell and of every line in it, where a formula prefix follows.
_FORMULA_LINE_START = re.compile(r"(?:^|(?<=[\r\n]))(?=[=+\-@\t\r])")
#: CSV line ends: with CRLF as the terminator the csv writer quotes every field holding CR or LF.
LINE_TERMINATOR = "\r\n"
ANGLES_COLUMNS = ["t", "hip_flexion_deg", "pelvic_tilt_deg", "valid"]
REP_COLUMNS = [f.name for f in fields(Rep)]
SUMMARY_FIELDS = [f.name for f in fields(SessionSummary)]

Step = Callable[[str], None]

#: Decimals kept in exported derived values, by unit (column-name suffix): the finest sensor any
#: profile supports sets them — clocks tick in µs (6 decimals of a second), the finest angle output
#: is 0.0055° (WitMotion; 2 decimals of a degree), rates and confidences are shares (4 decimals).
EXPORT_DECIMALS: dict[str, int] = {"deg": 2, "s": 6, "rate": 4, "confidence": 4, "pct": 2, "m_s2": 4, "rad_s": 6}
_UNIT_OF = re.compile(r"(?:^|_)(deg|s|rate|confidence|pct|m_s2|rad_s)$")


@dataclass(frozen=True, slots=True)
class ExportedFiles:
    """What an export wrote, by table name."""

    files: dict[str, Path]


def neutralise(value: Any) -> Any:
    """Text with ``'`` before a formula prefix at the start of each of its lines; other values as given."""
    if isinstance(value, str):
        return _FORMULA_LINE_START.sub("'", value)
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` with formula-like text neutralised in text columns only."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_object_dtype(out[col].dtype) or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = out[col].map(neutralise, na_action="ignore")
    return out


def _iso(series: pd.Series) -> pd.Series:
    s = pd.to_datetime(series, utc=True)
    return s.map(lambda v: v.isoformat() if not pd.isna(v) else None).astype(object)


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    for col in df.columns:
        if isinstance(df[col].dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(df[col].dtype):
            df[col] = _iso(df[col])
    return neutralise_frame(df)


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The export CSV of ``df`` in memory (for ``st.download_button``)."""
    return _prepare(df).to_csv(index=False, lineterminator=LINE_TERMINATOR).encode("utf-8")


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    _prepare(df).to_csv(path, index=False, lineterminator=LINE_TERMINATOR)
    return path


def _noop(_: str) -> None:
    pass


def export_decimals(column: str) -> int | None:
    """Decimals an exported float column keeps (``t`` is seconds), or None to leave it as is."""
    if column == "t":
        return EXPORT_DECIMALS["s"]
    m = _UNIT_OF.search(column)
    return EXPORT_DECIMALS[m.group(1)] if m else None


def rounded_for_export(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` with every float column rounded to its unit's resolution (``EXPORT_DECIMALS``)."""
    out = df.copy()
    for col in out.columns:
        decimals = export_decimals(str(col))
        if decimals is not None and pd.api.types.is_float_dtype(out[col].dtype):
            out[col] = out[col].round(decimals)
    return out


def sets_from_one(df: pd.DataFrame) -> pd.DataFrame:
    """The rep table with sets numbered from 1 like reps (``set_index`` 0-based → ``set``)."""
    if "set_index" not in df.columns:
        return df
    return df.assign(set_index=df["set_index"] + 1).rename(columns={"set_index": "set"})


def for_export(df: pd.DataFrame) -> pd.DataFrame:
    return rounded_for_export(sets_from_one(df))


def summary_frame(store: Store, record: SessionRecord) -> pd.DataFrame:
    """The one-row summary CSV of a session (identity, context, summary metrics, pain)."""
    patient = store.get_user(record.patient_id)
    pain = store.get_pain_report(record.id)
    cal = record.calibration
    row: dict[str, Any] = {
        "session_id": record.id,
        "patient_id": patient.id,
        "patient_username": patient.username,
        "patient_display_name": patient.display_name,
        "exercise": record.exercise,
        "side": record.side,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "status": record.status,
        "source": record.source,
        "stage": record.stage,
        "target_rom_deg": record.target_rom_deg,
        "prescribed_sets": record.prescribed_sets,
        "prescribed_reps": record.prescribed_reps,
        "threshold_deg": record.threshold_deg,
        "calibration_quality": record.calibration_quality,
        "flexion_axis_confidence": cal.get("flexion_axis_confidence"),
        "calibration_flags": ";".join(cal.get("flags", [])),
        "engine_version": record.engine_version,
        **{k: getattr(record, k) for k in SUMMARY_FIELDS},
        "pain_before": pain.pain_before if pain else None,
        "pain_after": pain.pain_after if pain else None,
        "pain_note": pain.note if pain else None,
        "sensors": json.dumps(record.sensors, sort_keys=True),
    }
    df = pd.DataFrame([row])
    for c in ("prescribed_sets", "prescribed_reps", "pain_before", "pain_after"):
        df[c] = df[c].astype("Int64")
    for c in ("target_rom_deg", "flexion_axis_confidence"):
        df[c] = pd.to_numeric(df[c]).astype("float64")
    return df


def reps_frame(reps: list[Rep], session_id: int | None = None) -> pd.DataFrame:
    df = pd.DataFrame([asdict(r) for r in reps], columns=REP_COLUMNS)
    df["compensation_onset_hip_deg"] = pd.to_numeric(df["compensation_onset_hip_deg"]).astype("float64")
    if session_id is not None:
        df.insert(0, "session_id", session_id)
    return df


def angles_frame(angles: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in ANGLES_COLUMNS if c in angles.columns] + [c for c in angles.columns if c not in ANGLES_COLUMNS]
    return angles[cols]


def session_file_names(session_id: int) -> dict[str, str]:
    return {k: f"session-{session_id}-{k}.csv" for k in SESSION_TABLES}


SESSION_TABLES = ("raw", "angles", "reps", "summary")


def session_tables(store: Store, session_id: int) -> dict[str, pd.DataFrame]:
    """The angles, reps and summary tables of a session (the raw CSV is written by tracker.rawcsv)."""
    loaded = store.load_session(session_id, with_raw=False)
    return {
        "angles": for_export(angles_frame(loaded.analysis.angles)),
        "reps": for_export(reps_frame(loaded.analysis.reps)),
        "summary": for_export(summary_frame(store, loaded.record)),
    }


def session_csv_files(store: Store, session_id: int, *, with_raw: bool = True) -> dict[str, tuple[str, bytes]]:
    """Every session export in memory: table → (file name, CSV bytes). For the dashboard's downloads."""
    names = session_file_names(session_id)
    out: dict[str, tuple[str, bytes]] = {}
    if with_raw:
        raw = store.load_raw(session_id) if store.get_session(session_id).raw_path else None
        if raw is not None:
            with tempfile.TemporaryDirectory() as tmp:
                out["raw"] = (names["raw"], write_raw_csv(raw, Path(tmp) / names["raw"]).read_bytes())
    for table, df in session_tables(store, session_id).items():
        out[table] = (names[table], csv_bytes(df))
    return out


def export_session(store: Store, session_id: int, out_dir: Path, *, step: Step = _noop) -> ExportedFiles:
    """Write ``session-<id>-{raw,angles,reps,summary}.csv`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    record = store.get_session(session_id)
    names = session_file_names(session_id)
    files: dict[str, Path] = {}
    if record.raw_path is not None:
        step("raw")
        files["raw"] = write_raw_csv(store.load_raw(session_id), out_dir / names["raw"])
    for table, df in session_tables(store, session_id).items():
        step(table)
        files[table] = write_csv(df, out_dir / names[table])
    return ExportedFiles(files)


PATIENT_TABLES = ("patient", "prescriptions", "sessions", "reps", "pain", "progression")


def patient_tables(store: Store, patient_id: int, *, step: Step = _noop) -> dict[str, pd.DataFrame]:
    """A patient's whole history as tidy tables (one row per thing), keyed by ``PATIENT_TABLES``."""
    patient = store.get_user(patient_id)
    out: dict[str, pd.DataFrame] = {}
    step("patient")
    therapist = store.get_user(patient.therapist_id) if patient.therapist_id is not None else None
    out["patient"] = pd.DataFrame(
        [
            {
                "patient_id": patient.id,
                "username": patient.username,
                "display_name": patient.display_name,
                "therapist_username": therapist.username if therapist else None,
                "active": patient.active,
                "created_at": patient.created_at,
            }
        ]
    )
    step("prescriptions")
    out["prescriptions"] = pd.DataFrame(
        [asdict(p) for p in store.list_prescriptions(patient_id, active_only=False)],
        columns=[f.name for f in fields(Prescription)],
    )
    step("sessions")
    out["sessions"] = store.patient_history(patient_id)
    step("reps")
    out["reps"] = store.patient_reps(patient_id)
    step("pain")
    pain = pd.DataFrame(
        [asdict(p) for p in store.list_pain_reports(patient_id)], columns=[f.name for f in fields(PainReport)]
    )
    for c in ("pain_before", "pain_after"):
        pain[c] = pain[c].astype("Int64")
    out["pain"] = pain
    step("progression")
    out["progression"] = pd.DataFrame(
        [asdict(d) for d in store.list_progression_decisions(patient_id)],
        columns=[f.name for f in fields(ProgressionDecision)],
    )
    out["progression"]["evidence"] = out["progression"]["evidence"].map(lambda e: json.dumps(e, sort_keys=True))
    return {table: for_export(df) for table, df in out.items()}


def patient_csv_files(store: Store, patient_id: int) -> dict[str, tuple[str, bytes]]:
    """A patient's history exports in memory: table → (file name, CSV bytes)."""
    return {
        table: (f"patient-{patient_id}-{table}.csv", csv_bytes(df))
        for table, df in patient_tables(store, patient_id).items()
    }


def export_patient(store: Store, patient_id: int, out_dir: Path, *, step: Step = _noop) -> ExportedFiles:
    """Write ``patient-<id>-<table>.csv`` for every table in ``PATIENT_TABLES``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = patient_tables(store, patient_id, step=step)
    return ExportedFiles(
        {table: write_csv(df, out_dir / f"patient-{patient_id}-{table}.csv") for table, df in tables.items()}
    )


def _zip(files: dict[str, tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.values():
            zf.writestr(name, data)
    return buf.getvalue()


def session_zip_bytes(store: Store, session_id: int) -> bytes:
    """Every CSV of one session (raw, angles, reps, summary) in one zip."""
    return _zip(session_csv_files(store, session_id))


def patient_zip_bytes(store: Store, patient_id: int, *, with_sessions: bool = True) -> bytes:
    """A patient's history tables, and (``with_sessions``) every finished session's CSVs under
    ``sessions/``, in one zip."""
    files = dict(patient_csv_files(store, patient_id))
    if with_sessions:
        for rec in store.list_sessions(patient_id):
            if rec.status == "recording":
                continue
            for table, (name, data) in session_csv_files(store, rec.id).items():
                files[f"{rec.id}/{table}"] = (f"sessions/{name}", data)
    return _zip(files)
