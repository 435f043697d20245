"""The live path: the engine (tracker/engine.py) in its live mode, sample by sample.

``LiveTracker`` keeps the interface the recorder and the dashboard use (``update``, ``update_batch``,
``calibration_state``, ``hip_flexion_deg``, ``reps`` …); everything it computes is the engine's:
online VQF and causal angles for what is shown while the patient moves, and for every rep the same
acausal stages as the offline analysis, run on a window of the raw samples once the rep has ended.

Calibration states:
  "calibrating"  waiting for a quiet stand of ≥ 2 s (at any time — before the first rep, between sets);
                 ``waiting_reason`` says what was seen instead. Reps done before it are reported once it
                 has calibrated.
  "ready"        angles and reps stream. At each of the first ``refine_reps`` reps the axes, the joint
                 centre and the relative heading are re-identified on everything recorded so far and the
                 reps re-derived. Swapped / never-moving sensors are detected then (→ "error").
  "error"        the message says which sensor and what is wrong; nothing more is emitted.
"""

from __future__ import annotations

from typing import Any

from tracker.engine import Engine, EngineParams, LiveEvent, feed_session
from tracker.timebase import GapPolicy


class LiveTracker(Engine):
    """Live hip flexion, pelvic tilt, reps and compensation from two streaming IMUs.

    Parameters
    ----------
    exercise, side
        The drill and the exercised leg.
    threshold_deg
        Compensation threshold (default 10°).
    rate_hz, refine_reps, partial_fraction, set_gap_s, tau_acc_s
        As ``EngineParams``.
    calibrator, rep_detector, heading
        Keyword arguments of Calibrator / RepDetector / RelativeHeading.
    gaps
        The gap policy (tracker/timebase.py).
    """

    def __init__(
        self,
        exercise: str,
        side: str,
        *,
        threshold_deg: float = 10.0,
        rate_hz: float = 100.0,
        refine_reps: int = 3,
        partial_fraction: float = 0.6,
        set_gap_s: float = 12.0,
        tau_acc_s: float = 3.0,
        calibrator: dict[str, Any] | None = None,
        rep_detector: dict[str, Any] | None = None,
        heading: dict[str, Any] | None = None,
        gaps: GapPolicy | None = None,
    ) -> None:
        params = EngineParams(
            rate_hz=rate_hz, refine_reps=refine_reps, partial_fraction=partial_fraction, set_gap_s=set_gap_s,
            tau_acc_s=tau_acc_s, calibrator=dict(calibrator or {}), rep_detector=dict(rep_detector or {}),
            heading=dict(heading or {}), gaps=gaps or GapPolicy(),
        )
        super().__init__(exercise, side, mode="live", threshold_deg=threshold_deg, params=params)


__all__ = ["LiveEvent", "LiveTracker", "feed_session"]
