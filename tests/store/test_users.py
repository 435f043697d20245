"""Users, passwords (argon2, rehash on login) and access rules, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from store import (
    AccessDeniedError,
    DuplicateError,
    InvalidValueError,
    NotFoundError,
    Store,
)
from store.auth import hash_password, needs_rehash, verify_password

from .conftest import FAST_HASHER


def test_create_and_get_user(store: Store) -> None:
    t = store.create_user("thera", "long-enough-pw", role="therapist", display_name="Dr Thera")
    p = store.create_user("pat", "long-enough-pw", role="patient", therapist_id=t.id)
    assert store.get_user(p.id) == p
    assert store.get_user_by_username("thera") == t
    assert p.therapist_id == t.id and p.is_patient and t.is_therapist
    assert p.display_name == "pat"  # defaults to the username
    assert [u.username for u in store.list_patients(t.id)] == ["pat"]


def test_username_unique_and_validated(store: Store) -> None:
    store.create_user("same", "long-enough-pw", role="admin")
    with pytest.raises(DuplicateError, match="same"):
        store.create_user("same", "long-enough-pw", role="admin")
    with pytest.raises(InvalidValueError, match="username"):
        store.create_user("=cmd|x", "long-enough-pw", role="admin")
    with pytest.raises(InvalidValueError, match="role"):
        store.create_user("x", "long-enough-pw", role="superuser")
    with pytest.raises(InvalidValueError, match="password"):
        store.create_user("short", "abc", role="patient")
    with pytest.raises(NotFoundError, match="therapist"):
        store.create_user("orphan", "long-enough-pw", role="patient", therapist_id=9999)


def test_password_is_argon2_hash_not_plaintext(store: Store) -> None:
    u = store.create_user("u1", "s3cret-password", role="admin")
    with store.engine.connect() as conn:
        stored = conn.exec_driver_sql(f"SELECT password_hash FROM users WHERE id = {int(u.id)}").scalar_one()
    assert stored.startswith("$argon2id$")
    assert "s3cret-password" not in stored
    assert verify_password(stored, "s3cret-password", FAST_HASHER)
    assert not verify_password(stored, "wrong-password", FAST_HASHER)
    assert not verify_password("not-a-hash", "whatever", FAST_HASHER)


def test_authenticate(store: Store) -> None:
    u = store.create_user("u2", "correct-horse", role="patient")
    assert store.authenticate("u2", "correct-horse") == u
    assert store.authenticate("u2", "wrong-horse!") is None
    assert store.authenticate("nobody", "correct-horse") is None
    store.update_user(u.id, active=False)
    assert store.authenticate("u2", "correct-horse") is None


def test_rehash_on_login_upgrades_parameters(db_url: str, data_dir) -> None:  # type: ignore[no-untyped-def]
    weak = Store(db_url, data_dir=data_dir, password_hasher=FAST_HASHER)
    u = weak.create_user("legacy", "legacy-password", role="patient")
    weak.close()
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    s = Store(db_url, data_dir=data_dir, password_hasher=stronger)
    with s.engine.connect() as conn:
        before = conn.exec_driver_sql(f"SELECT password_hash FROM users WHERE id = {int(u.id)}").scalar_one()
    assert needs_rehash(before, stronger)
    assert s.authenticate("legacy", "legacy-password") is not None
    with s.engine.connect() as conn:
        after = conn.exec_driver_sql(f"SELECT password_hash FROM users WHERE id = {int(u.id)}").scalar_one()
    assert after != before and not needs_rehash(after, stronger)
    assert "t=2" in after and "m=16" in after
    assert s.authenticate("legacy", "legacy-password") is not None  # still valid after rehash
    s.close()


def test_default_hasher_parameters() -> None:
    h = hash_password("a-password-ok")
    assert h.startswith("$argon2id$") and "m=65536,t=3,p=4" in h
    assert not needs_rehash(h)


def test_set_password(store: Store) -> None:
    u = store.create_user("u3", "first-password", role="therapist")
    store.set_password(u.id, "second-password")
    assert store.authenticate("u3", "first-password") is None
    assert store.authenticate("u3", "second-password") == u


def test_access_rules(store: Store, clinic: dict, analysis_factory, raw_factory) -> None:  # type: ignore[no-untyped-def]
    from .conftest import T0

    alice, bob, thera, other_t, admin = (clinic[k] for k in ("alice", "bob", "therapist", "other_t", "admin"))
    sa = store.save_session(alice.id, analysis_factory(), raw_factory(), started_at=T0)
    sb = store.save_session(bob.id, analysis_factory(seed=1), raw_factory(seed=1), started_at=T0)
    # a patient sees only their own sessions
    assert store.can_view_session(alice, sa) and not store.can_view_session(alice, sb)
    assert store.can_view_patient(alice, alice.id) and not store.can_view_patient(alice, bob.id)
    # a therapist sees only their own patients
    assert store.can_view_session(thera, sa) and not store.can_view_session(thera, sb)
    assert store.can_view_session(other_t, sb) and not store.can_view_session(other_t, sa)
    assert store.can_edit_prescriptions(thera, alice.id) and not store.can_edit_prescriptions(thera, bob.id)
    assert not store.can_edit_prescriptions(alice, alice.id)
    # admins manage accounts, not clinical data; unknown sessions are never viewable
    assert not store.can_view_session(admin, sa)
    assert not store.can_view_session(thera, 10_000)
    with pytest.raises(AccessDeniedError, match="alice"):
        store.require_session_access(alice, sb)
    store.require_session_access(alice, sa)
    # deactivated users lose access
    store.update_user(alice.id, active=False)
    assert not store.can_view_session(store.get_user(alice.id), sa)
