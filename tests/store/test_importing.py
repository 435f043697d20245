"""`rehab import` / `rehab export` / `rehab db` through the real CLI, on both backends.

The full round trip (simulate → import → export → re-import) needs tracker.pipeline and is skipped
until the processing core exists."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from rehab.commands import storage
from store import Store
from store.db import head_revision
from store.models import SessionRow, UserRow
from tracker.rawcsv import write_raw_csv

from .conftest import FAST_HASHER, T0, make_raw


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    storage.register(app)

    @app.callback()
    def _root() -> None:  # keeps sub-commands addressed by name
        pass

    return app


def _run(cli: typer.Typer, args: list[str], db_url: str, data_dir: Path, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, [*args, "--database-url", db_url, "--data-dir", str(data_dir)], input=stdin)


def _count(store: Store, table) -> int:  # type: ignore[no-untyped-def]
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_db_upgrade_and_create_user(cli: typer.Typer, db_url: str, data_dir: Path) -> None:
    r = _run(cli, ["db", "upgrade"], db_url, data_dir)
    assert r.exit_code == 0, r.output
    assert f"revision {head_revision()}" in r.output
    r = _run(cli, ["db", "create-user", "tina", "--role", "therapist", "--password-stdin"], db_url, data_dir, "tina-password\n")
    assert r.exit_code == 0, r.output
    r = _run(
        cli,
        ["db", "create-user", "pete", "--role", "patient", "--therapist", "tina", "--display-name", "Pete P", "--password-stdin"],
        db_url, data_dir, "pete-password\n",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    r = _run(cli, ["db", "create-user", "pete", "--role", "patient", "--password-stdin"], db_url, data_dir, "pete-password\n")
    assert r.exit_code == 2 and "already taken" in r.output
    r = _run(cli, ["db", "create-user", "x", "--role", "patient", "--password-stdin"], db_url, data_dir, "short\n")
    assert r.exit_code == 2 and "password" in r.output
    s = Store(db_url, data_dir=data_dir, password_hasher=FAST_HASHER)
    pete = s.authenticate("pete", "pete-password")
    assert pete is not None and pete.therapist_id == s.get_user_by_username("tina").id
    assert pete.display_name == "Pete P"
    s.close()


def _malformed_csv(tmp_path: Path) -> Path:
    good = tmp_path / "good.csv"
    write_raw_csv(make_raw(duration_s=3, seed=2), good)
    lines = good.read_text().splitlines()
    cols = lines[41].split(",")
    cols[2] = "not-a-number"  # ax on line 42 of the file
    lines[41] = ",".join(cols)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    return bad


def test_import_malformed_is_rejected_and_stores_nothing(
    cli: typer.Typer, store: Store, clinic: dict, tmp_path: Path, db_url: str, data_dir: Path
) -> None:
    good = tmp_path / "ok.csv"
    write_raw_csv(make_raw(duration_s=3, seed=1), good)
    bad = _malformed_csv(tmp_path)
    before = _count(store, SessionRow)
    r = _run(cli, ["import", str(good), str(bad), "--patient", "alice", "--exercise", "knee_raise", "--side", "left"], db_url, data_dir)
    assert r.exit_code == 2
    assert "bad.csv" in r.output and "line 42" in r.output and "not a number" in r.output
    assert "nothing stored" in r.output
    assert _count(store, SessionRow) == before  # not even the good file of the batch
    assert list((data_dir / "sessions").iterdir()) == []
    for args, msg in (
        (["--patient", "nobody"], "not found"),
        (["--patient", "thera"], "not a patient"),
        (["--patient", "alice", "--exercise", "plank"], "unknown exercise"),
    ):
        base = {"--patient": "alice", "--exercise": "knee_raise", "--side": "left"}
        base.update(dict(zip(args[::2], args[1::2], strict=True)))
        flat = [x for kv in base.items() for x in kv]
        r = _run(cli, ["import", str(good), *flat], db_url, data_dir)
        assert r.exit_code == 2 and msg in r.output, r.output
    assert _count(store, SessionRow) == before


def test_export_cli_errors_and_success(
    cli: typer.Typer, store: Store, clinic: dict, analysis_factory, tmp_path: Path, db_url: str, data_dir: Path  # type: ignore[no-untyped-def]
) -> None:
    sid = store.save_session(clinic["alice"].id, analysis_factory(), make_raw(duration_s=2), started_at=T0)
    r = _run(cli, ["export", "--out", str(tmp_path / "o")], db_url, data_dir)
    assert r.exit_code == 2 and "either" in r.output
    r = _run(cli, ["export", "99999", "--out", str(tmp_path / "o")], db_url, data_dir)
    assert r.exit_code == 2 and "99999" in r.output
    r = _run(cli, ["export", str(sid), "--out", str(tmp_path / "o")], db_url, data_dir)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        f"session-{sid}-{k}.csv" for k in ("angles", "raw", "reps", "summary")
    ]
    r = _run(cli, ["export", "--patient", "alice", "--out", str(tmp_path / "p")], db_url, data_dir)
    assert r.exit_code == 0, r.output
    assert len(list((tmp_path / "p").iterdir())) == 6


def test_round_trip_simulate_import_export_reimport(
    cli: typer.Typer, store: Store, clinic: dict, tmp_path: Path, db_url: str, data_dir: Path
) -> None:
    from simulation import SimulationConfig, simulate

    sim = simulate(SimulationConfig(exercise="knee_raise", side="left", reps=6, seed=21))
    first_csv = write_raw_csv(sim.raw, tmp_path / "sim.csv")
    args = ["--patient", "alice", "--exercise", "knee_raise", "--side", "left", "--started-at", "2026-03-02T09:00:00Z"]
    r = _run(cli, ["import", str(first_csv), *args], db_url, data_dir)
    assert r.exit_code == 0, r.output
    (first,) = store.list_sessions(clinic["alice"].id)
    assert first.source == "imported" and first.started_at == dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    assert first.rep_count > 0
    r = _run(cli, ["export", str(first.id), "--out", str(tmp_path / "exp")], db_url, data_dir)
    assert r.exit_code == 0, r.output
    r = _run(cli, ["import", str(tmp_path / "exp" / f"session-{first.id}-raw.csv"), *args], db_url, data_dir)
    assert r.exit_code == 0, r.output
    second = store.list_sessions(clinic["alice"].id)[0]
    assert second.id != first.id
    a, b = store.load_session(first.id), store.load_session(second.id)
    assert a.analysis.reps == b.analysis.reps
    pd.testing.assert_frame_equal(a.analysis.angles, b.analysis.angles)
    assert a.analysis.summary == b.analysis.summary
    exported_angles = pd.read_csv(tmp_path / "exp" / f"session-{first.id}-angles.csv")  # to 0.01° and 1 µs
    pd.testing.assert_frame_equal(exported_angles, a.analysis.angles, check_dtype=False, check_exact=False, atol=0.005, rtol=0)
    assert _count(store, UserRow) == 5
