"""The hip joint centre seen from both sensors: offsets by least squares, accelerations in earth frames.

Both sensors are rigidly tied (up to soft tissue) to one point, the hip joint centre. Its specific
force computed from either sensor must be the same vector (Seel et al. 2012, "Joint axis and position
estimation from inertial measurement data by exploiting kinematic constraints"):

    f_jc = f_s + ω̇ × r + ω × (ω × r)        (sensor frame; r = sensor → joint centre)

Its norm is frame-invariant, so ‖f_jc,thigh‖ = ‖f_jc,pelvis‖ identifies r_t and r_p from the data
(Gauss–Newton with a Gaussian prior toward anthropometric defaults, which keeps the fit defined when
the motion is slow and the problem ill-conditioned). Expressed in the two VQF earth frames, the
horizontal parts of the two vectors differ only by the relative heading: tracker/heading.py reads
the relative heading off them (Weygers et al. 2020; McGrath & Stirling 2022).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from tracker.conventions import GRAVITY_M_S2
from tracker.filters import butter_sos
from tracker.rotations import quat_to_matrix, rotate_vec

#: Anthropometric defaults (sensor coordinates, documented placement, right leg; metres): the thigh
#: sensor sits 0.20 m below the greater trochanter on the lateral thigh (the joint centre lies up
#: along +x and 0.07 m medially, −z); the sacrum sensor lies ~0.10 m posterior, ~0.05 m above and
#: 0.085 m medial of each hip joint centre (Bell et al. 1990 proportions).
THIGH_OFFSET_M = np.array([0.20, 0.0, -0.07])
PELVIS_OFFSET_RIGHT_M = np.array([-0.05, -0.085, -0.10])


def default_offsets(side: str) -> tuple[np.ndarray, np.ndarray]:
    """(r_thigh, r_pelvis) for the documented placement; the left hip mirrors the pelvis' y."""
    r_p = PELVIS_OFFSET_RIGHT_M.copy()
    if side == "left":
        r_p[1] = -r_p[1]
    return THIGH_OFFSET_M.copy(), r_p


def _skew(v: np.ndarray) -> np.ndarray:
    z = np.zeros(len(v))
    return np.stack(
        [np.stack([z, -v[:, 2], v[:, 1]], 1), np.stack([v[:, 2], z, -v[:, 0]], 1), np.stack([-v[:, 1], v[:, 0], z], 1)], 1
    )


