"""Session files in S3-compatible object storage, through ``pyarrow.fs.S3FileSystem``.

Objects are written under their final names, ``<bucket>/<prefix>/sessions/<key>/<file>``: an
object is complete once its PUT returns (S3 never shows half an object), the key is fresh and
random, and no database row points at it until the commit — the commit is the publishing step, so
``publish`` has nothing to move. ``discard`` deletes the key's objects; a crash leaves objects no
row points at, which the store's orphan clean-up removes after its grace period (by the objects'
LastModified time), exactly as on a directory.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from store.errors import RawFileError, StoreConfigError
from store.files.base import SESSIONS_DIR_NAME, Filler, SessionFiles, StoredEntry, check_key, check_name

#: Query parameters of an ``s3://`` URL passed on to ``pyarrow.fs.S3FileSystem``.
URL_OPTIONS = ("endpoint_override", "scheme", "region")
#: Secrets belong in the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), not in a URL that
#: ends up in process lists, logs and config files.
SECRET_OPTIONS = ("access_key", "secret_key", "session_token")


class ObjectStoreFiles(SessionFiles):
    """Session folders as object prefixes in one bucket."""

    def __init__(self, fs: pafs.FileSystem, base: str) -> None:
        self.fs = fs
        self.base = base.strip("/")
        self.root = f"{self.base}/{SESSIONS_DIR_NAME}"
        self.location = f"s3://{self.base}"

    @classmethod
    def from_url(cls, url: str) -> ObjectStoreFiles:
        parsed = urllib.parse.urlsplit(url)
        if not parsed.netloc:
            raise StoreConfigError(f"files URL {url!r}: no bucket (s3://bucket/prefix)")
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        secrets = [k for k in query if k in SECRET_OPTIONS]
        if secrets:
            raise StoreConfigError(
                f"files URL: {', '.join(secrets)} must not be in the URL; set AWS_ACCESS_KEY_ID / "
                "AWS_SECRET_ACCESS_KEY in the server's environment"
            )
        unknown = [k for k in query if k not in URL_OPTIONS]
        if unknown:
            raise StoreConfigError(f"files URL {url!r}: unknown option(s) {', '.join(unknown)}; known: {', '.join(URL_OPTIONS)}")
        options: dict[str, Any] = {"region": query.get("region") or "us-east-1"}
        if query.get("endpoint_override"):
            options["endpoint_override"] = query["endpoint_override"]
        if query.get("scheme"):
            if query["scheme"] not in ("http", "https"):
                raise StoreConfigError(f"files URL {url!r}: scheme must be http or https")
            options["scheme"] = query["scheme"]
        try:
            fs = pafs.S3FileSystem(**options)
        except (pa.ArrowInvalid, OSError) as exc:
            raise StoreConfigError(f"files URL {url!r}: {exc}") from exc
        base = f"{parsed.netloc}/{parsed.path.strip('/')}".rstrip("/")
        return cls(fs, base)

    def _folder(self, name: str) -> str:
        return f"{self.root}/{name}"

    def _path(self, relative_path: str) -> str:
        self.key_of(relative_path)
        return f"{self.base}/{relative_path}"

    def stage(self, key: str) -> None:
        check_key(key)  # nothing to create: a prefix exists once an object is under it

    def write(self, key: str, file_name: str, fill: Filler) -> None:
        path = f"{self._folder(check_key(key))}/{check_name(file_name)}"
        try:
            with self.fs.open_output_stream(path) as out:
                fill(out)
        except OSError as exc:
            raise RawFileError(f"s3://{path}", f"upload failed ({exc})") from exc

    def link_into(self, key: str, relative_path: str, file_name: str) -> None:
        source = self._path(relative_path)
        target = f"{self._folder(check_key(key))}/{check_name(file_name)}"
        if self.fs.get_file_info(source).type != pafs.FileType.File:
            raise RawFileError(f"s3://{source}", "file missing")
        try:
            self.fs.copy_file(source, target)  # server-side copy: the bytes never come here
        except OSError as exc:
            raise RawFileError(f"s3://{source}", f"copy failed ({exc})") from exc

    def publish(self, key: str) -> None:
        check_key(key)  # objects are complete once written; the commit makes them reachable

    def discard(self, key: str) -> None:
        self._delete(self._folder(check_key(key)))

    def _delete(self, folder: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.delete_dir(folder)

    def open(self, relative_path: str) -> Any:
        path = self._path(relative_path)
        try:
            return self.fs.open_input_file(path)
        except FileNotFoundError as exc:
            raise RawFileError(f"s3://{path}", "file missing") from exc
        except OSError as exc:
            raise RawFileError(f"s3://{path}", f"unreadable ({exc})") from exc

    def entries(self) -> Iterator[StoredEntry]:
        selector = pafs.FileSelector(self.root, recursive=True, allow_not_found=True)
        newest: dict[str, float] = {}
        for info in self.fs.get_file_info(selector):
            rel = info.path[len(self.root) + 1 :]
            name = rel.split("/", 1)[0]
            if not name:
                continue
            mtime = info.mtime.timestamp() if info.mtime is not None else 0.0
            newest[name] = max(newest.get(name, 0.0), mtime)
        for name, mtime in newest.items():
            yield StoredEntry(name, mtime)

    def remove(self, names: Iterable[str]) -> None:
        for name in names:
            if "/" in name or name in ("", ".", ".."):
                raise RawFileError(name, "not a session folder name")
            self._delete(self._folder(name))
