"""A session's rows and files appear together or not at all; orphans are cleaned; files are private."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store import Store
from store.models import RepRow, SessionRow

from .conftest import FAST_HASHER, T0, Interrupted, interrupt


def _visible(store: Store) -> tuple[int, int, list[str]]:
    with store.engine.connect() as conn:
        n_sessions = conn.execute(select(func.count()).select_from(SessionRow)).scalar_one()
        n_reps = conn.execute(select(func.count()).select_from(RepRow)).scalar_one()
    return n_sessions, n_reps, sorted(p.name for p in (store.data_dir / "sessions").iterdir())


@pytest.mark.parametrize("where", ["parquet", "reps", "publish", "commit"])
def test_interrupted_write_leaves_nothing(
    where: str, store: Store, clinic: dict, analysis_factory, raw_factory, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    pid = clinic["alice"].id
    kept = store.save_session(pid, analysis_factory(), raw_factory(duration_s=2), started_at=T0)
    before = _visible(store)

    interrupt("angles" if where == "parquet" else where, monkeypatch)  # parquet: dies after the raw file
    with pytest.raises(Interrupted):
        store.save_session(pid, analysis_factory(seed=2), raw_factory(duration_s=2, seed=2), started_at=T0)
    monkeypatch.undo()
    assert _visible(store) == before
    assert [r.id for r in store.list_sessions(pid)] == [kept]
    assert store.load_session(kept).raw is not None


def test_orphans_cleaned_on_open(store: Store, clinic: dict, analysis_factory, raw_factory, db_url: str) -> None:  # type: ignore[no-untyped-def]
    sid = store.save_session(clinic["alice"].id, analysis_factory(), raw_factory(duration_s=1), started_at=T0)
    root = store.data_dir / "sessions"
    # a crash after staging, and a crash after the rename but before the commit
    staged = root / ".tmp-deadbeef"
    staged.mkdir()
    (staged / "raw.parquet").write_bytes(b"partial")
    unreferenced = root / "0123456789abcdef"
    unreferenced.mkdir()
    fresh = root / ".tmp-inflight"  # another process's write in progress: too young to touch
    fresh.mkdir()
    old = time.time() - 7200
    for p in (staged, unreferenced):
        os.utime(p, (old, old))
    store.close()
    reopened = Store(db_url, data_dir=store.data_dir, password_hasher=FAST_HASHER)
    assert not staged.exists() and not unreferenced.exists()
    assert fresh.exists()
    assert reopened.load_session(sid).raw is not None
    assert reopened.clean_orphans(older_than_s=0) == ["sessions/.tmp-inflight"]
    reopened.close()


def test_private_permissions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REHAB_DATABASE_URL", raising=False)
    old_umask = os.umask(0o022)
    try:
        data = tmp_path / "nested" / "rehab"
        s = Store(data_dir=data, password_hasher=FAST_HASHER)  # default: SQLite inside the data dir
        assert s.config.is_sqlite and s.config.database_url.endswith("rehab.sqlite3")
        db_file = data / "rehab.sqlite3"
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        assert stat.S_IMODE(db_file.stat().st_mode) == 0o600
        assert stat.S_IMODE((data / "sessions").stat().st_mode) == 0o700
        s.close()
    finally:
        os.umask(old_umask)


def test_config_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from store import StoreConfigError, resolve_config

    monkeypatch.delenv("REHAB_DATABASE_URL", raising=False)
    monkeypatch.setenv("REHAB_DATA_DIR", str(tmp_path / "envdir"))
    assert resolve_config().data_dir == tmp_path / "envdir"
    assert resolve_config().database_url == f"sqlite:///{tmp_path / 'envdir' / 'rehab.sqlite3'}"
    (tmp_path / "envdir").mkdir()
    (tmp_path / "envdir" / "config.toml").write_text('database_url = "postgresql://u@h/db"\n')
    assert resolve_config().database_url == "postgresql+psycopg://u@h/db"
    monkeypatch.setenv("REHAB_DATABASE_URL", "sqlite:///x.db")
    assert resolve_config().database_url == "sqlite:///x.db"
    assert resolve_config("sqlite:///y.db").database_url == "sqlite:///y.db"
    with pytest.raises(StoreConfigError, match="mysql"):
        resolve_config("mysql://h/db")
