"""Crash-safe recording: an append-only journal per set, flushed and fsynced at least every second.

Layout of one recording (``<data dir>/recordings/<uid>/``):

- ``samples.csv`` — the raw-session CSV (docs/raw-session-csv.md): header
  ``t,sensor,ax,ay,az,gx,gy,gz`` plus the audit columns ``seq,sensor_us,host_s,segment`` (readers of
  the exchange format ignore extra columns). One row per sample, appended as it arrives, in arrival
  order per sensor. ``t`` is the live (online) session time; ``sensor_us`` (unwrapped sensor clock),
  ``host_s`` (arrival, session clock) and ``segment`` (clock segment; a reboot opens a new one) let
  the offline pass re-fit the clocks exactly.
- ``events.jsonl`` — one JSON object per line: link up/down, gap markers, reboots, battery, end.
- ``manifest.json`` — patient, exercise, side, started_at, status (``recording`` → ``ended`` →
  ``finished``; ``recovered`` after a crash; ``failed`` if analysis/store failed), replaced atomically.
- ``lock`` — held (flock) by the recording process until its set is analysed and stored, and by a
  process recovering the set; a dead process releases it, which is how an unfinished recording is
  told from a running one (and why two processes never recover the same set at once).

Why CSV and not a binary log: it *is* the project's exchange format, so a recording left by a
killed process opens in `rehab analyze`, pandas or a spreadsheet with no tool of ours; at 2 × 100 Hz
it is ~16 kB/s, far below any disk's limits. A torn last line (kill during a write) is the only
damage an append-only file can suffer; the reader drops it and reports how many bytes it dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import io
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from service.alignment import align_offline
from service.errors import JournalError
from store.config import fsync_dir
from tracker.conventions import SENSOR_NAMES, check_sensor
from tracker.raw import Gap, RawSession, SensorStream

SAMPLE_COLUMNS = ("t", "sensor", "ax", "ay", "az", "gx", "gy", "gz", "seq", "sensor_us", "host_s", "segment")
HEADER = ",".join(SAMPLE_COLUMNS) + "\n"
#: The journal is handed to the OS and fsynced at least this often (seconds).
FLUSH_INTERVAL_S = 0.5

STATUS_RECORDING = "recording"
STATUS_ENDED = "ended"  # recording complete, not yet analysed/stored
STATUS_FINISHED = "finished"
STATUS_RECOVERED = "recovered"
STATUS_FAILED = "failed"


@dataclass(slots=True)
class Manifest:
    """What a recording is; small, rewritten atomically on every status change."""

    uid: str
    patient_id: str
    exercise: str
    side: str
    started_at: str  # ISO 8601, UTC
    host_clock_origin_s: float  # time.monotonic() at session time 0 (same clock as host_s)
    status: str = STATUS_RECORDING
    target_reps: int | None = None
    duration_s: float | None = None
    threshold_deg: float = 10.0
    source: str = "ble"
    sensors: dict[str, dict[str, Any]] = field(default_factory=dict)
    pid: int = field(default_factory=os.getpid)
    ended_at: str | None = None
    store_session_id: Any = None
    note: str | None = None

    @classmethod
    def new(cls, patient_id: str, exercise: str, side: str, **kwargs: Any) -> Manifest:
        return cls(
            uid=datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8],
            patient_id=str(patient_id),
            exercise=exercise,
            side=side,
            started_at=datetime.now(UTC).isoformat(),
            host_clock_origin_s=time.monotonic(),
            **kwargs,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Manifest:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Replace manifest.json atomically (write, fsync, rename, fsync the directory)."""
    path = directory / "manifest.json"
    tmp = directory / "manifest.json.tmp"
    data = json.dumps(manifest.to_dict(), indent=2, sort_keys=True).encode()
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(directory)


def read_manifest(directory: Path) -> Manifest:
    path = directory / "manifest.json"
    try:
        return Manifest.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise JournalError(path, "no manifest: not a recording directory") from exc
    except (json.JSONDecodeError, TypeError) as exc:
        raise JournalError(path, f"unreadable manifest: {exc}") from exc


