"""Gaps are data (issue 14, items 2 and 3): the seeded gap and loss matrix of simulation.HOLE_SCENARIOS.

Every cell: the rep count is exact (every rep counted once, none invented), every rep a hole of ≥ 0.5 s
cuts (or whose peak fell into one) is reported with a low confidence that names the gap, reps only
random lost packets touched are not flagged, and calibration passes with holes and lost packets anywhere in
the stand. After a hole longer than 2 s, angles are back (valid and within 5° of the truth) within 3 s.
"""

from __future__ import annotations

import numpy as np
import pytest

import simulation
from evaluation.simulated import evaluate_against_truth
from simulation.holes import HOLE_SCENARIOS
from tracker.pipeline import analyze_session
from tracker.results import SessionAnalysis

DRILLS = (("knee_raise", "left", 1), ("deep_squat", "right", 2), ("hip_extension", "left", 3))


def _run(scenario: str, exercise: str, side: str, seed: int) -> tuple[simulation.SimulatedSession, SessionAnalysis]:
    cfg = simulation.SimulationConfig(exercise=exercise, side=side, seed=seed, reps=5, **HOLE_SCENARIOS[scenario])
    sim = simulation.simulate(cfg)
    return sim, analyze_session(sim.raw, exercise, side)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", sorted(HOLE_SCENARIOS))
def test_gap_matrix_counts_exact_and_cut_reps_flagged(scenario: str) -> None:
    for exercise, side, seed in DRILLS:
        sim, res = _run(scenario, exercise, side, seed)
        rep = evaluate_against_truth(res, sim.truth)
        label = f"{scenario} {exercise} {side} seed {seed}: {rep.line()}"
        assert rep.rep_count == rep.true_rep_count == rep.matched, label
        assert rep.median_abs_peak_error_deg <= 3.0, label
        for tr in sim.truth.reps:
            got = min(res.reps, key=lambda r: abs(r.peak_s - tr.peak_s))
            diag = res.rep_diagnostics[got.index - 1]
            # a hole that overlaps the rep as detected by ≥ 0.5 s (one that only takes the last of its
            # settling after the hip is back down changes nothing measured), or holds its peak
            inside = max((min(g.end_s, got.end_s) - max(g.start_s, got.start_s) for g in sim.truth.gaps), default=0.0)
            if inside >= 0.5 or tr.peak_in_gap:
                assert got.low_confidence, f"{label}: rep {tr.index} cut by a {tr.longest_gap_s:.2f} s gap not flagged"
                assert "gap" in got.low_confidence_reason or "ended" in got.low_confidence_reason, (label, got)
            if not tr.cut_by_gap:  # lost packets (even 5 % of them) cost a rep little and never flag it
                assert diag.gap_factor >= 0.75 and "gap" not in got.low_confidence_reason, (label, tr.index, diag)


def test_a_lost_packet_in_the_stand_never_fails_calibration() -> None:
    """One 40 ms packet lost anywhere in the stand (the failure issue 14 reports: 'quiet stand at the
    start is too short: 0.75 s') — at ten places across it."""
    base = simulation.simulate(simulation.SimulationConfig(exercise="knee_raise", side="right", reps=2, seed=9, packet_loss=0.0))
    from tracker.raw import RawSession

    def cut(s, a: float, b: float):
        import dataclasses

        m = ~((s.t_s >= a) & (s.t_s < b))
        return dataclasses.replace(s, t_s=s.t_s[m], acc_m_s2=s.acc_m_s2[m], gyr_rad_s=s.gyr_rad_s[m])

    for t in np.linspace(0.2, 2.7, 10):
        raw = RawSession(thigh=cut(base.raw.thigh, t, t + 0.04), pelvis=cut(base.raw.pelvis, t, t + 0.04))
        res = analyze_session(raw, "knee_raise", "right")
        assert res.calibration.stand_start_s < 0.5 and res.calibration.stand_duration_s >= 2.0, (t, res.calibration)
        assert res.summary.rep_count == 2


@pytest.mark.slow
def test_angles_resume_within_3_s_after_a_long_gap() -> None:
    sim, res = _run("5s_between_reps_both", "knee_raise", "right", 4)
    holes = [g for g in sim.truth.gaps if g.end_s - g.start_s > 2.0]
    assert holes
    ang = res.angles
    t, v = ang["t"].to_numpy(), ang["valid"].to_numpy()
    hip = ang["hip_flexion_deg"].to_numpy()
    truth = np.interp(t, sim.truth.t_s, sim.truth.hip_flexion_deg)
    for g in holes:
        after = (t >= g.end_s) & (t <= g.end_s + 3.0)
        ok = after & v & (np.abs(hip - truth) < 5.0)
        assert ok.any(), f"no accurate angle within 3 s after the {g.end_s - g.start_s:.1f} s gap at {g.start_s:.1f} s"
        first = float(t[ok][0] - g.end_s)
        assert first <= 3.0, first
