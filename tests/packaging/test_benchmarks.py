"""Every benchmark script starts as `make bench` runs it (its own folder first on sys.path), and none
is named like a top-level package it would shadow. Only the module level runs (no `main()`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if p.name != "bench_common.py")


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_script_imports(script: str) -> None:
    code = (
        "import runpy, sys; "
        f"sys.path.insert(0, {str(BENCHMARKS)!r}); "
        f"runpy.run_path({str(BENCHMARKS / script)!r}, run_name='benchmark_import_check')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=BENCHMARKS)
    assert out.returncode == 0, f"{script} does not start:\n{out.stderr[-3000:]}"


def test_no_benchmark_shadows_a_package() -> None:
    root = BENCHMARKS.parent
    packages = {p.name for p in root.iterdir() if (p / "__init__.py").is_file()}
    clashes = sorted(s for s in SCRIPTS if s.removesuffix(".py") in packages)
    assert not clashes, f"benchmark scripts named like packages (imports would load the script): {clashes}"
