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
    STATUS_RECOVERED,
    JournalContents,
    find_unfinished,
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
    ) -> Any: ...


def _patient_key(patient_id: str) -> int | str:
    """The store keys patients by integer id; the manifest keeps it as text."""
    return int(patient_id) if str(patient_id).isdigit() else patient_id


@dataclass(slots=True)
class SetResult:
    """What a finished (or recovered) set produced."""

    uid: str
    directory: Path
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
    """Read the journal, re-fit the clocks, analyse offline, save to the store, record the status.

    Analysis or store failures leave the journal intact and mark the manifest 'failed' with the
    reason, so nothing recorded is ever lost to a bug downstream.
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
        if store is not None:
            status = "recovered" if final_status == STATUS_RECOVERED else "complete"
            ended_at = datetime.fromisoformat(m.ended_at) if m.ended_at else None
            sensors = {**m.sensors, "backend": m.source, "recording": m.uid}
            finish = getattr(store, "finish_session", None)
            if m.store_session_id is not None and finish is not None:
                finish(m.store_session_id, result.analysis, raw, status=status, ended_at=ended_at, sensors=sensors)
                result.session_id = m.store_session_id
            else:
                result.session_id = store.save_session(
                    _patient_key(m.patient_id),
                    result.analysis,
                    raw,
                    started_at=datetime.fromisoformat(m.started_at),
                    ended_at=ended_at,
                    source=source or STORE_SOURCE.get(m.source, "recorded"),
                    status=status,
                    sensors=sensors,
                )
    except Exception as exc:
        result.status = STATUS_FAILED
        result.error = f"{type(exc).__name__}: {exc}"
        logger.error("set %s: analysis/store failed (%s); the journal in %s is kept", m.uid, result.error, directory)
        _forget_pending_row(store, m.store_session_id)
    m.status = result.status
    m.store_session_id = result.session_id
    m.note = result.error
    write_manifest(directory, m)
    return result


def _forget_pending_row(store: SessionStore | None, session_id: Any) -> None:
    """A set that could not be analysed must not stay 'recording' in the store forever."""
    delete = getattr(store, "delete_session", None)
    if session_id is None or delete is None:
        return
    try:
        delete(session_id)
    except Exception as exc:
        logger.error("could not remove the pending store row %s: %s", session_id, exc)


def recover_unfinished(root: Path, *, store: SessionStore | None) -> list[SetResult]:
    """Find recordings left by a killed/crashed process and analyse + store them as 'recovered'."""
    results = []
    for directory in find_unfinished(root):
        try:
            m = read_manifest(directory)
            logger.warning("recovering unfinished recording %s (patient %s, started %s)", m.uid, m.patient_id, m.started_at)
            status = STATUS_FINISHED if m.status == STATUS_ENDED else STATUS_RECOVERED
            results.append(analyse_recording(directory, store=store, final_status=status))
        except JournalError as exc:
            logger.error("cannot recover %s: %s", directory, exc)
    return results
