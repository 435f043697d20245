"""Issue 16.7: `rehab import` stores all files or none, skips a file already imported (same content)
unless --allow-duplicate, and names line and column for a `nan` cell, an impossible value and an
extra field — through the real CLI, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from rehab.commands import storage
from store import Store
from tracker.rawcsv import RawCsvError, read_raw_csv, write_raw_csv

from .conftest import make_raw

ARGS = ["--patient", "alice", "--exercise", "knee_raise", "--side", "left"]


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    storage.register(app)

    @app.callback()
    def _root() -> None:
        pass

    return app


@pytest.fixture(scope="module")
def sim_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from simulation import SimulationConfig, simulate

    raw = simulate(SimulationConfig(exercise="knee_raise", side="left", reps=4, seed=8)).raw
    return write_raw_csv(raw, tmp_path_factory.mktemp("sim") / "set.csv")


def _import(cli: typer.Typer, files: list[Path], db_url: str, data_dir: Path, *extra: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(
        cli, ["import", *map(str, files), *ARGS, *extra, "--database-url", db_url, "--data-dir", str(data_dir)]
    )


def _said(result) -> str:  # type: ignore[no-untyped-def]
    """The command's output with Rich's line wrapping undone (it breaks long paths mid-word)."""
    return result.output.replace("\n", "")


def _edit(src: Path, dst: Path, line: int, column: str, value: str) -> Path:
    lines = src.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(cells)
    dst.write_text("\n".join(lines) + "\n")
    return dst


def test_a_file_that_cannot_be_analysed_stores_nothing_of_the_batch(
    cli: typer.Typer, store: Store, clinic: dict, sim_csv: Path, tmp_path: Path, db_url: str, data_dir: Path
) -> None:
    """Both files parse; the second has no quiet stand, so its analysis fails: before, the first one
    was already stored when the command exited 2."""
    no_stand = write_raw_csv(make_raw(duration_s=4, seed=3), tmp_path / "no-stand.csv")
    r = _import(cli, [sim_csv, no_stand], db_url, data_dir)
    assert r.exit_code == 2 and "no-stand.csv" in _said(r) and "nothing stored" in _said(r), r.output
    assert store.list_sessions(clinic["alice"].id) == []
    assert not any((data_dir / "sessions").iterdir())


def test_the_same_file_again_is_skipped_unless_allowed(
    cli: typer.Typer, store: Store, clinic: dict, sim_csv: Path, tmp_path: Path, db_url: str, data_dir: Path
) -> None:
    r = _import(cli, [sim_csv], db_url, data_dir)
    assert r.exit_code == 0, r.output
    (first,) = store.list_sessions(clinic["alice"].id)
    copy = tmp_path / "renamed-copy.csv"
    copy.write_bytes(sim_csv.read_bytes())  # same content, other name
    r = _import(cli, [copy, sim_csv], db_url, data_dir)
    assert r.exit_code == 0, r.output
    assert "already imported" in _said(r) and f"session {first.id}" in _said(r) and "--allow-duplicate" in _said(r)
    assert [s.id for s in store.list_sessions(clinic["alice"].id)] == [first.id]
    assert first.sensors["sha256"] and first.sensors["file"] == "set.csv"
    r = _import(cli, [copy], db_url, data_dir, "--allow-duplicate")
    assert r.exit_code == 0, r.output
    assert len(store.list_sessions(clinic["alice"].id)) == 2
    # the same content is a different file for another patient
    bob = CliRunner().invoke(
        cli, ["import", str(sim_csv), "--patient", "bob", "--exercise", "knee_raise", "--side", "left",
              "--database-url", db_url, "--data-dir", str(data_dir)],
    )  # fmt: skip
    assert bob.exit_code == 0 and "already imported" not in _said(bob), bob.output


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("ax", "nan", "column 'ax' is nan, not a finite number"),
        ("gy", "-inf", "column 'gy' is -inf, not a finite number"),
        ("az", "1e300", "column 'az' is 1e+300 m/s², outside the possible range"),
        ("gx", "40", "column 'gx' is 40 rad/s, outside the possible range"),
        ("t", "1e12", "column 't' is 1e+12 s, outside the possible range"),
    ],
)
def test_impossible_values_name_line_and_column(
    cli: typer.Typer, store: Store, clinic: dict, sim_csv: Path, tmp_path: Path, db_url: str, data_dir: Path,
    column: str, value: str, message: str,
) -> None:  # fmt: skip
    bad = _edit(sim_csv, tmp_path / "bad.csv", 57, column, value)
    r = _import(cli, [bad], db_url, data_dir)
    assert r.exit_code == 2 and message in _said(r) and "(line 57)" in _said(r), r.output
    assert "empty" not in _said(r) and "quiet stand" not in _said(r)
    assert store.list_sessions(clinic["alice"].id) == []


def test_an_extra_field_on_every_row_is_named_as_such(tmp_path: Path, sim_csv: Path) -> None:
    lines = sim_csv.read_text().splitlines()
    extra = tmp_path / "extra.csv"
    extra.write_text("\n".join([lines[0]] + [f"{line},1" for line in lines[1:]]) + "\n")
    with pytest.raises(RawCsvError) as info:
        read_raw_csv(extra)
    assert info.value.line == 2 and "9 fields but the header names 8" in info.value.reason
    assert "not a number" not in str(info.value)
    # a stray field on one line only is named with its line (pandas' own check)
    lines[9] += ",1"
    one = tmp_path / "one.csv"
    one.write_text("\n".join(lines) + "\n")
    with pytest.raises(RawCsvError) as info:
        read_raw_csv(one)
    assert info.value.line == 10 and "saw 9" in info.value.reason
