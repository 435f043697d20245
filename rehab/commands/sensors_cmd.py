"""`rehab sensors virtual` (virtual BLE sensors in this process, reachable over loopback HCI/TCP)
and `rehab sensors scan` (what is advertising, with battery level, on either BLE backend)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from rehab.commands.errors import fail

if TYPE_CHECKING:
    from tracker.conventions import Exercise, Side

console = Console()

#: `rehab sensors virtual --json`: the child process `rehab record --virtual` and `rehab serve
#: --virtual-sensors` start (a simulated drill; sensors.virtual.process.VirtualSensorProcess).
SIMULATED_SENSORS_COMMAND: tuple[str, ...] = (sys.executable, "-m", "rehab", "sensors", "virtual", "--json")


#: The virtual patient stands still this long when a set starts (the live path needs >= 2 s of
#: quiet stand on both sensors, and the second sensor may start streaming ~1 s after the first).
PATIENT_STAND_S = 4.0
#: After the drill the virtual patient stands still (the sensors then hold the last sample).
PATIENT_REST_S = 3.0


def simulated_sensors(
    *, exercise: str, side: str, reps: int, seed: int = 0, ready_timeout_s: float = 60.0, follow_sets: bool = False
) -> Any:
    """Virtual thigh + pelvis sensors playing a simulated set, in a child process (not started).
    ``follow_sets``: they take `perform` commands (`perform_command`): a patient who does each set."""
    from sensors.virtual.process import VirtualSensorProcess

    args = ["--exercise", exercise, "--side", side, "--reps", str(reps), "--seed", str(seed)]
    if follow_sets:
        args.append("--commands")
    return VirtualSensorProcess(args, command=SIMULATED_SENSORS_COMMAND, ready_timeout_s=ready_timeout_s)


def perform_command(*, exercise: str, side: str, reps: int, seed: int, pace: float = 1.0) -> dict[str, Any]:
    """The command that makes `simulated_sensors(follow_sets=True)`'s patient do one set: stand still
    PATIENT_STAND_S, the drill on that side, then rest — from the next time the sensors are started."""
    return {"cmd": "perform", "exercise": exercise, "side": side, "reps": int(reps), "seed": int(seed), "pace": pace}


def patient_session(exercise: Exercise, side: Side, reps: int, seed: int, pace: float = 1.0) -> Any:
    """The RawSession a virtual patient streams for one set (``pace`` < 1: quicker moves and rests)."""
    from simulation import SimulationConfig, simulate
    from simulation.config import DEFAULT_TEMPO_S

    if not 0.2 <= pace <= 2.0:
        raise ValueError(f"pace {pace} must be in 0.2..2 (1 = a patient's usual tempo)")
    up, down = DEFAULT_TEMPO_S[exercise]
    base = SimulationConfig()
    cfg = SimulationConfig(
        exercise=exercise, side=side, reps=reps, seed=seed, stand_s=PATIENT_STAND_S, end_stand_s=PATIENT_REST_S,
        up_s=up * pace, down_s=down * pace, hold_s=base.hold_s * pace,
        rest_between_reps_s=base.rest_between_reps_s * pace,
    )  # fmt: skip
    return simulate(cfg).raw


async def _perform(command: dict[str, Any], hub: Any) -> dict[str, Any]:
    """`perform`: simulate the set's drill (off the radio's loop) and have the body do it next."""
    import asyncio

    from sensors.virtual import MotionSource
    from tracker.conventions import check_exercise, check_side

    if command.get("cmd") != "perform":
        raise ValueError(f"unknown command {command.get('cmd')!r}; expected 'perform'")
    exercise, side = check_exercise(str(command["exercise"])), check_side(str(command["side"]))
    reps, seed, pace = int(command["reps"]), int(command.get("seed", 0)), float(command.get("pace", 1.0))
    if not 1 <= reps <= 200:
        raise ValueError(f"reps {reps} must be 1..200")
    raw = await asyncio.to_thread(patient_session, exercise, side, reps, seed, pace)
    hub.restart_motion({role: MotionSource.from_session(raw, role, loop=False) for role in ("thigh", "pelvis")})
    return {"event": "performing", "exercise": exercise, "side": side, "reps": reps}


def _virtual(
    exercise: str,
    reps: int,
    side: str,
    seed: int,
    csv: Path | None,
    profile: str,
    host: str,
    port: int,
    device_id: str,
    battery: int,
    drift_ppm: float,
    duration: float | None,
    extra_sensors: int,
    as_json: bool,
    commands: bool = False,
) -> None:
    from sensors.profiles import PROFILES
    from sensors.virtual.runner import RunOptions, run_virtual_sensors
    from tracker.conventions import check_exercise, check_side

    try:
        drill, leg = check_exercise(exercise), check_side(side)
    except ValueError as exc:
        fail(str(exc))
    if profile not in PROFILES:
        fail(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    if csv is not None and not csv.is_file():
        fail(f"raw-session CSV not found: {csv}")
    if not 0 <= battery <= 100:
        fail(f"--battery {battery} is not a percentage (0..100)")
    if reps < 1:
        fail(f"--reps {reps} must be at least 1")
    session = None
    if csv is None:  # simulate the drill (the radio layer only streams motion it is given)
        from simulation import SimulationConfig, simulate

        session = simulate(SimulationConfig(exercise=drill, reps=reps, side=leg, seed=seed)).raw
    opts = RunOptions(
        session=session,
        csv=csv,
        profile=profile,
        host=host,
        port=port,
        device_id=device_id,
        battery_percent=battery,
        clock_drift_ppm=drift_ppm,
        duration_s=duration,
        extra_sensors=extra_sensors,
    )

    def emit(event: dict[str, Any]) -> None:
        if as_json:
            print(json.dumps(event), flush=True)
            return
        if event["event"] == "ready":
            table = Table(title=f"Virtual sensors ({profile}) — Ctrl-C to stop")
            for col in ("name", "address", "profile"):
                table.add_column(col)
            for s in event["sensors"]:
                table.add_row(s["name"], s["address"], s["profile"])
            console.print(table)
            console.print(f"HCI transport for the recorder: [bold]{event['transport']}[/]")
            console.print(f"  e.g. rehab sensors scan --virtual {event['transport']}")
        elif event["event"] == "stopped":
            for s in event["sensors"]:
                console.print(f"{s['name']}: {s['packets_sent']} packets, {s['samples_sent']} samples sent")

    try:
        asyncio.run(run_virtual_sensors(opts, emit=emit, on_command=_perform if commands else None))
    except BrokenPipeError:  # our stdout reader went away (e.g. `| head`): nothing to report to
        raise typer.Exit(0) from None
    except OSError as exc:
        fail(f"cannot serve HCI on {host}:{port}: {exc}")
    except (ValueError, KeyError) as exc:
        fail(str(exc))


def _scan(virtual: str | None, timeout: float, no_battery: bool, as_json: bool) -> None:
    from bleak.exc import BleakError

    from sensors.ble import parse_transport
    from sensors.ble.discovery import scan_sensors

    if virtual is not None:
        try:
            parse_transport(virtual)
        except ValueError as exc:
            fail(str(exc))
    if timeout <= 0:
        fail(f"--timeout {timeout} must be > 0 seconds")
    try:
        results = asyncio.run(scan_sensors(virtual, timeout_s=timeout, read_battery=not no_battery))
    except (BleakError, ConnectionError, OSError, LookupError) as exc:
        if virtual:
            fail(f"scan on {virtual} failed: {exc}")
        fail(
            f"scan on the OS Bluetooth adapter failed: {exc} (no Bluetooth stack here? "
            "run `rehab sensors virtual` and pass --virtual tcp-client:127.0.0.1:PORT)"
        )
    if as_json:
        print(json.dumps([_asdict(r) for r in results]))
        return
    table = Table(title=f"BLE advertisers ({virtual or 'OS backend'}, {timeout:g} s)")
    for col in ("name", "address", "profile", "RSSI dBm", "battery %"):
        table.add_column(col)
    for r in results:
        battery = "—" if r.battery_percent is None else str(r.battery_percent)
        if r.error:
            battery = f"[red]{r.error}[/]"
        table.add_row(r.name or "?", r.address, r.profile or "—", str(r.rssi_dbm), battery)
    console.print(table)
    if not results:
        console.print("nothing is advertising")


def _asdict(obj: Any) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(obj)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rehab` app."""
    sensors_app = typer.Typer(name="sensors", help="Virtual BLE sensors and scanning.", no_args_is_help=True)

    @sensors_app.command("virtual")
    def virtual(
        exercise: str = typer.Option("knee_raise", help="Simulated exercise (ignored with --csv)."),
        reps: int = typer.Option(10, help="Simulated repetitions."),
        side: str = typer.Option("left", help="Exercised side."),
        seed: int = typer.Option(0, help="Simulator seed."),
        csv: Path | None = typer.Option(None, help="Stream a raw-session CSV instead of simulating."),
        profile: str = typer.Option("rehab_imu_v1", help="Firmware profile the sensors speak."),
        host: str = typer.Option("127.0.0.1", help="Address the HCI TCP server listens on."),
        port: int = typer.Option(0, help="HCI TCP port (0: pick a free one and print it)."),
        device_id: str = typer.Option("0001", "--id", help="Suffix of the advertised names."),
        battery: int = typer.Option(87, help="Battery level reported, %."),
        drift_ppm: float = typer.Option(0.0, help="Sensor clock drift (thigh +, pelvis −), ppm."),
        duration: float | None = typer.Option(None, help="Stop after this many seconds."),
        extra_sensors: int = typer.Option(0, help="Additional sensors (load tests)."),
        as_json: bool = typer.Option(False, "--json", help="Print ready/stopped events as JSON lines."),
        commands: bool = typer.Option(
            False, "--commands", help="Read JSON commands on stdin: {\"cmd\": \"perform\", \"exercise\", \"side\", \"reps\"} "
            "makes the patient do that set next (stand, drill, rest)."
        ),
    ) -> None:
        """Run thigh + pelvis virtual sensors; a recorder attaches with tcp-client:HOST:PORT."""
        _virtual(exercise, reps, side, seed, csv, profile, host, port, device_id, battery, drift_ppm, duration,
                 extra_sensors, as_json, commands)

    @sensors_app.command("scan")
    def scan(
        virtual: str | None = typer.Option(
            None, help="Bumble transport of virtual sensors (e.g. tcp-client:127.0.0.1:PORT); default: the OS adapter, or $REHAB_BLE_TRANSPORT."
        ),
        timeout: float = typer.Option(3.0, help="Scan time, seconds."),
        no_battery: bool = typer.Option(False, "--no-battery", help="Do not connect to read battery levels."),
        as_json: bool = typer.Option(False, "--json", help="Print results as JSON."),
    ) -> None:
        """List advertising sensors: name, address, profile, RSSI and battery level (read via GATT)."""
        _scan(virtual, timeout, no_battery, as_json)

    app.add_typer(sensors_app, name="sensors")
