"""A stored session as one file a hub uploads to the clinic: rows + Parquet files, checked on arrival.

The bundle is a ZIP archive (members stored, not compressed — the Parquet files already are) with
``session.json`` first, then ``raw.parquet`` (when the session has raw samples) and ``angles.parquet``:

    {"format": "rehab.session-bundle/1", "uid": ..., "session": {column: value, ...},
     "reps": [{column: value, ...}, ...], "pain": {...} | null, "clinic_prescription_id": int | null,
     "files": {"raw.parquet": {"sha256": hex, "size": n}, ...}}

``session`` and ``reps`` carry every column of the ``sessions`` / ``reps`` tables except the ones
that are local to a store (ids, the patient, file paths, created_at); times are ISO 8601 with an
offset, NaN metrics are null. The archive is deterministic (fixed member order and timestamps), so
the same stored session always gives the same bytes and the same SHA-256 — the content hash the hub
sends with it and the clinic checks and keeps.

``unpack`` trusts nothing: it refuses unknown or missing fields, wrong types, values outside the
store's vocabularies, files whose hash does not match, and Parquet files that do not decode as
raw samples / angles; every message names the field or file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import zipfile
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlalchemy import JSON, Boolean, Float, Integer, String, Text
from sqlalchemy.sql.elements import KeyedColumnElement

from program.progression import DIFFICULTIES
from store.errors import InvalidValueError, RawFileError
from store.models import SESSION_SOURCES, RepRow, SessionRow, UTCDateTime
from store.raw_files import ANGLES_FILE_NAME, RAW_FILE_NAME, read_angles, read_raw
from tracker.conventions import EXERCISES, SIDES
from tracker.results import json_safe

BUNDLE_FORMAT = "rehab.session-bundle/1"
MANIFEST_NAME = "session.json"
MEDIA_TYPE = "application/vnd.rehab.session-bundle+zip"
#: Statuses a hub may send: a session still recording has nothing to send yet.
SENDABLE_STATUSES = ("complete", "recovered")
#: Columns that belong to one store only (ids, owner, where its files are, when this store wrote it).
#: Columns that only mean something in the store that wrote them (ids, paths, the hub's own
#: check-up, whose sets stay on the hub: outbox._waiting_filter).
LOCAL_SESSION_COLUMNS = frozenset(
    {"id", "uid", "patient_id", "prescription_id", "raw_path", "angles_path", "created_at", "assessment_id"}
)
LOCAL_REP_COLUMNS = frozenset({"id", "session_id"})
PAIN_FIELDS = ("pain_before", "pain_after", "note", "difficulty")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_NAMES = (RAW_FILE_NAME, ANGLES_FILE_NAME)


class BundleError(InvalidValueError):
    """A session bundle that cannot be accepted; the message names the field or file and why."""


@dataclass(frozen=True, slots=True)
class SessionBundle:
    uid: str
    session: dict[str, Any]  # column → value (datetimes aware, NaN as None)
    reps: list[dict[str, Any]]
    files: dict[str, bytes]  # file name → bytes (angles always, raw when recorded)
    pain: dict[str, Any] | None = None
    clinic_prescription_id: int | None = None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def session_columns() -> list[KeyedColumnElement[Any]]:
    return [c for c in SessionRow.__table__.columns if c.name not in LOCAL_SESSION_COLUMNS]


def rep_columns() -> list[KeyedColumnElement[Any]]:
    return [c for c in RepRow.__table__.columns if c.name not in LOCAL_REP_COLUMNS]


# ------------------------------------------------------------------------------------------ pack
def _to_json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return json_safe(value)


def pack(bundle: SessionBundle) -> bytes:
    """The bundle's bytes (deterministic: the same bundle always gives the same bytes)."""
    manifest = {
        "format": BUNDLE_FORMAT,
        "uid": bundle.uid,
        "session": {k: _to_json(v) for k, v in sorted(bundle.session.items())},
        "reps": [{k: _to_json(v) for k, v in sorted(r.items())} for r in bundle.reps],
        "pain": bundle.pain,
        "clinic_prescription_id": bundle.clinic_prescription_id,
        "files": {n: {"sha256": sha256_hex(b), "size": len(b)} for n, b in sorted(bundle.files.items())},
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        members = [(MANIFEST_NAME, json.dumps(manifest, sort_keys=True, allow_nan=False).encode())]
        members += [(n, bundle.files[n]) for n in _FILE_NAMES if n in bundle.files]
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = 0o600 << 16
            zf.writestr(info, data)
    return out.getvalue()


# ---------------------------------------------------------------------------------------- unpack
def _column_value(where: str, col: KeyedColumnElement[Any], value: Any) -> Any:
    name = f"{where}.{col.name}"
    if value is None:
        if not col.nullable:
            raise BundleError(f"{name} is required, got null")
        return None
    kind = col.type
    if isinstance(kind, UTCDateTime):
        if not isinstance(value, str):
            raise BundleError(f"{name} must be an ISO 8601 time, got {type(value).__name__}")
        try:
            t = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise BundleError(f"{name} {value!r} is not an ISO 8601 time") from exc
        if t.tzinfo is None:
            raise BundleError(f"{name} {value!r} has no UTC offset")
        return t.astimezone(dt.UTC)
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise BundleError(f"{name} must be true/false, got {value!r}")
        return value
    if isinstance(kind, Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            raise BundleError(f"{name} must be an integer, got {value!r}")
        return value
    if isinstance(kind, Float):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise BundleError(f"{name} must be a finite number or null, got {value!r}")
        return float(value)
    if isinstance(kind, String | Text):
        if not isinstance(value, str):
            raise BundleError(f"{name} must be text, got {type(value).__name__}")
        length = getattr(kind, "length", None)
        if length is not None and len(value) > length:
            raise BundleError(f"{name} is longer than {length} characters")
        return value
    if isinstance(kind, JSON):
        return value
    raise BundleError(f"{name}: column type {kind!r} cannot travel in a bundle")  # pragma: no cover


def _columns_from(where: str, data: Any, columns: list[KeyedColumnElement[Any]]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BundleError(f"{where} must be an object")
    known = {c.name: c for c in columns}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise BundleError(f"{where}: unknown field(s) {', '.join(unknown)} (is the server older than the hub?)")
    missing = sorted(n for n, c in known.items() if n not in data and not c.nullable)
    if missing:
        raise BundleError(f"{where}: missing field(s) {', '.join(missing)}")
    return {n: _column_value(where, c, data.get(n)) for n, c in known.items()}


def _check_session(session: dict[str, Any]) -> None:
    for name, allowed in (("exercise", EXERCISES), ("side", SIDES), ("status", SENDABLE_STATUSES),
                          ("source", SESSION_SOURCES)):  # fmt: skip
        if session[name] not in allowed:
            raise BundleError(f"session.{name} {session[name]!r} is not one of {', '.join(allowed)}")


def _check_pain(pain: Any) -> dict[str, Any] | None:
    if pain is None:
        return None
    if not isinstance(pain, dict) or set(pain) != set(PAIN_FIELDS):
        raise BundleError(f"pain must be null or an object with {', '.join(PAIN_FIELDS)}")
    for k in ("pain_before", "pain_after"):
        v = pain[k]
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 10):
            raise BundleError(f"pain.{k} must be an integer 0–10 or null, got {v!r}")
    if not isinstance(pain["note"], str):
        raise BundleError("pain.note must be text")
    if pain["difficulty"] is not None and pain["difficulty"] not in DIFFICULTIES:
        raise BundleError(f"pain.difficulty must be one of {', '.join(DIFFICULTIES)} or null, got {pain['difficulty']!r}")
    return dict(pain)


def _read_members(data: bytes) -> dict[str, bytes]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise BundleError(f"not a session bundle (ZIP): {exc}") from exc
    with zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        if not names or names[0] != MANIFEST_NAME:
            raise BundleError(f"the first member must be {MANIFEST_NAME}, got {names[:1]}")
        extra = sorted(set(names) - {MANIFEST_NAME, *_FILE_NAMES})
        if extra or len(set(names)) != len(names):
            raise BundleError(f"unexpected or repeated member(s): {', '.join(extra) or 'repeated names'}")
        if any(i.compress_type != zipfile.ZIP_STORED for i in infos):
            raise BundleError("members must be stored uncompressed")
        if sum(i.file_size for i in infos) > len(data):
            raise BundleError("member sizes exceed the bundle's size")
        try:
            return {i.filename: zf.read(i) for i in infos}
        except (zipfile.BadZipFile, OSError) as exc:  # CRC mismatch, truncated member
            raise BundleError(f"damaged member: {exc}") from exc


def unpack(data: bytes) -> SessionBundle:
    """Parse and check a bundle (see the module docstring); raises BundleError naming the problem."""
    members = _read_members(data)
    try:
        manifest = json.loads(members[MANIFEST_NAME])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{MANIFEST_NAME} is not JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise BundleError(f"{MANIFEST_NAME} must be an object")
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"format {manifest.get('format')!r}, expected {BUNDLE_FORMAT!r}")
    uid = manifest.get("uid")
    if not (isinstance(uid, str) and 1 <= len(uid) <= 64 and uid.isprintable() and uid.strip() == uid):
        raise BundleError(f"uid {uid!r}: 1–64 printable characters")
    session = _columns_from("session", manifest.get("session"), session_columns())
    _check_session(session)
    reps_in = manifest.get("reps")
    if not isinstance(reps_in, list):
        raise BundleError("reps must be a list")
    reps = [_columns_from(f"reps[{i}]", r, rep_columns()) for i, r in enumerate(reps_in)]
    if len({r["rep_index"] for r in reps}) != len(reps):
        raise BundleError("reps: repeated rep_index")
    rx = manifest.get("clinic_prescription_id")
    if rx is not None and (isinstance(rx, bool) or not isinstance(rx, int)):
        raise BundleError(f"clinic_prescription_id must be an integer or null, got {rx!r}")
    declared = manifest.get("files")
    files = {n: b for n, b in members.items() if n != MANIFEST_NAME}
    if not isinstance(declared, dict) or set(declared) != set(files):
        raise BundleError(f"files lists {sorted(declared) if isinstance(declared, dict) else declared!r}, "
                          f"the bundle holds {sorted(files)}")  # fmt: skip
    if ANGLES_FILE_NAME not in files:
        raise BundleError(f"{ANGLES_FILE_NAME} is missing")
    for name, blob in files.items():
        entry = declared[name]
        if not isinstance(entry, dict) or entry.get("sha256") != sha256_hex(blob) or entry.get("size") != len(blob):
            raise BundleError(f"{name}: size or SHA-256 differs from the manifest (damaged in transit?)")
    try:  # the files must decode as what they claim to be (the decoded copies are dropped at once)
        if RAW_FILE_NAME in files:
            read_raw(pa.BufferReader(files[RAW_FILE_NAME]), RAW_FILE_NAME)
        read_angles(pa.BufferReader(files[ANGLES_FILE_NAME]), ANGLES_FILE_NAME)
    except RawFileError as exc:
        raise BundleError(str(exc)) from exc
    return SessionBundle(
        uid=uid, session=session, reps=reps, files=files, pain=_check_pain(manifest.get("pain")),
        clinic_prescription_id=rx,
    )  # fmt: skip
