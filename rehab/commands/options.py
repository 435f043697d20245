"""What several `rehab` commands share: where the store lives (``--data-dir``, ``--database-url``,
``--files-url``), opening it with a clear error, and finding an account given as id or username —
said once, so every command reads its options and names a missing account alike."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rehab.commands.errors import fail

if TYPE_CHECKING:
    from store import Store, User

DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (default $REHAB_DATA_DIR or ~/.local/share/rehab-tracker).")
]
UrlOpt = Annotated[
    str | None, typer.Option("--database-url", help="Database URL (default $REHAB_DATABASE_URL, else SQLite in the data dir).")
]
FilesOpt = Annotated[
    str | None, typer.Option("--files-url", help="Session files: file:///path or s3://bucket/prefix (default $REHAB_FILES_URL).")
]


def open_store(database_url: str | None, data_dir: Path | None, **options: Any) -> Store:
    """The store, or exit 2 with the store's own words (a shared directory, a bad URL, ...)."""
    from store import Store, StoreError

    try:
        return Store(database_url, data_dir=data_dir, **options)
    except StoreError as exc:
        fail(str(exc))


def find_user(store: Store, ref: str, role: str, *, whose: str = "") -> User:
    """The account ``ref`` (numeric id or username), which must have ``role``; else exit 2 naming it.
    ``whose`` ("local ") says which store was searched when there are two (the hub's and the clinic's)."""
    from store import NotFoundError

    try:
        user = store.get_user(int(ref)) if ref.isdigit() else store.get_user_by_username(ref)
    except NotFoundError:
        fail(f"{whose}{role} {ref!r} not found")
    if user.role != role:
        fail(f"{whose}user {ref!r} is a {user.role}, not a {role}")
    return user
