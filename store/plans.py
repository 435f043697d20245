"""A patient's plan as the clinic publishes it and a hub mirrors it (the clinic is the authority).

``plan_document`` (clinic) is the patient's active prescriptions — drill, side, sets × reps,
target, compensation threshold, stage, hold — and their stage changes, as JSON. ``plan_etag`` is
its content hash (a hub asks with If-None-Match and gets 304 when nothing changed).
``apply_plan`` (hub) makes the local prescriptions of the paired patient exactly the clinic's:
changed ones are updated in place, new ones added, ones the clinic no longer lists deactivated —
so the next set the patient records uses what the therapist set.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from store._base import StoreBase
from store.errors import InvalidValueError
from store.models import PlanLinkRow, PrescriptionRow, ProgressionDecisionRow, UserRow, utcnow
from tracker.conventions import check_exercise, check_side

PLAN_FORMAT = "rehab.plan/1"
#: The prescription fields a plan carries (and a hub copies).
PLAN_FIELDS = (
    "exercise", "side", "sets", "reps", "sessions_per_week", "target_rom_deg", "compensation_threshold_deg",
    "stage", "hold_target_s",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PlanChange:
    """What ``apply_plan`` did to the hub's local prescriptions."""

    added: int
    updated: int
    deactivated: int

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deactivated)


def plan_etag(plan: dict[str, Any]) -> str:
    body = json.dumps(plan, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _check_entry(i: int, entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), int):
        raise InvalidValueError(f"plan prescriptions[{i}] must be an object with an integer id")
    missing = [k for k in PLAN_FIELDS if k not in entry]
    if missing:
        raise InvalidValueError(f"plan prescriptions[{i}]: missing {', '.join(missing)}")
    check_exercise(entry["exercise"])
    check_side(entry["side"])
    for k in ("sets", "reps", "sessions_per_week"):
        if isinstance(entry[k], bool) or not isinstance(entry[k], int):
            raise InvalidValueError(f"plan prescriptions[{i}].{k} must be an integer, got {entry[k]!r}")
    return entry


class PlansMixin(StoreBase):
    """The clinic's plan document; the hub's mirror of it."""

    def plan_document(self, patient_id: int) -> dict[str, Any]:
        with self._read() as s:
            patient = self._patient_row(s, patient_id)
            rxs = s.scalars(
                select(PrescriptionRow)
                .where(PrescriptionRow.patient_id == patient_id, PrescriptionRow.active.is_(True))
                .order_by(PrescriptionRow.id)
            ).all()
            changes = s.scalars(
                select(ProgressionDecisionRow)
                .where(ProgressionDecisionRow.patient_id == patient_id, ProgressionDecisionRow.status == "accepted")
                .order_by(ProgressionDecisionRow.id)
            ).all()
            return {
                "format": PLAN_FORMAT,
                "patient": {"id": patient.id, "username": patient.username, "display_name": patient.display_name},
                "prescriptions": [
                    {"id": r.id, **{k: getattr(r, k) for k in PLAN_FIELDS}, "updated_at": r.updated_at.isoformat()}
                    for r in rxs
                ],
                "stage_changes": [
                    {"prescription_id": d.prescription_id, "from_stage": d.from_stage, "to_stage": d.to_stage,
                     "decided_at": d.decided_at.isoformat() if d.decided_at else None}  # fmt: skip
                    for d in changes
                ],
            }

    def apply_plan(self, patient_id: int, plan: dict[str, Any]) -> PlanChange:
        """Make ``patient_id``'s local prescriptions exactly the plan's (one transaction)."""
        if not isinstance(plan, dict) or plan.get("format") != PLAN_FORMAT:
            raise InvalidValueError(f"plan format {plan.get('format') if isinstance(plan, dict) else plan!r}, "
                                    f"expected {PLAN_FORMAT!r}")  # fmt: skip
        entries = plan.get("prescriptions")
        if not isinstance(entries, list):
            raise InvalidValueError("plan prescriptions must be a list")
        wanted = {entry["id"]: entry for entry in (_check_entry(i, e) for i, e in enumerate(entries))}
        added = updated = deactivated = 0
        now = utcnow()
        with self._tx() as s:
            patient = s.get(UserRow, patient_id)
            if patient is None or patient.role != "patient":
                raise InvalidValueError(f"local user {patient_id} is not a patient")
            links = {
                link.clinic_prescription_id: link
                for link in s.scalars(
                    select(PlanLinkRow).join(PrescriptionRow, PrescriptionRow.id == PlanLinkRow.prescription_id)
                    .where(PrescriptionRow.patient_id == patient_id)
                )  # fmt: skip
            }
            kept: set[int] = set()
            for clinic_id, entry in wanted.items():
                values = {k: entry[k] for k in PLAN_FIELDS}
                link = links.get(clinic_id)
                rx = s.get(PrescriptionRow, link.prescription_id) if link is not None else None
                if rx is None:
                    rx = PrescriptionRow(patient_id=patient_id, active=True, created_at=now, updated_at=now, **values)
                    s.add(rx)
                    s.flush()
                    s.add(PlanLinkRow(clinic_prescription_id=clinic_id, prescription_id=rx.id))
                    added += 1
                elif not rx.active or any(getattr(rx, k) != v for k, v in values.items()):
                    for k, v in values.items():
                        setattr(rx, k, v)
                    rx.active, rx.updated_at = True, now
                    updated += 1
                kept.add(rx.id)
            for rx in s.scalars(
                select(PrescriptionRow).where(PrescriptionRow.patient_id == patient_id, PrescriptionRow.active.is_(True))
            ):
                if rx.id not in kept:  # the clinic no longer prescribes it (or it was never the clinic's)
                    rx.active, rx.updated_at = False, now
                    deactivated += 1
        return PlanChange(added=added, updated=updated, deactivated=deactivated)
