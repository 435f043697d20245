"""Pain reports: the patient's 0–10 scores before and after a session."""

from __future__ import annotations

from sqlalchemy import select

from program.progression import DIFFICULTIES
from store import convert
from store._base import (
    KEEP,
    StoreBase,
    _check_choice,
    _check_pain,
    _Keep,
)
from store.errors import (
    NotFoundError,
)
from store.models import (
    PainReportRow,
    SessionRow,
    utcnow,
)
from store.records import (
    PainReport,
)


class PainMixin(StoreBase):
    """Create, update and list pain reports."""

    def set_pain_report(
        self,
        session_id: int,
        *,
        pain_before: int | None | _Keep = KEEP,
        pain_after: int | None | _Keep = KEEP,
        note: str | _Keep = KEEP,
        difficulty: str | None | _Keep = KEEP,
        reported_by: int | None = None,
    ) -> PainReport:
        """Create or update the session's pain report (0–10 before/after, free note) and the
        patient's answer how the set felt (``difficulty``: program.DIFFICULTIES).

        Fields left out keep their stored value (so "before" asked at the start and "after" asked
        at the end can be saved separately); pass None to clear a score."""
        with self._tx() as s:
            if s.get(SessionRow, session_id) is None:
                raise NotFoundError("session", session_id)
            row = s.scalars(select(PainReportRow).where(PainReportRow.session_id == session_id)).one_or_none()
            if row is None:
                row = PainReportRow(session_id=session_id, pain_before=None, pain_after=None, note="")
                s.add(row)
            if not isinstance(pain_before, _Keep):
                row.pain_before = _check_pain("pain_before", pain_before)
            if not isinstance(pain_after, _Keep):
                row.pain_after = _check_pain("pain_after", pain_after)
            if not isinstance(note, _Keep):
                row.note = note
            if not isinstance(difficulty, _Keep):
                row.difficulty = None if difficulty is None else _check_choice("difficulty", difficulty, DIFFICULTIES)
            row.reported_by, row.created_at = reported_by, utcnow()
            s.flush()
            return convert.pain(row)

    def get_pain_report(self, session_id: int) -> PainReport | None:
        with self._read() as s:
            row = s.scalars(select(PainReportRow).where(PainReportRow.session_id == session_id)).one_or_none()
            return convert.pain(row) if row else None

    def list_pain_reports(self, patient_id: int) -> list[PainReport]:
        """All of a patient's pain reports, in session order."""
        stmt = (
            select(PainReportRow)
            .join(SessionRow, SessionRow.id == PainReportRow.session_id)
            .where(SessionRow.patient_id == patient_id)
            .order_by(SessionRow.started_at, SessionRow.id)
        )
        with self._read() as s:
            return [convert.pain(r) for r in s.scalars(stmt)]
