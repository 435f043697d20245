"""A virtual IMU: its own clock, sampling, instrument errors and a lossy radio link.

Clock: the sensor counts microseconds, sensor_time_us = offset + (1 + drift)·t_true. It samples at its
nominal rate on *its own* clock, so in session time the period is 1/(rate·(1 + drift)) and the two
sensors never sample at the same instants. The recorder maps the sensor clock back to the session clock
with an estimated offset and drift; the residual (``alignment_error_max_s``, default ≤ 1 ms) is what a
good recorder achieves and is the only difference between the CSV ``t`` and the true time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from simulation._body import CleanSensor
from simulation.config import SimulationConfig
from simulation.truth import SensorTruth
from tracker import rotations as Q
from tracker.raw import SensorStream

#: Indoor magnetic field in the world frame (µT): horizontal ~20, inclined downwards.
MAG_WORLD_UT = np.array([20.0, -42.0, 4.0])


@dataclass(slots=True)
class SampledSensor:
    stream: SensorStream
    truth: SensorTruth


def random_misplacement(rng: np.random.Generator, max_deg: float) -> np.ndarray:
    """Rotation vector (deg): uniform random axis, angle uniform in [0, max]."""
    axis = rng.standard_normal(3)
    axis /= np.linalg.norm(axis)
    return axis * rng.uniform(0.0, max_deg)


def sample_sensor(
    name: str,
    clean: CleanSensor,
    t_grid: np.ndarray,
    cfg: SimulationConfig,
    rng: np.random.Generator,
    rate_hz: float,
    misplacement_rotvec_deg: np.ndarray,
    mount: Rotation,
    lever_arm_m: np.ndarray,
) -> SampledSensor:
    duration = float(t_grid[-1])
    drift = rng.uniform(-1.0, 1.0) * cfg.clock_drift_max_ppm * 1e-6
    offset_us = int(rng.integers(1_000_000, 600_000_000))
    t0 = rng.uniform(0.0, 1.0 / rate_hz) + rng.uniform(0.0, 0.02)
    n = int(np.floor((duration - t0) * rate_hz * (1.0 + drift))) + 1
    t_true = t0 + np.arange(n) / (rate_hz * (1.0 + drift))
    t_true = t_true[t_true <= duration]
    sensor_time_us = np.round(offset_us + (1.0 + drift) * t_true * 1e6).astype(np.int64)

    # recorder's clock mapping, with a small residual error
    amax = cfg.alignment_error_max_s
    off_err = rng.uniform(-0.6, 0.6) * amax
    drift_err = rng.uniform(-0.4, 0.4) * amax / max(duration, 1.0)
    t_rep = (sensor_time_us * 1e-6 - (offset_us * 1e-6 + off_err)) / (1.0 + drift + drift_err)

    # packet loss in bursts after the calibration stand (Gilbert-Elliott, vectorised)
    keep = t_rep >= 0.0
    lost = np.zeros(len(t_true), dtype=bool)
    if cfg.packet_loss > 0:
        mean_burst = cfg.packet_loss_burst_samples
        p_start = cfg.packet_loss / (mean_burst * (1.0 - cfg.packet_loss))
        starts = np.flatnonzero((rng.random(len(t_true)) < p_start) & (t_true > cfg.stand_s))
        lengths = rng.geometric(1.0 / mean_burst, size=len(starts))
        for i, length in zip(starts, lengths):
            lost[i : i + length] = True
    keep &= ~lost
    t_true, t_rep, sensor_time_us = t_true[keep], t_rep[keep], sensor_time_us[keep]
    m = len(t_true)

    gyr = np.column_stack([np.interp(t_true, t_grid, clean.gyr_rad_s[:, j]) for j in range(3)])
    acc = np.column_stack([np.interp(t_true, t_grid, clean.acc_m_s2[:, j]) for j in range(3)])
    quat_wxyz = Q.interpolate(t_grid, clean.orientation_q, t_true)

    gyr_scale = 1.0 + rng.uniform(-1, 1, 3) * cfg.scale_error_max
    acc_scale = 1.0 + rng.uniform(-1, 1, 3) * cfg.scale_error_max
    gyr_bias = rng.uniform(-1, 1, 3) * cfg.gyr_bias_max_rad_s
    acc_bias = rng.uniform(-1, 1, 3) * cfg.acc_bias_max_m_s2
    dt = np.diff(t_true, prepend=t_true[0])
    walk = np.cumsum(rng.standard_normal((m, 3)) * (cfg.gyr_bias_walk_rad_s_sqrt_s * np.sqrt(dt))[:, None], axis=0)
    gyr_meas = gyr * gyr_scale + gyr_bias + walk + rng.standard_normal((m, 3)) * cfg.gyr_noise_rad_s
    acc_meas = acc * acc_scale + acc_bias + rng.standard_normal((m, 3)) * cfg.acc_noise_m_s2
    mag = None
    if cfg.with_magnetometer:
        hard_iron = rng.uniform(-5.0, 5.0, 3)
        mag = Q.rotate_inv(quat_wxyz, MAG_WORLD_UT) + hard_iron + rng.standard_normal((m, 3)) * 0.3

    mq = mount.as_quat()
    stream = SensorStream(sensor=name, t_s=t_rep, acc_m_s2=acc_meas, gyr_rad_s=gyr_meas, mag_ut=mag)  # type: ignore[arg-type]
    truth = SensorTruth(
        sensor=name,
        rate_hz=float(rate_hz),
        misplacement_rotvec_deg=tuple(float(x) for x in misplacement_rotvec_deg),  # type: ignore[arg-type]
        misplacement_deg=float(np.linalg.norm(misplacement_rotvec_deg)),
        mount_quat_wxyz=(float(mq[3]), float(mq[0]), float(mq[1]), float(mq[2])),
        lever_arm_m=tuple(float(x) for x in lever_arm_m),  # type: ignore[arg-type]
        clock_offset_us=offset_us,
        clock_drift_ppm=float(drift * 1e6),
        alignment_offset_error_s=float(off_err),
        alignment_drift_error_ppm=float(drift_err * 1e6),
        gyr_bias_rad_s=tuple(float(x) for x in gyr_bias),  # type: ignore[arg-type]
        acc_bias_m_s2=tuple(float(x) for x in acc_bias),  # type: ignore[arg-type]
        gyr_scale=tuple(float(x) for x in gyr_scale),  # type: ignore[arg-type]
        acc_scale=tuple(float(x) for x in acc_scale),  # type: ignore[arg-type]
        samples_lost=int(lost.sum()),
        sensor_time_us=sensor_time_us,
        t_true_s=t_true,
        quat_world_wxyz=quat_wxyz,
    )
    return SampledSensor(stream=stream, truth=truth)
