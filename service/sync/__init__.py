"""The home hub's link to its clinic: pairing, the outbox of finished sessions, the plan, status.

- `pairing` — the owner-only pairing file (server URL, device token, patient ids, CA file)
- `client` — HTTPS to the clinic server (server/protocol.py), typed errors (`errors`)
- `outbox` — send every finished session the clinic has not acknowledged (derived from the store)
- `hub` — `pair()`, and `SyncHub` rounds: plan (ETag) + outbox, with backoff (`policy`, `state`)
- `status` — the same in words a patient can read
"""

from service.sync.client import ClinicClient
from service.sync.errors import (
    AccessRevokedError,
    ClinicBusyError,
    ClinicCertificateError,
    ClinicError,
    ClinicRefusedError,
    ClinicUnreachableError,
    HubStoreError,
    NotPairedError,
    PairingFileError,
    SessionRejectedError,
    SyncError,
    WrongPatientError,
)
from service.sync.hub import RoundResult, SyncHub, pair
from service.sync.outbox import SendReport, send_one, send_waiting
from service.sync.pairing import HubPairing, check_server_url
from service.sync.policy import SyncPolicy
from service.sync.state import HubState
from service.sync.status import HubStatus

__all__ = [
    "AccessRevokedError",
    "ClinicBusyError",
    "ClinicCertificateError",
    "ClinicClient",
    "ClinicError",
    "ClinicRefusedError",
    "ClinicUnreachableError",
    "HubPairing",
    "HubState",
    "HubStoreError",
    "HubStatus",
    "NotPairedError",
    "PairingFileError",
    "RoundResult",
    "SendReport",
    "SessionRejectedError",
    "SyncError",
    "SyncHub",
    "SyncPolicy",
    "WrongPatientError",
    "check_server_url",
    "pair",
    "send_one",
    "send_waiting",
]
