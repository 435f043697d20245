"""`rehab reanalyze`: bring stored sessions onto the current processing engine (service/reanalysis.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from rehab.commands.errors import fail
from rehab.commands.options import DataDirOpt, UrlOpt, find_user, open_store
from rehab.commands.storage import _progress, console


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rehab` app."""

    @app.command("reanalyze")
    def reanalyze_cmd(
        patient: Annotated[str | None, typer.Option("--patient", help="Only this patient's sessions (id or username).")] = None,
        all_sessions: Annotated[bool, typer.Option("--all", help="Every patient's sessions.")] = False,
        force: Annotated[bool, typer.Option("--force", help="Also re-analyse sessions already on the current engine.")] = False,
        database_url: UrlOpt = None,
        data_dir: DataDirOpt = None,
    ) -> None:
        """Re-run the current analysis on stored raw samples, one session at a time (each atomic).

        Sessions already on the current engine are skipped unless --force. A session that fails keeps
        its old analysis and is listed with the reason; the exit code is then 1."""
        from service.reanalysis import ReanalysisResult, reanalyse_all
        from tracker import ENGINE_VERSION

        if (patient is None) == (not all_sessions):
            fail("give either --patient ID or --all, not both and not neither")
        store = open_store(database_url, data_dir)
        try:
            pid = find_user(store, patient, "patient").id if patient is not None else None
            records = store.find_sessions(patient_id=pid)
            with _progress() as progress:
                task = progress.add_task(f"re-analysing on engine {ENGINE_VERSION}", total=len(records))

                def advance(result: ReanalysisResult) -> None:
                    progress.update(task, description=f"session {result.session_id}: {result.outcome}")
                    progress.advance(task)

                results = reanalyse_all(store, records, force=force, on_result=advance)
        finally:
            store.close()
        done = [r for r in results if r.outcome == "reanalysed"]
        skipped = [r for r in results if r.outcome == "skipped"]
        failed = [r for r in results if r.outcome == "failed"]
        for r in done:
            console.print(
                f"session {r.session_id}: re-analysed (engine {r.old_engine or 'unrecorded'} → {ENGINE_VERSION}), "
                f"{r.rep_count_before} → {r.rep_count_after} reps",
                markup=False,
            )
        for r in failed:
            console.print(f"session {r.session_id}: FAILED, old analysis kept — {r.reason}", markup=False, style="red")
        console.print(
            f"{len(done)} re-analysed, {len(skipped)} already on engine {ENGINE_VERSION}, {len(failed)} failed",
            markup=False,
        )
        if failed:
            raise typer.Exit(1)
