"""Plain frozen records the store hands out (no live ORM objects leave the store)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from program import DRILLS
from program import Prescription as ProgramPrescription
from program.progression import SuggestionStatus
from tracker import ENGINE_VERSION
from tracker.conventions import Exercise, Side
from tracker.raw import RawSession
from tracker.results import SessionAnalysis, SessionSummary


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str
    role: str  # "patient" | "therapist" | "admin"
    therapist_id: int | None
    active: bool
    created_at: dt.datetime

    @property
    def is_patient(self) -> bool:
        return self.role == "patient"

    @property
    def is_therapist(self) -> bool:
        return self.role == "therapist"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class Prescription:
    id: int
    patient_id: int
    exercise: Exercise  # the table's CHECK constraint (store.models) holds it to the Literal
    side: Side
    sets: int
    reps: int
    sessions_per_week: int
    target_rom_deg: float | None
    compensation_threshold_deg: float
    stage: str | None
    hold_target_s: float | None
    active: bool
    created_by: int | None
    created_at: dt.datetime
    updated_at: dt.datetime

    def to_program(self) -> ProgramPrescription:
        """This stored prescription in the program's terms (the catalogue's defaults fill what is unset).

        The one mapping from the store's row to the clinical vocabulary (program/)."""
        default = DRILLS[self.exercise].default  # exercise is checked on write
        target = self.target_rom_deg if self.target_rom_deg is not None and math.isfinite(self.target_rom_deg) else None
        return ProgramPrescription(
            drill=self.exercise,
            stage=self.stage or default.stage,
            target_reps=self.reps,
            target_rom_deg=abs(target) if target else default.target_rom_deg,
            sets=self.sets,
            hold_s=self.hold_target_s or 0.0,
            compensation_threshold_deg=self.compensation_threshold_deg,
            side=self.side,
        )


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A session's database row: identity, context, the summary columns and file paths."""

    id: int
    uid: str  # unique across stores (recording uid, or a random one): recovery and sync key on it
    patient_id: int
    prescription_id: int | None
    exercise: Exercise  # the table's CHECK constraint (store.models) holds it to the Literal
    side: Side
    started_at: dt.datetime
    ended_at: dt.datetime | None
    status: str
    source: str
    sensors: dict[str, Any]
    calibration: dict[str, Any]
    calibration_quality: str | None
    threshold_deg: float
    stage: str | None
    target_rom_deg: float | None
    prescribed_sets: int | None
    prescribed_reps: int | None
    rep_count: int
    full_rep_count: int
    partial_rep_count: int
    rom_deg: float
    mean_peak_hip_flexion_deg: float
    compensation_count: int
    compensation_rate: float
    mean_rep_duration_s: float
    mean_hold_s: float
    duration_s: float
    set_count: int
    raw_path: str | None
    angles_path: str | None
    created_at: dt.datetime
    engine_version: str | None  # tracker.ENGINE_VERSION that made the analysis; None = before it was recorded

    @property
    def on_current_engine(self) -> bool:
        """Whether the stored numbers come from the engine this code runs (``rehab reanalyze`` otherwise)."""
        return self.engine_version == ENGINE_VERSION

    #: tracker.sanity issues as dicts (code, message, detail, sensor); empty when the sensors looked right.
    sensor_issues: list[dict[str, Any]] = field(default_factory=list)
    #: Kept but marked "check your sensors": left out of trends, progression and the roster.
    sensor_flagged: bool = False
    #: The at-home assessment this set belongs to (None: a training set).
    assessment_id: int | None = None

    @property
    def counts_for_trends(self) -> bool:
        """A finished training set whose sensors looked right (what charts, rules and the roster use)."""
        return self.status != "recording" and not self.sensor_flagged and self.assessment_id is None

    def summary(self) -> SessionSummary:
        return SessionSummary(
            rep_count=self.rep_count,
            full_rep_count=self.full_rep_count,
            partial_rep_count=self.partial_rep_count,
            rom_deg=self.rom_deg,
            mean_peak_hip_flexion_deg=self.mean_peak_hip_flexion_deg,
            compensation_count=self.compensation_count,
            compensation_rate=self.compensation_rate,
            mean_rep_duration_s=self.mean_rep_duration_s,
            mean_hold_s=self.mean_hold_s,
            duration_s=self.duration_s,
            set_count=self.set_count,
        )


@dataclass(frozen=True, slots=True)
class LoadedSession:
    record: SessionRecord
    analysis: SessionAnalysis
    raw: RawSession | None


@dataclass(frozen=True, slots=True)
class PainReport:
    id: int
    session_id: int
    pain_before: int | None
    pain_after: int | None
    note: str
    reported_by: int | None
    created_at: dt.datetime
    difficulty: str | None = None  # program.DIFFICULTIES


@dataclass(frozen=True, slots=True)
class ProgressionDecision:
    id: int
    patient_id: int
    prescription_id: int
    from_stage: str | None
    to_stage: str
    reason: str
    status: SuggestionStatus  # program.progression.SUGGESTION_STATUSES
    suggested_by: int | None
    suggested_at: dt.datetime
    decided_by: int | None
    decided_at: dt.datetime | None
    kind: str = "stage"  # program.SUGGESTION_KINDS
    from_target_rom_deg: float | None = None
    to_target_rom_deg: float | None = None
    #: The rule's per-session checks (program.SessionCheck as dicts) behind the suggestion.
    evidence: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Assessment:
    """An at-home assessment: the patient's answers, the sets done (by drill) and the rules' result."""

    id: int
    patient_id: int
    side: str
    status: str  # program.assessment.ASSESSMENT_STATUSES
    answers: dict[str, Any]
    result: dict[str, Any] | None  # program.ScreeningResult.to_dict()
    started_at: dt.datetime
    completed_at: dt.datetime | None
    reviewed_by: int | None
    reviewed_at: dt.datetime | None


def nan_if_none(value: float | None) -> float:
    return math.nan if value is None else float(value)


def none_if_nan(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


# --- home hub ↔ clinic -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Device:
    """A paired home hub (clinic side); never carries its token."""

    id: int
    patient_id: int
    name: str
    created_by: int | None
    created_at: dt.datetime
    last_seen_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoked_by: int | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class EnrolmentCode:
    """A one-time pairing code, as created: ``code`` is shown once and stored only as a hash."""

    id: int
    patient_id: int
    code: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PairedDevice:
    """What redeeming a code gives: the device and its token (shown once, stored only as a hash)."""

    device: Device
    token: str
    patient: User


@dataclass(frozen=True, slots=True)
class Receipt:
    """Clinic side: a session received from a hub."""

    uid: str
    session_id: int
    patient_id: int
    content_sha256: str
    received_at: dt.datetime
    created: bool  # False: it was already here (a retry), nothing was stored again


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """Hub side: one finished session waiting to be sent, and how sending it went so far."""

    uid: str
    session_id: int
    started_at: dt.datetime
    attempts: int
    last_attempt_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class OutboxSummary:
    """Hub side: what waits, what was sent, what went wrong last — for `rehab hub status`."""

    waiting: int
    sent: int
    last_sent_at: dt.datetime | None
    last_error: str | None
    last_error_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
