"""`rehab` commands: export, import, and the `db` group (upgrade, create-user).

Where the data lives: ``--data-dir`` / ``$REHAB_DATA_DIR`` and ``--database-url`` /
``$REHAB_DATABASE_URL`` (see docs/store.md). Passwords are never taken on the command line:
they are prompted for (hidden) or read from stdin with ``--password-stdin``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy.engine import make_url

from rehab.commands import errors
from rehab.commands.options import DataDirOpt, UrlOpt, find_user, open_store

fail = errors.fail  # escapes Rich markup itself (file names and CSV cells may contain '[')


console = Console()

def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _parse_time(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"--started-at {value!r} is not an ISO 8601 time (e.g. 2026-03-02T09:00:00Z)")
    if t.tzinfo is None:
        fail(f"--started-at {value!r} has no timezone; add Z or +hh:mm")
    return t.astimezone(dt.UTC)


def export_cmd(
    session_id: Annotated[int | None, typer.Argument(help="Session to export.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Output directory (created if missing).")] = Path("."),
    patient: Annotated[str | None, typer.Option("--patient", help="Export a whole patient's history (id or username).")] = None,
    database_url: UrlOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Export a session (raw, angles, reps, summary CSVs) or a patient's history (one CSV per table)."""
    from store import NotFoundError, StoreError
    from store.exporting import PATIENT_TABLES, export_patient, export_session

    if (session_id is None) == (patient is None):
        fail("give either a SESSION_ID or --patient ID, not both and not neither")
    store = open_store(database_url, data_dir)
    try:
        with _progress() as progress:
            if session_id is not None:
                task = progress.add_task(f"session {session_id}", total=4)
            else:
                task = progress.add_task(f"patient {patient}", total=len(PATIENT_TABLES))

            def step(name: str) -> None:
                progress.update(task, description=f"writing {name}")
                progress.advance(task)

            if session_id is not None:
                result = export_session(store, session_id, out, step=step)
            else:
                result = export_patient(store, find_user(store, patient or "", "patient").id, out, step=step)
    except NotFoundError as exc:
        fail(str(exc))
    except StoreError as exc:
        fail(str(exc))
    finally:
        store.close()
    for table, path in result.files.items():
        console.print(f"{table:>13}: {path}", markup=False)


