"""Stored sessions follow the engine (issue 14, item 7) and carry per-rep confidence (item 5).

``Store.replace_analysis`` swaps an analysis atomically and keeps the session's identity;
``service.reanalysis`` / ``rehab reanalyze`` re-run the current engine on the stored raw samples.
Every test runs on a real SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from rehab.cli import app
from simulation import SimulationConfig, simulate
from store import InvalidValueError, NotFoundError, Store, db, quantize_raw
from store.exporting import export_session
from store.models import RepRow, SessionRow
from tracker import ENGINE_VERSION
from tracker.pipeline import analyze_session
from tracker.results import json_safe

from .conftest import T0, Interrupted, interrupt

runner = CliRunner()


def _old(analysis, version: str | None = "0"):  # type: ignore[no-untyped-def]
    """The same analysis as if an older engine had made it."""
    return dataclasses.replace(analysis, engine_version=version)


def _files(store: Store) -> list[str]:
    return sorted(p.name for p in (store.data_dir / "sessions").iterdir())


def _rep_rows(store: Store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(RepRow)).scalar_one()


def _reps_table(reps) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return pd.DataFrame([dataclasses.asdict(r) for r in reps])


# ------------------------------------------------------------------------------------ the store
def test_replace_analysis_swaps_the_numbers_and_keeps_the_session(
    store: Store, clinic: dict, analysis_factory, raw_factory  # type: ignore[no-untyped-def]
) -> None:
    pid = clinic["alice"].id
    first = _old(analysis_factory(n_reps=6, seed=1), None)
    sid = store.save_session(pid, first, raw_factory(duration_s=3), started_at=T0, uid="rec-1")
    store.set_pain_report(sid, pain_before=5, pain_after=2, note="stiff")
    before = store.get_session(sid)
    raw_before = store.load_raw(sid)
    assert before.engine_version is None and not before.on_current_engine
    other = store.save_session(pid, analysis_factory(seed=9), raw_factory(duration_s=2, seed=9), started_at=T0)
    other_files = store.get_session(other).raw_path

    second = analysis_factory(n_reps=4, seed=2, rom_deg=77.0)
    store.replace_analysis(sid, second)

    after = store.load_session(sid)
    rec = after.record
    assert (rec.id, rec.uid, rec.started_at, rec.ended_at, rec.patient_id) == (
        before.id, before.uid, before.started_at, before.ended_at, before.patient_id)
    assert rec.engine_version == ENGINE_VERSION and rec.on_current_engine
    assert rec.rep_count == 4 and rec.rom_deg == 77.0
    assert after.analysis.reps == second.reps
    pd.testing.assert_frame_equal(after.analysis.angles, second.angles)
    assert json_safe(after.analysis.calibration) == json_safe(second.calibration)  # NaN-safe
    assert after.analysis.engine_version == ENGINE_VERSION
    # the raw samples are the same bytes (hard-linked into the new directory, the old one removed)
    np.testing.assert_array_equal(after.raw.thigh.acc_m_s2, raw_before.thigh.acc_m_s2)
    np.testing.assert_array_equal(after.raw.pelvis.t_s, raw_before.pelvis.t_s)
    assert after.raw.gaps == raw_before.gaps
    assert rec.raw_path != before.raw_path and not store.files.absolute(before.raw_path).exists()
    assert os.stat(store.files.absolute(rec.raw_path)).st_nlink == 1
    assert store.clean_orphans(older_than_s=0) == []
    assert len(_files(store)) == 2 and store.get_session(other).raw_path == other_files
    assert store.get_pain_report(sid).note == "stiff"  # the patient's own report stays
    assert _rep_rows(store) == 4 + 6
    hist = store.patient_history(pid).set_index("session_id")
    assert hist.loc[sid, "engine_version"] == ENGINE_VERSION and hist.loc[sid, "rep_count"] == 4


@pytest.mark.parametrize("where", ["angles", "link", "reps", "publish", "commit"])
def test_an_interrupted_replace_leaves_the_old_analysis(
    where: str, store: Store, clinic: dict, analysis_factory, raw_factory, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    pid = clinic["alice"].id
    old = _old(analysis_factory(n_reps=5, seed=3))
    sid = store.save_session(pid, old, raw_factory(duration_s=2), started_at=T0)
    before = (store.get_session(sid), _files(store), _rep_rows(store))

    interrupt(where, monkeypatch)
    with pytest.raises(Interrupted):
        store.replace_analysis(sid, analysis_factory(n_reps=2, seed=4))
    monkeypatch.undo()
    assert (store.get_session(sid), _files(store), _rep_rows(store)) == before
    loaded = store.load_session(sid)
    assert loaded.analysis.reps == old.reps and loaded.record.engine_version == "0" and loaded.raw is not None
    pd.testing.assert_frame_equal(loaded.analysis.angles, old.angles)


def test_replace_analysis_refuses_what_it_cannot_replace(store: Store, clinic: dict, analysis_factory) -> None:  # type: ignore[no-untyped-def]
    pid = clinic["alice"].id
    recording = store.begin_session(pid, "knee_raise", "left", started_at=T0)
    with pytest.raises(InvalidValueError, match="still recording"):
        store.replace_analysis(recording, analysis_factory())
    sid = store.save_session(pid, analysis_factory(), None, started_at=T0)
    with pytest.raises(InvalidValueError, match="deep_squat"):
        store.replace_analysis(sid, analysis_factory(exercise="deep_squat"))
    with pytest.raises(NotFoundError):
        store.replace_analysis(999_999, analysis_factory())
    with pytest.raises(InvalidValueError, match="engine_version"):
        store.replace_analysis(sid, _old(analysis_factory(), "x" * 33))
    store.replace_analysis(sid, analysis_factory(n_reps=3))  # no raw file: only the angles move
    assert store.get_session(sid).raw_path is None and store.get_session(sid).rep_count == 3
    assert store.clean_orphans(older_than_s=0) == []


# ----------------------------------------------------------------------------- rep confidence
def test_rep_confidence_round_trips_and_bad_values_store_nothing(
    store: Store, clinic: dict, analysis_factory  # type: ignore[no-untyped-def]
) -> None:
    pid = clinic["alice"].id
    analysis = analysis_factory(n_reps=4)
    assert analysis.reps[2].low_confidence and not analysis.reps[1].low_confidence
    sid = store.save_session(pid, analysis, None, started_at=T0)
    back = store.load_reps(sid)
    assert back == analysis.reps
    assert back[2].confidence == 0.35 and back[2].low_confidence_reason == "data gap during the rep"
    frame = store.patient_reps(pid)
    assert frame["confidence"].dtype == np.float64 and frame["confidence"].tolist() == [0.92, 0.92, 0.35, 0.92]
    assert frame["low_confidence_reason"].tolist() == ["", "", "data gap during the rep", ""]
    unknown = dataclasses.replace(analysis, reps=[dataclasses.replace(analysis.reps[0], confidence=math.nan)])
    assert math.isnan(store.load_reps(store.save_session(pid, unknown, None, started_at=T0))[0].confidence)
    n = len(store.list_sessions(pid))
    for bad in (1.5, -0.1):
        broken = dataclasses.replace(analysis, reps=[*analysis.reps[:3], dataclasses.replace(analysis.reps[3], confidence=bad)])
        with pytest.raises(InvalidValueError, match=f"rep 3: confidence {bad}"):
            store.save_session(pid, broken, None, started_at=T0)
    assert len(store.list_sessions(pid)) == n


def test_reps_and_summary_exports_carry_confidence_and_engine(
    store: Store, clinic: dict, analysis_factory, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    analysis = analysis_factory(n_reps=3)
    evil = dataclasses.replace(analysis.reps[0], confidence=0.2, low_confidence_reason="=HYPERLINK(\"http://x\")")
    analysis = dataclasses.replace(analysis, reps=[evil, *analysis.reps[1:]])
    sid = store.save_session(clinic["alice"].id, _old(analysis, "0"), None, started_at=T0)
    out = export_session(store, sid, tmp_path)
    reps = pd.read_csv(out.files["reps"], keep_default_na=False)
    assert reps["confidence"].tolist() == [0.2, 0.92, 0.35]
    assert reps["low_confidence_reason"].tolist() == ["'=HYPERLINK(\"http://x\")", "", "data gap during the rep"]
    summary = pd.read_csv(out.files["summary"], dtype={"engine_version": str})
    assert summary["engine_version"].tolist() == ["0"]


def test_migration_0004_marks_earlier_analyses_as_unversioned_and_unrated(db_url: str, data_dir: Path) -> None:
    engine = db.make_engine(db_url)
    db.upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, username, display_name, role, password_hash, active, created_at) "
                          "VALUES (1, 'p', 'P', 'patient', 'x', true, CURRENT_TIMESTAMP)"))
        conn.execute(text(
            "INSERT INTO sessions (id, uid, patient_id, exercise, side, started_at, status, source, sensors, calibration, "
            "threshold_deg, rep_count, full_rep_count, partial_rep_count, compensation_count, set_count, created_at) "
            "VALUES (1, 'u1', 1, 'knee_raise', 'left', CURRENT_TIMESTAMP, 'complete', 'recorded', '{}', "
            "'{\"stand_start_s\": 0, \"stand_duration_s\": 3, \"sensors\": [], \"flexion_axis_confidence\": 1, "
            "\"quality\": \"good\"}', 10, 1, 1, 0, 0, 1, CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO reps (session_id, rep_index, partial, compensation, set_index, peak_hip_flexion_deg) "
                          "VALUES (1, 1, false, false, 0, 81.5)"))
    db.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(select(SessionRow.engine_version)).scalar_one() is None
        assert tuple(conn.execute(select(RepRow.confidence, RepRow.low_confidence_reason)).one()) == (None, "")
    engine.dispose()
    with Store(db_url, data_dir=data_dir) as s:
        loaded = s.load_session(1)
        assert loaded.record.engine_version is None and not loaded.record.on_current_engine
        (rep,) = loaded.analysis.reps
        assert math.isnan(rep.confidence) and rep.low_confidence_reason == "" and not rep.low_confidence
    engine = db.make_engine(db_url)
    db.downgrade(engine, "0003")
    with engine.connect() as conn:
        columns = {c["name"] for c in __import__("sqlalchemy").inspect(conn).get_columns("reps")}
    assert "confidence" not in columns and "low_confidence_reason" not in columns
    engine.dispose()


# ---------------------------------------------------------------------- rehab reanalyze (service + CLI)
def _recorded(store: Store, patient_id: int, seed: int, *, engine: str | None = "0", with_raw: bool = True) -> int:
    """A simulated session stored as an older engine left it (its numbers deliberately stale)."""
    sim = simulate(SimulationConfig.ideal(exercise="knee_raise", side="left", reps=2, seed=seed, hold_s=0.5))
    raw = quantize_raw(sim.raw)
    stale = dataclasses.replace(analyze_session(raw, "knee_raise", "left", threshold_deg=12.0), engine_version=engine)
    # the old engine counted one rep fewer
    stale = dataclasses.replace(stale, reps=stale.reps[:1], summary=dataclasses.replace(stale.summary, rep_count=1))
    return store.save_session(patient_id, stale, raw if with_raw else None, started_at=T0, source="simulated")


def _cli(db_url: str, data_dir: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["reanalyze", *args, "--database-url", db_url, "--data-dir", str(data_dir)])


def test_rehab_reanalyze_brings_a_patient_onto_the_current_engine(
    store: Store, clinic: dict, db_url: str, data_dir: Path  # type: ignore[no-untyped-def]
) -> None:
    alice, bob = clinic["alice"].id, clinic["bob"].id
    stale = [_recorded(store, alice, 1, engine=None), _recorded(store, alice, 2, engine="0")]
    current = _recorded(store, alice, 3, engine=ENGINE_VERSION)
    bobs = _recorded(store, bob, 4)
    store.set_pain_report(stale[0], pain_before=3, pain_after=1)
    untouched = {sid: store.get_session(sid) for sid in (current, bobs)}

    res = _cli(db_url, data_dir, "--patient", "alice")
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "2 re-analysed, 1 already on engine" in out and "0 failed" in out
    assert f"session {stale[0]}: re-analysed (engine unrecorded → {ENGINE_VERSION}), 1 → 2 reps" in out
    for sid in stale:
        loaded = store.load_session(sid)
        assert loaded.record.on_current_engine and loaded.record.rep_count == 2
        # exactly what the current engine makes of the stored raw samples, with the session's threshold
        fresh = analyze_session(loaded.raw, "knee_raise", "left", threshold_deg=12.0)
        pd.testing.assert_frame_equal(_reps_table(loaded.analysis.reps), _reps_table(fresh.reps))
        pd.testing.assert_frame_equal(loaded.analysis.angles, fresh.angles)
        assert loaded.analysis.threshold_deg == 12.0
    assert store.get_pain_report(stale[0]).pain_after == 1
    assert {sid: store.get_session(sid) for sid in (current, bobs)} == untouched  # skipped / other patient

    res = _cli(db_url, data_dir, "--all")
    assert res.exit_code == 0 and "1 re-analysed, 3 already on engine" in " ".join(res.output.split())
    assert store.get_session(bobs).on_current_engine

    before = store.get_session(current).angles_path
    res = _cli(db_url, data_dir, "--patient", str(alice), "--force")
    assert res.exit_code == 0 and "3 re-analysed" in res.output
    assert store.get_session(current).angles_path != before
    assert store.clean_orphans(older_than_s=0) == []


def test_a_failed_reanalysis_keeps_the_old_analysis_and_is_reported(
    store: Store, clinic: dict, db_url: str, data_dir: Path  # type: ignore[no-untyped-def]
) -> None:
    alice = clinic["alice"].id
    good = _recorded(store, alice, 5)
    no_raw = _recorded(store, alice, 6, with_raw=False)
    corrupt = _recorded(store, alice, 7)
    store.files.absolute(store.get_session(corrupt).raw_path).write_bytes(b"not parquet")
    kept = {sid: (store.get_session(sid), store.load_reps(sid)) for sid in (no_raw, corrupt)}

    res = _cli(db_url, data_dir, "--patient", "alice")
    assert res.exit_code == 1
    out = " ".join(res.output.split())
    assert f"session {no_raw}: FAILED, old analysis kept — no raw samples stored" in out
    assert f"session {corrupt}: FAILED, old analysis kept — RawFileError" in out and "unreadable Parquet" in out
    assert "1 re-analysed, 0 already on engine" in out and "2 failed" in out
    assert store.get_session(good).on_current_engine
    assert {sid: (store.get_session(sid), store.load_reps(sid)) for sid in (no_raw, corrupt)} == kept


def test_rehab_reanalyze_needs_exactly_one_scope(db_url: str, data_dir: Path, store: Store, clinic: dict) -> None:  # type: ignore[no-untyped-def]
    for args in ((), ("--all", "--patient", "alice")):
        res = _cli(db_url, data_dir, *args)
        assert res.exit_code == 2 and "either --patient ID or --all" in " ".join(res.output.split())
    res = _cli(db_url, data_dir, "--patient", "nobody")
    assert res.exit_code == 2 and "not found" in res.output
