"""SQLAlchemy 2 tables. Summary metrics are columns (fast roster/history queries); raw samples and the
angle time series live in one Parquet directory per session (``raw_path``/``angles_path``, relative to
the data directory).

Float metrics are nullable: NaN is stored as NULL on both backends (SQLite cannot keep NaN) and
read back as NaN (or None where the result type allows None).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from program.assessment import ASSESSMENT_STATUSES
from program.progression import DIFFICULTIES, SUGGESTION_KINDS, SUGGESTION_STATUSES
from tracker.conventions import EXERCISES, SIDES

ROLES = ("patient", "therapist", "admin")
SESSION_STATUSES = ("recording", "complete", "recovered")
SESSION_SOURCES = ("recorded", "imported", "simulated")
#: The program owns the clinical vocabulary (program/progression.py); the store checks against it.
DECISION_STATUSES = SUGGESTION_STATUSES

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in and out on both backends (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; the store only takes UTC-aware times")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {dt.datetime: UTCDateTime()}


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, nullable=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PrescriptionRow(Base):
    __tablename__ = "prescriptions"
    __table_args__ = (
        CheckConstraint(_in("exercise", EXERCISES), name="exercise"),
        CheckConstraint(_in("side", SIDES), name="side"),
        CheckConstraint("sets >= 1 AND reps >= 1 AND sessions_per_week >= 0", name="counts"),
        Index(None, "patient_id", "active"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    exercise: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    sets: Mapped[int] = mapped_column(Integer)
    reps: Mapped[int] = mapped_column(Integer)
    sessions_per_week: Mapped[int] = mapped_column(Integer)
    target_rom_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    compensation_threshold_deg: Mapped[float] = mapped_column(Float)
    stage: Mapped[str | None] = mapped_column(String(32), nullable=True)
    hold_target_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SessionRow(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint(_in("exercise", EXERCISES), name="exercise"),
        CheckConstraint(_in("side", SIDES), name="side"),
        CheckConstraint(_in("status", SESSION_STATUSES), name="status"),
        CheckConstraint(_in("source", SESSION_SOURCES), name="source"),
        Index(None, "patient_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The session's identity everywhere (recording journal, recovery, hub → clinic sync): one
    # session per uid, enforced here, so a retry or a second process can never store it twice.
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    prescription_id: Mapped[int | None] = mapped_column(
        ForeignKey("prescriptions.id", ondelete="SET NULL"), nullable=True
    )
    exercise: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    started_at: Mapped[dt.datetime] = mapped_column()
    ended_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    sensors: Mapped[Any] = mapped_column(JSON)
    calibration: Mapped[Any] = mapped_column(JSON)
    calibration_quality: Mapped[str | None] = mapped_column(String(16), nullable=True)
    threshold_deg: Mapped[float] = mapped_column(Float)
    # Snapshot of the prescription at the time of the session (targets change later).
    stage: Mapped[str | None] = mapped_column(String(32), nullable=True)
    target_rom_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    prescribed_sets: Mapped[int | None] = mapped_column(Integer, nullable=True)
    prescribed_reps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # SessionSummary, one column per field.
    rep_count: Mapped[int] = mapped_column(Integer)
    full_rep_count: Mapped[int] = mapped_column(Integer)
    partial_rep_count: Mapped[int] = mapped_column(Integer)
    rom_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    mean_peak_hip_flexion_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    compensation_count: Mapped[int] = mapped_column(Integer)
    compensation_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    mean_rep_duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    mean_hold_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    set_count: Mapped[int] = mapped_column(Integer)
    raw_path: Mapped[str | None] = mapped_column(String(255), nullable=True)
    angles_path: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # tracker.ENGINE_VERSION of the analysis stored here; NULL for analyses from before it was recorded
    engine_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Sensor sanity (tracker/sanity.py, migration 0006): a set whose sensors were worn wrong is kept
    # but marked, and left out of trends, progression and the roster.
    sensor_issues: Mapped[Any] = mapped_column(JSON, nullable=True)
    sensor_flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A set done as part of an at-home assessment (screening), not training.
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessments.id", ondelete="SET NULL"), nullable=True, index=True
    )


class RepRow(Base):
    """Every field of tracker.results.Rep (``index`` is stored as ``rep_index``)."""

    __tablename__ = "reps"
    __table_args__ = (UniqueConstraint("session_id", "rep_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    rep_index: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    peak_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    end_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    peak_hip_flexion_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    hold_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    partial: Mapped[bool] = mapped_column(Boolean)
    compensation: Mapped[bool] = mapped_column(Boolean)
    compensation_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    compensation_onset_hip_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    set_index: Mapped[int] = mapped_column(Integer)
    start_hip_flexion_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    range_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    pelvic_tilt_change_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    # 0..1; NULL = not assessed (reps stored before the engine rated them)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    low_confidence_reason: Mapped[str] = mapped_column(Text, default="", server_default="")


class PainReportRow(Base):
    """At most one report per session: pain 0–10 before and after, and a free note."""

    __tablename__ = "pain_reports"
    __table_args__ = (
        CheckConstraint("pain_before IS NULL OR (pain_before >= 0 AND pain_before <= 10)", name="before"),
        CheckConstraint("pain_after IS NULL OR (pain_after >= 0 AND pain_after <= 10)", name="after"),
        CheckConstraint(f"difficulty IS NULL OR {_in('difficulty', DIFFICULTIES)}", name="difficulty"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), unique=True)
    pain_before: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pain_after: Mapped[int | None] = mapped_column(Integer, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # How the set felt to the patient (program.DIFFICULTIES; migration 0006).
    difficulty: Mapped[str | None] = mapped_column(String(16), nullable=True)


class ProgressionDecisionRow(Base):
    """A suggested stage change (e.g. knee raise box → floor) and the therapist's answer."""

    __tablename__ = "progression_decisions"
    __table_args__ = (
        CheckConstraint(_in("status", DECISION_STATUSES), name="status"),
        CheckConstraint(_in("kind", SUGGESTION_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id", ondelete="CASCADE"))
    from_stage: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_stage: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    suggested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    suggested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    # Migration 0006: what kind of step, the target it moves to, and the rule's evidence (per session).
    kind: Mapped[str] = mapped_column(String(16), default="stage", server_default="stage")
    from_target_rom_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    to_target_rom_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    evidence: Mapped[Any] = mapped_column(JSON, nullable=True)


class AssessmentRow(Base):
    """An at-home assessment (screening): the patient's answers, a short set of each drill (sessions
    point here with ``assessment_id``), and the rules' result — a recommendation for the therapist."""

    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint(_in("status", ASSESSMENT_STATUSES), name="status"),
        CheckConstraint(_in("side", SIDES), name="side"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    side: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    answers: Mapped[Any] = mapped_column(JSON)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class PatientProgramRow(Base):
    """Per-patient program settings the therapist chooses: the article's "add the mobility drills if
    you are still experiencing problems" after ``mobility_after_weeks`` weeks of strengthening."""

    __tablename__ = "patient_programs"
    __table_args__ = (CheckConstraint("mobility_after_weeks >= 0 AND mobility_after_weeks <= 52", name="weeks"),)

    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    mobility_after_weeks: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- home hub ↔ clinic (migration 0007) ---------------------------------------------------------
#: The roster's two-week window over a whole clinic's sessions (recent rows, not a full scan).
Index("ix_sessions_started_at", SessionRow.started_at)


class DeviceRow(Base):
    """A paired home hub: it uploads for one patient and reads that patient's plan.

    Only the SHA-256 of its token is kept (the token is 256 random bits, shown once at pairing, so a
    fast hash is enough: nothing to brute-force)."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)


class EnrolmentCodeRow(Base):
    """A one-time code a therapist gives a patient to pair a hub; only its SHA-256 is kept."""

    __tablename__ = "enrolment_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"), nullable=True)


class ReceivedSessionRow(Base):
    """Clinic side: a session that arrived from a hub, with the SHA-256 of the bundle it came in."""

    __tablename__ = "received_sessions"

    uid: Mapped[str] = mapped_column(ForeignKey("sessions.uid", ondelete="CASCADE"), primary_key=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"), nullable=True)
    content_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OutboxRow(Base):
    """Hub side: how the delivery of one local session to the clinic is going.

    What waits is derived from ``sessions`` (finished sessions without an acknowledged row here),
    so a session stored by any process is picked up without a hook in the recorder."""

    __tablename__ = "session_outbox"

    uid: Mapped[str] = mapped_column(ForeignKey("sessions.uid", ondelete="CASCADE"), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    content_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(nullable=True, index=True)
    clinic_session_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PlanLinkRow(Base):
    """Hub side: the local copy of one clinic prescription (the clinic is the authority)."""

    __tablename__ = "plan_links"

    clinic_prescription_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id", ondelete="CASCADE"), unique=True)


class RateLimitRow(Base):
    """Requests counted per key (device, client address) and fixed window, shared by every replica."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True)  # epoch seconds
    count: Mapped[int] = mapped_column(Integer)


class SignInThrottleRow(Base):
    """Failed sign-ins per account and per client address, so every dashboard process sees them.

    ``key`` is the SHA-256 hex digest of ``account:<username>`` or ``address:<ip>``: a username box
    sometimes receives a password, which must not be stored in clear.
    """

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[dt.datetime] = mapped_column()
    locked_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class WebSessionRow(Base):
    """A signed-in browser: only SHA-256 digests of its cookie token and of the one-time handoff code."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    handoff_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    handoff_expires_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
