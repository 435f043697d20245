"""Compensation per rep: lumbar rounding, butt wink, lumbar extension — magnitude and onset.

Definitions (issue 4; the simulator's truth uses the same):
  knee_raise     posterior pelvic tilt change from the rep's start: tilt(start) − min tilt in the rep
  hip_extension  anterior tilt change from the rep's start: max tilt in the rep − tilt(start)
  deep_squat     butt wink: largest anterior tilt during the descent minus the tilt at depth (hip peak)
A rep is compensated when the magnitude ≥ ``threshold_deg`` (default 10°, per patient).

Onset: the |hip flexion| where the compensatory tilt component begins. Normal lumbopelvic rhythm is
roughly proportional to hip flexion; the compensation adds a component that starts at some hip angle.
A hinge (piecewise-linear) fit of the tilt change in the compensation direction against |hip| over
the rise — y = a·x + b·max(0, x − x₀) + c, b ≥ 0 — gives a first x₀; the rhythm line fitted below
x₀ is then extended and the onset is where the excess over it first exceeds 0.4° (walking back from
the peak). Reported only for compensated reps (null otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.conventions import (
    DEFAULT_COMPENSATION_THRESHOLD_DEG,
    DRILL_MOTION,
    Exercise,
    check_exercise,
)


@dataclass(frozen=True, slots=True)
class CompensationResult:
    compensation_deg: float
    compensated: bool
    onset_hip_deg: float | None
    tilt_change_deg: float  # signed tilt change start → peak (+ anterior)


def excess_onset(x: np.ndarray, y: np.ndarray, *, level_deg: float = 0.4) -> float:
    """Onset refined: fit the normal rhythm (a line) below the hinge breakpoint, then walk back from
    the peak to where the excess over that line falls below ``level_deg`` — a smooth compensation
    ramp starts flat, so the hinge breakpoint alone lands late."""
    x0 = hinge_onset(x, y)
    if not np.isfinite(x0):
        return x0
    for _ in range(3):  # refit the rhythm below the current onset estimate
        early = x <= x0
        if early.sum() < 4:
            break
        a, c = _line_fit(x[early], y[early])
        excess = y - (a * x + c)
        # walk back from the peak while the excess stays above the level
        at_or_below = np.flatnonzero(excess <= level_deg)
        k = int(at_or_below[-1]) if len(at_or_below) else 0
        if float(x[k]) == x0:  # converged: a refit would give the same line
            break
        x0 = float(x[k])
    return x0


def _line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares line y ≈ a·x + c (closed form; np.polyfit's answer without its overhead)."""
    xm, ym = float(x.mean()), float(y.mean())
    dx = x - xm
    sxx = float(dx @ dx)
    a = float(dx @ (y - ym)) / sxx if sxx > 0 else 0.0
    return a, ym - a * xm


def hinge_onset(x: np.ndarray, y: np.ndarray, *, n_grid: int = 40) -> float:
    """Breakpoint x₀ of y ≈ a·x + b·max(0, x − x₀) + c (b ≥ 0), by grid search over x₀."""
    lo, hi = float(np.min(x)), float(np.max(x))
    if hi - lo < 4.0 or len(x) < 8:
        return float("nan")
    x0s = np.linspace(lo + 0.05 * (hi - lo), hi - 0.05 * (hi - lo), n_grid)
    # all candidate breakpoints at once: the 3×3 normal equations of y ≈ a·x + b·h + c, h = max(0, x − x₀),
    # from sums over one (n_grid, n) hinge matrix, solved in closed form (symmetric adjugate; a tiny
    # ridge keeps a degenerate hinge finite) — this runs for every compensated rep
    h = x[None, :] - x0s[:, None]
    np.maximum(h, 0.0, out=h)
    eps = 1e-9
    a11, a13, a33 = float(x @ x) + eps, float(x.sum()), float(len(x)) + eps
    r1, r3, syy = float(x @ y), float(y.sum()), float(y @ y)
    a12, a23, a22, r2 = h @ x, h.sum(1), np.einsum("ij,ij->i", h, h) + eps, h @ y
    c11, c12, c13 = a22 * a33 - a23 * a23, a13 * a23 - a12 * a33, a12 * a23 - a22 * a13
    c22, c23, c33 = a11 * a33 - a13 * a13, a12 * a13 - a11 * a23, a11 * a22 - a12 * a12
    det = a11 * c11 + a12 * c12 + a13 * c13
    with np.errstate(divide="ignore", invalid="ignore"):
        ca = (c11 * r1 + c12 * r2 + c13 * r3) / det
        cb = (c12 * r1 + c22 * r2 + c23 * r3) / det
        cc = (c13 * r1 + c23 * r2 + c33 * r3) / det
    sse = syy - (ca * r1 + cb * r2 + cc * r3)  # the least-squares residual, from the normal equations
    sse[~(cb > 0)] = np.inf
    k = int(np.argmin(sse))
    return float(x0s[k]) if np.isfinite(sse[k]) else float("nan")


class CompensationDetector:
    """Measure one rep's compensation from its hip and tilt samples (shared by live and offline).

    Parameters
    ----------
    exercise
        knee_raise, hip_extension or deep_squat.
    threshold_deg
        Magnitude at or above which a rep counts as compensated. Default 10°.
    """

    def __init__(self, exercise: Exercise, *, threshold_deg: float = DEFAULT_COMPENSATION_THRESHOLD_DEG) -> None:
        self.exercise = check_exercise(exercise)
        if not (np.isfinite(threshold_deg) and threshold_deg > 0):
            raise ValueError(f"threshold_deg must be a positive number of degrees, got {threshold_deg!r}")
        self.threshold_deg = float(threshold_deg)
        self.direction = float(DRILL_MOTION[exercise].compensation_sign)
        self.at_depth = DRILL_MOTION[exercise].compensation_measure == "at_depth"

    def measure(self, hip_deg: np.ndarray, tilt_deg: np.ndarray, i_peak: int) -> CompensationResult:
        """``hip_deg``/``tilt_deg`` cover the rep from its start (index 0) to its end."""
        if len(hip_deg) == 0:
            raise ValueError("empty rep")
        t0 = tilt_deg[0]
        d = self.direction
        if self.at_depth:  # the reversal at depth: against the direction on the way down, then back
            mag = d * float(tilt_deg[i_peak]) - float(np.min(d * tilt_deg[: i_peak + 1]))
        else:  # the largest change in the compensation direction from the rep's start
            mag = float(np.max(d * (tilt_deg - t0)))
        mag = max(mag, 0.0)
        compensated = mag >= self.threshold_deg
        onset = None
        if compensated:
            step = max(1, (i_peak + 1) // 150)  # ≤ 150 points are plenty for a 1-D breakpoint
            x = np.abs(hip_deg[: i_peak + 1 : step])
            y = self.direction * (tilt_deg[: i_peak + 1 : step] - t0)
            x0 = excess_onset(x, y)
            if np.isfinite(x0):
                onset = float(np.sign(hip_deg[i_peak]) * x0)
        return CompensationResult(
            compensation_deg=float(mag),
            compensated=bool(compensated),
            onset_hip_deg=onset,
            tilt_change_deg=float(tilt_deg[i_peak] - t0),
        )
