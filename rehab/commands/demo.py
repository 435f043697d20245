"""`rehab demo` — what `make run` does: demo clinic, one live set through virtual BLE sensors, dashboard.

1. seeds the demo clinic (one therapist, two patients, weeks of simulated history) — once;
2. records one live set: virtual thigh + pelvis sensors in their own process, reached over
   HCI-over-TCP through bleak exactly like a radio, with the live panel (`rehab record --virtual`);
3. starts the ingestion service (for the dashboard's live page) and serves the dashboard,
   printing the demo logins.
Running it again adds nothing and deletes nothing: the live set is recorded once (its session id is
kept in ``<data dir>/demo-live-set.json``); every session a person recorded stays.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from rehab.commands.errors import fail
from sensors.virtual.process import DIES_WITH_PARENT

if TYPE_CHECKING:  # the CLI imports the store only when a command runs
    from rehab.clinic import SeedReport
    from store import Store

console = Console()

DEFAULT_DATA_DIR = Path(".rehab-data")
LIVE_PATIENT = "alex.demo"
#: Which session the demo's own live set is (so a re-run neither records it again nor touches others).
LIVE_SET_FILE = "demo-live-set.json"


def _rehab_exe() -> list[str]:
    exe = Path(sys.executable).with_name("rehab")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "rehab"]


def _seed(data_dir: Path, weeks: int) -> tuple[Store, SeedReport]:
    from rehab.clinic import seed_demo_clinic
    from store import Store

    store = Store(data_dir=data_dir)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("demo clinic: simulating patients' history", total=None)

        def report(message: str, done: int, total: int) -> None:
            progress.update(task, description=message, completed=done, total=total)

        result = seed_demo_clinic(store, weeks=weeks, progress=report)
    if result.sessions_added:
        console.print(f"demo clinic created: {result.sessions_added} simulated sessions stored")
    else:
        console.print("demo clinic already there: nothing added")
    return store, result


def _demo_live_session(store: Store, data_dir: Path) -> int | None:
    """The demo's live set recorded by an earlier run, if it is still stored."""
    from store import NotFoundError

    path = data_dir / LIVE_SET_FILE
    if not path.is_file():
        return None
    try:
        sid = int(json.loads(path.read_text())["session_id"])
        store.get_session(sid)
    except (ValueError, KeyError, TypeError, NotFoundError):
        return None
    return sid


def _record_live_set(store: Store, data_dir: Path, reps: int, username: str = LIVE_PATIENT) -> int | None:
    """One set through the virtual BLE path, for ``username``'s first prescription (its drill and its
    side), recorded once. Nothing is ever deleted: a re-run finds the demo's set and records nothing."""
    done_before = _demo_live_session(store, data_dir)
    if done_before is not None:
        console.print(f"demo live set already recorded (session {done_before}); nothing recorded, nothing deleted")
        return done_before
    patient = store.get_user_by_username(username)
    prescriptions = store.list_prescriptions(patient.id)
    if not prescriptions:
        console.print(f"[yellow]{username} has no prescription; no live set recorded[/]")
        return None
    rx = prescriptions[0]
    before = {s.id for s in store.list_sessions(patient.id)}
    console.rule(f"live set for {patient.display_name}: {rx.exercise} ({rx.side}) — virtual BLE sensors → bleak → live tracker → store")
    cmd = [
        *_rehab_exe(), "record", "--exercise", rx.exercise, "--side", rx.side, "--patient", str(patient.id),
        "--reps", str(reps), "--threshold", str(rx.compensation_threshold_deg), "--virtual",
        "--seed", str(int(time.time()) % 1000), "--data-dir", str(data_dir),
    ]  # fmt: skip
    done = subprocess.run(cmd, check=False)
    if done.returncode != 0:
        console.print(f"[yellow]the live set did not complete (exit {done.returncode}); the dashboard still starts[/]")
        return None
    new = sorted({s.id for s in store.list_sessions(patient.id)} - before)
    if not new:
        return None
    (data_dir / LIVE_SET_FILE).write_text(json.dumps({"session_id": new[-1], "patient": username}))
    return new[-1]


