"""One processing engine for live and offline: ``update()`` / ``update_batch()``, then ``finish()``.

The engine runs the stages of tracker/stages.py. Its two modes differ only in the smoothers:

* ``mode="offline"`` collects the samples and, at ``finish()``, runs the acausal stages over the whole
  recording — ``offlineVQF`` per filter run, the relative-heading drift interpolated between rests,
  the heading constant from all of the recording, the pelvis heading reference interpolated;
* ``mode="live"`` follows each sensor with the online VQF and shows the causal angles sample by
  sample (``hip_flexion_deg``), detecting reps as they end. Every rep's numbers, though, come from the
  very same acausal stages run on a window of the raw samples around the rep (a fixed-lag smoother: a
  rep is only reported once it has ended), so live and offline reps agree. At the first
  ``refine_reps`` reps the calibration's axes, the joint-centre offsets and the heading constant are
  re-identified on everything recorded so far; afterwards the constant keeps being refined.

Gaps are data (tracker/timebase.py, tracker/reps.py): a rep cut by a gap is reported with a flag and a
lower confidence, never dropped or double counted. Any quiet stand of ≥ 2 s calibrates — at the
start, between sets or at the end; only when there is none does the analysis fail, with that reason.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from tracker.calibration import CalibrationError, Calibrator
from tracker.conventions import (
    MAX_RATE_HZ,
    MIN_RATE_HZ,
    SENSOR_NAMES,
    Exercise,
    SensorName,
    Side,
    check_exercise,
    check_sensor,
    check_side,
)
from tracker.heading import METHOD_JOINT_CENTRE, METHOD_SAGITTAL, HeadingConstant, RelativeHeading
from tracker.orientation import OnlineOrientation, OrientedSample
from tracker.raw import RawSession, SensorStream
from tracker.reps import DetectedRep, RepDetector, assign_sets, label_partials
from tracker.results import LOW_CONFIDENCE_BELOW, Calibration, Rep, RepDiagnostics, SessionAnalysis, SessionSummary
from tracker.stages import (
    AccRows,
    AngleSolution,
    AngleZeros,
    HeldState,
    SharedGrid,
    StreamingAngles,
    orient_streams,
    raw_grid,
    refine_pelvis_axis,
    solve_angles,
    stand_gyro_bias,
    to_shared_grid,
)
from tracker.timebase import GapPolicy

Mode = Literal["live", "offline"]


@dataclass(frozen=True, slots=True)
class EngineParams:
    """Tunable parameters of the engine (each algorithm validates its own; defaults documented there).

    rate_hz: the shared grid (default 100 Hz). partial_fraction: a rep below this fraction of the typical
    peak is partial. set_gap_s: rest that separates sets. refine_reps: live re-identification at the
    first reps. tau_acc_s: VQF's accelerometer time constant. gaps: the gap policy. calibrator /
    rep_detector / heading: keyword arguments of Calibrator / RepDetector / RelativeHeading.
    window_lead_s: live rep windows start this long before the rep (the smoother's run-in).
    report_delay_s: a rep is smoothed and reported this long after the trigger saw it end (the
    smoothed signal then has come down too; the goal is < 300 ms after the rep's true end).
    revise_after_s: its final numbers once this much recording follows its end (the smoother's lag).
    refine_reps / max_identify_reps / identify_sigma_deg: the identification (axes, joint centre,
    heading constant) is final after at least ``refine_reps`` reps once the heading constant's
    uncertainty is ≤ ``identify_sigma_deg``, at the latest after ``max_identify_reps`` — in both modes.
    """

    rate_hz: float = 100.0
    partial_fraction: float = 0.6
    set_gap_s: float = 12.0
    refine_reps: int = 3
    tau_acc_s: float = 3.0
    gaps: GapPolicy = field(default_factory=GapPolicy)
    calibrator: dict[str, Any] = field(default_factory=dict)
    rep_detector: dict[str, Any] = field(default_factory=dict)
    heading: dict[str, Any] = field(default_factory=dict)
    window_lead_s: float = 10.0
    report_delay_s: float = 0.2
    revise_after_s: float = 2.0
    max_identify_reps: int = 8
    identify_sigma_deg: float = 1.0

    def __post_init__(self) -> None:
        if not 20.0 <= self.rate_hz <= 400.0:
            raise ValueError(f"rate_hz must be in 20..400 Hz, got {self.rate_hz!r}")
        if not 0 < self.partial_fraction < 1:
            raise ValueError(f"partial_fraction must be in (0, 1), got {self.partial_fraction!r}")
        if not self.set_gap_s > 0:
            raise ValueError(f"set_gap_s must be > 0 s, got {self.set_gap_s!r}")
        if self.refine_reps < 0:
            raise ValueError(f"refine_reps must be >= 0, got {self.refine_reps!r}")
        if self.max_identify_reps < max(1, self.refine_reps):
            raise ValueError(f"max_identify_reps ({self.max_identify_reps}) must be >= refine_reps ({self.refine_reps})")
        if not self.revise_after_s >= 0.5:
            raise ValueError(f"revise_after_s must be >= 0.5 s, got {self.revise_after_s!r}")
        if not self.window_lead_s >= 3.0:
            raise ValueError(f"window_lead_s must be >= 3 s, got {self.window_lead_s!r}")


# -- rep assembly: one function for both modes ------------------------------------------------------

#: Heading uncertainty (deg) below which it costs no confidence, and the factor for the sagittal fallback.
_SIGMA_FREE_DEG = 1.5
_SAGITTAL_FACTOR = 0.65
#: A gap of at least this inside a rep (or at its peak) makes it low-confidence (factor _GAP_FACTOR).
_GAP_FLAG_S = 0.25
_GAP_FACTOR = 0.5
#: |3D − sagittal| (deg) always explained (noise, definitions), plus this much per degree of out-of-plane tilt.
_AGREE_BASE_DEG = 4.0
_AGREE_PER_OOP = 0.35


def _clip(x: float, lo: float, hi: float) -> float:
    """np.clip for one float (NaN stays NaN) without its per-call overhead — this runs per rep."""
    return float(min(max(x, lo), hi))


def rep_confidence(
    d: DetectedRep, sol: AngleSolution, axis_confidence: float, heading_max_sigma_deg: float, index: int = 0,
) -> tuple[float, str, RepDiagnostics]:
    """The rep's confidence, its reason when low, and the diagnostics behind both (for rep ``index``)."""
    a, b, i_pk = (int(i) for i in np.searchsorted(sol.t_s, (d.start_s - 1e-9, d.end_s + 1e-9, d.peak_s - 1e-9)))
    m = slice(a, b)
    i_pk = min(i_pk, len(sol.t_s) - 1)
    jc = bool(sol.joint_centre[i_pk])
    v = sol.valid[m]
    h3, hs = sol.hip_3d_deg[m], sol.hip_sagittal_deg[m]
    if not v.all():  # (a rep with a gap: its valid samples only)
        h3, hs = h3[v], hs[v]
    if len(h3):  # the extreme in the rep's direction
        pk3, pks = (float(h.max() if d.peak_hip_deg >= 0 else h.min()) for h in (h3, hs))
    else:
        pk3 = pks = float("nan")
    oop = float(sol.out_of_plane_deg[i_pk])
    explained = _AGREE_BASE_DEG + _AGREE_PER_OOP * oop
    sigma = sol.constant.sigma_deg if sol.constant is not None else float("inf")
    reasons: list[tuple[float, str]] = []
    if jc:  # 1 up to _SIGMA_FREE_DEG, 0.5 at the observability limit
        f_head = _clip(1.0 - 0.5 * max(0.0, sigma - _SIGMA_FREE_DEG) / max(heading_max_sigma_deg - _SIGMA_FREE_DEG, 1e-9), 0.5, 1.0)
        reasons.append((f_head, f"relative heading uncertain (±{sigma:.1f}°)"))
    else:
        f_head = _SAGITTAL_FACTOR
        reasons.append((f_head, "relative heading not observable: heading-free sagittal estimate"))
    frac = d.hole_s / max(d.duration_s, 1e-9)  # scattered lost packets cost nothing (the filters bridge them) …
    f_gap = _clip(1.0 - frac, 0.2, 1.0)
    if d.longest_gap_s >= _GAP_FLAG_S or d.peak_at_gap or d.end_reason in ("valley_gap", "data_end"):
        f_gap = min(f_gap, _GAP_FACTOR)  # … a hole the rep was cut by makes it low-confidence
    gap_text = "data gap during the rep" + (" at its peak" if d.peak_at_gap else "") + (f" ({d.missing_s:.1f} s missing)" if d.missing_s > 0 else "")
    if d.end_reason == "data_end":
        gap_text = "the recording ended during the rep"
    reasons.append((f_gap, gap_text))
    f_axis = _clip(axis_confidence / 0.6, 0.3, 1.0) if np.isfinite(axis_confidence) else 1.0
    reasons.append((f_axis, "flexion axis poorly identified"))
    diff = abs(pk3 - pks) if jc and np.isfinite(pk3) and np.isfinite(pks) else 0.0
    f_agree = _clip(1.0 - max(0.0, diff - explained) / (2.0 * explained), 0.3, 1.0)
    reasons.append((f_agree, f"3D and sagittal estimates disagree by {diff:.0f}° (out-of-plane motion explains ≤ {explained:.0f}°)"))
    conf = f_head * f_gap * f_axis * f_agree
    reason = min(reasons)[1] if conf < LOW_CONFIDENCE_BELOW else ""
    diag = RepDiagnostics(
        index=index, heading_method=METHOD_JOINT_CENTRE if jc else METHOD_SAGITTAL, peak_hip_3d_deg=pk3,
        peak_hip_sagittal_deg=pks, explained_difference_deg=explained, heading_sigma_deg=float(sigma),
        missing_s=float(d.missing_s), end_reason=d.end_reason, peak_at_gap=bool(d.peak_at_gap),
        heading_factor=f_head, gap_factor=f_gap, axis_factor=f_axis, agreement_factor=f_agree,
    )
    return float(conf), reason, diag


def assemble_reps(
    detected: list[DetectedRep], sol: AngleSolution | list[AngleSolution], params: EngineParams, axis_confidence: float,
    heading_max_sigma_deg: float, *, typical_deg: float | None = None,
) -> tuple[list[Rep], list[RepDiagnostics]]:
    """Detected reps → numbered reps with sets, partial labels and confidence (both modes).

    ``sol``: one solution for all reps, or one per rep (live windows). ``typical_deg``: the peak partial
    reps are judged against (default: the median of these reps' peaks).
    """
    sols = sol if isinstance(sol, list) else [sol] * len(detected)
    peaks = [d.peak_hip_deg for d in detected]
    typical = float(np.median(peaks)) if typical_deg is None and peaks else (typical_deg or 0.0)
    partial = label_partials(peaks, typical, params.partial_fraction)
    sets = assign_sets([d.start_s for d in detected], [d.end_s for d in detected], params.set_gap_s)
    reps, diags = [], []
    for i, (d, p, s, so) in enumerate(zip(detected, partial, sets, sols), start=1):
        conf, reason, diag = rep_confidence(d, so, axis_confidence, heading_max_sigma_deg, i)
        c = d.compensation
        reps.append(
            Rep(
                index=i, start_s=d.start_s, peak_s=d.peak_s, end_s=d.end_s,
                peak_hip_flexion_deg=d.peak_hip_deg, hold_s=d.hold_s, partial=p,
                compensation=c.compensated, compensation_deg=c.compensation_deg,
                compensation_onset_hip_deg=c.onset_hip_deg, set_index=s,
                start_hip_flexion_deg=d.start_hip_deg, range_deg=abs(d.peak_hip_deg - d.start_hip_deg),
                pelvic_tilt_change_deg=c.tilt_change_deg, duration_s=d.duration_s,
                confidence=conf, low_confidence_reason=reason,
            )
        )
        diags.append(diag)
    return reps, diags


def summarise(reps: list[Rep], duration_s: float) -> SessionSummary:
    n = len(reps)
    peaks = np.array([r.peak_hip_flexion_deg for r in reps]) if n else np.array([])
    n_comp = sum(r.compensation for r in reps)
    return SessionSummary(
        rep_count=n,
        full_rep_count=sum(not r.partial for r in reps),
        partial_rep_count=sum(r.partial for r in reps),
        rom_deg=float(max((r.range_deg for r in reps), default=0.0)),
        mean_peak_hip_flexion_deg=float(peaks.mean()) if n else float("nan"),
        compensation_count=int(n_comp),
        compensation_rate=float(n_comp / n) if n else 0.0,
        mean_rep_duration_s=float(np.mean([r.duration_s for r in reps])) if n else float("nan"),
        mean_hold_s=float(np.mean([r.hold_s for r in reps])) if n else float("nan"),
        duration_s=float(duration_s),
        set_count=(max(r.set_index for r in reps) + 1) if n else 0,
    )


def heading_summary(sol: AngleSolution, heading: RelativeHeading) -> dict[str, Any]:
    k = sol.constant
    v = sol.valid
    share = float(np.mean(sol.joint_centre[v])) if v.any() else 0.0
    out: dict[str, Any] = {
        "method": METHOD_JOINT_CENTRE if share >= 0.5 else METHOD_SAGITTAL,
        "joint_centre_share": share,
        "observable": bool(k is not None and heading.observable(k)),
    }
    if k is not None:
        out.update(constant_deg=float(np.degrees(k.c_rad)), sigma_deg=k.sigma_deg, coherence=k.coherence,
                   excitation_m_s2=k.excitation_m_s2)
    if sol.offsets_m is not None:
        out.update(joint_centre_thigh_m=[float(x) for x in sol.offsets_m[0]],
                   joint_centre_pelvis_m=[float(x) for x in sol.offsets_m[1]],
                   offsets_conditioning=sol.offsets_conditioning)
    return out


def angles_frame(sol: AngleSolution) -> pd.DataFrame:
    v = sol.valid
    return pd.DataFrame(
        {
            "t": sol.t_s,
            "hip_flexion_deg": np.where(v, sol.hip_deg, np.nan),
            "pelvic_tilt_deg": np.where(v, sol.tilt_deg, np.nan),
            "valid": v,
            "hip_flexion_sagittal_deg": np.where(v, sol.hip_sagittal_deg, np.nan),
        }
    )


# -- the engine -------------------------------------------------------------------------------------

class _RawBuffer:
    """One sensor's raw samples (t, acc, gyr) as the chunks they came in; joined once when read (an
    offline feed of one chunk per sensor is never copied)."""

    def __init__(self) -> None:
        self.chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._joined: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.last_t = -np.inf
        self.first_t = np.inf

    def extend(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> None:
        if len(t) == 0:
            return
        if t[0] <= self.last_t:
            raise ValueError(f"time went backwards at t={t[0]:.6f} s (previous {self.last_t:.6f} s)")
        if len(t) > 1 and np.any(np.diff(t) <= 0):
            raise ValueError("timestamps are not strictly increasing")
        self.chunks.append((t, acc, gyr))
        self._joined = None
        self.last_t = float(t[-1])
        self.first_t = min(self.first_t, float(t[0]))

    def _all(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._joined is None:
            if len(self.chunks) == 1:
                joined = self.chunks[0]
            else:
                joined = (np.concatenate([c[0] for c in self.chunks]), np.concatenate([c[1] for c in self.chunks]),
                          np.concatenate([c[2] for c in self.chunks]))
                self.chunks = [joined]
            self._joined = joined
        return self._joined

    def stream(self, name: SensorName, t0: float = -np.inf, t1: float = np.inf) -> SensorStream:
        """The samples with t0 <= t <= t1 (views: streams are read-only)."""
        t, acc, gyr = self._all()
        lo = int(np.searchsorted(t, t0, side="left"))
        hi = int(np.searchsorted(t, t1, side="right"))
        return SensorStream(sensor=name, t_s=t[lo:hi], acc_m_s2=acc[lo:hi], gyr_rad_s=gyr[lo:hi])


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """Something the UI should show: ``kind`` is "calibrated", "recalibrated", "waiting" (no usable
    stand yet; ``message`` says why), "rep" or "error"."""

    kind: str
    t_s: float
    rep: Rep | None = None
    message: str = ""


class _GridBuffer:
    """The live shared-grid samples in one growing array (appends O(1) amortised, views free).

    Columns: t, quat thigh (4), quat pelvis (4), gyr thigh (3), gyr pelvis (3), acc thigh (3),
    acc pelvis (3), valid, block thigh, block pelvis.
    """

    COLS = {"t": slice(0, 1), "qt": slice(1, 5), "qp": slice(5, 9), "gt": slice(9, 12), "gp": slice(12, 15),
            "at": slice(15, 18), "ap": slice(18, 21), "v": slice(21, 22), "bt": slice(22, 23), "bp": slice(23, 24)}

    def __init__(self, capacity: int = 4096) -> None:
        self._data = np.empty((capacity, 24))
        self.n = 0

    def append(self, row: np.ndarray) -> None:
        if self.n == len(self._data):
            self._data = np.concatenate([self._data, np.empty_like(self._data)])
        self._data[self.n] = row
        self.n += 1

    def __len__(self) -> int:
        return self.n

    def row(self, i: int) -> np.ndarray:
        out: np.ndarray = self._data[i]
        return out

    def col(self, key: str, lo: int = 0, hi: int | None = None) -> np.ndarray:
        c = self._data[lo : self.n if hi is None else hi, self.COLS[key]]
        if key == "v":
            return c[:, 0] > 0.5
        if key in ("t", "bt", "bp"):
            return c[:, 0]
        return c

    def grid(self, rate_hz: float, lo: int = 0, hi: int | None = None) -> SharedGrid:
        bt, bp = self.col("bt", lo, hi).astype(int), self.col("bp", lo, hi).astype(int)
        block = bt * 100_000 + bp
        return SharedGrid(
            t_s=self.col("t", lo, hi), rate_hz=rate_hz, quat_thigh=self.col("qt", lo, hi), quat_pelvis=self.col("qp", lo, hi),
            gyr_thigh=self.col("gt", lo, hi), gyr_pelvis=self.col("gp", lo, hi),
            acc=AccRows((self.col("at", lo, hi), self.col("ap", lo, hi))), valid=self.col("v", lo, hi), block=block, piece=block,
        )


class _LiveSensor:
    """One sensor in the live mode: its online orientation and the outputs the shared grid has not
    interpolated between yet."""

    def __init__(self, name: str, params: EngineParams) -> None:
        self.name = name
        self.params = params
        self.orient: OnlineOrientation | None = None
        self.records: deque[OrientedSample] = deque()
        self.pending: list[tuple[float, np.ndarray, np.ndarray]] = []  # raw samples before the rate is known
        self.first_t = float("nan")

    @property
    def last_t(self) -> float:
        return self.records[-1].t if self.records else -np.inf

    def push(self, t: float, acc: np.ndarray, gyr: np.ndarray) -> None:
        if self.orient is None:
            self.pending.append((t, acc, gyr))
            ts = np.array([p[0] for p in self.pending])
            steps = np.diff(ts)
            # the sample period from plausible steps (a recorder may stamp a first packet before its
            # clock is aligned, microseconds apart): ≥ 20 of them, within the supported rates
            ok = steps[(steps >= 1.0 / MAX_RATE_HZ / 1.5) & (steps <= 1.5 / MIN_RATE_HZ)]
            if len(ok) < 20:
                return
            self.orient = OnlineOrientation(self.name, float(np.median(ok)), tau_acc_s=self.params.tau_acc_s,
                                            policy=self.params.gaps)
            self.first_t = float(ts[0])
            pend, self.pending = self.pending, []
            for p in pend:
                self.records.append(self.orient.push(*p))
            return
        self.records.append(self.orient.push(t, acc, gyr))

    def at(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool, int] | None:
        """Interpolated (q, gyr, acc, valid, block) at grid instant t (records must reach past it);
        drops the records no longer needed."""
        rec = self.records
        while len(rec) >= 2 and rec[1].t <= t:
            rec.popleft()
        if not rec:
            return None
        a = rec[0]
        if abs(a.t - t) < 1e-9:
            return a.q, a.g, a.a, True, a.block
        if len(rec) < 2 or a.t > t:
            return None
        b = rec[1]
        u = (t - a.t) / (b.t - a.t)
        qb = b.q if float(a.q @ b.q) >= 0 else -b.q
        q = (1 - u) * a.q + u * qb
        q /= np.linalg.norm(q)
        return q, a.g + u * (b.g - a.g), a.a + u * (b.a - a.a), not b.after_gap, b.block


@dataclass(frozen=True, slots=True)
class Identification:
    """What is identified once, from the stand and the first reps, then held for the whole session:
    the calibration (frames), the joint-centre offsets, the heading constant and the standing pose."""

    calibrator: Calibrator
    constant: HeadingConstant
    offsets: tuple[np.ndarray, np.ndarray] | None
    zeros: AngleZeros
    until_s: float  # the recording up to here was used
    final: bool  # no further re-identification (enough reps and a well-determined heading)


class Engine:
    """The processing core as one algorithm object (see the module docstring for the two modes).

    Results after ``finish`` (either mode): ``analysis_``, ``grid_``, ``calibrator_``, ``angles_``
    (AngleSolution), ``rep_detector_``, ``identification_``. Live: the properties
    (``calibration_state``, ``reps``, ``hip_flexion_deg`` …) and the events ``update`` returns.
    """

    def __init__(
        self, exercise: str, side: str, *, mode: Mode = "offline", threshold_deg: float = 10.0,
        params: EngineParams | None = None,
    ) -> None:
        self.exercise: Exercise = check_exercise(exercise)
        self.side: Side = check_side(side)
        if mode not in ("live", "offline"):
            raise ValueError(f"mode must be 'live' or 'offline', got {mode!r}")
        if not (np.isfinite(threshold_deg) and threshold_deg > 0):
            raise ValueError(f"threshold_deg must be a positive number of degrees, got {threshold_deg!r}")
        self.mode: Mode = mode
        self.threshold_deg = float(threshold_deg)
        self.params = params or EngineParams()
        self.heading = RelativeHeading(**self.params.heading)
        self._raw = {"thigh": _RawBuffer(), "pelvis": _RawBuffer()}
        # live state
        self._sensors = {n: _LiveSensor(n, self.params) for n in ("thigh", "pelvis")}
        self._buf = _GridBuffer()
        self._grid_origin = float("nan")
        self._k = 0
        self._state = "calibrating"
        self._error = ""
        self._waiting = ""
        self._ident: Identification | None = None
        self._det: RepDetector | None = None
        self._reps: list[Rep] = []
        self._diags: list[RepDiagnostics] = []
        self._hip = float("nan")
        self._tilt = float("nan")
        self._angles_t = float("nan")
        self._stream: StreamingAngles | None = None
        self._trigger_after = -np.inf
        self._pending: list[DetectedRep] = []  # reps the trigger saw, reported after report_delay_s
        self._due: list[tuple[float, int]] = []  # (time, rep index) of reps awaiting their revision
        # a re-identification under way (one step per grid row) and the index of the rep that started it
        self._refining: tuple[Generator[None, None, tuple[Identification, AngleSolution]], int] | None = None
        self._stand_s: tuple[float, float] | None = None
        self._gyr_bias: dict[str, np.ndarray] | None = None

    # -- input ----------------------------------------------------------------------------------
    def update_batch(self, sensor: str, t_s: Any, acc_m_s2: Any, gyr_rad_s: Any, *, _owned: bool = False) -> list[LiveEvent]:
        """Feed several samples of one sensor (session clock, m/s², rad/s); in the live mode identical
        to calling :meth:`update` for each, and the events they raise are returned. The samples are
        copied (the caller may reuse its arrays)."""
        check_sensor(sensor)
        t = np.array(t_s, dtype=float, ndmin=1, copy=None if _owned else True)
        acc = np.array(acc_m_s2, dtype=float, copy=None if _owned else True).reshape(-1, 3)
        gyr = np.array(gyr_rad_s, dtype=float, copy=None if _owned else True).reshape(-1, 3)
        if not (len(t) == len(acc) == len(gyr)):
            raise ValueError(f"{sensor}: {len(t)} times but {len(acc)} acc and {len(gyr)} gyro rows")
        try:
            self._raw[sensor].extend(t, acc, gyr)
        except ValueError as exc:
            raise ValueError(f"{sensor}: {exc}") from None
        if self.mode == "offline" or self._state == "error":
            return []
        feed = self._sensors[sensor]
        for i in range(len(t)):
            feed.push(float(t[i]), acc[i], gyr[i])
        return self._advance()

    def update(self, sensor: str, t_s: float, acc_m_s2: Any, gyr_rad_s: Any) -> list[LiveEvent]:
        """Feed one sample of one sensor."""
        return self.update_batch(sensor, [t_s], acc_m_s2, gyr_rad_s)

    def feed(self, raw: RawSession) -> Engine:
        """Both streams at once (the offline mode's input; a RawSession's arrays are not copied)."""
        for s in raw.streams():
            self.update_batch(s.sensor, s.t_s, s.acc_m_s2, s.gyr_rad_s, _owned=self.mode == "offline")
        return self

    # -- the acausal stages (both modes) -----------------------------------------------------------
    def _streams(self, t0: float = -np.inf, t1: float = np.inf) -> list[SensorStream]:
        return [self._raw[n].stream(n, t0, t1) for n in SENSOR_NAMES]

    def _find_stand(self, t1: float = np.inf) -> tuple[float, float]:
        """The calibration stand's [start, end) on the raw signals recorded up to ``t1``, and each
        sensor's gyro bias over it (held for every orientation run from then on).

        The first usable stand is looked for in a growing window from the start (a stand found in it
        is taken once it ends a second before the window does: nothing later can change it)."""
        t_first = max(self._raw["thigh"].first_t, self._raw["pelvis"].first_t)
        t_last = min(t1, self._raw["thigh"].last_t, self._raw["pelvis"].last_t)
        span_s = STAND_SEARCH_S
        while True:
            t_end = min(t_last, t_first + span_s)
            streams = self._streams(-np.inf, t_end)
            origin = None if not np.isfinite(self._grid_origin) else self._grid_origin
            rg = raw_grid(streams, self.params.rate_hz, origin_s=origin)
            try:
                a, b = Calibrator(**self.params.calibrator).detect_stand(rg)
            except CalibrationError:
                if t_end >= t_last:
                    raise
                span_s *= 2
                continue
            if t_end >= t_last or rg.t_s[b - 1] <= t_end - 1.0:
                break
            span_s *= 2
        dt = 1.0 / self.params.rate_hz
        span = (float(rg.t_s[a]), float(rg.t_s[b - 1] + dt))
        edge = min(0.2, 0.2 * (span[1] - span[0]))
        self._gyr_bias = stand_gyro_bias(streams, (span[0] + edge, span[1] - edge))
        self._stand_s = span
        return span

    def _offline_grid(self, t0: float = -np.inf, t1: float = np.inf) -> SharedGrid:
        p = self.params
        origin = None if not np.isfinite(self._grid_origin) else self._grid_origin
        orient = orient_streams(self._streams(t0, t1), offline=True, policy=p.gaps, tau_acc_s=p.tau_acc_s, gyr_bias=self._gyr_bias)
        return to_shared_grid(orient, p.rate_hz, origin_s=origin)

    def _identify(self, grid: SharedGrid, *, identify_axes: bool = True) -> tuple[Identification, AngleSolution]:
        """Calibration, joint-centre offsets and heading constant from ``grid`` (a prefix or all), and the
        angles on ``grid`` with them (what ``_solve(grid, ident)`` gives, bar the offsets' conditioning)."""
        steps = self._identification(grid, identify_axes=identify_axes)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                result: tuple[Identification, AngleSolution] = done.value
                return result

    def _identification(
        self, grid: SharedGrid | float, *, identify_axes: bool = True,
    ) -> Generator[None, None, tuple[Identification, AngleSolution]]:
        """:meth:`_identify` in steps, pausing (``yield``) between its stages: the live mode takes one
        step per grid row, so that no single update carries a whole re-identification. ``grid``: a
        float is the end of the recording to use (its offline grid is made in the first step)."""
        if not isinstance(grid, SharedGrid):
            grid = self._offline_grid(-np.inf, grid)
        cal = Calibrator(**self.params.calibrator).calibrate(
            grid.calibration_input(), self.side, self.exercise, identify_axes=identify_axes, check_motion=identify_axes,
            stand_s=self._stand_s,
        )
        yield
        terms = self.heading.terms(grid.gyr_thigh, grid.gyr_pelvis, grid.acc_thigh, grid.acc_pelvis, grid.rate_hz)
        sol = solve_angles(grid, cal, self.side, self.heading, terms=terms)
        if identify_axes:
            yield
            refined = refine_pelvis_axis(grid, cal, sol, self.exercise)
            if refined is not None:  # the new frame turns the constant; the offsets stay
                yield
                cal = refined
                sol = solve_angles(grid, cal, self.side, self.heading, offsets=sol.offsets_m, terms=terms)
        assert sol.constant is not None
        ident = Identification(cal, sol.constant, sol.offsets_m, sol.zeros, float(grid.t_s[-1]), final=False)
        return ident, sol

    def _is_final(self, ident: Identification, n_reps: int) -> bool:
        p = self.params
        if n_reps >= p.max_identify_reps:
            return True
        return n_reps >= p.refine_reps and ident.constant.sigma_deg <= p.identify_sigma_deg

    def _solve(self, grid: SharedGrid, ident: Identification) -> AngleSolution:
        return solve_angles(grid, ident.calibrator, self.side, self.heading, constant=ident.constant,
                            offsets=ident.offsets, zeros=ident.zeros)

    def _detect(self, sol: AngleSolution, *, flush: bool) -> RepDetector:
        det = self._detector()
        det.detect(sol.t_s, sol.hip_deg, sol.tilt_deg, sol.valid)
        if flush:
            det.flush()
        return det

    def finish(self) -> SessionAnalysis:
        """The whole recording through the acausal stages → SessionAnalysis. Raises CalibrationError.

        Identification follows the live mode's rule: on the recording up to ``revise_after_s`` after the
        k-th rep (k ≥ ``refine_reps``) once the heading constant is determined to ``identify_sigma_deg``
        (else after ``max_identify_reps``, else on all of it), so both modes hold the same constants.
        """
        p = self.params
        if self.mode == "offline":
            self._grid_origin = float("nan")
        t_stand = self._find_stand()[1]
        grid = self._offline_grid()
        # the reps, found on the heading-free angles with the stand's frames, tell where the
        # identification may end (the live mode identifies at the same points); as live, the motion
        # checks come with the identification (on all of the recording when it needs all of it)
        to_stand = int(np.searchsorted(grid.t_s, t_stand, side="right")) + 1  # all it reads is the stand
        first = Calibrator(**p.calibrator).calibrate(grid.rows(0, to_stand).calibration_input(), self.side, self.exercise,
                                                     identify_axes=False, check_motion=False, stand_s=self._stand_s)
        found = self._first_reps(grid, first, t_stand)
        ident: Identification | None = None
        for k in range(max(1, p.refine_reps), min(len(found), p.max_identify_reps) + 1):
            until = _identification_end(max(t_stand, found[k - 1].end_s), p)
            if until >= grid.t_s[-1]:
                break
            try:
                cand, _ = self._identify(self._offline_grid(-np.inf, until))
            except CalibrationError:
                continue
            if self._is_final(cand, k):
                ident = dataclasses.replace(cand, final=True)
                break
        if ident is None:  # too few reps, or the heading never settled within them: all of the recording
            whole, sol = self._identify(grid)
            ident = dataclasses.replace(whole, final=True)
        else:
            sol = self._solve(grid, ident)
        det = self._detect(sol, flush=True)
        cal = ident.calibrator
        reps, diags = assemble_reps(det.reps_, sol, p, cal.calibration_.flexion_axis_confidence, self.heading.max_sigma_deg)
        self.grid_, self.calibrator_, self.angles_, self.rep_detector_, self.identification_ = grid, cal, sol, det, ident
        self.analysis_ = SessionAnalysis(
            exercise=self.exercise, side=self.side, calibration=cal.calibration_,
            summary=summarise(reps, float(grid.t_s[-1] - grid.t_s[0])), reps=reps, angles=angles_frame(sol),
            threshold_deg=self.threshold_deg, heading=heading_summary(sol, self.heading), rep_diagnostics=diags,
        )
        return self.analysis_

    def _first_reps(self, grid: SharedGrid, cal: Calibrator, t_stand: float) -> list[DetectedRep]:
        """The first ``max_identify_reps`` reps, heading-free, from as short a start of ``grid`` as holds
        them (a rep counts once it ended ``revise_after_s`` before that start ends)."""
        p = self.params
        span_s = 60.0
        while True:
            t_end = min(float(grid.t_s[-1]), max(t_stand, float(grid.t_s[0])) + span_s)
            n = int(np.searchsorted(grid.t_s, t_end, side="right"))
            part = grid if n >= len(grid.t_s) else grid.rows(0, n)
            sol = solve_angles(part, cal, self.side, self.heading, constant=UNOBSERVED)
            reps = self._detect(sol, flush=part is grid).reps_
            done = [r for r in reps if r.end_s <= t_end - p.revise_after_s - 1.0]
            if part is grid or len(done) >= p.max_identify_reps:
                return reps if part is grid else done
            span_s *= 2

    def _detector(self) -> RepDetector:
        return RepDetector(self.exercise, rate_hz=self.params.rate_hz, threshold_deg=self.threshold_deg, **self.params.rep_detector)

    # -- live: public state ---------------------------------------------------------------------------
    @property
    def calibration_state(self) -> str:
        """"calibrating", "ready" or "error"."""
        return self._state

    @property
    def error(self) -> str:
        return self._error

    @property
    def waiting_reason(self) -> str:
        """Why no stand has calibrated yet (empty once calibrated)."""
        return self._waiting

    @property
    def calibration(self) -> Calibration | None:
        return self._ident.calibrator.calibration_ if self._ident is not None else None

    @property
    def hip_flexion_deg(self) -> float:
        return self._hip

    @property
    def pelvic_tilt_deg(self) -> float:
        return self._tilt

    @property
    def angles_t_s(self) -> float:
        """The time (on the shared grid) of ``hip_flexion_deg`` and ``pelvic_tilt_deg``: they change once
        per grid row, not with every sensor sample (NaN before the first)."""
        return self._angles_t

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
    def rep_diagnostics(self) -> list[RepDiagnostics]:
        return list(self._diags)

    @property
    def diagnostics(self) -> dict[str, float | str]:
        """Internal signals for the dashboard (detector state, baseline, thresholds, heading)."""
        det = self._det
        k = self._ident.constant if self._ident is not None else None
        return {
            "state": self._state,
            "detector_state": det.state if det else "",
            "detector_signal_deg": det.signal_deg if det else float("nan"),
            "detector_baseline_deg": det.baseline_deg if det else float("nan"),
            "enter_deg": det.enter_deg if det else float("nan"),
            "relative_heading_deg": float(np.degrees(self._stream.drift + k.c_rad)) if k is not None and self._stream else float("nan"),
            "heading_sigma_deg": k.sigma_deg if k is not None else float("nan"),
            "identified": "final" if self._ident is not None and self._ident.final else "provisional",
        }

    # -- live: the stream -------------------------------------------------------------------------
    def _advance(self) -> list[LiveEvent]:
        """Put every grid instant both sensors have passed on the grid, then process the new rows."""
        th, pe = self._sensors["thigh"], self._sensors["pelvis"]
        if not th.records or not pe.records:
            return []
        if not np.isfinite(self._grid_origin):  # where the offline grid starts too: both sensors' first sample
            self._grid_origin = max(th.first_t, pe.first_t)
        n0 = len(self._buf)
        rate = self.params.rate_hz
        while True:
            t = self._grid_origin + self._k / rate
            if t > th.last_t or t > pe.last_t:
                break
            self._k += 1
            a, b = th.at(t), pe.at(t)
            if a is None or b is None:
                continue
            row = np.empty(24)
            row[0] = t
            row[1:5], row[9:12], row[15:18] = a[0], a[1], a[2]
            row[5:9], row[12:15], row[18:21] = b[0], b[1], b[2]
            row[21] = 1.0 if (a[3] and b[3]) else 0.0
            row[22], row[23] = a[4], b[4]
            self._buf.append(row)
        events: list[LiveEvent] = []
        for i in range(n0, len(self._buf)):  # row by row: update and update_batch take the same decisions
            if self._state == "error":
                break
            if self._state == "calibrating":
                events.extend(self._try_calibrate(i))
            elif self._state == "ready":
                events.extend(self._stream_row(i))
        return events

    def _try_calibrate(self, i: int) -> list[LiveEvent]:
        """Every 0.25 s of grid: is there a finished quiet stand (left ≥ 0.3 s ago) to calibrate on?"""
        rate = self.params.rate_hz
        if (i + 1) % max(1, int(0.25 * rate)):
            return []
        t_now = float(self._buf.col("t", i, i + 1)[0])
        try:
            _, t_end = self._find_stand(t_now)
        except CalibrationError as exc:
            # no stand yet is the normal state while the patient gets ready; a stand that cannot
            # calibrate (a sensor upside-down, sitting) is reported once, and the tracker keeps waiting
            rejected = str(exc).startswith("no quiet stand with")
            changed = str(exc) != self._waiting
            self._waiting = str(exc)
            return [LiveEvent("waiting", t_now, message=self._waiting)] if rejected and changed else []
        if t_now - t_end < 0.3:
            return []  # still standing: the stand may get longer
        try:
            self._ident, sol = self._identify(self._offline_grid(-np.inf, t_now), identify_axes=False)
        except CalibrationError as exc:
            return [self._fail(str(exc), t_now)]
        self._state, self._waiting = "ready", ""
        events = [LiveEvent("calibrated", t_now, message="provisional axes from the placement convention")]
        events.extend(self._rederive(sol, t_now))
        self._resume(i)
        return events

    def _fail(self, message: str, t_now: float) -> LiveEvent:
        self._state, self._error = "error", message
        return LiveEvent("error", t_now, message=message)

    def _causal(self, lo: int, hi: int, held: HeldState) -> AngleSolution:
        """Display angles of grid rows [lo, hi) with the held (causal) drift and heading reference."""
        ident = self._ident
        assert ident is not None
        rate = self.params.rate_hz
        a = max(0, lo - int(0.6 * rate))  # the rest test looks back 0.25 + 0.3 s
        grid = self._buf.grid(rate, a, hi)
        return solve_angles(grid, ident.calibrator, self.side, self.heading, causal=True, constant=ident.constant,
                            offsets=ident.offsets, zeros=ident.zeros,
                            held=HeldState(held.drift_rad, held.block, held.heading_ref_rad, lo - a))

    def _block_of(self, i: int) -> int:
        return int(self._buf.col("bt", i, i + 1)[0]) * 100_000 + int(self._buf.col("bp", i, i + 1)[0])

    def _resume(self, i: int) -> None:
        """The streaming angles and the rep trigger as of row i, from the current identification."""
        assert self._ident is not None
        self._det = self._detector()
        sol = self._causal(0, i + 1, HeldState())
        self._det.detect(sol.t_s, sol.hip_deg, sol.tilt_deg, sol.valid)
        ident = self._ident
        self._stream = StreamingAngles(self.params.rate_hz, ident.calibrator, self.heading, ident.constant, ident.zeros)
        self._stream.start(sol, self._buf.grid(self.params.rate_hz, 0, i + 1))
        self._trigger_after = self._reps[-1].end_s if self._reps else -np.inf
        self._pending = []
        v = np.flatnonzero(sol.valid)
        if len(v):
            self._hip, self._tilt = float(sol.hip_deg[v[-1]]), float(sol.tilt_deg[v[-1]])
            self._angles_t = float(sol.t_s[v[-1]])

    def _stream_row(self, i: int) -> list[LiveEvent]:
        assert self._det is not None and self._ident is not None and self._stream is not None
        row = self._buf.row(i)
        t_now = float(row[0])
        valid = bool(row[21] > 0.5)
        hip, tilt, _ = self._stream.step(t_now, row[1:5], row[5:9], row[9:12], row[12:15], valid, self._block_of(i))
        if not valid:
            return []
        self._hip, self._tilt, self._angles_t = hip, tilt, t_now
        d = self._det.update(t_now, hip, tilt)
        if d is not None and d.peak_s > self._trigger_after:
            self._pending.append(d)
            self._trigger_after = d.end_s
        events: list[LiveEvent] = []
        if self._pending and t_now >= self._pending[0].emitted_at_s + self.params.report_delay_s:
            events.extend(self._report(self._pending.pop(0), t_now))
        if self._refining is not None:
            events.extend(self._refine_step(t_now, i))
        elif self._due and t_now >= self._due[0][0] + 1e-9:
            _, index = self._due.pop(0)
            events.extend(self._revise(index, t_now, i))
        return events

    def close(self) -> list[LiveEvent]:
        """The set is over: report a rep still on its way down and revise the reps still waiting for
        their final numbers with what was recorded (the offline analysis has no more either)."""
        if self._state != "ready" or self._det is None or not len(self._buf):
            return []
        i = len(self._buf) - 1
        t_now = float(self._buf.col("t", i, i + 1)[0])
        events: list[LiveEvent] = []
        while self._refining is not None:  # a re-identification under way: its remaining steps now
            events.extend(self._refine_step(t_now, i))
        if self._state != "ready" or self._det is None:
            return events
        last = self._det.flush()
        if last is not None and last.peak_s > self._trigger_after:
            self._pending.append(last)
        while self._pending:
            events.extend(self._report(self._pending.pop(0), t_now))
        if self._ident is not None and not self._ident.final:
            # never settled within the reps seen: identify on all of the set, as the offline mode does
            try:
                ident, sol = self._identify(self._offline_grid(-np.inf, t_now))  # sol: the angles with ident
            except CalibrationError as exc:
                return events + [self._fail(str(exc), t_now)]
            self._ident = dataclasses.replace(ident, final=True)
            self._due = []
            events.append(LiveEvent("recalibrated", t_now, message="identified on the whole set"))
            det = self._detect(sol, flush=True)
            reps, diags = assemble_reps(det.reps_, sol, self.params, self._ident.calibrator.calibration_.flexion_axis_confidence,
                                        self.heading.max_sigma_deg)
            n_before = len(self._reps)
            self._reps, self._diags = reps, diags
            return events + [LiveEvent("rep" if r.index > n_before else "rep_revised", t_now, rep=r) for r in reps]
        while self._due and self._state == "ready":
            _, index = self._due.pop(0)
            events.extend(self._revise(index, t_now, i))
        return events

    def _window(self, t_now: float, start_s: float) -> AngleSolution | None:
        """The acausal stages on the raw samples from ``window_lead_s`` before ``start_s`` (and before the
        previous rep's end) up to ``t_now`` — a fixed-lag smoother."""
        assert self._ident is not None
        p = self.params
        t_first = max(self._raw["thigh"].first_t, self._raw["pelvis"].first_t)
        prev_end = min((r.end_s for r in self._reps if r.end_s <= start_s), default=start_s, key=lambda e: start_s - e)
        t0 = max(t_first, min(start_s, prev_end) - p.window_lead_s, t_now - MAX_WINDOW_S)
        try:
            return self._solve(self._offline_grid(t0, t_now), self._ident)
        except (CalibrationError, ValueError):
            return None

    def _report(self, trigger: DetectedRep, t_now: float) -> list[LiveEvent]:
        """A rep the trigger saw end: its provisional numbers from a short window, reported now."""
        sol = self._window(t_now, trigger.start_s)
        if sol is None:
            return []
        det = self._detect(sol, flush=False)
        found = _matching(det, trigger)
        if found is None:
            return []
        rep, diag = self._numbered(found, sol, len(self._reps) + 1)
        self._reps.append(rep)
        self._diags.append(diag)
        self._due.append((_identification_end(rep.end_s, self.params), rep.index))
        return [LiveEvent("rep", t_now, rep=rep)]

    def _revise(self, index: int, t_now: float, i: int) -> list[LiveEvent]:
        """``revise_after_s`` after a rep: re-identify while the identification is provisional (all reps
        re-derived), else the rep's final numbers from a window that now extends past it."""
        assert self._ident is not None
        if not self._ident.final:
            if index > len(self._reps):
                return []
            t_stand = self._ident.calibrator.stand_span_s_[1]
            until = _identification_end(max(t_stand, self._reps[index - 1].end_s), self.params)
            self._refining = (self._identification(until), index)
            return self._refine_step(t_now, i)
        if index > len(self._reps):
            return []
        old = self._reps[index - 1]
        win = self._window(t_now, old.start_s)
        if win is None:
            return []
        found = _matching(self._detect(win, flush=False), old)
        if found is None:
            return []
        rep, diag = self._numbered(found, win, index)
        self._reps[index - 1], self._diags[index - 1] = rep, diag
        return [LiveEvent("rep_revised", t_now, rep=rep)]

    def _refine_step(self, t_now: float, i: int) -> list[LiveEvent]:
        """One step of the re-identification under way; at its last, the new identification is taken
        and every rep re-derived (the recording it uses ended before it started: the steps' timing does
        not change the result)."""
        assert self._refining is not None
        steps, index = self._refining
        try:
            next(steps)
            return []
        except StopIteration as done:
            ident, sol = done.value  # sol: the angles with ident
        except CalibrationError as exc:
            self._refining = None
            return [self._fail(str(exc), t_now)]
        self._refining = None
        self._ident = dataclasses.replace(ident, final=self._is_final(ident, index))
        events = [LiveEvent("recalibrated", t_now, message="axes, joint centre and relative heading from the movement")]
        events.extend(self._rederive(sol, t_now))
        self._resume(i)
        return events

    def _rederive(self, sol: AngleSolution, t_now: float) -> list[LiveEvent]:
        """All reps from a whole-recording solution: the list is replaced; reps beyond the ones already
        reported are new ("rep"), the others revised ("rep_revised")."""
        assert self._ident is not None
        det = self._detect(sol, flush=False)
        reps, diags = assemble_reps(det.reps_, sol, self.params, self._ident.calibrator.calibration_.flexion_axis_confidence,
                                    self.heading.max_sigma_deg)
        n_before = len(self._reps)
        self._reps, self._diags = reps, diags
        self._due = [(_identification_end(r.end_s, self.params), r.index) for r in reps
                     if _identification_end(r.end_s, self.params) > t_now]
        return [LiveEvent("rep" if r.index > n_before else "rep_revised", t_now, rep=r) for r in reps]

    def _numbered(self, d: DetectedRep, sol: AngleSolution, index: int) -> tuple[Rep, RepDiagnostics]:
        """One rep numbered ``index``: set from the previous rep, partial against the reps so far."""
        assert self._ident is not None
        others = [r.peak_hip_flexion_deg for r in self._reps if r.index != index]
        (rep,), (diag,) = assemble_reps([d], sol, self.params, self._ident.calibrator.calibration_.flexion_axis_confidence,
                                        self.heading.max_sigma_deg, typical_deg=float(np.median(others + [d.peak_hip_deg])))
        prev = self._reps[index - 2] if index >= 2 and len(self._reps) >= index - 1 else None
        set_index = 0 if prev is None else prev.set_index + int(d.start_s - prev.end_s > self.params.set_gap_s)
        rep = dataclasses.replace(rep, index=index, set_index=set_index)
        return rep, dataclasses.replace(diag, index=index)


def _identification_end(t_s: float, p: EngineParams) -> float:
    """Where the recording used for an identification ends: ``revise_after_s`` after ``t_s`` (a rep's
    end), on a 0.5 s raster so that both modes cut the recording at the same sample."""
    return float(np.ceil((t_s + p.revise_after_s) * 2.0) / 2.0)


def _matching(det: RepDetector, target: DetectedRep | Rep) -> DetectedRep | None:
    """The rep of ``det`` that is ``target`` (overlapping it, peak closest); flushing a last one that
    has not yet come all the way down in the smoothed signal."""
    reps = list(det.reps_)
    last = det.flush()
    if last is not None:
        reps.append(last)
    cands = [r for r in reps if r.start_s < target.end_s and r.end_s > target.start_s]
    return min(cands, key=lambda r: abs(r.peak_s - target.peak_s)) if cands else None


#: The calibration stand is first looked for in this much recording from the start, seconds.
STAND_SEARCH_S = 120.0

#: A heading constant that was not solved for: the angles are the heading-free sagittal ones.
UNOBSERVED = HeadingConstant(0.0, float("inf"), 0.0, 0.0, 0)

#: Longest live window the rep smoother looks back, seconds (after long rests it starts later).
MAX_WINDOW_S = 120.0


def feed_session(engine: Engine, raw: RawSession) -> list[LiveEvent]:
    """Replay a RawSession into a live engine in session-time order (as a recorder would deliver it)."""
    events: list[LiveEvent] = []
    streams = [(s.sensor, s) for s in raw.streams()]
    merged = sorted(((float(t), name, i) for name, s in streams for i, t in enumerate(s.t_s)), key=lambda x: (x[0], x[1]))
    by_name = dict(streams)
    for t, name, i in merged:
        s = by_name[name]
        events.extend(engine.update(name, t, s.acc_m_s2[i], s.gyr_rad_s[i]))
    return events


__all__ = ["Engine", "EngineParams", "LiveEvent", "assemble_reps", "feed_session", "summarise"]
