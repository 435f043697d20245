"""Alembic creates the schema on both backends and the models match it (no pending autogenerate diff)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from store import Store, db
from store.models import Base

from .conftest import FAST_HASHER


def test_upgrade_head_and_no_pending_diff(db_url: str, data_dir) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(db_url)
    assert db.current_revision(engine) is None
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision() is not None
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    engine.dispose()


def test_downgrade_and_reupgrade(db_url: str, data_dir) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(db_url)
    db.upgrade(engine)
    db.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    s = Store(db_url, data_dir=data_dir, password_hasher=FAST_HASHER)  # Store upgrades on open
    assert s.create_user("again", "long-enough-pw", role="admin").id >= 1
    s.close()
