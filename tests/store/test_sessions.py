"""Saving and loading sessions: rows, reps, Parquet files, history, pain, prescriptions, progression."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from store import DuplicateError, InvalidValueError, NotFoundError, Store, quantize_raw

from .conftest import T0


def _assert_raw_equal(a, b, atol: float = 0.0) -> None:  # type: ignore[no-untyped-def]
    for sa, sb in zip(a.streams(), b.streams(), strict=True):
        assert sa.sensor == sb.sensor
        for name in ("t_s", "acc_m_s2", "gyr_rad_s", "mag_ut", "quat"):
            x, y = getattr(sa, name), getattr(sb, name)
            assert (x is None) == (y is None), name
            if x is not None:
                np.testing.assert_allclose(x, y, rtol=0, atol=atol, err_msg=f"{sa.sensor}.{name}")
    assert a.gaps == b.gaps


def test_save_and_load_round_trip(store: Store, clinic: dict, analysis_factory, raw_factory) -> None:  # type: ignore[no-untyped-def]
    alice = clinic["alice"]
    analysis = analysis_factory()
    raw = raw_factory(mag=True)
    sid = store.save_session(alice.id, analysis, raw, started_at=T0, source="simulated", sensors={"thigh": "AA:BB"})
    loaded = store.load_session(sid)
    rec = loaded.record
    assert rec.patient_id == alice.id and rec.source == "simulated" and rec.status == "complete"
    assert rec.started_at == T0 and rec.ended_at == T0 + dt.timedelta(seconds=10)
    assert rec.sensors == {"thigh": "AA:BB"}
    assert loaded.analysis.reps == analysis.reps  # every Rep field, exactly (None onset stays None)
    assert loaded.analysis.summary == analysis.summary
    assert loaded.analysis.threshold_deg == analysis.threshold_deg
    cal_a, cal_b = loaded.analysis.calibration, analysis.calibration
    assert cal_a.quality == cal_b.quality and cal_a.flags == cal_b.flags
    assert cal_a.sensors[0] == cal_b.sensors[0]
    assert math.isnan(cal_a.sensors[1].stand_gyro_rms_rad_s)  # NaN survives as NaN
    pd.testing.assert_frame_equal(loaded.analysis.angles, analysis.angles)
    # raw comes back on the 1e-6 / 1e-4 grid: within half a grid step, and bit-exact vs quantize_raw
    _assert_raw_equal(loaded.raw, raw, atol=0.5e-4)
    _assert_raw_equal(loaded.raw, quantize_raw(raw))


def test_raw_on_grid_is_bit_exact(store: Store, clinic: dict, analysis_factory, raw_factory) -> None:  # type: ignore[no-untyped-def]
    raw = quantize_raw(raw_factory(seed=3))
    sid = store.save_session(clinic["alice"].id, analysis_factory(), raw, started_at=T0)
    back = store.load_raw(sid)
    for a, b in zip(back.streams(), raw.streams(), strict=True):
        assert np.array_equal(a.t_s, b.t_s) and np.array_equal(a.acc_m_s2, b.acc_m_s2)
        assert np.array_equal(a.gyr_rad_s, b.gyr_rad_s)


def test_nan_summary_and_no_reps(store: Store, clinic: dict, analysis_factory, raw_factory) -> None:  # type: ignore[no-untyped-def]
    analysis = analysis_factory(n_reps=0)
    sid = store.save_session(clinic["alice"].id, analysis, None, started_at=T0)
    loaded = store.load_session(sid)
    assert loaded.raw is None and loaded.analysis.reps == []
    assert math.isnan(loaded.analysis.summary.rom_deg)
    assert math.isnan(loaded.record.compensation_rate)
    with pytest.raises(NotFoundError):
        store.load_raw(sid)


def test_rejects_bad_input(store: Store, clinic: dict, analysis_factory, raw_factory) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidValueError, match="timezone"):
        store.save_session(clinic["alice"].id, analysis_factory(), None, started_at=dt.datetime(2026, 1, 1))
    with pytest.raises(InvalidValueError, match="source"):
        store.save_session(clinic["alice"].id, analysis_factory(), None, started_at=T0, source="scraped")
    with pytest.raises(NotFoundError, match="patient"):
        store.save_session(clinic["therapist"].id, analysis_factory(), None, started_at=T0)
    assert store.list_sessions(clinic["alice"].id) == []
    assert list((store.data_dir / "sessions").iterdir()) == []


def test_list_and_delete(store: Store, clinic: dict, analysis_factory, raw_factory) -> None:  # type: ignore[no-untyped-def]
    pid = clinic["alice"].id
    ids = [
        store.save_session(pid, analysis_factory(seed=i), raw_factory(duration_s=1, seed=i), started_at=T0 + dt.timedelta(days=i))
        for i in range(3)
    ]
    assert [r.id for r in store.list_sessions(pid)] == ids[::-1]
    assert [r.id for r in store.list_sessions(pid, limit=1)] == [ids[-1]]
    rec = store.get_session(ids[0])
    store.set_pain_report(ids[0], pain_before=3, pain_after=2, note="ok")
    store.delete_session(ids[0])
    assert [r.id for r in store.list_sessions(pid)] == ids[:0:-1]
    assert not (store.data_dir / rec.raw_path).exists()  # type: ignore[operator]
    assert store.get_pain_report(ids[0]) is None
    with pytest.raises(NotFoundError):
        store.get_session(ids[0])


def test_prescriptions_and_snapshot(store: Store, clinic: dict, analysis_factory, raw_factory) -> None:  # type: ignore[no-untyped-def]
    pid, tid = clinic["alice"].id, clinic["therapist"].id
    rx = store.add_prescription(pid, "knee_raise", "left", sets=3, reps=8, target_rom_deg=85.0, stage="box", created_by=tid)
    store.add_prescription(pid, "deep_squat", "left", sets=2, reps=5, target_rom_deg=100.0, hold_target_s=2.0)
    with pytest.raises(ValueError, match="exercise"):
        store.add_prescription(pid, "plank", "left", sets=1, reps=1)
    with pytest.raises(InvalidValueError, match="sets"):
        store.add_prescription(pid, "knee_raise", "left", sets=0, reps=1)
    with pytest.raises(InvalidValueError, match="cannot change"):
        store.update_prescription(rx.id, exercise="deep_squat")
    sid1 = store.save_session(pid, analysis_factory(), None, started_at=T0)
    rx2 = store.update_prescription(rx.id, target_rom_deg=95.0, reps=10)
    assert rx2.target_rom_deg == 95.0 and rx2.updated_at >= rx.updated_at
    sid2 = store.save_session(pid, analysis_factory(), None, started_at=T0 + dt.timedelta(days=1))
    # each session keeps the targets that applied when it was done
    s1, s2 = store.get_session(sid1), store.get_session(sid2)
    assert (s1.target_rom_deg, s1.prescribed_reps, s1.stage) == (85.0, 8, "box")
    assert (s2.target_rom_deg, s2.prescribed_reps) == (95.0, 10)
    store.update_prescription(rx.id, active=False)
    assert [p.exercise for p in store.list_prescriptions(pid)] == ["deep_squat"]
    assert len(store.list_prescriptions(pid, active_only=False)) == 2


def test_progression_decisions(store: Store, clinic: dict) -> None:
    pid, tid = clinic["alice"].id, clinic["therapist"].id
    rx = store.add_prescription(pid, "knee_raise", "right", sets=3, reps=10, stage="box")
    d = store.suggest_progression(rx.id, "floor", reason="3 sessions at target")
    assert (d.status, d.from_stage, d.to_stage, d.suggested_by) == ("pending", "box", "floor", None)
    done = store.decide_progression(d.id, accept=True, decided_by=tid)
    assert done.status == "accepted" and done.decided_by == tid and done.decided_at is not None
    assert store.get_prescription(rx.id).stage == "floor"
    with pytest.raises(InvalidValueError, match="already accepted"):
        store.decide_progression(d.id, accept=False, decided_by=tid)
    d2 = store.suggest_progression(rx.id, "floor_weighted")
    store.decide_progression(d2.id, accept=False, decided_by=tid)
    assert store.get_prescription(rx.id).stage == "floor"
    assert [x.status for x in store.list_progression_decisions(pid)] == ["accepted", "rejected"]
    assert [x.id for x in store.list_progression_decisions(pid, status="rejected")] == [d2.id]


def test_pain_reports(store: Store, clinic: dict, analysis_factory) -> None:  # type: ignore[no-untyped-def]
    sid = store.save_session(clinic["alice"].id, analysis_factory(), None, started_at=T0)
    assert store.get_pain_report(sid) is None
    store.set_pain_report(sid, pain_before=4, note="stiff")  # asked before the set
    r = store.set_pain_report(sid, pain_after=2)  # asked after: "before" and the note are kept
    assert (r.pain_before, r.pain_after, r.note) == (4, 2, "stiff")
    r = store.set_pain_report(sid, pain_before=None, note="better")
    assert (r.pain_before, r.pain_after, r.note) == (None, 2, "better")
    assert store.get_pain_report(sid) == r
    for bad in (11, -1, 2.5):
        with pytest.raises(InvalidValueError, match="0–10"):
            store.set_pain_report(sid, pain_after=bad)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        store.set_pain_report(99999, pain_after=1)


def test_patient_history(store: Store, clinic: dict, analysis_factory) -> None:  # type: ignore[no-untyped-def]
    pid = clinic["alice"].id
    store.add_prescription(pid, "knee_raise", "left", sets=2, reps=6, target_rom_deg=90.0)
    rng = np.random.default_rng(7)
    roms = rng.uniform(60, 95, 5)
    ids = []
    for i, rom in enumerate(roms):
        a = analysis_factory(seed=i, rom_deg=float(rom))
        ids.append(store.save_session(pid, a, None, started_at=T0 + dt.timedelta(days=4 - i)))  # newest first
    store.set_pain_report(ids[0], pain_before=5, pain_after=3, note="=1+1")
    h = store.patient_history(pid)
    assert list(h.session_id) == ids[::-1]  # oldest first
    np.testing.assert_allclose(h.rom_deg.to_numpy(), roms[::-1], rtol=0, atol=1e-12)
    assert h.started_at.is_monotonic_increasing and str(h.started_at.dt.tz) == "UTC"
    last = h.set_index("session_id").loc[ids[0]]
    assert (last.pain_before, last.pain_after, last.pain_note) == (5, 3, "=1+1")
    assert h.pain_after.isna().sum() == 4
    assert (h.target_rom_deg == 90.0).all() and (h.prescribed_reps == 6).all()
    assert h.dtypes["rep_count"] == np.int64 and h.dtypes["rom_deg"] == np.float64
    empty = store.patient_history(clinic["bob"].id)
    assert len(empty) == 0 and "rom_deg" in empty.columns


def test_record_summary_matches_analysis(store: Store, clinic: dict, analysis_factory) -> None:  # type: ignore[no-untyped-def]
    a = analysis_factory(n_reps=9, seed=5)
    sid = store.save_session(clinic["alice"].id, a, None, started_at=T0)
    rec = store.get_session(sid)
    assert rec.summary() == a.summary
    assert dataclasses.asdict(rec)["calibration"]["quality"] == "good"


def test_threads_share_one_store(store: Store, clinic: dict, analysis_factory) -> None:  # type: ignore[no-untyped-def]
    """The dashboard serves several sessions from threads over one cached Store."""
    from concurrent.futures import ThreadPoolExecutor

    pid = clinic["alice"].id

    def work(i: int) -> int:
        sid = store.save_session(pid, analysis_factory(seed=i), None, started_at=T0 + dt.timedelta(hours=i))
        return store.load_session(sid).record.id

    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(work, range(8)))
    assert sorted(ids) == sorted(r.id for r in store.list_sessions(pid)) and len(set(ids)) == 8
    assert len(store.patient_history(pid)) == 8


def test_begin_and_finish_session(store: Store, clinic: dict, analysis_factory, raw_factory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from store import convert as convert_module

    pid = clinic["alice"].id
    store.add_prescription(pid, "knee_raise", "left", sets=2, reps=6, target_rom_deg=90.0, stage="box")
    sid = store.begin_session(pid, "knee_raise", "left", started_at=T0, sensors={"thigh": "AA"})
    rec = store.get_session(sid)
    assert rec.status == "recording" and rec.rep_count == 0 and rec.raw_path is None and rec.stage == "box"
    assert store.roster(clinic["therapist"].id, now=T0 + dt.timedelta(hours=1)).sessions_this_week.tolist() == [0]
    with pytest.raises(InvalidValueError, match="still recording"):
        store.load_session(sid)
    analysis = analysis_factory()
    with pytest.raises(InvalidValueError, match="deep_squat"):
        store.finish_session(sid, analysis_factory(exercise="deep_squat"), None)

    def boom(*_a, **_k):  # type: ignore[no-untyped-def]
        raise RuntimeError("power cut")

    monkeypatch.setattr(convert_module, "rep_values", boom)
    with pytest.raises(RuntimeError):
        store.finish_session(sid, analysis, raw_factory(duration_s=1))
    monkeypatch.undo()
    assert store.get_session(sid).status == "recording"  # interrupted finish changed nothing
    assert list((store.data_dir / "sessions").iterdir()) == []
    store.finish_session(sid, analysis, raw_factory(duration_s=1), status="recovered")
    done = store.load_session(sid)
    assert done.record.status == "recovered" and done.analysis.reps == analysis.reps
    assert done.record.sensors == {"thigh": "AA"} and done.raw is not None
    with pytest.raises(InvalidValueError, match="not recording"):
        store.finish_session(sid, analysis, None)


def test_one_session_per_uid(store: Store, clinic: dict, analysis_factory, raw_factory) -> None:  # type: ignore[no-untyped-def]
    alice = clinic["alice"]
    sid = store.save_session(alice.id, analysis_factory(), raw_factory(), started_at=T0, uid="rec-2026-0001")
    assert store.get_session(sid).uid == "rec-2026-0001"
    assert store.get_session_by_uid("rec-2026-0001").id == sid
    files_before = sorted(p.name for p in store.files.root.rglob("*") if p.is_file())
    with pytest.raises(DuplicateError, match="rec-2026-0001"):
        store.save_session(alice.id, analysis_factory(), raw_factory(), started_at=T0, uid="rec-2026-0001")
    with pytest.raises(DuplicateError, match="rec-2026-0001"):
        store.begin_session(alice.id, "knee_raise", "left", started_at=T0, uid="rec-2026-0001")
    assert [s.id for s in store.list_sessions(alice.id)] == [sid]  # nothing stored twice, no stray files
    assert sorted(p.name for p in store.files.root.rglob("*") if p.is_file()) == files_before
    other = store.save_session(alice.id, analysis_factory(), None, started_at=T0)
    assert len(store.get_session(other).uid) == 32  # random when not given
    with pytest.raises(InvalidValueError, match="uid"):
        store.save_session(alice.id, analysis_factory(), None, started_at=T0, uid=" x")
    with pytest.raises(NotFoundError):
        store.get_session_by_uid("missing")
