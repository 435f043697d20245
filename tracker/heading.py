"""The relative heading δ(t) of the two sensors' earth frames, for a ball-and-socket hip.

6D orientation filters give each sensor its own earth frame: z up, heading arbitrary and drifting.
Hip flexion needs the thigh in the pelvis' frame, so the relative heading δ (the rotation about the
vertical that takes the thigh's earth frame to the pelvis') must be resolved from the data. The hip is
no hinge (it abducts and rotates with flexion), so pairing "the thigh's flexion axis" with "the
pelvis' flexion axis" is wrong by 20–40° on real people (docs/coordinate-systems.md). Instead:

    δ(t) = Δ(t) + c

* **Δ(t), the drift** — whenever the person stands at rest (both segments still, the hip near its
  standing angle, heading-free test), the relative heading of two body-fixed axes (the anatomical
  anterior axes of the thigh and the pelvis) is measured. At rest the hip's posture is the standing one,
  so Δ at rest differs from δ only by a constant; between rests Δ is interpolated (offline) or held
  (live). This follows the filters' heading drift without any assumption about the joint's DoF.
* **c, the constant** — from the joint-centre constraint (tracker/joint_centre.py): the hip joint
  centre's acceleration seen from the thigh and from the pelvis is one vector, so once the thigh's
  earth frame is turned by Δ(t) + c its horizontal part must coincide with the pelvis'. c is the
  weighted Procrustes angle between the two horizontal series over the whole recording (robust
  Cauchy re-weighting), with an uncertainty from the residuals and the excitation.

Observability decides: c is used when its uncertainty is below ``max_sigma_deg`` (method
"joint_centre"); otherwise, and where no rest anchors Δ, the heading-free sagittal estimate is the
fallback (method "sagittal"; tracker/joint_angles.py) — never a silent guess.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.joint_centre import (
    ACC_BIAS_PRIOR_M_S2,
    ACC_SCALE_PRIOR,
    default_offsets,
    earth_accelerations,
    fit_offsets,
    highpass,
    leak_regressors,
    lever_matrices,
    lowpass,
)
from tracker.rotations import unwrap

#: The horizontal joint-centre accelerations are high-passed: a slowly varying inclination error of
#: either filter leaks gravity into them (0.17 m/s² per degree), which no hip motion does.
HIGHPASS_HZ = 0.05

#: Method names written into results (one place).
METHOD_JOINT_CENTRE = "joint_centre"
METHOD_SAGITTAL = "sagittal"


def trailing_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Mean of the last ``n`` samples at each index (fewer at the start) — causal."""
    c = np.empty(len(x) + 1)
    c[0] = 0.0
    np.cumsum(x, out=c[1:])
    out = np.empty(len(x))
    k = min(n, len(x))
    out[:k] = c[1 : k + 1] / np.arange(1, k + 1)  # the first n − 1: fewer samples
    if len(x) > n:
        np.subtract(c[n + 1 :], c[1 : len(x) + 1 - n], out=out[n:])
        out[n:] /= n
    return out


def rest_mask(
    gyr_t: np.ndarray, gyr_p: np.ndarray, hip_sagittal_deg: np.ndarray, valid: np.ndarray, rate_hz: float, *,
    gyr_threshold_rad_s: float = 0.2, hip_band_deg: float = 10.0, min_s: float = 0.3,
) -> np.ndarray:
    """Samples where both segments have been still for ``min_s`` with the hip near its standing angle.

    Trailing windows only, so the live path marks the very same samples as the offline path.
    """
    n = max(1, int(round(0.25 * rate_hz)))
    still = valid & (np.abs(hip_sagittal_deg) < hip_band_deg)
    for g in (gyr_t, gyr_p):
        still &= trailing_mean(np.linalg.norm(g, axis=1), n) < gyr_threshold_rad_s
    m = max(1, int(round(min_s * rate_hz)))
    out: np.ndarray = trailing_mean(still.astype(float), m) > 1.0 - 1e-9
    out[: m - 1] = False
    return out


