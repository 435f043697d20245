"""The magnetometer candidate for the relative heading δ (issue 14, item 1): measured, not in the engine.

Each sensor's 9D VQF (``vqf.offlineVQF`` with magnetic disturbance rejection) gives an orientation
in one shared, magnetic-north earth frame; turned against the engine's own 6D orientation on the grid
it gives the heading ψ of that sensor's 6D earth frame, and δ = ψ_thigh − ψ_pelvis. The check: where
either sensor's VQF flags a magnetic disturbance (field norm or dip off its reference; VQF's
``magDistDetected``) — or the sample is invalid — the candidate falls back to the engine's δ.

The raw streams are resampled to one uniform rate (gaps bridged linearly): good enough for an
evaluation, not the engine's gap handling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker import rotations as Q
from tracker.raw import SensorStream

#: VQF's defaults, except that a field reference may be learnt while the segment is still: VQF waits
#: for ≥ 20°/s of rotation (``magNewMinGyr``) before it trusts a field, and the pelvis hardly turns —
#: with the default its reference was never set and every sample stayed "disturbed".
VQF_MAG_PARAMS: dict[str, float] = {"magNewMinGyr": 0.0}


@dataclass(frozen=True, slots=True)
class MagHeading:
    """One sensor's 6D earth-frame heading from its 9D orientation, on the engine's grid."""

    psi_rad: np.ndarray  # heading of the 9D (magnetic) frame seen from the engine's 6D earth frame
    disturbed: np.ndarray  # bool: VQF's magnetic disturbance detection (nearest raw sample)
    norm_ut: np.ndarray  # |field| on the grid
    dip_deg: np.ndarray  # the field's inclination below the horizontal, in the engine's 6D earth frame


def mag_heading(stream: SensorStream, grid_t_s: np.ndarray, grid_quat: np.ndarray, params: dict[str, float] | None = None) -> MagHeading:
    """ψ(t) of one sensor: VQF 9D on the resampled raw stream, compared with the engine's 6D quaternion."""
    from vqf import offlineVQF

    if stream.mag_ut is None:
        raise ValueError(f"sensor {stream.sensor!r} has no magnetometer samples (mag_ut is None)")
    t = np.asarray(stream.t_s, dtype=float)
    rate = float(np.round(1.0 / np.median(np.diff(t))))
    tu = np.arange(t[0], t[-1], 1.0 / rate)

    def resample(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.column_stack([np.interp(tu, t, x[:, j]) for j in range(3)]))

    out = offlineVQF(resample(stream.gyr_rad_s), resample(stream.acc_m_s2), resample(stream.mag_ut), 1.0 / rate,
                     dict(VQF_MAG_PARAMS if params is None else params))
    q9 = Q.interpolate(tu, np.asarray(out["quat9D"]), np.clip(grid_t_s, tu[0], tu[-1]))
    M = Q.quat_to_matrix(q9) @ np.transpose(Q.quat_to_matrix(grid_quat), (0, 2, 1))  # 6D earth → 9D earth
    psi = np.arctan2(M[:, 1, 0], M[:, 0, 0])
    k = np.clip(np.round((grid_t_s - tu[0]) * rate).astype(int), 0, len(tu) - 1)
    m = np.column_stack([np.interp(grid_t_s, t, stream.mag_ut[:, j]) for j in range(3)])
    me = Q.rotate(grid_quat, m)
    dip = np.degrees(np.arctan2(-me[:, 2], np.hypot(me[:, 0], me[:, 1])))
    return MagHeading(psi, np.asarray(out["magDistDetected"], dtype=bool)[k], np.linalg.norm(m, axis=1), dip)


@dataclass(frozen=True, slots=True)
class MagDelta:
    """δ from the two magnetometers and where it is not to be trusted."""

    delta_rad: np.ndarray
    disturbed: np.ndarray  # either sensor disturbed (VQF)
    off_reference: np.ndarray  # either sensor's field norm or dip off the calibration stand's


def off_reference(h: MagHeading, stand: np.ndarray, rate_hz: float, *, norm_tol: float = 0.05, dip_tol_deg: float = 4.0,
                  margin_s: float = 1.0) -> np.ndarray:
    """Samples whose field differs from the one at the calibration stand (the patient's place, before
    any movement): |norm| off by more than ``norm_tol`` or the dip by more than ``dip_tol_deg``, widened
    by ``margin_s`` each side (the heading follows the field with VQF's time constant)."""
    n0, d0 = float(np.median(h.norm_ut[stand])), float(np.median(h.dip_deg[stand]))
    bad = (np.abs(h.norm_ut - n0) > norm_tol * n0) | (np.abs(h.dip_deg - d0) > dip_tol_deg)
    k = int(round(margin_s * rate_hz))
    out: np.ndarray = np.convolve(bad.astype(float), np.ones(2 * k + 1), mode="same") > 0
    return out


def mag_delta(thigh: SensorStream, pelvis: SensorStream, grid_t_s: np.ndarray, quat_thigh: np.ndarray,
              quat_pelvis: np.ndarray, stand: np.ndarray) -> MagDelta:
    """δ(t) = ψ_thigh − ψ_pelvis: the rotation about the vertical from the thigh's 6D earth frame to the
    pelvis'. ``stand``: the calibration stand's grid samples (the field reference)."""
    ht = mag_heading(thigh, grid_t_s, quat_thigh)
    hp = mag_heading(pelvis, grid_t_s, quat_pelvis)
    rate = 1.0 / float(np.median(np.diff(grid_t_s)))
    return MagDelta(np.angle(np.exp(1j * (ht.psi_rad - hp.psi_rad))), ht.disturbed | hp.disturbed,
                    off_reference(ht, stand, rate) | off_reference(hp, stand, rate))
