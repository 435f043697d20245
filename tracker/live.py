"""The live path: sample by sample, the same algorithm objects as the offline path.

Per sensor, the online ``vqf.VQF`` filter (offline: ``offlineVQF``); both sensors are put on the shared
grid by interpolating between each sensor's own samples as soon as both have passed a grid instant;
then :class:`~tracker.joint_angles.StreamingHipAngles`, :class:`~tracker.reps.RepDetector` and
:class:`~tracker.compensation.CompensationDetector` — the very objects the offline path runs.

Calibration state machine:
  "calibrating"  raw samples are buffered until both sensors leave the quiet stand; then the stand is
                 checked (too short, upside-down, tilted sensor → "error") and the placement-convention
                 axes are used provisionally → "ready".
  "ready"        angles and reps stream. At each of the first ``refine_reps`` reps the flexion axes are
                 identified from the movement so far (the offline method), the buffered session is
                 replayed through fresh detector objects, and the rep is emitted with the refined
                 angles — so even the first reps carry calibrated numbers. Swapped / never-moving
                 sensors are detected at that point (→ "error").
  "error"        the message says which sensor and what is wrong; nothing more is emitted.
A rep is emitted when the detector sees the hip return near its baseline (before the rep's end plus
the 4 Hz filter's ~55 ms delay): the latency goal is < 300 ms after the rep's end.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import vqf
from numpy.typing import ArrayLike

from tracker.calibration import (
    CalibrationError,
    CalibrationInput,
    Calibrator,
    quiet_mask,
)
from tracker.conventions import Exercise, Side, check_exercise, check_sensor, check_side
from tracker.joint_angles import StreamingHipAngles
from tracker.raw import RawSession
from tracker.reps import DetectedRep, RepDetector
from tracker.results import Calibration, Rep


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """Something the UI should show: ``kind`` is "calibrated", "recalibrated", "rep" or "error"."""

    kind: str
    t_s: float
    rep: Rep | None = None
    message: str = ""


@dataclass(slots=True)
class _Record:
    t: float
    q: np.ndarray
    g: np.ndarray
    a: np.ndarray
    after_gap: bool


#: One sensor interpolated at a grid instant: (quaternion, gyro, acc, valid).
GridSample = tuple[np.ndarray, np.ndarray, np.ndarray, bool]


class _SensorFeed:
    """One sensor: raw buffer while calibrating, then the online VQF with short-gap bridging."""

    def __init__(self, name: str, gap_factor: float, bridge_gap_s: float) -> None:
        self.name = name
        self.raw: list[tuple[float, np.ndarray, np.ndarray]] = []
        self.records: deque[_Record] = deque()
        self.filter: vqf.VQF | None = None
        self.dt = float("nan")
        self.last: tuple[float, np.ndarray, np.ndarray] | None = None
        self.gap_factor = gap_factor
        self.bridge_gap_s = bridge_gap_s

    def start(self, tau_acc_s: float) -> None:
        t = np.array([r[0] for r in self.raw])
        self.dt = float(np.median(np.diff(t)))
        self.filter = vqf.VQF(self.dt, tauAcc=tau_acc_s)
        raw, self.raw = self.raw, []
        for t_s, a, g in raw:
            self.push(t_s, a, g)

    def push(self, t_s: float, acc: np.ndarray, gyr: np.ndarray) -> None:
        f = self.filter
        assert f is not None
        after_gap = False
        if self.last is not None:
            t0, a0, g0 = self.last
            gap = t_s - t0
            if gap <= 0:
                raise ValueError(f"{self.name}: time went backwards at t={t_s:.6f} s (previous {t0:.6f} s)")
            if gap > self.gap_factor * self.dt:
                after_gap = True
                n_missing = int(round(gap / self.dt)) - 1
                if gap <= self.bridge_gap_s:  # keep the integration continuous; outputs stay invalid
                    for k in range(1, n_missing + 1):
                        u = k / (n_missing + 1)
                        f.update(g0 + u * (gyr - g0), a0 + u * (acc - a0))
        f.update(gyr, acc)
        bias, _ = f.getBiasEstimate()
        self.records.append(_Record(t_s, np.array(f.getQuat6D()), gyr - bias, acc, after_gap))
        self.last = (t_s, acc, gyr)

    @property
    def latest_t(self) -> float:
        return self.records[-1].t if self.records else -np.inf

    def sample_at(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool] | None:
        """Interpolate at t (records must bracket it); drops records no longer needed."""
        rec = self.records
        while len(rec) >= 2 and rec[1].t <= t:
            rec.popleft()
        if len(rec) < 2 or rec[0].t > t:
            if rec and abs(rec[0].t - t) < 1e-9:
                r = rec[0]
                return r.q, r.g, r.a, True
            return None
        r0, r1 = rec[0], rec[1]
        u = (t - r0.t) / (r1.t - r0.t)
        q1 = r1.q if float(r0.q @ r1.q) >= 0 else -r1.q
        q = (1 - u) * r0.q + u * q1
        q /= np.linalg.norm(q)
        return q, r0.g + u * (r1.g - r0.g), r0.a + u * (r1.a - r0.a), not r1.after_gap


class _GridBuffer:
    """The shared-grid samples since the start, in one growing array (appends are O(1) amortised,
    views are free — the refinements read the whole buffer at once)."""

    #: column layout: t, quat thigh (4), quat pelvis (4), gyr thigh (3), gyr pelvis (3), acc thigh (3),
    #: acc pelvis (3), valid
    COLS = {"t": slice(0, 1), "qt": slice(1, 5), "qp": slice(5, 9), "gt": slice(9, 12), "gp": slice(12, 15),
            "at": slice(15, 18), "ap": slice(18, 21), "v": slice(21, 22)}

    def __init__(self, capacity: int = 4096) -> None:
        self._data = np.empty((capacity, 22))
        self.n = 0

    def append(self, t: float, st: GridSample, sp: GridSample) -> None:
        if self.n == len(self._data):
            self._data = np.concatenate([self._data, np.empty_like(self._data)])
        row = self._data[self.n]
        row[0] = t
        row[1:5], row[9:12], row[15:18] = st[0], st[1], st[2]
        row[5:9], row[12:15], row[18:21] = sp[0], sp[1], sp[2]
        row[21] = 1.0 if (st[3] and sp[3]) else 0.0
        self.n += 1

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key: str) -> np.ndarray:
        col = self._data[: self.n, self.COLS[key]]
        if key == "v":
            return col[:, 0] > 0.5
        return col[:, 0] if key == "t" else col


class LiveTracker:
    """Live hip flexion, pelvic tilt, reps and compensation from two streaming IMUs.

    Parameters
    ----------
    exercise, side
        The drill and the exercised leg.
    threshold_deg
        Compensation threshold (default 10°).
    rate_hz
        Shared grid rate (default 100 Hz, as offline).
    refine_reps
        Number of first reps at which the flexion axes are re-identified and the session replayed.
    heading_tau_s
        Time constant of the causal relative-heading average (default 3 s).
    partial_fraction, set_gap_s
        As offline; the typical peak is the running median of the reps so far.
    """

    def __init__(
        self,
        exercise: str,
        side: str,
        *,
        threshold_deg: float = 10.0,
        rate_hz: float = 100.0,
        refine_reps: int = 3,
        heading_tau_s: float = 3.0,
        partial_fraction: float = 0.6,
        set_gap_s: float = 12.0,
        calibrator: dict[str, Any] | None = None,
        rep_detector: dict[str, Any] | None = None,
        gap_factor: float = 1.8,
        bridge_gap_s: float = 1.0,
        tau_acc_s: float = 3.0,
    ) -> None:
        self.exercise: Exercise = check_exercise(exercise)
        self.side: Side = check_side(side)
        if not (np.isfinite(threshold_deg) and threshold_deg > 0):
            raise ValueError(f"threshold_deg must be a positive number of degrees, got {threshold_deg!r}")
        if not 20 <= rate_hz <= 400:
            raise ValueError(f"rate_hz must be in 20..400 Hz, got {rate_hz!r}")
        if refine_reps < 0:
            raise ValueError(f"refine_reps must be >= 0, got {refine_reps!r}")
        self.threshold_deg = float(threshold_deg)
        self.rate_hz = float(rate_hz)
        self.refine_reps = int(refine_reps)
        self.heading_tau_s = heading_tau_s
        self.partial_fraction = partial_fraction
        self.set_gap_s = set_gap_s
        self.tau_acc_s = tau_acc_s
        self._calibrator_kw = dict(calibrator or {})
        self._detector_kw = dict(rep_detector or {})
        self._feeds = {n: _SensorFeed(n, gap_factor, bridge_gap_s) for n in ("thigh", "pelvis")}
        self._state = "calibrating"
        self._error = ""
        self._calibration: Calibration | None = None
        self._grid_t0 = float("nan")
        self._k = 0
        self._buf = _GridBuffer()
        self._buffering = True
        self._reps: list[Rep] = []
        self._hip = float("nan")
        self._tilt = float("nan")
        self._refinements = 0
        self._stand_end_idx = 0

    # -- public state ------------------------------------------------------------------------
    @property
    def calibration_state(self) -> str:
        """"calibrating", "ready" or "error"."""
        return self._state

    @property
    def error(self) -> str:
        return self._error

    @property
    def calibration(self) -> Calibration | None:
        return self._calibration

    @property
    def hip_flexion_deg(self) -> float:
        return self._hip

    @property
    def pelvic_tilt_deg(self) -> float:
        return self._tilt

    @property
    def rep_count(self) -> int:
        return len(self._reps)

    @property
    def reps(self) -> list[Rep]:
        return list(self._reps)

    @property
    def last_rep(self) -> Rep | None:
        return self._reps[-1] if self._reps else None

    @property
    def diagnostics(self) -> dict[str, float | str]:
        """Internal signals for the dashboard (detector state, baseline, thresholds, heading)."""
        det = getattr(self, "_detector", None)
        ang = getattr(self, "_angles", None)
        return {
            "state": self._state,
            "detector_state": det.state if det else "",
            "detector_signal_deg": det.signal_deg if det else float("nan"),
            "detector_baseline_deg": det.baseline_deg if det else float("nan"),
            "enter_deg": det.enter_deg if det else float("nan"),
            "relative_heading_deg": float(np.degrees(ang.delta_rad)) if ang else float("nan"),
        }

    # -- input -------------------------------------------------------------------------------
    def update(self, sensor: str, t_s: float, acc_m_s2: ArrayLike, gyr_rad_s: ArrayLike) -> list[LiveEvent]:
        """Feed one sample of one sensor (session clock, m/s², rad/s); returns new events."""
        check_sensor(sensor)
        if self._state == "error":
            return []
        acc = np.asarray(acc_m_s2, dtype=float).reshape(3)
        gyr = np.asarray(gyr_rad_s, dtype=float).reshape(3)
        feed = self._feeds[sensor]
        if self._state == "calibrating":
            if feed.raw and t_s <= feed.raw[-1][0]:
                raise ValueError(f"{sensor}: time went backwards at t={t_s:.6f} s")
            feed.raw.append((float(t_s), acc, gyr))
            if len(feed.raw) % 10 == 0:
                return self._try_start(float(t_s))
            return []
        feed.push(float(t_s), acc, gyr)
        return self._advance()

    def update_batch(self, sensor: str, t_s: ArrayLike, acc_m_s2: ArrayLike, gyr_rad_s: ArrayLike) -> list[LiveEvent]:
        """Feed several samples of one sensor; identical to calling ``update`` for each."""
        out: list[LiveEvent] = []
        for t, a, g in zip(np.asarray(t_s, float), np.asarray(acc_m_s2, float), np.asarray(gyr_rad_s, float)):
            out.extend(self.update(sensor, float(t), a, g))
        return out

    # -- calibration -------------------------------------------------------------------------
    def _try_start(self, t_now: float) -> list[LiveEvent]:
        if any(len(f.raw) < 20 for f in self._feeds.values()):
            return []
        left_stand = False
        for feed in self._feeds.values():
            t = np.array([r[0] for r in feed.raw])
            a = np.array([r[1] for r in feed.raw])
            g = np.array([r[2] for r in feed.raw])
            rate = 1.0 / float(np.median(np.diff(t)))
            cal = Calibrator(**self._calibrator_kw)
            q = quiet_mask(a, g, rate, gyr_threshold_rad_s=cal.stand_gyr_threshold_rad_s,
                           acc_tolerance_m_s2=cal.stand_acc_tolerance_m_s2)
            moving = np.flatnonzero(~q)
            left_stand |= len(moving) > 0 and t[-1] - t[moving[0]] >= 0.3
        if not left_stand:
            return []
        # a sensor has left the stand 0.3 s ago: start the filters and check the stand
        for feed in self._feeds.values():
            feed.start(self.tau_acc_s)
        self._grid_t0 = max(f.records[0].t for f in self._feeds.values())
        self._advance_grid_only()
        try:
            self._calibrate(identify_axes=False)
        except CalibrationError as exc:
            return [self._fail(str(exc), t_now)]
        events = [LiveEvent("calibrated", t_now, message="provisional axes from the placement convention")]
        events.extend(self._replay(t_now))
        return events

    def _fail(self, message: str, t_now: float) -> LiveEvent:
        self._state, self._error = "error", message
        return LiveEvent("error", t_now, message=message)

    def _cal_input(self) -> CalibrationInput:
        b = self._buf
        return CalibrationInput(
            t_s=b["t"], rate_hz=self.rate_hz, quat_thigh=b["qt"], quat_pelvis=b["qp"], gyr_thigh=b["gt"],
            gyr_pelvis=b["gp"], acc_thigh=b["at"], acc_pelvis=b["ap"], valid=b["v"],
        )

    def _calibrate(self, *, identify_axes: bool) -> None:
        data = self._cal_input()
        cal = Calibrator(**self._calibrator_kw).calibrate(
            data, self.side, self.exercise, identify_axes=identify_axes, check_motion=identify_axes
        )
        self._calibration = cal.calibration_
        i0, i1 = cal.stand_index_
        self._stand_end_idx = i1
        self._angles = StreamingHipAngles(
            cal.frame_thigh_, cal.frame_pelvis_, self.rate_hz, heading_tau_s=self.heading_tau_s,
            hinge_thigh=cal.hinge_axis_thigh_, hinge_pelvis=cal.hinge_axis_pelvis_,
        )
        self._angles.prime(data.quat_thigh[i0:i1], data.quat_pelvis[i0:i1])
        self._detector = RepDetector(self.exercise, rate_hz=self.rate_hz, threshold_deg=self.threshold_deg, **self._detector_kw)
        self._state = "ready"

    def _replay(self, t_now: float) -> list[LiveEvent]:
        """Run the buffered grid (after the stand) through the current angle + detector objects.

        The batch paths of the very same objects (``StreamingHipAngles.step_batch``,
        ``RepDetector.detect``) — identical to stepping sample by sample and leaving the same state
        to continue from, but vectorised: a refinement must not stall the live stream.
        """
        b = self._buf
        emitted_before = len(self._reps)
        self._reps = []
        events: list[LiveEvent] = []
        sl = slice(self._stand_end_idx, len(b))
        v = b["v"][sl]
        t = b["t"][sl][v]
        if len(t) == 0:
            return events
        hip, tilt = self._angles.step_batch(b["qt"][sl][v], b["qp"][sl][v], b["gp"][sl][v])
        self._hip, self._tilt = float(hip[-1]), float(tilt[-1])
        self._detector.detect(t, hip, tilt, np.ones(len(t), dtype=bool))
        for d in self._detector.reps_:
            rep = self._to_rep(d)
            self._reps.append(rep)
            if len(self._reps) > emitted_before:
                events.append(LiveEvent("rep", t_now, rep=rep))
        return events

    # -- streaming ---------------------------------------------------------------------------
    def _grid_samples(self) -> Iterator[tuple[float, GridSample, GridSample]]:
        th, pe = self._feeds["thigh"], self._feeds["pelvis"]
        while True:
            t = self._grid_t0 + self._k / self.rate_hz
            if t > th.latest_t or t > pe.latest_t:
                return
            st, sp = th.sample_at(t), pe.sample_at(t)
            self._k += 1
            if st is None or sp is None:
                continue
            yield t, st, sp

    def _store(self, t: float, st: GridSample, sp: GridSample) -> None:
        self._buf.append(t, st, sp)

    def _advance_grid_only(self) -> None:
        for t, st, sp in self._grid_samples():
            self._store(t, st, sp)

    def _advance(self) -> list[LiveEvent]:
        events: list[LiveEvent] = []
        for t, st, sp in self._grid_samples():
            if self._buffering:
                self._store(t, st, sp)
            rep = self._process(t, st[0], sp[0], sp[1], bool(st[3] and sp[3]))
            if rep is None:
                continue
            if self._buffering and self._refinements < self.refine_reps:
                self._refinements += 1
                n_before = len(self._reps) - 1
                try:
                    self._calibrate(identify_axes=True)
                except CalibrationError as exc:
                    events.append(self._fail(str(exc), t))
                    return events
                self._reps = self._reps[:n_before]
                events.append(LiveEvent("recalibrated", t, message="flexion axes identified from the movement"))
                events.extend(self._replay(t))
                if self._refinements >= self.refine_reps:
                    self._buffering = False
                    self._buf = _GridBuffer(16)
            else:
                events.append(LiveEvent("rep", t, rep=rep))
            if self._state == "error":
                break
        return events

    def _process(self, t: float, qt: np.ndarray, qp: np.ndarray, gp: np.ndarray, valid: bool) -> Rep | None:
        if not valid:
            return None
        self._hip, self._tilt = self._angles.step(np.asarray(qt), np.asarray(qp), np.asarray(gp))
        d = self._detector.update(t, self._hip, self._tilt)
        if d is None:
            return None
        rep = self._to_rep(d)
        self._reps.append(rep)
        return rep

    def _to_rep(self, d: DetectedRep) -> Rep:
        peaks = [r.peak_hip_flexion_deg for r in self._reps] + [d.peak_hip_deg]
        typical = float(np.median(peaks))
        partial = abs(d.peak_hip_deg) < self.partial_fraction * abs(typical)
        prev = self._reps[-1] if self._reps else None
        set_index = 0 if prev is None else prev.set_index + int(d.start_s - prev.end_s > self.set_gap_s)
        c = d.compensation
        return Rep(
            index=len(self._reps) + 1, start_s=d.start_s, peak_s=d.peak_s, end_s=d.end_s,
            peak_hip_flexion_deg=d.peak_hip_deg, hold_s=d.hold_s, partial=partial,
            compensation=c.compensated, compensation_deg=c.compensation_deg,
            compensation_onset_hip_deg=c.onset_hip_deg, set_index=set_index,
            start_hip_flexion_deg=d.start_hip_deg, range_deg=abs(d.peak_hip_deg - d.start_hip_deg),
            pelvic_tilt_change_deg=c.tilt_change_deg, duration_s=d.duration_s,
        )


def feed_session(tracker: LiveTracker, raw: RawSession) -> list[LiveEvent]:
    """Replay a RawSession into a tracker in session-time order (as a recorder would deliver it)."""
    events: list[LiveEvent] = []
    streams = [(s.sensor, s) for s in raw.streams()]
    merged = sorted(
        ((float(t), name, i) for name, s in streams for i, t in enumerate(s.t_s)), key=lambda x: (x[0], x[1])
    )
    by_name = dict(streams)
    for t, name, i in merged:
        s = by_name[name]
        events.extend(tracker.update(name, t, s.acc_m_s2[i], s.gyr_rad_s[i]))
    return events
