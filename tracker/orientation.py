"""Per-sensor orientation with VQF (6D, gyroscope bias estimation) — offline and online, gaps included.

Convention (VQF's, stated once): a quaternion ``q`` (w, x, y, z) rotates sensor-frame vectors into
the sensor's own earth frame, ``v_E = q ⊗ v_S ⊗ q*``; earth z points up; the heading (rotation about
earth z) is arbitrary per sensor and drifts slowly. The processing core resolves the relative heading
of the two sensors itself (tracker/heading.py).

Gaps (tracker/timebase.py, ``GapPolicy``): the filter restarts after every gap longer than a few
packets, so its inclination comes from gravity again at once; within a heading block the new run's
heading is *stitched* to the previous run's orientation carried across the gap by the gyroscope
readings on both sides (:func:`stitch_heading`) — the same function offline (``offlineVQF`` per run)
and online (:class:`OnlineOrientation`, one sample at a time).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import vqf

from tracker import rotations as Q
from tracker.timebase import GapPolicy, SensorGrid


@dataclass(frozen=True, slots=True)
class SensorOrientation:
    """Orientation and bias-corrected angular velocity of one sensor on its native grid."""

    t_s: np.ndarray
    quat_wxyz: np.ndarray  # (M, 4) sensor → own earth frame (heading stitched within a block)
    gyr_corr_rad_s: np.ndarray  # (M, 3) gyroscope minus VQF's bias estimate
    acc_m_s2: np.ndarray
    valid: np.ndarray
    segment: np.ndarray  # filter run
    block: np.ndarray  # heading block (runs linked across short gaps share one)
    dt_s: float


def carried_across(q_end: np.ndarray, gyr_end: np.ndarray, gyr_next: np.ndarray, gap_s: float) -> np.ndarray:
    """The orientation after a gap, integrated from the last one with the mean of the (bias-corrected)
    angular velocities on both sides — the linear interpolation the bridged samples would have used."""
    w = 0.5 * (np.asarray(gyr_end, dtype=float) + np.asarray(gyr_next, dtype=float)) * gap_s
    out: np.ndarray = Q.mul(q_end, Q.exp(w))
    return out


#: Rotation hidden in a gap (mean angular speed × gap) above which the heading is carried by the axis
#: the segment was turning about, rad.
AXIS_LINK_MIN_RAD = np.radians(15.0)

#: Gyro samples before a gap that define that axis (~0.3 s at 100 Hz).
LINK_WINDOW_N = 30


def stitch_heading(q_end: np.ndarray, gyr_before: np.ndarray, q_first: np.ndarray, gyr_first: np.ndarray, gap_s: float) -> float | None:
    """Rotation about earth z (rad) that puts a restarted run into the previous run's earth frame.

    ``q_end``/``gyr_before``: the last orientation and the bias-corrected gyro of the last ~0.3 s before
    the gap; ``q_first``/``gyr_first``: the new run's first orientation (inclination from gravity) and
    gyro sample. A segment that kept turning about one axis through the gap (a thigh being raised or
    lowered) turned about it by an unknown angle, but the axis' own heading did not change: the heading
    is carried by that axis. With little motion the orientation is carried across by the mean angular
    velocity and its twist about z is taken over (its inclination part comes from gravity in the new
    run). A large hidden rotation without one dominant, non-vertical axis carries nothing: None — the
    heading is then re-learnt. Errors left by a link are bounded by the hidden rotation about the
    vertical (pelvic rotation during the gap); the relative heading is re-anchored at the next rest.
    """
    gyr_before = np.atleast_2d(gyr_before)
    w_mean = 0.5 * (gyr_before[-1] + gyr_first)
    if float(np.linalg.norm(w_mean)) * gap_s > AXIS_LINK_MIN_RAD:
        g = np.vstack([gyr_before, gyr_first[None]])
        vals, vecs = np.linalg.eigh(g.T @ g)
        j = vecs[:, -1]
        if vals[-1] < 0.8 * max(float(vals.sum()), 1e-12):
            return None
        e0, e1 = Q.rotate(q_end, j), Q.rotate(q_first, j)
        if min(np.hypot(e0[0], e0[1]), np.hypot(e1[0], e1[1])) < 0.5:
            return None
        return float(np.arctan2(e0[1], e0[0]) - np.arctan2(e1[1], e1[0]))
    up = np.array([0.0, 0.0, 1.0])
    if float(Q.rotate_inv(q_end, up) @ Q.rotate_inv(q_first, up)) < np.cos(AXIS_LINK_MIN_RAD):
        return None  # a whole movement hidden in the gap (still on both sides, inclination changed)
    r = Q.mul(carried_across(q_end, gyr_before[-1], gyr_first, gap_s), Q.conj(q_first))
    return float(2.0 * np.arctan2(r[3], r[0]))


def _rotate_heading(quats: np.ndarray, h: float, out: np.ndarray | None = None) -> np.ndarray:
    """Rz(h) ⊗ q for one (4,) or (N, 4) quaternions: ``Q.mul(Q.about_axis("Z", h), q)`` as one matrix
    product (left multiplication by a fixed quaternion is linear; this turns whole filter runs).
    ``out``: where to write (not ``quats`` itself)."""
    c, s = np.cos(0.5 * h), np.sin(0.5 * h)
    left_t = np.array([[c, 0.0, 0.0, s], [0.0, c, s, 0.0], [0.0, -s, c, 0.0], [-s, 0.0, 0.0, c]])  # transposed
    return np.matmul(quats, left_t, out=out)


class OrientationEstimator:
    """Run VQF over each filter run of a :class:`SensorGrid` and stitch the headings of linked runs.

    Parameters
    ----------
    offline
        True: ``vqf.offlineVQF`` (acausal, most accurate; the offline path). False: the online
        ``vqf.VQF`` filter run with ``updateBatch`` — identical to feeding it sample by sample.
    tau_acc_s
        VQF's accelerometer time constant, seconds (VQF default 3 s).
    """

    def __init__(self, *, offline: bool = True, tau_acc_s: float = 3.0) -> None:
        if not tau_acc_s > 0:
            raise ValueError(f"tau_acc_s must be > 0 seconds, got {tau_acc_s!r}")
        self.offline = offline
        self.tau_acc_s = tau_acc_s

    def estimate(self, grid: SensorGrid) -> OrientationEstimator:
        n = len(grid.t_s)
        edges = np.flatnonzero(np.diff(grid.segment) != 0) + 1
        starts, ends = np.r_[0, edges], np.r_[edges, n]
        links = grid.link_gap_s if grid.link_gap_s is not None else np.full(len(starts), np.nan)
        # one run (no long gap): the filter's output is the result as it is; several: written in place
        quats: np.ndarray | None = None if len(starts) == 1 else np.empty((n, 4))
        gyr_corr = np.empty((n, 3))  # the gyroscope minus the filter's bias estimate
        block = np.empty(n, dtype=int)
        k_block = 0
        last_bias = np.zeros(3)
        for r, (a, b) in enumerate(zip(starts, ends)):
            gyr = np.ascontiguousarray(grid.gyr_rad_s[a:b])
            acc = np.ascontiguousarray(grid.acc_m_s2[a:b])
            if self.offline:
                out = vqf.offlineVQF(gyr, acc, None, grid.dt_s, {"tauAcc": self.tau_acc_s})
            else:
                out = vqf.VQF(grid.dt_s, tauAcc=self.tau_acc_s).updateBatch(gyr, acc)
            q_run = out["quat6D"]
            np.subtract(grid.gyr_rad_s[a:b], out["bias"], out=gyr_corr[a:b])
            if quats is None:
                quats = q_run
                block[:] = 0
                break
            h = None
            if r > 0 and np.isfinite(links[r]):
                lo = max(int(starts[r - 1]), a - LINK_WINDOW_N)
                h = stitch_heading(quats[a - 1], gyr_corr[lo:a], q_run[0], grid.gyr_rad_s[a] - last_bias, float(links[r]))
            if h is None:
                k_block += r > 0
                quats[a:b] = q_run
            else:  # straight from the filter's output into place
                _rotate_heading(q_run, h, out=quats[a:b])
            block[a:b] = k_block
            last_bias = out["bias"][-1]
        assert quats is not None
        self.orientation_ = SensorOrientation(
            t_s=grid.t_s,
            quat_wxyz=quats,
            gyr_corr_rad_s=gyr_corr,
            acc_m_s2=grid.acc_m_s2,
            valid=grid.valid,
            segment=grid.segment,
            block=block,
            dt_s=grid.dt_s,
        )
        return self


@dataclass(slots=True)
class OrientedSample:
    """One online output: the sample's time, orientation, bias-corrected gyro, acc, block, and whether
    a gap precedes it (grid instants between it and the previous sample are then not reported)."""

    t: float
    q: np.ndarray
    g: np.ndarray
    a: np.ndarray
    after_gap: bool
    block: int


class OnlineOrientation:
    """One sensor's online VQF with the offline path's gap handling, one sample at a time.

    Gaps up to ``policy.bridge_s`` are bridged with interpolated samples (not reported); longer ones
    restart the filter (bias estimate carried over) and, up to ``policy.link_s``, stitch the new run's
    heading to the orientation carried across the gap — exactly what :class:`OrientationEstimator`
    does offline.
    """

    def __init__(self, name: str, dt_s: float, *, tau_acc_s: float = 3.0, policy: GapPolicy | None = None) -> None:
        if not dt_s > 0:
            raise ValueError(f"{name}: sample period must be > 0, got {dt_s!r}")
        self.name = name
        self.dt = float(dt_s)
        self.tau_acc_s = tau_acc_s
        self.policy = policy or GapPolicy()
        self.filter = vqf.VQF(self.dt, tauAcc=tau_acc_s)
        self.heading = 0.0  # stitch of the current run
        self.block = 0
        self.last: tuple[float, np.ndarray, np.ndarray] | None = None  # raw t, acc, gyr
        self.last_out: OrientedSample | None = None
        self.recent_gyr: deque[np.ndarray] = deque(maxlen=LINK_WINDOW_N)  # bias-corrected, this run

    def push(self, t_s: float, acc: np.ndarray, gyr: np.ndarray) -> OrientedSample:
        after_gap = False
        link: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        if self.last is not None:
            t0, a0, g0 = self.last
            gap = t_s - t0
            if gap <= 0:
                raise ValueError(f"{self.name}: time went backwards at t={t_s:.6f} s (previous {t0:.6f} s)")
            if gap > self.policy.gap_factor * self.dt:
                after_gap = True
                if gap <= self.policy.bridge_s:  # keep the integration continuous; outputs stay invalid
                    n_missing = min(int(round(gap / self.dt)) - 1, int(self.policy.bridge_s / self.dt) + 1)
                    for k in range(1, n_missing + 1):
                        u = k / (n_missing + 1)
                        self.filter.update(g0 + u * (gyr - g0), a0 + u * (acc - a0))
                else:
                    link = self._restart(gap)
        f = self.filter
        f.update(gyr, acc)
        bias, _ = f.getBiasEstimate()
        g = gyr - bias
        q = np.asarray(f.getQuat6D())
        if link is not None:
            q_end, before, bias_before = link
            h = stitch_heading(q_end, before, q, gyr - bias_before, gap)
            if h is None:
                self.block += 1
            else:
                self.heading = h
        if self.heading:
            q = _rotate_heading(q, self.heading)
        self.last = (t_s, acc, gyr)
        self.recent_gyr.append(g)
        out = OrientedSample(t_s, q, g, acc, after_gap, self.block)
        self.last_out = out
        return out

    def _restart(self, gap: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """A fresh filter (bias estimate kept); what the heading link needs when the gap is linkable:
        (last orientation, the run's recent corrected gyro, its bias), else None (a new block)."""
        prev = self.last_out
        bias, sigma = self.filter.getBiasEstimate()
        before = np.array(self.recent_gyr)
        self.recent_gyr.clear()
        self.filter = vqf.VQF(self.dt, tauAcc=self.tau_acc_s)
        self.filter.setBiasEstimate(bias, sigma)
        self.heading = 0.0
        if gap > self.policy.link_s or prev is None:
            self.block += 1
            return None
        return prev.q, before, np.asarray(bias)
