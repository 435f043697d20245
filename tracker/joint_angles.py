"""Hip flexion (ISB JCS) and pelvic tilt from two 6D orientations with unknown relative heading.

The two VQF earth frames share the vertical but not the heading, and each heading drifts. Subtracting
world inclinations would ignore pelvic obliquity and rotation (15°+ errors on real straight-leg
raises), so the relative heading δ is resolved from the hip's kinematic constraint instead: the
flexion axis is (nearly) the same line in the pelvis and the thigh, so rotating the thigh's earth
frame by δ about the vertical must bring the thigh's medio-lateral axis onto the pelvis' one. δ is
measured at every sample (weighted by how horizontal both axes are), then smoothed over several
seconds — transient hip rotation averages out, the filters' slow heading drift is followed.

Then R_rel = (R_p·F_p)ᵀ · Rz(δ) · (R_t·F_t), with F the sensor ← anatomical frames from calibration,
and hip flexion is the first angle of its Z-X-Y Cardan decomposition (Wu 2002 JCS: e1 = pelvis Z).

Pelvic tilt is the first (Z) angle of the pelvis' Z-X-Y decomposition relative to a heading
reference frame (+ anterior). The heading reference is the pelvis' own facing direction while the
hip rests between reps (the pelvis rotates 10–30° *during* single-leg reps, which must not leak into
tilt), interpolated across reps; the standing calibration pose is zero.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from tracker.rotations import quat_to_matrix, rotate_vec


def delta_from_axes(zt: np.ndarray, zp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """δ and weight from the thigh's and pelvis' ML axes in their own earth frames (N, 3)."""
    ht = np.hypot(zt[:, 0], zt[:, 1])
    hp = np.hypot(zp[:, 0], zp[:, 1])
    return np.arctan2(zp[:, 1], zp[:, 0]) - np.arctan2(zt[:, 1], zt[:, 0]), (ht * hp) ** 2


def flexion_from_axes(y_t: np.ndarray, x_p: np.ndarray, y_p: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """JCS flexion from the thigh's superior axis (own earth frame) and the pelvis' X, Y axes."""
    c, s = np.cos(delta), np.sin(delta)
    yt0 = c * y_t[:, 0] - s * y_t[:, 1]
    yt1 = s * y_t[:, 0] + c * y_t[:, 1]
    out: np.ndarray = np.arctan2(-(x_p[:, 0] * yt0 + x_p[:, 1] * yt1 + x_p[:, 2] * y_t[:, 2]), y_p[:, 0] * yt0 + y_p[:, 1] * yt1 + y_p[:, 2] * y_t[:, 2])
    return out


def tilt_from_axes(y_p: np.ndarray, heading_ref: np.ndarray) -> np.ndarray:
    """Pelvic tilt (+ anterior) from the pelvis' superior axis and the heading reference."""
    out: np.ndarray = np.arctan2(y_p[:, 0] * np.cos(heading_ref) + y_p[:, 1] * np.sin(heading_ref), y_p[:, 2])
    return out


