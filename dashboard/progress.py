"""The program's decisions as the therapist makes them: progression suggestions (stored, pending,
accepted or rejected in one click — on the patient page and in the roster), assessment
recommendations (confirmed → prescribed with the catalogue's defaults), and the article's order
(N weeks of strengthening before the mobility drills). Every call re-checks that the therapist may
edit this patient's prescriptions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from program import DRILLS, ProgressionSuggestion, ScreeningAnswers, ScreeningResult, ScreeningRules
from program.assessment import MobilityCheck, MobilityOrder
from store import AccessDeniedError, Assessment, InvalidValueError, Prescription, ProgressionDecision, Store, User
from store.progression import check_progression, trend_rows

__all__ = [
    "check_progression",
    "confirm_recommendation",
    "decide",
    "decide_pending",
    "evaluate_assessment",
    "mobility_check",
]


def _require_editor(store: Store, therapist: User, patient_id: int) -> None:
    if not store.can_edit_prescriptions(therapist, patient_id):
        raise AccessDeniedError(f"user {therapist.username!r} may not change patient {patient_id}'s program")


def decide_pending(store: Store, therapist: User, decision_id: int, *, accept: bool) -> ProgressionDecision:
    """Accept or reject a stored suggestion; accepting moves the stage (or the target) at once, so
    the patient sees it on Today."""
    decision = store.get_progression_decision(decision_id)
    _require_editor(store, therapist, decision.patient_id)
    return store.decide_progression(decision_id, accept=accept, decided_by=therapist.id)


def decide(
    store: Store, therapist: User, rx: Prescription, suggestion: ProgressionSuggestion, *, accept: bool
) -> ProgressionDecision:
    """Record a suggestion computed now and the therapist's decision in one step."""
    _require_editor(store, therapist, rx.patient_id)
    decision = store.suggest_progression(
        rx.id, suggestion.to_stage, reason=suggestion.summary, suggested_by=None, kind=suggestion.kind,
        to_target_rom_deg=suggestion.to_target_rom_deg if suggestion.kind == "target_rom" else None,
    )  # fmt: skip
    return store.decide_progression(decision.id, accept=accept, decided_by=therapist.id)


def evaluate_assessment(store: Store, assessment_id: int, rules: ScreeningRules | None = None) -> Assessment:
    """Run the screening rules on the assessment's sets and answers and keep the result (pending
    the therapist's review)."""
    a = store.get_assessment(assessment_id)
    loaded = {drill: store.load_session(rec.id, with_raw=False).analysis
              for drill, rec in store.assessment_sessions(assessment_id).items()}  # fmt: skip
    result = (rules or ScreeningRules()).evaluate(
        knee_raise=loaded.get("knee_raise"), hip_extension=loaded.get("hip_extension"),
        deep_squat=loaded.get("deep_squat"), answers=ScreeningAnswers.from_dict(a.answers),
    )  # fmt: skip
    return store.complete_assessment(assessment_id, result)


def confirm_recommendation(
    store: Store, therapist: User, assessment_id: int, drill: str, *, confirm: bool
) -> Prescription | None:
    """The therapist's decision on one recommendation. Confirming a drill the patient does not do
    yet prescribes it (catalogue defaults, the assessment's side); returns that prescription."""
    a = store.get_assessment(assessment_id)
    _require_editor(store, therapist, a.patient_id)
    if a.result is None:
        raise InvalidValueError(f"assessment {assessment_id} has no result yet")
    rec = ScreeningResult.from_dict(a.result).recommendation(drill)
    store.decide_recommendation(assessment_id, drill, "confirmed" if confirm else "rejected", decided_by=therapist.id)
    if not (confirm and rec.recommended):
        return None
    if any(rx.exercise == drill and rx.side == a.side for rx in store.list_prescriptions(a.patient_id)):
        return None
    d = DRILLS[drill].default
    return store.add_prescription(
        a.patient_id, drill, a.side, sets=d.sets, reps=d.reps, target_rom_deg=d.target_rom_deg,
        compensation_threshold_deg=d.compensation_threshold_deg, stage=d.stage, hold_target_s=d.hold_s,
        sessions_per_week=3, created_by=therapist.id,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ProgramView:
    """What the Program tab shows about the article's order."""

    check: MobilityCheck
    assessment: Assessment | None
    screening: ScreeningResult | None


def mobility_check(
    store: Store, patient_id: int, *, today: dt.date | None = None, history: pd.DataFrame | None = None
) -> ProgramView:
    """The article's order for this patient: N weeks (the therapist's) of strengthening, then the
    assessment's mobility drills if problems persist."""
    done = [a for a in store.list_assessments(patient_id) if a.result is not None]
    latest = done[0] if done else None
    screening = ScreeningResult.from_dict(latest.result) if latest and latest.result else None
    prescribed = {rx.exercise for rx in store.list_prescriptions(patient_id)}
    history = trend_rows(store.patient_history(patient_id) if history is None else history)
    check = MobilityOrder(weeks=store.mobility_after_weeks(patient_id)).check(
        history, screening=screening, prescribed=prescribed, today=today or dt.datetime.now(dt.UTC).date()
    )
    return ProgramView(check, latest, screening)
