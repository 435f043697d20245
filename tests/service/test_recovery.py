"""Issue 16.2: recovery after a crash stores a recording exactly once and never deletes a stored
session — concurrent recoveries (threads and two `rehab serve` processes), a retry after a crash
that followed the commit, and a store that is down (the set stays retryable)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from argon2 import PasswordHasher

from service.finish import recover_unfinished
from service.journal import (
    STATUS_ENDED,
    STATUS_RECOVERED,
    JournalWriter,
    Manifest,
    find_unfinished,
    locked,
    read_manifest,
    write_manifest,
)
from store import Store

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
REPO = Path(__file__).resolve().parents[2]


def _killed_recording(root: Path, store: Store, patient: int, quick_sim) -> Manifest:
    """What a SIGKILLed `rehab record` leaves: a journal of a real (simulated) set with status
    'recording' and a free lock, and the store's pending 'recording' row under the recording's uid."""
    raw = quick_sim(seed=21).raw
    m = Manifest.new(str(patient), "knee_raise", "right", target_reps=4, source="virtual")
    m.store_session_id = store.begin_session(
        patient, "knee_raise", "right", started_at=dt.datetime.fromisoformat(m.started_at), uid=m.uid,
        sensors={"recording": m.uid},
    )  # fmt: skip
    w = JournalWriter.create(root, m)
    for sensor in ("thigh", "pelvis"):
        s = raw.stream(sensor)
        t = np.asarray(s.t_s)
        for i in range(0, len(t), 10):
            sl = slice(i, i + 10)
            w.append(sensor, t[sl], s.acc_m_s2[sl], s.gyr_rad_s[sl], np.arange(len(t))[sl],
                     (t[sl] * 1e6).astype(np.int64), float(t[sl][-1]) + 0.005, np.zeros(len(t[sl]), dtype=np.int64))  # fmt: skip
    w.abandon()  # flushed, closed, lock released, status still 'recording': a dead writer
    return m


@pytest.fixture
def killed(tmp_path: Path, quick_sim):
    data = tmp_path / "data"
    store = Store(data_dir=data, password_hasher=FAST)
    patient = store.create_user("pat", "patient-pw-1", role="patient").id
    root = data / "recordings"
    root.mkdir(mode=0o700)
    m = _killed_recording(root, store, patient, quick_sim)
    yield data, root, store, m
    store.close()


def _sessions(store: Store, uid: str) -> list:
    return [s for p in store.list_patients() for s in store.list_sessions(p.id) if s.uid == uid]


def test_two_concurrent_recoveries_store_one_session_and_delete_nothing(killed) -> None:
    data, root, store, m = killed
    stores = [Store(data_dir=data), Store(data_dir=data)]  # two processes' stores
    results: list = []
    barrier = threading.Barrier(2)

    def recover(s: Store) -> None:
        barrier.wait()
        results.append(recover_unfinished(root, store=s))

    threads = [threading.Thread(target=recover, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for s in stores:
        s.close()
    done = [r for batch in results for r in batch]
    assert len(done) == 1 and done[0].status == STATUS_RECOVERED, done  # the other found it locked/finished
    sessions = _sessions(store, m.uid)
    assert len(sessions) == 1 and sessions[0].status == "recovered" and sessions[0].rep_count >= 1
    assert read_manifest(root / m.uid).status == STATUS_RECOVERED
    assert find_unfinished(root) == []
    assert recover_unfinished(root, store=store) == []  # and again: nothing to do, nothing changed
    assert len(_sessions(store, m.uid)) == 1


def test_recovery_after_a_crash_past_the_commit_reuses_the_stored_session(killed) -> None:
    """Killed after the store committed but before the manifest said so: the next recovery finds the
    session by its uid and neither stores it twice nor deletes it."""
    data, root, store, m = killed
    [first] = recover_unfinished(root, store=store)
    stored = _sessions(store, m.uid)
    manifest = read_manifest(root / m.uid)
    manifest.status = STATUS_ENDED  # as if the process died before writing its final status
    write_manifest(root / m.uid, manifest)
    [again] = recover_unfinished(root, store=store)
    assert again.session_id == first.session_id == stored[0].id
    assert [s.id for s in _sessions(store, m.uid)] == [stored[0].id]


def test_a_store_failure_keeps_the_set_retryable(killed) -> None:
    data, root, store, m = killed

    class DownStore:
        """The store is unreachable (database down) for every write."""

        def __getattr__(self, name: str):
            real = getattr(store, name)
            if name in ("finish_session", "save_session", "delete_session"):
                def down(*args, **kwargs):
                    raise ConnectionError("database is down")
                return down
            return real

    [failed] = recover_unfinished(root, store=DownStore())  # type: ignore[arg-type]
    assert failed.status == "failed" and "retried" in failed.error
    assert read_manifest(root / m.uid).status == STATUS_ENDED  # not 'failed': picked up next time
    assert find_unfinished(root) == [root / m.uid]
    assert store.get_session(m.store_session_id).status == "recording"  # nothing deleted
    [ok] = recover_unfinished(root, store=store)
    assert ok.session_id == m.store_session_id and len(_sessions(store, m.uid)) == 1


def test_a_recording_still_locked_by_its_writer_is_left_alone(killed) -> None:
    data, root, store, m = killed
    with locked(root / m.uid) as mine:
        assert mine
        assert recover_unfinished(root, store=store) == []
    assert len(recover_unfinished(root, store=store)) == 1


@pytest.mark.slow
def test_two_rehab_serve_started_at_once_recover_one_session(killed, tmp_path) -> None:
    data, root, store, m = killed
    procs = []
    for i in range(2):
        ready = tmp_path / f"ready{i}.json"
        with (tmp_path / f"serve{i}.log").open("wb") as log:
            procs.append((ready, subprocess.Popen(
                [sys.executable, "-m", "rehab", "serve", "--port", "0", "--data-dir", str(data), "--ready-file", str(ready)],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=log,
            )))  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not all(r.exists() for r, _ in procs):
            logs = [(tmp_path / f"serve{i}.log").read_text() for i in range(2)]
            assert time.monotonic() < deadline and all(p.poll() is None for _, p in procs), logs
            time.sleep(0.1)
    finally:
        for _, p in procs:
            p.terminate()
            p.wait(30)
    sessions = _sessions(store, m.uid)
    assert len(sessions) == 1 and sessions[0].status == "recovered", sessions
    assert read_manifest(root / m.uid).status == STATUS_RECOVERED
