"""`rehab simulate` writes the raw CSV and the truth JSON beside it; bad options exit 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rehab.cli import app
from simulation import Truth
from tracker.rawcsv import read_raw_csv

runner = CliRunner()


def test_simulate_writes_csv_and_truth(tmp_path: Path) -> None:
    out = tmp_path / "session.csv"
    res = runner.invoke(
        app,
        ["simulate", "--exercise", "knee_raise", "--reps", "3", "--side", "left", "--seed", "3", "--out", str(out),
         "--compensated-reps", "2", "--partial-reps", "3", "--thigh-rate", "50", "--pelvis-rate", "80",
         "--onset", "50", "--stand", "2.5"],
    )
    assert res.exit_code == 0, res.output
    truth = Truth.from_json(tmp_path / "session.truth.json")
    raw = read_raw_csv(out)
    assert truth.side == "left" and truth.exercise == "knee_raise" and truth.rep_count == 3
    assert [r.compensated for r in truth.reps] == [False, True, False]
    assert [r.partial for r in truth.reps] == [False, False, True]
    assert truth.reps[1].compensation_onset_hip_deg is not None
    assert abs(truth.reps[1].compensation_onset_hip_deg - 50.0) < 1.0
    assert truth.calibration_end_s == 2.5
    assert abs(raw.thigh.rate_hz - 50) < 0.1
    assert abs(raw.pelvis.rate_hz - 80) < 0.1
    assert np.array_equal(truth.sensors["thigh"].t_true_s.shape, raw.thigh.t_s.shape)


@pytest.mark.parametrize(("args", "text"), [
    (["--exercise", "lunge"], "lunge"),
    (["--side", "middle"], "middle"),
    (["--rate", "500"], "thigh_rate_hz"),
    (["--reps", "0"], "reps"),
    (["--stand", "1"], "stand_s"),
    (["--compensated-reps", "a,b"], "compensated-reps"),
    (["--dropout", "top:both:1"], "'top'"),
    (["--scenario", "nope"], "pause_between_every_rep"),
    (["--hip-abduction", "5"], "LOW,HIGH"),
    (["--ideal", "--realistic"], "exclude"),
    (["--calibration-stand", "middle"], "calibration_stand"),
])
def test_simulate_rejects_bad_options(tmp_path: Path, args: list[str], text: str) -> None:
    res = runner.invoke(app, ["simulate", "--out", str(tmp_path / "x.csv"), *args])
    assert res.exit_code == 2, (args, res.output)
    assert text in " ".join(res.output.split()), res.output


def test_simulate_rejects_an_output_folder_that_does_not_exist(tmp_path: Path) -> None:
    res = runner.invoke(app, ["simulate", "--out", str(tmp_path / "nope" / "x.csv")])
    assert res.exit_code == 2 and "does not" in " ".join(res.output.split())


def test_simulate_realistic_with_holes(tmp_path: Path) -> None:
    out = tmp_path / "hard.csv"
    res = runner.invoke(
        app,
        ["simulate", "--exercise", "deep_squat", "--reps", "4", "--seed", "2", "--out", str(out), "--realistic",
         "--scenario", "pause_between_every_rep", "--dropout", "peak@2:thigh:0.5", "--soft-tissue", "6",
         "--hip-abduction", "12,18", "--gyro-bias", "2", "--rate", "50", "--loss-in-stand", "--loss-burst", "1"],
    )
    assert res.exit_code == 0, res.output
    assert "cut by a gap" in res.output
    truth = Truth.from_json(tmp_path / "hard.truth.json")
    cfg = truth.config
    assert cfg["random_anatomy"] and cfg["soft_tissue_deg"] == 6.0 and cfg["hip_abduction_range_deg"] == [12.0, 18.0]
    assert cfg["dropouts"] == ["between_reps@all:both:1", "peak@2:thigh:0.5"]
    assert cfg["packet_loss_in_stand"] and cfg["packet_loss_burst_samples"] == 1.0
    assert abs(cfg["gyr_bias_max_rad_s"] - np.deg2rad(2.0)) < 1e-12
    assert len(truth.dropouts) == 4 and truth.reps[1].cut_by_gap
    assert abs(truth.sensors["thigh"].soft_tissue_max_deg - 6.0) < 1e-9
    raw = read_raw_csv(out)
    assert abs(raw.thigh.rate_hz - 50) < 0.5
