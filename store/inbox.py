"""Sessions arriving from home hubs (clinic side): stored exactly once, all or nothing.

A bundle (store/bundle.py, already checked by ``unpack``) becomes a session row, its reps, its pain
report, its files and a ``received_sessions`` row with the bundle's SHA-256 — in one transaction
with the files (``SessionsMixin._write_with_files``), so a crash at any point leaves either the
whole session or nothing. A uid that is already here with the same content and patient is a retry:
it is acknowledged again and nothing is stored twice; anything else under that uid is a conflict.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession

from store._base import _require_aware
from store.bundle import BundleError, SessionBundle
from store.errors import DuplicateError
from store.files.base import Filler
from store.models import PainReportRow, PrescriptionRow, ReceivedSessionRow, SessionRow, utcnow
from store.records import Receipt
from store.sessions import SessionsMixin


class InboxMixin(SessionsMixin):
    """Receive a hub's session bundle; look up what was received."""

    def get_receipt(self, uid: str) -> Receipt | None:
        found = self._stored(uid)
        if found is None or found[2] is None:
            return None
        return _receipt(uid, found[0], found[1], found[2])

    def _stored(self, uid: str) -> tuple[int, int, ReceivedSessionRow | None] | None:
        """The session stored under ``uid`` (id, patient) with its receipt if it came from a hub — one
        statement, so another replica's commit cannot fall between the two."""
        with self._read() as s:
            found = s.execute(
                select(SessionRow.id, SessionRow.patient_id, ReceivedSessionRow)
                .outerjoin(ReceivedSessionRow, ReceivedSessionRow.uid == SessionRow.uid)
                .where(SessionRow.uid == uid)
            ).first()
        return None if found is None else (found[0], found[1], found[2])

    def _known_receipt(self, uid: str, patient_id: int, content_sha256: str) -> Receipt | None:
        """The earlier receipt if this is a retry of it; DuplicateError if the uid is taken otherwise
        (read in one statement: with two reads, another replica committing the same bundle between
        them looked like a session "not from a hub")."""
        found = self._stored(uid)
        if found is None:
            return None
        session_id, stored_for, rec = found
        if rec is None:
            raise DuplicateError(f"a session with uid {uid!r} is already stored (not from a hub)")
        if stored_for != patient_id or rec.content_sha256 != content_sha256:
            raise DuplicateError(f"session uid {uid!r} was already received with different content")
        return _receipt(uid, session_id, stored_for, rec)

    def receive_session(
        self, patient_id: int, bundle: SessionBundle, *, content_sha256: str, device_id: int | None = None,
        now: dt.datetime | None = None,
    ) -> Receipt:  # fmt: skip
        """Store a hub's session for ``patient_id`` once; a retry returns the first receipt."""
        now = _require_aware("now", now) if now is not None else utcnow()
        earlier = self._known_receipt(bundle.uid, patient_id, content_sha256)
        if earlier is not None:
            return earlier

        def make_row(s: OrmSession) -> SessionRow:
            self._patient_row(s, patient_id)
            rx_id = bundle.clinic_prescription_id
            if rx_id is not None:
                rx = s.get(PrescriptionRow, rx_id)
                if rx is None or rx.patient_id != patient_id:
                    raise BundleError(f"clinic_prescription_id {rx_id} is not a prescription of patient {patient_id}")
            row = SessionRow(**bundle.session, uid=bundle.uid, patient_id=patient_id, prescription_id=rx_id, created_at=now)
            s.add(row)
            return row

        def also(s: OrmSession, row: SessionRow) -> None:
            s.add(ReceivedSessionRow(uid=bundle.uid, device_id=device_id, content_sha256=content_sha256, received_at=now))
            if bundle.pain is not None:
                s.add(PainReportRow(session_id=row.id, reported_by=patient_id, created_at=now, **bundle.pain))

        files: dict[str, Filler] = {name: _writer(blob) for name, blob in bundle.files.items()}
        try:
            session_id = self._write_with_files(make_row, files, bundle.reps, also=also)
        except IntegrityError as exc:  # another replica stored the same uid a moment ago
            earlier = self._known_receipt(bundle.uid, patient_id, content_sha256)
            if earlier is not None:
                return earlier
            raise BundleError(f"session {bundle.uid}: the database refused it ({exc.orig})") from exc
        return Receipt(
            uid=bundle.uid, session_id=session_id, patient_id=patient_id, content_sha256=content_sha256,
            received_at=now, created=True,
        )  # fmt: skip


def _receipt(uid: str, session_id: int, patient_id: int, rec: ReceivedSessionRow) -> Receipt:
    return Receipt(
        uid=uid, session_id=session_id, patient_id=patient_id, content_sha256=rec.content_sha256,
        received_at=rec.received_at, created=False,
    )  # fmt: skip


def _writer(data: bytes) -> Filler:
    def fill(f: Any) -> None:
        f.write(data)

    return fill
