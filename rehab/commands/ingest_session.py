"""The ingestion service as `rehab record` and `rehab serve` open it: store, data dir, recovery."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from rich.console import Console

from service.assignment import AssignmentStore
from service.datadir import data_dir as resolve_data_dir
from service.datadir import recordings_dir
from service.ingest import IngestService
from service.recorder import SetRequest


def assignment_file(data_dir: Path | None, transport: str | None) -> Path:
    """Virtual sensors' assignment is kept apart from the real ones' (`sensors.json`)."""
    return resolve_data_dir(data_dir) / ("sensors-virtual.json" if transport else "sensors.json")


@asynccontextmanager
async def opened_service(
    *,
    transport: str | None,
    data_dir: Path | None,
    database_url: str | None,
    store_enabled: bool,
    console: Console,
    assignment_path: Path | None = None,
    before_set: Callable[[SetRequest], Awaitable[None]] | None = None,
) -> AsyncIterator[IngestService]:
    """Open the store, recover any recording a crash left unfinished, yield the service; close both."""
    store = None
    if store_enabled:
        from store import Store

        store = Store(database_url, data_dir=data_dir)
    service = IngestService(
        transport=transport,
        data_root=recordings_dir(data_dir),
        store=store,
        assignments=AssignmentStore(assignment_path or assignment_file(data_dir, transport)),
        before_set=before_set,
    )
    try:
        for r in await service.recover():
            console.print(
                f"[yellow]recovered an unfinished recording[/] {r.uid}: {r.status}"
                + (f", session {r.session_id}" if r.session_id is not None else "")
                + (f" ({r.error})" if r.error else "")
            )
        yield service
    finally:
        await service.close()
        if store is not None:
            store.close()