def import_cmd(
    files: Annotated[list[Path], typer.Argument(help="Raw-session CSV file(s).", exists=False)],
    patient: Annotated[str, typer.Option("--patient", help="Patient id or username.")],
    exercise: Annotated[str, typer.Option("--exercise", help="knee_raise | hip_extension | deep_squat")],
    side: Annotated[str, typer.Option("--side", help="left | right")],
    started_at: Annotated[
        str | None, typer.Option("--started-at", help="Session start, ISO 8601 with timezone (default: now).")
    ] = None,
    threshold_deg: Annotated[
        float | None, typer.Option("--threshold-deg", help="Compensation threshold (default: the prescription's).")
    ] = None,
    allow_duplicate: Annotated[
        bool, typer.Option("--allow-duplicate", help="Store a file even if the same content was imported for this patient.")
    ] = False,
    database_url: UrlOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Analyse and store raw-session CSV(s), all or none.

    Any malformed file, or one that cannot be analysed, stores nothing (line, reason, exit 2). A file
    already imported for the patient (same content) is skipped with a warning unless --allow-duplicate."""
    from service.importing import (
        analyse_for_import,
        file_digest,
        import_uid,
        read_for_import,
        store_import,
    )
    from store import DuplicateError, NotFoundError, StoreError
    from tracker.conventions import check_exercise, check_side
    from tracker.rawcsv import RawCsvError

    try:
        check_exercise(exercise)
        check_side(side)
    except ValueError as exc:
        fail(str(exc))
    start = _parse_time(started_at)
    for f in files:
        if not f.is_file():
            fail(f"{f}: no such file")
    store = open_store(database_url, data_dir)
    stored: list[tuple[Path, int, Any]] = []
    try:
        patient_id = find_user(store, patient, "patient").id
        todo = []  # (file, raw, digest, uid)
        seen: dict[str, Path] = {}
        with _progress() as progress:
            task = progress.add_task("validating", total=len(files))
            for f in files:
                progress.update(task, description=f"validating {f.name}")
                try:
                    raw = read_for_import(f)
                except RawCsvError as exc:
                    fail(f"{f}: {exc.reason}" + (f" (line {exc.line})" if exc.line is not None else "") + "; nothing stored")
                digest = file_digest(f)
                content_uid = import_uid(patient_id, digest)
                earlier = _imported(store, content_uid)
                if not allow_duplicate and (earlier is not None or digest in seen):
                    what = f"session {earlier}" if earlier is not None else seen[digest].name
                    console.print(
                        f"warning: {f}: the same content was already imported for this patient ({what}); "
                        "skipped (use --allow-duplicate to store it again)", style="yellow", markup=False,
                    )  # fmt: skip
                else:
                    seen[digest] = f
                    todo.append((f, raw, digest, None if allow_duplicate else content_uid))
                progress.advance(task)
            task = progress.add_task("analysing", total=len(todo))
            analysed = []
            for f, raw, digest, uid in todo:
                progress.update(task, description=f"analysing {f.name}")
                try:
                    analysis = analyse_for_import(
                        store, raw, patient_id=patient_id, exercise=exercise, side=side, threshold_deg=threshold_deg
                    )
                except (StoreError, ValueError) as exc:
                    fail(f"{f}: {exc}; nothing stored")
                analysed.append((f, raw, digest, uid, analysis))
                progress.advance(task)
            task = progress.add_task("storing", total=len(analysed))
            when = start or dt.datetime.now(dt.UTC)
            for f, raw, digest, uid, analysis in analysed:
                progress.update(task, description=f"storing {f.name}")
                try:
                    sid = store_import(
                        store, raw, analysis, patient_id=patient_id, started_at=when, source_name=f.name,
                        digest=digest, uid=uid,
                    )  # fmt: skip
                except (StoreError, OSError) as exc:
                    # all or none: what this command stored a moment ago is taken back
                    for _, done_id, _ in stored:
                        with contextlib.suppress(NotFoundError):
                            store.delete_session(done_id)
                    why = "stored meanwhile by another import" if isinstance(exc, DuplicateError) else str(exc)
                    fail(f"{f}: {why}; nothing stored" + (f" ({len(stored)} file(s) of this run taken back)" if stored else ""))
                stored.append((f, sid, analysis))
                progress.advance(task)
    finally:
        store.close()
    for f, sid, analysis in stored:
        s = analysis.summary
        console.print(
            f"{f.name}: session {sid} — {s.rep_count} reps, ROM {s.rom_deg:.1f}°, "
            f"{s.compensation_count} compensated",
            markup=False,
        )


def _imported(store: Any, uid: str) -> int | None:
    """The session id already stored under an import uid, if any."""
    from store import NotFoundError

    try:
        return int(store.get_session_by_uid(uid).id)
    except NotFoundError:
        return None


def db_upgrade(database_url: UrlOpt = None, data_dir: DataDirOpt = None) -> None:
    """Create the database or bring its schema up to date (Alembic migrations shipped in the package)."""
    from store import db

    store = open_store(database_url, data_dir)  # opening upgrades to head
    try:
        rev = db.current_revision(store.engine)
        where = make_url(store.config.database_url).render_as_string(hide_password=True)
    finally:
        store.close()
    console.print(f"schema at revision {rev} — {where}; data dir {store.data_dir}", markup=False)


def db_create_user(
    username: Annotated[str, typer.Argument(help="Login name (letters, digits, . _ @ -).")],
    role: Annotated[str, typer.Option("--role", help="patient | therapist | admin")],
    display_name: Annotated[str | None, typer.Option("--display-name", help="Name shown in the dashboard.")] = None,
    therapist: Annotated[str | None, typer.Option("--therapist", help="The patient's therapist (id or username).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    database_url: UrlOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Create an account (argon2-hashed password, prompted for unless --password-stdin)."""
    from store import StoreError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = open_store(database_url, data_dir)
    try:
        therapist_id = None
        if therapist is not None:
            therapist_id = find_user(store, therapist, "therapist").id
        try:
            user = store.create_user(
                username, password, role=role, display_name=display_name, therapist_id=therapist_id
            )
        except StoreError as exc:
            fail(str(exc))
    finally:
        store.close()
    console.print(f"created {user.role} {user.username!r} (id {user.id})", markup=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rehab` app."""
    app.command("export")(export_cmd)
    app.command("import")(import_cmd)
    db_app = typer.Typer(help="Database: create/upgrade the schema, create accounts.", no_args_is_help=True)
    db_app.command("upgrade")(db_upgrade)
    db_app.command("create-user")(db_create_user)
    app.add_typer(db_app, name="db")
