"""Progression for the patient-detail page: the program's rule on the stored history
(``store.progression.check_progression``) and the therapist's decision, recorded in the store."""

from __future__ import annotations

from program import ProgressionSuggestion
from store import Prescription, ProgressionDecision, Store, User
from store.progression import check_progression

__all__ = ["check_progression", "decide"]


def decide(
    store: Store, therapist: User, rx: Prescription, suggestion: ProgressionSuggestion, *, accept: bool
) -> ProgressionDecision:
    """Record the suggestion and the therapist's decision; an accepted ROM step also raises the target."""
    decision = store.suggest_progression(rx.id, suggestion.to_stage, reason=suggestion.summary, suggested_by=None)
    decided = store.decide_progression(decision.id, accept=accept, decided_by=therapist.id)
    if accept and suggestion.kind != "stage" and suggestion.to_target_rom_deg != suggestion.from_target_rom_deg:
        store.update_prescription(rx.id, target_rom_deg=float(suggestion.to_target_rom_deg))
    return decided
