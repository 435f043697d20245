"""Real motion capture (UI-PRMD, subject 01): markers → virtual IMUs → the offline engine, against the goal.

Issue 14's goal on m06 (straight-leg raise) and m01 (deep squat), correct and incorrect sets, strap
misplacement seeds 0–3: rep counts exact, per-rep peak hip flexion error median ≤ 3° and session hip
RMSE ≤ 3° against the stand-zeroed marker JCS angle, pelvic tilt RMSE ≤ 2° against the ASIS/PSIS line —
with no marker-derived heading anywhere in the analysis. (The engine before issue 14 paired the thigh's
hinge axis with the pelvis' and erred by a median +5.1…+9.5° on the leg raises and −9.4° on the correct
squats; docs/coordinate-systems.md has the evidence table of every method tried.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evaluation.vicon import ViconDataError, evaluate_movement, load_txt_gz


@pytest.mark.slow
@pytest.mark.parametrize(
    ("folder", "movement", "exercise"),
    [("correct", "m06", "knee_raise"), ("correct", "m01", "deep_squat"),
     ("incorrect", "m06", "knee_raise"), ("incorrect", "m01", "deep_squat")],
)
def test_vicon_sessions_meet_the_goal(ui_prmd_dir: Path, folder: str, movement: str, exercise: str) -> None:
    for seed in range(4):
        r = evaluate_movement(ui_prmd_dir, movement, exercise, folder=folder, seed=seed)
        label = f"{folder} seed {seed}: {r.line()}"
        print(label)
        assert r.rep_count == r.true_rep_count == 10, label
        assert float(np.median(np.abs(r.peak_error_vs_jcs_deg))) <= 3.0, label
        assert r.hip_rmse_vs_jcs_deg <= 3.0, label
        assert r.tilt_rmse_vs_asis_psis_deg <= 2.0, label
        assert float(np.median(np.abs(r.tilt_change_error_deg))) <= 3.0, label


def test_vicon_loader_names_the_file(tmp_path: Path) -> None:
    import gzip

    bad = tmp_path / "x.txt.gz"
    with gzip.open(bad, "wt") as fh:
        fh.write("1,2,3\n")
    with pytest.raises(ViconDataError, match="x.txt.gz: 3 columns"):
        load_txt_gz(bad)
