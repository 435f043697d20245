"""The processing core's stages on arrays — what both modes of the engine (tracker/engine.py) run.

  orient_streams  each sensor: gaps handled, VQF per run (offline or online), headings stitched
  to_shared_grid  both sensors interpolated onto one uniform grid; ``valid`` False inside gaps
  solve_angles    relative heading (tracker/heading.py) → 3D and sagittal hip flexion, pelvic tilt
  detect_reps     the gap-aware rep detector (tracker/reps.py), flushed at the end
The calibration (tracker/calibration.py) sits between the grid and the angles.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tracker.calibration import CalibrationError, CalibrationInput, Calibrator
from tracker.heading import (
    METHOD_JOINT_CENTRE,
    METHOD_SAGITTAL,
    HeadingConstant,
    JointCentreTerms,
    RelativeHeading,
    drift_causal,
    drift_offline,
)
from tracker.joint_angles import (
    anatomical_axes,
    axis_heading,
    frontal_inclination,
    heading_reference,
    hip_flexion,
    pelvic_tilt,
    sagittal_inclination,
)
from tracker.orientation import OrientationEstimator, SensorOrientation
from tracker.raw import SensorStream
from tracker.reps import DetectedRep, RepDetector
from tracker.rotations import rotate_vec, unwrap
from tracker.timebase import GapPolicy, GridIndex, common_grid, native_grid


class AccRows:
    """Both sensors' accelerations on a shared grid, (thigh, pelvis): given, or resampled when first
    read — the angles and reps never read them, so a whole session's are only made when an
    identification needs all of it. ``make(n)``: the grid's first ``n`` rows (None: all)."""

    __slots__ = ("_make", "_n", "_rows")

    def __init__(
        self, rows: tuple[np.ndarray, np.ndarray] | None = None, *,
        make: Callable[[int | None], tuple[np.ndarray, np.ndarray]] | None = None, n_rows: int | None = None,
    ) -> None:
        if rows is None and make is None:
            raise ValueError("AccRows needs the rows or a way to make them")
        self._rows, self._make, self._n = rows, make, n_rows

    @property
    def made(self) -> bool:
        """Whether the rows exist yet."""
        return self._rows is not None

    def get(self) -> tuple[np.ndarray, np.ndarray]:
        """(thigh, pelvis), each (N, 3)."""
        if self._rows is None:
            assert self._make is not None
            self._rows = self._make(self._n)
        return self._rows

    def rows(self, a: int, b: int) -> AccRows:
        """Rows [a, b): a head not made yet is made on its own, when read."""
        if self._rows is None and self._make is not None and a == 0:
            return AccRows(make=self._make, n_rows=b if self._n is None else min(b, self._n))
        at, ap = self.get()
        return AccRows((at[a:b], ap[a:b]))


@dataclass(frozen=True, slots=True)
class SharedGrid:
    """Both sensors' orientation and signals on the shared uniform grid."""

    t_s: np.ndarray
    rate_hz: float
    quat_thigh: np.ndarray
    quat_pelvis: np.ndarray
    gyr_thigh: np.ndarray
    gyr_pelvis: np.ndarray
    acc: AccRows
    valid: np.ndarray
    block: np.ndarray  # heading block: changes where either sensor's heading is re-learnt (−… in gaps)
    piece: np.ndarray  # filter run: changes wherever either sensor's VQF restarted

    @property
    def acc_thigh(self) -> np.ndarray:
        return self.acc.get()[0]

    @property
    def acc_pelvis(self) -> np.ndarray:
        return self.acc.get()[1]

    def rows(self, a: int, b: int) -> SharedGrid:
        """Rows [a, b) (the first rows' accelerations, when not made yet, are made on their own)."""
        a, b = min(a, len(self.t_s)), min(b, len(self.t_s))
        return dataclasses.replace(
            self, acc=self.acc.rows(a, b),
            **{f: getattr(self, f)[a:b] for f in ("t_s", "quat_thigh", "quat_pelvis", "gyr_thigh", "gyr_pelvis", "valid", "block", "piece")},
        )

    def calibration_input(self) -> CalibrationInput:
        return CalibrationInput(
            t_s=self.t_s, rate_hz=self.rate_hz, quat_thigh=self.quat_thigh, quat_pelvis=self.quat_pelvis,
            gyr_thigh=self.gyr_thigh, gyr_pelvis=self.gyr_pelvis, acc_thigh=self.acc_thigh,
            acc_pelvis=self.acc_pelvis, valid=self.valid, block=self.block,
        )


