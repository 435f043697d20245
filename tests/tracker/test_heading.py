"""The relative heading's building blocks against known answers (tracker/heading.py, joint_centre.py,
orientation.stitch_heading) and the fallback when it is not observable."""

from __future__ import annotations

import numpy as np
import pytest

import simulation
from tracker import rotations as Q
from tracker.heading import solve_constant
from tracker.orientation import stitch_heading
from tracker.pipeline import AnalysisParams, SessionAnalyzer, analyze_session


def test_joint_centre_offsets_are_found_where_the_anatomy_put_them() -> None:
    """Sensor-noise-free knee raises with the hip centre at a random place: the fitted offsets are
    within 2 cm (thigh) of the truth; the sacrum, which hardly rotates, stays near its prior."""
    cfg = simulation.SimulationConfig.ideal(exercise="knee_raise", side="left", reps=6, seed=3, random_anatomy=True)
    sim = simulation.simulate(cfg)
    an = SessionAnalyzer("knee_raise", "left").analyze(sim.raw)
    r_t, r_p = an.angles_.offsets_m  # type: ignore[misc]
    true_t = np.asarray(sim.truth.sensors["thigh"].hip_centre_in_sensor_m)
    true_p = np.asarray(sim.truth.sensors["pelvis"].hip_centre_in_sensor_m)
    assert np.linalg.norm(r_t - true_t) < 0.02, (r_t, true_t)
    assert np.linalg.norm(r_p - true_p) < 0.06, (r_p, true_p)


def test_solve_constant_recovers_a_rotation_despite_accelerometer_errors() -> None:
    rng = np.random.default_rng(1)
    n = 6000
    a = np.cumsum(rng.normal(0, 0.05, (n, 2)), axis=0)  # a random walk of horizontal accelerations
    a = a - a.mean(0)
    c = np.radians(-37.0)
    rot = np.array([[np.cos(c), -np.sin(c)], [np.sin(c), np.cos(c)]])
    leak_t = rng.normal(0, 1.0, (n, 2, 6)) * 0.2
    leak_p = rng.normal(0, 1.0, (n, 2, 6)) * 0.2
    theta_t, theta_p = np.r_[0.02, -0.01, 0.015, 0.05, 0.0, -0.03], np.r_[-0.015, 0.02, 0.0, 0.0, 0.04, 0.02]
    b = (a @ rot.T) + np.einsum("nij,j->ni", leak_p, theta_p) + rng.normal(0, 0.01, (n, 2))
    a_obs = a + np.einsum("nij,j->ni", leak_t, theta_t)
    k = solve_constant(a_obs, b, np.ones(n), rate_hz=100.0, bandwidth_hz=6.0, leak_t=leak_t, leak_p=leak_p)
    assert np.degrees(k.c_rad) == pytest.approx(-37.0, abs=0.3)
    assert k.sigma_deg < 1.0 and k.coherence > 0.95
    plain = solve_constant(a_obs, b, np.ones(n), rate_hz=100.0, bandwidth_hz=6.0)
    assert abs(np.degrees(plain.c_rad) + 37.0) > abs(np.degrees(k.c_rad) + 37.0)  # the error terms matter
    empty = solve_constant(a_obs[:5], b[:5], np.ones(5), rate_hz=100.0, bandwidth_hz=6.0)
    assert not np.isfinite(empty.sigma_deg)


def test_stitch_carries_the_heading_across_a_gap_with_a_hidden_flexion() -> None:
    """A thigh flexing 70° about a horizontal axis while no data came (1 s): the restarted run's heading
    is put back within 1° by the axis it kept turning about."""
    axis = np.array([0.0, 0.0, 1.0])  # sensor z: the flexion axis (horizontal: sensor x is up)
    q_mount = Q.from_euler_intrinsic("ZYX", [np.array(0.3), np.array(0.0), np.array(0.0)])  # heading 0.3 rad
    up_sensor = Q.about_axis("Y", np.array(-np.pi / 2))  # sensor x up
    base = Q.mul(q_mount, up_sensor)
    w = 1.2  # rad/s about the sensor axis
    q_end = Q.mul(base, Q.about_axis("Z", np.array(0.2)))
    q_true_after = Q.mul(base, Q.about_axis("Z", np.array(0.2 + np.radians(70))))
    q_restart = Q.mul(Q.about_axis("Z", np.array(1.1)), q_true_after)  # a fresh filter: some other heading
    before = np.tile(axis * w, (30, 1))
    h = stitch_heading(q_end, before, q_restart, axis * w, 1.0)
    assert h is not None
    assert np.degrees(np.angle(np.exp(1j * (h + 1.1)))) == pytest.approx(0.0, abs=1.0)
    still = stitch_heading(q_end, np.zeros((30, 3)), Q.mul(Q.about_axis("Z", np.array(0.4)), q_end), np.zeros(3), 0.5)
    assert still is not None and np.degrees(still) == pytest.approx(-np.degrees(0.4), abs=0.5)
    # a whole movement hidden in the gap with the segment still on both sides: not linkable
    assert stitch_heading(q_end, np.zeros((30, 3)), q_restart, np.zeros(3), 1.5) is None


def test_unobservable_heading_falls_back_to_the_sagittal_estimate_and_says_so() -> None:
    sim = simulation.simulate(simulation.SimulationConfig(exercise="knee_raise", side="right", reps=4, seed=6))
    strict = AnalysisParams(heading={"max_sigma_deg": 1e-3})  # nothing is observable this well
    res = analyze_session(sim.raw, "knee_raise", "right", params=strict)
    assert res.heading["method"] == "sagittal" and not res.heading["observable"]
    assert {d.heading_method for d in res.rep_diagnostics} == {"sagittal"}
    for r in res.reps:
        assert r.confidence == pytest.approx(0.65, abs=1e-9)  # the fallback's factor, everything else clean
    assert res.summary.rep_count == 4
    normal = analyze_session(sim.raw, "knee_raise", "right")
    assert normal.heading["method"] == "joint_centre" and normal.heading["sigma_deg"] < 3.0
    assert {d.heading_method for d in normal.rep_diagnostics} == {"joint_centre"}
