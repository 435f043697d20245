"""Screening on patients from the biomechanical simulator (simulation).

Two layers: (1) the simulator's ground-truth reps fed to the rules, which checks the rules against
patients whose limitation is known by construction; (2) the same recordings through the processing
core (tracker.pipeline.analyze_session), which checks the whole chain sensors → angles → advice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from program import ScreeningRules
from simulation import SimulatedSession, SimulationConfig, simulate
from tracker.results import Calibration, Rep, SessionAnalysis, SessionSummary


def screening_session(exercise: str, *, amplitude_deg: float, onset_deg: float | None, compensated: bool,
                      seed: int) -> SimulatedSession:
    return simulate(
        SimulationConfig(
            exercise=exercise,  # type: ignore[arg-type]
            side="left",
            reps=5,
            seed=seed,
            amplitude_deg=amplitude_deg,
            compensation_onset_deg=onset_deg,
            compensation_prob=1.0 if compensated else 0.0,
            partial_rep_prob=0.0,
        )
    )


def analysis_from_truth(sim: SimulatedSession) -> SessionAnalysis:
    """The ground truth in the processing core's result types (what a perfect pipeline would say)."""
    truth = sim.truth
    reps = [
        Rep(
            index=r.index - 1,
            start_s=r.start_s,
            peak_s=r.peak_s,
            end_s=r.end_s,
            peak_hip_flexion_deg=r.peak_hip_flexion_deg,
            hold_s=r.hold_s,
            partial=r.partial,
            compensation=r.compensated,
            compensation_deg=r.compensation_deg,
            compensation_onset_hip_deg=r.compensation_onset_hip_deg,
            set_index=r.set_index,
        )
        for r in truth.reps
    ]
    full = [r for r in reps if not r.partial]
    n_comp = sum(r.compensation for r in reps)
    summary = SessionSummary(
        rep_count=len(reps),
        full_rep_count=len(full),
        partial_rep_count=len(reps) - len(full),
        rom_deg=float(np.median([abs(r.peak_hip_flexion_deg) for r in full])),
        mean_peak_hip_flexion_deg=float(np.mean([r.peak_hip_flexion_deg for r in full])),
        compensation_count=n_comp,
        compensation_rate=n_comp / len(reps),
        mean_rep_duration_s=float(np.mean([r.end_s - r.start_s for r in reps])),
        mean_hold_s=float(np.mean([r.hold_s for r in reps])),
        duration_s=truth.duration_s,
    )
    cal = Calibration(truth.calibration_start_s, truth.calibration_end_s - truth.calibration_start_s, (), 1.0, "good")
    angles = pd.DataFrame(
        {"t": truth.t_s, "hip_flexion_deg": truth.hip_flexion_deg, "pelvic_tilt_deg": truth.pelvic_tilt_deg,
         "valid": True}
    )
    return SessionAnalysis(
        exercise=truth.exercise,  # type: ignore[arg-type]
        side=truth.side,  # type: ignore[arg-type]
        calibration=cal,
        summary=summary,
        reps=reps,
        angles=angles,
        threshold_deg=truth.compensation_threshold_deg,
    )


@pytest.fixture(scope="module")
def limited_patient() -> dict[str, SimulatedSession]:
    """Rounds from 60° in the knee raise; only 8° of hip extension, with anterior tilt; full squat."""
    return {
        "knee_raise": screening_session("knee_raise", amplitude_deg=100, onset_deg=60, compensated=True, seed=11),
        "hip_extension": screening_session("hip_extension", amplitude_deg=-8, onset_deg=3, compensated=True, seed=12),
        "deep_squat": screening_session("deep_squat", amplitude_deg=115, onset_deg=None, compensated=False, seed=13),
    }


@pytest.fixture(scope="module")
def healthy_patient() -> dict[str, SimulatedSession]:
    return {
        "knee_raise": screening_session("knee_raise", amplitude_deg=100, onset_deg=None, compensated=False, seed=21),
        "hip_extension": screening_session("hip_extension", amplitude_deg=-20, onset_deg=None, compensated=False, seed=22),
        # clear of the 100° rule: per-rep amplitude varies ±8 % and the core may under-read by a few degrees
        "deep_squat": screening_session("deep_squat", amplitude_deg=125, onset_deg=None, compensated=False, seed=23),
    }


def test_truth_limited_patient_gets_both_mobility_drills(limited_patient) -> None:
    result = ScreeningRules().evaluate(**{k: analysis_from_truth(v) for k, v in limited_patient.items()})
    assert result.knee_raise is not None and result.knee_raise.rounding_onset_hip_deg == pytest.approx(60.0, abs=1.0)
    assert result.hip_extension is not None
    assert result.hip_extension.active_extension_deg == pytest.approx(8.0, abs=1.5)
    assert result.recommended_drills == ("knee_raise", "hip_extension", "deep_squat")
    assert "pelvis starts rounding at 60° of hip flexion (threshold 90°)" in result.recommendation("deep_squat").reason


def test_truth_healthy_patient_gets_strengthening_only(healthy_patient) -> None:
    result = ScreeningRules().evaluate(**{k: analysis_from_truth(v) for k, v in healthy_patient.items()})
    assert result.deep_squat is not None and result.deep_squat.depth_deg > 100
    assert result.knee_raise is not None and not result.knee_raise.rounding
    assert result.recommended_drills == ("knee_raise",)


@pytest.fixture(scope="module")
def analyze():
    from tracker.pipeline import analyze_session

    return lambda sim: analyze_session(sim.raw, sim.config.exercise, sim.config.side)


def test_sensors_to_advice_rounding_from_60_deg(limited_patient, healthy_patient, analyze) -> None:
    """Raw IMU signals → processing core → screening: rounding from 60° recommends shortening."""
    lim = ScreeningRules().evaluate(
        knee_raise=analyze(limited_patient["knee_raise"]), deep_squat=analyze(limited_patient["deep_squat"])
    )
    kr = lim.knee_raise
    assert kr is not None and kr.rep_count == 5 and kr.rounding
    assert kr.rounding_onset_hip_deg is not None
    assert kr.rounding_onset_hip_deg == pytest.approx(60.0, abs=8.0)
    rec = lim.recommendation("deep_squat")
    assert rec.recommended
    assert f"pelvis starts rounding at {kr.rounding_onset_hip_deg:.0f}° of hip flexion (threshold 90°)" in rec.reason
    ok = ScreeningRules().evaluate(
        knee_raise=analyze(healthy_patient["knee_raise"]), deep_squat=analyze(healthy_patient["deep_squat"])
    )
    assert ok.knee_raise is not None and not ok.knee_raise.rounding
    assert ok.deep_squat is not None and ok.deep_squat.depth_deg > 100.0
    assert not ok.recommendation("deep_squat").recommended


def test_sensors_to_advice_limited_extension(limited_patient, healthy_patient, analyze) -> None:
    lim = ScreeningRules().evaluate(hip_extension=analyze(limited_patient["hip_extension"]))
    assert lim.hip_extension is not None
    assert lim.hip_extension.active_extension_deg == pytest.approx(8.0, abs=3.0)
    assert lim.recommendation("hip_extension").recommended
    ok = ScreeningRules().evaluate(hip_extension=analyze(healthy_patient["hip_extension"]))
    assert not ok.recommendation("hip_extension").recommended
