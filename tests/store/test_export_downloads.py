"""Downloads as people use them: one zip per session or patient, sets numbered from 1 like reps, and
derived floats rounded to the sensors' resolution (no 0.9757900000000002)."""

from __future__ import annotations

import io
import re
import zipfile

import pandas as pd

from store import Store
from store.exporting import EXPORT_DECIMALS, export_decimals, patient_zip_bytes, session_csv_files, session_zip_bytes

from .conftest import T0

#: A float with more digits than the column's resolution (what float arithmetic leaves behind).
LONG_FLOAT = re.compile(r"(?<![\w.])-?\d+\.\d{7,}(?![\w.])")


def test_session_zip_holds_every_csv_and_sets_start_at_one(store: Store, clinic: dict, analysis_factory, raw_factory) -> None:  # type: ignore[no-untyped-def]
    sid = store.save_session(clinic["alice"].id, analysis_factory(), raw_factory(duration_s=2), started_at=T0)
    with zipfile.ZipFile(io.BytesIO(session_zip_bytes(store, sid))) as zf:
        names = sorted(zf.namelist())
        assert names == sorted(f"session-{sid}-{t}.csv" for t in ("raw", "angles", "reps", "summary"))
        assert {n: zf.read(n) for n in names} == dict(session_csv_files(store, sid).values())
        reps = pd.read_csv(zf.open(f"session-{sid}-reps.csv"))
    assert "set_index" not in reps.columns
    assert reps["set"].tolist() == [r.set_index + 1 for r in store.load_reps(sid)] and reps["set"].min() == 1


def test_derived_floats_are_rounded_to_the_resolution(store: Store, clinic: dict, analysis_factory) -> None:  # type: ignore[no-untyped-def]
    sid = store.save_session(clinic["alice"].id, analysis_factory(), None, started_at=T0)
    for table, (_, data) in session_csv_files(store, sid, with_raw=False).items():
        text = data.decode()
        assert not LONG_FLOAT.search(text), (table, LONG_FLOAT.search(text))
    assert export_decimals("hip_flexion_deg") == EXPORT_DECIMALS["deg"] == 2
    assert export_decimals("t") == export_decimals("hold_s") == 6  # µs clocks
    assert export_decimals("compensation_rate") == 4 and export_decimals("patient_id") is None


def test_patient_zip_has_the_history_and_every_finished_session(store: Store, clinic: dict, analysis_factory) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    alice = clinic["alice"]
    ids = [store.save_session(alice.id, analysis_factory(seed=i), None, started_at=T0 + dt.timedelta(days=i)) for i in range(2)]
    store.begin_session(alice.id, "knee_raise", "left", started_at=T0 + dt.timedelta(days=3))  # still recording: left out
    with zipfile.ZipFile(io.BytesIO(patient_zip_bytes(store, alice.id))) as zf:
        names = set(zf.namelist())
        reps = pd.read_csv(zf.open(f"patient-{alice.id}-reps.csv"))
    assert {f"patient-{alice.id}-{t}.csv" for t in ("patient", "sessions", "reps", "pain", "progression", "prescriptions")} <= names
    assert {n for n in names if n.startswith("sessions/")} == {
        f"sessions/session-{sid}-{t}.csv" for sid in ids for t in ("angles", "reps", "summary")
    }
    assert reps["set"].min() == 1
