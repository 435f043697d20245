"""`rehab sensors virtual` in one process and `rehab sensors scan --virtual` in another."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from rehab.cli import app

ROOT = Path(__file__).resolve().parents[3]


def test_scan_lists_virtual_sensors_with_battery_from_another_process() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", "from rehab.cli import app; app()", "sensors", "virtual", "--json",
         "--exercise", "knee_raise", "--reps", "2", "--battery", "42", "--id", "7a7a", "--duration", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["event"] == "ready"
        assert [s["name"] for s in ready["sensors"]] == ["RehabIMU-thigh-7a7a", "RehabIMU-pelvis-7a7a"]
        result = CliRunner().invoke(app, ["sensors", "scan", "--virtual", ready["transport"], "--timeout", "0.5", "--json"])
        assert result.exit_code == 0, result.output
        rows = {r["name"]: r for r in json.loads(result.output)}
        assert set(rows) == {"RehabIMU-thigh-7a7a", "RehabIMU-pelvis-7a7a"}
        for row in rows.values():
            assert row["profile"] == "rehab_imu_v1"
            assert row["battery_percent"] == 42
            assert row["error"] is None
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["event"] == "stopped"


def test_cli_rejects_bad_input() -> None:
    runner = CliRunner()
    bad_transport = runner.invoke(app, ["sensors", "scan", "--virtual", "tcp-client:nowhere"])
    assert bad_transport.exit_code == 2 and "tcp-client:HOST:PORT" in bad_transport.output
    bad_exercise = runner.invoke(app, ["sensors", "virtual", "--exercise", "cartwheel"])
    assert bad_exercise.exit_code == 2 and "unknown exercise" in bad_exercise.output
    missing_csv = runner.invoke(app, ["sensors", "virtual", "--csv", "/nonexistent/raw.csv"])
    assert missing_csv.exit_code == 2 and "not found" in missing_csv.output