def orient_streams(
    streams: list[SensorStream] | tuple[SensorStream, ...], *, offline: bool, policy: GapPolicy | None = None,
    tau_acc_s: float = 3.0, gyr_bias: dict[str, np.ndarray] | None = None,
) -> dict[str, SensorOrientation]:
    """Each sensor on its own grid, through VQF, headings of linked runs stitched.

    ``gyr_bias``: a prior gyroscope bias per sensor (the calibration stand's mean reading), taken off
    before VQF runs — so a run on a window of the recording starts where a run on all of it would be,
    and VQF only follows what changes."""
    out: dict[str, SensorOrientation] = {}
    for stream in streams:
        gyr = stream.gyr_rad_s if not gyr_bias or stream.sensor not in gyr_bias else stream.gyr_rad_s - gyr_bias[stream.sensor]
        try:
            grid = native_grid(stream.t_s, stream.acc_m_s2, gyr, policy=policy)
        except ValueError as exc:
            raise CalibrationError(f"{stream.sensor} sensor: {exc}") from exc
        out[stream.sensor] = OrientationEstimator(offline=offline, tau_acc_s=tau_acc_s).estimate(grid).orientation_
    return out


def to_shared_grid(orient: dict[str, SensorOrientation], rate_hz: float, *, origin_s: float | None = None) -> SharedGrid:
    """Both sensors on one uniform grid. ``origin_s``: a time the grid passes through (a window of a
    live session uses the session grid's phase, so its samples coincide with the offline ones)."""
    th, pe = orient["thigh"], orient["pelvis"]
    t = common_grid([th.t_s[0], pe.t_s[0]], [th.t_s[-1], pe.t_s[-1]], rate_hz, origin_s=origin_s)
    ix_t, ix_p = GridIndex(th.t_s, th.segment, t), GridIndex(pe.t_s, pe.segment, t)
    s_t, s_p = ix_t.segment, ix_p.segment
    b_t = _run_to_block(th, s_t)
    b_p = _run_to_block(pe, s_p)
    inside = (s_t >= 0) & (s_p >= 0)

    def accelerations(rows: int | None) -> tuple[np.ndarray, np.ndarray]:
        return ix_t.signals(th.acc_m_s2, rows=rows).T, ix_p.signals(pe.acc_m_s2, rows=rows).T

    return SharedGrid(
        t_s=t, rate_hz=rate_hz, quat_thigh=ix_t.quaternions(th.quat_wxyz).T, quat_pelvis=ix_p.quaternions(pe.quat_wxyz).T,
        gyr_thigh=ix_t.signals(th.gyr_corr_rad_s).T, gyr_pelvis=ix_p.signals(pe.gyr_corr_rad_s).T,
        acc=AccRows(make=accelerations),
        valid=ix_t.valid(th.valid) & ix_p.valid(pe.valid) & inside, block=np.where(inside, b_t * 100_000 + b_p, -1),
        piece=np.where(inside, s_t * 100_000 + s_p, -1),
    )


def raw_grid(streams: list[SensorStream] | tuple[SensorStream, ...], rate_hz: float, *, origin_s: float | None = None) -> CalibrationInput:
    """Both sensors' raw signals linearly interpolated onto the shared grid, no orientation — enough to
    find the calibration stand before any filter runs. ``valid`` is False across gaps longer than
    ``bridge_s`` of the default gap policy (lost packets inside a stand are bridged)."""
    th, pe = (next(s for s in streams if s.sensor == n) for n in ("thigh", "pelvis"))
    for s in (th, pe):
        if len(s.t_s) < 10:
            raise CalibrationError(f"{s.sensor} sensor: only {len(s.t_s)} samples; need at least 10")
    t = common_grid([th.t_s[0], pe.t_s[0]], [th.t_s[-1], pe.t_s[-1]], rate_hz, origin_s=origin_s)
    valid = np.ones(len(t), dtype=bool)
    sig = {}
    for s in (th, pe):
        x = np.hstack([s.gyr_rad_s, s.acc_m_s2])
        j = np.clip(np.searchsorted(s.t_s, t, side="right"), 1, len(s.t_s) - 1)
        u = np.clip((t - s.t_s[j - 1]) / (s.t_s[j] - s.t_s[j - 1]), 0.0, 1.0)[:, None]
        sig[s.sensor] = x[j - 1] + u * (x[j] - x[j - 1])
        valid &= (s.t_s[j] - s.t_s[j - 1]) <= GapPolicy().bridge_s
    ident = np.tile([1.0, 0.0, 0.0, 0.0], (len(t), 1))
    return CalibrationInput(
        t_s=t, rate_hz=rate_hz, quat_thigh=ident, quat_pelvis=ident, gyr_thigh=sig["thigh"][:, :3],
        gyr_pelvis=sig["pelvis"][:, :3], acc_thigh=sig["thigh"][:, 3:], acc_pelvis=sig["pelvis"][:, 3:], valid=valid,
    )


