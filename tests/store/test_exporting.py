"""CSV exports: files, columns, exact numbers, and spreadsheet formula neutralisation."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from store import Store
from store.exporting import (
    ANGLES_COLUMNS,
    PATIENT_TABLES,
    export_patient,
    export_session,
    neutralise,
)
from tracker.rawcsv import read_raw_csv
from tracker.results import Rep

from .conftest import T0


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_neutralise_cell() -> None:
    for bad in ("=1+1", "+1", "-cmd", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(bad) == "'" + bad
    assert neutralise("Alice") == "Alice" and neutralise(-12.5) == -12.5 and neutralise(None) is None


def test_export_session_files_and_values(store: Store, clinic: dict, analysis_factory, raw_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    evil = store.create_user(
        "evil", "evil-pw-1234", role="patient", display_name="=HYPERLINK(\"http://x\",\"y\")",
        therapist_id=clinic["therapist"].id,
    )  # fmt: skip
    analysis = analysis_factory()
    sid = store.save_session(evil.id, analysis, raw_factory(duration_s=3), started_at=T0)
    store.set_pain_report(sid, pain_before=4, pain_after=3, note="@SUM(1+1)")
    out = export_session(store, sid, tmp_path / "out")
    assert set(out.files) == {"raw", "angles", "reps", "summary"}
    # raw CSV is the exchange format and reads back as the stored raw
    raw_back = read_raw_csv(out.files["raw"])
    stored = store.load_raw(sid)
    np.testing.assert_array_equal(raw_back.thigh.acc_m_s2, stored.thigh.acc_m_s2)
    np.testing.assert_array_equal(raw_back.pelvis.t_s, stored.pelvis.t_s)
    # angles: documented columns, floats to the sensors' resolution (µs, 0.01°)
    angles = pd.read_csv(out.files["angles"])
    assert list(angles.columns) == ANGLES_COLUMNS
    pd.testing.assert_frame_equal(angles, analysis.angles, check_exact=False, atol=0.005, rtol=0)
    np.testing.assert_allclose(angles["t"], analysis.angles["t"], atol=5e-7, rtol=0)
    # reps: every Rep field (sets numbered from 1), numbers stay numbers (negative degrees are not text)
    reps = pd.read_csv(out.files["reps"])
    assert reps["compensation_deg"].dtype == np.float64 and (reps["compensation_deg"] < 0).all()
    back = [
        Rep(**{("set_index" if k == "set" else k): (None if k == "compensation_onset_hip_deg" and pd.isna(v)
                                                     else v - 1 if k == "set" else v) for k, v in row.items()}
               | {"low_confidence_reason": "" if pd.isna(row["low_confidence_reason"]) else row["low_confidence_reason"]})
        for row in reps.to_dict("records")
    ]  # fmt: skip
    for got, rep in zip(back, analysis.reps, strict=True):
        assert (got.index, got.set_index, got.partial, got.compensation) == (rep.index, rep.set_index, rep.partial, rep.compensation)
        assert abs(got.peak_hip_flexion_deg - rep.peak_hip_flexion_deg) <= 0.005 and abs(got.hold_s - rep.hold_s) <= 5e-7
    # summary: formula-like text neutralised, numbers untouched
    (summary,) = _rows(out.files["summary"])
    assert summary["patient_display_name"] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert summary["pain_note"] == "'@SUM(1+1)"
    assert float(summary["rom_deg"]) == round(analysis.summary.rom_deg, 2)
    assert summary["started_at"] == "2026-03-02T09:00:00+00:00"
    assert summary["pain_before"] == "4" and summary["calibration_flags"] == "pelvis_tilted"


def test_export_patient_tables(store: Store, clinic: dict, analysis_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    alice = clinic["alice"]
    store.update_user(alice.id, display_name="-2+3")
    rx = store.add_prescription(alice.id, "hip_extension", "right", sets=2, reps=8, target_rom_deg=-15.0, stage="+1")
    ids = [store.save_session(alice.id, analysis_factory(seed=i), None, started_at=T0 + dt.timedelta(days=i)) for i in range(3)]
    store.set_pain_report(ids[1], pain_after=2, note="=cmd|' /C calc'!A0")
    store.suggest_progression(rx.id, "floor", reason="@reason")
    out = export_patient(store, alice.id, tmp_path / "p")
    assert tuple(out.files) == PATIENT_TABLES
    (patient,) = _rows(out.files["patient"])
    assert patient["display_name"] == "'-2+3" and patient["therapist_username"] == "thera"
    rx_rows = pd.read_csv(out.files["prescriptions"])
    assert rx_rows["target_rom_deg"].tolist() == [-15.0]  # a negative number stays a number
    assert rx_rows["stage"].tolist() == ["'+1"]
    sessions = pd.read_csv(out.files["sessions"])
    assert sessions["session_id"].tolist() == ids and len(sessions) == 3
    reps = pd.read_csv(out.files["reps"])
    assert len(reps) == 3 * 6 and set(reps.session_id) == set(ids)
    assert reps["peak_hip_flexion_deg"].dtype == np.float64
    pain = _rows(out.files["pain"])
    assert [p["note"] for p in pain] == ["'=cmd|' /C calc'!A0"]
    prog = _rows(out.files["progression"])
    assert prog[0]["reason"] == "'@reason" and prog[0]["to_stage"] == "floor"


def test_in_memory_exports_match_files(store: Store, clinic: dict, analysis_factory, raw_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from store.exporting import patient_csv_files, session_csv_files

    pid = clinic["alice"].id
    sid = store.save_session(pid, analysis_factory(), raw_factory(duration_s=2), started_at=T0)
    written = export_session(store, sid, tmp_path / "s").files
    in_memory = session_csv_files(store, sid)
    assert set(in_memory) == set(written)
    for table, (name, data) in in_memory.items():
        assert name == written[table].name and data == written[table].read_bytes(), table
    written_p = export_patient(store, pid, tmp_path / "p").files
    for table, (name, data) in patient_csv_files(store, pid).items():
        assert name == written_p[table].name and data == written_p[table].read_bytes(), table




@given(st.text(alphabet=st.sampled_from("ab=+-@'\t\r\n,\" "), max_size=30) | st.text(max_size=30),
       st.floats(allow_nan=False, allow_infinity=False))
def test_neutralised_frames_never_start_a_formula_on_any_line(text: str, number: float) -> None:
    import io
    import re

    from store.exporting import FORMULA_PREFIXES, csv_bytes, neutralise_frame

    df = pd.DataFrame({"text": [text], "number": [number]})
    out = neutralise_frame(df)
    cell = str(out.text.iloc[0])
    assert not any(line.startswith(FORMULA_PREFIXES) for line in re.split(r"\r\n|\r|\n", cell) if line != "\r")
    assert not cell.startswith(FORMULA_PREFIXES)
    assert cell.replace("'", "") == text.replace("'", "")  # only quotes were added
    assert out.number.iloc[0] == number and out.number.dtype == np.float64
    # and the file keeps the cell whole: one row, whatever CR/LF/quotes/commas it holds
    rows = list(csv.reader(io.StringIO(csv_bytes(df).decode(), newline="")))
    assert len(rows) == 2 and rows[1][0] == cell


def test_a_carriage_return_in_a_name_cannot_start_a_formula_row(
    store: Store, clinic: dict, analysis_factory, raw_factory, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Issue 16.3: "Alex\\r=cmd|' /C calc'!A0" was written unquoted; spreadsheets and csv.reader
    started a new row at the CR whose first cell was the raw formula."""
    from store.exporting import FORMULA_PREFIXES

    evil = store.create_user(
        "alex", "alex-pw-12345", role="patient", display_name="Alex\r=cmd|' /C calc'!A0",
        therapist_id=clinic["therapist"].id,
    )  # fmt: skip
    sid = store.save_session(evil.id, analysis_factory(), raw_factory(duration_s=2), started_at=T0)
    store.set_pain_report(sid, pain_after=2, note="fine\n@SUM(1+1)\r\n-2+3")
    summary = export_session(store, sid, tmp_path / "s").files["summary"]
    patient = export_patient(store, evil.id, tmp_path / "p").files["patient"]
    for path in (summary, patient):
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
        assert len(rows) == 2, rows  # header + one row: no row was injected
        for cell in rows[1]:
            assert not any(line.startswith(FORMULA_PREFIXES) for line in cell.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    (row,) = _rows(summary)
    assert row["patient_display_name"] == "Alex\r'=cmd|' /C calc'!A0"
    assert row["pain_note"] == "fine\n'@SUM(1+1)\r\n'-2+3"
    assert pd.read_csv(summary).shape[0] == 1
