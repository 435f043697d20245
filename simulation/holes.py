"""Data holes: where a recording has no samples, as real links and recorders leave them.

A ``Dropout`` is one planned hole, written ``WHERE[@REP]:SENSORS:SECONDS``:

  stand:both:0.04          one lost 40 ms packet somewhere in the calibration stand
  between_reps@all:both:1  the recorder paused for 1 s between every two reps
  peak@3:thigh:1.5         the thigh sensor's link dropped for 1.5 s around rep 3's peak
  rise:pelvis:0.5          0.5 s of pelvis data missing on the rise of a rep drawn from the seed
  12.5:both:2              both sensors silent from t = 12.5 s for 2 s

WHERE is ``stand`` (inside the calibration stand), ``between_reps`` (centred in the rest after rep
REP), ``rise`` / ``peak`` / ``lower`` (centred on that phase of rep REP) or a start time in seconds.
REP is 1-based or ``all``; without it one rep is drawn from the seed. SENSORS is ``both``, ``thigh``
or ``pelvis``. Random packet loss and bursts are ``SimulationConfig.packet_loss`` /
``packet_loss_burst_samples``; ``HOLE_SCENARIOS`` names the matrix of cases issue 14 asks for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

PHASES = ("rise", "peak", "lower")
WHERES = ("stand", "between_reps", *PHASES)
HOLE_SENSORS = ("both", "thigh", "pelvis")
MAX_DROPOUT_S = 60.0

#: Named gap / loss cases (SimulationConfig overrides): the seeded matrix the processing core must
#: pass with exact counts (issue 14, items 2 and 3). Combine with any drill, side and seed. Holes
#: "between reps" come with rests long enough to hold them (the truth flags any rep a hole cuts).
_ROOMY = 2.5  # rest_between_reps_s that leaves >= 2.5 s between one rep's end and the next one's start
HOLE_SCENARIOS: dict[str, dict[str, Any]] = {
    "pause_between_every_rep": {"dropouts": ("between_reps@all:both:1.0",)},
    # reps back to back, a 0.8 s pause after each: the holes take the end of one rep and the start
    # of the next (Truth.reps[i].cut_by_gap)
    "back_to_back_reps_paused": {"dropouts": ("between_reps@all:both:0.8",), "rest_between_reps_s": 0.2},
    "2s_between_reps_both": {"dropouts": ("between_reps:both:2.0",), "rest_between_reps_s": _ROOMY},
    "2s_between_reps_thigh": {"dropouts": ("between_reps:thigh:2.0",), "rest_between_reps_s": _ROOMY},
    "2s_between_reps_pelvis": {"dropouts": ("between_reps:pelvis:2.0",), "rest_between_reps_s": _ROOMY},
    "1s_at_peak_both": {"dropouts": ("peak:both:1.0",)},
    "1s_on_rise_thigh": {"dropouts": ("rise:thigh:1.0",)},
    "2s_on_lowering_pelvis": {"dropouts": ("lower:pelvis:2.0",)},
    "lost_packet_in_stand": {"dropouts": ("stand:both:0.04",)},
    "1s_in_stand_thigh": {"dropouts": ("stand:thigh:1.0",)},
    "loss_1pct": {"packet_loss": 0.01, "packet_loss_burst_samples": 1.0, "packet_loss_in_stand": True},
    "loss_5pct": {"packet_loss": 0.05, "packet_loss_burst_samples": 1.0, "packet_loss_in_stand": True},
    "bursts_5pct": {"packet_loss": 0.05, "packet_loss_burst_samples": 10.0, "packet_loss_in_stand": True},
    "5s_between_reps_both": {"dropouts": ("between_reps:both:5.0",), "rest_between_reps_s": 6.0},
    "calibration_between_sets": {"calibration_stand": "between_sets", "stand_s": 0.5, "sets": 2},
    "calibration_at_end": {"calibration_stand": "end", "stand_s": 0.5, "end_stand_s": 3.0},
}


class DropoutError(ValueError):
    """A dropout spec that cannot be read or placed; the message names the spec and the fix."""


@dataclass(frozen=True, slots=True)
class Dropout:
    """One planned hole (see the module docstring for the text form)."""

    where: str  # one of WHERES, or "at" (start_s given)
    sensors: str  # both | thigh | pelvis
    duration_s: float
    rep: int | None = None  # 1-based; None = drawn from the seed
    every_rep: bool = False
    start_s: float | None = None  # where == "at"

    @classmethod
    def parse(cls, text: str) -> Dropout:
        parts = str(text).strip().split(":")
        if len(parts) != 3:
            raise DropoutError(f"{text!r}: expected WHERE[@REP]:SENSORS:SECONDS, e.g. 'peak@3:both:1.0'")
        place, sensors, seconds = (p.strip() for p in parts)
        try:
            duration = float(seconds)
        except ValueError:
            raise DropoutError(f"{text!r}: duration {seconds!r} is not a number of seconds") from None
        where, _, rep_text = place.partition("@")
        rep: int | None = None
        every = False
        if rep_text:
            if rep_text == "all":
                every = True
            else:
                try:
                    rep = int(rep_text)
                except ValueError:
                    raise DropoutError(f"{text!r}: rep {rep_text!r} is not a rep number or 'all'") from None
        start: float | None = None
        if where not in WHERES:
            try:
                start = float(where)
            except ValueError:
                raise DropoutError(
                    f"{text!r}: place {where!r} is not one of {', '.join(WHERES)} or a start time in s"
                ) from None
            where = "at"
        out = cls(where=where, sensors=sensors, duration_s=duration, rep=rep, every_rep=every, start_s=start)
        out.check(None)
        return out

    def __str__(self) -> str:
        place = f"{self.start_s:g}" if self.where == "at" else self.where
        if self.every_rep:
            place += "@all"
        elif self.rep is not None:
            place += f"@{self.rep}"
        return f"{place}:{self.sensors}:{self.duration_s:g}"

    def check(self, n_reps: int | None) -> None:
        """Raise DropoutError unless this hole can be placed in a session of ``n_reps`` reps."""
        if self.sensors not in HOLE_SENSORS:
            raise DropoutError(f"{self}: sensors {self.sensors!r}: use {', '.join(HOLE_SENSORS)}")
        if not (math.isfinite(self.duration_s) and 0 < self.duration_s <= MAX_DROPOUT_S):
            raise DropoutError(f"{self}: duration {self.duration_s!r} s: use 0 < seconds <= {MAX_DROPOUT_S:g}")
        if self.where == "at":
            if self.start_s is None or not (math.isfinite(self.start_s) and self.start_s >= 0):
                raise DropoutError(f"{self}: start time {self.start_s!r}: use a time >= 0 s")
            if self.rep is not None or self.every_rep:
                raise DropoutError(f"{self}: a hole at a fixed time takes no rep number")
            return
        if self.where not in WHERES:
            raise DropoutError(f"{self}: place {self.where!r}: use {', '.join(WHERES)} or a start time")
        if self.where == "stand":
            if self.rep is not None or self.every_rep:
                raise DropoutError(f"{self}: a hole in the calibration stand takes no rep number")
            return
        if n_reps is None:
            return
        last = n_reps - 1 if self.where == "between_reps" else n_reps
        if last < 1:
            raise DropoutError(f"{self}: a hole between reps needs at least 2 reps")
        if self.rep is not None and not 1 <= self.rep <= last:
            raise DropoutError(f"{self}: rep {self.rep}: use 1..{last} ({n_reps} reps in the session)")


@dataclass(frozen=True, slots=True)
class PlannedHole:
    """A dropout placed on the session's true time line (one per dropout and rep, both sensors in one)."""

    spec: str
    sensors: str
    start_s: float
    end_s: float
    rep: int | None = None

    def covers(self, sensor: str) -> bool:
        return self.sensors in ("both", sensor)


