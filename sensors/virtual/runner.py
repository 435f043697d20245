"""Run virtual sensors as a process: thigh + pelvis (or more) on one link, plus one controller
exposed as HCI over TCP, so a recorder in another process reaches them with
``tcp-client:127.0.0.1:PORT``. The motion comes from a raw-session CSV, seeded synthetic motion or a
``RawSession`` handed in (``rehab sensors virtual`` simulates a drill: the simulator is not a radio
concern). Entry points: ``python -m sensors.virtual`` and ``rehab sensors virtual``;
`sensors.virtual.process.VirtualSensorProcess` starts either in a child process.

The process prints one JSON line ``{"event": "ready", "transport": ..., "sensors": [...]}`` on
stdout when it is reachable, and ``{"event": "stopped", ...}`` with per-sensor counters at exit.
Given a command handler (``rehab sensors virtual --commands``), it reads JSON commands on stdin, one
per line, and prints the handler's answer as one JSON line each (e.g. "perform this drill next").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from sensors.profiles import get_profile
from sensors.virtual.hub import VirtualSensorHub
from sensors.virtual.peripheral import VirtualSensor, VirtualSensorConfig
from sensors.virtual.source import MotionSource
from tracker.raw import RawSession

#: How long `VirtualSensorProcess` waits for the child's ready line.
READY_TIMEOUT_S = 30.0


def sensor_name(profile: str, sensor: str, device_id: str) -> str:
    """The advertised name: ``<profile name prefix>-<sensor>-<id>``, e.g. RehabIMU-thigh-0001."""
    return f"{get_profile(profile).name_prefix}-{sensor}-{device_id}"


@dataclasses.dataclass(slots=True)
class RunOptions:
    """Everything `run_virtual_sensors` needs; mirrors the command-line options."""

    csv: Path | None = None
    synthetic_seed: int | None = None  # seeded synthetic swing instead of the simulator
    profile: str = "rehab_imu_v1"
    sensors: tuple[str, ...] = ("thigh", "pelvis")
    extra_sensors: int = 0  # more sensors (named extra1..N) for load tests
    device_id: str = "0001"
    host: str = "127.0.0.1"
    port: int = 0
    battery_percent: int = 87
    clock_drift_ppm: float = 0.0
    duration_s: float | None = None
    sent_log: Path | None = None  # write every sent notification (hex) here at exit
    session: RawSession | None = None  # in-process motion (e.g. a simulated drill)


def motion_sources(opts: RunOptions) -> dict[str, MotionSource]:
    """One source per sensor: a RawSession handed in, a raw CSV, or seeded synthetic motion."""
    names = list(opts.sensors) + [f"extra{i + 1}" for i in range(opts.extra_sensors)]
    if opts.synthetic_seed is not None:
        return {n: MotionSource.synthetic(n, seed=opts.synthetic_seed + i) for i, n in enumerate(names)}
    if opts.session is not None:
        session = opts.session
    elif opts.csv is not None:
        from tracker.rawcsv import read_raw_csv

        session = read_raw_csv(opts.csv)
    else:
        raise ValueError("virtual sensors need motion: a raw-session CSV (--csv) or --synthetic-seed")
    sources = {}
    for i, n in enumerate(names):
        base = n if n in ("thigh", "pelvis") else ("thigh", "pelvis")[i % 2]
        sources[n] = MotionSource.from_session(session, base)
    return sources


def build_hub(opts: RunOptions, sources: dict[str, MotionSource] | None = None) -> VirtualSensorHub:
    """A hub with one sensor per source, named by `sensor_name`."""
    sources = sources if sources is not None else motion_sources(opts)
    hub = VirtualSensorHub()
    for i, (sensor, source) in enumerate(sources.items()):
        hub.add_sensor(
            VirtualSensorConfig(
                name=sensor_name(opts.profile, sensor, opts.device_id),
                profile=opts.profile,
                battery_percent=opts.battery_percent,
                clock_offset_us=1_000_003 * (i + 1),  # sensors boot at different times
                clock_drift_ppm=opts.clock_drift_ppm * (1 if i % 2 == 0 else -1),
                keep_sent=opts.sent_log is not None,
            ),
            source,
        )
    return hub


def _sensor_info(sensor: VirtualSensor) -> dict[str, Any]:
    return {"name": sensor.name, "address": sensor.address.to_string(False), "profile": sensor.profile.name}


def _counters(sensor: VirtualSensor) -> dict[str, Any]:
    return {"name": sensor.name, **dataclasses.asdict(sensor.counters)}


CommandHandler = Callable[[dict[str, Any], VirtualSensorHub], Awaitable[dict[str, Any]]]


async def _serve_commands(hub: VirtualSensorHub, handler: CommandHandler, emit: Callable[[dict[str, Any]], None]) -> None:
    """One JSON command per stdin line → the handler → one JSON answer; EOF ends the reading only."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        try:
            command = json.loads(line)
            if not isinstance(command, dict):
                raise ValueError("a command is a JSON object")
            emit(await handler(command, hub))
        except (ValueError, KeyError, TypeError) as exc:
            emit({"event": "error", "error": f"{type(exc).__name__}: {exc}"})


