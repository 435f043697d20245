"""The `rehab` command line: one Typer app; each command group lives in rehab/commands/<name>.py."""

from __future__ import annotations

import inspect
import re

import typer

from rehab.commands import (
    analyze,
    demo,
    hub,
    reanalyze,
    record,
    sensors_cmd,
    serve,
    server,
    simulate,
    specs,
    storage,
)

app = typer.Typer(
    name="rehab",
    help="Hip/psoas rehab tracker: thigh + pelvis IMUs → hip flexion, reps, lumbar compensation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in (specs, simulate, analyze, sensors_cmd, record, serve, storage, reanalyze, demo, server, hub):
    _module.register(app)


def _reflow(doc: str) -> str:
    """A docstring's paragraphs each on one line: its line breaks are source wrapping, which Rich help
    would otherwise print as they are, breaking sentences mid-line on an 80-column terminal."""
    return "\n\n".join(re.sub(r"\s*\n\s*", " ", p.strip()) for p in re.split(r"\n\s*\n", doc.strip()))


def _reflow_help(typer_app: typer.Typer) -> None:
    for command in typer_app.registered_commands:
        if command.help is None and command.callback is not None and command.callback.__doc__:
            command.help = _reflow(inspect.getdoc(command.callback) or "")
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _reflow_help(group.typer_instance)


_reflow_help(app)


def main() -> None:  # pragma: no cover - console entry
    app()
