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


def test_0002_renames_suggested_to_pending_and_back(db_url: str, data_dir) -> None:  # type: ignore[no-untyped-def]
    """A suggestion stored before 0002 ('suggested') reads as the program's 'pending' afterwards."""
    from sqlalchemy import text

    engine = db.make_engine(db_url)
    db.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, username, display_name, role, password_hash, active, created_at) "
                          "VALUES (1, 'p', 'P', 'patient', 'x', true, CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO prescriptions (id, patient_id, exercise, side, sets, reps, sessions_per_week, "
                          "compensation_threshold_deg, active, created_at, updated_at) VALUES "
                          "(1, 1, 'knee_raise', 'left', 1, 10, 3, 10.0, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO progression_decisions (patient_id, prescription_id, to_stage, reason, status, "
                          "suggested_at) VALUES (1, 1, 'floor', '', 'suggested', CURRENT_TIMESTAMP)"))
    db.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM progression_decisions")).scalar_one() == "pending"
    db.downgrade(engine, "0001")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM progression_decisions")).scalar_one() == "suggested"
    engine.dispose()


def test_upgrading_a_store_with_data_keeps_every_row(db_url: str, data_dir) -> None:  # type: ignore[no-untyped-def]
    """A home hub upgraded from the first schema keeps every session, rep and pain report. On SQLite,
    batch mode rebuilds `sessions`; with foreign keys enforced that drop once cascade-deleted every
    rep and pain report (store/migrations/env.py switches enforcement off for the migration)."""
    from sqlalchemy import text

    engine = db.make_engine(db_url)
    db.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, username, display_name, role, password_hash, active, created_at) "
                          "VALUES (1, 'p', 'P', 'patient', 'x', true, CURRENT_TIMESTAMP)"))
        for sid in (1, 2):
            conn.execute(text(
                "INSERT INTO sessions (id, patient_id, exercise, side, started_at, status, source, sensors, calibration, "
                "threshold_deg, rep_count, full_rep_count, partial_rep_count, compensation_count, set_count, created_at) "
                f"VALUES ({sid}, 1, 'knee_raise', 'left', CURRENT_TIMESTAMP, 'complete', 'recorded', "
                "'{\"recording\": \"rec-" + str(sid) + "\"}', '{}', 10, 2, 2, 0, 0, 1, CURRENT_TIMESTAMP)"))
            for k in (1, 2):
                conn.execute(text("INSERT INTO reps (session_id, rep_index, partial, compensation, set_index) "
                                  f"VALUES ({sid}, {k}, false, false, 0)"))
            conn.execute(text("INSERT INTO pain_reports (session_id, pain_before, pain_after, note, created_at) "
                              f"VALUES ({sid}, 3, 2, '', CURRENT_TIMESTAMP)"))
    db.upgrade(engine)
    with engine.connect() as conn:
        counts = [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in ("sessions", "reps", "pain_reports")]
        uids = sorted(conn.execute(text("SELECT uid FROM sessions")).scalars())
    assert counts == [2, 4, 2]
    assert uids == ["rec-1", "rec-2"]  # 0003 takes the recording's uid where the recorder noted it
    engine.dispose()
