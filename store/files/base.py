"""The session files interface every back end implements (see store/files/__init__.py)."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from store.errors import RawFileError

SESSIONS_DIR_NAME = "sessions"
STAGING_PREFIX = ".tmp-"

#: Fills one file: receives a writable binary stream (a Python file or a pyarrow NativeFile).
Filler = Callable[[Any], None]


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One session folder found in storage: ``sessions/<key>`` or ``sessions/.tmp-<key>``."""

    name: str  # the folder name: "<key>" or ".tmp-<key>"
    mtime: float  # seconds since the epoch of its newest file (or the folder)

    @property
    def staged(self) -> bool:
        return self.name.startswith(STAGING_PREFIX)

    @property
    def location(self) -> str:
        """As the store names it: relative to the files root, with '/'."""
        return f"{SESSIONS_DIR_NAME}/{self.name}"


class SessionFiles(ABC):
    """One folder of files per session, written atomically with the session's rows.

    The store calls ``stage(key)``, ``write(key, name, fill)`` for each file, ``publish(key)`` just
    before committing the rows, and ``discard(key)`` if anything fails before the commit. Readers
    reach files only through the paths a committed row holds (``relative(key, name)``).
    """

    #: Where the files are, for messages (a directory or ``s3://bucket/prefix``).
    location: str

    def relative(self, key: str, file_name: str) -> str:
        """Path stored in the database: relative to the files root, always with '/'."""
        return f"{SESSIONS_DIR_NAME}/{key}/{file_name}"

    @staticmethod
    def key_of(relative_path: str) -> str:
        parts = relative_path.split("/")
        if len(parts) != 3 or parts[0] != SESSIONS_DIR_NAME or not parts[1] or parts[1].startswith("."):
            raise RawFileError(relative_path, "not a sessions/<key>/<file> path")
        return parts[1]

    @abstractmethod
    def stage(self, key: str) -> None:
        """Prepare an empty, unpublished folder for ``key`` (a fresh random key)."""

    @abstractmethod
    def write(self, key: str, file_name: str, fill: Filler) -> None:
        """Write one file of a staged session; it is complete and durable when this returns."""

    @abstractmethod
    def link_into(self, key: str, relative_path: str, file_name: str) -> None:
        """Put an already stored file into staged session ``key`` without reading it through memory
        (a hard link in a directory, a server-side copy in object storage): e.g. a re-analysis
        keeps the raw file and replaces only the angles."""

    @abstractmethod
    def publish(self, key: str) -> None:
        """Make the staged folder the session's folder (called just before the rows commit)."""

    @abstractmethod
    def discard(self, key: str) -> None:
        """Remove everything of ``key``, staged or published; missing is fine."""

    @abstractmethod
    def open(self, relative_path: str) -> Any:
        """A readable, seekable binary stream (pyarrow NativeFile); RawFileError when missing."""

    def read_bytes(self, relative_path: str) -> bytes:
        with self.open(relative_path) as f:
            return bytes(f.read())

    def write_bytes(self, key: str, file_name: str, data: bytes) -> None:
        self.write(key, file_name, lambda f: f.write(data))

    @abstractmethod
    def entries(self) -> Iterator[StoredEntry]:
        """Every session folder in storage, staged or published."""

    @abstractmethod
    def remove(self, names: Iterable[str]) -> None:
        """Remove folders by ``StoredEntry.name``."""

    def orphans(self, known_keys: Iterable[str], *, older_than_s: float) -> list[StoredEntry]:
        """Staged folders, and published ones no database row points at, untouched for ``older_than_s``.

        The age guard protects another process's write in flight (written but not yet committed)."""
        known = set(known_keys)
        cutoff = time.time() - older_than_s
        found = [e for e in self.entries() if (e.staged or e.name not in known) and e.mtime <= cutoff]
        return sorted(found, key=lambda e: e.name)


def check_key(key: str) -> str:
    """Keys are the store's own random hex names; refuse anything that could escape the folder."""
    if not key or not all(c in "0123456789abcdef" for c in key):
        raise RawFileError(key, "a session key is lowercase hex")
    return key


def check_name(file_name: str) -> str:
    if not file_name or "/" in file_name or "\\" in file_name or file_name.startswith("."):
        raise RawFileError(file_name, "not a plain file name")
    return file_name

