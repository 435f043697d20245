"""Sensor sanity checks: does a set look like the sensors were worn as README "Wearing the sensors" says?

A sensor on the other leg, the two sensors swapped, a sensor upside down or angles no hip can make
give confident nonsense downstream (−108° "hip flexion", 2 of 6 reps counted, "placement good").
These pure functions look at what the live path and the offline analysis already compute and name
the problem in a patient's words (``message``) and in numbers for the therapist (``detail``). A set
with an issue is kept but marked, and left out of trends and the roster (store/sessions.py).

Rules (every limit is a ``SanityLimits`` parameter):
  wrong_leg         the thigh sensor is on the other leg than the set's: its +z points out of the
                    body, so the side it tips toward while the hip moves in the drill's direction
                    tells the leg (``ThighSide``, gravity only: no heading, no calibration needed;
                    the calibrator flags ``thigh_sensor_on_other_leg``, the live view runs the same
                    accumulator). Also when the hip moves mostly *against* the drill's direction far
                    beyond what a hip does that way (a flexion drill read as ≥ 35° of extension).
  impossible_angle  hip flexion beyond 150° or extension beyond 45°, or a pelvic tilt change beyond
                    ±70° from the standing pose: no hip does that, so a sensor has slipped or turned.
  swapped           the "pelvis" sensor swings more than the "thigh" sensor (pelvic tilt range larger
                    than the hip's range and ≥ 25°): the two sensors are on each other's places.
  upside_down       during the quiet stand gravity points along the sensor's −x axis.
Calibration errors of the processing core (upside-down, swapped, never moving) map onto the same
codes so the dashboard shows one kind of message whatever found the problem.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import ArrayLike

from tracker.conventions import DRILL_MOTION, GRAVITY_M_S2, check_exercise, check_sensor
from tracker.results import SessionAnalysis

IssueCode = Literal["wrong_leg", "swapped", "upside_down", "impossible_angle", "not_calibrated"]
ISSUE_CODES: Final[tuple[IssueCode, ...]] = ("wrong_leg", "swapped", "upside_down", "impossible_angle", "not_calibrated")

#: The patient's words for each problem (the dashboard prints these large, with the placement picture).
PLAIN: Final[dict[IssueCode, str]] = {
    "wrong_leg": "The thigh sensor seems to be on your other leg. Put it on the outside of the leg you exercise.",
    "swapped": "The two sensors seem to be swapped. The thigh sensor goes on your thigh, the other one on your lower back.",
    "upside_down": "A sensor is upside down. Turn it so the arrow points up, toward your head.",
    "impossible_angle": "The sensors show a movement no hip can make. A sensor may have slipped; check the straps.",
    "not_calibrated": "The sensors could not be checked. Stand still for 3 seconds at the start, then move.",
}


class SanityParameterError(ValueError):
    """A sanity limit outside its sensible range."""


@dataclass(frozen=True, slots=True)
class SensorIssue:
    """One problem with how the sensors are worn. ``message`` for the patient, ``detail`` for the therapist."""

    code: IssueCode
    message: str
    detail: str
    sensor: str | None = None  # "thigh" | "pelvis" | None (both / unknown)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail, "sensor": self.sensor}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SensorIssue:
        code = d.get("code")
        if code not in ISSUE_CODES:
            raise ValueError(f"sensor issue: unknown code {code!r}; expected one of {', '.join(ISSUE_CODES)}")
        return cls(code=code, message=str(d.get("message") or PLAIN[code]), detail=str(d.get("detail") or ""),
                   sensor=d.get("sensor"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class SanityLimits:
    """Where a reading stops being a hip: degrees, in the conventions of tracker/conventions.py.

    wrong_leg_min_deg: excursion against the drill's direction that counts as the wrong leg (35°;
        hip extension rarely passes 30°, and forward swings in an extension drill stay smaller).
    wrong_leg_ratio: ... and it must exceed the excursion in the drill's direction by this factor (1.5).
    max_flexion_deg / max_extension_deg: physiological hip range (150° flexion, 45° extension).
    max_tilt_deg: pelvic tilt change from the standing pose (70°: real deep squats with a forward
        lean tip the pelvis 45–48° — UI-PRMD subject 01's incorrect squats; a slipped sensor turns ~90°).
    swapped_min_tilt_range_deg / swapped_ratio: pelvic tilt range ≥ 25° and ≥ 1.3 × the hip's range.
    upside_down_cos: the stand's gravity direction has x component below this (−0.5: > 120° from +x).
    hold_s: how long a live reading must persist before it counts (0.3 s; one glitch is not an issue).
    """

    wrong_leg_min_deg: float = 35.0
    wrong_leg_ratio: float = 1.5
    max_flexion_deg: float = 150.0
    max_extension_deg: float = 45.0
    max_tilt_deg: float = 70.0
    swapped_min_tilt_range_deg: float = 25.0
    swapped_ratio: float = 1.3
    upside_down_cos: float = -0.5
    hold_s: float = 0.3

    def __post_init__(self) -> None:
        for name in ("wrong_leg_min_deg", "wrong_leg_ratio", "max_flexion_deg", "max_extension_deg",
                     "max_tilt_deg", "swapped_min_tilt_range_deg", "swapped_ratio"):  # fmt: skip
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise SanityParameterError(f"SanityLimits.{name}={v!r}; use a positive number")
        if not -1.0 <= self.upside_down_cos < 0.0:
            raise SanityParameterError(f"SanityLimits.upside_down_cos={self.upside_down_cos!r}; use a cosine in [-1, 0)")
        if not (math.isfinite(self.hold_s) and self.hold_s >= 0):
            raise SanityParameterError(f"SanityLimits.hold_s={self.hold_s!r}; use seconds >= 0")


DEFAULT_LIMITS: Final = SanityLimits()


def issue(code: IssueCode, detail: str, sensor: str | None = None) -> SensorIssue:
    return SensorIssue(code=code, message=PLAIN[code], detail=detail, sensor=sensor)


@dataclass(frozen=True, slots=True)
class AngleExtremes:
    """The few numbers the angle rules need: the hip's extremes in the drill's direction and against
    it, and the pelvic tilt's extremes (all degrees, tilt relative to the standing pose)."""

    forward_deg: float  # largest excursion in the drill's direction (≥ 0)
    backward_deg: float  # largest excursion against it (≥ 0)
    hip_min_deg: float
    hip_max_deg: float
    tilt_min_deg: float
    tilt_max_deg: float


def extremes(exercise: str, hip_deg: ArrayLike, tilt_deg: ArrayLike, *, percentile: float = 1.0) -> AngleExtremes | None:
    """Robust extremes (the ``percentile`` and 100 − ``percentile`` of the finite samples), or None
    when there are no finite samples."""
    direction = DRILL_MOTION[check_exercise(exercise)].direction
    hip = np.asarray(hip_deg, dtype=float)
    tilt = np.asarray(tilt_deg, dtype=float)
    hip, tilt = hip[np.isfinite(hip)], tilt[np.isfinite(tilt)]
    if hip.size == 0:
        return None
    lo, hi = (float(v) for v in np.percentile(hip, [percentile, 100 - percentile]))
    tlo, thi = (float(v) for v in np.percentile(tilt, [percentile, 100 - percentile])) if tilt.size else (0.0, 0.0)
    fwd, back = (hi, -lo) if direction > 0 else (-lo, hi)
    return AngleExtremes(max(0.0, fwd), max(0.0, back), lo, hi, tlo, thi)


def check_extremes(exercise: str, x: AngleExtremes, limits: SanityLimits = DEFAULT_LIMITS) -> tuple[SensorIssue, ...]:
    """The angle rules (wrong leg, impossible angle, swapped) on a set's extremes."""
    motion = DRILL_MOTION[check_exercise(exercise)]
    found: list[SensorIssue] = []
    against = "extension" if motion.direction > 0 else "flexion"
    if x.backward_deg >= limits.wrong_leg_min_deg and x.backward_deg >= limits.wrong_leg_ratio * x.forward_deg:
        found.append(issue(
            "wrong_leg",
            f"the hip moved {x.backward_deg:.0f}° into {against} but only {x.forward_deg:.0f}° in the drill's "
            f"direction (limits: ≥ {limits.wrong_leg_min_deg:.0f}° and ≥ {limits.wrong_leg_ratio:g}×): the thigh "
            "sensor is probably on the other leg, or the set was started for the other side",
            "thigh",
        ))  # fmt: skip
    else:
        if x.hip_max_deg > limits.max_flexion_deg or x.hip_min_deg < -limits.max_extension_deg:
            found.append(issue(
                "impossible_angle",
                f"hip angle ranged {x.hip_min_deg:.0f}° to {x.hip_max_deg:.0f}° (possible: "
                f"−{limits.max_extension_deg:.0f}° to {limits.max_flexion_deg:.0f}°)",
                "thigh",
            ))  # fmt: skip
    tilt_range = x.tilt_max_deg - x.tilt_min_deg
    hip_range = x.hip_max_deg - x.hip_min_deg
    if tilt_range >= limits.swapped_min_tilt_range_deg and tilt_range >= limits.swapped_ratio * hip_range:
        found.append(issue(
            "swapped",
            f"pelvic tilt ranged over {tilt_range:.0f}° against a hip range of {hip_range:.0f}° (swapped when the "
            f"tilt range is ≥ {limits.swapped_min_tilt_range_deg:.0f}° and ≥ {limits.swapped_ratio:g}× the hip's)",
        ))  # fmt: skip
    elif max(abs(x.tilt_min_deg), abs(x.tilt_max_deg)) > limits.max_tilt_deg:
        found.append(issue(
            "impossible_angle",
            f"pelvic tilt reached {x.tilt_min_deg:.0f}° to {x.tilt_max_deg:.0f}° from the standing pose "
            f"(possible: ±{limits.max_tilt_deg:.0f}°)",
            "pelvis",
        ))  # fmt: skip
    return tuple(found)


def check_angles(
    exercise: str, hip_deg: ArrayLike, tilt_deg: ArrayLike, limits: SanityLimits = DEFAULT_LIMITS
) -> tuple[SensorIssue, ...]:
    """The angle rules on a whole set's curves (robust 1st/99th percentiles)."""
    x = extremes(exercise, hip_deg, tilt_deg)
    return () if x is None else check_extremes(exercise, x, limits)


def check_stand(sensor: str, acc_mean_m_s2: ArrayLike, limits: SanityLimits = DEFAULT_LIMITS) -> SensorIssue | None:
    """Upside-down check on the mean accelerometer reading of a quiet stand (specific force points up)."""
    check_sensor(sensor)
    a = np.asarray(acc_mean_m_s2, dtype=float).reshape(3)
    norm = float(np.linalg.norm(a))
    if not math.isfinite(norm) or norm < 0.5 * GRAVITY_M_S2:
        return None  # not a stand: nothing to judge
    cos_x = float(a[0]) / norm
    if cos_x < limits.upside_down_cos:
        return issue(
            "upside_down",
            f"{sensor} sensor: during the stand gravity points {math.degrees(math.acos(max(-1.0, min(1.0, cos_x)))):.0f}° "
            "from its +x axis; +x must point up along the segment",
            sensor,
        )
    return None


def from_calibration_error(message: str) -> SensorIssue:
    """The processing core's calibration error (tracker.calibration.CalibrationError) as an issue."""
    text = message.lower()
    sensor = "thigh" if "thigh sensor" in text or text.startswith("thigh") else (
        "pelvis" if "pelvis sensor" in text or text.startswith("pelvis") else None)  # fmt: skip
    if "upside" in text:
        return issue("upside_down", message, sensor)
    if "swapped" in text:
        return issue("swapped", message)
    if "off the documented placement" in text or "misplac" in text:
        return issue("impossible_angle", message, sensor)
    return issue("not_calibrated", message, sensor)


def check_analysis(analysis: SessionAnalysis, limits: SanityLimits = DEFAULT_LIMITS) -> tuple[SensorIssue, ...]:
    """The angle rules on an analysed set (valid samples only)."""
    angles = analysis.angles
    if angles is None or len(angles) == 0 or "hip_flexion_deg" not in angles.columns:
        return ()
    valid = angles["valid"].to_numpy(dtype=bool) if "valid" in angles.columns else np.ones(len(angles), dtype=bool)
    hip = angles["hip_flexion_deg"].to_numpy(dtype=float)[valid]
    tilt = angles["pelvic_tilt_deg"].to_numpy(dtype=float)[valid] if "pelvic_tilt_deg" in angles.columns else np.array([])
    found = check_angles(analysis.exercise, hip, tilt, limits)
    other = "left" if analysis.side == "right" else "right"
    if OTHER_LEG_FLAG in analysis.calibration.flags and not any(i.code == "wrong_leg" for i in found):
        found = (*found, issue("wrong_leg", f"the thigh sensor is on the other leg ({other}), the set is for the "
                                            f"{analysis.side} leg (calibration: {OTHER_LEG_FLAG})", "thigh"))  # fmt: skip
    return found


#: The calibration flag the processing core sets when ``ThighSide`` contradicts the set's side.
OTHER_LEG_FLAG: Final = "thigh_sensor_on_other_leg"


@dataclass(slots=True)
class ThighSide:
    """Which leg the thigh sensor is on, from gravity alone.

    The sensor is worn with +x up the thigh and +z out of the body, i.e. lateral: +z points to the
    subject's right on the right leg and to the left on the left leg. When the hip moves in the
    drill's direction (flexion, or extension for hip extension) the thigh turns about the subject's
    right-pointing axis, so the stand's "up" seen from the sensor turns about −z on the right leg
    and +z on the left one. Each quasi-static sample tilted ≥ ``min_tilt_deg`` from the stand votes
    with the z share of that turn axis (−1…+1); the mean vote, signed by the drill's direction, is the
    side. A ±25° strap misplacement scales the votes by cos 25°, it does not flip them.
    ``update_batch`` (whole recording) and ``update`` (live) are one accumulator.
    """

    exercise: str
    min_tilt_deg: float = 10.0
    max_dynamic_m_s2: float = 1.5
    min_votes: int = 50
    min_agreement: float = 0.5
    up0_: np.ndarray | None = None
    vote_sum_: float = 0.0
    votes_: int = 0

    def __post_init__(self) -> None:
        check_exercise(self.exercise)

    def stand(self, acc_mean_m_s2: ArrayLike) -> None:
        """The standing pose's specific force (sensor frame): the reference "up"."""
        a = np.asarray(acc_mean_m_s2, dtype=float).reshape(3)
        n = float(np.linalg.norm(a))
        if math.isfinite(n) and n > 0.5 * GRAVITY_M_S2:
            self.up0_ = a / n

    def update_batch(self, acc_m_s2: ArrayLike) -> None:
        if self.up0_ is None:
            return
        acc = np.asarray(acc_m_s2, dtype=float).reshape(-1, 3)
        norm = np.linalg.norm(acc, axis=1)
        quiet = np.isfinite(norm) & (np.abs(norm - GRAVITY_M_S2) < self.max_dynamic_m_s2)
        u = acc[quiet] / norm[quiet, None]
        turn = np.cross(self.up0_, u)  # ∝ −(rotation axis) · sin(tilt), sensor frame
        sin_tilt = np.linalg.norm(turn, axis=1)
        tilted = sin_tilt > math.sin(math.radians(self.min_tilt_deg))
        self.vote_sum_ += float((-turn[tilted, 2] / sin_tilt[tilted]).sum())
        self.votes_ += int(tilted.sum())

    def update(self, acc_m_s2: ArrayLike) -> None:
        self.update_batch(np.asarray(acc_m_s2, dtype=float).reshape(1, 3))

    @property
    def agreement(self) -> float:
        """Mean vote in the drill's direction: +1 right leg, −1 left leg, NaN before enough votes."""
        if self.votes_ < self.min_votes:
            return float("nan")
        return DRILL_MOTION[self.exercise].direction * self.vote_sum_ / self.votes_

    @property
    def side_(self) -> str | None:
        """"right", "left", or None while the evidence is too thin or mixed."""
        a = self.agreement
        if not math.isfinite(a) or abs(a) < self.min_agreement:
            return None
        return "right" if a > 0 else "left"

    def check(self, side: str) -> SensorIssue | None:
        """The wrong_leg issue when the sensor is on the other leg than ``side``."""
        found = self.side_
        if found is None or found == side:
            return None
        return issue("wrong_leg", wrong_leg_detail(found, side, self.agreement), "thigh")


def wrong_leg_detail(found: str, side: str, agreement: float) -> str:
    return (f"the thigh sensor tips toward the {found} side as the hip moves (agreement {abs(agreement):.2f}): "
            f"it is on the other leg ({found}), the set is for the {side} leg")


def unique(issues: Iterable[SensorIssue]) -> tuple[SensorIssue, ...]:
    """One issue per (code, sensor), first one kept."""
    seen: dict[tuple[str, str | None], SensorIssue] = {}
    for i in issues:
        seen.setdefault((i.code, i.sensor), i)
    return tuple(seen.values())


@dataclass(slots=True)
class SanityMonitor:
    """The angle rules while a set runs: ``update(t_s, hip, tilt)`` per live sample. A condition must
    persist for ``limits.hold_s`` (one glitch is not an issue); ``issues_`` is latched — a set that
    was wrong stays marked. Each sample is judged against the running extremes of the set so far."""

    exercise: str
    limits: SanityLimits = DEFAULT_LIMITS
    issues_: tuple[SensorIssue, ...] = ()
    _forward_max: float = field(default=0.0, repr=False)
    _hip: list[float] = field(default_factory=lambda: [math.inf, -math.inf], repr=False)
    _tilt: list[float] = field(default_factory=lambda: [math.inf, -math.inf], repr=False)
    _since: dict[str, float] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        check_exercise(self.exercise)

    def add(self, found: Sequence[SensorIssue]) -> None:
        self.issues_ = unique((*self.issues_, *found))

    def update(self, t_s: float, hip_deg: float, tilt_deg: float) -> tuple[SensorIssue, ...]:
        if not (math.isfinite(hip_deg) and math.isfinite(tilt_deg)):
            return self.issues_
        s = DRILL_MOTION[self.exercise].direction * hip_deg
        self._forward_max = max(self._forward_max, s)
        self._hip = [min(self._hip[0], hip_deg), max(self._hip[1], hip_deg)]
        self._tilt = [min(self._tilt[0], tilt_deg), max(self._tilt[1], tilt_deg)]
        now_sample = AngleExtremes(self._forward_max, max(0.0, -s), hip_deg, hip_deg, tilt_deg, tilt_deg)
        running = AngleExtremes(self._forward_max, 0.0, *self._hip, *self._tilt)
        found: dict[str, SensorIssue] = {
            i.code: i for i in check_extremes(self.exercise, now_sample, self.limits) if i.code != "swapped"
        }
        for i in check_extremes(self.exercise, running, self.limits):
            if i.code == "swapped":
                found[i.code] = i
        for code in list(self._since):
            if code not in found:
                del self._since[code]
        for code, found_issue in found.items():
            start = self._since.setdefault(code, t_s)
            if t_s - start >= self.limits.hold_s:
                self.add([found_issue])
        return self.issues_
