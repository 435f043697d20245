"""Sessions and their files: rows and Parquet written atomically, loaded, deleted, orphans cleaned."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session as OrmSession

from store import convert
from store._base import (
    ORPHAN_GRACE_S,
    StoreBase,
    _check_choice,
    _require_aware,
)
from store.errors import (
    DuplicateError,
    InvalidValueError,
    NotFoundError,
)
from store.files import SessionFiles
from store.files.base import Filler
from store.models import (
    SESSION_SOURCES,
    PrescriptionRow,
    RepRow,
    SessionRow,
    utcnow,
)
from store.raw_files import (
    ANGLES_FILE_NAME,
    RAW_FILE_NAME,
    read_angles,
    read_raw,
    write_angles,
    write_raw,
)
from store.records import (
    LoadedSession,
    SessionRecord,
    none_if_nan,
)
from tracker import sanity
from tracker.conventions import (
    DEFAULT_COMPENSATION_THRESHOLD_DEG,
    check_exercise,
    check_side,
)
from tracker.raw import RawSession
from tracker.results import Rep, SessionAnalysis, json_safe


class SessionsMixin(StoreBase):
    """Save, begin/finish, list, load and delete recorded sessions."""

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
        uid: str | None = None,
    ) -> int:
        """Store a session's rows and its Parquet files atomically; return the new session id.

        ``uid`` identifies the session across processes and stores (a recording's uid; random when
        omitted); a uid already stored raises :class:`DuplicateError` and stores nothing.

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
                uid=self._new_uid(s, uid),
                patient_id=patient_id,
                exercise=analysis.exercise,
                side=analysis.side,
                started_at=started_at,
                source=source,
                sensors=json_safe(dict(sensors or {})),
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
        uid: str | None = None,
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
                uid=self._new_uid(s, uid),
                patient_id=patient_id,
                exercise=exercise,
                side=side,
                started_at=started_at,
                status="recording",
                source=source,
                sensors=json_safe(dict(sensors or {})),
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
                row.sensors = json_safe(dict(sensors))
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
        """The analysis's rows and Parquet files, written atomically (see ``_write_with_files``)."""

        def fill(s: OrmSession) -> SessionRow:
            row = make_row(s)
            summary = analysis.summary
            if ended_at is not None:
                row.ended_at = _require_aware("ended_at", ended_at)
            elif math.isfinite(summary.duration_s):
                row.ended_at = row.started_at + dt.timedelta(seconds=summary.duration_s)
            row.status = status
            _apply_analysis(row, analysis)
            return row

        files: dict[str, Filler] = {}
        if raw is not None:
            files[RAW_FILE_NAME] = lambda f: write_raw(raw, f)
        files[ANGLES_FILE_NAME] = lambda f: write_angles(analysis.angles, f)
        reps = [convert.rep_values(0, r) for r in analysis.reps]
        return self._write_with_files(fill, files, reps)

    def _write_with_files(
        self,
        make_row: Callable[[OrmSession], SessionRow],
        files: Mapping[str, Filler],
        reps: list[dict[str, Any]],
        *,
        also: Callable[[OrmSession, SessionRow], None] | None = None,
    ) -> int:
        """Stage files → rows (+ reps, + ``also``) → publish → commit; on any failure remove the files."""
        key = uuid.uuid4().hex
        self.files.stage(key)
        try:
            for name, fill in files.items():
                self.files.write(key, name, fill)
            with self._tx() as s:
                row = make_row(s)
                row.raw_path = self.files.relative(key, RAW_FILE_NAME) if RAW_FILE_NAME in files else None
                row.angles_path = self.files.relative(key, ANGLES_FILE_NAME) if ANGLES_FILE_NAME in files else None
                s.flush()
                if reps:
                    s.execute(insert(RepRow), [{**r, "session_id": row.id} for r in reps])
                if also is not None:
                    also(s, row)
                self.files.publish(key)
                session_id = row.id
        except BaseException:
            self.files.discard(key)
            raise
        return session_id

    def replace_analysis(self, session_id: int, analysis: SessionAnalysis) -> None:
        """Put a new analysis of a stored session in place of the old one (``rehab reanalyze``).

        Reps, angles file, calibration, summary and engine version change in one transaction, with
        the same staged-files technique as a new session: the new directory holds the new angles
        file and the session's raw file (hard-linked: the same bytes, never copied through memory);
        it is renamed into place just before the commit. The session's id, uid, raw samples, times,
        prescription snapshot, pain report and progression decisions stay. Any failure leaves the
        old analysis and files exactly as they were; the old directory is removed after the commit.
        """
        key = uuid.uuid4().hex
        self.files.stage(key)
        old_paths: list[str] = []
        try:
            self.files.write(key, ANGLES_FILE_NAME, lambda f: write_angles(analysis.angles, f))
            with self._tx() as s:
                row = s.get(SessionRow, session_id, with_for_update=True)
                if row is None:
                    raise NotFoundError("session", session_id)
                if row.status == "recording":
                    raise InvalidValueError(f"session {session_id} is still recording; it has no analysis to replace")
                if (row.exercise, row.side) != (analysis.exercise, analysis.side):
                    raise InvalidValueError(
                        f"session {session_id} is {row.exercise}/{row.side}, analysis is {analysis.exercise}/{analysis.side}"
                    )
                old_paths = [p for p in (row.raw_path, row.angles_path) if p]
                if row.raw_path is not None:
                    self.files.link_into(key, row.raw_path, RAW_FILE_NAME)
                    row.raw_path = self.files.relative(key, RAW_FILE_NAME)
                row.angles_path = self.files.relative(key, ANGLES_FILE_NAME)
                s.execute(delete(RepRow).where(RepRow.session_id == session_id))
                _apply_analysis(row, analysis)
                s.flush()
                if analysis.reps:
                    s.execute(insert(RepRow), [convert.rep_values(row.id, r) for r in analysis.reps])
                self.files.publish(key)
        except BaseException:
            self.files.discard(key)
            raise
        for old_key in {self.files.key_of(p) for p in old_paths} - {key}:
            self.files.discard(old_key)

    def find_sessions(self, *, patient_id: int | None = None, analysed_only: bool = True) -> list[SessionRecord]:
        """Sessions of one patient or of everyone, oldest first (``analysed_only``: not still recording)."""
        stmt = select(SessionRow).order_by(SessionRow.started_at, SessionRow.id)
        if patient_id is not None:
            stmt = stmt.where(SessionRow.patient_id == patient_id)
        if analysed_only:
            stmt = stmt.where(SessionRow.status != "recording")
        with self._read() as s:
            return [convert.session(r) for r in s.scalars(stmt)]

    def _read_file(self, relative_path: str, reader: Callable[[Any, str], Any]) -> Any:
        with self.files.open(relative_path) as f:
            return reader(f, f"{self.files.location}/{relative_path}")

    @staticmethod
    def _new_uid(s: OrmSession, uid: str | None) -> str:
        """A fresh uid, or the caller's after checking it is not stored yet (the unique constraint
        still decides between two concurrent writers)."""
        if uid is None:
            return uuid.uuid4().hex
        if not (isinstance(uid, str) and 1 <= len(uid) <= 64 and uid.isprintable() and uid.strip() == uid):
            raise InvalidValueError(f"session uid {uid!r}: use 1–64 printable characters without surrounding spaces")
        if s.scalar(select(SessionRow.id).where(SessionRow.uid == uid)) is not None:
            raise DuplicateError(f"a session with uid {uid!r} is already stored")
        return uid

    def add_sensor_issues(self, session_id: int, issues: Sequence[sanity.SensorIssue]) -> SessionRecord:
        """Mark a stored set with problems found while it ran (the live view's checks); the set is
        kept, and left out of trends, progression and the roster. Issues already noted stay."""
        with self._tx() as s:
            row = s.get(SessionRow, session_id, with_for_update=True)
            if row is None:
                raise NotFoundError("session", session_id)
            _mark_sensor_issues(row, issues)
            s.flush()
            return convert.session(row)

    def get_session_by_uid(self, uid: str) -> SessionRecord:
        with self._read() as s:
            row = s.scalars(select(SessionRow).where(SessionRow.uid == uid)).first()
            if row is None:
                raise NotFoundError("session with uid", uid)
            return convert.session(row)

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

    def load_raw(self, session_id: int) -> RawSession:
        record = self.get_session(session_id)
        if record.raw_path is None:
            raise NotFoundError("raw samples of session", session_id)
        return self._read_file(record.raw_path, read_raw)

    def load_session(self, session_id: int, *, with_raw: bool = True) -> LoadedSession:
        record = self.get_session(session_id)
        if record.status == "recording":
            raise InvalidValueError(f"session {session_id} is still recording; it has no analysis yet")
        angles = (
            self._read_file(record.angles_path, read_angles)
            if record.angles_path
            else pd.DataFrame(columns=["t", "hip_flexion_deg", "pelvic_tilt_deg", "valid"])
        )
        analysis = SessionAnalysis(
            exercise=record.exercise,
            side=record.side,
            calibration=convert.calibration_from_json(record.calibration),
            summary=record.summary(),
            reps=self.load_reps(session_id),
            angles=angles,
            threshold_deg=record.threshold_deg,
            engine_version=record.engine_version,
        )
        raw = self._read_file(record.raw_path, read_raw) if with_raw and record.raw_path else None
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

    def clean_orphans(self, *, older_than_s: float = ORPHAN_GRACE_S) -> list[str]:
        """Remove staged or unreferenced session folders older than ``older_than_s``; return them
        as ``sessions/<name>`` (every stored session is listed: on object storage, run it rarely)."""
        with self._read() as s:
            paths = s.execute(select(SessionRow.raw_path, SessionRow.angles_path)).all()
        known = {SessionFiles.key_of(p) for pair in paths for p in pair if p}
        orphans = self.files.orphans(known, older_than_s=older_than_s)
        self.files.remove(e.name for e in orphans)
        return [e.location for e in orphans]


