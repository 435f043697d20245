"""Bring stored sessions onto the current processing engine (``rehab reanalyze``).

Each session is re-analysed from its stored raw samples with its own exercise, side and
compensation threshold, and its analysis is swapped in one transaction
(``Store.replace_analysis``). One session's failure — no raw samples, an unreadable file, a
calibration the new engine refuses — leaves that session's old analysis in place and is reported
with the session id and the reason; the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from store.records import SessionRecord
from store.repository import Store
from tracker import ENGINE_VERSION

Outcome = Literal["reanalysed", "skipped", "failed"]


@dataclass(frozen=True, slots=True)
class ReanalysisResult:
    """What happened to one session."""

    session_id: int
    outcome: Outcome
    reason: str = ""  # why it was skipped or failed
    old_engine: str | None = None
    rep_count_before: int = 0
    rep_count_after: int | None = None


def needs_reanalysis(record: SessionRecord) -> bool:
    return record.engine_version != ENGINE_VERSION


def reanalyse(store: Store, record: SessionRecord, *, force: bool = False) -> ReanalysisResult:
    """Re-run the current offline analysis on one stored session and store it in place."""
    from tracker.pipeline import analyze_session  # the processing core (heavy import)

    def result(outcome: Outcome, reason: str = "", rep_count_after: int | None = None) -> ReanalysisResult:
        return ReanalysisResult(record.id, outcome, reason, record.engine_version, record.rep_count, rep_count_after)

    if not force and not needs_reanalysis(record):
        return result("skipped", f"already on engine {ENGINE_VERSION}")
    if record.raw_path is None:
        return result("failed", "no raw samples stored")
    try:
        raw = store.load_raw(record.id)
        analysis = analyze_session(raw, record.exercise, record.side, threshold_deg=record.threshold_deg)
        store.replace_analysis(record.id, analysis)
    except Exception as exc:  # one session's failure must not stop a clinic-wide run; it is reported
        return result("failed", _reason(exc))
    return result("reanalysed", rep_count_after=analysis.summary.rep_count)

def reanalyse_all(
    store: Store,
    records: Iterable[SessionRecord],
    *,
    force: bool = False,
    on_result: Callable[[ReanalysisResult], None] | None = None,
) -> list[ReanalysisResult]:
    results = []
    for record in records:
        result = reanalyse(store, record, force=force)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def _reason(exc: Exception) -> str:
    from tracker.calibration import CalibrationError

    if isinstance(exc, CalibrationError):
        return f"calibration failed: {exc}"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, ValueError) else f"{type(exc).__name__}: {text}"
