"""Progression suggestions: knee raise box → floor, and target ROM steps for the mobility drills.

The article: progress the knee raise to lifting the foot from the floor "only when the box version is
feeling too easy". The sensors turn "too easy" into numbers: the last N sessions at the current stage
all reached the target reps at the target range with few compensated reps. The rule only *suggests*;
the therapist accepts or rejects, and the store persists that decision.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Final, Literal, cast

import pandas as pd

from program.catalogue import DRILLS, get_drill
from program.errors import ProgressionInputError, RuleParameterError
from tracker.conventions import (
    DEFAULT_COMPENSATION_THRESHOLD_DEG,
    EXERCISES,
    Exercise,
    Side,
)
from tracker.results import SessionAnalysis

SuggestionStatus = Literal["pending", "accepted", "rejected"]
SUGGESTION_STATUSES: Final[tuple[SuggestionStatus, ...]] = ("pending", "accepted", "rejected")
SuggestionKind = Literal["stage", "target_rom"]
SUGGESTION_KINDS: Final[tuple[SuggestionKind, ...]] = ("stage", "target_rom")
#: The patient's answer after each set: how the drill felt ("only progress when ... too easy").
Difficulty = Literal["too_easy", "about_right", "too_hard"]
DIFFICULTIES: Final[tuple[Difficulty, ...]] = ("too_easy", "about_right", "too_hard")
#: The answers in the patient's words (the dashboard's buttons; the therapist reads the same).
DIFFICULTY_WORDS: Final[dict[str, str]] = {
    "too_easy": "Too easy",
    "about_right": "About right",
    "too_hard": "Too hard",
}

#: Columns a session-history DataFrame must have (``rom_deg`` may instead be
#: ``mean_peak_hip_flexion_deg``; ``side`` is optional).
SESSION_COLUMNS: Final = ("drill", "stage", "rep_count", "rom_deg", "compensation_rate", "started_at")


@dataclass(frozen=True, slots=True)
class Prescription:
    """What the patient is doing now. ``target_reps`` is per set; ``target_rom_deg`` is positive in
    the drill's direction (degrees of extension for hip extension)."""

    drill: Exercise
    stage: str
    target_reps: int
    target_rom_deg: float
    sets: int = 1
    hold_s: float = 0.0
    compensation_threshold_deg: float = DEFAULT_COMPENSATION_THRESHOLD_DEG
    side: Side | None = None

    def __post_init__(self) -> None:
        drill = get_drill(self.drill)
        drill.stage(self.stage)
        if not (isinstance(self.target_reps, int) and self.target_reps >= 1):
            raise ProgressionInputError(
                f"prescription for {self.drill}: target_reps={self.target_reps!r}; use an integer >= 1"
            )
        if not (isinstance(self.sets, int) and self.sets >= 1):
            raise ProgressionInputError(
                f"prescription for {self.drill}: sets={self.sets!r}; use an integer >= 1"
            )
        if not (math.isfinite(self.target_rom_deg) and self.target_rom_deg > 0):
            raise ProgressionInputError(
                f"prescription for {self.drill}: target_rom_deg={self.target_rom_deg!r}; use positive "
                f"degrees in the drill's direction"
            )

    @classmethod
    def default(cls, drill: str, side: Side | None = None) -> Prescription:
        """The catalogue's default prescription for ``drill``."""
        entry = get_drill(drill)
        d = entry.default
        return cls(
            drill=entry.key,
            stage=d.stage,
            target_reps=d.reps,
            target_rom_deg=d.target_rom_deg,
            sets=d.sets,
            hold_s=d.hold_s,
            compensation_threshold_deg=d.compensation_threshold_deg,
            side=side,
        )

    @property
    def reps_per_session(self) -> int:
        return self.target_reps * self.sets

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SessionOutcome:
    """One past session as progression sees it (the store keeps the full row: store.SessionRecord). ``rom_deg`` is positive in the drill's direction
    (mean peak hip flexion of full reps; its magnitude for hip extension)."""

    drill: Exercise
    stage: str
    rep_count: int
    rom_deg: float
    compensation_rate: float
    started_at: datetime
    side: Side | None = None
    session_id: str | None = None
    #: The patient's answer after the set ("too_easy" | "about_right" | "too_hard"), None if not asked.
    difficulty: Difficulty | None = None

    def __post_init__(self) -> None:
        if self.difficulty is not None and self.difficulty not in DIFFICULTIES:
            raise ProgressionInputError(
                f"session {self.session_id or self.started_at}: difficulty {self.difficulty!r}; "
                f"expected one of {', '.join(DIFFICULTIES)}"
            )

    @classmethod
    def from_analysis(
        cls,
        analysis: SessionAnalysis,
        *,
        stage: str,
        started_at: datetime,
        session_id: str | None = None,
        difficulty: Difficulty | None = None,
    ) -> SessionOutcome:
        """From the processing core's result: full reps count, ROM = |mean peak hip flexion|."""
        s = analysis.summary
        return cls(
            drill=analysis.exercise,
            stage=stage,
            rep_count=s.full_rep_count,
            rom_deg=abs(s.mean_peak_hip_flexion_deg),
            compensation_rate=s.compensation_rate,
            started_at=started_at,
            side=analysis.side,
            session_id=session_id,
            difficulty=difficulty,
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["started_at"] = self.started_at.isoformat()
        return d


@dataclass(frozen=True, slots=True)
class SessionCheck:
    """How one session fared against the rule (for the therapist: why a suggestion is or is not made)."""

    started_at: str
    session_id: str | None
    rep_count: int
    required_reps: int
    rom_deg: float
    required_rom_deg: float
    compensation_rate: float
    max_compensation_rate: float
    passed: bool
    reasons: tuple[str, ...]
    difficulty: str | None = None


def when(started_at: datetime | str) -> str:
    """A session's date as people read it ("Fri 03 Oct 2026 09:00"), not ISO 8601."""
    ts = datetime.fromisoformat(started_at) if isinstance(started_at, str) else started_at
    return f"{ts:%a %d %b %Y %H:%M}"


@dataclass(frozen=True, slots=True)
class ProgressionSuggestion:
    drill: Exercise
    kind: SuggestionKind
    from_stage: str
    to_stage: str
    from_target_rom_deg: float
    to_target_rom_deg: float
    reasons: tuple[str, ...]
    evidence: tuple[SessionCheck, ...]
    status: SuggestionStatus = "pending"
    note: str = ""

    @property
    def summary(self) -> str:
        drill = DRILLS[self.drill]
        if self.kind == "stage":
            return (
                f"{drill.title}: progress from '{drill.stage(self.from_stage).title}' "
                f"to '{drill.stage(self.to_stage).title}'"
            )
        return (
            f"{drill.title}: raise the target from {self.from_target_rom_deg:.0f}° "
            f"to {self.to_target_rom_deg:.0f}°"
        )

    def accept(self, note: str = "") -> ProgressionSuggestion:
        return replace(self, status="accepted", note=note)

    def reject(self, note: str = "") -> ProgressionSuggestion:
        return replace(self, status="rejected", note=note)

    def apply(self, prescription: Prescription) -> Prescription:
        """The prescription after accepting this suggestion."""
        if prescription.drill != self.drill or prescription.stage != self.from_stage:
            raise ProgressionInputError(
                f"suggestion for {self.drill}/{self.from_stage} cannot apply to a "
                f"{prescription.drill}/{prescription.stage} prescription"
            )
        return replace(prescription, stage=self.to_stage, target_rom_deg=self.to_target_rom_deg)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["reasons"] = list(self.reasons)
        d["evidence"] = [{**asdict(e), "reasons": list(e.reasons)} for e in self.evidence]
        d["summary"] = self.summary
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProgressionSuggestion:
        status = d.get("status", "pending")
        if status not in SUGGESTION_STATUSES:
            raise ProgressionInputError(
                f"suggestion for {d.get('drill')!r}: unknown status {status!r}; "
                f"expected one of {', '.join(SUGGESTION_STATUSES)}"
            )
        if d.get("drill") not in EXERCISES:
            raise ProgressionInputError(f"suggestion: unknown drill {d.get('drill')!r}")
        evidence = tuple(
            SessionCheck(**{**e, "reasons": tuple(e["reasons"])}) for e in d.get("evidence", ())
        )
        return cls(
            drill=d["drill"],
            kind=d["kind"],
            from_stage=d["from_stage"],
            to_stage=d["to_stage"],
            from_target_rom_deg=float(d["from_target_rom_deg"]),
            to_target_rom_deg=float(d["to_target_rom_deg"]),
            reasons=tuple(d["reasons"]),
            evidence=evidence,
            status=status,
            note=d.get("note", ""),
        )


@dataclass(frozen=True, slots=True)
class ProgressionCheck:
    """The rule's full verdict: the suggestion (if any) and why."""

    ready: bool
    reasons: tuple[str, ...]
    sessions: tuple[SessionCheck, ...]
    suggestion: ProgressionSuggestion | None


class ProgressionRule:
    """Suggests the next step when the last sessions at the current stage were all good enough.

    Parameters
    ----------
    last_n_sessions
        How many of the most recent sessions (same drill, same stage, same side if the prescription
        names one) must all pass. Default 3.
    min_reps_fraction
        A session passes on reps when its full reps ≥ this × target reps × sets. Default 1.0.
    rom_fraction_of_target
        ... and its ROM ≥ this × the target ROM. Default 1.0.
    max_compensation_rate
        ... and its compensated-rep fraction ≤ this. Default 0.1 (≤ 10 %).
    rom_step_deg
        For the mobility drills (no further stage), raise the target ROM by this many degrees, up to
        the drill's ``max_target_rom_deg``. Default 5°.
    suggest_rom_increase
        Set False to suggest only stage changes. Default True.
    require_too_easy
        The article: progress "only when [the box version] is feeling too easy". When True (default),
        a stage change also needs the patient's latest answer among those sessions to be "too easy",
        and any "too hard" among them stops every suggestion. False: the sensors alone decide.
    """

    def __init__(
        self,
        last_n_sessions: int = 3,
        min_reps_fraction: float = 1.0,
        rom_fraction_of_target: float = 1.0,
        max_compensation_rate: float = 0.1,
        rom_step_deg: float = 5.0,
        suggest_rom_increase: bool = True,
        require_too_easy: bool = True,
    ) -> None:
        self.last_n_sessions = last_n_sessions
        self.min_reps_fraction = min_reps_fraction
        self.rom_fraction_of_target = rom_fraction_of_target
        self.max_compensation_rate = max_compensation_rate
        self.rom_step_deg = rom_step_deg
        self.suggest_rom_increase = suggest_rom_increase
        self.require_too_easy = require_too_easy
        self._validate()

    def _validate(self) -> None:
        if not (isinstance(self.last_n_sessions, int) and self.last_n_sessions >= 1):
            raise RuleParameterError(
                f"ProgressionRule: last_n_sessions={self.last_n_sessions!r}; use an integer >= 1"
            )
        for name, lo, hi in (
            ("min_reps_fraction", 0.0, 2.0),
            ("rom_fraction_of_target", 0.0, 2.0),
            ("rom_step_deg", 0.0, 45.0),
        ):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and lo < v <= hi):
                raise RuleParameterError(
                    f"ProgressionRule: {name}={v!r} is out of range; use a number in ({lo:g}, {hi:g}]"
                )
        v = self.max_compensation_rate
        if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
            raise RuleParameterError(
                f"ProgressionRule: max_compensation_rate={v!r} is out of range; use a fraction in [0, 1]"
            )

    def get_params(self) -> dict[str, Any]:
        return {
            "last_n_sessions": self.last_n_sessions,
            "min_reps_fraction": self.min_reps_fraction,
            "rom_fraction_of_target": self.rom_fraction_of_target,
            "max_compensation_rate": self.max_compensation_rate,
            "rom_step_deg": self.rom_step_deg,
            "suggest_rom_increase": self.suggest_rom_increase,
            "require_too_easy": self.require_too_easy,
        }

    def __repr__(self) -> str:
        return "ProgressionRule(" + ", ".join(f"{k}={v!r}" for k, v in self.get_params().items()) + ")"

    def suggest(
        self, prescription: Prescription, sessions: Iterable[SessionOutcome] | pd.DataFrame
    ) -> ProgressionSuggestion | None:
        """The suggestion for the therapist, or None when the patient is not ready (see ``check``)."""
        return self.check(prescription, sessions).suggestion

    def check(
        self, prescription: Prescription, sessions: Iterable[SessionOutcome] | pd.DataFrame
    ) -> ProgressionCheck:
        records = sessions_from_frame(sessions) if isinstance(sessions, pd.DataFrame) else list(sessions)
        relevant = sorted(
            (
                r
                for r in records
                if r.drill == prescription.drill
                and r.stage == prescription.stage
                and (prescription.side is None or r.side is None or r.side == prescription.side)
            ),
            key=lambda r: r.started_at,
        )
        recent = relevant[-self.last_n_sessions :]
        checks = tuple(self._check_session(prescription, r) for r in recent)
        drill = get_drill(prescription.drill)
        stage_title = drill.stage(prescription.stage).title
        if len(recent) < self.last_n_sessions:
            return ProgressionCheck(
                ready=False,
                reasons=(
                    f"only {len(recent)} session(s) at stage '{stage_title}'; "
                    f"need the last {self.last_n_sessions}",
                ),
                sessions=checks,
                suggestion=None,
            )
        failed = [c for c in checks if not c.passed]
        if failed:
            return ProgressionCheck(
                ready=False,
                reasons=tuple(
                    f"session {when(c.started_at)}: {'; '.join(c.reasons)}" for c in failed
                ),
                sessions=checks,
                suggestion=None,
            )
        criteria = self._criteria_text(prescription)
        evidence_reason = f"the last {self.last_n_sessions} sessions at '{stage_title}' all met {criteria}"
        nxt = drill.next_stage(prescription.stage)
        answers = [r.difficulty for r in recent if r.difficulty is not None]
        latest = answers[-1] if answers else None
        felt = "not asked" if latest is None else DIFFICULTY_WORDS[latest].lower()
        if self.require_too_easy and "too_hard" in answers:
            n_hard = answers.count("too_hard")
            return ProgressionCheck(
                False,
                (evidence_reason, f"but the patient said 'too hard' after {n_hard} of these sessions: no step up"),
                checks,
                None,
            )
        if nxt is not None:
            if self.require_too_easy and latest != "too_easy":
                return ProgressionCheck(
                    False,
                    (
                        evidence_reason,
                        f"the patient's latest answer: {felt}; the article: move on to '{nxt.title}' only "
                        f"when '{stage_title}' feels too easy",
                    ),
                    checks,
                    None,
                )
            reasons: tuple[str, ...] = (
                evidence_reason,
                *((f"the patient says '{stage_title}' feels too easy",) if latest == "too_easy" else ()),
                f"the article: progress to the next level ('{nxt.title}') only when the current one "
                f"feels too easy",
            )
            suggestion = ProgressionSuggestion(
                drill=prescription.drill,
                kind="stage",
                from_stage=prescription.stage,
                to_stage=nxt.key,
                from_target_rom_deg=prescription.target_rom_deg,
                to_target_rom_deg=prescription.target_rom_deg,
                reasons=reasons,
                evidence=checks,
            )
            return ProgressionCheck(True, reasons, checks, suggestion)
        if drill.kind != "strengthening" and self.suggest_rom_increase:
            new_target = min(prescription.target_rom_deg + self.rom_step_deg, drill.max_target_rom_deg)
            if new_target > prescription.target_rom_deg + 1e-9:
                reasons = (
                    evidence_reason,
                    f"raise the target range by {new_target - prescription.target_rom_deg:.0f}° "
                    f"(ceiling {drill.max_target_rom_deg:.0f}°)",
                )
                suggestion = ProgressionSuggestion(
                    drill=prescription.drill,
                    kind="target_rom",
                    from_stage=prescription.stage,
                    to_stage=prescription.stage,
                    from_target_rom_deg=prescription.target_rom_deg,
                    to_target_rom_deg=new_target,
                    reasons=reasons,
                    evidence=checks,
                )
                return ProgressionCheck(True, reasons, checks, suggestion)
            return ProgressionCheck(
                True,
                (evidence_reason, f"target already at the ceiling {drill.max_target_rom_deg:.0f}°"),
                checks,
                None,
            )
        return ProgressionCheck(
            True, (evidence_reason, "no further stage in the catalogue"), checks, None
        )

    def _criteria_text(self, p: Prescription) -> str:
        return (
            f"≥ {self._required_reps(p)} full reps, ROM ≥ {self._required_rom(p):.0f}° and "
            f"≤ {self.max_compensation_rate:.0%} compensated reps"
        )

    def _required_reps(self, p: Prescription) -> int:
        return math.ceil(self.min_reps_fraction * p.reps_per_session - 1e-9)

    def _required_rom(self, p: Prescription) -> float:
        return self.rom_fraction_of_target * p.target_rom_deg

    def _check_session(self, p: Prescription, r: SessionOutcome) -> SessionCheck:
        req_reps = self._required_reps(p)
        req_rom = self._required_rom(p)
        reasons: list[str] = []
        if r.rep_count < req_reps:
            reasons.append(f"{r.rep_count} of {req_reps} reps")
        if not (r.rom_deg >= req_rom - 1e-9):
            reasons.append(f"ROM {r.rom_deg:.0f}° below {req_rom:.0f}°")
        if not (r.compensation_rate <= self.max_compensation_rate + 1e-9):
            reasons.append(
                f"{r.compensation_rate:.0%} compensated reps (max {self.max_compensation_rate:.0%})"
            )
        passed = not reasons
        if passed:
            reasons.append(
                f"{r.rep_count} reps, ROM {r.rom_deg:.0f}°, {r.compensation_rate:.0%} compensated"
            )
        return SessionCheck(
            started_at=r.started_at.isoformat(),
            session_id=r.session_id,
            rep_count=r.rep_count,
            required_reps=req_reps,
            rom_deg=r.rom_deg,
            required_rom_deg=req_rom,
            compensation_rate=r.compensation_rate,
            max_compensation_rate=self.max_compensation_rate,
            passed=passed,
            reasons=tuple(reasons),
            difficulty=r.difficulty,
        )


