"""Help text as a person reads it in a terminal: every command's paragraphs wrap to the terminal, none
is cut where the source line happened to end."""

from __future__ import annotations

import re

import typer
from typer.testing import CliRunner

from rehab.cli import app


def _commands(typer_app: typer.Typer, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for command in typer_app.registered_commands:
        name = command.name or (command.callback.__name__.replace("_", "-") if command.callback else "")
        out.append((*prefix, name))
    for group in typer_app.registered_groups:
        if group.typer_instance is not None and group.name:
            out.extend(_commands(group.typer_instance, (*prefix, group.name)))
    return out


def test_every_command_help_wraps_whole_paragraphs() -> None:
    commands = _commands(app)
    assert len(commands) >= 20  # every group was walked
    runner = CliRunner()
    for path in commands:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80", "NO_COLOR": "1"})
        assert result.exit_code == 0, (path, result.output)
        lines = [ln.strip() for ln in result.output.splitlines()]
        start = next(i for i, ln in enumerate(lines) if ln.startswith("Usage:")) + 1
        end = next(i for i, ln in enumerate(lines) if ln.startswith(("╭", "+-")))
        for i in range(start, end - 1):
            # a line much shorter than the width followed by more of the same paragraph: cut mid-sentence
            if lines[i] and lines[i + 1] and len(lines[i]) < 50 and not re.search(r"[.:;)]$", lines[i]):
                raise AssertionError(f"`rehab {' '.join(path)} --help` breaks a paragraph at {lines[i]!r}")
