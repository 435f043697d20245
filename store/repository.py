"""``Store``: the one object the dashboard, recorder and CLI use to read and write everything.

Sessions are written transactionally with their Parquet directory: files are staged and fsynced,
the rows are inserted, the directory is renamed into place, then the transaction commits; any
failure before the commit removes the files, so a reader never sees a row without its files or
files without a row. Orphans left by a crash are removed on open (after a grace period that
protects other processes' writes in flight).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
from argon2 import PasswordHasher
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from store import auth, convert, db, tables
from store.config import StoreConfig, ensure_private_dir, resolve_config
from store.errors import AccessDeniedError, DuplicateError, InvalidValueError, NotFoundError
from store.models import (
    DECISION_STATUSES,
    ROLES,
    SESSION_SOURCES,
    PainReportRow,
    PrescriptionRow,
    ProgressionDecisionRow,
    RepRow,
    SessionRow,
    UserRow,
    utcnow,
)
from store.raw_files import (
    ANGLES_FILE_NAME,
    RAW_FILE_NAME,
    SessionFiles,
    read_angles,
    read_raw,
    write_angles,
    write_raw,
)
from store.records import (
    LoadedSession,
    PainReport,
    Prescription,
    ProgressionDecision,
    SessionRecord,
    User,
    none_if_nan,
)
from tracker.conventions import DEFAULT_COMPENSATION_THRESHOLD_DEG, check_exercise, check_side
from tracker.raw import RawSession
from tracker.results import Rep, SessionAnalysis

#: Staged/unreferenced session directories younger than this are left alone on open (seconds).
ORPHAN_GRACE_S = 3600.0
DEFAULT_SESSIONS_PER_WEEK = 5
USERNAME_MAX = 64
_USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-")

def _require_aware(name: str, value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise InvalidValueError(f"{name} {value.isoformat()} has no timezone; pass a UTC-aware datetime")
    return value.astimezone(dt.UTC)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidValueError(f"{name} {value!r} is not one of {', '.join(allowed)}")
    return value


class _Keep:
    """Sentinel type: "leave this field as stored"."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()


