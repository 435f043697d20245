"""The `rehab` command line: one Typer app; each command group lives in rehab/commands/<name>.py."""

from __future__ import annotations

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


def main() -> None:  # pragma: no cover - console entry
    app()
