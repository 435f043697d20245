"""Where the store lives: a data directory (Parquet files, default SQLite database) and a database URL.

Precedence for the URL: explicit argument > ``$REHAB_DATABASE_URL`` > ``database_url`` in
``<data dir>/config.toml`` > ``sqlite:///<data dir>/rehab.sqlite3``. The session files' location
likewise: argument > ``$REHAB_FILES_URL`` > ``files_url`` in config.toml > ``<data dir>/sessions``
(``file:///path`` or ``s3://bucket/prefix?endpoint_override=...``, see store/files/).
The data directory: explicit argument > ``$REHAB_DATA_DIR`` > ``$XDG_DATA_HOME/rehab-tracker`` >
``~/.local/share/rehab-tracker``. It is created readable by its owner only; an existing directory
that others can read or write (e.g. ``/tmp``) is refused, never chmod-ed.
"""

from __future__ import annotations

import os
import secrets
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

from store.errors import StoreConfigError

DATA_DIR_ENV = "REHAB_DATA_DIR"
DATABASE_URL_ENV = "REHAB_DATABASE_URL"
FILES_URL_ENV = "REHAB_FILES_URL"
CONFIG_FILE_NAME = "config.toml"
SQLITE_FILE_NAME = "rehab.sqlite3"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


@dataclass(frozen=True, slots=True)
class StoreConfig:
    data_dir: Path
    database_url: str
    files_url: str | None = None  # None: <data dir>/sessions

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def default_data_dir() -> Path:
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "rehab-tracker"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) owner-only (0700), whatever the umask.

    A directory that already exists is used only if it is already private to this user: a shared
    one (``/tmp``, mode 1777) or someone else's is refused with a clear error, never chmod-ed —
    the project does not change a directory it did not create.
    """
    try:
        path.mkdir(parents=True, exist_ok=False, mode=PRIVATE_DIR_MODE)
    except FileExistsError:
        return check_private_dir(path)
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_DIR_MODE:
        os.chmod(path, PRIVATE_DIR_MODE)  # we just created it: the umask may have taken bits away
    return path


def check_private_dir(path: Path) -> Path:
    """``path`` if it is a directory owned by this user that nobody else can read or write."""
    try:
        st = path.stat()
    except OSError as exc:
        raise StoreConfigError(f"data directory {path}: {exc.strerror}") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise StoreConfigError(f"data directory {path} exists and is not a directory")
    mode = stat.S_IMODE(st.st_mode)
    if st.st_uid != os.geteuid():
        raise StoreConfigError(
            f"data directory {path} belongs to another user (uid {st.st_uid}); health data needs a "
            f"directory of your own: set {DATA_DIR_ENV} (or --data-dir) to a new path"
        )
    if mode & 0o077:
        raise StoreConfigError(
            f"data directory {path} is shared (mode {mode:04o}); health data needs a private directory: "
            f"set {DATA_DIR_ENV} (or --data-dir) to a new path, or `chmod 700 {path}` if it is yours alone"
        )
    return path


def ensure_private_file(path: Path) -> Path:
    """Create ``path`` empty if missing, owner read/write only (0600)."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, PRIVATE_FILE_MODE)
    os.close(fd)
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_FILE_MODE:
        os.chmod(path, PRIVATE_FILE_MODE)
    return path


def write_private_file(path: Path, data: bytes, *, replace: bool = True) -> bool:
    """Put DATA at ``path`` atomically in a new owner-only (0600) file, fsynced: the content is never
    readable through an existing file's looser mode, not even while it is written. ``replace=False``
    keeps a file already there (another process made it first) and returns False. The one way every
    package writes a private file (secrets, tokens, keys, logins, the hub's state)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)  # atomic, and refuses to replace
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new entry in ``directory`` durable (POSIX: fsync the directory itself)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _from_config_file(data_dir: Path, key: str) -> str | None:
    path = data_dir / CONFIG_FILE_NAME
    if not path.is_file():
        return None
    try:
        with path.open("rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise StoreConfigError(f"{path}: not valid TOML ({exc})") from exc
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise StoreConfigError(f"{path}: {key} must be a string, got {type(value).__name__}")
    return value


def resolve_config(
    url: str | None = None, data_dir: Path | str | None = None, files_url: str | None = None
) -> StoreConfig:
    """Work out the data directory, database URL and files location (see module docstring); creates nothing."""
    ddir = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    files = files_url or os.environ.get(FILES_URL_ENV) or _from_config_file(ddir, "files_url") or None
    chosen = url or os.environ.get(DATABASE_URL_ENV) or _from_config_file(ddir, "database_url")
    if not chosen:
        chosen = f"sqlite:///{ddir / SQLITE_FILE_NAME}"
    if not (chosen.startswith("sqlite") or chosen.startswith("postgresql")):
        raise StoreConfigError(
            f"unsupported database URL scheme in {chosen.split(':', 1)[0]!r}; "
            "use sqlite:///path or postgresql+psycopg://user@host/db"
        )
    if chosen.startswith("postgresql://") or chosen.startswith("postgres://"):
        # The only PostgreSQL driver we ship is psycopg 3.
        chosen = "postgresql+psycopg://" + chosen.split("://", 1)[1]
    return StoreConfig(data_dir=ddir, database_url=chosen, files_url=files)
