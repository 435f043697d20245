"""Sign-in state every dashboard process shares: failed attempts (growing lockouts) and signed-in
browsers (server-side sessions behind a cookie).

Failed attempts are counted per account and per client address. After ``ACCOUNT_FREE_FAILURES``
(resp. ``ADDRESS_FREE_FAILURES``) consecutive failures every further failure locks that key for
``LOCK_BASE_S`` · 2^(n − free), capped at ``LOCK_MAX_S``; while either key is locked no password is
checked at all. A successful sign-in clears the account's count (not the address's: an attacker
holding one valid account must not be able to reset it); a count is forgotten after
``FORGET_AFTER_S`` without failures. Keys are SHA-256 digests (a username box sometimes receives a
password).

A browser session: ``begin_web_session`` (after the password was checked) gives a one-time handoff
code; the browser trades it at the dashboard's own HTTP route for a random token in an HttpOnly
cookie (``claim_web_session``). Only digests of code and token are stored. ``web_session_user``
resolves a token on every page load; sessions end after ``IDLE_TIMEOUT_S`` without use or
``MAX_AGE_S`` in all, and ``end_web_session`` (sign-out) deletes the row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession

from store import convert
from store.accounts import AccountsMixin
from store.errors import NotFoundError, StoreError
from store.models import SignInThrottleRow, UserRow, WebSessionRow, utcnow
from store.records import User

ACCOUNT_FREE_FAILURES = 5
#: Higher: the dashboard serves loopback, so every browser on the machine shares one address.
ADDRESS_FREE_FAILURES = 20
LOCK_BASE_S = 30.0
LOCK_MAX_S = 900.0
FORGET_AFTER_S = 3600.0

IDLE_TIMEOUT_S = 12 * 3600.0
MAX_AGE_S = 7 * 24 * 3600.0
HANDOFF_TTL_S = 120.0
#: ``last_seen_at`` is written at most this often per session (a page load is not a write).
TOUCH_EVERY_S = 60.0


class SignInThrottledError(StoreError):
    """Too many failed sign-ins for this account or from this address; ``wait_s`` says how long."""

    def __init__(self, wait_s: float) -> None:
        self.wait_s = float(wait_s)
        super().__init__(f"too many failed sign-ins; try again in {format_wait(wait_s)}")


def format_wait(wait_s: float) -> str:
    """``45 s`` / ``3 min`` — how long to wait, in words a person reads at a glance."""
    s = max(1, int(-(-wait_s // 1)))
    return f"{s} s" if s < 90 else f"{-(-s // 60)} min"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _account_key(username: str) -> str:
    return _digest("account:" + username.strip().lower())


def _address_key(address: str) -> str:
    return _digest("address:" + address.strip().lower())


def lock_seconds(failures: int, free: int) -> float:
    """The lock a key gets at its ``failures``-th consecutive failure (0 while still free)."""
    if failures < free:
        return 0.0
    return min(LOCK_MAX_S, LOCK_BASE_S * 2.0 ** (failures - free))


@dataclass(frozen=True, slots=True)
class WebSessionStart:
    """What the page needs after a sign-in: the session's id (to end it) and the one-time code."""

    session_id: int
    code: str


@dataclass(frozen=True, slots=True)
class WebSessionToken:
    """What the dashboard's route puts in the cookie (``token``) and for how long (``max_age_s``)."""

    session_id: int
    token: str
    max_age_s: int


