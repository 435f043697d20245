"""The patient's weekly plan: active prescriptions joined with the drill catalogue and this week's
sessions (pure data; the Today page and the live page show it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from program import DRILLS, UnknownDrillError
from store import Prescription, Store


@dataclass(frozen=True, slots=True)
class PlanItem:
    prescription_id: int
    exercise: str
    side: str
    sets: int
    reps: int
    target_rom_deg: float | None
    hold_s: float | None
    compensation_threshold_deg: float
    sessions_per_week: int
    done_this_week: int
    stage: str | None
    stage_title: str
    instructions: tuple[str, ...]
    emphasis: str
    hold_where: str = "at the top"
    warning_sign: str = ""
    #: When the therapist last moved this prescription to its current stage (accepted suggestion).
    stage_since: dt.datetime | None = None


def week_start(now: dt.datetime) -> dt.datetime:
    """Monday 00:00 UTC of ``now``'s week (the store's roster uses the same week)."""
    now = now.astimezone(dt.UTC)
    return (now - dt.timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)


def _item(rx: Prescription, done: int, stage_since: dt.datetime | None = None) -> PlanItem:
    drill = DRILLS.get(rx.exercise)
    stage_title, instructions, emphasis = "", tuple[str, ...](), ""
    if drill is not None:
        instructions, emphasis = drill.instructions, drill.emphasis
        if rx.stage:
            try:
                stage = drill.stage(rx.stage)
            except UnknownDrillError:
                stage = None
            if stage is not None:
                stage_title = stage.title
                # the stage's own step (box or floor) right after "stand tall", each step once
                steps = list(drill.instructions)
                instructions = tuple(dict.fromkeys((*steps[:1], *stage.instructions, *steps[1:])))
    return PlanItem(
        prescription_id=rx.id,
        exercise=rx.exercise,
        side=rx.side,
        sets=rx.sets,
        reps=rx.reps,
        target_rom_deg=rx.target_rom_deg,
        hold_s=rx.hold_target_s,
        compensation_threshold_deg=rx.compensation_threshold_deg,
        sessions_per_week=rx.sessions_per_week,
        done_this_week=done,
        stage=rx.stage,
        stage_title=stage_title,
        instructions=tuple(instructions),
        emphasis=emphasis,
        hold_where=drill.hold_where if drill else "at the top",
        warning_sign=drill.warning_sign if drill else "",
        stage_since=stage_since,
    )


def weekly_plan(
    store: Store, patient_id: int, *, now: dt.datetime | None = None, history: pd.DataFrame | None = None
) -> list[PlanItem]:
    """The patient's active prescriptions with this week's count; ``history``: the patient's
    ``Store.patient_history`` when the caller has it (cached) already."""
    now = now or dt.datetime.now(dt.UTC)
    start = pd.Timestamp(week_start(now))
    history = store.patient_history(patient_id) if history is None else history
    training = (history["status"] != "recording") & history["assessment_id"].isna()  # check-up sets are not training
    week = history[(history["started_at"] >= start) & training]
    accepted = {
        d.prescription_id: d.decided_at
        for d in store.list_progression_decisions(patient_id, status="accepted")
        if d.kind == "stage" and d.decided_at is not None
    }
    items = []
    for rx in store.list_prescriptions(patient_id):
        done = int(((week["exercise"] == rx.exercise) & (week["side"] == rx.side)).sum())
        items.append(_item(rx, done, accepted.get(rx.id)))
    return items