def _apply_analysis(row: SessionRow, analysis: SessionAnalysis) -> None:
    """Write an analysis's calibration, summary and engine version into a session row (the reps
    are the caller's: new sessions insert them with their files, a re-analysis replaces them)."""
    summary = analysis.summary
    row.calibration = json_safe(asdict(analysis.calibration))
    row.calibration_quality = analysis.calibration.quality
    row.threshold_deg = float(analysis.threshold_deg)
    version = analysis.engine_version
    if version is not None and not (isinstance(version, str) and 1 <= len(version) <= 32):
        raise InvalidValueError(f"engine_version {version!r}: use 1–32 characters")
    row.engine_version = version
    _mark_sensor_issues(row, sanity.check_analysis(analysis))
    for k in convert.SUMMARY_INTS:
        setattr(row, k, int(getattr(summary, k)))
    for k in convert.SUMMARY_FLOATS:
        setattr(row, k, none_if_nan(getattr(summary, k)))


def _mark_sensor_issues(row: SessionRow, issues: Sequence[sanity.SensorIssue]) -> None:
    known = [sanity.SensorIssue.from_dict(d) for d in (row.sensor_issues or [])]
    merged = sanity.unique([*known, *issues])
    row.sensor_issues = [i.to_dict() for i in merged]
    row.sensor_flagged = bool(merged)


def _snapshot_prescription(row: SessionRow, rx: PrescriptionRow | None) -> None:
    """Targets change later; a session keeps the ones that applied when it was done."""
    row.prescription_id = rx.id if rx else None
    row.stage = rx.stage if rx else None
    row.target_rom_deg = rx.target_rom_deg if rx else None
    row.prescribed_sets = rx.sets if rx else None
    row.prescribed_reps = rx.reps if rx else None
