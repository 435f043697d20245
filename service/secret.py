"""The ingestion API's per-installation secret: every request carries it (``Authorization: Bearer``).

It lives in ``<data dir>/ingest-secret``: 32 random bytes as hex, created owner-only (0600) by the
first `rehab serve` and reused afterwards; the dashboard and any local client of the installation's
user read it from there. Another local user cannot read the file, and a web page cannot read files
at all, so neither can talk to the API. Light on imports: the dashboard reads it on every call.
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from pathlib import Path

from store.config import default_data_dir, ensure_private_dir, write_private_file
from store.errors import StoreConfigError

SECRET_FILE = "ingest-secret"
SECRET_BYTES = 32
AUTH_HEADER = "authorization"
AUTH_SCHEME = "Bearer"


class SecretError(Exception):
    """The secret file is missing, unreadable or not private; the message names the file and the fix."""


def secret_path(data_dir: Path | str | None = None) -> Path:
    return Path(data_dir if data_dir is not None else default_data_dir()) / SECRET_FILE


def load_or_create_secret(data_dir: Path | str | None = None) -> str:
    """The installation's secret, created (0600, atomically) if this is the first start."""
    path = secret_path(data_dir)
    try:
        ensure_private_dir(path.parent)
    except StoreConfigError as exc:
        raise SecretError(str(exc)) from exc
    if not path.exists():
        # replace=False: another service that made it first wins, and both use theirs
        write_private_file(path, (secrets.token_hex(SECRET_BYTES) + "\n").encode(), replace=False)
    return read_secret(path)


def read_secret(path: Path) -> str:
    """Read the secret, refusing a file that someone else could read or replace."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError as exc:
        raise SecretError(f"{path}: no ingestion-service secret yet (start `rehab serve` once)") from exc
    except OSError as exc:
        raise SecretError(f"{path}: cannot read the ingestion-service secret: {exc.strerror}") from exc
    with os.fdopen(fd) as fh:
        st = os.fstat(fh.fileno())
        if st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077:
            raise SecretError(
                f"{path}: the secret must belong to you and be readable by you only (mode 0600); "
                "delete it and restart `rehab serve` to create a new one"
            )
        value = fh.read(4 * SECRET_BYTES).strip()
    if len(value) < 2 * SECRET_BYTES or not all(c in "0123456789abcdef" for c in value):
        raise SecretError(f"{path}: not an ingestion-service secret; delete it and restart `rehab serve`")
    return value


def authorization(secret: str) -> str:
    """The header value a client sends."""
    return f"{AUTH_SCHEME} {secret}"


def is_authorized(header_value: str | None, secret: str) -> bool:
    """Constant-time check of an ``Authorization`` header against the secret."""
    if not header_value:
        return False
    scheme, _, given = header_value.partition(" ")
    ok_scheme = scheme.lower() == AUTH_SCHEME.lower()
    return hmac.compare_digest(given.strip().encode("utf-8", "replace"), secret.encode()) and ok_scheme
