"""The recording application: record thigh + pelvis sets that never lose data, with live results.

Stages (one module each):
- `assignment` — discover sensors by profile, assign thigh/pelvis, remember it, identify by motion
- `link` — one sensor's connection: battery, start streaming, subscribe, reconnect with backoff
- `alignment` — sensor µs clock → session clock (lower-envelope offset + drift fit, reboots)
- `stream` — bytes → checked samples → aligned → journal + live view; `live_view` — live snapshot
- `journal` — crash-safe append-only recording + manifest; `finish` — analyse, store, recover
- `recorder` — one set end to end; `ingest` — sets on request; `api` — loopback HTTP API;
  `importing` — raw-session CSVs into the store; `datadir` — the data directory; `secret` — the
  API's per-installation secret

Names are imported on first use (PEP 562), so a light client (the dashboard reading the secret)
does not load the radio stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.alignment import ClockAligner, ClockFit, align_offline
    from service.assignment import (
        Assignment,
        AssignmentStore,
        Candidate,
        MotionScore,
        SensorRef,
        assign_by_name,
        discover,
        identify_by_motion,
    )
    from service.datadir import data_dir, recordings_dir
    from service.errors import (
        AssignmentError,
        IngestError,
        JournalError,
        SensorConnectError,
        SensorLostError,
        SensorNotFoundError,
        SensorSetupError,
        SetStartError,
        SetStateError,
    )
    from service.finish import SetResult, analyse_recording, recover_unfinished
    from service.ingest import IngestService
    from service.journal import JournalWriter, Manifest, find_unfinished, read_journal
    from service.link import LinkEvent, Notification, ReconnectPolicy, SensorLink
    from service.recorder import SetRecorder, SetRequest
    from service.stream import IngestPipeline

_MODULE_OF = {
    "ClockAligner": "service.alignment",
    "ClockFit": "service.alignment",
    "align_offline": "service.alignment",
    "Assignment": "service.assignment",
    "AssignmentStore": "service.assignment",
    "Candidate": "service.assignment",
    "MotionScore": "service.assignment",
    "SensorRef": "service.assignment",
    "assign_by_name": "service.assignment",
    "discover": "service.assignment",
    "identify_by_motion": "service.assignment",
    "data_dir": "service.datadir",
    "recordings_dir": "service.datadir",
    "AssignmentError": "service.errors",
    "IngestError": "service.errors",
    "JournalError": "service.errors",
    "SensorConnectError": "service.errors",
    "SensorLostError": "service.errors",
    "SensorNotFoundError": "service.errors",
    "SensorSetupError": "service.errors",
    "SetStartError": "service.errors",
    "SetStateError": "service.errors",
    "SetResult": "service.finish",
    "analyse_recording": "service.finish",
    "recover_unfinished": "service.finish",
    "IngestService": "service.ingest",
    "JournalWriter": "service.journal",
    "Manifest": "service.journal",
    "find_unfinished": "service.journal",
    "read_journal": "service.journal",
    "LinkEvent": "service.link",
    "Notification": "service.link",
    "ReconnectPolicy": "service.link",
    "SensorLink": "service.link",
    "SetRecorder": "service.recorder",
    "SetRequest": "service.recorder",
    "IngestPipeline": "service.stream",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'service' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "Assignment",
    "AssignmentError",
    "AssignmentStore",
    "Candidate",
    "ClockAligner",
    "ClockFit",
    "IngestError",
    "IngestPipeline",
    "IngestService",
    "JournalError",
    "JournalWriter",
    "LinkEvent",
    "Manifest",
    "MotionScore",
    "Notification",
    "ReconnectPolicy",
    "SensorConnectError",
    "SensorLink",
    "SensorLostError",
    "SensorNotFoundError",
    "SensorRef",
    "SensorSetupError",
    "SetRecorder",
    "SetRequest",
    "SetResult",
    "SetStartError",
    "SetStateError",
    "align_offline",
    "analyse_recording",
    "assign_by_name",
    "data_dir",
    "discover",
    "find_unfinished",
    "identify_by_motion",
    "read_journal",
    "recordings_dir",
    "recover_unfinished",
]
