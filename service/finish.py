"""End of a set (and recovery of a killed one): journal → RawSession → offline analysis → store."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from service.errors import JournalError
from service.journal import (
    STATUS_ENDED,
    STATUS_FAILED,
    STATUS_FINISHED,
    STATUS_RECORDING,
    STATUS_RECOVERED,
    JournalContents,
    Manifest,
    find_unfinished,
    locked,
    read_journal,
    read_manifest,
    write_manifest,
)
from tracker.raw import RawSession

logger = logging.getLogger(__name__)


#: The store's session ``source`` for each recording backend: whatever came through the recorder is
#: "recorded" (the store's "simulated" means generated straight into the store); the session's
#: ``sensors`` JSON says ``"backend": "virtual"`` for sets recorded from virtual sensors.
STORE_SOURCE = {"ble": "recorded", "virtual": "recorded"}


class SessionStore(Protocol):
    def save_session(
        self,
        patient_id: Any,
        analysis: Any,
        raw: RawSession,
        *,
        started_at: datetime,
        source: str,
        sensors: Any,
        ended_at: datetime | None = None,
        status: str = "complete",
        uid: str | None = None,
    ) -> Any: ...


def _patient_key(patient_id: str) -> int | str:
    """The store keys patients by integer id; the manifest keeps it as text."""
    return int(patient_id) if str(patient_id).isdigit() else patient_id


@dataclass(slots=True)
class SetResult:
    """What a finished (or recovered) set produced."""

    uid: str
    directory: Path | None  # None: stopped before anything was recorded
    status: str
    samples: dict[str, int]
    gaps: int
    session_id: Any = None
    analysis: Any = None  # tracker.results.SessionAnalysis
    raw: RawSession | None = field(default=None, repr=False)
    error: str | None = None
    dropped_tail_bytes: int = 0

    def summary_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "uid": self.uid,
            "status": self.status,
            "session_id": self.session_id,
            "samples": self.samples,
            "gaps": self.gaps,
            "error": self.error,
        }
        if self.analysis is not None:
            out["analysis"] = self.analysis.to_json_dict()
        return out


def analyse_recording(
    directory: Path,
    *,
    store: SessionStore | None,
    final_status: str,
    source: str | None = None,
) -> SetResult:
    """Read the journal, re-fit the clocks, analyse offline, store once, record the status.

    The caller holds the recording's lock. Storing is keyed by the recording uid (``sessions.uid``),
    so a set already stored — by another process, or by an attempt that crashed after its commit —
    is found and reused, never stored twice, never deleted. An analysis failure (the recording
    itself is unusable, e.g. no quiet stand) marks the manifest ``failed`` with the reason; a store
    failure (database down) leaves it ``ended``, so the next start retries. The journal is always kept.
    """
    contents: JournalContents = read_journal(directory)
    m = contents.manifest
    raw = contents.to_raw_session()
    result = SetResult(
        uid=m.uid, directory=directory, status=final_status, samples=contents.counts(), gaps=len(raw.gaps),
        raw=raw, dropped_tail_bytes=contents.dropped_tail_bytes,
    )
    try:
        from tracker.pipeline import analyze_session

        result.analysis = analyze_session(raw, m.exercise, m.side, threshold_deg=m.threshold_deg)
    except Exception as exc:
        result.status = STATUS_FAILED
        result.error = f"{type(exc).__name__}: {exc}"
        logger.error("set %s: analysis failed (%s); the journal in %s is kept", m.uid, result.error, directory)
        _forget_pending_row(store, m)
        m.status, m.note = STATUS_FAILED, result.error
        write_manifest(directory, m)
        return result
    if store is not None:
        try:
            result.session_id = _store_once(store, m, result.analysis, raw, final_status=final_status, source=source)
        except Exception as exc:
            result.status = STATUS_FAILED
            result.error = f"not stored yet ({type(exc).__name__}: {exc}); it is retried at the next start"
            logger.error("set %s: %s", m.uid, result.error)
            m.status, m.note = STATUS_ENDED, result.error  # retryable: find_unfinished picks it up
            write_manifest(directory, m)
            return result
    m.status = result.status
    m.store_session_id = result.session_id
    m.note = None
    write_manifest(directory, m)
    return result


def _stored_by_uid(store: SessionStore, uid: str) -> Any:
    """The store's session with this recording uid, or None (also for stores without uid lookup)."""
    lookup = getattr(store, "get_session_by_uid", None)
    if lookup is None:
        return None
    try:
        return lookup(uid)
    except LookupError:  # store.NotFoundError
        return None


