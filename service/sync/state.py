"""What the hub remembers about talking to the clinic between runs (not secret; owner-only anyway).

``<data dir>/hub-state.json``: the plan's ETag and when it last changed, when the clinic was last
reached, the last round's problem (kind, the patient's words, the technical detail), how many rounds
failed in a row and when the next one is due. Which sessions wait is never kept here: that is
derived from the store (store/outbox.py).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from store.config import write_private_file

logger = logging.getLogger(__name__)

STATE_FILE = "hub-state.json"


@dataclass(slots=True)
class HubState:
    plan_etag: str | None = None
    plan_checked_at: str | None = None
    plan_changed_at: str | None = None
    stage_changes: list[dict[str, Any]] = field(default_factory=list)
    last_contact_at: str | None = None
    last_error_kind: str | None = None
    last_error: str | None = None  # in the patient's words
    last_error_detail: str | None = None  # for the therapist / support
    last_error_at: str | None = None
    failures: int = 0
    next_round_at: str | None = None

    @staticmethod
    def path(data_dir: Path) -> Path:
        return Path(data_dir) / STATE_FILE

    @classmethod
    def load(cls, data_dir: Path) -> HubState:
        path = cls.path(data_dir)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            # only a cache of what the clinic said: a damaged one costs one plan download, nothing else
            logger.warning("%s unreadable (%s); starting from a clean state", path, exc)
            return cls()
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def save(self, data_dir: Path) -> None:
        write_private_file(self.path(data_dir), json.dumps(asdict(self), indent=1).encode())
