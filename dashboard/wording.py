"""Plain words for patients and readable numbers for everyone (pure functions, unit-tested).

Patients read short sentences with their own numbers ("You lifted 86°, your target is 80°; your back
stayed still on 8 of 10"); praise only when it was earned. Dates read as people say them
("Thu 3 Dec, 17:30"), never ISO 8601. Stages are named as the patient knows them ("Foot starts on a
box"), from the drill catalogue.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from program import DIFFICULTY_WORDS, DRILLS, UnknownDrillError

#: How much of the prescribed hold a rep must reach before it counts as held (a 1.0 s hold against
#: 2 s is flagged; 1.9 s is not).
HOLD_ENOUGH_FRACTION = 0.9
#: A set is praised when at least this share of the prescribed reps was done with a still back.
PRAISE_FRACTION = 0.8

#: What the live page calls the angle, per drill: what the patient sees moving.
_MOVE_WORDS = {
    "knee_raise": ("You lifted your knee to", "Knee lift"),
    "hip_extension": ("You moved your leg back", "Leg back"),
    "deep_squat": ("You bent your hips to", "Squat depth"),
}
#: "Target 80°" explained for each drill.
_TARGET_EXPLAINED = {
    "knee_raise": "The angle between your thigh and your body: 0° when you stand, 90° when your thigh is level with your hip.",
    "hip_extension": "How far your leg goes back behind you: 0° when you stand, 15–20° is a good active range.",
    "deep_squat": "How far your hips bend: 90° is like sitting on a chair, 120° is a deep squat.",
}


def when(value: Any, *, with_time: bool = True) -> str:
    """A date (and time) as people read it: "Thu 3 Dec 2026, 17:30"; "—" when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        return "—"
    text = f"{ts:%a} {ts.day} {ts:%b %Y}"
    return f"{text}, {ts:%H:%M}" if with_time else text


def days_ago(value: Any, *, today: dt.date | None = None) -> str:
    """ "today", "yesterday", "3 days ago" (calendar days), or "never"."""
    if value is None:
        return "never"
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        return "never"
    today = today or dt.datetime.now(dt.UTC).date()
    n = (today - ts.date()).days
    return "today" if n <= 0 else "yesterday" if n == 1 else f"{n} days ago"


def stage_words(exercise: str, stage: str | None) -> str:
    """The stage as the patient knows it ("Foot starts on a box"); the key when unknown."""
    drill = DRILLS.get(exercise)
    if drill is None:
        return stage or "—"
    stage = stage or drill.default.stage  # stored before a stage was set: the catalogue's default
    try:
        return drill.stage(stage).title
    except UnknownDrillError:
        return stage


def step_words(exercise: str, decision: Any) -> str:
    """A suggested step as the therapist reads it: "from 'Foot starts on a box' to 'Foot starts on
    the floor'", or "target from 80° to 85°" (a ``store.ProgressionDecision``)."""
    if decision.kind == "stage":
        return f"from '{stage_words(exercise, decision.from_stage)}' to '{stage_words(exercise, decision.to_stage)}'"
    return f"target from {deg(decision.from_target_rom_deg)} to {deg(decision.to_target_rom_deg)}"


def difficulty_words(value: str | None) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else DIFFICULTY_WORDS.get(value, value)


def yes_no(value: bool | None) -> str:
    return "not answered" if value is None else "yes" if value else "no"


def target_explained(exercise: str) -> str:
    return _TARGET_EXPLAINED.get(exercise, "")


def angle_name(exercise: str) -> str:
    return _MOVE_WORDS.get(exercise, ("You reached", "Angle"))[1]


def deg(v: float | None) -> str:
    return "—" if v is None or not math.isfinite(float(v)) else f"{float(v):.0f}°"


def hold_note(hold_s: float | None, target_s: float | None, where: str = "at the top") -> str | None:
    """A short hold flagged in words, or None when the hold was long enough (or none prescribed)."""
    if not target_s or hold_s is None or not math.isfinite(hold_s):
        return None
    if hold_s >= HOLD_ENOUGH_FRACTION * target_s:
        return None
    return f"Hold a little longer {where}: {hold_s:.1f} s of {target_s:.0f} s."


def set_summary(
    *,
    exercise: str,
    reps: int,
    target_reps: int | None,
    still_reps: int,
    rom_deg: float | None,
    target_rom_deg: float | None,
    mean_hold_s: float | None = None,
    hold_target_s: float | None = None,
) -> tuple[str, list[str]]:
    """(headline, sentences) after a set, in plain words with the patient's own numbers.

    The headline praises only a set that reached the prescribed reps with the back still on at
    least ``PRAISE_FRACTION`` of them; otherwise it says plainly what was done.
    """
    verb = _MOVE_WORDS.get(exercise, ("You reached", ""))[0]
    lines = []
    if rom_deg is not None and math.isfinite(rom_deg):
        target = f", your target is {target_rom_deg:.0f}°" if target_rom_deg else ""
        lines.append(f"{verb} {rom_deg:.0f}°{target}.")
    if reps:
        lines.append(f"Your back stayed still on {still_reps} of {reps} reps.")
    where = DRILLS[exercise].hold_where if exercise in DRILLS else "at the top"
    note = hold_note(mean_hold_s, hold_target_s, where)
    if note:
        lines.append(note)
    goal = target_reps or reps
    done_all = bool(goal) and reps >= goal
    clean = reps > 0 and still_reps >= PRAISE_FRACTION * reps
    reached = rom_deg is not None and target_rom_deg is not None and math.isfinite(rom_deg) and rom_deg >= target_rom_deg
    if reps == 0:
        headline = "No reps were counted in this set."
    elif done_all and clean and reached:
        headline = f"Well done: {reps} of {goal} reps, at your target, with a still back."
    elif done_all and clean:
        headline = f"Good set: {reps} of {goal} reps with a still back."
    else:
        headline = f"You did {reps} of {goal} reps." if goal else f"You did {reps} reps."
    return headline, lines


def checkup_lines(result: dict[str, Any]) -> list[str]:
    """The check-up's measurements in plain words for the patient (program.ScreeningResult.to_dict())."""
    lines = []
    kr, he, ds = result.get("knee_raise"), result.get("hip_extension"), result.get("deep_squat")
    if kr:
        back = ("your lower back stayed still" if not kr["rounding"] else
                f"your lower back rounded from about {kr['rounding_onset_hip_deg']:.0f}°"
                if kr.get("rounding_onset_hip_deg") is not None else "your lower back rounded")  # fmt: skip
        lines.append(f"Knee raise: you lifted your knee to {kr['peak_hip_flexion_deg']:.0f}°; {back}.")
    if he:
        back = "your lower back arched" if he["anterior_tilt"] else "your lower back stayed still"
        lines.append(f"Leg back: you moved your leg back {he['active_extension_deg']:.0f}°; {back}.")
    if ds:
        lines.append(f"Squat: you bent your hips to {ds['depth_deg']:.0f}°.")
    return lines or ["No exercise was measured."]
