"""Access rules: who may see which patient's data and edit their prescriptions (least privilege)."""

from __future__ import annotations

from sqlalchemy import select

from store._base import (
    StoreBase,
)
from store.errors import (
    AccessDeniedError,
)
from store.models import (
    SessionRow,
    UserRow,
)
from store.records import (
    User,
)


class AccessMixin(StoreBase):
    """Patients see themselves, therapists their own patients, admins no clinical data."""

    def can_view_patient(self, user: User, patient_id: int) -> bool:
        if not user.active:
            return False
        if user.is_patient:
            return user.id == patient_id
        if user.is_therapist:
            with self._read() as s:
                owner = s.scalar(select(UserRow.therapist_id).where(UserRow.id == patient_id, UserRow.role == "patient"))
            return owner == user.id
        return False  # admins manage accounts, not clinical data

    def can_edit_prescriptions(self, user: User, patient_id: int) -> bool:
        return user.is_therapist and self.can_view_patient(user, patient_id)

    def can_view_session(self, user: User, session_id: int) -> bool:
        with self._read() as s:
            patient_id = s.scalar(select(SessionRow.patient_id).where(SessionRow.id == session_id))
        return patient_id is not None and self.can_view_patient(user, patient_id)

    def require_session_access(self, user: User, session_id: int) -> None:
        if not self.can_view_session(user, session_id):
            raise AccessDeniedError(f"user {user.username!r} may not view session {session_id}")
