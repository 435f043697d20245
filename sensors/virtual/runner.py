"""Run virtual sensors as a process: thigh + pelvis (or more) on one link, plus one controller
exposed as HCI over TCP, so a recorder in another process reaches them with
``tcp-client:127.0.0.1:PORT``. Entry points: ``python -m sensors.virtual`` and
``rehab sensors virtual``; `VirtualSensorProcess` starts one from Python (tests, benchmarks).

The process prints one JSON line ``{"event": "ready", "transport": ..., "sensors": [...]}`` on
stdout when it is reachable, and ``{"event": "stopped", ...}`` with per-sensor counters at exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sensors.profiles import get_profile
from sensors.virtual.hub import VirtualSensorHub
from sensors.virtual.peripheral import VirtualSensor, VirtualSensorConfig
from sensors.virtual.source import MotionSource

#: How long `VirtualSensorProcess` waits for the child's ready line.
READY_TIMEOUT_S = 30.0


def sensor_name(profile: str, sensor: str, device_id: str) -> str:
    """The advertised name: ``<profile name prefix>-<sensor>-<id>``, e.g. RehabIMU-thigh-0001."""
    return f"{get_profile(profile).name_prefix}-{sensor}-{device_id}"


@dataclasses.dataclass(slots=True)
class RunOptions:
    """Everything `run_virtual_sensors` needs; mirrors the command-line options."""

    exercise: str = "knee_raise"
    reps: int = 10
    side: str = "left"
    seed: int = 0
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


def motion_sources(opts: RunOptions) -> dict[str, MotionSource]:
    """One source per sensor: from a raw CSV, the simulator, or seeded synthetic motion."""
    names = list(opts.sensors) + [f"extra{i + 1}" for i in range(opts.extra_sensors)]
    if opts.synthetic_seed is not None:
        return {n: MotionSource.synthetic(n, seed=opts.synthetic_seed + i) for i, n in enumerate(names)}
    if opts.csv is not None:
        from tracker.rawcsv import read_raw_csv

        session = read_raw_csv(opts.csv)
    else:
        from simulation import SimulationConfig, simulate

        session = simulate(
            SimulationConfig(exercise=opts.exercise, reps=opts.reps, side=opts.side, seed=opts.seed)  # type: ignore[arg-type]
        ).raw
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


async def run_virtual_sensors(
    opts: RunOptions, *, emit: Callable[[dict[str, Any]], None], stop: asyncio.Event | None = None
) -> None:
    """Run until STOP is set, SIGINT/SIGTERM, or ``duration_s``; EMIT gets the ready/stopped events."""
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
        if opts.duration_s is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), opts.duration_s)
        else:
            await stop.wait()
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
    ap.add_argument("--exercise", default="knee_raise")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--side", default="left")
    ap.add_argument("--seed", type=int, default=0)
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
        exercise=args.exercise,
        reps=args.reps,
        side=args.side,
        seed=args.seed,
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
    opts = options_from_args(build_parser().parse_args(argv))

    def emit(event: dict[str, Any]) -> None:
        print(json.dumps(event), flush=True)

    asyncio.run(run_virtual_sensors(opts, emit=emit))
    return 0


class VirtualSensorProcess:
    """``async with VirtualSensorProcess(["--synthetic-seed", "1"]) as proc: proc.transport``.

    Starts ``python -m sensors.virtual --port 0 ARGS`` in a child process, waits for its ready
    line, and on exit sends SIGTERM and waits for the ``stopped`` report (`stopped`)."""

    def __init__(self, args: Sequence[str] = (), *, ready_timeout_s: float = READY_TIMEOUT_S) -> None:
        self.args = list(args)
        self.ready_timeout_s = ready_timeout_s
        self.process: asyncio.subprocess.Process | None = None
        self.ready: dict[str, Any] = {}
        self.stopped: dict[str, Any] = {}

    @property
    def transport(self) -> str:
        return str(self.ready["transport"])

    @property
    def sensor_names(self) -> list[str]:
        return [s["name"] for s in self.ready["sensors"]]

    async def start(self) -> None:
        argv = [sys.executable, "-m", "sensors.virtual", "--port", "0", *self.args]
        root = Path(__file__).resolve().parents[2]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
        self.process = await asyncio.create_subprocess_exec(
            *argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=root, env=env
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + self.ready_timeout_s
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = await asyncio.wait_for(self.process.stdout.readline(), max(remaining, 0.01))
            except asyncio.TimeoutError:
                await self.stop()
                raise TimeoutError(f"virtual sensors ({' '.join(argv)}) not ready within {self.ready_timeout_s:.0f} s")
            if not line:
                err = b""
                if self.process.stderr is not None:
                    err = await self.process.stderr.read()
                await self.process.wait()
                raise RuntimeError(
                    f"virtual sensors exited with code {self.process.returncode} before ready: "
                    f"{err.decode(errors='replace')[-2000:]}"
                )
            event = json.loads(line)
            if event.get("event") == "ready":
                self.ready = event
                return

    async def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        out, _err = await asyncio.wait_for(proc.communicate(), 30)
        for line in out.decode(errors="replace").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                event = json.loads(line)
                if event.get("event") == "stopped":
                    self.stopped = event

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
