"""The article's order: everyone starts with strengthening; mobility drills only if problems persist.

"I recommend everyone start with strength-training and add in the mobility drills if you are still
experiencing problems." (seed article, "Final Thoughts"). ``MobilityOrder`` turns that into a check
the therapist reads: after ``weeks`` weeks of strengthening (the therapist sets N), do problems
persist — pain, lower back rounding in the knee raise, range of motion short of the target — and
which mobility drills did the at-home assessment (``program.screening``) recommend? The answer is a
suggestion with its reasons; the therapist decides (nothing here prescribes).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Final, Literal

import pandas as pd

from program.catalogue import DRILLS
from program.errors import RuleParameterError
from program.screening import ScreeningResult
from tracker.conventions import Exercise

AssessmentStatus = Literal["in_progress", "complete", "reviewed"]
#: An assessment is ``in_progress`` while the patient answers and does the short sets, ``complete``
#: when the rules have run (awaiting the therapist), ``reviewed`` once every recommendation is decided.
ASSESSMENT_STATUSES: Final[tuple[AssessmentStatus, ...]] = ("in_progress", "complete", "reviewed")
MOBILITY_DRILLS: Final[tuple[Exercise, ...]] = tuple(d.key for d in DRILLS.values() if d.kind != "strengthening")
#: The therapist's default N: weeks of strengthening before mobility drills are suggested.
DEFAULT_MOBILITY_AFTER_WEEKS: Final = 4


@dataclass(frozen=True, slots=True)
class MobilityCheck:
    """The verdict of ``MobilityOrder.check``.

    ``due``: N weeks of strengthening are done. ``problems``: what persists (words and numbers).
    ``suggest``: mobility drills to propose now (due, problems persist, recommended by the
    assessment, not prescribed yet). ``reasons``: the whole story for the therapist.
    """

    weeks: int
    strengthening_since: dt.datetime | None
    due_on: dt.date | None
    due: bool
    problems: tuple[str, ...]
    suggest: tuple[Exercise, ...]
    reasons: tuple[str, ...]


class MobilityOrder:
    """When to add the mobility drills, in the article's order.

    Parameters
    ----------
    weeks
        Weeks of strengthening before mobility drills are suggested (the therapist's N). Default 4.
    pain_at_least
        Mean pain (0–10) over the recent sessions at or above this is a problem that persists. Default 3.
    rounding_rate_at_least
        Share of knee-raise reps with lower back rounding at or above this persists. Default 0.3.
    rom_fraction_below
        Knee-raise range below this fraction of the target persists. Default 0.9.
    recent_sessions
        How many of the latest knee-raise sessions are judged. Default 3.
    """

    def __init__(
        self,
        weeks: int = DEFAULT_MOBILITY_AFTER_WEEKS,
        pain_at_least: float = 3.0,
        rounding_rate_at_least: float = 0.3,
        rom_fraction_below: float = 0.9,
        recent_sessions: int = 3,
    ) -> None:
        if not (isinstance(weeks, int) and 0 <= weeks <= 52):
            raise RuleParameterError(f"MobilityOrder: weeks={weeks!r}; use whole weeks 0–52")
        if not (isinstance(recent_sessions, int) and recent_sessions >= 1):
            raise RuleParameterError(f"MobilityOrder: recent_sessions={recent_sessions!r}; use an integer >= 1")
        for name, v, lo, hi in (("pain_at_least", pain_at_least, 0.0, 10.0),
                                ("rounding_rate_at_least", rounding_rate_at_least, 0.0, 1.0),
                                ("rom_fraction_below", rom_fraction_below, 0.0, 2.0)):  # fmt: skip
            if not (isinstance(v, (int, float)) and math.isfinite(v) and lo < v <= hi):
                raise RuleParameterError(f"MobilityOrder: {name}={v!r} is out of range; use a number in ({lo:g}, {hi:g}]")
        self.weeks = weeks
        self.pain_at_least = float(pain_at_least)
        self.rounding_rate_at_least = float(rounding_rate_at_least)
        self.rom_fraction_below = float(rom_fraction_below)
        self.recent_sessions = recent_sessions

    def check(
        self,
        history: pd.DataFrame,
        *,
        screening: ScreeningResult | None,
        prescribed: AbstractSet[str],
        today: dt.date,
    ) -> MobilityCheck:
        """``history``: training sessions with ``exercise, started_at, compensation_rate, rom_deg,
        target_rom_deg`` and pain (``pain_after``/``pain_before``), e.g. ``Store.patient_history``
        with assessment and sensor-flagged sets left out."""
        kr = history[history["exercise"] == "knee_raise"].sort_values("started_at") if len(history) else history
        if len(kr) == 0:
            return MobilityCheck(self.weeks, None, None, False, (), (), (
                "no strengthening session yet: the article starts everyone with the knee raise",))
        since = pd.Timestamp(kr["started_at"].iloc[0]).to_pydatetime()
        due_on = since.date() + dt.timedelta(weeks=self.weeks)
        due = today >= due_on
        recent = kr.tail(self.recent_sessions)
        problems: list[str] = []
        pain = pd.to_numeric(recent.get("pain_after"), errors="coerce")
        if "pain_before" in recent:
            pain = pain.fillna(pd.to_numeric(recent["pain_before"], errors="coerce"))
        if pain.notna().any() and float(pain.mean()) >= self.pain_at_least:
            problems.append(f"pain {pain.mean():.1f}/10 on average over the last {len(recent)} knee raises "
                            f"(problem at ≥ {self.pain_at_least:g})")  # fmt: skip
        rate = pd.to_numeric(recent["compensation_rate"], errors="coerce")
        if rate.notna().any() and float(rate.mean()) >= self.rounding_rate_at_least:
            problems.append(f"lower back rounding in {rate.mean():.0%} of knee-raise reps "
                            f"(problem at ≥ {self.rounding_rate_at_least:.0%})")  # fmt: skip
        rom = pd.to_numeric(recent["rom_deg"], errors="coerce")
        target = pd.to_numeric(recent["target_rom_deg"], errors="coerce")
        if rom.notna().any() and target.notna().any():
            frac = float(rom.mean() / target.mean())
            if frac < self.rom_fraction_below:
                problems.append(f"knee raise {rom.mean():.0f}° against a target of {target.mean():.0f}° "
                                f"({frac:.0%}; problem below {self.rom_fraction_below:.0%})")  # fmt: skip
        started = f"strengthening since {since:%a %d %b %Y}; the article adds mobility drills only if problems " \
                  f"remain after {self.weeks} week(s) (on {due_on:%a %d %b %Y})"
        reasons = [started]
        recommended = [] if screening is None else [
            r.drill for r in screening.recommendations if r.recommended and r.drill in MOBILITY_DRILLS and r.status != "rejected"
        ]  # fmt: skip
        suggest: list[Exercise] = []
        if not due:
            reasons.append(f"not yet: {(due_on - today).days} day(s) of strengthening to go")
        elif not problems:
            reasons.append("no problem persists: keep strengthening, no mobility drill needed")
        else:
            reasons.append("problems persist: " + "; ".join(problems))
            if screening is None:
                reasons.append("no assessment yet: ask the patient to do the at-home assessment to see which "
                               "mobility drill fits")  # fmt: skip
            suggest = [d for d in recommended if d not in prescribed]
            if recommended and not suggest:
                reasons.append("the recommended mobility drills are already prescribed")
            elif screening is not None and not recommended:
                reasons.append("the assessment recommended no mobility drill; consider repeating it")
            for d in suggest:
                reasons.append(f"suggest {DRILLS[d].title}: recommended by the assessment ({screening.recommendation(d).reason})"
                               if screening is not None else DRILLS[d].title)  # fmt: skip
        return MobilityCheck(self.weeks, since, due_on, due, tuple(problems), tuple(suggest), tuple(reasons))
