"""The virtual IMUs obey the physics: gravity, gyroscope integration, mounting, linear acceleration."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from simulation import SimulationConfig, simulate
from tracker import rotations as Q
from tracker.conventions import GRAVITY_M_S2


def _stand(stream, stand_s: float) -> np.ndarray:
    return stream.t_s < stand_s - 0.1


@pytest.mark.parametrize("exercise", ["knee_raise", "deep_squat"])
def test_accelerometer_norm_is_g_at_rest(exercise: str) -> None:
    sim = simulate(SimulationConfig(exercise=exercise, reps=1, seed=11, misplacement_max_deg=25.0))
    cfg = sim.config
    for stream in sim.raw.streams():
        acc = stream.acc_m_s2[_stand(stream, cfg.stand_s)]
        norm = np.linalg.norm(acc, axis=1)
        # scale errors ±2 % and bias 0.05 m/s² per axis bound the offset; noise 0.02 m/s² the spread
        assert abs(norm.mean() - GRAVITY_M_S2) < 0.02 * GRAVITY_M_S2 + 0.1
        assert norm.std() < 0.05
    ideal = simulate(SimulationConfig.ideal(exercise=exercise, reps=1, seed=11))
    for stream in ideal.raw.streams():
        norm = np.linalg.norm(stream.acc_m_s2[_stand(stream, cfg.stand_s)], axis=1)
        assert np.max(np.abs(norm - GRAVITY_M_S2)) < 0.03  # sway only


def _integrate(t: np.ndarray, gyr: np.ndarray, q0: np.ndarray) -> np.ndarray:
    """Trapezoidal-rate quaternion integration of body-frame angular velocity."""
    dt = np.diff(t)
    w_mid = 0.5 * (gyr[1:] + gyr[:-1])
    steps = Q.exp(w_mid * dt[:, None])
    q = np.empty((len(t), 4))
    q[0] = q0
    for k in range(len(dt)):
        q[k + 1] = Q.mul(q[k], steps[k])
    return q


@pytest.mark.parametrize("exercise,side", [("knee_raise", "left"), ("deep_squat", "right"), ("hip_extension", "right")])
def test_gyroscope_integration_reproduces_orientation(exercise: str, side: str) -> None:
    cfg = SimulationConfig.ideal(
        exercise=exercise, side=side, reps=9, seed=5, thigh_rate_hz=100.0, pelvis_rate_hz=100.0,
        wobble_scale=1.0,
    )
    sim = simulate(cfg)
    assert sim.truth.duration_s >= 60.0
    for name, stream in (("thigh", sim.raw.thigh), ("pelvis", sim.raw.pelvis)):
        st = sim.truth.sensors[name]
        q = _integrate(st.t_true_s, stream.gyr_rad_s, st.quat_world_wxyz[0])
        err = np.rad2deg(np.linalg.norm(Q.log(Q.mul(Q.conj(st.quat_world_wxyz), q)), axis=1))
        assert err.max() < 0.5, f"{name}: {err.max():.3f} deg"


def test_upside_down_sensor_reads_minus_g_on_its_up_axis() -> None:
    normal = simulate(SimulationConfig.ideal(reps=1, seed=2))
    flipped = simulate(
        SimulationConfig.ideal(
            reps=1, seed=2, thigh_misplacement_rotvec_deg=(0.0, 0.0, 180.0),
            pelvis_misplacement_rotvec_deg=(0.0, 0.0, 180.0),
        )
    )
    for name in ("thigh", "pelvis"):
        a_ok = normal.raw.stream(name).acc_m_s2[_stand(normal.raw.stream(name), 3.0)]
        a_up = flipped.raw.stream(name).acc_m_s2[_stand(flipped.raw.stream(name), 3.0)]
        assert np.allclose(a_ok[:, 0].mean(), GRAVITY_M_S2, atol=0.05)
        assert np.allclose(a_up[:, 0].mean(), -GRAVITY_M_S2, atol=0.05)
        assert abs(flipped.truth.sensors[name].misplacement_deg - 180.0) < 1e-9


def test_documented_placement_axes() -> None:
    """+x up, +z out of the body: lateral on the thigh, posterior on the sacrum."""
    for side, z_sign in (("right", 1.0), ("left", -1.0)):
        sim = simulate(SimulationConfig.ideal(reps=1, seed=4, side=side, sway_scale=0.0))
        q_th = sim.truth.sensors["thigh"].quat_world_wxyz[0]
        q_pe = sim.truth.sensors["pelvis"].quat_world_wxyz[0]
        assert np.allclose(Q.rotate(q_th, np.array([1.0, 0, 0])), [0, 1, 0], atol=1e-6)
        assert np.allclose(Q.rotate(q_th, np.array([0, 0, 1.0])), [0, 0, z_sign], atol=1e-6)  # world Z = right
        assert np.allclose(Q.rotate(q_pe, np.array([1.0, 0, 0])), [0, 1, 0], atol=1e-6)
        assert np.allclose(Q.rotate(q_pe, np.array([0, 0, 1.0])), [-1, 0, 0], atol=1e-6)  # backwards


def test_knee_raise_gyro_sign_thigh_flexes_about_body_right_axis() -> None:
    """Right thigh sensor: z = right = flexion axis, so a knee raise starts with +gz."""
    sim = simulate(SimulationConfig.ideal(reps=1, seed=4, side="right", pure_sagittal=True))
    rep = sim.truth.reps[0]
    th = sim.raw.thigh
    rising = (th.t_s > rep.start_s + 0.2) & (th.t_s < rep.peak_s - 0.2)
    assert th.gyr_rad_s[rising, 2].mean() > 0.5
    left = simulate(SimulationConfig.ideal(reps=1, seed=4, side="left", pure_sagittal=True))
    assert left.raw.thigh.gyr_rad_s[rising, 2].mean() < -0.5


def test_squat_accelerometer_double_integrates_to_pelvis_displacement() -> None:
    """Specific force rotated to the world + gravity = the sensor's linear acceleration (lever arm included)."""
    sim = simulate(SimulationConfig.ideal(exercise="deep_squat", reps=1, seed=8, pelvis_rate_hz=200.0, sway_scale=0.0))
    rep = sim.truth.reps[0]
    st = sim.truth.sensors["pelvis"]
    stream = sim.raw.pelvis
    sel = (st.t_true_s >= rep.start_s - 0.3) & (st.t_true_s <= rep.end_s + 0.3)
    t = st.t_true_s[sel]
    a_world = Q.rotate(st.quat_world_wxyz[sel], stream.acc_m_s2[sel]) + np.array([0.0, -GRAVITY_M_S2, 0.0])
    dt = np.diff(t)
    v = np.vstack([np.zeros(3), np.cumsum(0.5 * (a_world[1:] + a_world[:-1]) * dt[:, None], axis=0)])
    p = np.vstack([np.zeros(3), np.cumsum(0.5 * (v[1:] + v[:-1]) * dt[:, None], axis=0)])
    seg = sim.segments
    from simulation import _body

    pos_true = seg.pelvis_origin_m + Q.rotate(seg.pelvis_q, _body.PELVIS_LEVER_M)
    true_disp = np.column_stack([np.interp(t, seg.t_s, pos_true[:, j]) for j in range(3)])
    true_disp -= true_disp[0]
    assert true_disp[:, 1].min() < -0.3  # the pelvis really goes down
    assert np.max(np.abs(p - true_disp)) < 0.01
    assert np.linalg.norm(v[-1]) < 0.01


