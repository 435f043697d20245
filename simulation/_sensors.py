"""A virtual IMU: its own clock, sampling, instrument errors and a lossy radio link.

Clock: the sensor counts microseconds, sensor_time_us = offset + (1 + drift)·t_true. It samples at its
nominal rate on *its own* clock, so in session time the period is 1/(rate·(1 + drift)) and the two
sensors never sample at the same instants. The recorder maps the sensor clock back to the session clock
with an estimated offset and drift; the residual (``alignment_error_max_s``, default ≤ 1 ms) is what a
good recorder achieves and is the only difference between the CSV ``t`` and the true time.

Link: random packet loss in bursts (Gilbert-Elliott) outside the calibration stand (inside it too
with ``packet_loss_in_stand``), plus the planned holes (simulation.holes); every run of lost samples
is reported in the truth with its cause.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from simulation._body import CleanSensor, vec3
from simulation.config import SimulationConfig
from simulation.holes import PlannedHole
from simulation.truth import SensorTruth, TruthGap
from tracker import rotations as Q
from tracker.conventions import SensorName
from tracker.raw import SensorStream
from tracker.rawcsv import find_gaps

#: Indoor magnetic field in the world frame (µT): horizontal ~20, inclined downwards.
MAG_WORLD_UT = np.array([20.0, -42.0, 4.0])


@dataclass(slots=True)
class SampledSensor:
    stream: SensorStream
    truth: SensorTruth
    gaps: list[TruthGap]


def random_misplacement(rng: np.random.Generator, max_deg: float) -> np.ndarray:
    """Rotation vector (deg): uniform random axis, angle uniform in [0, max]."""
    axis = rng.standard_normal(3)
    axis /= np.linalg.norm(axis)
    return axis * rng.uniform(0.0, max_deg)


def mag_disturbance_world(name: str, t_s: np.ndarray, pos_m: np.ndarray, cfg: SimulationConfig, duration_s: float) -> np.ndarray:
    """The local field disturbance (world frame, µT) at each sample: a dipole near the floor (one
    object in the room: the same for both sensors, its field depending on where each sensor is) and a
    time-limited field on the thigh sensor. Drawn from its own stream of the seed, so the other
    imperfections stay what they were."""
    out = np.zeros((len(t_s), 3))
    if cfg.mag_dipole_ut == 0 and cfg.mag_transient_ut == 0:
        return out
    rng = np.random.default_rng([cfg.seed, 0x3A6])
    az, d, h = rng.uniform(0, 2 * np.pi), rng.uniform(0.4, 0.7), rng.uniform(0.1, 0.4)
    where = np.array([d * np.cos(az), h, d * np.sin(az)])  # world: y up, floor at 0
    moment = rng.standard_normal(3)
    moment /= np.linalg.norm(moment)
    t_start = rng.uniform(0.25 * duration_s, max(0.25 * duration_s, 0.75 * duration_s - cfg.mag_transient_s))
    direction = rng.standard_normal(3)
    direction /= np.linalg.norm(direction)
    if cfg.mag_dipole_ut > 0:
        r = pos_m - where
        rn = np.linalg.norm(r, axis=1, keepdims=True)
        rh = r / rn
        k = cfg.mag_dipole_ut * 0.5**3  # equatorial field at 0.5 m
        out += k * (3.0 * (rh @ moment)[:, None] * rh - moment) / rn**3
    if cfg.mag_transient_ut > 0 and name == "thigh":
        u = np.clip(np.minimum(t_s - t_start, t_start + cfg.mag_transient_s - t_s), 0.0, 1.0)  # 1 s ramps
        out += cfg.mag_transient_ut * (0.5 - 0.5 * np.cos(np.pi * u))[:, None] * direction
    return out


def sample_sensor(
    name: SensorName,
    clean: CleanSensor,
    t_grid: np.ndarray,
    cfg: SimulationConfig,
    rng: np.random.Generator,
    rate_hz: float,
    misplacement_rotvec_deg: np.ndarray,
    mount: Rotation,
    lever_arm_m: np.ndarray,
    *,
    stand: tuple[float, float] | None = None,
    holes: tuple[PlannedHole, ...] = (),
    hip_centre_in_sensor_m: np.ndarray | None = None,
    soft_tissue_max_deg: float = 0.0,
) -> SampledSensor:
    """Sample ``clean`` on this sensor's clock, add instrument errors, lose packets and holes.

    ``stand``: the calibration stand (true time), spared by the random loss unless
    ``cfg.packet_loss_in_stand``; ``holes``: planned dropouts (those covering this sensor apply)."""
    stand = stand if stand is not None else (0.0, cfg.stand_s)
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

    # packet loss in bursts outside the calibration stand (Gilbert-Elliott, vectorised)
    in_session = t_rep >= 0.0
    lost = np.zeros(len(t_true), dtype=bool)
    in_stand = (t_true >= stand[0]) & (t_true <= stand[1])
    if cfg.packet_loss > 0:
        mean_burst = cfg.packet_loss_burst_samples
        p_start = cfg.packet_loss / (mean_burst * (1.0 - cfg.packet_loss))
        allowed = np.ones(len(t_true), dtype=bool) if cfg.packet_loss_in_stand else ~in_stand
        starts = np.flatnonzero((rng.random(len(t_true)) < p_start) & allowed)
        lengths = rng.geometric(1.0 / mean_burst, size=len(starts))
        for i, length in zip(starts, lengths):
            lost[i : i + length] = True
        if not cfg.packet_loss_in_stand:
            lost &= ~in_stand  # a burst that began before the stand ends at it
    dropped = np.zeros(len(t_true), dtype=bool)
    for h in holes:
        if h.covers(name):
            dropped |= (t_true >= h.start_s) & (t_true < h.end_s)
    lost |= dropped
    keep = in_session & ~lost
    gaps = _lost_runs(name, t_true, t_rep, in_session, lost, dropped, keep, duration)
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
    mag_dist = None
    if cfg.with_magnetometer:
        hard_iron = rng.uniform(-cfg.mag_hard_iron_max_ut, cfg.mag_hard_iron_max_ut, 3)
        pos = np.column_stack([np.interp(t_true, t_grid, clean.position_m[:, j]) for j in range(3)])
        dist_world = mag_disturbance_world(name, t_true, pos, cfg, duration)
        mag_dist = np.linalg.norm(dist_world, axis=1)
        mag = Q.rotate_inv(quat_wxyz, MAG_WORLD_UT + dist_world) + hard_iron + rng.standard_normal((m, 3)) * 0.3

    mq = mount.as_quat()
    stream = SensorStream(sensor=name, t_s=t_rep, acc_m_s2=acc_meas, gyr_rad_s=gyr_meas, mag_ut=mag)
    truth = SensorTruth(
        sensor=name,
        rate_hz=float(rate_hz),
        misplacement_rotvec_deg=vec3(misplacement_rotvec_deg),
        misplacement_deg=float(np.linalg.norm(misplacement_rotvec_deg)),
        mount_quat_wxyz=(float(mq[3]), float(mq[0]), float(mq[1]), float(mq[2])),
        lever_arm_m=vec3(lever_arm_m),
        clock_offset_us=offset_us,
        clock_drift_ppm=float(drift * 1e6),
        alignment_offset_error_s=float(off_err),
        alignment_drift_error_ppm=float(drift_err * 1e6),
        gyr_bias_rad_s=vec3(gyr_bias),
        acc_bias_m_s2=vec3(acc_bias),
        gyr_scale=vec3(gyr_scale),
        acc_scale=vec3(acc_scale),
        samples_lost=int(lost.sum()),
        sensor_time_us=sensor_time_us,
        t_true_s=t_true,
        quat_world_wxyz=quat_wxyz,
        hip_centre_in_sensor_m=None if hip_centre_in_sensor_m is None else vec3(hip_centre_in_sensor_m),
        soft_tissue_max_deg=float(soft_tissue_max_deg),
        mag_disturbance_ut=mag_dist,
    )
    return SampledSensor(stream=stream, truth=truth, gaps=gaps)


def _lost_runs(
    name: SensorName,
    t_true: np.ndarray,
    t_rep: np.ndarray,
    in_session: np.ndarray,
    lost: np.ndarray,
    dropped: np.ndarray,
    keep: np.ndarray,
    duration: float,
) -> list[TruthGap]:
    """Every run of lost samples as a TruthGap; ``reported`` when find_gaps (the raw session's gap
    rule) sees the same hole in the delivered timestamps."""
    runs = np.diff(np.concatenate([[0], (lost & in_session).astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(runs == 1), np.flatnonzero(runs == -1)  # [start, end) on the full grid
    if len(starts) == 0:
        return []
    delivered_before = np.cumsum(keep) - 1  # index among delivered samples of the last one at or before i
    reported_after = {int(np.searchsorted(t_rep[keep], g.start_s))
                      for g in find_gaps(name, t_rep[keep])}
    out = []
    for a, b in zip(starts, ends):
        has_before = a > 0 and bool(keep[a - 1])
        k_before = int(delivered_before[a - 1]) if has_before else -1
        out.append(
            TruthGap(
                sensor=name,
                start_s=float(t_true[a - 1]) if has_before else float(t_true[a]),
                end_s=float(t_true[b]) if b < len(t_true) else float(duration),
                samples_lost=int(b - a),
                cause="dropout" if bool(dropped[a:b].any()) else "packet_loss",
                reported=bool(has_before and b < len(t_true) and k_before in reported_after),
            )
        )
    return out