async def run_virtual_sensors(
    opts: RunOptions,
    *,
    emit: Callable[[dict[str, Any]], None],
    stop: asyncio.Event | None = None,
    on_command: CommandHandler | None = None,
) -> None:
    """Run until STOP is set, SIGINT/SIGTERM, or ``duration_s``; EMIT gets the ready/stopped events
    (and the answers to stdin commands when ON_COMMAND is given)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    hub = build_hub(opts)
    async with hub:
        transport = await hub.serve_hci_tcp(opts.host, opts.port)
        emit(
            {
                "event": "ready",
                "transport": transport,
                "pid": os.getpid(),
                "sensors": [_sensor_info(s) for s in hub.sensors.values()],
            }
        )
        commands = asyncio.create_task(_serve_commands(hub, on_command, emit)) if on_command is not None else None
        if opts.duration_s is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), opts.duration_s)
        else:
            await stop.wait()
        if commands is not None:
            commands.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await commands
        if opts.sent_log is not None:
            write_sent_log(hub, opts.sent_log)
        emit({"event": "stopped", "sensors": [_counters(s) for s in hub.sensors.values()]})
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(sig)


def write_sent_log(hub: VirtualSensorHub, path: Path) -> None:
    """JSON lines, one per notification sent: sensor name, kind, seq and the bytes (hex)."""
    with open(path, "w", encoding="utf-8") as fh:
        for sensor in hub.sensors.values():
            for p in sensor.sent:
                fh.write(json.dumps({"sensor": sensor.name, "kind": p.kind, "seq": p.seq, "hex": p.data.hex()}) + "\n")


def read_sent_log(path: Path) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            out.setdefault(rec["sensor"], []).append(rec)
    return out


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m sensors.virtual", description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", type=Path, default=None, help="stream a raw-session CSV instead of simulating")
    ap.add_argument("--synthetic-seed", type=int, default=None, help="seeded synthetic motion (radio tests)")
    ap.add_argument("--profile", default="rehab_imu_v1")
    ap.add_argument("--extra-sensors", type=int, default=0)
    ap.add_argument("--id", dest="device_id", default="0001")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="HCI TCP port (0: a free one, printed)")
    ap.add_argument("--battery", type=int, default=87)
    ap.add_argument("--drift-ppm", type=float, default=0.0)
    ap.add_argument("--duration", type=float, default=None)
    ap.add_argument("--sent-log", type=Path, default=None)
    return ap


def options_from_args(args: argparse.Namespace) -> RunOptions:
    return RunOptions(
        csv=args.csv,
        synthetic_seed=args.synthetic_seed,
        profile=args.profile,
        extra_sensors=args.extra_sensors,
        device_id=args.device_id,
        host=args.host,
        port=args.port,
        battery_percent=args.battery,
        clock_drift_ppm=args.drift_ppm,
        duration_s=args.duration,
        sent_log=args.sent_log,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    opts = options_from_args(parser.parse_args(argv))
    if opts.csv is None and opts.synthetic_seed is None:
        parser.error("give the motion: --csv RAW.csv or --synthetic-seed N (`rehab sensors virtual` simulates a drill)")

    def emit(event: dict[str, Any]) -> None:
        print(json.dumps(event), flush=True)

    asyncio.run(run_virtual_sensors(opts, emit=emit))
    return 0