def _check_pain(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or int(value) != value or not 0 <= value <= 10:
        raise InvalidValueError(f"{name} must be an integer 0–10, got {value!r}")
    return int(value)


class Store:
    """Users, prescriptions, sessions (+ Parquet files), pain reports and progression decisions.

    ``Store()`` opens the default SQLite file in the data directory; ``Store(url)`` or
    ``$REHAB_DATABASE_URL`` selects PostgreSQL (``postgresql+psycopg://...``). The schema is
    upgraded to the latest migration on open unless ``migrate=False``.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        data_dir: Path | str | None = None,
        migrate: bool = True,
        password_hasher: PasswordHasher | None = None,
        orphan_grace_s: float = ORPHAN_GRACE_S,
    ) -> None:
        self.config: StoreConfig = resolve_config(url, data_dir)
        self.data_dir = ensure_private_dir(self.config.data_dir)
        self.engine: Engine = db.make_engine(self.config.database_url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.files = SessionFiles(self.data_dir)
        self.hasher = password_hasher or auth.DEFAULT_HASHER
        if migrate:
            db.upgrade(self.engine)
        self.clean_orphans(older_than_s=orphan_grace_s)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[OrmSession]:
        with self._sessions.begin() as s:
            yield s

    @contextmanager
    def _read(self) -> Iterator[OrmSession]:
        with self._sessions() as s:
            yield s

    # ------------------------------------------------------------------ users
    def create_user(
        self,
        username: str,
        password: str,
        *,
        role: str,
        display_name: str | None = None,
        therapist_id: int | None = None,
    ) -> User:
        _check_choice("role", role, ROLES)
        if not username or len(username) > USERNAME_MAX or not set(username) <= _USERNAME_CHARS:
            raise InvalidValueError(
                f"username {username!r} must be 1–{USERNAME_MAX} characters of letters, digits and . _ @ -"
            )
        if therapist_id is not None and role != "patient":
            raise InvalidValueError(f"only patients have a therapist (role {role!r} given therapist_id)")
        password_hash = auth.hash_password(password, self.hasher)
        try:
            with self._tx() as s:
                if therapist_id is not None:
                    t = s.get(UserRow, therapist_id)
                    if t is None or t.role != "therapist":
                        raise NotFoundError("therapist", therapist_id)
                row = UserRow(
                    username=username,
                    display_name=display_name if display_name is not None else username,
                    role=role,
                    password_hash=password_hash,
                    therapist_id=therapist_id,
                    active=True,
                )
                s.add(row)
                s.flush()
                return convert.user(row)
        except IntegrityError as exc:
            raise DuplicateError(f"username {username!r} is already taken") from exc

    def get_user(self, user_id: int) -> User:
        with self._read() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFoundError("user", user_id)
            return convert.user(row)

    def get_user_by_username(self, username: str) -> User:
        with self._read() as s:
            row = s.scalars(select(UserRow).where(UserRow.username == username)).one_or_none()
            if row is None:
                raise NotFoundError("user", username)
            return convert.user(row)

    def list_users(self, *, role: str | None = None) -> list[User]:
        stmt = select(UserRow).order_by(UserRow.id)
        if role is not None:
            stmt = stmt.where(UserRow.role == _check_choice("role", role, ROLES))
        with self._read() as s:
            return [convert.user(r) for r in s.scalars(stmt)]

    def list_patients(self, therapist_id: int | None = None) -> list[User]:
        stmt = select(UserRow).where(UserRow.role == "patient").order_by(UserRow.display_name, UserRow.id)
        if therapist_id is not None:
            stmt = stmt.where(UserRow.therapist_id == therapist_id)
        with self._read() as s:
            return [convert.user(r) for r in s.scalars(stmt)]

    def update_user(
        self,
        user_id: int,
        *,
        display_name: str | None = None,
        therapist_id: int | None = None,
        active: bool | None = None,
    ) -> User:
        with self._tx() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFoundError("user", user_id)
            if display_name is not None:
                row.display_name = display_name
            if therapist_id is not None:
                t = s.get(UserRow, therapist_id)
                if row.role != "patient" or t is None or t.role != "therapist":
                    raise InvalidValueError(f"cannot assign therapist {therapist_id} to user {user_id}")
                row.therapist_id = therapist_id
            if active is not None:
                row.active = active
            s.flush()
            return convert.user(row)

    def set_password(self, user_id: int, password: str) -> None:
        password_hash = auth.hash_password(password, self.hasher)
        with self._tx() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFoundError("user", user_id)
            row.password_hash = password_hash

    def authenticate(self, username: str, password: str) -> User | None:
        """The active user with this username and password, else None. Rehashes outdated hashes."""
        with self._read() as s:
            row = s.scalars(select(UserRow).where(UserRow.username == username)).one_or_none()
        if row is None:
            auth.verify_password(_dummy_hash(self.hasher), password, self.hasher)  # same cost as a miss
            return None
        if not auth.verify_password(row.password_hash, password, self.hasher) or not row.active:
            return None
        if auth.needs_rehash(row.password_hash, self.hasher):
            new_hash = self.hasher.hash(password)
            with self._tx() as s:
                s.execute(update(UserRow).where(UserRow.id == row.id).values(password_hash=new_hash))
        return convert.user(row)

    # ------------------------------------------------------------------ access
    def can_view_patient(self, user: User, patient_id: int) -> bool:
        if not user.active:
            return False
        if user.is_patient:
            return user.id == patient_id
        if user.is_therapist:
            with self._read() as s:
                owner = s.scalar(select(UserRow.therapist_id).where(UserRow.id == patient_id, UserRow.role == "patient"))
            return owner == user.id
        return False  # admins manage accounts, not clinical data

    def can_edit_prescriptions(self, user: User, patient_id: int) -> bool:
        return user.is_therapist and self.can_view_patient(user, patient_id)

    def can_view_session(self, user: User, session_id: int) -> bool:
        with self._read() as s:
            patient_id = s.scalar(select(SessionRow.patient_id).where(SessionRow.id == session_id))
        return patient_id is not None and self.can_view_patient(user, patient_id)

    def require_patient_access(self, user: User, patient_id: int) -> None:
        if not self.can_view_patient(user, patient_id):
            raise AccessDeniedError(f"user {user.username!r} may not view patient {patient_id}")

    def require_session_access(self, user: User, session_id: int) -> None:
        if not self.can_view_session(user, session_id):
            raise AccessDeniedError(f"user {user.username!r} may not view session {session_id}")

    # ------------------------------------------------------------------ prescriptions
    def add_prescription(
        self,
        patient_id: int,
        exercise: str,
        side: str,
        *,
        sets: int,
        reps: int,
        target_rom_deg: float | None = None,
        compensation_threshold_deg: float = DEFAULT_COMPENSATION_THRESHOLD_DEG,
        stage: str | None = None,
        hold_target_s: float | None = None,
        sessions_per_week: int = DEFAULT_SESSIONS_PER_WEEK,
        created_by: int | None = None,
    ) -> Prescription:
        check_exercise(exercise)
        check_side(side)
        self._check_prescription_numbers(sets, reps, sessions_per_week, compensation_threshold_deg)
        with self._tx() as s:
            self._patient_row(s, patient_id)
            now = utcnow()
            row = PrescriptionRow(
                patient_id=patient_id,
                exercise=exercise,
                side=side,
                sets=sets,
                reps=reps,
                sessions_per_week=sessions_per_week,
                target_rom_deg=target_rom_deg,
                compensation_threshold_deg=compensation_threshold_deg,
                stage=stage,
                hold_target_s=hold_target_s,
                active=True,
                created_by=created_by,
                created_at=now,
                updated_at=now,
            )
            s.add(row)
            s.flush()
            return convert.prescription(row)

    _EDITABLE = frozenset(
        {"side", "sets", "reps", "sessions_per_week", "target_rom_deg", "compensation_threshold_deg",
         "stage", "hold_target_s", "active"}
    )  # fmt: skip

    def update_prescription(self, prescription_id: int, **changes: Any) -> Prescription:
        unknown = set(changes) - self._EDITABLE
        if unknown:
            raise InvalidValueError(f"cannot change prescription field(s) {', '.join(sorted(unknown))}")
        if "side" in changes:
            check_side(changes["side"])
        with self._tx() as s:
            row = s.get(PrescriptionRow, prescription_id)
            if row is None:
                raise NotFoundError("prescription", prescription_id)
            for k, v in changes.items():
                setattr(row, k, v)
            self._check_prescription_numbers(
                row.sets, row.reps, row.sessions_per_week, row.compensation_threshold_deg
            )
            row.updated_at = utcnow()
            s.flush()
            return convert.prescription(row)

    def get_prescription(self, prescription_id: int) -> Prescription:
        with self._read() as s:
            row = s.get(PrescriptionRow, prescription_id)
            if row is None:
                raise NotFoundError("prescription", prescription_id)
            return convert.prescription(row)

    def list_prescriptions(self, patient_id: int, *, active_only: bool = True) -> list[Prescription]:
        stmt = select(PrescriptionRow).where(PrescriptionRow.patient_id == patient_id).order_by(PrescriptionRow.id)
        if active_only:
            stmt = stmt.where(PrescriptionRow.active.is_(True))
        with self._read() as s:
            return [convert.prescription(r) for r in s.scalars(stmt)]

    @staticmethod
    def _check_prescription_numbers(sets: int, reps: int, per_week: int, threshold_deg: float) -> None:
        if sets < 1 or reps < 1:
            raise InvalidValueError(f"sets and reps must be ≥ 1, got sets={sets}, reps={reps}")
        if per_week < 0:
            raise InvalidValueError(f"sessions_per_week must be ≥ 0, got {per_week}")
        if not threshold_deg > 0:
            raise InvalidValueError(f"compensation_threshold_deg must be > 0, got {threshold_deg}")

    @staticmethod
    def _patient_row(s: OrmSession, patient_id: int) -> UserRow:
        row = s.get(UserRow, patient_id)
        if row is None or row.role != "patient":
            raise NotFoundError("patient", patient_id)
        return row

    # ------------------------------------------------------------------ sessions
    def save_session(
        self,
        patient_id: int,
        analysis: SessionAnalysis,
        raw: RawSession | None,
        *,
        started_at: dt.datetime,
        source: str = "recorded",
        sensors: Mapping[str, Any] | None = None,
        ended_at: dt.datetime | None = None,
        status: str = "complete",
        prescription_id: int | None = None,
    ) -> int:
        """Store a session's rows and its Parquet files atomically; return the new session id.

        ``raw`` is snapped to the storage grid (see store.raw_files); analyse
        ``quantize_raw(raw)`` first if the stored raw must reproduce the analysis bit for bit.
        """
        _check_choice("source", source, SESSION_SOURCES)
        _check_choice("status", status, ("complete", "recovered"))
        check_exercise(analysis.exercise)
        check_side(analysis.side)
        started_at = _require_aware("started_at", started_at)

        def rows(s: OrmSession) -> SessionRow:
            self._patient_row(s, patient_id)
            rx = self._prescription_for(s, patient_id, analysis.exercise, analysis.side, prescription_id)
            row = SessionRow(
                patient_id=patient_id,
                exercise=analysis.exercise,
                side=analysis.side,
                started_at=started_at,
                source=source,
                sensors=convert.json_safe(dict(sensors or {})),
                created_at=utcnow(),
            )
            _snapshot_prescription(row, rx)
            s.add(row)
            return row

        return self._write_analysis(rows, analysis, raw, status=status, ended_at=ended_at)

    def begin_session(
        self,
        patient_id: int,
        exercise: str,
        side: str,
        *,
        started_at: dt.datetime,
        source: str = "recorded",
        sensors: Mapping[str, Any] | None = None,
        threshold_deg: float = DEFAULT_COMPENSATION_THRESHOLD_DEG,
        prescription_id: int | None = None,
    ) -> int:
        """Register a session being recorded (status ``recording``, no files yet); finish it later.

        A row still ``recording`` after a crash is the recorder's cue to recover the set
        (``finish_session(..., status="recovered")``) or delete it."""
        _check_choice("source", source, SESSION_SOURCES)
        check_exercise(exercise)
        check_side(side)
        started_at = _require_aware("started_at", started_at)
        with self._tx() as s:
            self._patient_row(s, patient_id)
            rx = self._prescription_for(s, patient_id, exercise, side, prescription_id)
            row = SessionRow(
                patient_id=patient_id,
                exercise=exercise,
                side=side,
                started_at=started_at,
                status="recording",
                source=source,
                sensors=convert.json_safe(dict(sensors or {})),
                calibration={},
                threshold_deg=float(threshold_deg),
                rep_count=0,
                full_rep_count=0,
                partial_rep_count=0,
                compensation_count=0,
                set_count=0,
                created_at=utcnow(),
            )
            _snapshot_prescription(row, rx)
            s.add(row)
            s.flush()
            return row.id

    def finish_session(
        self,
        session_id: int,
        analysis: SessionAnalysis,
        raw: RawSession | None,
        *,
        status: str = "complete",
        ended_at: dt.datetime | None = None,
        sensors: Mapping[str, Any] | None = None,
    ) -> None:
        """Attach the analysis and files to a ``recording`` session, atomically (like save_session)."""
        _check_choice("status", status, ("complete", "recovered"))

        def rows(s: OrmSession) -> SessionRow:
            row = s.get(SessionRow, session_id, with_for_update=True)
            if row is None:
                raise NotFoundError("session", session_id)
            if row.status != "recording":
                raise InvalidValueError(f"session {session_id} is {row.status}, not recording")
            if (row.exercise, row.side) != (analysis.exercise, analysis.side):
                raise InvalidValueError(
                    f"session {session_id} is {row.exercise}/{row.side}, analysis is {analysis.exercise}/{analysis.side}"
                )
            if sensors is not None:
                row.sensors = convert.json_safe(dict(sensors))
            return row

        self._write_analysis(rows, analysis, raw, status=status, ended_at=ended_at)

    def _write_analysis(
        self,
        make_row: Callable[[OrmSession], SessionRow],
        analysis: SessionAnalysis,
        raw: RawSession | None,
        *,
        status: str,
        ended_at: dt.datetime | None,
    ) -> int:
        """Stage files → rows → rename into place → commit; on any failure remove the files."""
        key = uuid.uuid4().hex
        staged = self.files.stage(key)
        try:
            if raw is not None:
                write_raw(raw, staged / RAW_FILE_NAME)
            write_angles(analysis.angles, staged / ANGLES_FILE_NAME)
            with self._tx() as s:
                row = make_row(s)
                summary = analysis.summary
                if ended_at is not None:
                    row.ended_at = _require_aware("ended_at", ended_at)
                elif math.isfinite(summary.duration_s):
                    row.ended_at = row.started_at + dt.timedelta(seconds=summary.duration_s)
                row.status = status
                row.calibration = convert.json_safe(asdict(analysis.calibration))
                row.calibration_quality = analysis.calibration.quality
                row.threshold_deg = float(analysis.threshold_deg)
                for k in convert.SUMMARY_INTS:
                    setattr(row, k, int(getattr(summary, k)))
                for k in convert.SUMMARY_FLOATS:
                    setattr(row, k, none_if_nan(getattr(summary, k)))
                row.raw_path = self.files.relative(key, RAW_FILE_NAME) if raw is not None else None
                row.angles_path = self.files.relative(key, ANGLES_FILE_NAME)
                s.flush()
                if analysis.reps:
                    s.execute(insert(RepRow), [convert.rep_values(row.id, r) for r in analysis.reps])
                self.files.publish(key)
                session_id = row.id
        except BaseException:
            self.files.discard(key)
            raise
        return session_id

    @staticmethod
    def _prescription_for(
        s: OrmSession, patient_id: int, exercise: str, side: str, prescription_id: int | None
    ) -> PrescriptionRow | None:
        if prescription_id is not None:
            rx = s.get(PrescriptionRow, prescription_id)
            if rx is None or rx.patient_id != patient_id:
                raise NotFoundError("prescription of this patient", prescription_id)
            return rx
        return s.scalars(
            select(PrescriptionRow)
            .where(
                PrescriptionRow.patient_id == patient_id,
                PrescriptionRow.exercise == exercise,
                PrescriptionRow.side == side,
                PrescriptionRow.active.is_(True),
            )
            .order_by(PrescriptionRow.id.desc())
            .limit(1)
        ).first()

    def get_session(self, session_id: int) -> SessionRecord:
        with self._read() as s:
            row = s.get(SessionRow, session_id)
            if row is None:
                raise NotFoundError("session", session_id)
            return convert.session(row)

    def list_sessions(
        self, patient_id: int, *, exercise: str | None = None, limit: int | None = None
    ) -> list[SessionRecord]:
        """Newest first."""
        stmt = (
            select(SessionRow)
            .where(SessionRow.patient_id == patient_id)
            .order_by(SessionRow.started_at.desc(), SessionRow.id.desc())
        )
        if exercise is not None:
            stmt = stmt.where(SessionRow.exercise == check_exercise(exercise))
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._read() as s:
            return [convert.session(r) for r in s.scalars(stmt)]

    def load_reps(self, session_id: int) -> list[Rep]:
        with self._read() as s:
            rows = s.scalars(select(RepRow).where(RepRow.session_id == session_id).order_by(RepRow.rep_index))
            return [convert.rep_from_row(r) for r in rows]

    def load_angles(self, session_id: int) -> pd.DataFrame:
        record = self.get_session(session_id)
        if record.angles_path is None:
            raise NotFoundError("angles of session", session_id)
        return read_angles(self.files.absolute(record.angles_path))

    def load_raw(self, session_id: int) -> RawSession:
        record = self.get_session(session_id)
        if record.raw_path is None:
            raise NotFoundError("raw samples of session", session_id)
        return read_raw(self.files.absolute(record.raw_path))

    def load_session(self, session_id: int, *, with_raw: bool = True) -> LoadedSession:
        record = self.get_session(session_id)
        if record.status == "recording":
            raise InvalidValueError(f"session {session_id} is still recording; it has no analysis yet")
        angles = (
            read_angles(self.files.absolute(record.angles_path))
            if record.angles_path
            else pd.DataFrame(columns=["t", "hip_flexion_deg", "pelvic_tilt_deg", "valid"])
        )
        analysis = SessionAnalysis(
            exercise=record.exercise,  # type: ignore[arg-type]
            side=record.side,  # type: ignore[arg-type]
            calibration=convert.calibration_from_json(record.calibration),
            summary=record.summary(),
            reps=self.load_reps(session_id),
            angles=angles,
            threshold_deg=record.threshold_deg,
        )
        raw = read_raw(self.files.absolute(record.raw_path)) if with_raw and record.raw_path else None
        return LoadedSession(record=record, analysis=analysis, raw=raw)

    def delete_session(self, session_id: int) -> None:
        """Delete the rows (reps and pain cascade) and then the session's files."""
        with self._tx() as s:
            row = s.get(SessionRow, session_id)
            if row is None:
                raise NotFoundError("session", session_id)
            paths = [p for p in (row.raw_path, row.angles_path) if p]
            s.delete(row)
        for key in {SessionFiles.key_of(p) for p in paths}:
            self.files.discard(key)

    def clean_orphans(self, *, older_than_s: float = ORPHAN_GRACE_S) -> list[Path]:
        """Remove staged or unreferenced session directories older than ``older_than_s``."""
        with self._read() as s:
            paths = s.execute(select(SessionRow.raw_path, SessionRow.angles_path)).all()
        known = {SessionFiles.key_of(p) for pair in paths for p in pair if p}
        orphans = self.files.orphans(known, older_than_s=older_than_s)
        self.files.remove(orphans)
        return orphans

    # ------------------------------------------------------------------ pain
    def set_pain_report(
        self,
        session_id: int,
        *,
        pain_before: int | None | _Keep = KEEP,
        pain_after: int | None | _Keep = KEEP,
        note: str | _Keep = KEEP,
        reported_by: int | None = None,
    ) -> PainReport:
        """Create or update the session's pain report (0–10 before/after, free note).

        Fields left out keep their stored value (so "before" asked at the start and "after" asked
        at the end can be saved separately); pass None to clear a score."""
        with self._tx() as s:
            if s.get(SessionRow, session_id) is None:
                raise NotFoundError("session", session_id)
            row = s.scalars(select(PainReportRow).where(PainReportRow.session_id == session_id)).one_or_none()
            if row is None:
                row = PainReportRow(session_id=session_id, pain_before=None, pain_after=None, note="")
                s.add(row)
            if not isinstance(pain_before, _Keep):
                row.pain_before = _check_pain("pain_before", pain_before)
            if not isinstance(pain_after, _Keep):
                row.pain_after = _check_pain("pain_after", pain_after)
            if not isinstance(note, _Keep):
                row.note = note
            row.reported_by, row.created_at = reported_by, utcnow()
            s.flush()
            return convert.pain(row)

    def get_pain_report(self, session_id: int) -> PainReport | None:
        with self._read() as s:
            row = s.scalars(select(PainReportRow).where(PainReportRow.session_id == session_id)).one_or_none()
            return convert.pain(row) if row else None

    def list_pain_reports(self, patient_id: int) -> list[PainReport]:
        """All of a patient's pain reports, in session order."""
        stmt = (
            select(PainReportRow)
            .join(SessionRow, SessionRow.id == PainReportRow.session_id)
            .where(SessionRow.patient_id == patient_id)
            .order_by(SessionRow.started_at, SessionRow.id)
        )
        with self._read() as s:
            return [convert.pain(r) for r in s.scalars(stmt)]

    def patient_reps(self, patient_id: int) -> pd.DataFrame:
        """Every rep of every session of a patient: ``session_id`` + the Rep fields (tidy, one row per rep)."""
        rep_cols = [getattr(RepRow, "rep_index").label("index"), *(getattr(RepRow, n) for n in convert.REP_FIELDS[1:])]
        stmt = (
            select(RepRow.session_id, *rep_cols)
            .join(SessionRow, SessionRow.id == RepRow.session_id)
            .where(SessionRow.patient_id == patient_id)
            .order_by(SessionRow.started_at, SessionRow.id, RepRow.rep_index)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        df = pd.DataFrame.from_records([tuple(r) for r in rows], columns=["session_id", *convert.REP_FIELDS])
        for c in [*convert.REP_FLOATS, "compensation_onset_hip_deg"]:
            df[c] = pd.to_numeric(df[c]).astype("float64")
        for c in ("session_id", "index", "set_index"):
            df[c] = df[c].astype("int64")
        for c in ("partial", "compensation"):
            df[c] = df[c].astype(bool)
        return df

    # ------------------------------------------------------------------ progression
    def suggest_progression(
        self, prescription_id: int, to_stage: str, *, reason: str = "", suggested_by: int | None = None
    ) -> ProgressionDecision:
        with self._tx() as s:
            rx = s.get(PrescriptionRow, prescription_id)
            if rx is None:
                raise NotFoundError("prescription", prescription_id)
            row = ProgressionDecisionRow(
                patient_id=rx.patient_id,
                prescription_id=rx.id,
                from_stage=rx.stage,
                to_stage=to_stage,
                reason=reason,
                status="suggested",
                suggested_by=suggested_by,
                suggested_at=utcnow(),
            )
            s.add(row)
            s.flush()
            return convert.decision(row)

    def decide_progression(self, decision_id: int, *, accept: bool, decided_by: int) -> ProgressionDecision:
        """Accept (the prescription moves to ``to_stage``) or reject a suggestion, by a therapist."""
        with self._tx() as s:
            row = s.get(ProgressionDecisionRow, decision_id)
            if row is None:
                raise NotFoundError("progression decision", decision_id)
            if row.status != "suggested":
                raise InvalidValueError(f"progression decision {decision_id} is already {row.status}")
            row.status = "accepted" if accept else "rejected"
            row.decided_by, row.decided_at = decided_by, utcnow()
            if accept:
                rx = s.get(PrescriptionRow, row.prescription_id)
                assert rx is not None
                rx.stage, rx.updated_at = row.to_stage, utcnow()
            s.flush()
            return convert.decision(row)

    def list_progression_decisions(
        self, patient_id: int, *, status: str | None = None
    ) -> list[ProgressionDecision]:
        stmt = (
            select(ProgressionDecisionRow)
            .where(ProgressionDecisionRow.patient_id == patient_id)
            .order_by(ProgressionDecisionRow.id)
        )
        if status is not None:
            stmt = stmt.where(ProgressionDecisionRow.status == _check_choice("status", status, DECISION_STATUSES))
        with self._read() as s:
            return [convert.decision(r) for r in s.scalars(stmt)]

    # ------------------------------------------------------------------ tables for the dashboard
    def patient_history(self, patient_id: int) -> pd.DataFrame:
        """One row per session (oldest first) with summary, prescription snapshot and pain."""
        cols = [
            SessionRow.id.label("session_id"),
            *(getattr(SessionRow, c) for c in tables.HISTORY_COLUMNS[1:-3]),
            PainReportRow.pain_before,
            PainReportRow.pain_after,
            PainReportRow.note.label("pain_note"),
        ]
        stmt = (
            select(*cols)
            .outerjoin(PainReportRow, PainReportRow.session_id == SessionRow.id)
            .where(SessionRow.patient_id == patient_id)
            .order_by(SessionRow.started_at, SessionRow.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return tables.history_frame(rows)

    def roster(self, therapist_id: int, *, now: dt.datetime | None = None) -> pd.DataFrame:
        """One row per patient of ``therapist_id``; see ``tables.ROSTER_COLUMNS`` and docs/store.md."""
        now = _require_aware("now", now) if now is not None else utcnow()
        week_start = (now - dt.timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        window_start = min(week_start, now - dt.timedelta(days=14))
        with self.engine.connect() as conn:
            patients = conn.execute(
                select(UserRow.id, UserRow.username, UserRow.display_name)
                .where(UserRow.therapist_id == therapist_id, UserRow.role == "patient", UserRow.active.is_(True))
                .order_by(UserRow.display_name, UserRow.id)
            ).all()
            ids = [p.id for p in patients]
            if not ids:
                return pd.DataFrame(columns=tables.ROSTER_COLUMNS)
            base = select(
                SessionRow.patient_id, SessionRow.exercise, SessionRow.side, SessionRow.started_at,
                SessionRow.rep_count, SessionRow.compensation_count, SessionRow.rom_deg,
                PainReportRow.pain_before, PainReportRow.pain_after,
            ).outerjoin(PainReportRow, PainReportRow.session_id == SessionRow.id).where(
                SessionRow.patient_id.in_(ids), SessionRow.status != "recording", SessionRow.started_at <= now
            )  # fmt: skip
            recent = conn.execute(base.where(SessionRow.started_at >= window_start)).all()
            ranked = (
                select(
                    SessionRow.id,
                    func.row_number()
                    .over(partition_by=SessionRow.patient_id, order_by=(SessionRow.started_at.desc(), SessionRow.id.desc()))
                    .label("rn"),
                )
                .where(SessionRow.patient_id.in_(ids), SessionRow.status != "recording", SessionRow.started_at <= now)
                .subquery()
            )
            latest = conn.execute(
                base.add_columns(SessionRow.id)
                .join(ranked, ranked.c.id == SessionRow.id)
                .where(ranked.c.rn == 1)
            ).all()
            prescriptions = conn.execute(
                select(
                    PrescriptionRow.patient_id, PrescriptionRow.exercise, PrescriptionRow.side,
                    PrescriptionRow.sessions_per_week, PrescriptionRow.target_rom_deg, PrescriptionRow.id,
                ).where(PrescriptionRow.patient_id.in_(ids), PrescriptionRow.active.is_(True))
            ).all()  # fmt: skip
        return tables.roster_frame(patients, recent, latest, prescriptions, now=now, week_start=week_start)


def _snapshot_prescription(row: SessionRow, rx: PrescriptionRow | None) -> None:
    """Targets change later; a session keeps the ones that applied when it was done."""
    row.prescription_id = rx.id if rx else None
    row.stage = rx.stage if rx else None
    row.target_rom_deg = rx.target_rom_deg if rx else None
    row.prescribed_sets = rx.sets if rx else None
    row.prescribed_reps = rx.reps if rx else None


_HASH_CACHE: dict[str, str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    key = f"{hasher.time_cost}:{hasher.memory_cost}:{hasher.parallelism}"
    if key not in _HASH_CACHE:
        _HASH_CACHE[key] = hasher.hash("not-a-real-password")
    return _HASH_CACHE[key]
