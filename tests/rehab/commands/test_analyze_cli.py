"""`rehab analyze` carries what issue 14 adds to every analysis: the engine version and each rep's
confidence with its reason (the values come from the engine; here a hand-built analysis stands in
for one that rates a rep low, so the plumbing is checked on its own)."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from typer.testing import CliRunner

import simulation
import tracker.pipeline
from rehab.cli import app
from tracker import ENGINE_VERSION, rawcsv
from tracker.results import LOW_CONFIDENCE_BELOW

runner = CliRunner()
REASON = "3D and sagittal estimates disagree by 7°"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    sim = simulation.simulate(simulation.SimulationConfig.ideal(exercise="knee_raise", side="left", reps=3, seed=4))
    path = tmp_path_factory.mktemp("analyze") / "s.csv"
    rawcsv.write_raw_csv(sim.raw, path)
    return path, tracker.pipeline.analyze_session(rawcsv.read_raw_csv(path), "knee_raise", "left")


def test_json_has_the_engine_version_and_every_reps_confidence(recorded) -> None:  # type: ignore[no-untyped-def]
    path, _ = recorded
    res = runner.invoke(app, ["analyze", str(path), "--exercise", "knee_raise", "--side", "left", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["engine_version"] == ENGINE_VERSION
    assert d["reps"] and all(0.0 <= r["confidence"] <= 1.0 and isinstance(r["low_confidence_reason"], str)
                             for r in d["reps"])


def test_a_low_confidence_rep_flows_to_json_and_table(recorded, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    path, analysis = recorded
    low = dataclasses.replace(analysis.reps[1], confidence=0.4, low_confidence_reason=REASON)
    unrated = dataclasses.replace(analysis.reps[2], confidence=math.nan)
    hand_built = dataclasses.replace(analysis, reps=[analysis.reps[0], low, unrated])
    assert low.low_confidence and not unrated.low_confidence and LOW_CONFIDENCE_BELOW > 0.4
    monkeypatch.setattr(tracker.pipeline, "analyze_session", lambda *a, **k: hand_built)
    res = runner.invoke(app, ["analyze", str(path), "--exercise", "knee_raise", "--side", "left", "--json"])
    reps = json.loads(res.output)["reps"]
    assert [(r["confidence"], r["low_confidence_reason"]) for r in reps] == [
        (analysis.reps[0].confidence, ""), (0.4, REASON), (None, "")]  # NaN = not assessed → null
    res = runner.invoke(app, ["analyze", str(path), "--exercise", "knee_raise", "--side", "left"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "0.40 low" in res.output and f"rep {low.index}: low confidence — {REASON}" in res.output