def lowpass(x: np.ndarray, rate_hz: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth along the first axis (unchanged when too short to filter)."""
    if len(x) <= 15:
        return x
    out: np.ndarray = signal.sosfiltfilt(butter_sos(2, cutoff_hz, rate_hz), x, axis=0)
    return out


def highpass(x: np.ndarray, rate_hz: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth high-pass along the first axis (NaN-free input)."""
    if len(x) <= 15:
        centred: np.ndarray = x - x.mean(0)
        return centred
    out: np.ndarray = signal.sosfiltfilt(butter_sos(2, cutoff_hz, rate_hz, "highpass"), x, axis=0)
    return out


def lever_matrices(gyr_rad_s: np.ndarray, rate_hz: float, lowpass_hz: float) -> np.ndarray:
    """(N, 3, 3) K with K·r = ω̇ × r + ω × (ω × r), from the low-passed gyro and its derivative."""
    w = lowpass(gyr_rad_s, rate_hz, lowpass_hz)
    wd = np.gradient(w, 1.0 / rate_hz, axis=0) if len(w) > 1 else np.zeros_like(w)
    W = _skew(w)
    out: np.ndarray = _skew(wd) + W @ W
    return out


@dataclass(frozen=True, slots=True)
class OffsetFit:
    """Joint-centre offsets and how well the data determined them."""

    r_thigh_m: np.ndarray
    r_pelvis_m: np.ndarray
    residual_m_s2: float  # RMS of ‖f_jc,t‖ − ‖f_jc,p‖
    #: Smallest eigenvalue of the data term relative to the prior's: < 1 means the prior decided
    #: that direction (slow motion), ≫ 1 the data did.
    conditioning: float


def fit_offsets(
    acc_t: np.ndarray, K_t: np.ndarray, acc_p: np.ndarray, K_p: np.ndarray, r_t0: np.ndarray, r_p0: np.ndarray,
    *, prior_sigma_m: tuple[float, float] = (0.08, 0.04), sample_weight: float = 1.0, iterations: int = 15,
) -> OffsetFit:
    """Seel's norm constraint by Gauss–Newton with a Gaussian prior around the anthropometric defaults
    (SD ``prior_sigma_m`` = (thigh, pelvis) per coordinate: the sacrum sensor hardly rotates, so the data
    barely determine its offset and soft tissue would otherwise pull it anywhere).

    ``sample_weight`` (≤ 1): the information one sample carries — neighbouring samples of signals
    low-passed at B Hz are correlated, so N samples count as ~N·2B/rate. The residual scale is
    re-estimated each iteration, so the prior weighs against how well the constraint holds here.
    """
    x0 = np.concatenate([r_t0, r_p0]).astype(float)
    x = x0.copy()
    prior = np.diag(np.r_[np.full(3, prior_sigma_m[0] ** -2), np.full(3, prior_sigma_m[1] ** -2)])
    n = len(acc_t)
    sigma_e = 0.1
    JtJ = np.eye(6)
    e = np.zeros(n)
    for _ in range(iterations):
        et = acc_t + np.einsum("nij,j->ni", K_t, x[:3])
        ep = acc_p + np.einsum("nij,j->ni", K_p, x[3:])
        nt = np.maximum(np.linalg.norm(et, axis=1), 1e-9)
        np_ = np.maximum(np.linalg.norm(ep, axis=1), 1e-9)
        e = nt - np_
        J = np.hstack([np.einsum("ni,nij->nj", et / nt[:, None], K_t), -np.einsum("ni,nij->nj", ep / np_[:, None], K_p)])
        sigma_e = max(float(np.sqrt(np.mean(e**2))), 1e-3)
        JtJ = sample_weight * (J.T @ J) / sigma_e**2
        dx = -np.linalg.solve(JtJ + prior, sample_weight * (J.T @ e) / sigma_e**2 + prior @ (x - x0))
        x += dx
        if float(np.linalg.norm(dx)) < 1e-5:
            break
    cond = float(np.linalg.eigvalsh(JtJ)[0] * min(prior_sigma_m) ** 2)
    return OffsetFit(r_thigh_m=x[:3], r_pelvis_m=x[3:], residual_m_s2=float(np.sqrt(np.mean(e**2))), conditioning=cond)


def earth_accelerations(quat: np.ndarray, acc: np.ndarray, K: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The joint centre's specific force in the sensor's own earth frame, (N, 3), from the (low-passed)
    specific force at the sensor and the lever matrices."""
    f = acc + K @ r
    # rotate each row by its quaternion (rotate_vec takes one fixed vector; do the three columns)
    out: np.ndarray = np.zeros_like(f)
    for i in range(3):
        e = np.zeros(3)
        e[i] = 1.0
        out += rotate_vec(quat, e) * f[:, i : i + 1]
    return out


#: Prior SDs of the accelerometers' per-axis scale error and bias, which leak gravity into the
#: horizontal joint-centre accelerations as the segment tilts (tracker/heading.py estimates them
#: alongside the heading constant).
ACC_SCALE_PRIOR = 0.02
ACC_BIAS_PRIOR_M_S2 = 0.1


def leak_regressors(quat: np.ndarray, turn_rad: np.ndarray | None = None) -> np.ndarray:
    """(N, 2, 6): how per-axis scale errors s and biases b of an accelerometer appear in the horizontal
    earth-frame specific force: [R·(diag(Rᵀ·g ẑ)·s + b)]_xy, columns (s_x, s_y, s_z, b_x, b_y, b_z);
    optionally turned about z by ``turn_rad`` (the thigh's series is turned by the drift)."""
    R = quat_to_matrix(quat)
    g_s = R[:, 2, :]  # the up direction in sensor coordinates (third row of R)
    cols = [R[:, :2, j] * (GRAVITY_M_S2 * g_s[:, j : j + 1]) for j in range(3)] + [R[:, :2, j] for j in range(3)]
    A = np.stack(cols, axis=2)
    if turn_rad is not None:
        c, s = np.cos(turn_rad)[:, None], np.sin(turn_rad)[:, None]
        A = np.stack([c * A[:, 0] - s * A[:, 1], s * A[:, 0] + c * A[:, 1]], axis=1)
    return A
