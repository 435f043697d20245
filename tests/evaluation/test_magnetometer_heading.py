"""The magnetometer candidate for the relative heading (issue 14, item 1; evaluation/magnetometer.py),
a small version of the study in docs/coordinate-systems.md: one realistic knee-raise session with a
magnetometer, in a clean field, with uncalibrated hard iron and near a steel object with a transient —
against the simulator's true relative heading, hip angle and disturbance."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.heading_study import (
    MAG_CONDITIONS,
    Case,
    engine,
    mag_detection,
    magnetometer_checked,
    score,
    simulated_case,
)
from simulation import SimulationConfig


@pytest.fixture(scope="module")
def cases() -> dict[str, Case]:
    return {name: simulated_case(SimulationConfig.realistic(1, exercise="knee_raise", side="right", reps=5, sets=2,
                                                            with_magnetometer=True, **kw), name)
            for name, kw in MAG_CONDITIONS.items()}


def _delta_error_deg(c: Case) -> np.ndarray:
    e = np.degrees(np.angle(np.exp(1j * (c.extras["mag_delta"] - c.delta_true_rad))))
    out: np.ndarray = np.abs(e[c.grid.valid])
    return out


def _median_peak_error(c: Case, hip: np.ndarray | None) -> float:
    assert hip is not None
    return float(np.median(np.abs(score(c, hip)[0])))


def test_clean_field_gives_the_true_relative_heading(cases: dict[str, Case]) -> None:
    c = cases["simulator + magnetometer, clean field"]
    assert np.median(_delta_error_deg(c)) <= 2.0
    det = mag_detection([c], strict=True)
    assert det["flagged_of_clean"] <= 0.05, det  # few false alarms
    assert _median_peak_error(c, magnetometer_checked(c, strict=True)) <= 3.0


def test_the_check_catches_the_disturbance_where_it_matters(cases: dict[str, Case]) -> None:
    c = cases["simulator + magnetometer, disturbed"]
    strict, vqf_only = mag_detection([c], strict=True), mag_detection([c])
    assert strict["flagged_of_harmful"] >= 0.45, strict
    assert strict["flagged_of_harmful"] > vqf_only["flagged_of_harmful"], (strict, vqf_only)
    # at every rep's true peak the magnetometer's δ is either within 5° of the truth or flagged
    g, e_all = c.grid, np.full(len(c.grid.t_s), np.nan)
    e_all[g.valid] = _delta_error_deg(c)
    bad = c.extras["mag_disturbed"] | c.extras["mag_off_reference"]
    for a, b, _ in c.reps:
        m = (g.t_s >= a) & (g.t_s <= b) & g.valid
        k = np.flatnonzero(m)[np.argmax(c.sign * c.ref_hip_deg[m])]
        assert e_all[k] <= 5.0 or bad[k], (a, b, e_all[k])


@pytest.mark.parametrize("condition", list(MAG_CONDITIONS))
def test_checked_candidate_is_never_worse_than_its_fallback(cases: dict[str, Case], condition: str) -> None:
    c = cases[condition]
    assert _median_peak_error(c, magnetometer_checked(c, strict=True)) <= _median_peak_error(c, engine(c)) + 1.0
