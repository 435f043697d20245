"""The recording application: record thigh + pelvis sets that never lose data, with live results.

Stages (one module each):
- `assignment` — discover sensors by profile, assign thigh/pelvis, remember it, identify by motion
- `link` — one sensor's connection: battery, start streaming, subscribe, reconnect with backoff
- `alignment` — sensor µs clock → session clock (lower-envelope offset + drift fit, reboots)
- `stream` — bytes → checked samples → aligned → journal + live view; `live_view` — live snapshot
- `journal` — crash-safe append-only recording + manifest; `finish` — analyse, store, recover
- `recorder` — one set end to end; `ingest` — sets on request; `api` — loopback HTTP API;
  `importing` — raw-session CSVs into the store; `datadir` — the data directory
"""

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
