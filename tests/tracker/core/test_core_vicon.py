"""Real motion capture (UI-PRMD, subject 01): markers → virtual IMUs → the same offline pipeline.

Tolerances: rep counts exact; hip flexion RMSE vs the stand-zeroed marker JCS angle ≤ 3° (the
simulator's bound); pelvic tilt vs the ASIS/PSIS line ≤ 2° RMSE. Peak errors are *guarded*, not
claimed: at the top of real reps the IMU-identified (functional) flexion axes differ from the
marker-defined frames (the RTHI marker sets the marker thigh frame), measured ≈ +5° on straight-leg
raises and ≈ −9° at ~120° of squat depth; the guards keep those from getting worse.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tracker.evaluation.vicon import ViconDataError, evaluate_movement, load_txt_gz


@pytest.mark.parametrize(
    ("movement", "exercise", "max_median_peak_err_deg"),
    [("m06", "knee_raise", 7.0), ("m01", "deep_squat", 12.0)],
)
def test_vicon_session(ui_prmd_dir: Path, movement: str, exercise: str, max_median_peak_err_deg: float) -> None:
    r = evaluate_movement(ui_prmd_dir, movement, exercise)
    print(r.line())
    assert r.rep_count == r.true_rep_count == 10, r.line()
    assert r.hip_rmse_vs_jcs_deg <= 3.0, r.line()
    assert r.tilt_rmse_vs_asis_psis_deg <= 2.0, r.line()
    assert np.median(np.abs(r.tilt_change_error_deg)) <= 3.0, r.line()
    assert np.median(np.abs(r.peak_error_vs_jcs_deg)) <= max_median_peak_err_deg, r.line()


def test_vicon_loader_names_the_file(tmp_path: Path) -> None:
    import gzip

    bad = tmp_path / "x.txt.gz"
    with gzip.open(bad, "wt") as fh:
        fh.write("1,2,3\n")
    with pytest.raises(ViconDataError, match="x.txt.gz: 3 columns"):
        load_txt_gz(bad)
