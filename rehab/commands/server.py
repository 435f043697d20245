"""`rehab server`: the clinic server (`run`), and pairing chores from a shell (`enrol`, `devices`, `revoke`).

Therapists create enrolment codes and revoke devices on the dashboard's Devices page; the same is
here for administrators and scripts. See docs/deployment.md.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from rehab.commands.errors import fail
from rehab.commands.options import DataDirOpt, FilesOpt, UrlOpt, find_user, open_store

console = Console()


server_app = typer.Typer(help="The clinic server: home hubs pair with it and send it their sessions.", no_args_is_help=True)


@server_app.command("run")
def run(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (0.0.0.0 / :: for every interface)"),
    port: int = typer.Option(8443, "--port", help="port (0: any free port, printed)"),
    cert: Path | None = typer.Option(None, "--cert", help="TLS certificate chain (PEM)"),
    key: Path | None = typer.Option(None, "--key", help="TLS private key (PEM, owner-only)"),
    no_tls: bool = typer.Option(False, "--no-tls", help="plain HTTP: only behind a proxy that terminates TLS"),
    forwarded_allow_ips: str | None = typer.Option(
        None, "--forwarded-allow-ips", help="proxies whose X-Forwarded-For is trusted (e.g. 10.0.0.5)"
    ),
    database_url: UrlOpt = None,
    data_dir: DataDirOpt = None,
    files_url: FilesOpt = None,
    ready_file: Path | None = typer.Option(None, "--ready-file", help="write {url, pid} here once serving"),
    upload_slots: int = typer.Option(4, "--upload-slots", help="session uploads checked and stored at once"),
    upload_queue: int = typer.Option(64, "--upload-queue", help="uploads waiting for a slot; more get 503 + Retry-After"),
    max_connections: int = typer.Option(2048, "--max-connections", help="open connections before 503 (bounds memory)"),
    log_level: str = typer.Option("info", "--log-level", help="debug | info | warning"),
) -> None:
    """Serve the clinic API (HTTPS) until SIGINT/SIGTERM; stateless, so run as many as you like."""
    from server.config import Limits, ServerConfig
    from server.errors import ServerConfigError
    from server.run import serve
    from store import StoreError

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = ServerConfig(
            host=host, port=port, certfile=cert, keyfile=key, tls=not no_tls, forwarded_allow_ips=forwarded_allow_ips,
            max_connections=max_connections, limits=Limits(upload_slots=upload_slots, upload_queue=upload_queue),
        )  # fmt: skip
        serve(
            config, database_url=database_url, data_dir=data_dir, files_url=files_url, ready_file=ready_file,
            on_ready=lambda info: print(json.dumps(info), flush=True),
        )  # fmt: skip
    except (ServerConfigError, StoreError) as exc:
        fail(str(exc))


@server_app.command("certs")
def certs(
    out: Path = typer.Option(..., "--out", help="folder for ca.pem, ca-key.pem, server.pem, server-key.pem"),
    host: list[str] = typer.Option(..., "--host", help="a name or address hubs use to reach the server (repeat)"),
    ca_name: str = typer.Option("rehab clinic CA", "--ca-name", help="the CA's name"),
    force: bool = typer.Option(False, "--force", help="overwrite existing files"),
) -> None:
    """Make the clinic's own CA and a server certificate (for a server without a public name)."""
    from server.certs import make_private_pki

    names = ("ca.pem", "ca-key.pem", "server.pem", "server-key.pem")
    existing = [n for n in names if (out / n).exists()]
    if existing and not force:
        fail(f"{out}: {', '.join(existing)} already there; --force to replace")
    files = make_private_pki(out, tuple(host), ca_name=ca_name)
    console.print(f"server certificate for {', '.join(host)}: {files.cert_file} (key {files.key_file}, owner-only)")
    console.print(f"  rehab server run --cert {files.cert_file} --key {files.key_file} ...")
    console.print(f"give hubs the CA certificate {files.ca_file}: rehab hub pair CODE --server URL --ca-file ca.pem")
    console.print(f"keep {files.ca_key_file} offline: it signs next year's server certificate")


@server_app.command("enrol")
def enrol(
    patient: str = typer.Argument(..., help="patient id or username"),
    therapist: str | None = typer.Option(None, "--therapist", help="who creates it (default: the patient's therapist)"),
    server_url: str = typer.Option("https://CLINIC-SERVER:8443", "--server-url", help="shown in the pairing command"),
    database_url: UrlOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Create a one-time enrolment code (valid 15 minutes) for a patient's home hub."""
    with open_store(database_url, data_dir, clean_on_open=False) as store:
        p = find_user(store, patient, "patient")
        by = find_user(store, therapist, "therapist").id if therapist else p.therapist_id
        code = store.create_enrolment_code(p.id, created_by=by)
    console.print(f"enrolment code for {p.display_name}: [bold]{code.code}[/] (valid until {code.expires_at:%H:%M} UTC)")
    console.print(f"on the hub: rehab hub pair {code.code} --server {server_url}")


@server_app.command("devices")
def devices(
    patient: str = typer.Argument(..., help="patient id or username"),
    database_url: UrlOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """A patient's paired devices (the tokens themselves are never stored)."""
    with open_store(database_url, data_dir, clean_on_open=False) as store:
        p = find_user(store, patient, "patient")
        found = store.list_devices(p.id)
    table = Table("device", "name", "paired", "last seen", "status")
    for d in found:
        table.add_row(str(d.id), d.name, f"{d.created_at:%Y-%m-%d %H:%M}",
                      f"{d.last_seen_at:%Y-%m-%d %H:%M}" if d.last_seen_at else "never",
                      "active" if d.active else f"revoked {d.revoked_at:%Y-%m-%d}")  # fmt: skip
    console.print(table)


@server_app.command("revoke")
def revoke(
    device_id: int = typer.Argument(..., help="device id (rehab server devices PATIENT)"),
    database_url: UrlOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke a device's token: from now on every request with it is refused (401)."""
    from store import NotFoundError

    with open_store(database_url, data_dir, clean_on_open=False) as store:
        try:
            d = store.revoke_device(device_id, revoked_by=None)
        except NotFoundError as exc:
            fail(str(exc))
    console.print(f"device {d.id} ({d.name}) revoked")


def register(app: typer.Typer) -> None:
    """Add `rehab server` to the app."""
    app.add_typer(server_app, name="server")
