"""Accuracy of the offline path against the simulator's ground truth.

Two populations, seeded:
* the default simulator (issue 4's acceptance figures): all drills × both sides, two sets with rest
  and fidgeting (and possibly a turn), misplacement up to ±25°, gyro bias, scale errors, clock drift,
  2 % packet loss in bursts, each sensor at 50–120 Hz;
* ``SimulationConfig.realistic`` — what makes real hips hard (issue 14): hip abduction and rotation
  coupled to the flexion (knees out), pelvic obliquity and rotation, 4° thigh soft-tissue artefact,
  joint centres where the anatomy puts them, 3°/s gyro bias, 50–120 Hz, slow reps. Goal: median peak
  error ≤ 2° (pooled over both sides and three seeds per drill), counts exact, compensation ≥ 0.95.
"""

from __future__ import annotations

import numpy as np
import pytest

import simulation
from evaluation.simulated import SimulationReport, evaluate_against_truth
from tracker.pipeline import analyze_session

CASES = [
    (ex, side, seed)
    for ex in ("knee_raise", "hip_extension", "deep_squat")
    for side in ("left", "right")
    for seed in (7, 8)
]
_reports: dict[tuple[str, str, int, bool], SimulationReport] = {}


def _run(ex: str, side: str, seed: int, realistic: bool = False) -> SimulationReport:
    key = (ex, side, seed, realistic)
    if key not in _reports:
        if realistic:
            cfg = simulation.SimulationConfig.realistic(seed, exercise=ex, side=side, reps=5, sets=2)
        else:
            rng = np.random.default_rng(seed * 31 + len(ex) + (side == "left"))
            rate_t, rate_p = (float(v) for v in rng.uniform(50.0, 120.0, 2).round())
            cfg = simulation.SimulationConfig(
                exercise=ex, side=side, seed=seed, reps=5, sets=2, thigh_rate_hz=rate_t, pelvis_rate_hz=rate_p,
                packet_loss=0.02, misplacement_max_deg=25.0,
            )
        sim = simulation.simulate(cfg)
        _reports[key] = evaluate_against_truth(analyze_session(sim.raw, ex, side), sim.truth)
    return _reports[key]


@pytest.mark.parametrize(("exercise", "side", "seed"), CASES)
def test_session_accuracy(exercise: str, side: str, seed: int) -> None:
    r = _run(exercise, side, seed)
    assert r.rep_count == r.true_rep_count == r.matched, r.line()
    assert r.median_abs_peak_error_deg <= 2.0, r.line()
    assert r.hip_rmse_deg <= 2.0, r.line()
    assert float(np.median(np.abs(r.tilt_change_errors_deg))) <= 2.0, r.line()
    assert r.compensation_accuracy >= 0.9, r.line()


def test_pooled_figures() -> None:
    """Pooled over all sessions: compensation ≥ 95 %, tilt-change error p95 ≤ 2° (angle series at the
    true start/peak; ≤ 3° when measured between the detected rep's own start and peak), onset, holds."""
    reports = [_run(*c) for c in CASES]
    n = sum(r.true_rep_count for r in reports)
    comp_ok = sum(round(r.compensation_accuracy * r.true_rep_count) for r in reports)
    tilt = np.abs(np.concatenate([r.tilt_change_series_errors_deg for r in reports]))
    tilt_rep = np.abs(np.concatenate([r.tilt_change_errors_deg for r in reports]))
    peaks = np.abs(np.concatenate([r.peak_errors_deg for r in reports]))
    onset = np.abs(np.concatenate([r.onset_errors_deg for r in reports]))
    holds = np.abs(np.concatenate([r.hold_errors_s for r in reports]))
    summary = (
        f"{len(reports)} sessions, {n} reps: compensation {comp_ok}/{n}; |tilt-change err| (true instants) median "
        f"{np.median(tilt):.2f} p95 {np.percentile(tilt, 95):.2f}°, (detected rep start/peak) median "
        f"{np.median(tilt_rep):.2f} p95 {np.percentile(tilt_rep, 95):.2f}°; |peak err| median {np.median(peaks):.2f} "
        f"p95 {np.percentile(peaks, 95):.2f}°; |onset err| median {np.median(onset):.1f}°; |hold err| median "
        f"{np.median(holds):.2f} s"
    )
    print(summary)
    assert comp_ok / n >= 0.95, summary
    assert np.percentile(tilt, 95) <= 2.0, summary
    assert np.percentile(tilt_rep, 95) <= 3.0, summary
    assert np.median(peaks) <= 2.0, summary
    # The simulator's compensation starts C2-smooth (cubic in hip angle × a 0.4 s time ease), so
    # the first *detectable* tilt excess lags its mathematical start by several degrees of hip.
    assert np.median(onset) <= 10.0, summary
    assert np.median(holds) <= 0.5, summary


@pytest.mark.slow
@pytest.mark.parametrize("exercise", ["knee_raise", "hip_extension", "deep_squat"])
def test_realistic_hips(exercise: str) -> None:
    """Non-hinge hips, soft tissue, 3°/s bias, slow reps: the issue-14 goal per drill (both sides, three
    seeds pooled). Per session the median peak error is 0.1–3.5° (the 4° soft-tissue artefact of the
    thigh sensor alone accounts for ~2° in the worst sessions: it turns the sensor on the femur)."""
    reports = [_run(exercise, side, seed, realistic=True) for side in ("left", "right") for seed in (1, 2, 3)]
    lines = "\n".join(r.line() for r in reports)
    for r in reports:
        assert r.rep_count == r.true_rep_count == r.matched, r.line()
        assert r.hip_rmse_deg <= 3.0, r.line()
    peaks = np.abs(np.concatenate([r.peak_errors_deg for r in reports]))
    n = sum(r.true_rep_count for r in reports)
    comp_ok = sum(round(r.compensation_accuracy * r.true_rep_count) for r in reports)
    assert float(np.median(peaks)) <= 2.0, f"pooled median |peak err| {np.median(peaks):.2f}°\n{lines}"
    assert comp_ok / n >= 0.95, f"compensation {comp_ok}/{n}\n{lines}"