class JournalWriter:
    """Append samples and events; `flush_async` / `flush` (every FLUSH_INTERVAL_S) make them durable.

    Appends only format rows into a memory buffer (cheap, safe from the event loop); a flush writes
    the buffer and hands it to the OS (survives a killed process), then fsyncs (survives a power
    cut) — in a worker thread with `flush_async`.
    """

    def __init__(self, directory: Path, manifest: Manifest) -> None:
        self.directory = directory
        self.manifest = manifest
        directory.mkdir(parents=True, exist_ok=False, mode=0o700)
        self._lock_fh = open(directory / "lock", "w")  # noqa: SIM115 - open for the recording's lifetime, closed by close()
        fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        write_manifest(directory, manifest)
        self._samples = open(directory / "samples.csv", "w", encoding="utf-8", newline="")  # noqa: SIM115 - open for the recording's lifetime, closed by close()
        self._events = open(directory / "events.jsonl", "w", encoding="utf-8")  # noqa: SIM115 - open for the recording's lifetime, closed by close()
        self._samples.write(HEADER)
        self._rows: list[str] = []
        self._event_lines: list[str] = []
        self._last_flush = time.monotonic()
        self.rows_written = 0
        self.counts: dict[str, int] = dict.fromkeys(SENSOR_NAMES, 0)
        self.flushes = 0
        self.max_flush_s = 0.0  # longest write+flush (+fsync when synchronous) on the caller's thread
        self.max_fsync_s = 0.0  # longest fsync
        self.closed = False
        self._io_lock = threading.Lock()  # fsync in a worker thread vs close()
        self.flush()

    @classmethod
    def create(cls, root: Path, manifest: Manifest) -> JournalWriter:
        return cls(root / manifest.uid, manifest)

    def append(
        self,
        sensor: str,
        t_s: np.ndarray,
        acc_m_s2: np.ndarray,
        gyr_rad_s: np.ndarray,
        seq: np.ndarray,
        sensor_us: np.ndarray,
        host_s: float,
        segment: np.ndarray,
    ) -> None:
        """Buffer N samples of one sensor (one notification's worth)."""
        acc = np.asarray(acc_m_s2, dtype=float).tolist()
        gyr = np.asarray(gyr_rad_s, dtype=float).tolist()
        ts = np.asarray(t_s, dtype=float).tolist()
        sq = np.asarray(seq).tolist()
        us = np.asarray(sensor_us).tolist()
        sg = np.asarray(segment).tolist()
        rows = self._rows
        for i in range(len(ts)):
            a, g = acc[i], gyr[i]
            rows.append(
                f"{ts[i]:.6f},{sensor},{a[0]:.6f},{a[1]:.6f},{a[2]:.6f},"
                f"{g[0]:.6f},{g[1]:.6f},{g[2]:.6f},{sq[i]},{us[i]},{host_s:.6f},{sg[i]}\n"
            )
        self.counts[sensor] = self.counts.get(sensor, 0) + len(ts)

    def event(self, kind: str, **fields: Any) -> None:
        self._event_lines.append(json.dumps({"kind": kind, **fields}, sort_keys=True) + "\n")

    def maybe_flush(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if now - self._last_flush >= FLUSH_INTERVAL_S:
            self.flush()
            return True
        return False

    def flush(self, *, fsync: bool = True) -> None:
        if self.closed:
            return
        t0 = time.perf_counter()
        if self._rows:
            self._samples.write("".join(self._rows))
            self.rows_written += len(self._rows)
            self._rows.clear()
        if self._event_lines:
            self._events.write("".join(self._event_lines))
            self._event_lines.clear()
        self._samples.flush()
        self._events.flush()
        if fsync:
            self._fsync()
        self._last_flush = time.monotonic()
        self.flushes += 1
        self.max_flush_s = max(self.max_flush_s, time.perf_counter() - t0)

    def _fsync(self) -> None:
        with self._io_lock:
            if self.closed:
                return
            t0 = time.perf_counter()
            os.fsync(self._samples.fileno())
            os.fsync(self._events.fileno())
            self.max_fsync_s = max(self.max_fsync_s, time.perf_counter() - t0)

    async def flush_async(self) -> None:
        """For the event loop: hand the rows to the OS here (a killed process keeps them), fsync in a
        worker thread (a slow disk must not stall notifications)."""
        self.flush(fsync=False)
        await asyncio.to_thread(self._fsync)

    def set_status(self, status: str, **fields: Any) -> None:
        for k, v in fields.items():
            setattr(self.manifest, k, v)
        self.manifest.status = status
        write_manifest(self.directory, self.manifest)

    def abandon(self) -> None:
        """Flush and close the files but leave the status 'recording' (for recovery to pick up)."""
        self.close()

    def close(self, status: str | None = None, *, keep_lock: bool = False, **fields: Any) -> None:
        """Flush, close the files, record the final status and release the lock — or, with
        ``keep_lock``, keep holding it (the analysis runs under it) until `release_lock`."""
        if self.closed:
            return
        self.flush()
        with self._io_lock:
            self._samples.close()
            self._events.close()
            self.closed = True
        if status is not None:
            fields.setdefault("ended_at", datetime.now(UTC).isoformat())
            self.set_status(status, **fields)
        if not keep_lock:
            self.release_lock()

    def release_lock(self) -> None:
        if not self._lock_fh.closed:
            fcntl.flock(self._lock_fh, fcntl.LOCK_UN)
            self._lock_fh.close()


@dataclass(slots=True)
class JournalContents:
    """A recording read back: manifest, samples (DataFrame of SAMPLE_COLUMNS), events."""

    directory: Path
    manifest: Manifest
    samples: pd.DataFrame
    events: list[dict[str, Any]]
    dropped_tail_bytes: int  # bytes of a torn last line that were ignored

    def counts(self) -> dict[str, int]:
        return {s: int((self.samples["sensor"] == s).sum()) for s in SENSOR_NAMES}

    def gaps(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("kind") == "gap"]

    def to_raw_session(self, *, realign: bool = True) -> RawSession:
        """The recording as a RawSession; clocks re-fitted offline over the whole set by default."""
        streams: dict[str, SensorStream] = {}
        offline_t: dict[str, np.ndarray] = {}
        for sensor in SENSOR_NAMES:
            rows = self.samples[self.samples["sensor"] == sensor]
            if realign and len(rows):
                t, _ = align_offline(
                    rows["sensor_us"].to_numpy(np.int64),
                    rows["host_s"].to_numpy(float),
                    rows["segment"].to_numpy(np.int64),
                )
            else:
                t = rows["t"].to_numpy(float)
            offline_t[sensor] = t
            streams[sensor] = SensorStream(
                sensor=sensor,
                t_s=t,
                acc_m_s2=rows[["ax", "ay", "az"]].to_numpy(float),
                gyr_rad_s=rows[["gx", "gy", "gz"]].to_numpy(float),
            )
        gaps: list[Gap] = []
        for e in self.gaps():
            sensor = e["sensor"]
            t_gap = offline_t.get(sensor)
            idx = e.get("after_index")
            if t_gap is not None and idx is not None and 0 < idx < len(t_gap):
                gaps.append(Gap(sensor, float(t_gap[idx - 1]), float(t_gap[idx]), e.get("reason", "missing")))
            else:
                gaps.append(Gap(sensor, float(e["start_s"]), float(e["end_s"]), e.get("reason", "missing")))
        # a link that went down and never came back: gap from its last sample to the end
        open_downs = _unterminated_link_downs(self.events)
        end_s = max((float(t[-1]) for t in offline_t.values() if len(t)), default=0.0)
        for lost, e in open_downs.items():
            t_lost = offline_t.get(lost)
            start = float(t_lost[-1]) if t_lost is not None and len(t_lost) else float(e.get("t_s", 0.0))
            if end_s > start:
                gaps.append(Gap(check_sensor(lost), start, end_s, "link lost"))
        return RawSession(thigh=streams["thigh"], pelvis=streams["pelvis"], gaps=tuple(gaps))


def _unterminated_link_downs(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    open_: dict[str, dict[str, Any]] = {}
    for e in events:
        kind, sensor = e.get("kind"), str(e.get("sensor"))
        if kind == "link_down":
            open_[sensor] = e
        elif kind in ("gap", "link_up_data") and sensor in open_:
            del open_[sensor]
    return open_


_DTYPES = {
    "t": float, "sensor": str, "ax": float, "ay": float, "az": float, "gx": float, "gy": float,
    "gz": float, "seq": np.int64, "sensor_us": np.int64, "host_s": float, "segment": np.int64,
}  # fmt: skip


def read_journal(directory: Path) -> JournalContents:
    """Read a recording, tolerating a torn last line (the only damage an append-only file gets)."""
    manifest = read_manifest(directory)
    path = directory / "samples.csv"
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise JournalError(path, "samples file missing") from exc
    cut = data.rfind(b"\n") + 1
    dropped = len(data) - cut
    data = data[:cut]
    if not data.startswith(HEADER.encode()):
        raise JournalError(path, f"bad header; expected {HEADER.strip()!r}", line=1)
    try:
        df = pd.read_csv(io.BytesIO(data), dtype=_DTYPES, keep_default_na=False, na_values=[""])
    except (ValueError, pd.errors.ParserError) as exc:
        raise JournalError(path, f"unparseable row: {exc}") from exc
    if df.isna().any(axis=None):
        bad = int(np.flatnonzero(df.isna().any(axis=1).to_numpy())[0])
        raise JournalError(path, "empty field", line=bad + 2)
    unknown = ~df["sensor"].isin(SENSOR_NAMES)
    if unknown.any():
        bad = int(np.flatnonzero(unknown.to_numpy())[0])
        raise JournalError(path, f"unknown sensor {df['sensor'].iloc[bad]!r}", line=bad + 2)
    events: list[dict[str, Any]] = []
    ev_path = directory / "events.jsonl"
    if ev_path.exists():
        lines = ev_path.read_bytes().split(b"\n")
        for lineno, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                events.append(json.loads(raw))
            except json.JSONDecodeError as exc:
                if lineno == len(lines):  # torn last line, no newline yet: ignore
                    continue
                raise JournalError(ev_path, f"bad event: {exc}", line=lineno) from exc
    return JournalContents(directory, manifest, df, events, dropped)


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[bool]:
    """Hold the recording's lock for the block; yields False (and holds nothing) when another live
    process has it — a recorder still writing, or another process recovering the same set."""
    with open(directory / "lock", "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def is_locked(directory: Path) -> bool:
    """True while a live process holds the recording's lock."""
    lock = directory / "lock"
    if not lock.exists():
        return False
    with open(lock, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def find_unfinished(root: Path) -> list[Path]:
    """Recordings whose writer is gone (killed, crashed) before they were analysed and stored:
    status 'recording' (killed mid-set) or 'ended' (killed during analysis)."""
    found: list[Path] = []
    if not root.is_dir():
        return found
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            manifest = read_manifest(d)
        except JournalError:
            continue
        if manifest.status in (STATUS_RECORDING, STATUS_ENDED) and not is_locked(d):
            found.append(d)
    return found
