"""Session files in a local directory: staged in ``sessions/.tmp-<key>/``, fsynced, renamed into place."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from store.config import ensure_private_dir, fsync_dir
from store.errors import RawFileError
from store.files.base import SESSIONS_DIR_NAME, STAGING_PREFIX, Filler, SessionFiles, StoredEntry, check_key, check_name


class DirectoryFiles(SessionFiles):
    """``<base>/sessions/<key>/<file>``; the folder is created owner-only (0700)."""

    def __init__(self, base: Path) -> None:
        self.base = Path(base)
        self.root = ensure_private_dir(self.base / SESSIONS_DIR_NAME)
        self.location = str(self.root)

    def staging_dir(self, key: str) -> Path:
        return self.root / f"{STAGING_PREFIX}{check_key(key)}"

    def final_dir(self, key: str) -> Path:
        return self.root / check_key(key)

    def absolute(self, relative_path: str) -> Path:
        self.key_of(relative_path)  # refuses paths outside sessions/<key>/
        return self.base / relative_path

    def stage(self, key: str) -> None:
        self.staging_dir(key).mkdir(mode=0o700)

    def write(self, key: str, file_name: str, fill: Filler) -> None:
        with open(self.staging_dir(key) / check_name(file_name), "wb") as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())

    def link_into(self, key: str, relative_path: str, file_name: str) -> None:
        source = self.absolute(relative_path)
        if not source.is_file():
            raise RawFileError(source, "file missing")
        target = self.staging_dir(key) / check_name(file_name)
        try:
            os.link(source, target)
        except OSError:  # no hard links on this file system: copy, and make the copy durable
            shutil.copyfile(source, target)
            fd = os.open(target, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(self.staging_dir(key))

    def publish(self, key: str) -> None:
        os.replace(self.staging_dir(key), self.final_dir(key))
        fsync_dir(self.root)

    def discard(self, key: str) -> None:
        for path in (self.staging_dir(key), self.final_dir(key)):
            shutil.rmtree(path, ignore_errors=True)

    def open(self, relative_path: str) -> Any:
        path = self.absolute(relative_path)
        try:
            return pa.OSFile(str(path), "rb")
        except FileNotFoundError as exc:
            raise RawFileError(path, "file missing") from exc
        except OSError as exc:
            raise RawFileError(path, f"unreadable ({exc})") from exc

    def entries(self) -> Iterator[StoredEntry]:
        for entry in self.root.iterdir():
            if entry.is_dir():
                yield StoredEntry(entry.name, entry.stat().st_mtime)

    def remove(self, names: Iterable[str]) -> None:
        for name in names:
            if "/" in name or name in ("", ".", ".."):
                raise RawFileError(name, "not a session folder name")
            shutil.rmtree(self.root / name, ignore_errors=True)


