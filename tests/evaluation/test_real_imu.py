"""A real IMU recording without reference (qmt's full-body example, ../shared/data/qmt-fullbody): stand,
sit, stand, then jog. Plausibility, not accuracy: calibration on the first stand, both legs' seated hip
flexion agree (both thighs rest on one chair), the hip is back near 0° standing again, and no rep
starts or ends while seated or standing. The analysis stops before the jogging (not a drill: its
"reps" would enter the identification — docs/coordinate-systems.md, "Limits")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tracker.pipeline import analyze_session
from tracker.raw import RawSession, SensorStream
from tracker.results import SessionAnalysis

MAT = Path(__file__).resolve().parents[3] / "shared" / "data" / "qmt-fullbody" / "full_body_example_data.mat"
SEATED_S, STANDING_S = (52.0, 78.0), (84.0, 92.5)


def _analyse(path: Path, segment: str, side: str, until_s: float = 93.0) -> SessionAnalysis:
    import scipy.io

    d = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    t = np.asarray(d["t"], dtype=float)
    m = t < until_s

    def stream(name: str, seg: str) -> SensorStream:
        s = d[seg]
        return SensorStream(sensor=name, t_s=t[m], acc_m_s2=np.asarray(s.acc, float)[m],  # type: ignore[arg-type]
                            gyr_rad_s=np.asarray(s.gyr, float)[m])

    return analyze_session(RawSession(thigh=stream("thigh", segment), pelvis=stream("pelvis", "hip")), "knee_raise", side)


@pytest.fixture(scope="module")
def legs() -> dict[str, SessionAnalysis]:
    if not MAT.is_file():
        pytest.skip(f"real IMU recording not found at {MAT}")
    return {side: _analyse(MAT, f"upper_leg_{side}", side) for side in ("right", "left")}


def _median(a: SessionAnalysis, col: str, span: tuple[float, float]) -> float:
    ang = a.angles
    m = (ang["t"] >= span[0]) & (ang["t"] <= span[1])
    return float(np.nanmedian(ang[col][m]))


@pytest.mark.slow
def test_real_recording_is_plausible(legs: dict[str, SessionAnalysis]) -> None:
    seated = {side: _median(a, "hip_flexion_deg", SEATED_S) for side, a in legs.items()}
    for side, a in legs.items():
        assert 39.5 <= a.calibration.stand_start_s <= 41.0 and a.calibration.stand_duration_s >= 2.0, (side, a.calibration)
        assert a.heading["method"] == "joint_centre", a.heading
        assert 40.0 <= seated[side] <= 80.0, seated  # thighs ~80° from standing, pelvis ~22° back
        assert abs(_median(a, "hip_flexion_deg", STANDING_S)) <= 3.0, side
        assert abs(_median(a, "pelvic_tilt_deg", STANDING_S)) <= 3.0, side
        for r in a.reps:
            for lo, hi in (SEATED_S, STANDING_S):
                assert not (lo <= r.start_s <= hi or lo <= r.end_s <= hi), (side, r)
    assert abs(seated["right"] - seated["left"]) <= 3.0, seated
    # the pelvis is one sensor: its seated tilt does not depend on which leg was analysed
    tilts = [_median(a, "pelvic_tilt_deg", SEATED_S) for a in legs.values()]
    assert abs(tilts[0] - tilts[1]) <= 3.0 and tilts[0] < -10.0, tilts