def _start_ingest_service(
    data_dir: Path, *, timeout_s: float = 30.0, pace: float | None = None
) -> tuple[subprocess.Popen[bytes] | None, str | None]:
    """The ingestion service the patient's live page talks to (virtual sensors that do each set's
    drill on its side)."""
    ready = data_dir / "ingest-ready.json"
    ready.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [*_rehab_exe(), "serve", "--port", "0", "--virtual-sensors", "--data-dir", str(data_dir),
         "--ready-file", str(ready), *(("--virtual-pace", str(pace)) if pace is not None else ())],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        **DIES_WITH_PARENT,  # a demo stopped by SIGTERM or SIGKILL left this service and its sensors running
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if ready.exists():
            return proc, json.loads(ready.read_text())["url"]
        time.sleep(0.2)
    proc.terminate()
    proc.wait(timeout=10)
    console.print("[yellow]the ingestion service did not start; the live page will say so[/]")
    return None, None


def _print_logins(result: SeedReport, url: str) -> None:
    table = Table("role", "username", "password", title=f"Dashboard: {url}")
    for role, name, password in result.logins.rows():
        table.add_row(role, name, password)
    console.print(table)
    console.print("Passwords were generated for this machine and are kept in the data directory "
                  "(demo-logins.json, owner-only). Stop with Ctrl-C.")


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        data_dir: Path = typer.Option(
            Path(os.environ.get("REHAB_DATA_DIR", DEFAULT_DATA_DIR)), "--data-dir", help="where the demo store lives"
        ),
        port: int = typer.Option(8501, "--port", help="dashboard port on 127.0.0.1"),
        weeks: int = typer.Option(3, "--weeks", min=1, max=12, help="weeks of simulated history"),
        reps: int = typer.Option(6, "--reps", min=1, max=30, help="reps in the live set"),
        live: bool = typer.Option(True, "--live/--no-live", help="record the live set through virtual BLE (once)"),
        live_patient: str = typer.Option(LIVE_PATIENT, "--live-patient", help="whose prescribed drill the live set is"),
        serve: bool = typer.Option(True, "--serve/--no-serve", help="serve the dashboard afterwards"),
        check: bool = typer.Option(
            False, "--check", help="serve, prove the dashboard answers and the demo data is there, then exit"
        ),
    ) -> None:
        """Set up the demo clinic, record a live set through virtual sensors, serve the dashboard."""
        os.environ["REHAB_DATA_DIR"] = str(data_dir.resolve())
        store, result = _seed(data_dir, weeks)
        if live:
            _record_live_set(store, data_dir, reps, live_patient)
        if not serve:
            return
        from dashboard.launch import start

        ingest, ingest_url = _start_ingest_service(data_dir)
        try:
            try:
                dashboard = start(port=port, data_dir=data_dir, service_url=ingest_url)
            except Exception as exc:
                fail(f"the dashboard did not start on port {port}: {exc}")
            url = f"http://localhost:{port}"
            try:
                if check:
                    _check(store, url)
                    return
                _print_logins(result, url)
                dashboard.wait()
            except KeyboardInterrupt:
                pass
            finally:
                dashboard.terminate()
                dashboard.wait(timeout=10)
        finally:
            if ingest is not None:
                ingest.terminate()
                ingest.wait(timeout=10)


def _check(store: Store, url: str) -> None:
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as resp:
        health = resp.read().decode().strip()
    with urllib.request.urlopen(url, timeout=10) as resp:
        page = resp.read().decode()
    patients = store.list_patients()
    sessions = sum(len(store.list_sessions(p.id)) for p in patients)
    ok = bool(health == "ok" and "<div id=\"root\">" in page and len(patients) >= 2 and sessions > 0)
    console.print(json.dumps({"health": health, "page_bytes": len(page), "patients": len(patients),
                              "sessions": sessions, "ok": ok}))
    if not ok:
        fail("demo check failed: the dashboard or the demo data is missing")
