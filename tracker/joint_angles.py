"""Hip flexion (ISB JCS), its heading-free sagittal estimate, and pelvic tilt — one set of formulas.

Each sensor's anatomical frame F (sensor ← anatomical, from calibration) turned into its own earth
frame gives the segment's axes there: X = anterior, Y = superior, Z = right (``anatomical_axes``);
every formula reads them. (The live display's ``tracker.stages.StreamingAngles`` spells the same
formulas in plain floats for one row at a time; a test holds them equal.)

* **Hip flexion (3D)** — R_rel = (R_p·F_p)ᵀ · Rz(δ) · (R_t·F_t); flexion is the first angle of its
  Z-X-Y Cardan decomposition (Wu 2002 JCS: e1 = pelvis Z), atan2(−x_p·y_t', y_p·y_t') with y_t' the
  thigh's superior axis turned by the relative heading δ (tracker/heading.py).
* **Hip flexion (sagittal)** — each segment's inclination in its own sagittal plane from gravity
  alone, thigh minus pelvis. Needs no heading at all; exact for motion in the sagittal planes, off by
  the out-of-plane motion otherwise. The fallback where δ is not observable, and the cross-check.
* **Pelvic tilt** — the first (Z) angle of the pelvis' Z-X-Y decomposition relative to a heading
  reference (+ anterior): the pelvis' own facing direction while the person rests between reps
  (interpolated across reps offline, held live), so the 10–30° pelvic rotation during single-leg reps
  does not leak into tilt.
The standing calibration pose is zero for every angle. Live and offline run these same functions.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from tracker.rotations import from_rotation, matrix_from_components, mul_const, unwrap


def anatomical_axes(quat: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """(N, 3, 3): the anatomical X, Y, Z axes (columns) in the sensor's earth frame — R(q)·F, from
    which every formula below reads what it needs (row 2 = the "up" components).

    Formed as R(q ⊗ q_F) (F a rotation: one quaternion product per sample, then one conversion —
    fewer passes over the session than the matrix product). Like ``quat_to_matrix``, a view of a
    (3, 3, N) array (every entry one contiguous series)."""
    q_f = from_rotation(Rotation.from_matrix(np.asarray(frame, dtype=float)))
    axes: np.ndarray = matrix_from_components(*mul_const(quat, q_f))
    return axes


def hip_flexion(y_t: np.ndarray, x_p: np.ndarray, y_p: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """JCS hip flexion (rad, + flexion) from the thigh's superior axis and the pelvis' X, Y axes."""
    c, s = np.cos(delta), np.sin(delta)
    # y_t turned by δ, component by component (each a contiguous series: no (N, 3) temporaries)
    yt0 = c * y_t[:, 0] - s * y_t[:, 1]
    yt1 = s * y_t[:, 0] + c * y_t[:, 1]
    yt2 = y_t[:, 2]
    out: np.ndarray = np.arctan2(-(x_p[:, 0] * yt0 + x_p[:, 1] * yt1 + x_p[:, 2] * yt2),
                                 y_p[:, 0] * yt0 + y_p[:, 1] * yt1 + y_p[:, 2] * yt2)
    return out


def sagittal_inclination(axes: np.ndarray) -> np.ndarray:
    """A segment's rotation about its own ML axis from gravity alone (rad, + = superior axis tipped
    back = thigh forward / pelvis posterior): atan2 of "up" along anatomical X against Y."""
    out: np.ndarray = np.arctan2(axes[:, 2, 0], axes[:, 2, 1])
    return out


def frontal_inclination(axes: np.ndarray) -> np.ndarray:
    """A segment's tilt out of its sagittal plane from gravity alone (rad): its ML axis' elevation
    from the horizontal — thigh ab/adduction from the vertical, pelvic obliquity."""
    out: np.ndarray = np.arcsin(np.clip(axes[:, 2, 2], -1.0, 1.0))
    return out


def axis_heading(v: np.ndarray) -> np.ndarray:
    """Heading (about earth z) of earth vectors (rad)."""
    out: np.ndarray = np.arctan2(v[:, 1], v[:, 0])
    return out


def pelvic_tilt(y_p: np.ndarray, heading_ref: np.ndarray) -> np.ndarray:
    """Z angle of the pelvis' Z-X-Y decomposition in the heading reference frame (rad, + anterior)."""
    out: np.ndarray = np.arctan2(y_p[:, 0] * np.cos(heading_ref) + y_p[:, 1] * np.sin(heading_ref), y_p[:, 2])
    return out


def heading_reference(heading: np.ndarray, rest: np.ndarray, block: np.ndarray, *, causal: bool, last: float = float("nan")) -> np.ndarray:
    """The pelvis' facing direction at rest: interpolated across reps (offline) or held (live), per
    heading block; before the first rest of a block, its first sample (offline) or ``last`` (live)."""
    out = np.empty_like(heading)
    edges = np.flatnonzero(np.diff(block) != 0) + 1
    prev = last
    for a, b in zip(np.r_[0, edges], np.r_[edges, len(heading)]):
        h = unwrap(heading[a:b])
        idx = np.flatnonzero(rest[a:b])
        if causal:
            if a == 0 and np.isfinite(prev):  # continue on the held value's branch
                h = h + 2 * np.pi * np.round((prev - h[0]) / (2 * np.pi))
            fill = np.maximum.accumulate(np.where(rest[a:b], np.arange(b - a), -1))
            start = prev if np.isfinite(prev) and a == 0 else h[0]
            out[a:b] = np.where(fill >= 0, h[np.maximum(fill, 0)], start)
            prev = float(out[b - 1])
        elif len(idx):
            out[a:b] = np.interp(np.arange(b - a), idx, h[idx])
        else:
            out[a:b] = h[0]
    return out

