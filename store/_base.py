"""The store's foundation: engine, transactions and the small validators every part shares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from store import auth, db
from store.config import StoreConfig, ensure_private_dir, resolve_config
from store.errors import (
    InvalidValueError,
    NotFoundError,
)
from store.files import SessionFiles, open_session_files
from store.models import (
    UserRow,
)

#: Staged/unreferenced session directories younger than this are left alone on open (seconds).
ORPHAN_GRACE_S = 3600.0

def _require_aware(name: str, value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise InvalidValueError(f"{name} {value.isoformat()} has no timezone; pass a UTC-aware datetime")
    return value.astimezone(dt.UTC)


_Choice = TypeVar("_Choice", bound=str)


def _check_choice(name: str, value: str, allowed: tuple[_Choice, ...]) -> _Choice:
    """``value`` if it is one of ``allowed``, typed as ``allowed``'s members (a Literal when they are)."""
    if value not in allowed:
        raise InvalidValueError(f"{name} {value!r} is not one of {', '.join(allowed)}")
    return value


class _Keep:
    """Sentinel type: "leave this field as stored"."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()


def _check_pain(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or int(value) != value or not 0 <= value <= 10:
        raise InvalidValueError(f"{name} must be an integer 0–10, got {value!r}")
    return int(value)



class StoreBase:
    """The database and the session files every part of the store works on (engine, transactions)."""

    def __init__(
        self,
        url: str | None = None,
        *,
        data_dir: Path | str | None = None,
        migrate: bool = True,
        password_hasher: PasswordHasher | None = None,
        orphan_grace_s: float = ORPHAN_GRACE_S,
        files_url: str | None = None,
    ) -> None:
        self.config: StoreConfig = resolve_config(url, data_dir, files_url)
        self.data_dir = ensure_private_dir(self.config.data_dir)
        self.engine: Engine = db.make_engine(self.config.database_url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.files: SessionFiles = open_session_files(self.config.files_url, self.data_dir)
        self.hasher = password_hasher or auth.DEFAULT_HASHER
        self.orphan_grace_s = orphan_grace_s
        if migrate:
            db.upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[OrmSession]:
        with self._sessions.begin() as s:
            yield s

    @contextmanager
    def _read(self) -> Iterator[OrmSession]:
        with self._sessions() as s:
            yield s

    @staticmethod
    def _patient_row(s: OrmSession, patient_id: int) -> UserRow:
        row = s.get(UserRow, patient_id)
        if row is None or row.role != "patient":
            raise NotFoundError("patient", patient_id)
        return row
