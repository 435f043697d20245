"""Where session files live: one interface (``SessionFiles``), two back ends.

- ``DirectoryFiles`` — a local directory (the home hub, a small clinic): files are written and
  fsynced in ``sessions/.tmp-<key>/`` and renamed to ``sessions/<key>/`` in one ``os.replace``.
- ``ObjectStoreFiles`` — S3-compatible object storage through ``pyarrow.fs`` (a clinic network with
  several server replicas): each object is written under its final key and is complete once its
  PUT returns.

On both, the *database commit* is what makes a session visible: a row points at its files only once
they are complete, a failure before the commit discards them, and anything a crash leaves behind
(no row points at it) is an orphan the store removes after a grace period.

``open_session_files(url, data_dir)`` picks the back end: no URL → ``<data dir>/sessions``;
``file:///path`` → ``/path/sessions``; ``s3://bucket/prefix?endpoint_override=host:port&scheme=http
&region=...`` → objects under ``bucket/prefix/sessions/`` (credentials from the usual AWS
environment variables, never from the URL).
"""

from __future__ import annotations

from pathlib import Path

from store.errors import StoreConfigError
from store.files.base import SESSIONS_DIR_NAME, STAGING_PREFIX, SessionFiles, StoredEntry
from store.files.directory import DirectoryFiles
from store.files.objectstore import ObjectStoreFiles

__all__ = [
    "SESSIONS_DIR_NAME",
    "STAGING_PREFIX",
    "DirectoryFiles",
    "ObjectStoreFiles",
    "SessionFiles",
    "StoredEntry",
    "open_session_files",
]


def open_session_files(url: str | None, data_dir: Path) -> SessionFiles:
    """The session files back end for ``url`` (None: the data directory)."""
    if not url:
        return DirectoryFiles(data_dir)
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "file":
        path = Path(url.split("://", 1)[1])
        if not path.is_absolute():
            raise StoreConfigError(f"files URL {url!r}: a file:// URL needs an absolute path (file:///srv/rehab)")
        return DirectoryFiles(path)
    if scheme == "s3":
        return ObjectStoreFiles.from_url(url)
    raise StoreConfigError(
        f"files URL {url!r}: unsupported scheme {scheme or '(none)'!r}; use file:///path or s3://bucket/prefix"
    )
