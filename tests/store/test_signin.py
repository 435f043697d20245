"""Sign-in state in the store (both backends): lockouts counted per account and per address, seen by
every process; browser sessions with only digests stored, idle expiry and sign-out."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from store import NotFoundError, Store
from store.models import SignInThrottleRow, WebSessionRow
from store.signin import (
    ACCOUNT_FREE_FAILURES,
    ADDRESS_FREE_FAILURES,
    IDLE_TIMEOUT_S,
    LOCK_BASE_S,
    LOCK_MAX_S,
    SignInThrottledError,
    format_wait,
    lock_seconds,
)

from .conftest import FAST_HASHER


def test_lock_grows_and_is_capped() -> None:
    free = ACCOUNT_FREE_FAILURES
    assert [lock_seconds(n, free) for n in range(1, free)] == [0.0] * (free - 1)
    assert lock_seconds(free, free) == LOCK_BASE_S
    assert lock_seconds(free + 1, free) == 2 * LOCK_BASE_S and lock_seconds(free + 2, free) == 4 * LOCK_BASE_S
    assert lock_seconds(free + 40, free) == LOCK_MAX_S
    assert format_wait(29.2) == "30 s" and format_wait(600) == "10 min"


def test_failures_lock_the_account_for_every_process(db_url: str, data_dir, clinic: dict) -> None:  # type: ignore[no-untyped-def]
    """Two Store objects = two dashboard processes: failures counted by one lock the other."""
    a = Store(db_url, data_dir=data_dir, password_hasher=FAST_HASHER)
    b = Store(db_url, data_dir=data_dir, password_hasher=FAST_HASHER)
    try:
        for i in range(ACCOUNT_FREE_FAILURES):
            store = (a, b)[i % 2]  # alternate "processes" (and addresses: per-account counting)
            assert store.authenticate_throttled("alice", "wrong", address=f"10.0.0.{i}") is None
        with pytest.raises(SignInThrottledError) as info:
            b.authenticate_throttled("alice", "alice-pw-123", address="10.0.0.99")  # even the right password
        assert 0 < info.value.wait_s <= LOCK_BASE_S and "try again in" in str(info.value)
        # another account is not locked by alice's failures
        assert a.authenticate_throttled("bob", "bob-pw-12345", address="10.0.0.1") is not None
        # the next failure after the lock doubles it
        past = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=LOCK_BASE_S + 1)
        assert a.sign_in_wait_s("alice", None, now=past) == 0
        assert a.record_sign_in_failure("alice", None, now=past) == 2 * LOCK_BASE_S
    finally:
        a.close()
        b.close()


def test_success_clears_the_account_not_the_address(store: Store, clinic: dict) -> None:
    for _ in range(ACCOUNT_FREE_FAILURES - 1):
        assert store.authenticate_throttled("alice", "wrong", address="192.0.2.7") is None
    assert store.authenticate_throttled("alice", "alice-pw-123", address="192.0.2.7") is not None
    for _ in range(ACCOUNT_FREE_FAILURES - 1):  # the account starts counting afresh
        assert store.authenticate_throttled("alice", "wrong", address="192.0.2.8") is None
    assert store.sign_in_wait_s("alice", "192.0.2.8") == 0
    with store._read() as s:
        failures = {r.key: r.failures for r in s.scalars(select(SignInThrottleRow))}
    address_key = hashlib.sha256(b"address:192.0.2.7").hexdigest()
    assert failures[address_key] == ACCOUNT_FREE_FAILURES - 1  # kept: a valid account cannot reset it
    assert not any("alice" in k for k in failures)  # digests only


def test_spraying_many_accounts_from_one_address_locks_the_address(store: Store, clinic: dict) -> None:
    for i in range(ADDRESS_FREE_FAILURES):
        assert store.authenticate_throttled(f"guess{i}", "password1", address="203.0.113.5") is None
    with pytest.raises(SignInThrottledError):
        store.authenticate_throttled("alice", "alice-pw-123", address="203.0.113.5")
    assert store.authenticate_throttled("alice", "alice-pw-123", address="203.0.113.6") is not None


def test_web_session_handoff_token_expiry_and_sign_out(store: Store, clinic: dict) -> None:
    alice = clinic["alice"]
    start = store.begin_web_session(alice.id)
    claimed = store.claim_web_session(start.code)
    assert claimed.session_id == start.session_id and claimed.max_age_s > IDLE_TIMEOUT_S
    with pytest.raises(NotFoundError):
        store.claim_web_session(start.code)  # one use only
    with pytest.raises(NotFoundError):
        store.claim_web_session("made-up")
    found = store.web_session_user(claimed.token)
    assert found is not None and found[0].id == alice.id and found[1] == start.session_id
    with store._read() as s:
        row = s.scalars(select(WebSessionRow)).one()
    assert row.token_hash == hashlib.sha256(claimed.token.encode()).hexdigest()  # only the digest is stored
    assert claimed.token not in (row.token_hash, row.handoff_hash)
    # idle longer than the timeout: gone
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=IDLE_TIMEOUT_S + 5)
    assert store.web_session_user(claimed.token, now=later) is None
    assert store.web_session_user(claimed.token) is None  # deleted, not just refused once
    # sign-out revokes at once
    again = store.claim_web_session(store.begin_web_session(alice.id).code)
    assert store.web_session_user(again.token) is not None
    store.end_web_session(again.session_id)
    assert store.web_session_user(again.token) is None
    # a deactivated account's session resolves to nobody
    third = store.claim_web_session(store.begin_web_session(alice.id).code)
    store.update_user(alice.id, active=False)
    assert store.web_session_user(third.token) is None


def test_expired_handoff_code_is_refused(store: Store, clinic: dict) -> None:
    start = store.begin_web_session(clinic["bob"].id)
    with pytest.raises(NotFoundError):
        store.claim_web_session(start.code, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
