"""Progression: the program's rule on a stored prescription and history, suggestions of the next
stage and the therapist's accept/reject."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from program import DRILLS, ProgressionCheck, ProgressionRule
from store import convert
from store._base import (
    StoreBase,
    _check_choice,
)
from store.errors import (
    InvalidValueError,
    NotFoundError,
)
from store.models import (
    DECISION_STATUSES,
    PrescriptionRow,
    ProgressionDecisionRow,
    utcnow,
)
from store.records import Prescription, ProgressionDecision


def progression_frame(history: pd.DataFrame, rx: Prescription) -> pd.DataFrame:
    """The history rows (``Store.patient_history``) the program's rule reads for ``rx``
    (columns of ``program.sessions_from_frame``). Sessions stored before a stage was set count at
    the prescription's current stage; sessions still recording count not at all."""
    stage = rx.stage or DRILLS[rx.exercise].default.stage
    df = history[(history["status"] != "recording")].dropna(subset=["mean_peak_hip_flexion_deg", "compensation_rate"])
    return pd.DataFrame(
        {
            "drill": df["exercise"],
            "stage": df["stage"].fillna(stage),
            "rep_count": df["full_rep_count"],
            "mean_peak_hip_flexion_deg": df["mean_peak_hip_flexion_deg"],
            "compensation_rate": df["compensation_rate"],
            "started_at": df["started_at"],
            "side": df["side"],
            "session_id": df["session_id"].astype(str),
        }
    )


def check_progression(history: pd.DataFrame, rx: Prescription, rule: ProgressionRule | None = None) -> ProgressionCheck:
    """The program's verdict for a stored prescription on a stored history."""
    return (rule or ProgressionRule()).check(rx.to_program(), progression_frame(history, rx))


class ProgressionMixin(StoreBase):
    """Suggest, decide and list progression decisions."""

    def suggest_progression(
        self, prescription_id: int, to_stage: str, *, reason: str = "", suggested_by: int | None = None
    ) -> ProgressionDecision:
        with self._tx() as s:
            rx = s.get(PrescriptionRow, prescription_id)
            if rx is None:
                raise NotFoundError("prescription", prescription_id)
            row = ProgressionDecisionRow(
                patient_id=rx.patient_id,
                prescription_id=rx.id,
                from_stage=rx.stage,
                to_stage=to_stage,
                reason=reason,
                status="pending",
                suggested_by=suggested_by,
                suggested_at=utcnow(),
            )
            s.add(row)
            s.flush()
            return convert.decision(row)

    def decide_progression(self, decision_id: int, *, accept: bool, decided_by: int) -> ProgressionDecision:
        """Accept (the prescription moves to ``to_stage``) or reject a suggestion, by a therapist."""
        with self._tx() as s:
            row = s.get(ProgressionDecisionRow, decision_id)
            if row is None:
                raise NotFoundError("progression decision", decision_id)
            if row.status != "pending":
                raise InvalidValueError(f"progression decision {decision_id} is already {row.status}")
            row.status = "accepted" if accept else "rejected"
            row.decided_by, row.decided_at = decided_by, utcnow()
            if accept:
                rx = s.get(PrescriptionRow, row.prescription_id)
                assert rx is not None
                rx.stage, rx.updated_at = row.to_stage, utcnow()
            s.flush()
            return convert.decision(row)

    def list_progression_decisions(
        self, patient_id: int, *, status: str | None = None
    ) -> list[ProgressionDecision]:
        stmt = (
            select(ProgressionDecisionRow)
            .where(ProgressionDecisionRow.patient_id == patient_id)
            .order_by(ProgressionDecisionRow.id)
        )
        if status is not None:
            stmt = stmt.where(ProgressionDecisionRow.status == _check_choice("status", status, DECISION_STATUSES))
        with self._read() as s:
            return [convert.decision(r) for r in s.scalars(stmt)]
