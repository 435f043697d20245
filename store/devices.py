"""Pairing home hubs (clinic side): one-time enrolment codes, device tokens, revocation.

A therapist creates a code for a patient (valid ``ENROLMENT_CODE_TTL``, usable once); the hub
exchanges it for a device token. Both secrets are random and shown exactly once; the database keeps
only their SHA-256 (a code has 50 random bits and is rate-limited and short-lived, a token 256 bits,
so a slow password hash would add nothing). A token is bound to its patient; revoking it is final.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets

from sqlalchemy import select, update

from store import convert
from store._base import StoreBase, _require_aware
from store.errors import InvalidValueError, NotFoundError, StoreError
from store.models import DeviceRow, EnrolmentCodeRow, UserRow, utcnow
from store.records import Device, EnrolmentCode, PairedDevice

ENROLMENT_CODE_TTL = dt.timedelta(minutes=15)
#: Crockford's base32: no I, L, O or U, so a code read aloud or typed from paper is unambiguous.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10  # 50 bits
_LOOKALIKES = str.maketrans("OIL", "011")
TOKEN_PREFIX = "rht_"
DEVICE_NAME_MAX = 100
#: last_seen_at is written at most this often per device (every request would be a write).
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)


class EnrolmentRefusedError(StoreError):
    """An enrolment code that cannot be used; ``reason`` says why (for the log, not the client)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"enrolment code refused: {reason}")
        self.reason = reason


def normalize_code(code: str) -> str:
    """Upper case without separators; the letters people confuse with digits read as those digits."""
    s = code.strip().upper().replace("-", "").replace(" ", "")
    return s.translate(_LOOKALIKES)


def format_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class DevicesMixin(StoreBase):
    """Enrolment codes, device tokens, revocation."""

    def create_enrolment_code(
        self, patient_id: int, *, created_by: int | None, now: dt.datetime | None = None,
        ttl: dt.timedelta = ENROLMENT_CODE_TTL,
    ) -> EnrolmentCode:  # fmt: skip
        """A fresh one-time code for ``patient_id`` (the code is in the result only)."""
        now = _require_aware("now", now) if now is not None else utcnow()
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        with self._tx() as s:
            patient = self._patient_row(s, patient_id)
            if not patient.active:
                raise InvalidValueError(f"patient {patient_id} is deactivated; reactivate the account first")
            row = EnrolmentCodeRow(
                patient_id=patient_id, code_hash=secret_hash(code), created_by=created_by, created_at=now,
                expires_at=now + ttl,
            )  # fmt: skip
            s.add(row)
            s.flush()
            return EnrolmentCode(id=row.id, patient_id=patient_id, code=format_code(code), expires_at=row.expires_at)

    def redeem_enrolment_code(
        self, code: str, *, device_name: str, now: dt.datetime | None = None
    ) -> PairedDevice:
        """Use a code once: a new device for its patient and that device's token.

        Raises EnrolmentRefusedError (unknown, expired, already used, patient deactivated)."""
        now = _require_aware("now", now) if now is not None else utcnow()
        name = device_name.strip()
        if not name or len(name) > DEVICE_NAME_MAX or not name.isprintable():
            raise InvalidValueError(f"device name {device_name!r}: 1–{DEVICE_NAME_MAX} printable characters")
        digest = secret_hash(normalize_code(code))
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._tx() as s:
            # One conditional UPDATE: of two hubs redeeming the same code at once, exactly one wins.
            claimed = s.execute(
                update(EnrolmentCodeRow)
                .where(EnrolmentCodeRow.code_hash == digest, EnrolmentCodeRow.used_at.is_(None),
                       EnrolmentCodeRow.expires_at > now)  # fmt: skip
                .values(used_at=now)
                .returning(EnrolmentCodeRow.id, EnrolmentCodeRow.patient_id, EnrolmentCodeRow.created_by)
            ).first()
            if claimed is None:
                row = s.scalars(select(EnrolmentCodeRow).where(EnrolmentCodeRow.code_hash == digest)).first()
                if row is None:
                    raise EnrolmentRefusedError("unknown code")
                raise EnrolmentRefusedError("already used" if row.used_at is not None else "expired")
            patient = s.get(UserRow, claimed.patient_id)
            if patient is None or not patient.active or patient.role != "patient":
                raise EnrolmentRefusedError("the patient's account is deactivated")
            device = DeviceRow(
                patient_id=claimed.patient_id, name=name, token_hash=secret_hash(token),
                created_by=claimed.created_by, created_at=now,
            )  # fmt: skip
            s.add(device)
            s.flush()
            s.execute(update(EnrolmentCodeRow).where(EnrolmentCodeRow.id == claimed.id).values(device_id=device.id))
            return PairedDevice(device=convert.device(device), token=token, patient=convert.user(patient))

    def authenticate_device(self, token: str, *, now: dt.datetime | None = None) -> Device | None:
        """The device this token belongs to (revoked ones included: the caller says why it refuses),
        or None for an unknown token. Notes when the device was last seen."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        now = _require_aware("now", now) if now is not None else utcnow()
        digest = secret_hash(token)
        with self._read() as s:
            row = s.scalars(select(DeviceRow).where(DeviceRow.token_hash == digest)).one_or_none()
            if row is None:
                return None
            found = convert.device(row)
        if found.active and (found.last_seen_at is None or now - found.last_seen_at >= LAST_SEEN_RESOLUTION):
            with self._tx() as s:
                s.execute(update(DeviceRow).where(DeviceRow.id == found.id).values(last_seen_at=now))
            found = dataclasses.replace(found, last_seen_at=now)
        return found

    def get_device(self, device_id: int) -> Device:
        with self._read() as s:
            row = s.get(DeviceRow, device_id)
            if row is None:
                raise NotFoundError("device", device_id)
            return convert.device(row)

    def list_devices(self, patient_id: int) -> list[Device]:
        """A patient's devices, newest first (revoked ones too)."""
        stmt = select(DeviceRow).where(DeviceRow.patient_id == patient_id).order_by(DeviceRow.id.desc())
        with self._read() as s:
            return [convert.device(r) for r in s.scalars(stmt)]

    def revoke_device(self, device_id: int, *, revoked_by: int | None, now: dt.datetime | None = None) -> Device:
        """Revoke a device's token for good (revoking twice keeps the first time)."""
        now = _require_aware("now", now) if now is not None else utcnow()
        with self._tx() as s:
            row = s.get(DeviceRow, device_id, with_for_update=True)
            if row is None:
                raise NotFoundError("device", device_id)
            if row.revoked_at is None:
                row.revoked_at, row.revoked_by = now, revoked_by
            s.flush()
            return convert.device(row)