def sessions_from_frame(df: pd.DataFrame) -> list[SessionOutcome]:
    """Session history from a DataFrame (e.g. the store's session table).

    Columns: drill, stage, rep_count, rom_deg (or mean_peak_hip_flexion_deg, whose magnitude is
    used), compensation_rate, started_at; optional side, session_id, difficulty.
    """
    cols = set(df.columns)
    if "rom_deg" not in cols and "mean_peak_hip_flexion_deg" in cols:
        df = df.assign(rom_deg=df["mean_peak_hip_flexion_deg"].abs())
        cols.add("rom_deg")
    missing = [c for c in SESSION_COLUMNS if c not in cols]
    if missing:
        raise ProgressionInputError(
            f"session history is missing column(s) {', '.join(missing)}; "
            f"expected {', '.join(SESSION_COLUMNS)}"
        )
    out: list[SessionOutcome] = []
    started = pd.to_datetime(df["started_at"])
    for i, (row, ts) in enumerate(zip(df.itertuples(index=False), started, strict=True)):
        values = {
            "rep_count": row.rep_count,
            "rom_deg": row.rom_deg,
            "compensation_rate": row.compensation_rate,
        }
        for name, v in values.items():
            if v is None or (isinstance(v, float) and not math.isfinite(v)) or pd.isna(v):
                raise ProgressionInputError(f"session history row {i}: {name} is missing ({v!r})")
        if row.drill not in EXERCISES:
            raise ProgressionInputError(f"session history row {i}: unknown drill {row.drill!r}")
        if pd.isna(ts):
            raise ProgressionInputError(f"session history row {i}: started_at is missing")
        side = getattr(row, "side", None)
        sid = getattr(row, "session_id", None)
        felt = getattr(row, "difficulty", None)
        out.append(
            SessionOutcome(
                drill=row.drill,
                stage=str(row.stage),
                rep_count=int(row.rep_count),
                rom_deg=float(row.rom_deg),
                compensation_rate=float(row.compensation_rate),
                started_at=ts.to_pydatetime(),
                side=None if side is None or pd.isna(side) else side,
                session_id=None if sid is None or pd.isna(sid) else str(sid),
                difficulty=None if felt is None or pd.isna(felt) else cast(Difficulty, str(felt)),  # __post_init__ checks it
            )
        )
    return out


def records_to_frame(records: Sequence[SessionOutcome]) -> pd.DataFrame:
    """The inverse of ``sessions_from_frame`` (handy for dashboards and tests)."""
    return pd.DataFrame([asdict(r) for r in records], columns=[*SESSION_COLUMNS, "side", "session_id", "difficulty"])
