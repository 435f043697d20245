"""Accounts: users, their roles and passwords (argon2 hashes only)."""

from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from store import auth, convert
from store._base import (
    StoreBase,
    _check_choice,
)
from store.errors import (
    DuplicateError,
    InvalidValueError,
    NotFoundError,
)
from store.models import (
    ROLES,
    UserRow,
)
from store.records import (
    User,
)

USERNAME_MAX = 64
_USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-")


class AccountsMixin(StoreBase):
    """Create, find, update and authenticate users."""

    def create_user(
        self,
        username: str,
        password: str,
        *,
        role: str,
        display_name: str | None = None,
        therapist_id: int | None = None,
    ) -> User:
        _check_choice("role", role, ROLES)
        if not username or len(username) > USERNAME_MAX or not set(username) <= _USERNAME_CHARS:
            raise InvalidValueError(
                f"username {username!r} must be 1–{USERNAME_MAX} characters of letters, digits and . _ @ -"
            )
        if therapist_id is not None and role != "patient":
            raise InvalidValueError(f"only patients have a therapist (role {role!r} given therapist_id)")
        password_hash = auth.hash_password(password, self.hasher)
        try:
            with self._tx() as s:
                if therapist_id is not None:
                    t = s.get(UserRow, therapist_id)
                    if t is None or t.role != "therapist":
                        raise NotFoundError("therapist", therapist_id)
                row = UserRow(
                    username=username,
                    display_name=display_name if display_name is not None else username,
                    role=role,
                    password_hash=password_hash,
                    therapist_id=therapist_id,
                    active=True,
                )
                s.add(row)
                s.flush()
                return convert.user(row)
        except IntegrityError as exc:
            raise DuplicateError(f"username {username!r} is already taken") from exc

    def get_user(self, user_id: int) -> User:
        with self._read() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFoundError("user", user_id)
            return convert.user(row)

    def get_user_by_username(self, username: str) -> User:
        with self._read() as s:
            row = s.scalars(select(UserRow).where(UserRow.username == username)).one_or_none()
            if row is None:
                raise NotFoundError("user", username)
            return convert.user(row)

    def list_users(self, *, role: str | None = None) -> list[User]:
        stmt = select(UserRow).order_by(UserRow.id)
        if role is not None:
            stmt = stmt.where(UserRow.role == _check_choice("role", role, ROLES))
        with self._read() as s:
            return [convert.user(r) for r in s.scalars(stmt)]

    def list_patients(self, therapist_id: int | None = None) -> list[User]:
        stmt = select(UserRow).where(UserRow.role == "patient").order_by(UserRow.display_name, UserRow.id)
        if therapist_id is not None:
            stmt = stmt.where(UserRow.therapist_id == therapist_id)
        with self._read() as s:
            return [convert.user(r) for r in s.scalars(stmt)]

    def update_user(
        self,
        user_id: int,
        *,
        display_name: str | None = None,
        therapist_id: int | None = None,
        active: bool | None = None,
    ) -> User:
        with self._tx() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFoundError("user", user_id)
            if display_name is not None:
                row.display_name = display_name
            if therapist_id is not None:
                t = s.get(UserRow, therapist_id)
                if row.role != "patient" or t is None or t.role != "therapist":
                    raise InvalidValueError(f"cannot assign therapist {therapist_id} to user {user_id}")
                row.therapist_id = therapist_id
            if active is not None:
                row.active = active
            s.flush()
            return convert.user(row)

    def set_password(self, user_id: int, password: str) -> None:
        password_hash = auth.hash_password(password, self.hasher)
        with self._tx() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFoundError("user", user_id)
            row.password_hash = password_hash

    def authenticate(self, username: str, password: str) -> User | None:
        """The active user with this username and password, else None. Rehashes outdated hashes."""
        with self._read() as s:
            row = s.scalars(select(UserRow).where(UserRow.username == username)).one_or_none()
        if row is None:
            auth.verify_password(_dummy_hash(self.hasher), password, self.hasher)  # same cost as a miss
            return None
        if not auth.verify_password(row.password_hash, password, self.hasher) or not row.active:
            return None
        if auth.needs_rehash(row.password_hash, self.hasher):
            new_hash = self.hasher.hash(password)
            with self._tx() as s:
                s.execute(update(UserRow).where(UserRow.id == row.id).values(password_hash=new_hash))
        return convert.user(row)


_HASH_CACHE: dict[str, str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    key = f"{hasher.time_cost}:{hasher.memory_cost}:{hasher.parallelism}"
    if key not in _HASH_CACHE:
        _HASH_CACHE[key] = hasher.hash("not-a-real-password")
    return _HASH_CACHE[key]
