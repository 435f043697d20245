"""Typed errors of the hub's link to the clinic: each says what failed and whether waiting helps."""

from __future__ import annotations

from service.errors import IngestError


class SyncError(IngestError):
    """Root of the hub ↔ clinic errors."""


class NotPairedError(SyncError):
    """This hub has no pairing (``rehab hub pair CODE --server URL`` first)."""


class PairingFileError(SyncError):
    """The pairing file is unreadable, not owner-only, or incomplete; names the file."""


class ClinicError(SyncError):
    """Talking to the clinic failed. ``retry`` says whether trying again later can help."""

    retry = True
    #: What the patient reads (``rehab hub status``, the dashboard).
    plain = "could not reach your clinic"


class ClinicUnreachableError(ClinicError):
    """No connection, a timeout, or the connection broke mid-request (network down, server restarting)."""

    plain = "could not reach your clinic (no network, or the clinic's server is down)"


class ClinicCertificateError(ClinicError):
    """The server's TLS certificate did not verify: nothing was sent to it."""

    retry = True  # a certificate can be fixed on the server; keep trying, but never send unverified
    plain = "your clinic's server could not be verified (security certificate), so nothing was sent"


class ClinicBusyError(ClinicError):
    """429 / 503: come back after ``retry_after_s``."""

    plain = "your clinic's server is busy"

    def __init__(self, message: str, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ClinicRefusedError(ClinicError):
    """The clinic answered with a refusal; ``status`` is its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class AccessRevokedError(ClinicRefusedError):
    """401: the clinic no longer accepts this hub's token (revoked, or unknown). Pair again."""

    retry = False
    plain = "your clinic no longer accepts this hub; ask your therapist for a new pairing code"


class WrongPatientError(ClinicRefusedError):
    """403: the token belongs to another patient (a misconfigured hub)."""

    retry = False
    plain = "this hub is paired for a different patient; ask your therapist for a new pairing code"


class SessionRejectedError(ClinicRefusedError):
    """400 / 409 / 413 / 422 for one session: the others can still be sent."""

    plain = "your clinic could not accept a session"


class HubStoreError(ClinicError):
    """The hub could not read or update its own store during a round (the database is busy, or the
    clinic's plan did not check out); the round is retried like a network failure."""

    plain = "this hub could not update its own records"