def instantaneous_delta(rot_t: np.ndarray, rot_p: np.ndarray, axis_t: np.ndarray, axis_p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample relative heading δ (rad) aligning the hinge axes (sensor coordinates; a (3, 3)
    anatomical frame stands for its ML column), and its weight (0..1)."""
    zt = rot_t @ (axis_t[:, 2] if np.ndim(axis_t) == 2 else axis_t)
    zp = rot_p @ (axis_p[:, 2] if np.ndim(axis_p) == 2 else axis_p)
    ht = np.hypot(zt[:, 0], zt[:, 1])
    hp = np.hypot(zp[:, 0], zp[:, 1])
    delta = np.arctan2(zp[:, 1], zp[:, 0]) - np.arctan2(zt[:, 1], zt[:, 0])
    return delta, (ht * hp) ** 2


def smooth_delta(delta: np.ndarray, weight: np.ndarray, block: np.ndarray, window_n: int) -> np.ndarray:
    """Zero-phase weighted circular moving average of δ within each contiguous block."""
    out = np.empty_like(delta)
    c, s = weight * np.cos(delta), weight * np.sin(delta)
    edges = np.flatnonzero(np.diff(block) != 0) + 1
    for a, b in zip(np.concatenate([[0], edges]), np.concatenate([edges, [len(delta)]])):
        cc, ss = np.cumsum(np.r_[0.0, c[a:b]]), np.cumsum(np.r_[0.0, s[a:b]])
        n = b - a
        h = window_n // 2
        lo = np.clip(np.arange(n) - h, 0, n)
        hi = np.clip(np.arange(n) + h + 1, 0, n)
        out[a:b] = np.arctan2(ss[hi] - ss[lo], cc[hi] - cc[lo])
    return out


class CausalDelta:
    """Live counterpart of :func:`smooth_delta`: exponential weighted circular average (time constant)."""

    def __init__(self, tau_s: float, rate_hz: float) -> None:
        self.alpha = 1.0 - np.exp(-1.0 / (tau_s * rate_hz))
        self.c = 0.0
        self.s = 0.0
        self.initialised = False

    def update(self, delta: float, weight: float) -> float:
        if not self.initialised:
            self.c, self.s, self.initialised = weight * np.cos(delta), weight * np.sin(delta), True
        else:
            self.c += self.alpha * (weight * np.cos(delta) - self.c)
            self.s += self.alpha * (weight * np.sin(delta) - self.s)
        return float(np.arctan2(self.s, self.c))

    def update_batch(self, delta: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Identical to calling :meth:`update` for each sample (a first-order IIR, run by lfilter)."""
        delta = np.asarray(delta, dtype=float)
        weight = np.asarray(weight, dtype=float)
        if len(delta) == 0:
            return np.empty(0)
        xc, xs = weight * np.cos(delta), weight * np.sin(delta)
        head: list[np.ndarray] = []
        if not self.initialised:
            self.update(float(delta[0]), float(weight[0]))
            head = [np.array([np.arctan2(self.s, self.c)])]
            xc, xs = xc[1:], xs[1:]
        a = self.alpha
        b, den = [a], [1.0, a - 1.0]
        c, _ = signal.lfilter(b, den, xc, zi=[(1.0 - a) * self.c])
        s, _ = signal.lfilter(b, den, xs, zi=[(1.0 - a) * self.s])
        if len(c):
            self.c, self.s = float(c[-1]), float(s[-1])
        return np.concatenate(head + [np.arctan2(s, c)])


def hip_flexion_rad(rot_t: np.ndarray, rot_p: np.ndarray, frame_t: np.ndarray, frame_p: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """ISB JCS hip flexion (rad, + flexion) of the thigh relative to the pelvis.

    R_rel = (R_p·F_p)ᵀ·Rz(δ)·(R_t·F_t); flexion = atan2(−R_rel[0,1], R_rel[1,1]) needs only the
    thigh's superior axis (rotated by δ) against the pelvis' anterior and superior axes.
    """
    y_t = rot_t @ frame_t[:, 1]
    c, s = np.cos(delta), np.sin(delta)
    y_t = np.column_stack([c * y_t[:, 0] - s * y_t[:, 1], s * y_t[:, 0] + c * y_t[:, 1], y_t[:, 2]])
    x_p = rot_p @ frame_p[:, 0]
    y_p = rot_p @ frame_p[:, 1]
    out: np.ndarray = np.arctan2(-(x_p * y_t).sum(1), (y_p * y_t).sum(1))
    return out


def pelvis_heading_rad(rot_p: np.ndarray, frame_p: np.ndarray) -> np.ndarray:
    """Facing direction of the pelvis (heading of its anterior axis) in the pelvis' earth frame."""
    x = rot_p @ frame_p[:, 0]
    out: np.ndarray = np.arctan2(x[:, 1], x[:, 0])
    return out


def pelvic_tilt_rad(rot_p: np.ndarray, frame_p: np.ndarray, heading_ref: np.ndarray) -> np.ndarray:
    """Z angle of the pelvis' Z-X-Y decomposition in the heading reference frame (+ anterior)."""
    y = rot_p @ frame_p[:, 1]  # superior axis in earth (z up)
    fwd = np.column_stack([np.cos(heading_ref), np.sin(heading_ref), np.zeros_like(heading_ref)])
    out: np.ndarray = np.arctan2((y * fwd).sum(1), y[:, 2])
    return out


def rest_heading_reference(heading: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Interpolate the pelvis heading over rest samples (unwrapped), holding it at the ends."""
    unwrapped = np.unwrap(heading)
    idx = np.flatnonzero(rest)
    if len(idx) < 2:
        return np.full_like(heading, np.median(unwrapped))
    return np.interp(np.arange(len(heading)), idx, unwrapped[idx])


class HipAngleEstimator:
    """Offline hip flexion and pelvic tilt on the shared grid.

    Parameters
    ----------
    heading_window_s
        Width of the zero-phase smoothing window for the relative heading δ. Default 6 s: longer
        than a rep's transient hip rotation, far shorter than VQF's heading drift.
    rest_hip_deg
        |hip flexion| below which the hip is "at rest" for the pelvis heading reference. Default 8°.
    """

    def __init__(self, *, heading_window_s: float = 6.0, rest_hip_deg: float = 8.0) -> None:
        if not heading_window_s > 0:
            raise ValueError(f"heading_window_s must be > 0 seconds, got {heading_window_s!r}")
        if not rest_hip_deg > 0:
            raise ValueError(f"rest_hip_deg must be > 0 degrees, got {rest_hip_deg!r}")
        self.heading_window_s = heading_window_s
        self.rest_hip_deg = rest_hip_deg

    def estimate(
        self,
        quat_thigh: np.ndarray,
        quat_pelvis: np.ndarray,
        frame_thigh: np.ndarray,
        frame_pelvis: np.ndarray,
        block: np.ndarray,
        rate_hz: float,
        stand: tuple[int, int],
        gyr_pelvis: np.ndarray | None = None,
        hinge_thigh: np.ndarray | None = None,
        hinge_pelvis: np.ndarray | None = None,
    ) -> HipAngleEstimator:
        """``hinge_*``: the hip's functional flexion axis in each sensor's coordinates (the same line
        at the stand), used to track the relative heading; default: the frames' ML axes."""
        z_t = rotate_vec(quat_thigh, frame_thigh[:, 2] if hinge_thigh is None else hinge_thigh)
        y_t = rotate_vec(quat_thigh, frame_thigh[:, 1])
        x_p = rotate_vec(quat_pelvis, frame_pelvis[:, 0])
        y_p = rotate_vec(quat_pelvis, frame_pelvis[:, 1])
        z_p = rotate_vec(quat_pelvis, frame_pelvis[:, 2] if hinge_pelvis is None else hinge_pelvis)
        d_inst, w = delta_from_axes(z_t, z_p)
        delta = smooth_delta(d_inst, w, block, max(1, int(self.heading_window_s * rate_hz)))
        hip = flexion_from_axes(y_t, x_p, y_p, delta)
        heading = np.arctan2(x_p[:, 1], x_p[:, 0])
        rest = np.abs(np.degrees(hip)) < self.rest_hip_deg
        if gyr_pelvis is not None:
            rest &= np.linalg.norm(gyr_pelvis, axis=1) < 0.3
        ref = np.empty_like(heading)
        edges = np.flatnonzero(np.diff(block) != 0) + 1
        for a, b in zip(np.concatenate([[0], edges]), np.concatenate([edges, [len(hip)]])):
            ref[a:b] = rest_heading_reference(heading[a:b], rest[a:b])
        tilt = tilt_from_axes(y_p, ref)
        i0, i1 = stand
        tilt = tilt - np.mean(tilt[i0:i1])
        hip = hip - np.mean(hip[i0:i1])
        self.hip_flexion_rad_ = hip
        self.pelvic_tilt_rad_ = tilt
        self.delta_rad_ = delta
        self.delta_inst_rad_ = d_inst
        self.delta_weight_ = w
        self.heading_ref_rad_ = ref
        return self


class StreamingHipAngles:
    """The live counterpart of :class:`HipAngleEstimator`, one sample at a time.

    Same formulas; the two acausal parts become causal: the relative heading δ is an exponentially
    weighted circular mean (time constant ``heading_tau_s``) and the pelvis heading reference holds
    its last rest value instead of interpolating between rests. ``hip_offset_rad``/``tilt_offset_rad``
    are the stand means (the standing pose is zero), computed by the caller on the stand.
    """

    def __init__(
        self, frame_thigh: np.ndarray, frame_pelvis: np.ndarray, rate_hz: float, *,
        heading_tau_s: float = 3.0, rest_hip_deg: float = 8.0,
        hinge_thigh: np.ndarray | None = None, hinge_pelvis: np.ndarray | None = None,
    ) -> None:
        if not heading_tau_s > 0:
            raise ValueError(f"heading_tau_s must be > 0 seconds, got {heading_tau_s!r}")
        self.frame_thigh = frame_thigh
        self.frame_pelvis = frame_pelvis
        # the axes the relative heading is tracked with (as HipAngleEstimator's hinge_*)
        self.hinge_thigh = frame_thigh[:, 2] if hinge_thigh is None else np.asarray(hinge_thigh, dtype=float)
        self.hinge_pelvis = frame_pelvis[:, 2] if hinge_pelvis is None else np.asarray(hinge_pelvis, dtype=float)
        self.rest_hip_rad = np.radians(rest_hip_deg)
        self.delta = CausalDelta(heading_tau_s, rate_hz)
        self.heading_ref = float("nan")
        self.hip_offset_rad = 0.0
        self.tilt_offset_rad = 0.0
        self.delta_rad = float("nan")

    def prime(self, quat_thigh: np.ndarray, quat_pelvis: np.ndarray) -> None:
        """Initialise δ, the heading reference and the zero offsets from the stand (arrays)."""
        rot_t, rot_p = quat_to_matrix(quat_thigh), quat_to_matrix(quat_pelvis)
        d, w = instantaneous_delta(rot_t, rot_p, self.hinge_thigh, self.hinge_pelvis)
        for di, wi in zip(d, w):
            self.delta.update(float(di), float(wi))
        dl = np.full(len(d), self.delta.update(float(d[-1]), float(w[-1])))
        self.hip_offset_rad = float(np.mean(hip_flexion_rad(rot_t, rot_p, self.frame_thigh, self.frame_pelvis, dl)))
        head = pelvis_heading_rad(rot_p, self.frame_pelvis)
        self.heading_ref = float(np.angle(np.mean(np.exp(1j * head))))
        self.tilt_offset_rad = float(np.mean(pelvic_tilt_rad(rot_p, self.frame_pelvis, np.full(len(d), self.heading_ref))))

    def step(self, quat_thigh: np.ndarray, quat_pelvis: np.ndarray, gyr_pelvis: np.ndarray) -> tuple[float, float]:
        """One shared-grid sample → (hip flexion, pelvic tilt) in degrees."""
        rot_t, rot_p = quat_to_matrix(quat_thigh[None]), quat_to_matrix(quat_pelvis[None])
        d, w = instantaneous_delta(rot_t, rot_p, self.hinge_thigh, self.hinge_pelvis)
        self.delta_rad = self.delta.update(float(d[0]), float(w[0]))
        hip = float(hip_flexion_rad(rot_t, rot_p, self.frame_thigh, self.frame_pelvis, np.array([self.delta_rad]))[0])
        hip -= self.hip_offset_rad
        if abs(hip) < self.rest_hip_rad and float(np.linalg.norm(gyr_pelvis)) < 0.3:
            self.heading_ref = float(pelvis_heading_rad(rot_p, self.frame_pelvis)[0])
        tilt = float(pelvic_tilt_rad(rot_p, self.frame_pelvis, np.array([self.heading_ref]))[0]) - self.tilt_offset_rad
        return float(np.degrees(hip)), float(np.degrees(tilt))

    def step_batch(self, quat_thigh: np.ndarray, quat_pelvis: np.ndarray, gyr_pelvis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Many shared-grid samples → (hip flexion, pelvic tilt) arrays in degrees.

        Identical to calling :meth:`step` for each row (same formulas, same state afterwards): the
        causal δ average runs as an IIR filter, the held heading reference as a forward fill of the
        last rest sample. Used by the live path to replay its buffer after re-identifying the axes.
        """
        n = len(quat_thigh)
        if n == 0:
            return np.empty(0), np.empty(0)
        rot_t, rot_p = quat_to_matrix(np.asarray(quat_thigh)), quat_to_matrix(np.asarray(quat_pelvis))
        d, w = instantaneous_delta(rot_t, rot_p, self.hinge_thigh, self.hinge_pelvis)
        delta = self.delta.update_batch(d, w)
        self.delta_rad = float(delta[-1])
        hip = hip_flexion_rad(rot_t, rot_p, self.frame_thigh, self.frame_pelvis, delta) - self.hip_offset_rad
        rest = (np.abs(hip) < self.rest_hip_rad) & (np.linalg.norm(np.asarray(gyr_pelvis), axis=1) < 0.3)
        heading = pelvis_heading_rad(rot_p, self.frame_pelvis)
        last_rest = np.maximum.accumulate(np.where(rest, np.arange(n), -1))
        ref = np.where(last_rest >= 0, heading[np.maximum(last_rest, 0)], self.heading_ref)
        self.heading_ref = float(ref[-1])
        tilt = pelvic_tilt_rad(rot_p, self.frame_pelvis, ref) - self.tilt_offset_rad
        return np.degrees(hip), np.degrees(tilt)