def _store_once(
    store: SessionStore, m: Manifest, analysis: Any, raw: RawSession, *, final_status: str, source: str | None
) -> Any:
    """Store the set exactly once under its recording uid; returns the session id."""
    status = "recovered" if final_status == STATUS_RECOVERED else "complete"
    ended_at = datetime.fromisoformat(m.ended_at) if m.ended_at else None
    sensors = {**m.sensors, "backend": m.source, "recording": m.uid}
    existing = _stored_by_uid(store, m.uid)
    if existing is not None and existing.status != "recording":
        logger.info("set %s is already stored as session %s", m.uid, existing.id)
        return existing.id
    finish = getattr(store, "finish_session", None)
    pending = existing.id if existing is not None else None
    if pending is None and getattr(store, "get_session_by_uid", None) is None:
        pending = m.store_session_id  # a store without uids: trust the manifest
    try:
        if pending is not None and finish is not None:
            finish(pending, analysis, raw, status=status, ended_at=ended_at, sensors=sensors)
            return pending
        return store.save_session(
            _patient_key(m.patient_id),
            analysis,
            raw,
            started_at=datetime.fromisoformat(m.started_at),
            ended_at=ended_at,
            source=source or STORE_SOURCE.get(m.source, "recorded"),
            status=status,
            sensors=sensors,
            uid=m.uid,
        )
    except Exception:
        # another writer may have stored it between our lookup and our write (DuplicateError, or
        # "not recording" from finish_session): that is success, not failure
        again = _stored_by_uid(store, m.uid)
        if again is not None and again.status != "recording":
            return again.id
        raise


def _forget_pending_row(store: SessionStore | None, m: Manifest) -> None:
    """A set that cannot be analysed must not stay 'recording' in the store forever. Only a row
    that is still 'recording' is removed — a stored (complete/recovered) session never is."""
    delete = getattr(store, "delete_session", None)
    if store is None or delete is None:
        return
    row = _stored_by_uid(store, m.uid)
    session_id = row.id if row is not None else None
    if row is None and getattr(store, "get_session_by_uid", None) is None:
        session_id = m.store_session_id
    elif row is not None and row.status != "recording":
        return
    if session_id is None:
        return
    try:
        delete(session_id)
    except Exception as exc:
        logger.error("could not remove the pending store row %s: %s", session_id, exc)


def recover_unfinished(root: Path, *, store: SessionStore | None) -> list[SetResult]:
    """Find recordings left by a killed/crashed process and analyse + store them as 'recovered'.

    Each one is handled under its journal lock, re-reading the manifest once the lock is held: two
    processes starting at once never recover the same set, and a set another process has just
    finished is skipped.
    """
    results = []
    for directory in find_unfinished(root):
        try:
            with locked(directory) as mine:
                if not mine:
                    continue
                m = read_manifest(directory)
                if m.status not in (STATUS_RECORDING, STATUS_ENDED):
                    continue
                logger.warning(
                    "recovering unfinished recording %s (patient %s, started %s)", m.uid, m.patient_id, m.started_at
                )
                status = STATUS_FINISHED if m.status == STATUS_ENDED else STATUS_RECOVERED
                results.append(analyse_recording(directory, store=store, final_status=status))
        except JournalError as exc:
            logger.error("cannot recover %s: %s", directory, exc)
    return results