class SignInMixin(AccountsMixin):
    """Throttled password checks and server-side browser sessions."""

    # --- failed attempts ------------------------------------------------------------------
    def sign_in_wait_s(self, username: str, address: str | None, *, now: dt.datetime | None = None) -> float:
        """Seconds until this account (and address) may try again; 0 when it may now."""
        now = now or utcnow()
        keys = [_account_key(username)] + ([_address_key(address)] if address else [])
        with self._read() as s:
            rows = s.scalars(select(SignInThrottleRow).where(SignInThrottleRow.key.in_(keys))).all()
        waits = [(r.locked_until - now).total_seconds() for r in rows if r.locked_until is not None]
        return max([0.0, *waits])

    def authenticate_throttled(self, username: str, password: str, *, address: str | None) -> User | None:
        """``authenticate`` behind the lockout: raises `SignInThrottledError` while locked (no
        password is checked then); counts a failure, clears the account's count on success."""
        wait = self.sign_in_wait_s(username, address)
        if wait > 0:
            raise SignInThrottledError(wait)
        user = self.authenticate(username, password)
        if user is None:
            self.record_sign_in_failure(username, address)
        else:
            self.record_sign_in_success(username)
        return user

    def record_sign_in_failure(self, username: str, address: str | None, *, now: dt.datetime | None = None) -> float:
        """Count one failure for the account and the address; returns the lock now in force (s)."""
        now = now or utcnow()
        keys = [(_account_key(username), ACCOUNT_FREE_FAILURES)]
        if address:
            keys.append((_address_key(address), ADDRESS_FREE_FAILURES))
        for attempt in range(2):  # a concurrent first failure may insert the same key: retry once
            try:
                with self._tx() as s:
                    s.execute(
                        delete(SignInThrottleRow).where(
                            SignInThrottleRow.last_failure_at < now - dt.timedelta(seconds=FORGET_AFTER_S)
                        )
                    )
                    return max(self._count_failure(s, key, free, now) for key, free in keys)
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _count_failure(s: OrmSession, key: str, free: int, now: dt.datetime) -> float:
        row = s.get(SignInThrottleRow, key, with_for_update=True)
        if row is None:
            row = SignInThrottleRow(key=key, failures=0, last_failure_at=now)
            s.add(row)
        row.failures += 1
        row.last_failure_at = now
        lock = lock_seconds(row.failures, free)
        row.locked_until = now + dt.timedelta(seconds=lock) if lock > 0 else None
        s.flush()
        return lock

    def record_sign_in_success(self, username: str) -> None:
        with self._tx() as s:
            s.execute(delete(SignInThrottleRow).where(SignInThrottleRow.key == _account_key(username)))

    # --- browser sessions -----------------------------------------------------------------
    def begin_web_session(self, user_id: int, *, now: dt.datetime | None = None) -> WebSessionStart:
        """A pending session for a user whose password was just checked; the code is good once,
        for ``HANDOFF_TTL_S``."""
        now = now or utcnow()
        code = secrets.token_urlsafe(32)
        with self._tx() as s:
            if s.get(UserRow, user_id) is None:
                raise NotFoundError("user", user_id)
            s.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < now))
            row = WebSessionRow(
                user_id=user_id,
                handoff_hash=_digest(code),
                handoff_expires_at=now + dt.timedelta(seconds=HANDOFF_TTL_S),
                created_at=now,
                last_seen_at=now,
                expires_at=now + dt.timedelta(seconds=MAX_AGE_S),
            )
            s.add(row)
            s.flush()
            return WebSessionStart(row.id, code)

    def claim_web_session(self, code: str, *, now: dt.datetime | None = None) -> WebSessionToken:
        """Trade a handoff code (once) for the session's cookie token; unknown, used or expired
        codes raise NotFoundError (one message for all)."""
        now = now or utcnow()
        token = secrets.token_urlsafe(32)
        with self._tx() as s:
            row = s.scalars(
                select(WebSessionRow).where(WebSessionRow.handoff_hash == _digest(code)).with_for_update()
            ).first()
            if row is None or row.handoff_expires_at is None or row.handoff_expires_at < now or row.token_hash:
                raise NotFoundError("sign-in handoff", "code")
            row.token_hash = _digest(token)
            row.handoff_hash = None
            row.handoff_expires_at = None
            row.last_seen_at = now
            max_age = int((row.expires_at - now).total_seconds())
            return WebSessionToken(row.id, token, max_age)

    def web_session_user(self, token: str, *, now: dt.datetime | None = None) -> tuple[User, int] | None:
        """The active user behind a cookie token and the session id; None when the token is unknown,
        signed out, idle longer than IDLE_TIMEOUT_S or older than MAX_AGE_S (those rows are deleted)."""
        if not isinstance(token, str) or not token or len(token) > 256:
            return None
        now = now or utcnow()
        with self._tx() as s:
            row = s.scalars(select(WebSessionRow).where(WebSessionRow.token_hash == _digest(token))).first()
            if row is None:
                return None
            if row.expires_at < now or (now - row.last_seen_at).total_seconds() > IDLE_TIMEOUT_S:
                s.delete(row)
                return None
            user = s.get(UserRow, row.user_id)
            if user is None or not user.active:
                return None
            if (now - row.last_seen_at).total_seconds() >= TOUCH_EVERY_S:
                row.last_seen_at = now
            return convert.user(user), row.id

    def end_web_session(self, session_id: int) -> None:
        """Sign-out: the session's token stops working everywhere at once."""
        with self._tx() as s:
            s.execute(delete(WebSessionRow).where(WebSessionRow.id == session_id))
