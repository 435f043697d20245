"""Speed of the simulator and of the raw-session CSV reader/writer (prints figures, asserts nothing).

    .venv/bin/python benchmarks/simulator.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench_common import best_of

from simulation import SimulationConfig, simulate
from tracker.rawcsv import read_raw_csv, write_raw_csv


def main() -> None:
    simulate(SimulationConfig(reps=1))  # warm-up (imports)
    for ex in ("knee_raise", "hip_extension", "deep_squat"):
        cfg = SimulationConfig(exercise=ex, reps=10, sets=2, seed=1)
        holder = {}
        dt = best_of(3, lambda holder=holder, cfg=cfg: holder.setdefault("s", simulate(cfg)))
        sim = holder["s"]
        print(f"simulate {ex:13s} 2x10 @100 Hz: {dt:.3f} s  (session {sim.truth.duration_s:.0f} s, "
              f"{len(sim.raw.thigh) + len(sim.raw.pelvis)} samples)")
    # a 30-minute two-sensor 100 Hz session
    cfg = SimulationConfig(reps=150, sets=2, seed=2, rest_between_reps_s=3.0)
    t0 = time.perf_counter()
    sim = simulate(cfg)
    print(f"simulate 30-min-class session ({sim.truth.duration_s / 60:.1f} min): {time.perf_counter() - t0:.2f} s")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "long.csv"
        t_w = best_of(1, lambda: write_raw_csv(sim.raw, path))
        t_r = best_of(3, lambda: read_raw_csv(path))
        rows = len(sim.raw.thigh) + len(sim.raw.pelvis)
        print(f"write_raw_csv {rows} rows ({path.stat().st_size / 1e6:.1f} MB): {t_w:.2f} s")
        print(f"read_raw_csv  {rows} rows: {t_r:.3f} s ({rows / t_r / 1e6:.2f} M rows/s)")


if __name__ == "__main__":
    main()
