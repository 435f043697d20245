"""The hub's pairing: which clinic, which patient, and the device token — in one owner-only file.

``<data dir>/hub.json`` (mode 0600 in the 0700 data directory) holds the server URL, the device
token the clinic issued (shown nowhere else, never logged), the clinic's and the local patient's
ids, and optionally the CA certificate that signs the clinic's server certificate. A file readable
by anyone else is refused rather than used.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import stat
import urllib.parse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from service.sync.errors import NotPairedError, PairingFileError
from store.config import write_private_file

PAIRING_FILE = "hub.json"
_LOOPBACK_NAMES = ("localhost",)


def check_server_url(url: str) -> str:
    """``https://host[:port]``; plain ``http://`` only to this machine (tests, a proxy on the hub)."""
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise ValueError(f"server URL {url!r}: use https://clinic.example.org[:port]")
    if parsed.path not in ("", "/") or parsed.query or parsed.fragment:
        raise ValueError(f"server URL {url!r}: give only scheme, host and port")
    if parsed.scheme == "http" and not _is_loopback(parsed.hostname):
        raise ValueError(f"server URL {url!r}: health data goes to the clinic over https:// only")
    return f"{parsed.scheme}://{parsed.netloc}"


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class HubPairing:
    server_url: str
    token: str
    device_id: int
    clinic_patient_id: int
    clinic_username: str
    display_name: str
    local_patient_id: int
    ca_file: str | None  # PEM of the CA that signs the clinic's certificate (None: the system's)
    paired_at: str

    def __repr__(self) -> str:  # the token never appears in logs or tracebacks
        return f"HubPairing(server_url={self.server_url!r}, device_id={self.device_id}, patient={self.clinic_username!r})"

    @staticmethod
    def path(data_dir: Path) -> Path:
        return Path(data_dir) / PAIRING_FILE

    @classmethod
    def exists(cls, data_dir: Path) -> bool:
        return cls.path(data_dir).is_file()

    @classmethod
    def load(cls, data_dir: Path) -> HubPairing:
        path = cls.path(data_dir)
        if not path.is_file():
            raise NotPairedError(f"this hub is not paired with a clinic ({path} missing); run rehab hub pair CODE --server URL")
        if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise PairingFileError(f"{path}: readable by other users; it holds the device token (chmod 600 it)")
        try:
            data: dict[str, Any] = json.loads(path.read_text())
            return cls(**{k: data[k] for k in cls.__dataclass_fields__})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PairingFileError(f"{path}: not a usable pairing file ({exc}); pair again") from exc

    def save(self, data_dir: Path) -> Path:
        """Write atomically, owner-only from the first byte."""
        path = self.path(data_dir)
        write_private_file(path, json.dumps(asdict(self), indent=1).encode())
        return path

    @staticmethod
    def now_text() -> str:
        return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
