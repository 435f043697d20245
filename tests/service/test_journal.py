"""The recording journal: append, flush, read back, survive truncation and SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from service.errors import JournalError
from service.journal import (
    STATUS_FINISHED,
    JournalWriter,
    Manifest,
    find_unfinished,
    is_locked,
    read_journal,
)

REPO = Path(__file__).resolve().parents[3]


def _batch(rng: np.random.Generator, n: int, t0: float, us0: int, seq0: int):
    t = t0 + np.arange(n) * 0.01
    return dict(
        t_s=t,
        acc_m_s2=rng.normal(0, 1, (n, 3)) + [9.80665, 0, 0],
        gyr_rad_s=rng.normal(0, 0.1, (n, 3)),
        seq=np.arange(seq0, seq0 + n),
        sensor_us=us0 + np.arange(n) * 10_000,
        host_s=float(t[-1] + 0.008),
        segment=np.zeros(n, dtype=np.int64),
    )


def test_append_flush_read_back_exact(tmp_path: Path):
    rng = np.random.default_rng(1)
    m = Manifest.new("p1", "knee_raise", "right", target_reps=10)
    w = JournalWriter.create(tmp_path, m)
    assert is_locked(w.directory)
    batches = []
    for k in range(50):
        for sensor in ("thigh", "pelvis"):
            b = _batch(rng, 2, k * 0.02, 1000 + k * 20_000, 2 * k)
            w.append(sensor, **b)
            batches.append((sensor, b))
    w.event("gap", sensor="thigh", start_s=0.2, end_s=0.3, after_index=20, reason="link drop")
    w.close(STATUS_FINISHED)
    assert not is_locked(w.directory)
    c = read_journal(w.directory)
    assert c.manifest.status == STATUS_FINISHED and c.manifest.ended_at is not None
    assert c.counts() == {"thigh": 100, "pelvis": 100}
    assert c.dropped_tail_bytes == 0
    thigh = c.samples[c.samples.sensor == "thigh"]
    want = np.concatenate([b["acc_m_s2"] for s, b in batches if s == "thigh"])
    np.testing.assert_allclose(thigh[["ax", "ay", "az"]].to_numpy(), want, atol=1e-6)
    np.testing.assert_array_equal(thigh.seq.to_numpy(), np.concatenate([b["seq"] for s, b in batches if s == "thigh"]))
    raw = c.to_raw_session()
    assert len(raw.thigh) == 100 and len(raw.pelvis) == 100
    assert np.all(np.diff(raw.thigh.t_s) > 0)
    assert len(raw.gaps) == 1 and raw.gaps[0].sensor == "thigh"
    assert raw.gaps[0].start_s == pytest.approx(raw.thigh.t_s[19]) and raw.gaps[0].end_s == pytest.approx(raw.thigh.t_s[20])


def test_torn_last_line_is_dropped_and_counted(tmp_path: Path):
    rng = np.random.default_rng(2)
    w = JournalWriter.create(tmp_path, Manifest.new("p1", "knee_raise", "left"))
    w.append("thigh", **_batch(rng, 10, 0.0, 0, 0))
    w.flush()
    path = w.directory / "samples.csv"
    size = path.stat().st_size
    with open(path, "ab") as fh:  # a write cut in the middle by a kill
        fh.write(b"0.100000,thigh,9.8,0.0")
    with open(w.directory / "events.jsonl", "ab") as fh:
        fh.write(b'{"kind": "link_do')
    c = read_journal(w.directory)
    assert len(c.samples) == 10
    assert c.dropped_tail_bytes == path.stat().st_size - size
    assert c.events == []
    # and the writer still holds it: not 'unfinished' while alive
    assert find_unfinished(tmp_path) == []
    w.abandon()  # as if the process died
    assert find_unfinished(tmp_path) == [w.directory]


def test_interior_damage_names_file_and_line(tmp_path: Path):
    rng = np.random.default_rng(3)
    w = JournalWriter.create(tmp_path, Manifest.new("p1", "knee_raise", "left"))
    w.append("thigh", **_batch(rng, 5, 0.0, 0, 0))
    w.close(STATUS_FINISHED)
    path = w.directory / "samples.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace("thigh", "knee")
    path.write_text("".join(lines))
    with pytest.raises(JournalError, match=r"samples\.csv:4: unknown sensor 'knee'"):
        read_journal(w.directory)


_CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from pathlib import Path
    from service.journal import JournalWriter, Manifest
    root = Path(sys.argv[1])
    m = Manifest.new("p1", "knee_raise", "right")
    w = JournalWriter.create(root, m)
    print(w.directory, flush=True)
    i = 0
    while True:
        now = time.monotonic()
        host = now - m.host_clock_origin_s
        for sensor in ("thigh", "pelvis"):
            w.append(sensor, np.array([host]), np.array([[9.8, 0, 0]]), np.zeros((1, 3)),
                     np.array([i]), np.array([i * 10_000]), host, np.array([0]))
        w.maybe_flush(now)
        i += 1
        time.sleep(0.01)
    """
)


def test_sigkill_loses_at_most_one_second(tmp_path: Path):
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        directory = Path(proc.stdout.readline().strip())
        time.sleep(2.3)
        kill_at = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert find_unfinished(tmp_path) == [directory]
    c = read_journal(directory)
    last_host = c.samples["host_s"].max() + c.manifest.host_clock_origin_s
    assert kill_at - last_host <= 1.0
    assert c.counts()["thigh"] >= 100
    # every sample up to the last durable one is there, in order, none missing
    seq = c.samples[c.samples.sensor == "thigh"].seq.to_numpy()
    np.testing.assert_array_equal(seq, np.arange(len(seq)))
