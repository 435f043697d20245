"""`rehab record`: record one set from the thigh + pelvis sensors, with a live panel, then analyse and store it.

With ``--virtual`` the sensors are virtual: `rehab sensors virtual` is started in a separate
process streaming a simulated set of the same drill, and the recorder reaches it over HCI-over-TCP
exactly as it would reach a real radio.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
from pathlib import Path
from typing import Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from rehab.commands.errors import fail
from rehab.commands.options import DataDirOpt, UrlOpt
from sensors.errors import SensorError
from tracker.conventions import (
    DEFAULT_COMPENSATION_THRESHOLD_DEG,
    check_exercise,
    check_side,
)

console = Console()

#: --virtual: the set is capped at the simulated session's length plus this, seconds.
VIRTUAL_SLACK_S = 8.0


def _fmt(v: Any, unit: str = "", nd: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{nd}f}{unit}"
    return f"{v}{unit}"


def render_state(state: dict[str, Any]) -> Panel:
    """The live panel: angles, reps, last rep, alerts, and per-sensor link quality + battery."""
    s = state.get("set") or {}
    live = state.get("live") or {}
    top = Table.grid(padding=(0, 2))
    top.add_column(style="bold")
    top.add_column()
    target = live.get("target_reps")
    top.add_row("Set", f"{s.get('exercise', '?')} ({s.get('side', '?')}) · patient {s.get('patient_id', '?')} · {s.get('state', '?')}")
    top.add_row("Time", _fmt(s.get("elapsed_s"), " s"))
    top.add_row("Hip flexion", f"[bold cyan]{_fmt(live.get('hip_flexion_deg'), '°')}[/]")
    top.add_row("Pelvic tilt", _fmt(live.get("pelvic_tilt_deg"), "°"))
    top.add_row("Reps", f"[bold]{live.get('rep_count', 0)}[/]" + (f" / {target}" if target else ""))
    last = live.get("last_rep")
    if last:
        comp = " [red]compensation[/]" if last.get("compensation") else ""
        top.add_row("Last rep", f"peak {_fmt(last.get('peak_hip_flexion_deg'), '°')}{comp}")
    cal = live.get("calibration") or {}
    if cal.get("error"):
        top.add_row("Calibration", f"[red]{cal['error']}[/]")
    elif cal.get("state") == "calibrating":
        top.add_row("Calibration", f"[yellow]stand still ({_fmt(cal.get('remaining_s'), ' s')} left)[/]")
    elif cal.get("state"):
        top.add_row("Calibration", f"{cal['state']} ({cal.get('quality') or '–'})")
    alerts = live.get("alerts") or []
    if alerts:
        a = alerts[-1]
        top.add_row("[red]Alert[/]", f"[red]{a.get('kind')} at {_fmt(a.get('t_s'), ' s')}[/]")
    links = Table("sensor", "link", "pkt/s", "samples", "lost", "malformed", "drops", "battery", box=None)
    for role, q in (state.get("sensors") or {}).items():
        batt = q.get("battery_percent")
        batt_s = "–" if batt is None else (f"[red]{batt}%[/]" if q.get("low_battery") else f"{batt}%")
        links.add_row(
            role,
            "[green]up[/]" if q.get("connected") else "[red]down[/]",
            _fmt(q.get("packets_per_s")),
            str(q.get("samples", 0)),
            str(q.get("lost_samples", 0)),
            str(q.get("malformed", 0)),
            str(q.get("drops", 0)),
            batt_s,
        )
    return Panel(Group(top, links), title="rehab record", border_style="cyan")


def print_summary(result_dict: dict[str, Any]) -> None:
    a = result_dict.get("analysis")
    console.print(
        f"set [bold]{result_dict['uid']}[/]: {result_dict['status']}"
        + (f", stored as session {result_dict['session_id']}" if result_dict.get("session_id") is not None else "")
    )
    console.print(f"samples: {result_dict['samples']}, gaps marked: {result_dict['gaps']}")
    if result_dict.get("error"):
        console.print(f"[red]{result_dict['error']}[/]")
    if not a:
        return
    sm = a["summary"]
    console.print(
        f"reps {sm['rep_count']} (full {sm['full_rep_count']}, partial {sm['partial_rep_count']}), "
        f"ROM {_fmt(sm['rom_deg'], '°')}, mean peak {_fmt(sm['mean_peak_hip_flexion_deg'], '°')}, "
        f"compensated {sm['compensation_count']}"
    )
    t = Table("#", "start s", "peak s", "peak hip °", "hold s", "partial", "compensation °")
    for r in a["reps"]:
        t.add_row(
            str(r["index"]), _fmt(r["start_s"], nd=2), _fmt(r["peak_s"], nd=2), _fmt(r["peak_hip_flexion_deg"]),
            _fmt(r["hold_s"], nd=2), "yes" if r["partial"] else "",
            ("[red]" + _fmt(r["compensation_deg"]) + "[/]") if r["compensation"] else _fmt(r["compensation_deg"]),
        )
    console.print(t)


async def _record(
    *,
    request: Any,
    transport: str | None,
    data_dir: Path | None,
    database_url: str | None,
    store_enabled: bool,
    show_live: bool,
    assignment_path: Path | None,
    thigh: str | None = None,
    pelvis: str | None = None,
) -> Any:
    from rehab.commands.ingest_session import opened_service

    async with opened_service(
        transport=transport, data_dir=data_dir, database_url=database_url, store_enabled=store_enabled,
        console=console, assignment_path=assignment_path,
    ) as service:
        return await _run_set(service, request, show_live=show_live, thigh=thigh, pelvis=pelvis)


async def _run_set(service: Any, request: Any, *, show_live: bool, thigh: str | None, pelvis: str | None) -> Any:
    from service.errors import AssignmentError

    if thigh or pelvis:
        if not (thigh and pelvis):
            raise AssignmentError("give both --thigh and --pelvis addresses (or neither)")
        await service.scan()
        service.assign(thigh, pelvis, request.side)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: service.running and service.stop_set("stopped by user"))
    try:
        await service.start_set(request)
        if show_live:
            with Live(render_state(service.state()), console=console, refresh_per_second=4, transient=False) as live:
                while service.running:
                    await asyncio.sleep(0.25)
                    live.update(render_state(service.state()))
        return await service.wait_set()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def register(app: typer.Typer) -> None:
    """Add `rehab record` to the app."""

    @app.command("record")
    def record(
        exercise: str = typer.Option(..., "--exercise", help="knee_raise | hip_extension | deep_squat"),
        side: str = typer.Option(..., "--side", help="exercised leg (the thigh sensor's side): left | right"),
        patient: str = typer.Option(..., "--patient", help="patient id in the store"),
        reps: int | None = typer.Option(10, "--reps", help="stop after this many reps (0: no target)"),
        duration: float | None = typer.Option(None, "--duration", help="stop after this many seconds"),
        virtual: bool = typer.Option(False, "--virtual", help="record from virtual sensors started for this set"),
        transport: str | None = typer.Option(
            None, "--transport", help="bumble transport of running virtual sensors (e.g. tcp-client:127.0.0.1:PORT)"
        ),
        threshold: float = typer.Option(DEFAULT_COMPENSATION_THRESHOLD_DEG, "--threshold", help="compensation threshold, deg"),
        rate: float = typer.Option(100.0, "--rate", help="sensor output rate, Hz"),
        seed: int = typer.Option(0, "--seed", help="--virtual: simulator seed"),
        data_dir: DataDirOpt = None,
        database_url: UrlOpt = None,
        no_store: bool = typer.Option(False, "--no-store", help="analyse but do not save to the store"),
        export_csv: Path | None = typer.Option(None, "--export-csv", help="also write the raw-session CSV here"),
        json_out: bool = typer.Option(False, "--json", help="print the result as JSON instead of tables"),
        live_panel: bool = typer.Option(True, "--live/--no-live", help="show the live panel"),
        thigh: str | None = typer.Option(None, "--thigh", help="address of the thigh sensor (remembered)"),
        pelvis: str | None = typer.Option(None, "--pelvis", help="address of the pelvis sensor (remembered)"),
    ) -> None:
        """Record one set: connect, stream, live panel, then analyse + store and print the summary."""
        from service.recorder import SetRequest

        try:
            drill, leg = check_exercise(exercise), check_side(side)
            request = SetRequest(
                patient_id=patient, exercise=exercise, side=side,
                target_reps=reps or None, duration_s=duration, threshold_deg=threshold, rate_hz=rate,
            )
        except ValueError as exc:
            fail(str(exc))
        if request.target_reps is None and request.duration_s is None and not virtual:
            console.print("[yellow]no --reps and no --duration: recording until Ctrl-C[/]")
        proc = None
        assignment_path = None
        if virtual:
            if transport:
                fail("--virtual starts its own sensors; do not also pass --transport")
            from rehab.commands.sensors_cmd import simulated_sensors

            proc = simulated_sensors(exercise=exercise, side=side, reps=reps or 10, seed=seed)
            try:
                transport = proc.start_blocking()
            except (OSError, RuntimeError, TimeoutError) as exc:
                fail(f"could not start virtual sensors: {exc}")
            if request.duration_s is None:
                # the simulated set has an end; a live tracker that never reaches the target must not
                # keep the set (and the looping virtual sensors) running forever
                from simulation import SimulationConfig, simulate

                sim = simulate(SimulationConfig(exercise=drill, side=leg, reps=reps or 10, seed=seed))
                request = dataclasses.replace(request, duration_s=float(sim.raw.thigh.t_s[-1]) + VIRTUAL_SLACK_S)
            from rehab.commands.ingest_session import assignment_file

            assignment_path = assignment_file(data_dir, transport="virtual")
            if assignment_path.exists():
                assignment_path.unlink()  # fresh virtual sensors, fresh addresses
        try:
            result = asyncio.run(
                _record(
                    request=request,
                    transport=transport,
                    data_dir=data_dir,
                    database_url=database_url,
                    store_enabled=not no_store,
                    show_live=live_panel and not json_out,
                    assignment_path=assignment_path,
                    thigh=thigh,
                    pelvis=pelvis,
                )
            )
        except SensorError as exc:
            fail(str(exc))
        finally:
            if proc is not None:
                proc.stop_blocking()
        summary = result.summary_dict()
        if export_csv is not None and result.raw is not None:
            from tracker.rawcsv import write_raw_csv

            write_raw_csv(result.raw, export_csv)
            summary["raw_csv"] = str(export_csv)
        if json_out:
            typer.echo(json.dumps(summary, default=str))
        else:
            print_summary(summary)
            if export_csv is not None:
                console.print(f"raw-session CSV: {export_csv}")
        if result.status not in ("finished",):
            raise typer.Exit(1)