def bridge_rows(x: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Rows of ``x`` where ``known`` is False replaced by linear interpolation of the known ones."""
    if known.all() or not known.any():
        return x
    idx = np.flatnonzero(known)
    i = np.arange(len(x))
    out = np.array(x, dtype=float, copy=True)
    for c in range(x.shape[1]):
        out[:, c] = np.interp(i, idx, x[idx, c])
    return out


def _pieces(piece: np.ndarray) -> list[tuple[int, int, int]]:
    edges = np.flatnonzero(np.diff(piece) != 0) + 1
    bounds = np.r_[0, edges, len(piece)]
    return [(int(a), int(b), int(piece[a])) for a, b in zip(bounds[:-1], bounds[1:])]


def drift_offline(d_inst: np.ndarray, rest: np.ndarray, piece: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Δ(t): the rest values interpolated within each filter piece and held to its edges; a piece
    without rests inherits the nearest anchored value of its heading block (its heading is stitched to
    its neighbours'); NaN in blocks without any rest."""
    out = np.full(len(d_inst), np.nan)
    spans = _pieces(piece)
    for a, b, _ in spans:
        idx = np.flatnonzero(rest[a:b])
        if len(idx):
            vals = unwrap(d_inst[a:b][idx])
            out[a:b] = np.interp(np.arange(b - a), idx, vals)
    for a, b, _ in spans:  # pieces without a rest: continuity across the link
        if np.isfinite(out[a]) or block[a] < 0:
            continue
        same = (block == block[a]) & np.isfinite(out)
        before = np.flatnonzero(same[:a])
        after = np.flatnonzero(same[b:])
        if len(before):
            out[a:b] = out[before[-1]]
        elif len(after):
            out[a:b] = out[b + after[0]]
    return out


def drift_causal(d_inst: np.ndarray, rest: np.ndarray, block: np.ndarray, last: float = float("nan"), last_block: int = -1) -> np.ndarray:
    """Δ(t) live: the latest rest value in the current heading block, held (NaN before the first)."""
    n = len(d_inst)
    out = np.full(n, np.nan)
    prev, prev_block = last, last_block
    for a, b, blk in _pieces(block):
        if blk != prev_block:
            prev = float("nan")
        idx = np.flatnonzero(rest[a:b])
        if len(idx):
            r = d_inst[a:b][idx]
            if np.isfinite(prev):  # stay on the same branch as the previous value
                r = prev + np.angle(np.exp(1j * (r - prev)))
            r = unwrap(r)
            held = np.full(b - a, np.nan)
            held[idx] = r
            fill = np.maximum.accumulate(np.where(np.isfinite(held), np.arange(b - a), -1))
            seg = np.where(fill >= 0, held[np.maximum(fill, 0)], prev)
            out[a:b] = seg
            prev = float(seg[-1])
        else:
            out[a:b] = prev
        prev_block = blk
    return out


@dataclass(frozen=True, slots=True)
class HeadingConstant:
    """c from the joint-centre constraint and how well the data determined it."""

    c_rad: float
    sigma_deg: float  # 1-σ uncertainty from the residuals and the excitation
    coherence: float  # 0..1: how well one rotation explains the two horizontal series
    excitation_m_s2: float  # RMS horizontal joint-centre acceleration used
    n_samples: int


def solve_constant(
    a: np.ndarray, b: np.ndarray, weight: np.ndarray, *, rate_hz: float, bandwidth_hz: float,
    leak_t: np.ndarray | None = None, leak_p: np.ndarray | None = None, iterations: int = 6,
) -> HeadingConstant:
    """Angle c minimising Σ w‖b − R(c)·a‖² over 2-D vectors, with Cauchy re-weighting of outliers.

    ``leak_t``/``leak_p`` (N, 2, k): nuisance regressors of each series (the accelerometers' scale and
    bias errors, joint_centre.leak_regressors), estimated alongside c with Gaussian priors — alternating
    a robust Procrustes step for c with a ridge step for the nuisance parameters.
    """
    w = weight.astype(float)
    ok = np.isfinite(a).all(1) & np.isfinite(b).all(1) & (w > 0)
    a, b, w = a[ok], b[ok], w[ok]
    if len(a) < 10:
        return HeadingConstant(0.0, float("inf"), 0.0, 0.0, int(len(a)))
    lt = leak_t[ok] if leak_t is not None else None
    lp = leak_p[ok] if leak_p is not None else None
    neff = min(1.0, 2.0 * bandwidth_hz / rate_hz)  # neighbouring samples are correlated up to B Hz

    def procrustes(x: np.ndarray, y: np.ndarray, ww: np.ndarray) -> float:
        C = float(np.sum(ww * (x[:, 0] * y[:, 0] + x[:, 1] * y[:, 1])))
        S = float(np.sum(ww * (x[:, 0] * y[:, 1] - x[:, 1] * y[:, 0])))
        return float(np.arctan2(S, C))

    def resid(x: np.ndarray, y: np.ndarray, c: float) -> np.ndarray:
        cs, sn = np.cos(c), np.sin(c)
        out: np.ndarray = y - np.column_stack([cs * x[:, 0] - sn * x[:, 1], sn * x[:, 0] + cs * x[:, 1]])
        return out

    x, y = a, b
    theta = None
    if lt is not None and lp is not None:
        # the design matrix [−R(c)·L_t, L_p] and its weighted copy live in two buffers reused by every
        # iteration (only the thigh's half turns with c); the thigh's two rows contiguous once
        k = lt.shape[2]
        lt0, lt1 = np.ascontiguousarray(lt[:, 0]), np.ascontiguousarray(lt[:, 1])
        X = np.empty((len(a), 2, 2 * k))
        X[:, :, k:] = lp
        Xw = np.empty_like(X)
        prior = np.diag(np.tile(np.r_[np.full(3, ACC_SCALE_PRIOR**-2), np.full(k - 3, ACC_BIAS_PRIOR_M_S2**-2)], 2))
    c = procrustes(x, y, w)
    ww = w
    for _ in range(iterations):
        r = np.linalg.norm(resid(x, y, c), axis=1)
        scale = max(1.4826 * float(np.median(r)), 1e-6)
        ww = w / (1.0 + (r / (2.0 * scale)) ** 2)
        if lt is not None and lp is not None:
            cs, sn = np.cos(c), np.sin(c)
            np.negative(cs * lt0 - sn * lt1, out=X[:, 0, :k])  # b − R(c)·a = −R(c)·L_t·θ_t + L_p·θ_p + noise
            np.negative(sn * lt0 + cs * lt1, out=X[:, 1, :k])
            yv = resid(a, b, c)
            sw = np.sqrt(ww)[:, None, None]
            Xf = np.multiply(X, sw, out=Xw).reshape(-1, X.shape[2])
            yf = (yv * sw[:, :, 0]).reshape(-1)
            th0 = theta if theta is not None else np.zeros(X.shape[2])
            s2 = max(float(np.mean((yf - Xf @ th0) ** 2)), 1e-8)
            theta = np.linalg.solve(neff * (Xf.T @ Xf) / s2 + prior, neff * (Xf.T @ yf) / s2)
            x = a - np.einsum("nij,j->ni", lt, theta[:k])
            y = b - np.einsum("nij,j->ni", lp, theta[k:])
        c = procrustes(x, y, ww)
    r = np.linalg.norm(resid(x, y, c), axis=1)
    energy = float(np.sum(ww * 0.5 * (np.sum(x**2, 1) + np.sum(y**2, 1))))
    r2 = float(np.sum(ww * r**2) / max(float(np.sum(ww)), 1e-12))
    sigma = float(np.degrees(np.sqrt(r2 / 2.0 / max(energy * neff, 1e-12))))
    mags = float(np.sum(ww * np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1)))
    C = float(np.sum(ww * (x[:, 0] * y[:, 0] + x[:, 1] * y[:, 1])))
    S = float(np.sum(ww * (x[:, 0] * y[:, 1] - x[:, 1] * y[:, 0])))
    coherence = float(np.hypot(C, S) / max(mags, 1e-12))
    excitation = float(np.sqrt(np.mean(0.5 * (np.sum(x**2, 1) + np.sum(y**2, 1)))))
    return HeadingConstant(c, sigma, coherence, excitation, int(len(a)))


