"""The live view of a set: the processing core's live path on the stream, as a JSON-ready snapshot.

`LiveView` owns a `tracker.live.LiveTracker` and remembers what the dashboard needs between
polls: the latest angles, rep count, the last rep's metrics and recent compensation alerts — and,
for a patient watching a phone, what is happening *now* (`LiftWatch`): whether a lift is under way,
how far the pelvis has tilted in the compensation direction since the lift began against the
threshold (so the warning shows during the lift and clears on a clean rep), and how long the
current hold at the top has lasted. Sensor sanity checks (tracker/sanity.py) run on the same
stream: the stand's gravity direction, the angles as they come, and the core's calibration errors.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from tracker import sanity
from tracker.conventions import DRILL_MOTION, MIN_CALIBRATION_STAND_S
from tracker.live import LiveEvent, LiveTracker
from tracker.results import json_safe

#: How many recent alerts the snapshot carries.
ALERTS_KEEP = 20


def _num(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else json_safe(float(x), ndigits=nd)


#: The hold timer: within max(HOLD_BAND_MIN_DEG, HOLD_FRACTION × excursion) of the lift's peak (a slow sag
#: during a long hold stays in it) and slower than max(HOLD_MIN_SPEED_DEG_S, HOLD_SPEED_FRACTION × the lift's
#: top speed), speeds over SPEED_WINDOW_S (HISTORY_N grid rows kept for them); HOLD_EDGE_FRACTION: see LiftWatch.
HOLD_FRACTION = 0.15
HOLD_BAND_MIN_DEG = 3.0
HOLD_SPEED_FRACTION = 0.1
HOLD_MIN_SPEED_DEG_S = 3.0
SPEED_WINDOW_S = 0.1
HOLD_EDGE_FRACTION = 0.45
HISTORY_N = 32

#: Seconds of the stand over which each sensor's gravity direction is averaged for the upside-down check.
STAND_CHECK_S = 1.0


class LiftWatch:
    """What the lift in progress looks like, from the live hip angle and pelvic tilt (degrees).

    A lift starts when the hip leaves its resting level (an average taken while idle, time
    constant ``rest_tau_s``) by the drill's ``enter_deg`` (tracker.conventions.DRILL_MOTION) and
    ends when it comes back within max(3°, 10 % of the excursion) — the rep detector's own levels.
    During the lift, ``tilt_change_deg`` is the pelvic tilt change in the compensation direction:
    from the lift's start (knee raise, hip extension) or from the most upright tilt of the descent
    (deep squat, "at_depth"); ``compensating`` latches when it reaches ``threshold_deg`` and resets
    when the next lift starts, so a clean rep clears the warning. ``hold_s`` is how long the hip has
    been held at the top: near the lift's peak and nearly still (HOLD_* below), less the slow end of the
    lift that stillness still counts (HOLD_EDGE_FRACTION of the time from the lift's start to the hold's,
    calibrated on minimum-jerk simulated lifts: the timer's last value is within 0.3 s of the simulated
    hold, 0.6 s on the realistic simulator). Fed one grid row at a time, at the row's time.
    """

    def __init__(self, exercise: str, threshold_deg: float, *, rest_tau_s: float = 1.0) -> None:
        motion = DRILL_MOTION[exercise]
        self.direction = float(motion.direction)
        self.comp_sign = float(motion.compensation_sign)
        self.at_depth = motion.compensation_measure == "at_depth"
        self.enter_deg = float(motion.enter_deg)
        self.threshold_deg = float(threshold_deg)
        self.rest_tau_s = rest_tau_s
        self.lifting = False
        self.rest: float | None = None
        self.rest_tilt: float | None = None
        self.ref_tilt = 0.0
        self.peak = 0.0
        self.tilt_change_deg: float | None = None
        self.compensating = False
        self.hold_s: float | None = None
        self._hold_from: float | None = None
        self._top_speed = 0.0
        self._lift_t = 0.0
        self._edge_s = 0.0
        #: the last grid rows' (t, signal), for the speed over SPEED_WINDOW_S
        self._recent: deque[tuple[float, float]] = deque(maxlen=HISTORY_N)

    def update(self, t_s: float, hip_deg: float, tilt_deg: float) -> None:
        s = self.direction * hip_deg
        dt = t_s - self._recent[-1][0] if self._recent else 0.0
        if dt <= 0 and self._recent:
            return
        self._recent.append((t_s, s))
        # speed over the last SPEED_WINDOW_S (one row's step is noise over 10 ms)
        k = len(self._recent) - 1
        while k > 0 and t_s - self._recent[k][0] < SPEED_WINDOW_S:
            k -= 1
        t0, s0 = self._recent[k]
        speed = abs(s - s0) / (t_s - t0) if t_s > t0 else 0.0
        if self.rest is None or self.rest_tilt is None:
            self.rest, self.rest_tilt = s, tilt_deg
            return
        if not self.lifting:
            a = min(1.0, dt / self.rest_tau_s)
            self.rest += a * (s - self.rest)
            self.rest_tilt += a * (tilt_deg - self.rest_tilt)
            if s > self.rest + self.enter_deg:
                self.lifting, self.peak = True, s
                self._lift_t = t_s
                self.ref_tilt = self.rest_tilt
                self.compensating, self.tilt_change_deg, self._hold_from, self.hold_s = False, 0.0, None, None
                self._top_speed = speed
            return
        self.peak = max(self.peak, s)
        excursion = self.peak - self.rest
        descending = s >= self.peak - max(5.0, 0.15 * excursion)  # before / at depth, not on the way back
        if self.at_depth and descending:  # the most upright tilt so far (against the compensation direction)
            self.ref_tilt = max(self.ref_tilt, tilt_deg) if self.comp_sign < 0 else min(self.ref_tilt, tilt_deg)
        if descending or not self.at_depth:  # the reversal at depth is judged on the way down only
            change = self.comp_sign * (tilt_deg - self.ref_tilt)
            self.tilt_change_deg = change
            if change >= self.threshold_deg:
                self.compensating = True
        # holding: near the lift's peak and (nearly) still — slower than a tenth of the lift's own top speed,
        # so a slow sag during a long hold does not end it
        self._top_speed = max(self._top_speed, speed)
        near_top = (s >= self.peak - max(HOLD_BAND_MIN_DEG, HOLD_FRACTION * excursion)
                    and speed < max(HOLD_MIN_SPEED_DEG_S, HOLD_SPEED_FRACTION * self._top_speed))  # fmt: skip
        if near_top:
            if self._hold_from is None:
                self._hold_from = t_s
                self._edge_s = HOLD_EDGE_FRACTION * (t_s - self._lift_t)
            self.hold_s = max(0.0, t_s - self._hold_from - self._edge_s)
        else:
            self._hold_from = None
        if s < self.rest + max(3.0, 0.10 * excursion):
            self.lifting = False
            self.hold_s = None

    def rep_done(self, compensated: bool) -> None:
        """The core emitted a rep: its verdict stands until the next lift starts."""
        self.compensating = compensated
        self.lifting = False
        self.hold_s = None


class LiveView:
    """Feeds samples to the live tracker and keeps the latest state for `snapshot()`."""

    def __init__(self, exercise: str, side: str, *, threshold_deg: float, target_reps: int | None = None) -> None:
        self.tracker = LiveTracker(exercise, side, threshold_deg=threshold_deg)
        self.exercise = exercise
        self.side = side
        self.threshold_deg = threshold_deg
        self.target_reps = target_reps
        self.alerts: deque[dict[str, Any]] = deque(maxlen=ALERTS_KEEP)
        self.events_seen = 0
        self.last_t_s: float | None = None
        self.lift = LiftWatch(exercise, threshold_deg)
        self.sanity = sanity.SanityMonitor(exercise)
        self.thigh_side = sanity.ThighSide(exercise)  # which leg the thigh sensor is on (gravity only)
        self._stand: dict[str, list[Any]] = {}  # sensor → [t0, n, acc sum]
        self._angle_t: float | None = None

    def _check_stand(self, sensor: str, t_s: float, acc_m_s2: np.ndarray) -> None:
        t0, n, total = self._stand.setdefault(sensor, [t_s, 0, np.zeros(3)])
        if t_s - t0 <= STAND_CHECK_S:
            self._stand[sensor] = [t0, n + 1, total + np.asarray(acc_m_s2, dtype=float)]
        elif n > 0:
            found = sanity.check_stand(sensor, total / n)
            if found is not None:
                self.sanity.add([found])
            if sensor == "thigh":
                self.thigh_side.stand(total / n)
            self._stand[sensor] = [t0, 0, total]  # judged once
        elif sensor == "thigh":
            self.thigh_side.update(acc_m_s2)
            wrong = self.thigh_side.check(self.side)
            if wrong is not None:
                self.sanity.add([wrong])

    def update(self, sensor: str, t_s: float, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray) -> list[LiveEvent]:
        events = self.tracker.update(sensor, t_s, acc_m_s2, gyr_rad_s)
        self.last_t_s = t_s
        if sensor in ("thigh", "pelvis"):
            self._check_stand(sensor, t_s, acc_m_s2)
        hip, tilt, t_angles = self.tracker.hip_flexion_deg, self.tracker.pelvic_tilt_deg, self.tracker.angles_t_s
        # each grid row once, at its own time (the angles change per row, not with every sensor sample: a
        # speed from a sample's time stamp would be the row step over a fraction of a millisecond)
        if (self.tracker.calibration_state == "ready" and math.isfinite(hip) and math.isfinite(tilt)
                and math.isfinite(t_angles) and (self._angle_t is None or t_angles > self._angle_t)):  # fmt: skip
            self._angle_t = t_angles
            self.lift.update(t_angles, hip, tilt)
            self.sanity.update(t_angles, hip, tilt)
        for e in events:
            self.events_seen += 1
            if e.kind == "error":
                self.sanity.add([sanity.from_calibration_error(e.message)])
            if e.kind == "rep" and e.rep is not None:
                self.lift.rep_done(bool(e.rep.compensation))
            if e.kind == "rep" and e.rep is not None and e.rep.compensation:
                r = e.rep
                self.alerts.append(
                    {
                        "t_s": _num(e.t_s, 3),
                        "kind": "compensation",
                        "rep": r.index,
                        "compensation_deg": _num(r.compensation_deg),
                        "onset_hip_deg": _num(r.compensation_onset_hip_deg),
                        "message": DRILL_MOTION[self.exercise].compensation_plain,
                    }
                )
        return events

    @property
    def rep_count(self) -> int:
        return int(self.tracker.rep_count)

    def snapshot(self) -> dict[str, Any]:
        tr = self.tracker
        return {
            "t_s": _num(self.last_t_s, 3),
            "hip_flexion_deg": _num(tr.hip_flexion_deg),
            "pelvic_tilt_deg": _num(tr.pelvic_tilt_deg),
            "rep_count": self.rep_count,
            "target_reps": self.target_reps,
            "last_rep": json_safe(tr.last_rep, ndigits=3) if tr.last_rep is not None else None,
            "calibration": {
                "state": tr.calibration_state,
                "error": tr.error or None,
                "waiting": tr.waiting_reason or None,  # why no stand has calibrated yet
                "quality": tr.calibration.quality if tr.calibration is not None else None,
                # countdown for the guided quiet stand (the tracker needs MIN_CALIBRATION_STAND_S)
                "required_stand_s": MIN_CALIBRATION_STAND_S,
                "remaining_s": (
                    _num(max(0.0, MIN_CALIBRATION_STAND_S - (self.last_t_s or 0.0)), 1)
                    if tr.calibration_state == "calibrating"
                    else 0.0
                ),
            },
            "alerts": list(self.alerts),
            "threshold_deg": self.threshold_deg,
            # the lift in progress (LiftWatch): the warning during the lift, the hold timer
            "lifting": self.lift.lifting,
            "tilt_change_deg": _num(self.lift.tilt_change_deg) if self.lift.lifting else None,
            "compensating_now": self.lift.compensating,
            "hold_s": _num(self.lift.hold_s, 1),
            "sanity": [i.to_dict() for i in self.sanity.issues_],
        }

