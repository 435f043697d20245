"""`rehab analyze` end to end: JSON contract, angles CSV, table, and clear errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import simulation
from rehab.cli import app
from tracker import rawcsv

REP_KEYS = {
    "index", "start_s", "peak_s", "end_s", "peak_hip_flexion_deg", "hold_s", "partial", "compensation",
    "compensation_deg", "compensation_onset_hip_deg",
}


@pytest.fixture(scope="module")
def session_csv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    sim = simulation.simulate(simulation.SimulationConfig(exercise="hip_extension", side="left", reps=4, seed=21,
                                                          rest_between_reps_s=0.5))
    path = tmp_path_factory.mktemp("cli") / "s.csv"
    rawcsv.write_raw_csv(sim.raw, path)
    return path, sim.truth


def test_json_and_angles(session_csv, tmp_path: Path) -> None:
    path, truth = session_csv
    out = tmp_path / "angles.csv"
    res = CliRunner().invoke(app, ["analyze", str(path), "--exercise", "hip_extension", "--side", "left", "--json", "--angles-out", str(out), "--threshold", "12"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["exercise"] == "hip_extension" and d["side"] == "left" and d["threshold_deg"] == 12.0
    assert {"calibration", "summary", "reps"} <= d.keys()
    assert d["summary"]["rep_count"] == len(truth.reps) == len(d["reps"])
    for rep, tr in zip(d["reps"], truth.reps):
        assert rep.keys() >= REP_KEYS
        assert rep["peak_hip_flexion_deg"] < 0  # extension
        assert rep["peak_hip_flexion_deg"] == pytest.approx(tr.peak_hip_flexion_deg, abs=3.0)
        assert (rep["compensation_onset_hip_deg"] is None) == (not rep["compensation"])
    angles = pd.read_csv(out)
    assert list(angles.columns) == ["t", "hip_flexion_deg", "pelvic_tilt_deg"]
    dt = angles["t"].diff().dropna()
    assert dt.max() - dt.min() < 1e-3  # uniform time base


def test_table(session_csv) -> None:
    path, _ = session_csv
    res = CliRunner().invoke(app, ["analyze", str(path), "--exercise", "hip_extension", "--side", "left"])
    assert res.exit_code == 0, res.output
    assert "reps" in res.output and "peak" in res.output


def _flat(text: str) -> str:
    """Rich wraps long messages; compare without whitespace."""
    return "".join(text.split())


def test_bad_inputs_exit_2(tmp_path: Path, session_csv) -> None:
    path, truth = session_csv
    bad = tmp_path / "bad.csv"
    bad.write_text("t,sensor,ax\n0,thigh,1\n")
    r = CliRunner().invoke(app, ["analyze", str(bad), "--exercise", "knee_raise", "--side", "left"])
    assert r.exit_code == 2 and "bad.csv" in _flat(r.output)
    r = CliRunner().invoke(app, ["analyze", str(tmp_path / "missing.csv"), "--exercise", "knee_raise", "--side", "left"])
    assert r.exit_code == 2 and "missing.csv" in _flat(r.output) and "nosuchfile" in _flat(r.output)
    r = CliRunner().invoke(app, ["analyze", str(path), "--exercise", "plank", "--side", "left"])
    assert r.exit_code == 2 and "--exercise" in _flat(r.output)
    # only 1 s of quiet before the first rep and after the last: no stand → calibration error, exit 2
    df = pd.read_csv(path)
    short = tmp_path / "short.csv"
    df[(df["t"] >= truth.reps[0].start_s - 1.0) & (df["t"] <= truth.reps[-1].end_s + 1.0)].to_csv(short, index=False)
    r = CliRunner().invoke(app, ["analyze", str(short), "--exercise", "hip_extension", "--side", "left"])
    assert r.exit_code == 2 and "short.csv" in _flat(r.output) and "stand" in _flat(r.output)
