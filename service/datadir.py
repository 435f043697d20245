"""Where the hub keeps its files: the store's data directory ($REHAB_DATA_DIR, else
$XDG_DATA_HOME/rehab-tracker, else ~/.local/share/rehab-tracker), owner-only."""

from __future__ import annotations

from pathlib import Path

from store.config import default_data_dir, ensure_private_dir

ENV_VAR = "REHAB_DATA_DIR"


def data_dir(override: Path | str | None = None) -> Path:
    """The data directory, created readable by its owner only (a shared one is refused)."""
    return ensure_private_dir(Path(override) if override is not None else default_data_dir())


def recordings_dir(override: Path | str | None = None) -> Path:
    return ensure_private_dir(data_dir(override) / "recordings")