def stand_gyro_bias(streams: list[SensorStream] | tuple[SensorStream, ...], stand_s: tuple[float, float]) -> dict[str, np.ndarray]:
    """Each sensor's mean raw gyroscope reading over the stand (its bias, the segments being still)."""
    out: dict[str, np.ndarray] = {}
    for s in streams:
        m = (s.t_s >= stand_s[0]) & (s.t_s <= stand_s[1])
        out[s.sensor] = s.gyr_rad_s[m].mean(0) if m.sum() >= 5 else np.zeros(3)
    return out


def _run_to_block(o: SensorOrientation, run: np.ndarray) -> np.ndarray:
    """Each grid row's heading block from its filter run (−1 outside every run): a per-run table
    (runs are few) looked up per row."""
    n_runs = int(max(run.max(initial=0), o.segment[-1])) + 1
    first = np.searchsorted(o.segment, np.arange(n_runs))
    table = o.block[np.minimum(first, len(o.block) - 1)]
    out: np.ndarray = np.where(run >= 0, table.take(np.maximum(run, 0)), -1)
    return out


@dataclass(frozen=True, slots=True)
class AngleZeros:
    """The standing calibration pose's angles (rad), subtracted so that standing reads zero."""

    hip_3d: float
    hip_sagittal: float
    tilt: float


@dataclass(frozen=True, slots=True)
class HeldState:
    """What the live (causal) smoothers hold from earlier rows: the drift and its heading block, the
    pelvis heading reference; ``from_row``: the first row of the grid they continue on."""

    drift_rad: float = float("nan")
    block: int = -1
    heading_ref_rad: float = float("nan")
    from_row: int = 0


@dataclass(frozen=True, slots=True)
class AngleSolution:
    """Angles on the shared grid and how they were obtained."""

    t_s: np.ndarray
    valid: np.ndarray
    hip_deg: np.ndarray  # the reported hip flexion: 3D where the heading is observable, else sagittal
    hip_3d_deg: np.ndarray
    hip_sagittal_deg: np.ndarray
    tilt_deg: np.ndarray
    joint_centre: np.ndarray  # bool: the sample's hip flexion is the 3D (joint-centre heading) one
    out_of_plane_deg: np.ndarray  # |thigh frontal inclination| + |pelvic obliquity|, heading-free
    rest: np.ndarray
    delta_rad: np.ndarray
    drift_rad: np.ndarray
    constant: HeadingConstant | None
    offsets_m: tuple[np.ndarray, np.ndarray] | None
    offsets_conditioning: float
    zeros: AngleZeros
    heading_ref_rad: np.ndarray

    def held(self, block: int) -> HeldState:
        """The causal smoothers' state after the last row (to continue from on the next rows)."""
        d = self.drift_rad[np.isfinite(self.drift_rad)]
        return HeldState(drift_rad=float(d[-1]) if len(d) else float("nan"), block=block,
                         heading_ref_rad=float(self.heading_ref_rad[-1]))


