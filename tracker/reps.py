"""Streaming rep detection — one state machine for the live and the offline path.

Signal: the hip angle in the drill's direction (flexion for knee_raise / deep_squat, extension for
hip_extension), through a short causal low-pass (2nd-order Butterworth, default 4 Hz, ≈ 55 ms delay),
the same filter live and offline, so both paths see identical samples and make identical decisions.

States: IDLE → ACTIVE when the signal exceeds the baseline (the running median over the
last ``baseline_window_s``, robust to fidgets in the other direction) by ``enter_deg``; the rep's start is the last sample before that still within
``start_level_deg`` of the baseline. ACTIVE → IDLE (rep emitted) when the signal falls back within
max(``end_level_deg``, ``end_fraction``·excursion) of the baseline. Hysteresis between enter and end
levels makes holds and wobble at the top harmless; reps shorter than ``min_rep_s`` (fidgets) or
longer than ``max_rep_s`` are discarded. Partial reps are labelled afterwards relative to the typical
peak (offline: the session median; live: the running median), never dropped.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy import signal
from scipy.ndimage import minimum_filter1d

from tracker.compensation import CompensationDetector, CompensationResult
from tracker.conventions import DRILL_MOTION, Exercise, check_exercise


@dataclass(frozen=True, slots=True)
class DetectedRep:
    """A rep as the detector saw it (before partial / set labelling)."""

    start_s: float
    peak_s: float
    end_s: float
    peak_hip_deg: float  # signed
    start_hip_deg: float
    baseline_deg: float  # in the drill's direction
    hold_s: float
    duration_s: float
    compensation: CompensationResult
    start_tilt_deg: float
    emitted_at_s: float


#: Fraction of the 10–90 % rise time a minimum-jerk movement spends within 4 % of its peak.
HOLD_EDGE_FACTOR = 0.344


def _crossing_span(t: np.ndarray, s: np.ndarray, lo: float, hi: float) -> float:
    """Time from the last crossing of ``lo`` to the first crossing of ``hi`` (rising series)."""
    above_hi = s >= hi
    j = int(np.argmax(above_hi))
    if not above_hi[j]:
        return 0.0
    below_lo = s[:j][::-1] <= lo
    r = int(np.argmax(below_lo)) if j else 0
    i = j - 1 - r if j and below_lo[r] else 0
    return abs(float(t[j] - t[i]))


class Biquad:
    """Causal 2nd-order section with state — per sample, identical to scipy.signal.sosfilt."""

    def __init__(self, sos: np.ndarray) -> None:
        self.b0, self.b1, self.b2, _, self.a1, self.a2 = (float(v) for v in sos[0])
        self.z1 = self.z2 = 0.0
        self.primed = False

    def step(self, x: float) -> float:
        if not self.primed:  # start at steady state on the first value
            self.primed = True
            g = (self.b0 + self.b1 + self.b2) / (1 + self.a1 + self.a2)
            y = g * x
            self.z1 = y - self.b0 * x
            self.z2 = self.b2 * x - self.a2 * y
        y = self.b0 * x + self.z1
        self.z1 = self.b1 * x - self.a1 * y + self.z2
        self.z2 = self.b2 * x - self.a2 * y
        return y


class RepDetector:
    """Hysteresis rep detector fed one sample at a time (``update``) or a whole session (``detect``).

    Parameters
    ----------
    exercise
        The drill; decides the direction (extension reps have negative peaks) and default levels.
    rate_hz
        Sample rate of the (uniform) input.
    threshold_deg
        Compensation threshold handed to :class:`CompensationDetector`. Default 10°.
    enter_deg
        Excursion above the baseline that starts a rep. Default per drill (``DRILL_MOTION[exercise].enter_deg``).
    start_level_deg / end_level_deg / end_fraction
        Start: last sample within 1° of the baseline; end: back within max(3°, 10 % of the excursion).
    baseline_window_s
        The baseline is the signal's running median over this window while idle. Default 3 s.
    min_rep_s / max_rep_s
        Accepted rep durations. Defaults 0.8 s and 60 s (long holds are fine).
    hold_fraction
        Hold = time the signal stays within this fraction of the excursion below the peak, minus the
        rise/fall edges (HOLD_EDGE_FACTOR, calibrated for 0.04 on minimum-jerk movements). 0.04.
    lowpass_hz
        Causal low-pass cut-off. Default 4 Hz.
    """

    def __init__(
        self,
        exercise: Exercise,
        *,
        rate_hz: float,
        threshold_deg: float = 10.0,
        enter_deg: float | None = None,
        start_level_deg: float = 1.0,
        end_level_deg: float = 3.0,
        end_fraction: float = 0.10,
        baseline_window_s: float = 3.0,
        min_rep_s: float = 0.8,
        max_rep_s: float = 60.0,
        hold_fraction: float = 0.04,
        lowpass_hz: float = 4.0,
    ) -> None:
        self.exercise = check_exercise(exercise)
        enter = DRILL_MOTION[exercise].enter_deg if enter_deg is None else enter_deg
        checks = {
            "rate_hz": rate_hz, "enter_deg": enter, "start_level_deg": start_level_deg,
            "end_level_deg": end_level_deg, "baseline_window_s": baseline_window_s,
            "min_rep_s": min_rep_s, "max_rep_s": max_rep_s, "lowpass_hz": lowpass_hz,
        }
        for name, v in checks.items():
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number, got {v!r}")
        if not 0 < end_fraction < 1:
            raise ValueError(f"end_fraction must be in (0, 1), got {end_fraction!r}")
        if not 0 < hold_fraction < 1:
            raise ValueError(f"hold_fraction must be in (0, 1), got {hold_fraction!r}")
        if end_level_deg >= enter:
            raise ValueError(f"end_level_deg ({end_level_deg}) must be below enter_deg ({enter}) for hysteresis")
        if lowpass_hz >= rate_hz / 2:
            raise ValueError(f"lowpass_hz ({lowpass_hz}) must be below half the rate ({rate_hz / 2} Hz)")
        if max_rep_s <= min_rep_s:
            raise ValueError(f"max_rep_s ({max_rep_s}) must exceed min_rep_s ({min_rep_s})")
        self.rate_hz = float(rate_hz)
        self.direction = float(DRILL_MOTION[exercise].direction)
        self.enter_deg = float(enter)
        self.start_level_deg = start_level_deg
        self.end_level_deg = end_level_deg
        self.end_fraction = end_fraction
        self.baseline_window_s = baseline_window_s
        self.min_rep_s = min_rep_s
        self.max_rep_s = max_rep_s
        self.hold_fraction = hold_fraction
        self.lowpass_hz = lowpass_hz
        self.compensation = CompensationDetector(exercise, threshold_deg=threshold_deg)
        self._sos = signal.butter(2, lowpass_hz, fs=rate_hz, output="sos")
        self.reset()

    # -- streaming ---------------------------------------------------------------------------
    def reset(self) -> None:
        self._f_hip = Biquad(self._sos)
        self._f_tilt = Biquad(self._sos)
        self.state = "idle"
        n = int(self.baseline_window_s * self.rate_hz) + 1
        self._hist: deque[tuple[float, float, float, float]] = deque(maxlen=n)  # t, s, hip, tilt
        self._sorted: list[float] = []  # the window's signal values, sorted (running median baseline)
        self._rep: list[tuple[float, float, float, float]] = []
        self._baseline = 0.0
        self._peak = -np.inf
        self.signal_deg = float("nan")  # last filtered signal in the drill direction (diagnostic)
        self.baseline_deg = float("nan")
        self.reps_: list[DetectedRep] = []

    def update(self, t_s: float, hip_deg: float, tilt_deg: float) -> DetectedRep | None:
        """Feed one valid sample; returns the rep that just ended, if any."""
        hip = self._f_hip.step(hip_deg)
        tilt = self._f_tilt.step(tilt_deg)
        s = self.direction * hip
        self.signal_deg = s
        if self.state == "idle":
            if len(self._hist) == self._hist.maxlen:
                del self._sorted[bisect_left(self._sorted, self._hist[0][1])]
            self._hist.append((t_s, s, hip, tilt))
            insort(self._sorted, s)
            b = self._sorted[len(self._sorted) // 2]
            self.baseline_deg = b
            if s > b + self.enter_deg:
                self._baseline = b
                start = 0
                for k in range(len(self._hist) - 1, -1, -1):
                    if self._hist[k][1] <= b + self.start_level_deg:
                        start = k
                        break
                self._rep = list(self._hist)[start:]
                self._peak = max(r[1] for r in self._rep)
                self.state = "active"
            return None
        # active
        self._rep.append((t_s, s, hip, tilt))
        if s > self._peak:
            self._peak = s
        b = self._baseline
        if t_s - self._rep[0][0] > self.max_rep_s:
            self._back_to_idle()
            return None
        if s <= b + max(self.end_level_deg, self.end_fraction * (self._peak - b)):
            rep = self._finish(t_s)
            self._back_to_idle()
            if rep is not None:
                self.reps_.append(rep)
            return rep
        return None

    def _back_to_idle(self) -> None:
        self.state = "idle"
        self._rep = []
        self._hist.clear()
        self._sorted.clear()
        self._peak = -np.inf

    def _finish(self, t_now: float) -> DetectedRep | None:
        arr = np.asarray(self._rep)
        return self._finish_arrays(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], self._baseline, t_now)

    def _finish_arrays(
        self, t: np.ndarray, s: np.ndarray, hip: np.ndarray, tilt: np.ndarray, baseline: float, t_now: float
    ) -> DetectedRep | None:
        duration = float(t[-1] - t[0])
        if duration < self.min_rep_s:
            return None
        ipk = int(np.argmax(s))
        excursion = s[ipk] - baseline
        near = s >= s[ipk] - max(0.5, self.hold_fraction * excursion)
        # Time near the peak also contains the slow end of the rise and start of the lowering; for a
        # smooth (minimum-jerk-like) movement that part is ≈ 0.344 × the 10–90 % rise/fall times
        # (for hold_fraction 0.04), so it is subtracted.
        lo, hi = baseline + 0.1 * excursion, baseline + 0.9 * excursion
        rise = _crossing_span(t[: ipk + 1], s[: ipk + 1], lo, hi)
        fall = _crossing_span(t[ipk:][::-1], s[ipk:][::-1], lo, hi)
        hold = max(0.0, float(near.sum() / self.rate_hz) - HOLD_EDGE_FACTOR * (rise + fall))
        comp = self.compensation.measure(hip, tilt, ipk)
        return DetectedRep(
            start_s=float(t[0]),
            peak_s=float(t[ipk]),
            end_s=float(t[-1]),
            peak_hip_deg=float(hip[ipk]),
            start_hip_deg=float(hip[0]),
            baseline_deg=float(baseline),
            hold_s=hold,
            duration_s=duration,
            compensation=comp,
            start_tilt_deg=float(tilt[0]),
            emitted_at_s=float(t_now),
        )

    # -- batch -------------------------------------------------------------------------------
    def detect(self, t_s: np.ndarray, hip_deg: np.ndarray, tilt_deg: np.ndarray, valid: np.ndarray) -> RepDetector:
        """Whole session: exactly the decisions of ``update`` fed every valid sample, vectorised.

        (VQF's ``updateBatch`` idea: the same filter and state machine; the batch version jumps from
        event to event — a rep can only start where the signal exceeds its window minimum by
        ``enter_deg`` — instead of stepping through every idle sample.) Input is not mutated.
        Afterwards the detector is in exactly the state ``update`` would have left it in, so a live
        caller can replay a buffer with ``detect`` and carry on sample by sample with ``update``.
        """
        self.reset()
        idx = np.flatnonzero(np.asarray(valid, dtype=bool))
        if len(idx) == 0:
            return self
        t = np.asarray(t_s, dtype=float)[idx]
        hip, zf_hip = _sosfilt_primed(self._sos, np.asarray(hip_deg, dtype=float)[idx])
        tilt, zf_tilt = _sosfilt_primed(self._sos, np.asarray(tilt_deg, dtype=float)[idx])
        s = self.direction * hip
        n_win = int(self._hist.maxlen or 1)
        total = len(s)
        rollmin = minimum_filter1d(s, size=n_win, origin=(n_win - 1) // 2, mode="nearest")
        cand = np.flatnonzero(s - rollmin > self.enter_deg)
        k = reset_at = 0
        active: tuple[int, float] | None = None  # (start, baseline) of a rep still in progress at the end
        while True:
            j = int(np.searchsorted(cand, k))
            if j >= len(cand):
                break
            c = int(cand[j])
            lo = max(reset_at, c - n_win + 1)
            window = s[lo : c + 1]
            half = len(window) // 2
            b = float(np.partition(window, half)[half])
            if not s[c] > b + self.enter_deg:
                k = c + 1
                continue
            below = np.flatnonzero(window <= b + self.start_level_deg)
            start = lo + (int(below[-1]) if len(below) else 0)
            peak0 = float(np.max(s[start : c + 1]))
            # a rep ends (or is abandoned) within max_rep_s of its start: look no further, and look in
            # growing chunks (most reps end within seconds; max_rep_s is a minute)
            stop = min(total, int(np.searchsorted(t, t[start] + self.max_rep_s, side="right")) + 1)
            end = late = -1
            a_, chunk, runmax0 = c + 1, 1024, peak0
            while a_ < stop:
                b_ = min(stop, a_ + chunk)
                seg = s[a_:b_]
                runmax = np.maximum.accumulate(seg)
                np.maximum(runmax, runmax0, out=runmax)
                hit = seg <= b + np.maximum(self.end_level_deg, self.end_fraction * (runmax - b))
                over = t[a_:b_] - t[start] > self.max_rep_s
                i_hit = int(np.argmax(hit)) if hit.any() else -1
                i_over = int(np.argmax(over)) if over.any() else -1
                if i_over >= 0 and (i_hit < 0 or i_over <= i_hit):
                    late = a_ + i_over
                    break
                if i_hit >= 0:
                    end = a_ + i_hit
                    break
                runmax0 = float(runmax[-1])
                a_, chunk = b_, 2 * chunk
            if late >= 0:
                k = reset_at = late + 1  # abandoned (longer than max_rep_s)
                continue
            if end < 0:
                active = (start, b)  # still in progress when the data ends: not counted (yet)
                break
            rep = self._finish_arrays(t[start : end + 1], s[start : end + 1], hip[start : end + 1], tilt[start : end + 1], b, float(t[end]))
            if rep is not None:
                self.reps_.append(rep)
            k = reset_at = end + 1
        self._resume_state(t, s, hip, tilt, zf_hip, zf_tilt, reset_at, active)
        return self

    def _resume_state(
        self, t: np.ndarray, s: np.ndarray, hip: np.ndarray, tilt: np.ndarray, zf_hip: np.ndarray,
        zf_tilt: np.ndarray, reset_at: int, active: tuple[int, float] | None,
    ) -> None:
        """Set the streaming state to what ``update`` fed the same samples would hold now."""
        for f, zf in ((self._f_hip, zf_hip), (self._f_tilt, zf_tilt)):
            f.primed, f.z1, f.z2 = True, float(zf[0, 0]), float(zf[0, 1])
        total = len(s)
        self.signal_deg = float(s[-1])

        def rows(a: int, b: int) -> list[tuple[float, float, float, float]]:
            return list(zip(t[a:b].tolist(), s[a:b].tolist(), hip[a:b].tolist(), tilt[a:b].tolist()))
        if active is not None:
            start, b = active
            self.state = "active"
            self._baseline = b
            self._rep = rows(start, total)
            self._peak = float(np.max(s[start:total]))
            self.baseline_deg = b
            return
        # idle since reset_at: the baseline window holds the last samples since then
        lo = max(reset_at, total - int(self._hist.maxlen or 1))
        if lo < total:
            self._hist.extend(rows(lo, total))
            self._sorted = sorted(s[lo:total].tolist())
            self.baseline_deg = self._sorted[len(self._sorted) // 2]


def _sosfilt_primed(sos: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The causal filter over a whole series, started at steady state (as :class:`Biquad`);
    returns the output and the final state (the Biquad's z1, z2 — same transposed direct form II)."""
    if len(x) == 0:
        return x.copy(), np.zeros((1, 2))
    y, zf = signal.sosfilt(sos, x, zi=signal.sosfilt_zi(sos) * x[0])
    return y, zf


def label_partials(peaks_deg: list[float], typical_deg: float, fraction: float = 0.6) -> list[bool]:
    """A rep is partial when its |peak| is below ``fraction`` of the typical |peak|."""
    return [abs(p) < fraction * abs(typical_deg) for p in peaks_deg]


def assign_sets(starts_s: list[float], ends_s: list[float], set_gap_s: float = 12.0) -> list[int]:
    """Consecutive reps separated by more than ``set_gap_s`` of rest belong to different sets."""
    out, k = [], 0
    for i, st in enumerate(starts_s):
        if i > 0 and st - ends_s[i - 1] > set_gap_s:
            k += 1
        out.append(k)
    return out
