"""Sensor clock → session clock: an online offset + drift fit on the lower envelope of arrival times.

BLE only ever *adds* delay between the moment a sensor stamps a sample and the moment the host
receives it, so the points ``y = host_s − sensor_s`` lie on or above the line
``offset + drift · sensor_s`` (+ the fixed minimal latency). The best line is the lower convex hull's
edge under the mean sensor time (the linear-programming clock-skew estimator of Moon, Skelly &
Towsley, INFOCOM 1999): it ignores every delayed packet, however late, and needs no tuning.

Points arrive in increasing sensor time, so the lower hull is kept incrementally (Andrew's monotone
chain), O(1) amortised per sample. A sensor reboot resets its clock: the aligner starts a new
segment with its own fit, carrying the drift over (it is a property of the crystal, not of the
boot). The same fit runs online (`ClockAligner.update`) and offline over a whole recording
(`align_offline`), so live and stored times come from one algorithm.

Times never go backwards within a sensor: a mapped time that would fall at or before the previous
one (a fit update between two samples) is nudged to just after it and counted; samples are never
reordered, dropped or invented.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: A crystal outside ±500 ppm is broken, not drifting; the estimate is clamped to this.
MAX_DRIFT_PPM = 500.0
#: Smallest step enforced between consecutive mapped times of one sensor, seconds.
MIN_STEP_S = 1e-6
#: A sensor clock that jumps back by more than this (after unwrapping) is a reset, µs.
RESET_BACKWARD_US = 1_000
#: A sample whose implied delay is this far *below* the fit (impossible: BLE cannot deliver early)
#: means the sensor clock jumped forward — also a new segment, seconds.
RESET_EARLY_S = 0.5


@dataclass(frozen=True, slots=True)
class ClockFit:
    """host_s ≈ sensor0_s_host + (1 + drift) · (sensor_us − sensor0_us) / 1e6 for one segment."""

    segment: int
    sensor0_us: int
    offset_s: float  # host time (session clock) at sensor0_us, on the lower envelope
    drift: float  # dimensionless; 100 ppm = 1e-4
    span_s: float  # sensor-time span the fit has seen

    def map(self, sensor_us: int | float) -> float:
        x = (sensor_us - self.sensor0_us) * 1e-6
        return self.offset_s + (1.0 + self.drift) * x

    @property
    def drift_ppm(self) -> float:
        return self.drift * 1e6


@dataclass(slots=True)
class _Segment:
    index: int
    sensor0_us: int
    hull_x: list[float] = field(default_factory=list)
    hull_y: list[float] = field(default_factory=list)
    sum_x: float = 0.0
    n: int = 0
    last_x: float = -math.inf
    min_y: float = math.inf  # min of y - drift*x for the carried-over drift fallback

    def add(self, x: float, y: float) -> None:
        """Append a point to the lower hull (x non-decreasing)."""
        hx, hy = self.hull_x, self.hull_y
        if hx and x == hx[-1]:
            if y >= hy[-1]:
                self._count(x)
                return
            hx.pop()
            hy.pop()
        while len(hx) >= 2:
            # Pop the last point while it lies on or above the chord from hull[-2] to the new point.
            x1, y1, x2, y2 = hx[-2], hy[-2], hx[-1], hy[-1]
            if (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1) <= 0.0:
                hx.pop()
                hy.pop()
            else:
                break
        hx.append(x)
        hy.append(y)
        self._count(x)

    def _count(self, x: float) -> None:
        self.sum_x += x
        self.n += 1
        self.last_x = x

    def line(self, carried_drift: float) -> tuple[float, float]:
        """(intercept, slope) of y = c + d·x: the hull edge under the mean x, slope clamped."""
        hx, hy = self.hull_x, self.hull_y
        max_d = MAX_DRIFT_PPM * 1e-6
        if len(hx) >= 2 and hx[-1] - hx[0] >= 1.0:
            mean_x = self.sum_x / self.n
            # hull x are increasing; find edge i..i+1 with hx[i] <= mean_x <= hx[i+1]
            lo, hi = 0, len(hx) - 1
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if hx[mid] <= mean_x:
                    lo = mid
                else:
                    hi = mid
            d = (hy[hi] - hy[lo]) / (hx[hi] - hx[lo])
            if -max_d <= d <= max_d:
                return hy[lo] - d * hx[lo], d
            d = max(-max_d, min(max_d, d))
        else:
            d = carried_drift
        # Line of slope d under all hull points (the hull holds every lower-envelope candidate).
        c = min(y - d * x for x, y in zip(hx, hy))
        return c, d


class ClockAligner:
    """Online map of one sensor's µs clock onto the session clock (seconds since set start).

    Feed every sample in arrival order with its unwrapped sensor time and the host time (session
    clock, seconds) of the notification that carried it. ``reset=True`` starts a new segment
    (the decoder saw a reboot); backward clock jumps and impossible early arrivals do so too.
    """

    def __init__(self, sensor: str, *, initial_drift_ppm: float = 0.0) -> None:
        self.sensor = sensor
        self._drift = initial_drift_ppm * 1e-6
        self._seg: _Segment | None = None
        self._segments = 0
        self._last_t = -math.inf
        self._last_us: int | None = None
        self._fit: ClockFit | None = None
        self.nudged = 0  #: mapped times moved forward to keep the sensor's times increasing
        self.resets = 0  #: new segments after the first

    @property
    def fit(self) -> ClockFit | None:
        return self._fit

    @property
    def segment(self) -> int:
        return max(self._segments - 1, 0)

    def update(self, sensor_us: int, host_s: float, *, reset: bool = False) -> float:
        """Add one sample; return its session time (s), strictly after the previous one."""
        seg = self._seg
        if seg is not None and not reset and self._last_us is not None:  # noqa: SIM102 - the reset tests read apart
            if sensor_us < self._last_us - RESET_BACKWARD_US or self._fit is not None and host_s < self._fit.map(sensor_us) - RESET_EARLY_S:
                reset = True
        if seg is None or reset:
            if seg is not None:
                self.resets += 1
                if self._fit is not None and self._fit.span_s >= 10.0:
                    self._drift = self._fit.drift
            seg = self._seg = _Segment(index=self._segments, sensor0_us=int(sensor_us))
            self._segments += 1
        x = (sensor_us - seg.sensor0_us) * 1e-6
        if x < seg.last_x:  # small backward jitter within tolerance: keep order, don't fit it
            x = seg.last_x
        else:
            seg.add(x, host_s - x)
        c, d = seg.line(self._drift)
        self._fit = ClockFit(seg.index, seg.sensor0_us, c, d, seg.last_x)
        self._last_us = int(sensor_us)
        t = c + (1.0 + d) * x
        if t <= self._last_t:
            t = self._last_t + MIN_STEP_S
            self.nudged += 1
        self._last_t = t
        return t


def align_offline(
    sensor_us: np.ndarray, host_s: np.ndarray, segment: np.ndarray, *, initial_drift_ppm: float = 0.0
) -> tuple[np.ndarray, list[ClockFit]]:
    """Batch twin of `ClockAligner`: one fit per segment over all its samples.

    ``segment`` holds the segment index the online aligner assigned to each sample (the journal
    keeps it), so the offline pass splits exactly where the live one did.
    Returns session times (strictly increasing) and the fits.
    """
    sensor_us = np.asarray(sensor_us, dtype=np.int64)
    host_s = np.asarray(host_s, dtype=np.float64)
    segment = np.asarray(segment)
    n = len(sensor_us)
    if not (len(host_s) == n and len(segment) == n):
        raise ValueError("sensor_us, host_s and segment must have the same length")
    t = np.empty(n)
    fits: list[ClockFit] = []
    drift = initial_drift_ppm * 1e-6
    if n == 0:
        return t, fits
    bounds = np.flatnonzero(np.diff(segment) != 0) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [n]))
    for s, e in zip(starts, ends):
        us = sensor_us[s:e]
        x = (us - us[0]) * 1e-6
        x = np.maximum.accumulate(x)
        seg = _Segment(index=int(segment[s]), sensor0_us=int(us[0]))
        for xi, yi in zip(x.tolist(), (host_s[s:e] - x).tolist()):
            seg.add(xi, yi)
        c, d = seg.line(drift)
        fit = ClockFit(seg.index, seg.sensor0_us, c, d, seg.last_x)
        fits.append(fit)
        if fit.span_s >= 10.0:
            drift = d
        t[s:e] = c + (1.0 + d) * x
    # strictly increasing per sensor, as online
    for i in range(1, n):
        if t[i] <= t[i - 1]:
            t[i] = t[i - 1] + MIN_STEP_S
    return t, fits
