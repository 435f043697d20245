"""`rehab hub`: the home hub's link to its clinic — pair, status, sync (one round), run (keep syncing).

Recording never needs the clinic (`rehab record`, `rehab serve` and the dashboard work offline);
`rehab hub run` sends finished sessions when the clinic is reachable and keeps the patient's plan
up to date. See docs/deployment.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import sys
from pathlib import Path

import typer
from rich.console import Console

from rehab.commands.errors import fail
from rehab.commands.options import DataDirOpt, UrlOpt, find_user, open_store

console = Console()


hub_app = typer.Typer(help="The home hub's link to its clinic (pairing, sending sessions, the plan).", no_args_is_help=True)


def _open(database_url: str | None, data_dir: Path | None):
    from service.datadir import data_dir as resolve_data_dir

    ddir = resolve_data_dir(data_dir)
    return open_store(database_url, ddir), ddir


def _local_account(store, ref: str | None, password_stdin: bool):
    """How this hub finds its own account for the clinic's patient: --patient (checked now), else the
    clinic's username, else a new local account — whose password is asked *before* the code is spent."""
    from store import InvalidValueError, NotFoundError
    from store.auth import check_password_policy

    if ref:
        user = find_user(store, ref, "patient", whose="local ")
        return lambda _username, _display: int(user.id)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        console.print("A password for the patient's account on this hub (to sign in to the dashboard here):")
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_password_policy(password)
    except InvalidValueError as exc:
        fail(str(exc))

    def find_or_create(username: str, display_name: str) -> int:
        try:
            found = store.get_user_by_username(username)
        except NotFoundError:
            return int(store.create_user(username, password, role="patient", display_name=display_name).id)
        if not found.is_patient:
            raise InvalidValueError(f"local user {username!r} is a {found.role}; pair with --patient")
        return int(found.id)

    return find_or_create


@hub_app.command("pair")
def pair_cmd(
    code: str = typer.Argument(..., help="the one-time code from your therapist (e.g. 7KQ2M-X9D4T)"),
    server: str = typer.Option(..., "--server", help="the clinic server, https://clinic.example.org:8443"),
    ca_file: Path | None = typer.Option(None, "--ca-file", help="CA certificate of the clinic's server (PEM), if private"),
    patient: str | None = typer.Option(None, "--patient", help="this hub's patient account (default: the clinic's username)"),
    name: str | None = typer.Option(None, "--name", help="what the clinic calls this hub (default: the host name)"),
    force: bool = typer.Option(False, "--force", help="replace an existing pairing"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="a new local account's password from stdin"),
    data_dir: DataDirOpt = None,
    database_url: UrlOpt = None,
) -> None:
    """Pair this hub with the clinic: exchange the code for a device token (kept owner-only here)."""
    from service.sync import ClinicError, HubPairing, SyncHub, check_server_url
    from service.sync.hub import pair
    from service.sync.pairing import PAIRING_FILE
    from store import StoreError

    try:
        server = check_server_url(server)
    except ValueError as exc:
        fail(str(exc))
    if ca_file is not None and not ca_file.is_file():
        fail(f"--ca-file {ca_file}: no such file")
    store, ddir = _open(database_url, data_dir)
    with store:
        if HubPairing.exists(ddir) and not force:
            fail(f"this hub is already paired ({ddir / PAIRING_FILE}); add --force to pair it again")
        local = _local_account(store, patient, password_stdin)
        try:
            pairing = asyncio.run(pair(
                ddir, code=code, server_url=server, device_name=name or socket.gethostname(), local_patient=local,
                ca_file=str(ca_file) if ca_file else None,
            ))  # fmt: skip
        except ClinicError as exc:
            fail(f"pairing failed: {exc.plain} ({exc})")
        except StoreError as exc:
            fail(f"paired at the clinic, but this hub's account could not be set up: {exc}")
        console.print(f"paired with {pairing.server_url} as {pairing.display_name} (device {pairing.device_id}); "
                      f"the token is kept in {HubPairing.path(ddir)}, readable by you only")  # fmt: skip
        result = asyncio.run(SyncHub(store, ddir).sync_once())
        if result.error is not None:
            console.print(f"first sync: {result.error.plain}; the hub will try again by itself")
        elif result.sent is not None:
            console.print(f"plan downloaded; {len(result.sent.sent)} earlier session(s) sent to the clinic")


@hub_app.command("status")
def status_cmd(
    json_out: bool = typer.Option(False, "--json", help="machine-readable"),
    data_dir: DataDirOpt = None,
    database_url: UrlOpt = None,
) -> None:
    """What is waiting, what was sent, the last problem — in plain words."""
    from service.sync import HubStatus, SyncError

    store, ddir = _open(database_url, data_dir)
    with store:
        try:
            status = HubStatus.read(store, ddir)
        except SyncError as exc:
            fail(str(exc))
    if json_out:
        typer.echo(json.dumps(status.to_json()))
        return
    for line in status.lines():
        console.print(line, highlight=False, markup=False)


@hub_app.command("sync")
def sync_cmd(
    data_dir: DataDirOpt = None,
    database_url: UrlOpt = None,
) -> None:
    """One round now: fetch the plan, send every waiting session (even one just recorded). Exit 1 if
    something is still waiting."""
    from service.sync import HubStatus, SyncError, SyncHub, SyncPolicy

    store, ddir = _open(database_url, data_dir)
    with store:
        try:
            result = asyncio.run(SyncHub(store, ddir, policy=SyncPolicy(settle_s=0)).sync_once())
        except SyncError as exc:
            fail(str(exc))
        status = HubStatus.read(store, ddir)
    if result.sent is not None:
        console.print(f"sent {len(result.sent.sent)}, already at the clinic {len(result.sent.already)}, "
                      f"refused {len(result.sent.rejected)}")  # fmt: skip
    for line in status.lines():
        console.print(line, highlight=False, markup=False)
    if not result.ok or status.waiting:
        raise typer.Exit(1)


@hub_app.command("run")
def run_cmd(
    data_dir: DataDirOpt = None,
    database_url: UrlOpt = None,
    poll: float = typer.Option(60.0, "--poll", help="seconds between rounds when all is well"),
    settle: float = typer.Option(600.0, "--settle", help="send a session this long after it ended, or once it has "
                                 "its pain-after score"),  # fmt: skip
) -> None:
    """Keep syncing until SIGINT/SIGTERM: sessions go out as the clinic is reachable, with backoff."""
    from service.sync import SyncError, SyncHub, SyncPolicy

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store, ddir = _open(database_url, data_dir)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await SyncHub(store, ddir, policy=SyncPolicy(poll_interval_s=poll, settle_s=settle)).run(stop)

    with store:
        try:
            asyncio.run(main())
        except (SyncError, ValueError) as exc:
            fail(str(exc))


@hub_app.command("unpair")
def unpair_cmd(data_dir: DataDirOpt = None) -> None:
    """Forget the pairing (the token); recordings and the local plan stay. Revoke it at the clinic too."""
    from service.datadir import data_dir as resolve_data_dir
    from service.sync import HubPairing

    path = HubPairing.path(resolve_data_dir(data_dir))
    if not path.exists():
        fail("this hub is not paired")
    path.unlink()
    console.print("pairing removed; ask the clinic to revoke this device too")


def register(app: typer.Typer) -> None:
    """Add `rehab hub` to the app."""
    app.add_typer(hub_app, name="hub")
