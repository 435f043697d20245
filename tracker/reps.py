"""Streaming rep detection — one state machine for the live and the offline path, gaps included.

Signal: the hip angle in the drill's direction (flexion for knee_raise / deep_squat, extension for
hip_extension), through a short causal low-pass (2nd-order Butterworth, default 4 Hz, ≈ 55 ms delay),
restarted at steady state after every hole (> 0.25 s), the same filter live and offline, so both paths see
identical samples and make identical decisions.

States: IDLE → ACTIVE when the signal exceeds the baseline (the running median of the last
``baseline_window_s`` of idle samples, robust to fidgets in the other direction) by ``enter_deg``; the
rep's start is the last sample before that still within ``start_level_deg`` of the baseline.
ACTIVE ends, whichever comes first, when the signal

* **returns** within max(``end_level_deg``, ``end_fraction``·excursion) of the baseline;
* rises again by ``enter_deg`` out of a **valley** at least ``split_fraction`` of the excursion deep
  (the next rep started before this one came all the way down: people often stand between squats
  with a few degrees more hip flexion than in the calibration stand) — or out of a valley hidden in a
  gap: descending into a gap and rising out of it by ``enter_deg`` on both sides of the peak level;
* **settles**: at least ``split_fraction`` of the excursion down and within ``settle_band_deg`` for
  ``settle_s`` (a new resting level).

Gaps are data, not the end of a rep: missing samples never end or start a rep by themselves; a rep
that spans a gap carries the missing time (``missing_s``) and says where the gap was, so the caller can
flag it. Reps shorter than ``min_rep_s`` (fidgets) or longer than ``max_rep_s`` (another posture: sitting down) are discarded; a rep
still coming down when the recording ends is counted by :meth:`RepDetector.flush` (``end_reason``
"data_end"). Partial reps are labelled afterwards relative to the typical peak, never dropped.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy import signal
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from tracker.compensation import CompensationDetector, CompensationResult
from tracker.conventions import DRILL_MOTION, Exercise, check_exercise
from tracker.filters import butter_sos


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
    #: How the rep ended: "returned" (to the baseline), "valley" (the next rep started), "valley_gap"
    #: (the valley fell into a gap), "settled" (a new resting level) or "data_end" (the recording ended).
    end_reason: str = "returned"
    #: Time inside the rep without samples (gaps), seconds; the part of it in holes of ≥ 0.25 s (not
    #: lost packets, which the filters bridge); the longest single gap.
    missing_s: float = 0.0
    hole_s: float = 0.0
    longest_gap_s: float = 0.0
    #: A gap lies within 0.25 s of the observed peak: the true peak may have been higher.
    peak_at_gap: bool = False


#: Fraction of the 10–90 % rise time a minimum-jerk movement spends within 4 % of its peak.
HOLD_EDGE_FACTOR = 0.344

#: A hole at least this long (longer than the filters bridge) counts: within 0.25 s of the peak it
#: means the peak may not have been observed.
PEAK_HOLE_S = 0.25

#: The low-pass restarts after a hole longer than this (a lost packet or two does not make a step).
FILTER_RESTART_S = 0.25

#: One sample of the idle window: t, signal, hip, tilt, gap flag (1.0 after a hole).
_IdleRow = tuple[float, float, float, float, float]

#: Offsets the running minimum of each "since the latest peak" stretch apart (larger than any angle range).
_SEG_OFFSET = 1.0e4


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


class _Buffer:
    """Columns t, s, hip, tilt, gap_before of the active rep, growing in place (O(1) amortised)."""

    def __init__(self) -> None:
        self.data = np.empty((5, 256))
        self.n = 0

    def extend(self, rows: np.ndarray) -> None:
        k = rows.shape[1]
        while self.n + k > self.data.shape[1]:
            self.data = np.concatenate([self.data, np.empty_like(self.data)], axis=1)
        self.data[:, self.n : self.n + k] = rows
        self.n += k

    def view(self) -> np.ndarray:
        return self.data[:, : self.n]


class RepDetector:
    """Hysteresis rep detector fed one sample at a time (``update``) or a whole session (``detect``).

    Parameters
    ----------
    exercise
        The drill; decides the direction (extension reps have negative peaks) and default levels.
    rate_hz
        Sample rate of the (uniform) input; a time step longer than 1.5 samples is a gap.
    threshold_deg
        Compensation threshold handed to :class:`CompensationDetector`. Default 10°.
    enter_deg
        Excursion above the baseline that starts a rep. Default per drill (``DRILL_MOTION[exercise].enter_deg``).
    start_level_deg / end_level_deg / end_fraction
        Start: last sample within 1° of the baseline; end: back within max(3°, 10 % of the excursion).
    split_fraction
        Depth of a valley (fraction of the excursion) after which a renewed rise of ``enter_deg`` is
        the next rep, and the depth below which a settled signal ends the rep. Default 0.5.
    settle_s / settle_band_deg
        A rep at least ``split_fraction`` down ends where the signal stays within ``settle_band_deg``
        for ``settle_s``. Defaults 1.0 s and 3°.
    baseline_window_s
        The baseline is the signal's running median over this window while idle. Default 3 s.
    min_rep_s / max_rep_s
        Accepted rep durations. Defaults 0.8 s and 30 s: the program prescribes holds of 2–5 s, so
        even a 20 s hold fits; half a minute up there is another posture (sitting down), not a rep.
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
        split_fraction: float = 0.5,
        settle_s: float = 1.0,
        settle_band_deg: float = 3.0,
        baseline_window_s: float = 3.0,
        min_rep_s: float = 0.8,
        max_rep_s: float = 30.0,
        hold_fraction: float = 0.04,
        lowpass_hz: float = 4.0,
    ) -> None:
        self.exercise = check_exercise(exercise)
        enter = DRILL_MOTION[exercise].enter_deg if enter_deg is None else enter_deg
        checks = {
            "rate_hz": rate_hz, "enter_deg": enter, "start_level_deg": start_level_deg,
            "end_level_deg": end_level_deg, "baseline_window_s": baseline_window_s, "settle_s": settle_s,
            "settle_band_deg": settle_band_deg, "min_rep_s": min_rep_s, "max_rep_s": max_rep_s,
            "lowpass_hz": lowpass_hz,
        }
        for name, v in checks.items():
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number, got {v!r}")
        for name, v in (("end_fraction", end_fraction), ("hold_fraction", hold_fraction), ("split_fraction", split_fraction)):
            if not 0 < v < 1:
                raise ValueError(f"{name} must be in (0, 1), got {v!r}")
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
        self.split_fraction = split_fraction
        self.settle_n = max(2, int(round(settle_s * rate_hz)))
        self.settle_band_deg = settle_band_deg
        self.baseline_window_s = baseline_window_s
        self.min_rep_s = min_rep_s
        self.max_rep_s = max_rep_s
        self.hold_fraction = hold_fraction
        self.lowpass_hz = lowpass_hz
        #: A step between consecutive samples longer than this is a gap (1.5 sample periods).
        self.gap_s = 1.5 / self.rate_hz
        self.compensation = CompensationDetector(exercise, threshold_deg=threshold_deg)
        self._sos = butter_sos(2, lowpass_hz, rate_hz)
        self.reset()

    # -- streaming ---------------------------------------------------------------------------
    def reset(self) -> None:
        self._f_hip = Biquad(self._sos)
        self._f_tilt = Biquad(self._sos)
        self.state = "idle"
        n = int(self.baseline_window_s * self.rate_hz) + 1
        self._hist: deque[_IdleRow] = deque(maxlen=n)
        self._sorted: list[float] = []  # the window's signal values, sorted (running median baseline)
        self._rep = _Buffer()
        self._trig = 0  # index (in the rep) of the sample that made it active; ends are looked for after it
        self._baseline = 0.0
        self._t_last = float("nan")
        self.signal_deg = float("nan")  # last filtered signal in the drill direction (diagnostic)
        self.baseline_deg = float("nan")
        self.reps_: list[DetectedRep] = []

    def update(self, t_s: float, hip_deg: float, tilt_deg: float) -> DetectedRep | None:
        """Feed one valid sample; returns the rep that just ended, if any."""
        step = t_s - self._t_last  # NaN for the first sample: no gap
        self._t_last = t_s
        gap = bool(step > self.gap_s)
        if step > FILTER_RESTART_S:  # restart the low-pass at steady state: a step over a hole is not motion
            self._f_hip.primed = self._f_tilt.primed = False
        hip = self._f_hip.step(hip_deg)
        tilt = self._f_tilt.step(tilt_deg)
        s = self.direction * hip
        self.signal_deg = s
        row = (t_s, s, hip, tilt, 1.0 if gap else 0.0)
        if self.state == "idle":
            self._idle_append(row)
            self._maybe_start()
            return None
        self._rep.extend(np.array(row)[:, None])
        rep = self._rep.view()
        ev = self._scan(rep, self._baseline, self._trig, rep.shape[1] - 1)
        return None if ev is None else self._apply_event(ev, rep, t_s)

    def _idle_append(self, row: _IdleRow) -> None:
        if len(self._hist) == self._hist.maxlen:
            del self._sorted[bisect_left(self._sorted, self._hist[0][1])]
        self._hist.append(row)
        insort(self._sorted, row[1])
        self.baseline_deg = self._sorted[len(self._sorted) // 2]

    def _maybe_start(self) -> None:
        b = self.baseline_deg
        s = self._hist[-1][1]
        if not s > b + self.enter_deg:
            return
        start = 0
        for k in range(len(self._hist) - 1, -1, -1):
            if self._hist[k][1] <= b + self.start_level_deg:
                start = k
                break
        rows = list(self._hist)[start:]
        self._baseline = b
        self._rep = _Buffer()
        self._rep.extend(np.array(rows).T)
        self._trig = len(rows) - 1
        self.state = "active"

    def _apply_event(self, ev: tuple[str, int, int], rep: np.ndarray, t_now: float) -> DetectedRep | None:
        """Act on an event of the active rep found at trigger index ``k`` (the last sample)."""
        kind, end, k = ev
        if kind == "abandon":
            self._to_idle(rep, k + 1)
            return None
        out = self._finish(rep[:, : end + 1], kind, t_now)
        if kind in ("valley", "valley_gap"):  # the next rep starts at the valley, already under way
            tail = rep[:, end:].copy()
            self._rep = _Buffer()
            self._rep.extend(tail)
            self._trig = k - end
        else:
            self._to_idle(rep, end if kind == "settled" else k + 1)
        if out is not None:
            self.reps_.append(out)
        return out

    def _to_idle(self, rep: np.ndarray, keep_from: int) -> None:
        """Back to idle; the rep's samples from ``keep_from`` on (a settled stretch) seed the baseline."""
        self.state = "idle"
        self._hist.clear()
        self._sorted.clear()
        tail = rep[:, keep_from:]
        for j in range(tail.shape[1]):
            self._idle_append(_idle_row(tail[:, j]))
        self._rep = _Buffer()

    def flush(self) -> DetectedRep | None:
        """The recording ended: a rep already on its way down (``split_fraction`` of its excursion)
        counts, ending at the last sample ("data_end"); one still near its top does not."""
        if self.state != "active" or self._rep.n == 0:
            return None
        rep = self._rep.view()
        s = rep[1]
        top = float(np.max(s))
        out = None
        if top - s[-1] >= self.split_fraction * (top - self._baseline):
            out = self._finish(rep, "data_end", float(rep[0, -1]))
            if out is not None:
                self.reps_.append(out)
        self.state = "idle"
        self._rep = _Buffer()
        return out

    # -- the rules of an active rep (shared by update and detect) ----------------------------------
    def _flat(self, t: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Where the signal stayed within ``settle_band_deg`` over the last ``settle_s`` of samples
        without a gap (a trailing window: the same at a sample whatever series it is part of, once the
        series holds its window)."""
        w = self.settle_n
        if len(s) < w:
            return np.zeros(len(s), dtype=bool)
        lo = minimum_filter1d(s, w, origin=(w - 1) // 2, mode="nearest")
        hi = maximum_filter1d(s, w, origin=(w - 1) // 2, mode="nearest")
        first = np.maximum(np.arange(len(s)) - w + 1, 0)
        out: np.ndarray = (hi - lo < self.settle_band_deg) & (t - t[first] <= (w - 0.5) / self.rate_hz)
        return out

    def _scan(self, rep: np.ndarray, b: float, trig: int, k0: int, flat: np.ndarray | None = None) -> tuple[str, int, int] | None:
        """First event of the active rep ``rep`` (columns from its start) at a trigger index ≥ k0.

        Returns (kind, end index, trigger index). Every quantity is causal (depends only on samples
        up to the trigger), so scanning a prefix or the whole series finds the same first event.
        ``flat``: :meth:`_flat` of these samples, when already known (the batch computes it once for a
        session; only samples whose window lies within the rep are read).
        """
        t, s, gap = rep[0], rep[1], rep[4] > 0.5
        n = len(s)
        k0 = max(k0, trig + 1)
        if k0 >= n:
            return None
        runmax = np.maximum.accumulate(s)
        new_peak = np.empty(n, dtype=bool)
        new_peak[0] = True
        new_peak[1:] = s[1:] >= runmax[:-1]
        seg = np.cumsum(new_peak) * _SEG_OFFSET
        idx = np.arange(n)
        peak_i = np.maximum.accumulate(np.where(new_peak, idx, 0))
        vmin = np.minimum.accumulate(s - seg) + seg  # lowest value since the latest peak
        exc = runmax - b
        sl = slice(k0, n)
        pv = slice(k0 - 1, n - 1)  # a valley is judged on the samples before the one rising out of it
        returned = s[sl] <= b + np.maximum(self.end_level_deg, self.end_fraction * exc[sl])
        valley = (runmax[pv] - vmin[pv] >= self.split_fraction * exc[pv]) & (s[sl] - vmin[pv] >= self.enter_deg)
        adj = gap.copy()  # samples next to a gap (both sides)
        adj[:-1] |= gap[1:]
        if adj.any():
            gmin = np.minimum.accumulate(np.where(adj, s, np.inf) - seg) + seg  # same, gap edges only
            valley_gap = (runmax[pv] - gmin[pv] >= self.enter_deg) & (s[sl] - gmin[pv] >= self.enter_deg)
        else:  # no gap in the rep (most): no valley can hide in one
            valley_gap = np.zeros(n - k0, dtype=bool)
        w = self.settle_n
        # settled: a flat window that began after the latest peak (so it lies within the rep), at most
        # split_fraction of the excursion up
        flat = self._flat(t, s) if flat is None else flat
        settled = ((idx[sl] - w + 1 > peak_i[sl]) & flat[sl] & (s[sl] <= b + self.split_fraction * exc[sl]))
        late = t[sl] - t[0] > self.max_rep_s
        any_ev = returned | valley | valley_gap | settled | late
        if not any_ev.any():
            return None
        j = int(np.argmax(any_ev))
        k = k0 + j
        if returned[j]:
            return "returned", k, k
        if valley[j]:
            p = int(peak_i[k - 1])
            return "valley", p + int(np.argmin(s[p:k])), k
        if valley_gap[j]:
            p = int(peak_i[k - 1])
            cand = np.where(adj[p:k], s[p:k], np.inf)
            return "valley_gap", p + int(np.argmin(cand)), k
        if settled[j]:
            return "settled", k - w + 1, k
        return "abandon", k, k

    def _finish(self, rep: np.ndarray, reason: str, t_now: float) -> DetectedRep | None:
        t, s, hip, tilt, gap = rep[0], rep[1], rep[2], rep[3], rep[4] > 0.5
        duration = float(t[-1] - t[0])
        if duration < self.min_rep_s:
            return None
        baseline = self._baseline
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
        missing = hole_s = longest = 0.0
        peak_at_gap = False
        after = np.flatnonzero(gap[1:]) + 1  # the samples that follow a gap (most reps have none)
        if len(after):
            holes = t[after] - t[after - 1] - 1.0 / self.rate_hz
            missing, longest = float(np.sum(holes)), float(np.max(holes))
            real = holes >= PEAK_HOLE_S  # a hole, not a burst of lost packets
            hole_s = float(np.sum(holes[real]))
            gap_t = np.concatenate([t[after[real]], t[after[real] - 1]])
            peak_at_gap = bool(len(gap_t) and np.min(np.abs(gap_t - t[ipk])) <= 0.25)
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
            end_reason=reason,
            missing_s=missing,
            hole_s=hole_s,
            longest_gap_s=longest,
            peak_at_gap=peak_at_gap,
        )

    # -- batch -------------------------------------------------------------------------------
    def detect(self, t_s: np.ndarray, hip_deg: np.ndarray, tilt_deg: np.ndarray, valid: np.ndarray) -> RepDetector:
        """Whole session: exactly the decisions of ``update`` fed every valid sample, vectorised.

        (VQF's ``updateBatch`` idea: the same filter and rules; the batch version jumps from event to
        event — a rep can only start where the signal exceeds its window minimum by ``enter_deg`` —
        instead of stepping through every idle sample.) Input is not mutated. Afterwards the detector
        is in exactly the state ``update`` would have left it in, so a live caller can replay a buffer
        with ``detect`` and carry on sample by sample with ``update``. A rep still under way at the
        end is not counted here; :meth:`flush` decides when the recording is over.
        """
        self.reset()
        idx = np.flatnonzero(np.asarray(valid, dtype=bool))
        if len(idx) == 0:
            return self
        t = np.asarray(t_s, dtype=float)[idx]
        gap = np.zeros(len(t), dtype=bool)
        gap[1:] = np.diff(t) > self.gap_s
        restart = np.zeros(len(t), dtype=bool)
        restart[1:] = np.diff(t) > FILTER_RESTART_S
        hip, zf_hip = _sosfilt_runs(self._sos, np.asarray(hip_deg, dtype=float)[idx], restart)
        tilt, zf_tilt = _sosfilt_runs(self._sos, np.asarray(tilt_deg, dtype=float)[idx], restart)
        s = self.direction * hip
        data = np.vstack([t, s, hip, tilt, gap.astype(float)])
        n_win = int(self._hist.maxlen or 1)
        total = len(s)
        flat = self._flat(t, s)
        rollmin = minimum_filter1d(s, size=n_win, origin=(n_win - 1) // 2, mode="nearest")
        cand = np.flatnonzero(s - rollmin > self.enter_deg)
        k = reset_at = 0
        active: tuple[int, int, float] | None = None  # (start, trig, baseline) of a rep under way at the end
        pending: tuple[int, int] | None = None  # a rep started at a valley: (start, trig)
        while True:
            if pending is None:
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
                trig = c - start
                self._baseline = b
            else:
                start, trig = pending
                pending = None
                b = self._baseline
            # look for the first event in growing chunks (most reps end within seconds; the work of a scan
            # grows with its chunk, and its result does not depend on it: every quantity is causal)
            ev = None
            a_, chunk = start + trig + 1, int(5 * self.rate_hz)  # most reps end within 5 s of their trigger
            while a_ < total and ev is None:
                b_ = min(total, a_ + chunk)
                ev = self._scan(data[:, start:b_], b, trig, a_ - start, flat[start:b_])
                a_, chunk = b_, 2 * chunk
            if ev is None:
                active = (start, trig, b)
                break
            kind, end, kk = ev
            end += start
            kk += start
            if kind == "abandon":
                k = reset_at = kk + 1
                continue
            rep = self._finish(data[:, start : end + 1], kind, float(t[kk]))
            if rep is not None:
                self.reps_.append(rep)
            if kind in ("valley", "valley_gap"):
                pending = (end, kk - end)
                k = kk + 1
            elif kind == "settled":
                reset_at, k = end, kk + 1
            else:
                k = reset_at = kk + 1
        self._resume_state(data, zf_hip, zf_tilt, reset_at, active)
        return self

    def _resume_state(
        self, data: np.ndarray, zf_hip: np.ndarray, zf_tilt: np.ndarray, reset_at: int, active: tuple[int, int, float] | None
    ) -> None:
        """Set the streaming state to what ``update`` fed the same samples would hold now."""
        for f, zf in ((self._f_hip, zf_hip), (self._f_tilt, zf_tilt)):
            f.primed, f.z1, f.z2 = True, float(zf[0, 0]), float(zf[0, 1])
        total = data.shape[1]
        self.signal_deg = float(data[1, -1])
        self._t_last = float(data[0, -1])
        if active is not None:
            start, trig, b = active
            self.state = "active"
            self._baseline = b
            self._rep = _Buffer()
            self._rep.extend(data[:, start:total].copy())
            self._trig = trig
            return
        # idle since reset_at: the baseline window holds the last samples since then
        lo = max(reset_at, total - int(self._hist.maxlen or 1))
        for j in range(lo, total):
            self._idle_append(_idle_row(data[:, j]))


def _idle_row(column: np.ndarray) -> _IdleRow:
    """One column of the rep buffer (t, signal, hip, tilt, gap flag) as the idle window's row."""
    t, s, hip, tilt, gap = (float(x) for x in column)
    return (t, s, hip, tilt, gap)


def _sosfilt_runs(sos: np.ndarray, x: np.ndarray, gap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The causal filter over each run between restarts (``gap`` marks a run's first sample), each
    started at steady state (as :class:`Biquad` after a restart); returns the output and the final
    state (the Biquad's z1, z2)."""
    if len(x) == 0:
        return x.copy(), np.zeros((1, 2))
    y = np.empty_like(x)
    starts = np.r_[0, np.flatnonzero(gap)]
    ends = np.r_[starts[1:], len(x)]
    zf = np.zeros((1, 2))
    zi0 = signal.sosfilt_zi(sos)
    for a, b in zip(starts, ends):
        y[a:b], zf = signal.sosfilt(sos, x[a:b], zi=zi0 * x[a])
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