@dataclass(frozen=True, slots=True)
class JointCentreTerms:
    """The joint-centre inputs that depend on the signals alone (not on frames, offsets or Δ): each
    segment's lever matrices and low-passed acceleration — one identification's solves share them."""

    K_t: np.ndarray
    K_p: np.ndarray
    a_t: np.ndarray
    a_p: np.ndarray


class RelativeHeading:
    """δ(t) = Δ(t) + c on the shared grid (offline: Δ interpolated; live: held).

    Parameters
    ----------
    rest_gyr_rad_s / rest_hip_deg / rest_min_s
        Rest: both gyro norms (0.25 s trailing mean) below 0.2 rad/s, |sagittal hip| below 10°, for
        at least 0.3 s.
    jc_lowpass_hz
        Low-pass of the accelerations and angular velocities for the joint-centre terms. Default 6 Hz.
    max_sigma_deg
        The joint-centre constant is used when its 1-σ uncertainty is below this. Default 3°.
    offset_prior_m
        Prior SD of the joint-centre offsets around the anthropometric defaults, thigh and pelvis.
        Default (0.08, 0.04) m.
    max_fit_samples
        The offsets are fitted on at most this many moving samples (evenly spread). Default 6000.
    max_constant_samples
        The constant is solved on at most about this many rows (decimated). Default 20000.
    """

    def __init__(
        self, *, rest_gyr_rad_s: float = 0.2, rest_hip_deg: float = 10.0, rest_min_s: float = 0.3,
        jc_lowpass_hz: float = 6.0, max_sigma_deg: float = 3.0, offset_prior_m: tuple[float, float] = (0.08, 0.04),
        max_fit_samples: int = 6000, max_constant_samples: int = 20000,
    ) -> None:
        for name, v in (("rest_gyr_rad_s", rest_gyr_rad_s), ("rest_hip_deg", rest_hip_deg), ("rest_min_s", rest_min_s),
                        ("jc_lowpass_hz", jc_lowpass_hz), ("max_sigma_deg", max_sigma_deg),
                        ("offset_prior_m[0]", offset_prior_m[0]), ("offset_prior_m[1]", offset_prior_m[1])):
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number, got {v!r}")
        if max_fit_samples < 100:
            raise ValueError(f"max_fit_samples must be >= 100, got {max_fit_samples!r}")
        self.rest_gyr_rad_s = rest_gyr_rad_s
        self.rest_hip_deg = rest_hip_deg
        self.rest_min_s = rest_min_s
        self.jc_lowpass_hz = jc_lowpass_hz
        self.max_sigma_deg = max_sigma_deg
        self.offset_prior_m = offset_prior_m
        self.max_fit_samples = max_fit_samples
        if max_constant_samples < 1000:
            raise ValueError(f"max_constant_samples must be >= 1000, got {max_constant_samples!r}")
        self.max_constant_samples = max_constant_samples

    def rest(self, gyr_t: np.ndarray, gyr_p: np.ndarray, hip_sagittal_deg: np.ndarray, valid: np.ndarray, rate_hz: float) -> np.ndarray:
        return rest_mask(gyr_t, gyr_p, hip_sagittal_deg, valid, rate_hz, gyr_threshold_rad_s=self.rest_gyr_rad_s,
                         hip_band_deg=self.rest_hip_deg, min_s=self.rest_min_s)

    def terms(self, gyr_t: np.ndarray, gyr_p: np.ndarray, acc_t: np.ndarray, acc_p: np.ndarray, rate_hz: float) -> JointCentreTerms:
        lp = self.jc_lowpass_hz
        return JointCentreTerms(lever_matrices(gyr_t, rate_hz, lp), lever_matrices(gyr_p, rate_hz, lp),
                                lowpass(acc_t, rate_hz, lp), lowpass(acc_p, rate_hz, lp))

    def solve(
        self, side: str, quat_t: np.ndarray, quat_p: np.ndarray, gyr_t: np.ndarray, gyr_p: np.ndarray,
        acc_t: np.ndarray, acc_p: np.ndarray, drift: np.ndarray, valid: np.ndarray, rate_hz: float,
        offsets: tuple[np.ndarray, np.ndarray] | None = None, terms: JointCentreTerms | None = None,
    ) -> tuple[HeadingConstant, tuple[np.ndarray, np.ndarray], float]:
        """Joint-centre offsets and the heading constant c from a recording on the shared grid:
        (c, (r_thigh, r_pelvis), the offsets' conditioning). ``drift``: Δ(t), NaN where unknown.
        ``offsets``: already fitted on this recording (they are sensor-frame quantities: a new
        anatomical frame changes c, not them). ``terms``: :meth:`terms` of these signals, when known."""
        lp = self.jc_lowpass_hz
        jc = terms if terms is not None else self.terms(gyr_t, gyr_p, acc_t, acc_p, rate_hz)
        K_t, K_p, a_t, a_p = jc.K_t, jc.K_p, jc.a_t, jc.a_p
        r_t, r_p = default_offsets(side) if offsets is None else offsets
        conditioning = float("nan")
        moving = np.flatnonzero(valid & (np.linalg.norm(gyr_t, axis=1) > 0.2)) if offsets is None else np.zeros(0, int)
        if len(moving) > self.max_fit_samples:
            moving = moving[np.linspace(0, len(moving) - 1, self.max_fit_samples).astype(int)]
        if offsets is None and len(moving) < 50:
            conditioning = 0.0
        if len(moving) >= 50:
            fit = fit_offsets(a_t[moving], K_t[moving], a_p[moving], K_p[moving], r_t, r_p, prior_sigma_m=self.offset_prior_m,
                              sample_weight=min(1.0, 2.0 * lp / rate_hz))
            r_t, r_p, conditioning = fit.r_thigh_m, fit.r_pelvis_m, fit.conditioning
        # the constant needs no more than ~max_constant_samples: the signals are low-passed at lp Hz, so
        # keeping every step-th row (≥ 2.5·lp Hz) loses nothing
        step = max(1, min(int(rate_hz / (2.5 * lp)), int(np.ceil(len(valid) / self.max_constant_samples))))
        sl = slice(None, None, step)
        known = valid & np.isfinite(drift)
        a, b, leak_t, leak_p = self.horizontal_pairs(
            quat_t[sl], quat_p[sl], a_t[sl], a_p[sl], K_t[sl], K_p[sl], r_t, r_p, np.where(known, drift, 0.0)[sl],
            rate_hz / step, known[sl],
        )
        k = solve_constant(a, b, known[sl].astype(float), rate_hz=rate_hz / step, bandwidth_hz=lp, leak_t=leak_t, leak_p=leak_p)
        return k, (r_t, r_p), conditioning

    def horizontal_pairs(
        self, quat_t: np.ndarray, quat_p: np.ndarray, acc_t: np.ndarray, acc_p: np.ndarray, K_t: np.ndarray,
        K_p: np.ndarray, r_t: np.ndarray, r_p: np.ndarray, drift: np.ndarray, rate_hz: float, known: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The two horizontal joint-centre acceleration series (the thigh's turned by Δ(t)) and their
        accelerometer-error regressors, all high-passed alike: (a, b, leak_t, leak_p). ``acc_*``: already
        low-passed like ``K_*``.

        Rows not ``known`` (gaps: no orientation there) are bridged linearly before filtering — the
        high-pass's long response would otherwise spread whatever they hold over tens of seconds."""
        e_t = earth_accelerations(quat_t, acc_t, K_t, r_t)
        e_p = earth_accelerations(quat_p, acc_p, K_p, r_p)
        cs, sn = np.cos(drift), np.sin(drift)
        a = np.column_stack([cs * e_t[:, 0] - sn * e_t[:, 1], sn * e_t[:, 0] + cs * e_t[:, 1]])
        lt, lp = leak_regressors(quat_t, drift), leak_regressors(quat_p)
        n = len(a)
        # the four series side by side: one bridging and one filter run (each column is filtered alone)
        parts = (a, e_p[:, :2], lt, lp)
        flat = bridge_rows(np.concatenate([x.reshape(n, -1) for x in parts], axis=1), known)
        filtered = highpass(flat, rate_hz, HIGHPASS_HZ)
        ends = np.cumsum([0] + [int(np.prod(x.shape[1:])) for x in parts])
        h = [filtered[:, i:j].reshape(x.shape) for x, i, j in zip(parts, ends[:-1], ends[1:])]
        return h[0], h[1], h[2], h[3]

    def observable(self, k: HeadingConstant) -> bool:
        return bool(np.isfinite(k.sigma_deg) and k.sigma_deg <= self.max_sigma_deg)
