"""`rehab simulate` writes the raw CSV and the truth JSON beside it; bad options exit 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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


def test_simulate_rejects_bad_options(tmp_path: Path) -> None:
    out = str(tmp_path / "x.csv")
    for args, text in (
        (["--exercise", "lunge"], "lunge"),
        (["--side", "middle"], "middle"),
        (["--rate", "500"], "thigh_rate_hz"),
        (["--reps", "0"], "reps"),
        (["--stand", "1"], "stand_s"),
        (["--compensated-reps", "a,b"], "compensated-reps"),
    ):
        res = runner.invoke(app, ["simulate", "--out", out, *args])
        assert res.exit_code == 2, (args, res.output)
        assert text in " ".join(res.output.split()), res.output
    res = runner.invoke(app, ["simulate", "--out", str(tmp_path / "nope" / "x.csv")])
    assert res.exit_code == 2 and "does not" in " ".join(res.output.split())