def test_quaternion_helpers_match_scipy() -> None:
    rng = np.random.default_rng(0)
    a, b = Rotation.random(50, random_state=1), Rotation.random(50, random_state=2)
    qa, qb = Q.from_rotation(a), Q.from_rotation(b)
    v = rng.standard_normal((50, 3))
    assert np.allclose(Q.to_rotation(Q.mul(qa, qb)).as_matrix(), (a * b).as_matrix(), atol=1e-12)
    assert np.allclose(Q.rotate(qa, v), a.apply(v), atol=1e-12)
    assert np.allclose(Q.rotate_inv(qa, v), a.inv().apply(v), atol=1e-12)
    assert np.allclose(Q.to_rotation(Q.exp(a.as_rotvec())).as_matrix(), a.as_matrix(), atol=1e-12)
    assert np.allclose(Q.log(qa), a.as_rotvec(), atol=1e-9)
    angles = rng.uniform(-1, 1, (50, 3))
    q = Q.from_euler_intrinsic("ZXY", [angles[:, 0], angles[:, 1], angles[:, 2]])
    assert np.allclose(Q.to_rotation(q).as_matrix(), Rotation.from_euler("ZXY", angles).as_matrix(), atol=1e-12)


def test_placement_faults_for_the_core_checks() -> None:
    base = simulate(SimulationConfig.ideal(reps=2, seed=12))
    swapped = simulate(SimulationConfig.ideal(reps=2, seed=12, swap_sensors=True))
    assert np.array_equal(swapped.raw.thigh.acc_m_s2, base.raw.pelvis.acc_m_s2)
    assert np.array_equal(swapped.raw.pelvis.t_s, base.raw.thigh.t_s)
    assert swapped.raw.thigh.sensor == "thigh" and swapped.raw.pelvis.sensor == "pelvis"
    still = simulate(SimulationConfig(reps=2, seed=12, still_sensor="thigh"))
    th = still.raw.thigh
    assert np.abs(th.acc_m_s2[:, 2].mean() - GRAVITY_M_S2) < 0.3  # flat on the table, +z up
    assert np.abs(th.gyr_rad_s).max() < 0.1  # only bias and noise
    assert np.abs(still.raw.pelvis.gyr_rad_s).max() > 0.2  # the patient still moves
    short = simulate(SimulationConfig(reps=1, seed=12, stand_s=1.0, allow_short_stand=True))
    assert short.truth.reps[0].start_s < 2.0


@pytest.mark.parametrize("exercise", ["knee_raise", "hip_extension", "deep_squat"])
def test_motion_stays_physiological(exercise: str) -> None:
    """No whiplash from the motion script: compensated, partial and fast reps alike."""
    from simulation import _body

    sim = simulate(SimulationConfig.ideal(exercise=exercise, reps=8, seed=44, compensation_prob=0.5,
                                          partial_rep_prob=0.2, tempo_variation=0.3))
    seg = sim.segments
    dt = float(seg.t_s[1] - seg.t_s[0])
    for q in (seg.pelvis_q, seg.thigh_q):
        w = _body.body_rate(q, dt)
        assert np.linalg.norm(w, axis=1).max() < 4.0  # rad/s
        assert np.linalg.norm(np.gradient(w, dt, axis=0), axis=1).max() < 30.0  # rad/s²
    for stream in sim.raw.streams():
        norm = np.linalg.norm(stream.acc_m_s2, axis=1)
        assert norm.min() > 0.4 * GRAVITY_M_S2 and norm.max() < 1.6 * GRAVITY_M_S2
    assert seg.hip_centre_m[:, 1].min() > 0.15  # the hip joint centre never reaches the floor
