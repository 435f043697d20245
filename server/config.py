"""The clinic server's settings: where it listens, its certificate, and the limits that keep it up."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from server.errors import ServerConfigError

DEFAULT_PORT = 8443
MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Rate limits (per minute, counted in the database, so they hold across replicas) and sizes."""

    device_requests_per_minute: int = 120  # one hub: uploads + plan checks
    address_refusals_per_minute: int = 20  # refused requests from one client address, then 429
    enrolments_per_minute: int = 10  # pairing attempts from one client address
    max_upload_bytes: int = 128 * MiB  # a 2-hour session is ~30 MB
    upload_slots: int = 4  # bundles read, checked and stored at once by one process (bounds memory)
    upload_queue: int = 64  # uploads waiting for a slot (each holds ~64 KiB); one more gets 503 + Retry-After at once
    slot_wait_s: float = 60.0  # a queued upload waits at most this long, then 503 + Retry-After
    busy_retry_after_s: int = 10  # what a 503 asks the hub to wait (it adds its own jitter)

    def __post_init__(self) -> None:
        for name in ("device_requests_per_minute", "address_refusals_per_minute", "enrolments_per_minute",
                     "max_upload_bytes", "upload_slots", "upload_queue", "busy_retry_after_s"):  # fmt: skip
            if getattr(self, name) < 1:
                raise ServerConfigError(f"limit {name} must be ≥ 1, got {getattr(self, name)}")
        if not self.slot_wait_s > 0:
            raise ServerConfigError(f"slot_wait_s must be > 0, got {self.slot_wait_s}")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    certfile: Path | None = None
    keyfile: Path | None = None
    #: False only behind a load balancer or proxy that terminates TLS on the same host/network.
    tls: bool = True
    #: Proxies whose X-Forwarded-For is believed (uvicorn's forwarded_allow_ips); None: none.
    forwarded_allow_ips: str | None = None
    limits: Limits = field(default_factory=Limits)
    #: Open connections (each ~0.3 MiB with TLS) beyond which uvicorn answers 503 at once.
    max_connections: int = 2048
    #: How often rate-limit windows are pruned and orphaned session files removed (seconds).
    maintenance_interval_s: float = 3600.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ServerConfigError(f"port {self.port} is not 0–65535")
        if self.tls and (self.certfile is None or self.keyfile is None):
            raise ServerConfigError(
                "TLS needs --cert and --key (PEM files); --no-tls only behind a proxy that terminates TLS"
            )
        if not self.tls and (self.certfile or self.keyfile):
            raise ServerConfigError("--no-tls given together with --cert/--key; choose one")
        if self.max_connections < 1:
            raise ServerConfigError(f"max_connections must be ≥ 1, got {self.max_connections}")
        if not self.maintenance_interval_s > 0:
            raise ServerConfigError(f"maintenance_interval_s must be > 0, got {self.maintenance_interval_s}")

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"
