"""The simulator's magnetometer: the local field disturbance is optional, seeded, depends on where each
sensor is, and leaves every other imperfection of a session as it was."""

from __future__ import annotations

import numpy as np
import pytest

from simulation import SimulationConfig, SimulationConfigError, simulate
from simulation._sensors import MAG_WORLD_UT
from tracker import rotations as Q


def _cfg(**kw: float) -> SimulationConfig:
    return SimulationConfig(exercise="deep_squat", reps=2, seed=4, with_magnetometer=True, packet_loss=0.0, **kw)  # type: ignore[arg-type]


def test_disturbance_is_optional_and_changes_nothing_else() -> None:
    base, dist = simulate(_cfg()), simulate(_cfg(mag_dipole_ut=20.0, mag_transient_ut=30.0))
    for name in ("thigh", "pelvis"):
        a, b = base.raw.stream(name), dist.raw.stream(name)
        for f in ("t_s", "acc_m_s2", "gyr_rad_s"):
            assert np.array_equal(getattr(a, f), getattr(b, f)), (name, f)
        assert not np.allclose(a.mag_ut, b.mag_ut)
        assert np.all(base.truth.sensors[name].mag_disturbance_ut == 0.0)


def test_disturbance_follows_the_sensors_and_the_time_window() -> None:
    sim = simulate(_cfg(mag_hard_iron_max_ut=0.0, mag_dipole_ut=20.0))
    th, pv = sim.truth.sensors["thigh"], sim.truth.sensors["pelvis"]
    assert th.mag_disturbance_ut is not None and pv.mag_disturbance_ut is not None
    # the dipole near the floor: felt by both, more by the lower sensor, changing as the squat moves them
    assert 0.2 < np.median(pv.mag_disturbance_ut) < np.median(th.mag_disturbance_ut) < 200.0
    assert np.ptp(pv.mag_disturbance_ut) > 0.2 and np.ptp(th.mag_disturbance_ut) > 1.0
    # the transient: on the thigh only, at full size for mag_transient_s − 2 s (1 s ramps each end)
    sim = simulate(_cfg(mag_hard_iron_max_ut=0.0, mag_transient_ut=30.0, mag_transient_s=6.0))
    th, pv = sim.truth.sensors["thigh"], sim.truth.sensors["pelvis"]
    assert th.mag_disturbance_ut is not None and pv.mag_disturbance_ut is not None
    assert np.all(pv.mag_disturbance_ut == 0.0)
    rate = 1.0 / np.median(np.diff(th.t_true_s))
    assert abs(np.sum(th.mag_disturbance_ut > 29.9) / rate - 4.0) < 0.15
    assert abs(np.sum(th.mag_disturbance_ut > 0.0) / rate - 6.0) < 0.1
    # the measured field is the world field plus the disturbance, seen from the sensor (noise 0.3 µT)
    clean = Q.rotate_inv(th.quat_world_wxyz, MAG_WORLD_UT)
    extra = np.linalg.norm(sim.raw.thigh.mag_ut - clean, axis=1)
    assert np.median(np.abs(extra - th.mag_disturbance_ut)) < 1.0


def test_magnetometer_parameters_are_validated() -> None:
    with pytest.raises(SimulationConfigError, match="mag_dipole_ut"):
        _cfg(mag_dipole_ut=-1.0)
    with pytest.raises(SimulationConfigError, match="mag_transient_s"):
        _cfg(mag_transient_s=0.5)
