"""Vectorised unit quaternions, scalar first (w, x, y, z): the hot loops of the simulator.

scipy's Rotation is the reference (tests compare against it); these plain-numpy versions are ~10×
faster on the 10⁵-sample internal grid. q ⊗ p composes like rotation matrices: R(q ⊗ p) = R(q)·R(p).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

_AXES = {"X": 0, "Y": 1, "Z": 2}


def mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def conj(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def about_axis(axis: str, angle_rad: np.ndarray) -> np.ndarray:
    angle_rad = np.asarray(angle_rad, dtype=float)
    q = np.zeros(angle_rad.shape + (4,))
    q[..., 0] = np.cos(0.5 * angle_rad)
    q[..., 1 + _AXES[axis]] = np.sin(0.5 * angle_rad)
    return q


def from_euler_intrinsic(seq: str, angles_rad: list[np.ndarray]) -> np.ndarray:
    """Intrinsic sequence (scipy upper-case convention): R = R_seq[0](a0) · R_seq[1](a1) · ..."""
    q = about_axis(seq[0], angles_rad[0])
    for ax, ang in zip(seq[1:], angles_rad[1:]):
        q = mul(q, about_axis(ax, ang))
    return q


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """R(q)·v for each row (q (N,4) or (4,), v (N,3) or (3,))."""
    w = q[..., :1]
    u = q[..., 1:]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def rotate_inv(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    return rotate(conj(q), v)


def log(q: np.ndarray) -> np.ndarray:
    """Rotation vector (rad) of each quaternion (shortest)."""
    q = np.where(q[..., :1] < 0, -q, q)
    vn = np.linalg.norm(q[..., 1:], axis=-1)
    angle = 2.0 * np.arctan2(vn, q[..., 0])
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(vn > 1e-12, angle / np.where(vn > 1e-12, vn, 1.0), 2.0 / np.maximum(q[..., 0], 1e-12))
    return q[..., 1:] * scale[..., None]


def exp(rotvec: np.ndarray) -> np.ndarray:
    angle = np.linalg.norm(rotvec, axis=-1)
    half = 0.5 * angle
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(angle > 1e-12, np.sin(half) / np.where(angle > 1e-12, angle, 1.0), 0.5)
    return np.concatenate([np.cos(half)[..., None], rotvec * k[..., None]], axis=-1)


def to_rotation(q: np.ndarray) -> Rotation:
    return Rotation.from_quat(np.concatenate([q[..., 1:], q[..., :1]], axis=-1))


def from_rotation(r: Rotation) -> np.ndarray:
    x = r.as_quat()
    return np.concatenate([x[..., 3:], x[..., :3]], axis=-1)


def interpolate(t_grid: np.ndarray, q: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Slerp of a uniformly or non-uniformly sampled quaternion series at times ``t``."""
    k = np.clip(np.searchsorted(t_grid, t, side="right") - 1, 0, len(t_grid) - 2)
    frac = (t - t_grid[k]) / (t_grid[k + 1] - t_grid[k])
    rel = mul(conj(q[k]), q[k + 1])
    return mul(q[k], exp(log(rel) * frac[:, None]))