def solve_angles(
    grid: SharedGrid, cal: Calibrator, side: str, heading: RelativeHeading, *, causal: bool = False,
    constant: HeadingConstant | None = None, offsets: tuple[np.ndarray, np.ndarray] | None = None,
    zeros: AngleZeros | None = None, held: HeldState | None = None, terms: JointCentreTerms | None = None,
) -> AngleSolution:
    """Hip flexion (3D and sagittal) and pelvic tilt on ``grid`` with the calibration's frames.

    ``constant``/``offsets``: the heading constant and joint-centre offsets when already known (a
    window of a live session); otherwise fitted here on the whole grid (the constant alone when only
    the offsets are given). ``zeros``: the standing pose's
    angles when the stand is not in ``grid``. ``causal``: the live smoothers (held drift and heading
    reference) instead of the interpolating ones. ``terms``: the grid's joint-centre terms when
    already computed (RelativeHeading.terms; shared by the solves of one identification)."""
    ft, fp = cal.frame_thigh_, cal.frame_pelvis_
    qt, qp = grid.quat_thigh, grid.quat_pelvis
    A_t, A_p = anatomical_axes(qt, ft), anatomical_axes(qp, fp)  # (N, 3, 3): columns X, Y, Z in earth
    y_t, x_p, y_p = A_t[:, :, 1], A_p[:, :, 0], A_p[:, :, 1]
    sag = sagittal_inclination(A_t) - sagittal_inclination(A_p)
    stand = _stand_mask(grid, cal)
    if zeros is None:
        if not stand.any():
            raise ValueError("the calibration stand is not in this grid; pass its zeros")
        z_sag = float(np.mean(sag[stand]))
    else:
        z_sag = zeros.hip_sagittal
    sag_deg = np.degrees(sag - z_sag)
    valid = grid.valid
    rest = heading.rest(grid.gyr_thigh, grid.gyr_pelvis, sag_deg, valid, grid.rate_hz)
    head = axis_heading(x_p)  # the pelvis' facing direction
    d_inst = head - axis_heading(A_t[:, :, 0])  # at rest: δ up to a constant
    h = held or HeldState()
    if causal:
        drift = np.full(len(d_inst), np.nan)
        k = h.from_row
        drift[k:] = drift_causal(d_inst[k:], rest[k:], grid.block[k:], h.drift_rad, h.block)
    else:
        drift = drift_offline(d_inst, rest, grid.piece, grid.block)
    conditioning = float("nan")
    if constant is None:
        constant, offsets, conditioning = heading.solve(side, qt, qp, grid.gyr_thigh, grid.gyr_pelvis, grid.acc_thigh,
                                                        grid.acc_pelvis, drift, valid, grid.rate_hz, offsets=offsets, terms=terms)
    use_3d = heading.observable(constant) & np.isfinite(drift)
    delta = drift + constant.c_rad
    hip3d = hip_flexion(y_t, x_p, y_p, np.where(np.isfinite(delta), delta, 0.0))
    if causal:
        ref = np.full(len(head), np.nan)
        k = h.from_row
        ref[k:] = heading_reference(head[k:], (rest | stand)[k:], grid.block[k:], causal=True, last=h.heading_ref_rad)
    else:
        ref = heading_reference(head, rest | stand, grid.block, causal=False)
    tilt = pelvic_tilt(y_p, ref)
    if zeros is None:
        zeros = AngleZeros(hip_3d=float(np.mean(hip3d[stand])), hip_sagittal=z_sag, tilt=float(np.mean(tilt[stand])))
    hip3d_deg = np.degrees(hip3d - zeros.hip_3d)
    oop = np.degrees(np.abs(frontal_inclination(A_t)) + np.abs(frontal_inclination(A_p)))  # heading-free
    return AngleSolution(
        t_s=grid.t_s, valid=valid, hip_deg=np.where(use_3d, hip3d_deg, sag_deg), hip_3d_deg=hip3d_deg,
        hip_sagittal_deg=sag_deg, tilt_deg=np.degrees(tilt - zeros.tilt), joint_centre=use_3d,
        out_of_plane_deg=oop, rest=rest, delta_rad=delta, drift_rad=drift, constant=constant, offsets_m=offsets,
        offsets_conditioning=conditioning, zeros=zeros, heading_ref_rad=ref,
    )


