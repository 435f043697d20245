"""Typed errors of the ingestion service; every one names the sensor (and attempt, file, line)."""

from __future__ import annotations

from pathlib import Path

from sensors.errors import SensorError


class IngestError(SensorError):
    """Root of the ingestion service's errors."""


class SensorNotFoundError(IngestError):
    """No advertising sensor matched (profile, name or remembered address)."""

    def __init__(self, sensor: str, detail: str) -> None:
        self.sensor = sensor
        super().__init__(f"{sensor}: not found: {detail}")


class SensorConnectError(IngestError):
    """Connecting (or reconnecting) failed; ``category`` is bleak-retry-connector's error class name."""

    def __init__(self, sensor: str, address: str, attempts: int, category: str, detail: str) -> None:
        self.sensor = sensor
        self.address = address
        self.attempts = attempts
        self.category = category
        super().__init__(
            f"{sensor} ({address}): connection failed after {attempts} attempt(s) [{category}]: {detail}"
        )


class SensorLostError(SensorConnectError):
    """A sensor stayed unreachable longer than the reconnect policy's give-up time."""


class SensorSetupError(IngestError):
    """Connected, but the GATT set-up (battery read, control write, subscribe) failed."""

    def __init__(self, sensor: str, address: str, step: str, detail: str) -> None:
        self.sensor = sensor
        self.address = address
        self.step = step
        super().__init__(f"{sensor} ({address}): {step} failed: {detail}")


class ScanError(IngestError):
    """The radio could not scan (no adapter, Bluetooth stack down, transport lost)."""


class AssignmentError(IngestError):
    """The remembered sensor assignment is missing, inconsistent or unreadable."""


class JournalError(IngestError):
    """A recording journal that cannot be written or read; names the file and line."""

    def __init__(self, path: Path | str, detail: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {detail}")


class SetStateError(IngestError):
    """A set cannot be started/stopped in the service's current state (e.g. one is running)."""


class SetStartError(IngestError):
    """A set cannot start: unknown patient, store unavailable, sensors missing."""


class UnknownPatientError(SetStartError):
    """The patient id is not an active patient of this store. One message for every reason (no such
    user, another role, inactive), so the API does not reveal which accounts exist."""

    MESSAGE = "no patient with that id"

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class ServiceClosingError(IngestError):
    """The service is shutting down; the request's work was cancelled."""
