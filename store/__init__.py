"""The store: users, prescriptions, sessions (rows + one Parquet directory each), pain reports,
progression decisions — SQLite by default, PostgreSQL for clinics. See docs/store.md."""

from store.config import StoreConfig, default_data_dir, resolve_config
from store.errors import (
    AccessDeniedError,
    DuplicateError,
    InvalidValueError,
    NotFoundError,
    RawFileError,
    StoreConfigError,
    StoreError,
)
from store.raw_files import quantize_raw
from store.records import (
    Assessment,
    LoadedSession,
    PainReport,
    Prescription,
    ProgressionDecision,
    SessionRecord,
    User,
)
from store.repository import Store
from store.tables import HISTORY_COLUMNS, ROSTER_COLUMNS

__all__ = [
    "HISTORY_COLUMNS",
    "ROSTER_COLUMNS",
    "AccessDeniedError",
    "Assessment",
    "DuplicateError",
    "InvalidValueError",
    "LoadedSession",
    "NotFoundError",
    "PainReport",
    "Prescription",
    "ProgressionDecision",
    "RawFileError",
    "SessionRecord",
    "Store",
    "StoreConfig",
    "StoreConfigError",
    "StoreError",
    "User",
    "default_data_dir",
    "quantize_raw",
    "resolve_config",
]
