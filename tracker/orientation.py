"""Per-sensor orientation with VQF (6D, gyroscope bias estimation) — offline and live variants.

Convention (VQF's, stated once): a quaternion ``q`` (w, x, y, z) rotates sensor-frame vectors into
the sensor's own earth frame, ``v_E = q ⊗ v_S ⊗ q*``; earth z points up; the heading (rotation about
earth z) is arbitrary per sensor and drifts slowly. The processing core resolves the relative heading
of the two sensors itself (tracker/joint_angles.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import vqf

from tracker.timebase import SensorGrid


@dataclass(frozen=True, slots=True)
class SensorOrientation:
    """Orientation and bias-corrected angular velocity of one sensor on its native grid."""

    t_s: np.ndarray
    quat_wxyz: np.ndarray  # (M, 4) sensor → own earth frame
    gyr_corr_rad_s: np.ndarray  # (M, 3) gyroscope minus VQF's bias estimate
    acc_m_s2: np.ndarray
    valid: np.ndarray
    segment: np.ndarray
    dt_s: float


class OrientationEstimator:
    """Run VQF over each contiguous segment of a :class:`SensorGrid`.

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
        quats = np.empty((len(grid.t_s), 4))
        bias = np.empty((len(grid.t_s), 3))
        for s in np.unique(grid.segment):
            m = np.flatnonzero(grid.segment == s)
            gyr = np.ascontiguousarray(grid.gyr_rad_s[m])
            acc = np.ascontiguousarray(grid.acc_m_s2[m])
            if self.offline:
                params = {"tauAcc": self.tau_acc_s}
                out = vqf.offlineVQF(gyr, acc, None, grid.dt_s, params)
            else:
                f = vqf.VQF(grid.dt_s, tauAcc=self.tau_acc_s)
                out = f.updateBatch(gyr, acc)
            quats[m] = out["quat6D"]
            bias[m] = out["bias"]
        self.orientation_ = SensorOrientation(
            t_s=grid.t_s,
            quat_wxyz=quats,
            gyr_corr_rad_s=grid.gyr_rad_s - bias,
            acc_m_s2=grid.acc_m_s2,
            valid=grid.valid,
            segment=grid.segment,
            dt_s=grid.dt_s,
        )
        self.bias_rad_s_ = bias
        return self
