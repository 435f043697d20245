"""An independent AHRS (VQF) recovers the thigh's elevation from the simulated, imperfect IMU data."""

from __future__ import annotations

import numpy as np
from vqf import offlineVQF

from simulation import SimulationConfig, simulate
from tracker import rotations as Q
from tracker.conventions import GRAVITY_M_S2


def test_vqf_on_simulated_thigh_matches_truth_elevation() -> None:
    cfg = SimulationConfig(exercise="knee_raise", reps=6, seed=31, pure_sagittal=True, misplacement_max_deg=0.0,
                           packet_loss=0.0, compensated_reps=(2, 4))
    sim = simulate(cfg)
    th = sim.raw.thigh
    ts = float(np.median(np.diff(th.t_s)))
    out = offlineVQF(np.ascontiguousarray(th.gyr_rad_s), np.ascontiguousarray(th.acc_m_s2), None, ts)
    q = out["quat6D"]  # sensor → earth (z up) in VQF's convention, w first
    up_sensor_x = Q.rotate(q, np.array([1.0, 0.0, 0.0]))[:, 2]  # z-up earth: cos(angle of +x from vertical)
    elevation = np.rad2deg(np.arccos(np.clip(up_sensor_x, -1.0, 1.0)))  # thigh long axis from up = elevation
    t = th.t_s
    truth = np.interp(t, sim.truth.t_s, sim.truth.hip_flexion_deg - sim.truth.pelvic_tilt_deg)
    stand = t < cfg.stand_s
    err = (elevation - elevation[stand].mean()) - (truth - truth[stand].mean())
    rmse = float(np.sqrt(np.mean(err[t > 5.0] ** 2)))
    assert rmse < 2.0, rmse
    # and the accelerometer really saw gravity at rest (sanity of the units VQF relied on)
    assert abs(np.linalg.norm(th.acc_m_s2[stand], axis=1).mean() - GRAVITY_M_S2) < 0.3
