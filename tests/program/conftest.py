"""Builders for SessionAnalysis objects of screening sessions with known, seeded measurements."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pytest

from tracker.results import (
    Calibration,
    Rep,
    SensorCalibration,
    SessionAnalysis,
    SessionSummary,
)


def build_session(
    exercise: str,
    *,
    peaks_deg: Sequence[float],
    compensation_deg: Sequence[float],
    onset_hip_deg: Sequence[float | None] | None = None,
    partial: Sequence[bool] | None = None,
    hold_s: float = 1.0,
    side: str = "left",
    threshold_deg: float = 10.0,
) -> SessionAnalysis:
    """One rep per entry of ``peaks_deg``; a rep compensates when its magnitude ≥ ``threshold_deg``."""
    n = len(peaks_deg)
    onset_hip_deg = onset_hip_deg if onset_hip_deg is not None else [None] * n
    partial = partial if partial is not None else [False] * n
    sign = 1.0 if exercise == "hip_extension" else -1.0
    reps = []
    for i, (peak, comp, onset, part) in enumerate(
        zip(peaks_deg, compensation_deg, onset_hip_deg, partial, strict=True)
    ):
        t0 = 3.0 + 4.0 * i
        flagged = comp >= threshold_deg
        reps.append(
            Rep(
                index=i,
                start_s=t0,
                peak_s=t0 + 1.5,
                end_s=t0 + 3.0 + hold_s,
                peak_hip_flexion_deg=float(peak),
                hold_s=hold_s,
                partial=part,
                compensation=flagged,
                compensation_deg=float(comp),
                compensation_onset_hip_deg=onset if flagged else None,
                range_deg=abs(float(peak)),
                pelvic_tilt_change_deg=sign * float(comp),
                duration_s=3.0 + hold_s,
            )
        )
    full = [r for r in reps if not r.partial]
    comp_count = sum(r.compensation for r in reps)
    summary = SessionSummary(
        rep_count=n,
        full_rep_count=len(full),
        partial_rep_count=n - len(full),
        rom_deg=float(np.median([abs(r.peak_hip_flexion_deg) for r in full])) if full else 0.0,
        mean_peak_hip_flexion_deg=float(np.mean([r.peak_hip_flexion_deg for r in full])) if full else 0.0,
        compensation_count=comp_count,
        compensation_rate=comp_count / n if n else 0.0,
        mean_rep_duration_s=3.0 + hold_s,
        mean_hold_s=hold_s,
        duration_s=3.0 + 4.0 * n + 2.0,
    )
    calibration = Calibration(
        stand_start_s=0.0,
        stand_duration_s=2.5,
        sensors=(
            SensorCalibration("thigh", 5.0, 9.81, 0.01),
            SensorCalibration("pelvis", 3.0, 9.81, 0.01),
        ),
        flexion_axis_confidence=0.95,
        quality="good",
    )
    angles = pd.DataFrame(
        {"t": [0.0, 1.0], "hip_flexion_deg": [0.0, 0.0], "pelvic_tilt_deg": [0.0, 0.0], "valid": [True, True]}
    )
    return SessionAnalysis(
        exercise=exercise,  # type: ignore[arg-type]
        side=side,  # type: ignore[arg-type]
        calibration=calibration,
        summary=summary,
        reps=reps,
        angles=angles,
        threshold_deg=threshold_deg,
    )


@pytest.fixture
def make_session() -> Callable[..., SessionAnalysis]:
    return build_session


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261126)
