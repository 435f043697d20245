"""`rehab serve`: the ingestion service for the dashboard — sensors, sets and live state over a
loopback HTTP API (docs/ingestion.md). Every request must carry the installation's secret
(``<data dir>/ingest-secret``, created owner-only on the first start); SIGTERM / SIGINT stop it
within about a second, whatever a request asked for: running work is cancelled, a running set gets
one second to be stored, then the process ends (anything cut short is recovered at the next start)."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from rehab.commands.errors import fail
from rehab.commands.options import DataDirOpt, UrlOpt

if TYPE_CHECKING:  # imported when the command runs
    from service.ingest import IngestService
    from service.recorder import SetRequest

console = Console(stderr=True)

#: Default API port; the dashboard reads $REHAB_INGEST_URL or uses http://127.0.0.1:DEFAULT_PORT.
DEFAULT_PORT = 8377
#: At shutdown, how long the virtual sensors' process may take to exit before it is killed.
STOP_SENSORS_S = 1.0


async def _serve(
    *, host: str, port: int, transport: str | None, data_dir: Path | None, database_url: str | None,
    store_enabled: bool, ready_file: Path | None, origins: tuple[str, ...],
    before_set: Callable[[SetRequest], Awaitable[None]] | None, sensors: Any = None,
) -> None:  # fmt: skip
    from rehab.commands.ingest_session import opened_service
    from service.secret import SecretError, load_or_create_secret

    try:
        secret = load_or_create_secret(data_dir)
    except SecretError as exc:
        fail(str(exc))
    async with opened_service(
        transport=transport, data_dir=data_dir, database_url=database_url, store_enabled=store_enabled,
        console=console, before_set=before_set,
    ) as service:
        await _serve_api(service, host=host, port=port, transport=transport, ready_file=ready_file,
                         secret=secret, origins=origins, sensors=sensors)  # fmt: skip
    # The service, the API and the store are closed; every journal is durable. End the process now
    # rather than wait for worker threads (an analysis cut short, a radio call): whatever they were
    # doing is redone by recovery at the next start, and a stop request must not wait for them.
    if sensors is not None:
        sensors.stop_blocking(timeout_s=STOP_SENSORS_S)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


async def _serve_api(
    service: IngestService, *, host: str, port: int, transport: str | None, ready_file: Path | None, secret: str,
    origins: tuple[str, ...], sensors: Any = None,
) -> None:  # fmt: skip
    from service.api import ApiServer

    api = ApiServer(service, host, port, secret=secret, allowed_origins=origins)
    await api.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    info = {"event": "ready", "url": api.url, "pid": os.getpid()}
    if ready_file is not None:
        tmp = ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.replace(ready_file)
    print(json.dumps(info), flush=True)
    console.print(f"ingestion service on {api.url} (backend: {'virtual' if transport else 'OS Bluetooth'})")
    try:
        await stop.wait()
    finally:
        await service.close()  # cancels scans/identifies and stops the set, so open requests end now
        if sensors is not None:
            sensors.send_stop()  # after the radio work is cancelled (it talks to them); they wind down meanwhile
        await api.stop()


def _virtual_patient(proc: Any, *, seed: int, pace: float) -> Callable[[SetRequest], Awaitable[None]]:
    """Before each set: the virtual patient does that set's drill on its side (a new seed each)."""
    from rehab.commands.sensors_cmd import perform_command

    seeds = itertools.count(seed)

    async def before_set(request: SetRequest) -> None:
        command = perform_command(
            exercise=request.exercise, side=request.side, reps=request.target_reps or 10, seed=next(seeds), pace=pace
        )
        await asyncio.to_thread(proc.command_blocking, command, answer="performing")

    return before_set


def register(app: typer.Typer) -> None:
    """Add `rehab serve` to the app."""

    @app.command("serve")
    def serve(
        port: int = typer.Option(DEFAULT_PORT, "--port", help="loopback port (0: any free port, printed)"),
        host: str = typer.Option("127.0.0.1", "--host", help="loopback address only: 127.0.0.1 or ::1"),
        transport: str | None = typer.Option(
            None, "--transport", help="virtual sensors' bumble transport (default: $REHAB_BLE_TRANSPORT, else the OS radio)"
        ),
        data_dir: DataDirOpt = None,
        database_url: UrlOpt = None,
        no_store: bool = typer.Option(False, "--no-store", help="analyse sets but do not save them"),
        ready_file: Path | None = typer.Option(None, "--ready-file", help="write {url, pid} here when serving"),
        virtual_sensors: bool = typer.Option(
            False, "--virtual-sensors", help="start virtual thigh + pelvis sensors (a simulated drill) for this service"
        ),
        virtual_exercise: str = typer.Option("knee_raise", "--virtual-exercise", help="--virtual-sensors: the drill they play"),
        virtual_side: str = typer.Option("right", "--virtual-side", help="--virtual-sensors: the exercised leg"),
        virtual_reps: int = typer.Option(10, "--virtual-reps", help="--virtual-sensors: reps in the simulated set"),
        virtual_pace: float = typer.Option(
            1.0, "--virtual-pace", min=0.2, max=2.0, help="--virtual-sensors: the patient's tempo (0.5 = twice as quick)"
        ),
        seed: int = typer.Option(0, "--seed", help="--virtual-sensors: simulator seed"),
        dashboard_origin: list[str] = typer.Option(
            None, "--dashboard-origin", help="a browser Origin allowed to call (default: http://127.0.0.1:8501, http://localhost:8501)"
        ),
    ) -> None:
        """Run the ingestion service: GET /state, POST /sets, POST /sets/current/stop, GET /health (secret required)."""
        if host not in ("127.0.0.1", "localhost", "::1"):
            fail(f"--host {host!r}: the ingestion API serves loopback only (127.0.0.1 or ::1)")
        from sensors.ble import transport_from_env

        proc = None
        if virtual_sensors:
            if transport:
                fail("--virtual-sensors starts its own sensors; do not also pass --transport")
            from rehab.commands.sensors_cmd import simulated_sensors

            # a simulated patient who follows each set: stands still, does the set's drill on the
            # set's side, rests (the --virtual-* options only shape what plays before the first set)
            proc = simulated_sensors(
                exercise=virtual_exercise, side=virtual_side, reps=virtual_reps, seed=seed, follow_sets=True
            )
            try:
                transport = proc.start_blocking()
            except (OSError, RuntimeError, TimeoutError) as exc:
                fail(f"could not start virtual sensors: {exc}")
        from service.api import DEFAULT_ALLOWED_ORIGINS

        try:
            asyncio.run(
                _serve(
                    host=host, port=port, transport=transport or transport_from_env(), data_dir=data_dir,
                    database_url=database_url, store_enabled=not no_store, ready_file=ready_file,
                    origins=tuple(dashboard_origin or DEFAULT_ALLOWED_ORIGINS),
                    before_set=_virtual_patient(proc, seed=seed, pace=virtual_pace) if proc is not None else None,
                    sensors=proc,
                )
            )  # fmt: skip
        except OSError as exc:
            fail(f"cannot serve on {host}:{port}: {exc}")
        finally:
            if proc is not None:
                proc.stop_blocking()
