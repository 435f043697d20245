"""The store's side of hub ↔ clinic: bundles, receiving once, the derived outbox, pairing, plans,
rate-limit counts — on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from store import DuplicateError, InvalidValueError, Store
from store.bundle import BundleError, pack, sha256_hex, unpack
from store.devices import EnrolmentRefusedError, normalize_code

from .conftest import FAST_HASHER, T0


def _hub(tmp_path: Path) -> tuple[Store, int]:
    hub = Store(f"sqlite:///{tmp_path / 'hub' / 'rehab.sqlite3'}", data_dir=tmp_path / "hub", password_hasher=FAST_HASHER)
    return hub, hub.create_user("alice", "alice-pw-123", role="patient").id


def test_bundle_round_trip_gives_identical_session(store: Store, clinic, tmp_path, analysis_factory, raw_factory) -> None:  # type: ignore[no-untyped-def]
    hub, local_pid = _hub(tmp_path)
    sid = hub.save_session(local_pid, analysis_factory(), raw_factory(duration_s=3), started_at=T0, uid="rec-1",
                           sensors={"backend": "virtual"})  # fmt: skip
    hub.set_pain_report(sid, pain_before=3, pain_after=2, note="=SUM(A1)")
    data = pack(hub.export_bundle("rec-1"))
    assert data == pack(hub.export_bundle("rec-1")), "bundles are deterministic (one content hash per session)"
    bundle = unpack(data)
    pid = clinic["alice"].id
    receipt = store.receive_session(pid, bundle, content_sha256=sha256_hex(data))
    assert receipt.created
    here, there = hub.load_session(sid), store.load_session(receipt.session_id)
    assert there.record.uid == "rec-1" and there.record.patient_id == pid
    assert there.analysis.reps == here.analysis.reps
    pd.testing.assert_frame_equal(there.analysis.angles, here.analysis.angles)
    for a, b in zip(there.raw.streams(), here.raw.streams(), strict=True):  # type: ignore[union-attr]
        np.testing.assert_array_equal(a.acc_m_s2, b.acc_m_s2)
        np.testing.assert_array_equal(a.t_s, b.t_s)
    assert there.record.summary() == here.record.summary() or _nan_equal(there.record.summary(), here.record.summary())
    assert there.record.sensors == {"backend": "virtual"} and there.record.ended_at == here.record.ended_at
    pain = store.get_pain_report(receipt.session_id)
    assert (pain.pain_before, pain.pain_after, pain.note) == (3, 2, "=SUM(A1)")  # type: ignore[union-attr]
    hub.close()


def _nan_equal(a: object, b: object) -> bool:
    from dataclasses import astuple

    return all((x == y) or (x != x and y != y) for x, y in zip(astuple(a), astuple(b), strict=True))  # type: ignore[arg-type]


def test_same_uid_twice_is_stored_once_and_conflicts_are_refused(store: Store, clinic, tmp_path, analysis_factory, raw_factory) -> None:  # type: ignore[no-untyped-def]
    hub, local_pid = _hub(tmp_path)
    hub.save_session(local_pid, analysis_factory(), raw_factory(duration_s=2), started_at=T0, uid="u-1")
    data = pack(hub.export_bundle("u-1"))
    pid = clinic["alice"].id
    first = store.receive_session(pid, unpack(data), content_sha256=sha256_hex(data))
    again = store.receive_session(pid, unpack(data), content_sha256=sha256_hex(data))
    assert first.created and not again.created and again.session_id == first.session_id
    assert [s.uid for s in store.list_sessions(pid)] == ["u-1"]
    with pytest.raises(DuplicateError, match="different content"):
        store.receive_session(pid, unpack(data), content_sha256="0" * 64)
    with pytest.raises(DuplicateError):
        store.receive_session(clinic["bob"].id, unpack(data), content_sha256=sha256_hex(data))
    assert len(store.list_sessions(clinic["bob"].id)) == 0
    hub.close()


def test_unpack_refuses_damaged_or_forged_bundles(tmp_path, analysis_factory, raw_factory) -> None:  # type: ignore[no-untyped-def]
    hub, pid = _hub(tmp_path)
    hub.save_session(pid, analysis_factory(), raw_factory(duration_s=1), started_at=T0, uid="x")
    bundle = hub.export_bundle("x")
    data = bytearray(pack(bundle))
    with pytest.raises(BundleError, match="ZIP"):
        unpack(b"not a zip")
    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0xFF  # inside a Parquet member: its CRC / hash no longer matches
    with pytest.raises(BundleError):
        unpack(bytes(flipped))
    for change, message in (
        (dict(session={**bundle.session, "status": "recording"}), "session.status"),
        (dict(session={**bundle.session, "exercise": "jumping"}), "session.exercise"),
        (dict(session={**bundle.session, "rep_count": "7"}), "session.rep_count must be an integer"),
        (dict(session={**bundle.session, "surprise": 1}), "unknown field"),
        (dict(reps=[{**bundle.reps[0], "peak_hip_flexion_deg": float("nan")}]), "finite"),
        (dict(pain={"pain_before": 11, "pain_after": None, "note": "", "difficulty": None}), "pain.pain_before"),
        (dict(pain={"pain_before": 1, "pain_after": None, "note": "", "difficulty": "boring"}), "pain.difficulty"),
    ):
        forged = type(bundle)(**{**{f: getattr(bundle, f) for f in ("uid", "session", "reps", "files", "pain",
                                                                      "clinic_prescription_id")}, **change})  # fmt: skip
        with pytest.raises(BundleError, match=message):
            unpack(_pack_unchecked(forged))
    not_parquet = type(bundle)(uid="x", session=bundle.session, reps=[], files={"angles.parquet": b"PAR1 nope"})
    with pytest.raises(BundleError, match="angles.parquet"):
        unpack(pack(not_parquet))
    hub.close()


def _pack_unchecked(bundle) -> bytes:  # type: ignore[no-untyped-def]
    """pack() refuses NaN (allow_nan=False); a forger would not."""
    import json

    from store.bundle import BUNDLE_FORMAT, _to_json

    manifest = {
        "format": BUNDLE_FORMAT, "uid": bundle.uid,
        "session": {k: _to_json(v) if not isinstance(v, float) else v for k, v in bundle.session.items()},
        "reps": [{k: _to_json(v) if not isinstance(v, float) else v for k, v in r.items()} for r in bundle.reps],
        "pain": bundle.pain, "clinic_prescription_id": None,
        "files": {n: {"sha256": sha256_hex(b), "size": len(b)} for n, b in bundle.files.items()},
    }  # fmt: skip
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("session.json", json.dumps(manifest))
        for n, b in bundle.files.items():
            zf.writestr(n, b)
    return out.getvalue()


def test_outbox_is_derived_from_the_store(tmp_path, analysis_factory, raw_factory) -> None:  # type: ignore[no-untyped-def]
    hub, pid = _hub(tmp_path)
    other = hub.create_user("someone", "someone-pw-1", role="patient").id
    a = hub.save_session(pid, analysis_factory(), None, started_at=T0, uid="a")
    hub.save_session(pid, analysis_factory(), None, started_at=T0 + dt.timedelta(hours=1), uid="b")
    hub.begin_session(pid, "knee_raise", "left", started_at=T0 + dt.timedelta(hours=2), uid="still-recording")
    hub.save_session(other, analysis_factory(), None, started_at=T0, uid="not-mine")
    assert [i.uid for i in hub.outbox_waiting(pid)] == ["a", "b"]
    now = dt.datetime.now(dt.UTC)
    hub.outbox_attempt("a", at=now)
    hub.outbox_failed("a", "clinic unreachable", retry_at=now + dt.timedelta(minutes=5))
    assert [i.uid for i in hub.outbox_waiting(pid, due_at=now)] == ["b"]
    assert [(i.uid, i.attempts) for i in hub.outbox_waiting(pid)] == [("a", 1), ("b", 0)]
    summary = hub.outbox_summary(pid)
    assert (summary.waiting, summary.sent, summary.last_error) == (2, 0, "clinic unreachable")
    hub.outbox_acknowledged("a", content_sha256="f" * 64, clinic_session_id=7)
    summary = hub.outbox_summary(pid)
    assert (summary.waiting, summary.sent, summary.last_error) == (1, 1, None)
    hub.delete_session(a)  # the outbox row goes with it
    assert hub.outbox_summary(pid).sent == 0
    hub.close()


def test_enrolment_codes_are_one_time_and_expire(store: Store, clinic) -> None:  # type: ignore[no-untyped-def]
    pid, tid = clinic["alice"].id, clinic["therapist"].id
    t0 = dt.datetime.now(dt.UTC)
    code = store.create_enrolment_code(pid, created_by=tid, now=t0)
    assert code.expires_at == t0 + dt.timedelta(minutes=15) and len(normalize_code(code.code)) == 10
    paired = store.redeem_enrolment_code(code.code.lower(), device_name="Alice's hub", now=t0 + dt.timedelta(minutes=1))
    assert paired.patient.id == pid and paired.token.startswith("rht_") and paired.device.active
    with pytest.raises(EnrolmentRefusedError, match="already used"):
        store.redeem_enrolment_code(code.code, device_name="again", now=t0 + dt.timedelta(minutes=2))
    late = store.create_enrolment_code(pid, created_by=tid, now=t0)
    with pytest.raises(EnrolmentRefusedError, match="expired"):
        store.redeem_enrolment_code(late.code, device_name="late", now=t0 + dt.timedelta(minutes=15, seconds=1))
    with pytest.raises(EnrolmentRefusedError, match="unknown"):
        store.redeem_enrolment_code("AAAAA-AAAAA", device_name="guess")
    found = store.authenticate_device(paired.token)
    assert found is not None and found.id == paired.device.id and found.last_seen_at is not None
    assert store.authenticate_device(paired.token + "x") is None and store.authenticate_device("nope") is None
    revoked = store.revoke_device(paired.device.id, revoked_by=tid)
    assert not revoked.active and not store.authenticate_device(paired.token).active  # type: ignore[union-attr]
    from sqlalchemy import text

    with store.engine.connect() as conn:  # only hashes are kept
        stored = " ".join(str(v) for row in conn.execute(text("SELECT * FROM devices")) for v in row)
        stored += " ".join(str(v) for row in conn.execute(text("SELECT * FROM enrolment_codes")) for v in row)
    assert paired.token not in stored and normalize_code(code.code) not in stored


def test_plan_mirrors_the_clinic(store: Store, clinic, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pid = clinic["alice"].id
    knee = store.add_prescription(pid, "knee_raise", "left", sets=2, reps=8, target_rom_deg=80, stage="box")
    store.add_prescription(pid, "hip_extension", "left", sets=1, reps=6)
    hub, local = _hub(tmp_path)
    own = hub.add_prescription(local, "deep_squat", "left", sets=1, reps=5)  # made before pairing
    change = hub.apply_plan(local, store.plan_document(pid))
    assert (change.added, change.updated, change.deactivated) == (2, 0, 1)
    assert not hub.apply_plan(local, store.plan_document(pid)).changed
    etag = __import__("store.plans", fromlist=["plan_etag"]).plan_etag
    before = etag(store.plan_document(pid))
    store.update_prescription(knee.id, stage="floor", compensation_threshold_deg=8.0)
    assert etag(store.plan_document(pid)) != before
    assert hub.apply_plan(local, store.plan_document(pid)).updated == 1
    mine = {(r.exercise, r.stage, r.compensation_threshold_deg) for r in hub.list_prescriptions(local)}
    assert ("knee_raise", "floor", 8.0) in mine and len(mine) == 2
    assert not hub.get_prescription(own.id).active
    with pytest.raises(InvalidValueError, match="format"):
        hub.apply_plan(local, {"prescriptions": []})
    hub.close()


def test_rate_limit_counts_are_shared_and_pruned(store: Store) -> None:
    assert [store.count_request("ip:1.2.3.4", window_s=60, now_s=120.0) for _ in range(3)] == [1, 2, 3]
    assert store.count_request("ip:1.2.3.4", window_s=60, now_s=185.0) == 1  # next window
    assert store.request_count("ip:1.2.3.4", window_s=60, now_s=130.0) == 3
    assert store.prune_rate_limits(older_than_s=60, now_s=190.0) == 1


def test_a_session_waits_for_its_pain_score_or_to_settle(tmp_path, analysis_factory) -> None:  # type: ignore[no-untyped-def]
    hub, pid = _hub(tmp_path)
    now = dt.datetime.now(dt.UTC)
    ended = now - dt.timedelta(minutes=2)  # a set that ended two minutes ago (10 s long)
    sid = hub.save_session(pid, analysis_factory(duration_s=10.0), None, started_at=ended - dt.timedelta(seconds=10),
                           ended_at=ended, uid="fresh")  # fmt: skip
    hub.save_session(pid, analysis_factory(), None, started_at=T0, uid="old")
    settle = now - dt.timedelta(minutes=10)
    assert [i.uid for i in hub.outbox_waiting(pid, settled_before=settle)] == ["old"]
    hub.set_pain_report(sid, pain_before=4)  # only "before": still waiting for "after"
    assert [i.uid for i in hub.outbox_waiting(pid, settled_before=settle)] == ["old"]
    hub.set_pain_report(sid, pain_after=3)  # answered: it goes now, with its score
    assert [i.uid for i in hub.outbox_waiting(pid, settled_before=settle)] == ["old", "fresh"]
    assert hub.export_bundle("fresh").pain == {"pain_before": 4, "pain_after": 3, "note": "", "difficulty": None}
    assert len(hub.outbox_waiting(pid)) == 2 and hub.outbox_summary(pid).waiting == 2  # counted as waiting all along
    hub.close()



def test_another_replica_storing_the_session_during_the_check_is_a_retry_not_a_conflict(  # type: ignore[no-untyped-def]
    store: Store, db_url: str, data_dir: Path, clinic, tmp_path, analysis_factory, raw_factory
) -> None:
    """Two clinic replicas (two Stores on one database and one files directory) receive the same bundle
    at the same moment (a hub's retry landing on the other replica): the other one commits right after
    this one's first look for the uid. Both get a receipt for the one stored session; neither is
    refused as "a different session" (a 409 seen under load in tests/server/test_replicas.py)."""
    from sqlalchemy import event

    hub, local_pid = _hub(tmp_path)
    hub.save_session(local_pid, analysis_factory(), raw_factory(duration_s=1), started_at=T0, uid="both")
    data = pack(hub.export_bundle("both"))
    hub.close()
    pid = clinic["alice"].id
    other = Store(db_url, data_dir=data_dir, password_hasher=FAST_HASHER)
    theirs = []

    def other_replica_commits(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if not theirs and statement.lstrip().upper().startswith("SELECT"):
            theirs.append(other.receive_session(pid, unpack(data), content_sha256=sha256_hex(data)))

    event.listen(store.engine, "after_cursor_execute", other_replica_commits)
    try:
        ours = store.receive_session(pid, unpack(data), content_sha256=sha256_hex(data))
    finally:
        event.remove(store.engine, "after_cursor_execute", other_replica_commits)
        other.close()
    assert theirs and theirs[0].created and not ours.created
    assert ours.session_id == theirs[0].session_id
    assert [s.uid for s in store.list_sessions(pid)] == ["both"]
