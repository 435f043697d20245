"""Prescriptions: what a therapist asked a patient to do."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from store import convert
from store._base import (
    StoreBase,
)
from store.errors import (
    InvalidValueError,
    NotFoundError,
)
from store.models import (
    PrescriptionRow,
    utcnow,
)
from store.records import (
    Prescription,
)
from tracker.conventions import (
    DEFAULT_COMPENSATION_THRESHOLD_DEG,
    check_exercise,
    check_side,
)

DEFAULT_SESSIONS_PER_WEEK = 5


class PrescriptionsMixin(StoreBase):
    """Add, change and list prescriptions."""

    def add_prescription(
        self,
        patient_id: int,
        exercise: str,
        side: str,
        *,
        sets: int,
        reps: int,
        target_rom_deg: float | None = None,
        compensation_threshold_deg: float = DEFAULT_COMPENSATION_THRESHOLD_DEG,
        stage: str | None = None,
        hold_target_s: float | None = None,
        sessions_per_week: int = DEFAULT_SESSIONS_PER_WEEK,
        created_by: int | None = None,
    ) -> Prescription:
        check_exercise(exercise)
        check_side(side)
        self._check_prescription_numbers(sets, reps, sessions_per_week, compensation_threshold_deg)
        with self._tx() as s:
            self._patient_row(s, patient_id)
            now = utcnow()
            row = PrescriptionRow(
                patient_id=patient_id,
                exercise=exercise,
                side=side,
                sets=sets,
                reps=reps,
                sessions_per_week=sessions_per_week,
                target_rom_deg=target_rom_deg,
                compensation_threshold_deg=compensation_threshold_deg,
                stage=stage,
                hold_target_s=hold_target_s,
                active=True,
                created_by=created_by,
                created_at=now,
                updated_at=now,
            )
            s.add(row)
            s.flush()
            return convert.prescription(row)

    _EDITABLE = frozenset(
        {"side", "sets", "reps", "sessions_per_week", "target_rom_deg", "compensation_threshold_deg",
         "stage", "hold_target_s", "active"}
    )  # fmt: skip

    def update_prescription(self, prescription_id: int, **changes: Any) -> Prescription:
        unknown = set(changes) - self._EDITABLE
        if unknown:
            raise InvalidValueError(f"cannot change prescription field(s) {', '.join(sorted(unknown))}")
        if "side" in changes:
            check_side(changes["side"])
        with self._tx() as s:
            row = s.get(PrescriptionRow, prescription_id)
            if row is None:
                raise NotFoundError("prescription", prescription_id)
            for k, v in changes.items():
                setattr(row, k, v)
            self._check_prescription_numbers(
                row.sets, row.reps, row.sessions_per_week, row.compensation_threshold_deg
            )
            row.updated_at = utcnow()
            s.flush()
            return convert.prescription(row)

    def get_prescription(self, prescription_id: int) -> Prescription:
        with self._read() as s:
            row = s.get(PrescriptionRow, prescription_id)
            if row is None:
                raise NotFoundError("prescription", prescription_id)
            return convert.prescription(row)

    def list_prescriptions(self, patient_id: int, *, active_only: bool = True) -> list[Prescription]:
        stmt = select(PrescriptionRow).where(PrescriptionRow.patient_id == patient_id).order_by(PrescriptionRow.id)
        if active_only:
            stmt = stmt.where(PrescriptionRow.active.is_(True))
        with self._read() as s:
            return [convert.prescription(r) for r in s.scalars(stmt)]

    @staticmethod
    def _check_prescription_numbers(sets: int, reps: int, per_week: int, threshold_deg: float) -> None:
        if sets < 1 or reps < 1:
            raise InvalidValueError(f"sets and reps must be ≥ 1, got sets={sets}, reps={reps}")
        if per_week < 0:
            raise InvalidValueError(f"sessions_per_week must be ≥ 0, got {per_week}")
        if not threshold_deg > 0:
            raise InvalidValueError(f"compensation_threshold_deg must be > 0, got {threshold_deg}")