def refine_pelvis_axis(grid: SharedGrid, cal: Calibrator, sol: AngleSolution, exercise: str) -> Calibrator | None:
    """For drills whose pelvis axis is "functional": the calibration with the pelvis ML axis from the
    thigh's motion relative to the pelvis, now that δ is known — None when it does not apply."""
    from tracker.calibration import nominal_ml_axis, pelvis_axis_functional
    from tracker.conventions import DRILL_MOTION
    from tracker.rotations import quat_to_matrix

    if DRILL_MOTION[exercise].pelvis_axis != "functional":
        return None
    use = sol.valid & sol.joint_centre
    stand = np.flatnonzero(_stand_mask(grid, cal) & np.isfinite(sol.delta_rad))
    if not use.any() or not len(stand):
        return None
    idx = np.flatnonzero(use)
    if len(idx) > 3000:
        idx = idx[np.linspace(0, len(idx) - 1, 3000).astype(int)]
    sel = np.r_[stand[len(stand) // 2], idx]
    j_p = pelvis_axis_functional(
        quat_to_matrix(grid.quat_thigh[sel]), quat_to_matrix(grid.quat_pelvis[sel]), sol.delta_rad[sel], 0,
        cal.up_pelvis_, nominal_ml_axis("pelvis", cal.side_),
    )
    if j_p is None:
        return None
    return cal.with_pelvis_axis(j_p, "pelvis_axis_functional")


def _stand_mask(grid: SharedGrid, cal: Calibrator) -> np.ndarray:
    """The calibration stand's valid samples on ``grid`` (which may be a window of the session)."""
    t0, t1 = cal.stand_span_s_
    out: np.ndarray = (grid.t_s >= t0) & (grid.t_s <= t1) & grid.valid
    return out


def detect_reps(sol: AngleSolution, detector: RepDetector, *, flush: bool) -> list[DetectedRep]:
    """The rep detector over the reported hip flexion and the tilt; ``flush``: the recording is over."""
    detector.detect(sol.t_s, sol.hip_deg, sol.tilt_deg, sol.valid)
    if flush:
        detector.flush()
    return list(detector.reps_)


__all__ = [
    "METHOD_JOINT_CENTRE",
    "METHOD_SAGITTAL",
    "AngleSolution",
    "AngleZeros",
    "HeldState",
    "SharedGrid",
    "StreamingAngles",
    "detect_reps",
    "orient_streams",
    "solve_angles",
    "to_shared_grid",
]


def _rot(q: np.ndarray, v: np.ndarray) -> tuple[float, float, float]:
    """R(q)·v for one quaternion (w, x, y, z) and one vector, in plain floats (the live path's hot loop)."""
    w, x, y, z = (float(c) for c in q)
    v0, v1, v2 = (float(c) for c in v)
    t0, t1, t2 = 2.0 * (y * v2 - z * v1), 2.0 * (z * v0 - x * v2), 2.0 * (x * v1 - y * v0)
    return v0 + w * t0 + (y * t2 - z * t1), v1 + w * t1 + (z * t0 - x * t2), v2 + w * t2 + (x * t1 - y * t0)


def _wrap(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


class StreamingAngles:
    """``solve_angles(causal=True)`` one grid row at a time — the same formulas and decisions in plain
    floats, for the live display (a row costs microseconds instead of a numpy call per formula).

    ``start(sol, grid)`` takes over the smoothers' state from a batch solution of the rows so far;
    ``step`` then continues exactly where that solution would have continued (tests check it)."""

    def __init__(self, grid_rate_hz: float, cal: Calibrator, heading: RelativeHeading, constant: HeadingConstant,
                 zeros: AngleZeros) -> None:
        self.rate = grid_rate_hz
        self.ft, self.fp = cal.frame_thigh_, cal.frame_pelvis_
        self.stand = cal.stand_span_s_
        self.heading = heading
        self.c = constant.c_rad
        self.observable = heading.observable(constant)
        self.zeros = zeros
        self.n_gyr = max(1, int(round(0.25 * grid_rate_hz)))
        self.n_rest = max(1, int(round(heading.rest_min_s * grid_rate_hz)))
        self.g_t: deque[float] = deque(maxlen=self.n_gyr)
        self.g_p: deque[float] = deque(maxlen=self.n_gyr)
        self.still_run = 0
        self.rows = 0
        self.drift, self.block = float("nan"), -1
        self.ref, self.ref_block, self.head_unwrapped = float("nan"), -1, float("nan")

    def start(self, sol: AngleSolution, grid: SharedGrid) -> StreamingAngles:
        """The state after the last row of ``sol`` (a causal solution of every row so far)."""
        n = len(grid.t_s)
        self.rows = n
        for k in range(max(0, n - self.n_gyr), n):
            self.g_t.append(float(np.linalg.norm(grid.gyr_thigh[k])))
            self.g_p.append(float(np.linalg.norm(grid.gyr_pelvis[k])))
        still = self._still_array(sol, grid)
        not_still = np.flatnonzero(~still)
        self.still_run = n - 1 - int(not_still[-1]) if len(not_still) else n
        fin = np.flatnonzero(np.isfinite(sol.drift_rad) & (grid.block == grid.block[-1]))
        self.block = int(grid.block[-1])
        self.drift = float(sol.drift_rad[fin[-1]]) if len(fin) else float("nan")
        self.ref, self.ref_block = float(sol.heading_ref_rad[-1]), int(grid.block[-1])
        # the batch unwraps the pelvis heading along the block from its first row: continue from the last
        same = np.flatnonzero(grid.block == grid.block[-1])
        x = rotate_vec(grid.quat_pelvis[same], self.fp[:, 0])
        self.head_unwrapped = float(unwrap(np.arctan2(x[:, 1], x[:, 0]))[-1])
        return self

    def _still_array(self, sol: AngleSolution, grid: SharedGrid) -> np.ndarray:
        from tracker.heading import trailing_mean

        still = grid.valid & (np.abs(sol.hip_sagittal_deg) < self.heading.rest_hip_deg)
        for g in (grid.gyr_thigh, grid.gyr_pelvis):
            still &= trailing_mean(np.linalg.norm(g, axis=1), self.n_gyr) < self.heading.rest_gyr_rad_s
        out: np.ndarray = still
        return out

    def step(self, t: float, qt: np.ndarray, qp: np.ndarray, gt: np.ndarray, gp: np.ndarray, valid: bool, block: int) -> tuple[float, float, bool]:
        """One row → (hip flexion °, pelvic tilt °, rest)."""
        ft, fp, z = self.ft, self.fp, self.zeros
        x_t, y_t = _rot(qt, ft[:, 0]), _rot(qt, ft[:, 1])
        x_p, y_p = _rot(qp, fp[:, 0]), _rot(qp, fp[:, 1])
        sag = math.atan2(x_t[2], y_t[2]) - math.atan2(x_p[2], y_p[2]) - z.hip_sagittal
        sag_deg = math.degrees(sag)
        self.g_t.append(math.sqrt(float(gt @ gt)))
        self.g_p.append(math.sqrt(float(gp @ gp)))
        thr = self.heading.rest_gyr_rad_s
        still = (valid and abs(sag_deg) < self.heading.rest_hip_deg and sum(self.g_t) / len(self.g_t) < thr
                 and sum(self.g_p) / len(self.g_p) < thr)
        self.still_run = self.still_run + 1 if still else 0
        self.rows += 1
        rest = self.still_run >= self.n_rest and self.rows >= self.n_rest
        if block != self.block:
            self.drift, self.block = float("nan"), block
        if rest:
            d = math.atan2(x_p[1], x_p[0]) - math.atan2(x_t[1], x_t[0])
            self.drift = d if not math.isfinite(self.drift) else self.drift + _wrap(d - self.drift)
        h_raw = math.atan2(x_p[1], x_p[0])
        if block != self.ref_block:
            self.ref_block, self.head_unwrapped = block, h_raw
            self.ref = h_raw
        else:
            self.head_unwrapped += _wrap(h_raw - self.head_unwrapped)
        in_stand = valid and self.stand[0] <= t <= self.stand[1]
        if rest or in_stand:
            self.ref = self.head_unwrapped
        if self.observable and math.isfinite(self.drift):
            dl = self.drift + self.c
            cs, sn = math.cos(dl), math.sin(dl)
            yt = (cs * y_t[0] - sn * y_t[1], sn * y_t[0] + cs * y_t[1], y_t[2])
            hip = math.degrees(math.atan2(-(x_p[0] * yt[0] + x_p[1] * yt[1] + x_p[2] * yt[2]),
                                          y_p[0] * yt[0] + y_p[1] * yt[1] + y_p[2] * yt[2]) - z.hip_3d)
        else:
            hip = sag_deg
        tilt = math.degrees(math.atan2(y_p[0] * math.cos(self.ref) + y_p[1] * math.sin(self.ref), y_p[2]) - z.tilt)
        return hip, tilt, rest