@dataclass(frozen=True, slots=True)
class RepTimes:
    """What placing a hole needs to know of a planned rep."""

    index: int
    start_s: float
    up_s: float
    hold_s: float
    down_s: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.up_s + self.hold_s + self.down_s


def plan_holes(
    dropouts: tuple[Dropout, ...],
    reps: list[RepTimes],
    stand: tuple[float, float],
    rng: np.random.Generator,
) -> list[PlannedHole]:
    """Place each dropout on the time line (true session time)."""
    out: list[PlannedHole] = []
    n = len(reps)
    for d in dropouts:
        spec = str(d)
        if d.where == "at":
            assert d.start_s is not None
            out.append(PlannedHole(spec, d.sensors, d.start_s, d.start_s + d.duration_s))
            continue
        if d.where == "stand":
            a, b = stand
            margin = min(0.1, 0.25 * (b - a))
            lo, hi = a + margin, max(a + margin, b - margin - d.duration_s)
            start = float(rng.uniform(lo, hi))
            out.append(PlannedHole(spec, d.sensors, start, start + d.duration_s))
            continue
        last = n - 1 if d.where == "between_reps" else n
        if d.every_rep:
            chosen = list(range(1, last + 1))
        elif d.rep is not None:
            chosen = [d.rep]
        else:
            chosen = [int(rng.integers(1, last + 1))]
        for k in chosen:
            r = reps[k - 1]
            if d.where == "between_reps":
                centre = 0.5 * (r.end_s + reps[k].start_s)
            elif d.where == "rise":
                centre = r.start_s + 0.5 * r.up_s
            elif d.where == "peak":
                centre = r.start_s + r.up_s + 0.5 * r.hold_s
            else:
                centre = r.start_s + r.up_s + r.hold_s + 0.5 * r.down_s
            half = 0.5 * d.duration_s
            out.append(PlannedHole(spec, d.sensors, centre - half, centre + half, rep=k))
    return out
