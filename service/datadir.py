"""Where the hub keeps its files: the store's data directory ($REHAB_DATA_DIR, else
$XDG_DATA_HOME/rehab-tracker, else ~/.local/share/rehab-tracker), owner-only."""

from __future__ import annotations

from pathlib import Path

ENV_VAR = "REHAB_DATA_DIR"


def data_dir(override: Path | str | None = None) -> Path:
    """The data directory, created readable by its owner only."""
    if override is not None:
        path = Path(override)
    else:
        from store.config import (
            default_data_dir,  # one data directory for store and recordings
        )

        path = default_data_dir()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def recordings_dir(override: Path | str | None = None) -> Path:
    path = data_dir(override) / "recordings"
    path.mkdir(exist_ok=True, mode=0o700)
    return path
