"""At-home assessments (the article's screening) and the per-patient program settings.

An assessment holds the patient's answers to the questions the sensors cannot answer, points at the
short sets done for it (``sessions.assessment_id``), and keeps the rules' result
(``program.ScreeningResult.to_dict()``) with the therapist's decision on each recommendation.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from program.assessment import DEFAULT_MOBILITY_AFTER_WEEKS
from program.screening import RECOMMENDATION_STATUSES, ScreeningAnswers, ScreeningResult
from store import convert
from store._base import StoreBase, _check_choice
from store.errors import InvalidValueError, NotFoundError
from store.models import AssessmentRow, PatientProgramRow, SessionRow, UserRow, utcnow
from store.records import Assessment, SessionRecord
from tracker.conventions import check_side
from tracker.results import json_safe


class AssessmentsMixin(StoreBase):
    """Start, fill, complete and review assessments; the therapist's N weeks before mobility drills."""

    def start_assessment(self, patient_id: int, side: str, *, answers: dict[str, Any] | None = None) -> Assessment:
        check_side(side)
        parsed = ScreeningAnswers.from_dict(answers)  # validates the keys and values
        with self._tx() as s:
            self._patient_row(s, patient_id)
            row = AssessmentRow(
                patient_id=patient_id, side=side, status="in_progress", answers=parsed.to_dict(), result=None,
                started_at=utcnow(),
            )  # fmt: skip
            s.add(row)
            s.flush()
            return convert.assessment(row)

    def get_assessment(self, assessment_id: int) -> Assessment:
        with self._read() as s:
            row = s.get(AssessmentRow, assessment_id)
            if row is None:
                raise NotFoundError("assessment", assessment_id)
            return convert.assessment(row)

    def list_assessments(self, patient_id: int) -> list[Assessment]:
        """Newest first."""
        stmt = select(AssessmentRow).where(AssessmentRow.patient_id == patient_id).order_by(AssessmentRow.id.desc())
        with self._read() as s:
            return [convert.assessment(r) for r in s.scalars(stmt)]

    def set_assessment_answers(self, assessment_id: int, answers: dict[str, Any]) -> Assessment:
        parsed = ScreeningAnswers.from_dict(answers)
        with self._tx() as s:
            row = self._open_assessment(s, assessment_id)
            row.answers = parsed.to_dict()
            s.flush()
            return convert.assessment(row)

    def add_assessment_session(self, assessment_id: int, session_id: int) -> SessionRecord:
        """Count a stored set as this assessment's (same patient and side); it then leaves trends."""
        with self._tx() as s:
            a = self._open_assessment(s, assessment_id)
            row = s.get(SessionRow, session_id, with_for_update=True)
            if row is None or row.patient_id != a.patient_id:
                raise NotFoundError("session of this patient", session_id)
            if row.side != a.side:
                raise InvalidValueError(f"session {session_id} is on the {row.side} side; the assessment is {a.side}")
            if row.status == "recording":
                raise InvalidValueError(f"session {session_id} is still recording")
            row.assessment_id = a.id
            s.flush()
            return convert.session(row)

    def assessment_sessions(self, assessment_id: int) -> dict[str, SessionRecord]:
        """The assessment's sets by drill (the latest set of each drill)."""
        stmt = select(SessionRow).where(SessionRow.assessment_id == assessment_id).order_by(SessionRow.id)
        with self._read() as s:
            return {r.exercise: convert.session(r) for r in s.scalars(stmt)}

    def complete_assessment(self, assessment_id: int, result: ScreeningResult) -> Assessment:
        with self._tx() as s:
            row = self._open_assessment(s, assessment_id)
            row.result = json_safe(result.to_dict())
            row.status, row.completed_at = "complete", utcnow()
            s.flush()
            return convert.assessment(row)

    def decide_recommendation(
        self, assessment_id: int, drill: str, status: str, *, decided_by: int, note: str = ""
    ) -> Assessment:
        """The therapist confirms or rejects one recommendation; when none is pending any more the
        assessment is ``reviewed``."""
        checked = _check_choice("status", status, RECOMMENDATION_STATUSES)
        with self._tx() as s:
            row = s.get(AssessmentRow, assessment_id, with_for_update=True)
            if row is None:
                raise NotFoundError("assessment", assessment_id)
            if row.result is None:
                raise InvalidValueError(f"assessment {assessment_id} has no result yet")
            result = ScreeningResult.from_dict(row.result).with_decision(drill, checked, note)
            row.result = json_safe(result.to_dict())
            row.reviewed_by, row.reviewed_at = decided_by, utcnow()
            row.status = "complete" if result.pending else "reviewed"
            s.flush()
            return convert.assessment(row)

    def assessments_to_review(self, therapist_id: int) -> list[Assessment]:
        """Completed assessments of this therapist's active patients with a recommendation pending."""
        stmt = (
            select(AssessmentRow)
            .join(UserRow, UserRow.id == AssessmentRow.patient_id)
            .where(UserRow.therapist_id == therapist_id, UserRow.active.is_(True), AssessmentRow.status == "complete")
            .order_by(AssessmentRow.id)
        )
        with self._read() as s:
            return [convert.assessment(r) for r in s.scalars(stmt)]

    @staticmethod
    def _open_assessment(s: Any, assessment_id: int) -> AssessmentRow:
        row = s.get(AssessmentRow, assessment_id, with_for_update=True)
        if row is None:
            raise NotFoundError("assessment", assessment_id)
        if row.status != "in_progress":
            raise InvalidValueError(f"assessment {assessment_id} is {row.status}; start a new one")
        return row

    # -- the article's order: N weeks of strengthening before mobility drills ---------------------
    def mobility_after_weeks(self, patient_id: int) -> int:
        with self._read() as s:
            row = s.get(PatientProgramRow, patient_id)
            return DEFAULT_MOBILITY_AFTER_WEEKS if row is None else int(row.mobility_after_weeks)

    def set_mobility_after_weeks(self, patient_id: int, weeks: int, *, updated_by: int | None) -> int:
        if isinstance(weeks, bool) or int(weeks) != weeks or not 0 <= weeks <= 52:
            raise InvalidValueError(f"mobility_after_weeks must be whole weeks 0–52, got {weeks!r}")
        with self._tx() as s:
            self._patient_row(s, patient_id)
            row = s.get(PatientProgramRow, patient_id)
            if row is None:
                row = PatientProgramRow(patient_id=patient_id)
                s.add(row)
            row.mobility_after_weeks, row.updated_by, row.updated_at = int(weeks), updated_by, utcnow()
            return int(weeks)

