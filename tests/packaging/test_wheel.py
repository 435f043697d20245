"""The package works without the checkout: a wheel, installed into a fresh venv outside the repository.

`python -m build` makes the wheel; a new venv gets it with ``--no-deps`` and borrows only the
*third-party* dependencies from the test venv (a ``.pth`` line, which adds a path but runs none of
that directory's own ``.pth`` hooks — so the checkout's editable install stays invisible). Every
command then runs from a directory outside the repository, and the test proves that the code it ran
came from the wheel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from dashboard.launch import free_port

REPO = Path(__file__).resolve().parents[2]
TOP_PACKAGES = ("sensors", "tracker", "program", "simulation", "evaluation", "store", "service", "server", "dashboard", "rehab")


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the repository with the freshly built wheel installed."""
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(REPO)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    wheels = list(dist.glob("rehab_tracker-*.whl"))
    assert len(wheels) == 1, wheels
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(subprocess.check_output([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    # third-party dependencies from the test venv, appended after the wheel's own site-packages
    (site / "_borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--quiet", str(wheels[0])],
        check=True, capture_output=True, text=True, timeout=300,
    )
    return env_dir


def _run(env_dir: Path, cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "REHAB_DATA_DIR")}
    env["COLUMNS"] = "200"  # rich wraps tables to the terminal width
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_installed_code_is_the_wheel_not_the_checkout(wheel_venv: Path, tmp_path: Path) -> None:
    code = f"import json, importlib; print(json.dumps({{p: importlib.import_module(p).__file__ for p in {TOP_PACKAGES!r}}}))"
    files = json.loads(_run(wheel_venv, tmp_path, str(wheel_venv / "bin" / "python"), "-c", code).stdout)
    for package, file in files.items():
        assert Path(file).resolve().is_relative_to(wheel_venv.resolve()), f"{package} imported from {file}"
        assert not Path(file).resolve().is_relative_to(REPO), package


def test_specs_simulate_analyze_from_the_wheel(wheel_venv: Path, tmp_path: Path) -> None:
    rehab = str(wheel_venv / "bin" / "rehab")
    specs = _run(wheel_venv, tmp_path, rehab, "specs").stdout
    for profile in ("rehab_imu_v1", "movella_dot", "witmotion_wt901ble"):
        assert profile in specs
    _run(wheel_venv, tmp_path, rehab, "simulate", "--exercise", "knee_raise", "--reps", "4", "--side", "left",
         "--seed", "2", "--out", "s.csv")
    truth = json.loads((tmp_path / "s.truth.json").read_text())
    out = _run(wheel_venv, tmp_path, rehab, "analyze", "s.csv", "--exercise", "knee_raise", "--side", "left", "--json").stdout
    result = json.loads(out)
    assert result["summary"]["rep_count"] == len(truth["reps"]) == 4


@pytest.mark.slow
def test_demo_check_from_the_wheel(wheel_venv: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    out = _run(
        wheel_venv, tmp_path, str(wheel_venv / "bin" / "rehab"), "demo", "--data-dir", str(data), "--weeks", "1",
        "--reps", "3", "--port", str(free_port()), "--check",
    ).stdout
    report = json.loads([line for line in out.splitlines() if line.startswith('{"health"')][-1])
    assert report["ok"] and report["health"] == "ok" and report["patients"] == 2 and report["sessions"] > 0
    from store import Store

    with Store(data_dir=data) as store:
        alex = store.get_user_by_username("alex.demo")
        live = [s for s in store.list_sessions(alex.id) if s.source == "recorded"]
    assert len(live) == 1 and live[0].rep_count == 3, "the live set through virtual BLE was stored"


def test_every_data_file_of_the_packages_is_in_the_wheel(wheel_venv: Path, tmp_path: Path) -> None:
    """Specs, migrations, the dashboard's config, icon and drawings: what the code opens at run time."""
    tracked = subprocess.run(["git", "ls-files", *TOP_PACKAGES], cwd=REPO, capture_output=True, text=True, check=True)
    # dashboard/.streamlit/ is for `streamlit run` from a checkout; the launcher passes the same options
    # (tests/dashboard/test_launch.py keeps the two equal)
    data = sorted(f for f in tracked.stdout.split() if not f.endswith(".py") and "/." not in f)
    assert "dashboard/assets/icon.png" in data and "sensors/profiles/rehab_imu_v1.json" in data
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run(wheel_venv, tmp_path, str(wheel_venv / "bin" / "python"), "-c", code).stdout.strip())
    missing = [f for f in data if not (site / f).is_file()]
    assert missing == [], f"files the packages carry in the checkout but not in the wheel: {missing}"
