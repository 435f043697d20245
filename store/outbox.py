"""The hub's outbox: which finished sessions the clinic has not acknowledged yet, and how sending goes.

Nothing is enqueued: what waits is *derived* — every complete or recovered session of the patient
whose uid has no acknowledged ``session_outbox`` row. A session stored by any process (the
recorder, a recovery after a crash, an import) is therefore picked up, and nothing can be lost
between storing and enqueueing. ``session_outbox`` only remembers attempts, errors, the next retry
time and the clinic's acknowledgement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql.elements import ColumnElement

from store._base import StoreBase, _require_aware
from store.bundle import LOCAL_REP_COLUMNS, PAIN_FIELDS, SENDABLE_STATUSES, SessionBundle, session_columns
from store.errors import InvalidValueError, NotFoundError
from store.models import OutboxRow, PainReportRow, PlanLinkRow, RepRow, SessionRow, utcnow
from store.raw_files import ANGLES_FILE_NAME, RAW_FILE_NAME
from store.records import OutboxItem, OutboxSummary

ERROR_MAX = 2000  # characters of an error message kept


def _waiting_filter(patient_id: int) -> ColumnElement[bool]:
    return and_(
        SessionRow.patient_id == patient_id,
        SessionRow.status.in_(SENDABLE_STATUSES),
        SessionRow.assessment_id.is_(None),  # check-up sets stay on the hub (not training)
        OutboxRow.acknowledged_at.is_(None),
    )


class OutboxMixin(StoreBase):
    """Hub side: waiting sessions, their bundles, attempts and acknowledgements."""

    def outbox_waiting(
        self, patient_id: int, *, due_at: dt.datetime | None = None, settled_before: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[OutboxItem]:  # fmt: skip
        """Finished sessions of ``patient_id`` the clinic has not acknowledged, oldest first;
        with ``due_at``, only those whose next retry time has come; with ``settled_before``, only
        sessions that ended before it or already have their "pain after" score (the patient answers
        it right after the set, and the score travels with the session)."""
        stmt = (
            select(SessionRow.uid, SessionRow.id, SessionRow.started_at, OutboxRow)
            .outerjoin(OutboxRow, OutboxRow.uid == SessionRow.uid)
            .where(_waiting_filter(patient_id))
            .order_by(SessionRow.started_at, SessionRow.id)
        )
        if due_at is not None:
            due_at = _require_aware("due_at", due_at)
            stmt = stmt.where(or_(OutboxRow.next_attempt_at.is_(None), OutboxRow.next_attempt_at <= due_at))
        if settled_before is not None:
            settled_before = _require_aware("settled_before", settled_before)
            answered = select(PainReportRow.id).where(
                PainReportRow.session_id == SessionRow.id, PainReportRow.pain_after.is_not(None)
            )
            stmt = stmt.where(
                or_(func.coalesce(SessionRow.ended_at, SessionRow.started_at) <= settled_before, answered.exists())
            )
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._read() as s:
            return [
                OutboxItem(
                    uid=uid, session_id=sid, started_at=started, attempts=o.attempts if o else 0,
                    last_attempt_at=o.last_attempt_at if o else None, next_attempt_at=o.next_attempt_at if o else None,
                    last_error=o.last_error if o else None,
                )  # fmt: skip
                for uid, sid, started, o in s.execute(stmt).all()
            ]

    def outbox_summary(self, patient_id: int) -> OutboxSummary:
        with self._read() as s:
            waiting = s.scalar(
                select(func.count()).select_from(SessionRow)
                .outerjoin(OutboxRow, OutboxRow.uid == SessionRow.uid).where(_waiting_filter(patient_id))
            )  # fmt: skip
            mine = (
                select(OutboxRow).join(SessionRow, SessionRow.uid == OutboxRow.uid)
                .where(SessionRow.patient_id == patient_id)
            )  # fmt: skip
            sent, last_sent = s.execute(
                select(func.count(), func.max(OutboxRow.acknowledged_at))
                .join(SessionRow, SessionRow.uid == OutboxRow.uid)
                .where(SessionRow.patient_id == patient_id, OutboxRow.acknowledged_at.is_not(None))
            ).one()
            failing = s.scalars(
                mine.where(OutboxRow.acknowledged_at.is_(None), OutboxRow.last_error.is_not(None))
                .order_by(OutboxRow.last_attempt_at.desc()).limit(1)
            ).first()  # fmt: skip
            next_at = s.scalar(
                select(func.min(OutboxRow.next_attempt_at)).join(SessionRow, SessionRow.uid == OutboxRow.uid)
                .where(SessionRow.patient_id == patient_id, OutboxRow.acknowledged_at.is_(None))
            )  # fmt: skip
        return OutboxSummary(
            waiting=int(waiting or 0), sent=int(sent or 0), last_sent_at=last_sent,
            last_error=failing.last_error if failing else None,
            last_error_at=failing.last_attempt_at if failing else None, next_attempt_at=next_at,
        )  # fmt: skip

    def export_bundle(self, uid: str) -> SessionBundle:
        """The session ``uid`` as the clinic receives it: its rows, pain report and file bytes."""
        with self._read() as s:
            row = s.scalars(select(SessionRow).where(SessionRow.uid == uid)).one_or_none()
            if row is None:
                raise NotFoundError("session with uid", uid)
            if row.status not in SENDABLE_STATUSES:
                raise InvalidValueError(f"session {uid} is {row.status}; only finished sessions are sent")
            session = {c.name: getattr(row, c.key) for c in session_columns()}
            rep_cols = [c for c in RepRow.__table__.columns if c.name not in LOCAL_REP_COLUMNS]
            reps = [
                {c.name: getattr(r, c.key) for c in rep_cols}
                for r in s.scalars(select(RepRow).where(RepRow.session_id == row.id).order_by(RepRow.rep_index))
            ]
            pain_row = s.scalars(select(PainReportRow).where(PainReportRow.session_id == row.id)).one_or_none()
            pain = {k: getattr(pain_row, k) for k in PAIN_FIELDS} if pain_row else None
            clinic_rx = (
                s.scalar(select(PlanLinkRow.clinic_prescription_id).where(PlanLinkRow.prescription_id == row.prescription_id))
                if row.prescription_id is not None else None
            )  # fmt: skip
            paths = {RAW_FILE_NAME: row.raw_path, ANGLES_FILE_NAME: row.angles_path}
        files = {name: self.files.read_bytes(path) for name, path in paths.items() if path}
        return SessionBundle(uid=uid, session=session, reps=reps, files=files, pain=pain, clinic_prescription_id=clinic_rx)

    def _outbox_update(self, uid: str, change: Callable[[OutboxRow], None]) -> None:
        """Create or change the session's outbox row (two hub processes may race to create it)."""

        def apply(s: OrmSession) -> None:
            if s.scalar(select(SessionRow.id).where(SessionRow.uid == uid)) is None:
                raise NotFoundError("session with uid", uid)
            row = s.get(OutboxRow, uid, with_for_update=True)
            if row is None:
                row = OutboxRow(uid=uid, attempts=0)
                s.add(row)
            change(row)

        try:
            with self._tx() as s:
                apply(s)
        except IntegrityError:
            with self._tx() as s:  # the other process created it first: change that one
                apply(s)

    def outbox_attempt(self, uid: str, *, at: dt.datetime | None = None) -> None:
        """An upload of ``uid`` starts now (counted before sending, so a crash mid-upload still counts)."""
        at = _require_aware("at", at) if at is not None else utcnow()

        def change(row: OutboxRow) -> None:
            row.attempts, row.last_attempt_at = row.attempts + 1, at

        self._outbox_update(uid, change)

    def outbox_failed(self, uid: str, error: str, *, retry_at: dt.datetime) -> None:
        retry_at = _require_aware("retry_at", retry_at)

        def change(row: OutboxRow) -> None:
            row.last_error, row.next_attempt_at = error[:ERROR_MAX], retry_at

        self._outbox_update(uid, change)

    def outbox_acknowledged(
        self, uid: str, *, content_sha256: str, clinic_session_id: int | None, at: dt.datetime | None = None
    ) -> None:
        at = _require_aware("at", at) if at is not None else utcnow()

        def change(row: OutboxRow) -> None:
            row.acknowledged_at, row.content_sha256, row.clinic_session_id = at, content_sha256, clinic_session_id
            row.last_error, row.next_attempt_at = None, None

        self._outbox_update(uid, change)
