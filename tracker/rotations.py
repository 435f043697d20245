"""Rotations, the one set of helpers: unit quaternions scalar first (w, x, y, z), as VQF writes them.

A quaternion q rotates vectors of its own frame into the reference frame (sensor → earth for VQF,
segment → world in the simulator); q ⊗ p composes like rotation matrices: R(q ⊗ p) = R(q)·R(p).
scipy's Rotation is the reference (tests compare against it); these plain-numpy versions are ~10×
faster on long series (the simulator's 10⁵-sample grid, every sample of a session).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

_AXES = {"X": 0, "Y": 1, "Z": 2}


def mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.ndim(a) == 1 and np.ndim(b) == 1:  # one pair (a gap's stitch): plain floats, ~20× faster
        aw, ax, ay, az = (float(c) for c in a)
        bw, bx, by, bz = (float(c) for c in b)
        return np.array([
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ])
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
    out: np.ndarray = q * np.array([1.0, -1.0, -1.0, -1.0])
    return out


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
    if np.ndim(q) == 1 and np.ndim(v) == 1:  # one vector: plain floats (np.cross is slow on one)
        w, x, y, z = (float(c) for c in q)
        v0, v1, v2 = (float(c) for c in v)
        t0, t1, t2 = 2.0 * (y * v2 - z * v1), 2.0 * (z * v0 - x * v2), 2.0 * (x * v1 - y * v0)
        return np.array([v0 + w * t0 + (y * t2 - z * t1), v1 + w * t1 + (z * t0 - x * t2), v2 + w * t2 + (x * t1 - y * t0)])
    wq, u = q[..., :1], q[..., 1:]
    t = 2.0 * np.cross(u, v)
    out: np.ndarray = v + wq * t + np.cross(u, t)
    return out


def rotate_inv(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    return rotate(conj(q), v)


def log(q: np.ndarray) -> np.ndarray:
    """Rotation vector (rad) of each quaternion (shortest)."""
    q = np.where(q[..., :1] < 0, -q, q)
    vn = np.linalg.norm(q[..., 1:], axis=-1)
    angle = 2.0 * np.arctan2(vn, q[..., 0])
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(vn > 1e-12, angle / np.where(vn > 1e-12, vn, 1.0), 2.0 / np.maximum(q[..., 0], 1e-12))
    out: np.ndarray = q[..., 1:] * scale[..., None]
    return out


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


def rotate_vec(q_wxyz: np.ndarray, v: np.ndarray) -> np.ndarray:
    """R(q)·v for one fixed vector v and many quaternions, without building (N, 3, 3) matrices."""
    w, x, y, z = q_wxyz[:, 0], q_wxyz[:, 1], q_wxyz[:, 2], q_wxyz[:, 3]
    v0, v1, v2 = (float(c) for c in v)
    # t = 2·(u × v), v' = v + w·t + u × t
    t0 = 2.0 * (y * v2 - z * v1)
    t1 = 2.0 * (z * v0 - x * v2)
    t2 = 2.0 * (x * v1 - y * v0)
    return np.column_stack([v0 + w * t0 + (y * t2 - z * t1), v1 + w * t1 + (z * t0 - x * t2), v2 + w * t2 + (x * t1 - y * t0)])


def quat_to_matrix(q_wxyz: np.ndarray) -> np.ndarray:
    """(N, 4) → (N, 3, 3) rotation matrices (sensor → earth).

    The result is a view of a (3, 3, N) array: each matrix entry is one contiguous series, so the
    element-wise formulas that read single entries over a whole session (tracker/joint_angles.py)
    run on contiguous memory."""
    return matrix_from_components(q_wxyz[:, 0], q_wxyz[:, 1], q_wxyz[:, 2], q_wxyz[:, 3])


def mul_const(q_wxyz: np.ndarray, c_wxyz: np.ndarray) -> np.ndarray:
    """q ⊗ c for (N, 4) ``q`` and one quaternion ``c``: a (4, N) array, the product's w, x, y, z as four
    contiguous series (what :func:`matrix_from_components` reads). One matrix product — right
    multiplication by ``c`` is linear in ``q`` — instead of 28 passes over the session."""
    cw, cx, cy, cz = (float(v) for v in c_wxyz)
    right = np.array([[cw, -cx, -cy, -cz], [cx, cw, cz, -cy], [cy, -cz, cw, cx], [cz, cy, -cx, cw]])
    out: np.ndarray = right @ np.asarray(q_wxyz, dtype=float).T
    return out


def matrix_from_components(w: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """:func:`quat_to_matrix` from the quaternions' four component series (each entry written in place;
    the doubled components make every product exact twice the textbook one)."""
    r = np.empty((3, 3, len(w)))
    x2, y2, z2 = x + x, y + y, z + z
    xx, yy, zz = x * x2, y * y2, z * z2
    xy, xz, yz = x * y2, x * z2, y * z2
    wx, wy, wz = w * x2, w * y2, w * z2
    np.subtract(1.0, np.add(yy, zz, out=r[0, 0]), out=r[0, 0])
    np.subtract(xy, wz, out=r[0, 1])
    np.add(xz, wy, out=r[0, 2])
    np.add(xy, wz, out=r[1, 0])
    np.subtract(1.0, np.add(xx, zz, out=r[1, 1]), out=r[1, 1])
    np.subtract(yz, wx, out=r[1, 2])
    np.subtract(xz, wy, out=r[2, 0])
    np.add(yz, wx, out=r[2, 1])
    np.subtract(1.0, np.add(xx, yy, out=r[2, 2]), out=r[2, 2])
    out: np.ndarray = r.transpose(2, 0, 1)
    return out


def unwrap(angle_rad: np.ndarray) -> np.ndarray:
    """np.unwrap of a 1-D series (default period 2π) in a few passes: each step's jump of more than
    π is taken off as a whole number of turns (np.unwrap's generic path costs ~4× more)."""
    p = np.asarray(angle_rad, dtype=float)
    out = np.empty_like(p)
    if len(p):
        out[0] = p[0]
        turns = np.round(np.diff(p) * (1.0 / (2.0 * np.pi)))
        np.cumsum(turns, out=out[1:])
        out[1:] *= -2.0 * np.pi
        out[1:] += p[1:]
    return out


def rz(angle_rad: np.ndarray) -> np.ndarray:
    """(N,) → (N, 3, 3) rotations about earth z."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    r = np.zeros((len(angle_rad), 3, 3))
    r[:, 0, 0], r[:, 0, 1], r[:, 1, 0], r[:, 1, 1], r[:, 2, 2] = c, -s, s, c, 1.0
    return r


def rz1(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
