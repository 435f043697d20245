"""Progression: the program's rule on a stored prescription and history, suggestions of the next
stage and the therapist's accept/reject."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pandas as pd
from sqlalchemy import select

from program import DRILLS, ProgressionCheck, ProgressionRule
from program.progression import SUGGESTION_KINDS
from store import convert
from store._base import _check_choice
from store.errors import (
    InvalidValueError,
    NotFoundError,
)
from store.models import (
    DECISION_STATUSES,
    PrescriptionRow,
    ProgressionDecisionRow,
    UserRow,
    utcnow,
)
from store.records import Prescription, ProgressionDecision
from store.reports import ReportsMixin
from tracker.results import json_safe


def trend_rows(history: pd.DataFrame) -> pd.DataFrame:
    """The sessions trends, rules and the roster count: finished training sets whose sensors looked
    right (not still recording, not marked "check your sensors", not part of an assessment)."""
    keep = history["status"] != "recording"
    if "sensor_flagged" in history:
        keep &= ~history["sensor_flagged"].astype(bool)
    if "assessment_id" in history:
        keep &= history["assessment_id"].isna()
    return history[keep]


def progression_frame(history: pd.DataFrame, rx: Prescription) -> pd.DataFrame:
    """The history rows (``Store.patient_history``) the program's rule reads for ``rx``
    (columns of ``program.sessions_from_frame``). Sessions stored before a stage was set count at
    the prescription's current stage; sessions still recording, sensor-flagged sets and assessment
    sets count not at all."""
    stage = rx.stage or DRILLS[rx.exercise].default.stage
    df = trend_rows(history).dropna(subset=["mean_peak_hip_flexion_deg", "compensation_rate"])
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
            "difficulty": df.get("difficulty"),
        }
    )


def check_progression(history: pd.DataFrame, rx: Prescription, rule: ProgressionRule | None = None) -> ProgressionCheck:
    """The program's verdict for a stored prescription on a stored history."""
    return (rule or ProgressionRule()).check(rx.to_program(), progression_frame(history, rx))


class ProgressionMixin(ReportsMixin):
    """Suggest, decide and list progression decisions (on the history ReportsMixin reads)."""

    def suggest_progression(
        self,
        prescription_id: int,
        to_stage: str,
        *,
        reason: str = "",
        suggested_by: int | None = None,
        kind: str = "stage",
        to_target_rom_deg: float | None = None,
        evidence: list[dict[str, Any]] | None = None,
    ) -> ProgressionDecision:
        """Store a suggestion, pending the therapist. At most one suggestion per prescription is
        pending: a second identical one returns the first (re-running the rule adds nothing)."""
        _check_choice("kind", kind, SUGGESTION_KINDS)
        if kind == "target_rom" and to_target_rom_deg is None:
            raise InvalidValueError("a target_rom suggestion needs to_target_rom_deg")
        with self._tx() as s:
            rx = s.get(PrescriptionRow, prescription_id, with_for_update=True)
            if rx is None:
                raise NotFoundError("prescription", prescription_id)
            pending = s.scalars(
                select(ProgressionDecisionRow).where(
                    ProgressionDecisionRow.prescription_id == prescription_id, ProgressionDecisionRow.status == "pending"
                )
            ).first()
            if pending is not None and pending.to_stage == to_stage and pending.kind == kind and (
                pending.to_target_rom_deg == to_target_rom_deg
            ):
                return convert.decision(pending)
            if pending is not None:  # the rule now proposes something else: the old one is outdated
                pending.status, pending.decided_at = "rejected", utcnow()
            row = ProgressionDecisionRow(
                patient_id=rx.patient_id,
                prescription_id=rx.id,
                from_stage=rx.stage,
                to_stage=to_stage,
                reason=reason,
                status="pending",
                suggested_by=suggested_by,
                suggested_at=utcnow(),
                kind=kind,
                from_target_rom_deg=rx.target_rom_deg,
                to_target_rom_deg=to_target_rom_deg,
                evidence=json_safe(evidence) if evidence is not None else None,
            )
            s.add(row)
            s.flush()
            return convert.decision(row)

    def decide_progression(self, decision_id: int, *, accept: bool, decided_by: int) -> ProgressionDecision:
        """Accept or reject a suggestion, by a therapist. Accepting moves the prescription to
        ``to_stage`` (and, for a target step, to ``to_target_rom_deg``)."""
        with self._tx() as s:
            row = s.get(ProgressionDecisionRow, decision_id, with_for_update=True)
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
                if row.kind == "target_rom" and row.to_target_rom_deg is not None:
                    rx.target_rom_deg = row.to_target_rom_deg
            s.flush()
            return convert.decision(row)

    def propose_progression(
        self, prescription_id: int, *, rule: ProgressionRule | None = None, suggested_by: int | None = None
    ) -> ProgressionDecision | None:
        """Run the program's rule on the prescription's stored history and keep its suggestion, if
        any, as pending for the therapist (with the per-session evidence). Called after each set."""
        with self._read() as s:
            row = s.get(PrescriptionRow, prescription_id)
            if row is None:
                raise NotFoundError("prescription", prescription_id)
            rx = convert.prescription(row)
        history = self.patient_history(rx.patient_id)
        suggestion = check_progression(history, rx, rule).suggestion
        if suggestion is None:
            return None
        return self.suggest_progression(
            rx.id, suggestion.to_stage, reason=suggestion.summary, suggested_by=suggested_by, kind=suggestion.kind,
            to_target_rom_deg=suggestion.to_target_rom_deg if suggestion.kind == "target_rom" else None,
            evidence=[*({"reason": r} for r in suggestion.reasons), *(asdict(e) for e in suggestion.evidence)],
        )  # fmt: skip

    def pending_progressions(self, therapist_id: int) -> list[ProgressionDecision]:
        """Suggestions awaiting this therapist, over all their active patients (oldest first)."""
        stmt = (
            select(ProgressionDecisionRow)
            .join(UserRow, UserRow.id == ProgressionDecisionRow.patient_id)
            .join(PrescriptionRow, PrescriptionRow.id == ProgressionDecisionRow.prescription_id)
            .where(
                UserRow.therapist_id == therapist_id,
                UserRow.active.is_(True),
                PrescriptionRow.active.is_(True),
                ProgressionDecisionRow.status == "pending",
            )
            .order_by(ProgressionDecisionRow.id)
        )
        with self._read() as s:
            return [convert.decision(r) for r in s.scalars(stmt)]

    def get_progression_decision(self, decision_id: int) -> ProgressionDecision:
        with self._read() as s:
            row = s.get(ProgressionDecisionRow, decision_id)
            if row is None:
                raise NotFoundError("progression decision", decision_id)
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
