"""The live view of a set: the processing core's live path on the stream, as a JSON-ready snapshot.

`LiveView` owns a `tracker.live.LiveTracker` and remembers what the dashboard needs between
polls: the latest angles, rep count, the last rep's metrics and recent compensation alerts.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from tracker.conventions import DRILL_MOTION, MIN_CALIBRATION_STAND_S
from tracker.live import LiveEvent, LiveTracker
from tracker.results import json_safe

#: How many recent alerts the snapshot carries.
ALERTS_KEEP = 20


def _num(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else json_safe(float(x), ndigits=nd)


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

    def update(self, sensor: str, t_s: float, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray) -> list[LiveEvent]:
        events = self.tracker.update(sensor, t_s, acc_m_s2, gyr_rad_s)
        self.last_t_s = t_s
        for e in events:
            self.events_seen += 1
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
        }

