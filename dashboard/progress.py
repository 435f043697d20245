"""Progression for the patient-detail page: run ``program.ProgressionRule`` on a stored
prescription and the patient's stored history, and record the therapist's decision in the store."""

from __future__ import annotations

import math

import pandas as pd

from store import Prescription, ProgressionDecision, Store, User
from program import DRILLS, ProgressionCheck, ProgressionRule, ProgressionSuggestion
from program import Prescription as ProgramPrescription


def program_prescription(rx: Prescription) -> ProgramPrescription:
    """The store's prescription in the program's terms (catalogue defaults fill what is unset)."""
    default = DRILLS[rx.exercise].default  # type: ignore[index]
    target = rx.target_rom_deg if rx.target_rom_deg is not None and math.isfinite(rx.target_rom_deg) else None
    return ProgramPrescription(
        drill=rx.exercise,  # type: ignore[arg-type]
        stage=rx.stage or default.stage,
        target_reps=rx.reps,
        target_rom_deg=abs(target) if target else default.target_rom_deg,
        sets=rx.sets,
        hold_s=rx.hold_target_s or 0.0,
        compensation_threshold_deg=rx.compensation_threshold_deg,
        side=rx.side,  # type: ignore[arg-type]
    )


def progression_frame(history: pd.DataFrame, rx: Prescription) -> pd.DataFrame:
    """The history rows the rule reads (columns of ``program.sessions_from_frame``).

    Sessions stored before a stage was set count at the prescription's current stage."""
    stage = rx.stage or DRILLS[rx.exercise].default.stage  # type: ignore[index]
    df = history[(history["status"] != "recording")].dropna(subset=["mean_peak_hip_flexion_deg", "compensation_rate"])
    return pd.DataFrame(
        {
            "drill": df["exercise"],
            "stage": df["stage"].fillna(stage),
            "rep_count": df["full_rep_count"],
            "mean_peak_hip_flexion_deg": df["mean_peak_hip_flexion_deg"],
            "compensation_rate": df["compensation_rate"],
            "started_at": df["started_at"],
            "side": df["side"],
            "session_id": df["session_id"].astype(str),
        }
    )


def check_progression(history: pd.DataFrame, rx: Prescription, rule: ProgressionRule | None = None) -> ProgressionCheck:
    return (rule or ProgressionRule()).check(program_prescription(rx), progression_frame(history, rx))


def decide(
    store: Store, therapist: User, rx: Prescription, suggestion: ProgressionSuggestion, *, accept: bool
) -> ProgressionDecision:
    """Record the suggestion and the therapist's decision; an accepted ROM step also raises the target."""
    decision = store.suggest_progression(rx.id, suggestion.to_stage, reason=suggestion.summary, suggested_by=None)
    decided = store.decide_progression(decision.id, accept=accept, decided_by=therapist.id)
    if accept and suggestion.kind != "stage" and suggestion.to_target_rom_deg != suggestion.from_target_rom_deg:
        store.update_prescription(rx.id, target_rom_deg=float(suggestion.to_target_rom_deg))
    return decided
