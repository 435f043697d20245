"""Store speed and size figures, on SQLite and PostgreSQL.

- store a 30-minute, 2-sensor, 100 Hz session (raw Parquet + angles Parquet + rows)  goal ≤ 0.5 s
- raw Parquet size vs the raw-session CSV of the same samples                        goal ≥ 5× smaller
- load a patient's 365-session summary (``patient_history``)                          goal ≤ 200 ms
(plus: loading the 30-minute session back, and a 500-patient roster).

PostgreSQL: uses $REHAB_TEST_POSTGRES_URL if set (as under scripts/with-postgres), else starts a
throw-away server from /usr/lib/postgresql/*/bin on a free loopback port; skipped if neither works.
Run: .venv/bin/python benchmarks/storage.py
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from store import Store, quantize_raw
from tracker.raw import RawSession, SensorStream
from tracker.rawcsv import write_raw_csv
from tracker.results import (
    Calibration,
    Rep,
    SensorCalibration,
    SessionAnalysis,
    SessionSummary,
)

RATE_HZ = 100.0
DURATION_S = 30 * 60.0
HISTORY_SESSIONS = 365
ROSTER_PATIENTS = 500
T0 = dt.datetime(2025, 1, 6, 8, 0, tzinfo=dt.UTC)
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def make_raw(duration_s: float, seed: int) -> RawSession:
    """Knee raises every 4 s with MEMS-like noise (0.02 m/s², 0.005 rad/s), small clock offset."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * RATE_HZ)

    def stream(name: str, offset_s: float) -> SensorStream:
        t = np.arange(n) / RATE_HZ + offset_s
        ang = 1.3 * np.sin(np.pi * t / 4.0) ** 2
        acc = np.column_stack([9.80665 * np.cos(ang), 9.80665 * np.sin(ang), 0.3 * np.sin(0.1 * t)])
        gyr = np.column_stack([np.gradient(ang, t), 0.01 * np.sin(t), 0.02 * np.cos(t)])
        return SensorStream(name, t, acc + rng.normal(0, 0.02, (n, 3)), gyr + rng.normal(0, 0.005, (n, 3)))  # type: ignore[arg-type]

    return RawSession(thigh=stream("thigh", 0.0), pelvis=stream("pelvis", 0.0031))


def make_analysis(duration_s: float, seed: int, n_angles: int | None = None) -> SessionAnalysis:
    rng = np.random.default_rng(seed)
    n_reps = int(duration_s // 4)
    reps = [
        Rep(i, 4.0 * i, 4.0 * i + 2, 4.0 * i + 3.9, float(rng.uniform(70, 95)), 0.2, False, bool(i % 5 == 0),
            float(rng.uniform(-14, -2)), 60.0 if i % 5 == 0 else None, i // 10, 0.5, float(rng.uniform(70, 95)),
            float(rng.normal(-4, 3)), 3.9)
        for i in range(n_reps)
    ]  # fmt: skip
    n = n_angles if n_angles is not None else int(duration_s * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    angles = pd.DataFrame(
        {
            "t": t,
            "hip_flexion_deg": 85 * np.sin(np.pi * t / 4.0) ** 2 + rng.normal(0, 0.3, n),
            "pelvic_tilt_deg": -3 * np.sin(np.pi * t / 4.0) ** 2 + rng.normal(0, 0.3, n),
            "valid": np.ones(n, dtype=bool),
        }
    )
    comp = sum(r.compensation for r in reps)
    summary = SessionSummary(
        n_reps, n_reps, 0, float(rng.uniform(60, 95)), 82.0, comp, comp / max(n_reps, 1), 3.9, 0.2, duration_s,
        max(1, n_reps // 10),
    )  # fmt: skip
    cal = Calibration(0.0, 3.0, (SensorCalibration("thigh", 8.0, 9.81, 0.003),
                                 SensorCalibration("pelvis", 3.0, 9.80, 0.002)), 0.95, "good")  # fmt: skip
    return SessionAnalysis("knee_raise", "left", cal, summary, reps, angles, 10.0)


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


@contextlib.contextmanager
def postgres_url() -> Iterator[str | None]:
    url = os.environ.get("REHAB_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: [int(x) for x in p.parent.name.split(".") if x.isdigit()])
    if not bins or not (bins[-1] / "initdb").exists():
        yield None
        return
    pgbin = bins[-1]
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    tmp = Path(tempfile.mkdtemp(prefix="rehab-bench-pg."))
    tmp.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = lambda *a: subprocess.run([*as_pg, *a], check=True, capture_output=True)
    try:
        run(str(pgbin / "initdb"), "-D", str(tmp / "data"), "-U", "rehab", "--auth=trust", "-E", "UTF8")
        run(str(pgbin / "pg_ctl"), "-D", str(tmp / "data"), "-l", str(tmp / "server.log"), "-w",
            "-o", f"-c listen_addresses=127.0.0.1 -c port={port} -k {tmp}", "start")  # fmt: skip
        run(str(pgbin / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "rehab", "rehab_bench")
        yield f"postgresql+psycopg://rehab@127.0.0.1:{port}/rehab_bench"
    finally:
        subprocess.run([*as_pg, str(pgbin / "pg_ctl"), "-D", str(tmp / "data"), "-m", "immediate", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with eng.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        eng.dispose()


def seed_roster(store: Store, patient_ids: list[int], analysis: SessionAnalysis) -> None:
    """14 days of summary rows per patient, inserted in bulk (the roster reads no Parquet files)."""
    from sqlalchemy import insert

    from store.models import PrescriptionRow, SessionRow

    rng = np.random.default_rng(9)
    now = dt.datetime.now(dt.UTC)
    rx_rows, rows = [], []
    for pid in patient_ids:
        rx_rows.append(dict(patient_id=pid, exercise="knee_raise", side="left", sets=3, reps=10, sessions_per_week=5,
                            target_rom_deg=90.0, compensation_threshold_deg=10.0, active=True, created_at=now,
                            updated_at=now))  # fmt: skip
        for d in range(14):
            if rng.random() < 0.3:
                continue
            n, c = 30, int(rng.integers(0, 8))
            rows.append(dict(patient_id=pid, exercise="knee_raise", side="left",
                             started_at=T0 + dt.timedelta(days=HISTORY_SESSIONS - 14 + d), status="complete",
                             source="simulated", sensors={}, calibration={}, threshold_deg=10.0, rep_count=n,
                             full_rep_count=n, partial_rep_count=0, rom_deg=float(rng.uniform(60, 95)),
                             compensation_count=c, compensation_rate=c / n, set_count=3, created_at=now))  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(insert(PrescriptionRow), rx_rows)
        conn.execute(insert(SessionRow), rows)


def bench_backend(label: str, url: str, data_dir: Path, raw: RawSession, analysis: SessionAnalysis) -> dict[str, float]:
    store = Store(url, data_dir=data_dir, password_hasher=FAST_HASHER)
    thera = store.create_user("thera", "bench-password", role="therapist")
    patients = [
        store.create_user(f"p{i}", "bench-password", role="patient", therapist_id=thera.id)
        for i in range(ROSTER_PATIENTS)
    ]
    pid = patients[0].id
    store.add_prescription(pid, "knee_raise", "left", sets=3, reps=10, target_rom_deg=90.0, stage="box")
    counter = iter(range(10_000))

    def save() -> int:
        return store.save_session(pid, analysis, raw, started_at=T0 - dt.timedelta(days=400 + next(counter)))

    store_s, sid = timed(save, 3)
    load_s, _ = timed(lambda: store.load_session(int(sid)), 3)  # type: ignore[arg-type]
    rec = store.get_session(int(sid))  # type: ignore[arg-type]
    raw_bytes = (data_dir / rec.raw_path).stat().st_size  # type: ignore[operator]
    angles_bytes = (data_dir / rec.angles_path).stat().st_size  # type: ignore[operator]
    # 365 daily sessions (short angle series: the summary query never reads files)
    small = make_analysis(60.0, 1, n_angles=100)
    t_fill = time.perf_counter()
    for d in range(HISTORY_SESSIONS):
        store.save_session(pid, small, None, started_at=T0 + dt.timedelta(days=d), source="simulated")
    fill_s = time.perf_counter() - t_fill
    seed_roster(store, [p.id for p in patients[1:]], small)
    store.patient_history(pid)  # warm
    hist_s, hist = timed(lambda: store.patient_history(pid), 10)
    now = T0 + dt.timedelta(days=HISTORY_SESSIONS)
    roster_s, _ = timed(lambda: store.roster(thera.id, now=now), 5)
    store.close()
    assert len(hist) == HISTORY_SESSIONS + 3  # type: ignore[arg-type]
    print(f"[{label}] store 30-min session: {store_s * 1000:7.1f} ms (goal ≤ 500)   load it back: {load_s * 1000:6.1f} ms")
    print(f"[{label}] patient_history, {len(hist)} sessions: {hist_s * 1000:6.1f} ms (goal ≤ 200)")  # type: ignore[arg-type]
    print(f"[{label}] roster, {ROSTER_PATIENTS} patients: {roster_s * 1000:6.1f} ms;  filling 365 sessions took {fill_s:.1f} s")
    return {"store_s": store_s, "raw_bytes": raw_bytes, "angles_bytes": angles_bytes, "hist_s": hist_s}


def main() -> None:
    print(f"building a {DURATION_S / 60:.0f}-minute, 2-sensor, {RATE_HZ:.0f} Hz session ...")
    raw_float = make_raw(DURATION_S, seed=0)
    raw = quantize_raw(raw_float)  # what import/recording stores; the CSV of it round-trips exactly
    analysis = make_analysis(DURATION_S, seed=0)
    n_samples = sum(len(s) for s in raw.streams())
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        csv_q = write_raw_csv(raw, tmp / "raw.csv").stat().st_size
        csv_f = write_raw_csv(raw_float, tmp / "raw_full.csv").stat().st_size
        analysis.angles.to_csv(tmp / "angles.csv", index=False)
        angles_csv = (tmp / "angles.csv").stat().st_size
        results = {"sqlite": bench_backend("sqlite", f"sqlite:///{tmp / 'sq' / 'rehab.sqlite3'}", tmp / "sq", raw, analysis)}
        with postgres_url() as pg:
            if pg is None:
                print("[postgres] skipped: no REHAB_TEST_POSTGRES_URL and no PostgreSQL binaries")
            else:
                with fresh_schema(pg) as url:
                    results["postgres"] = bench_backend("postgres", url, tmp / "pg", raw, analysis)
    r = results["sqlite"]
    print(f"samples: {n_samples:,} rows (2 sensors × {DURATION_S:.0f} s × {RATE_HZ:.0f} Hz)")
    print(
        f"raw Parquet: {r['raw_bytes'] / 1e6:6.2f} MB | raw CSV of the same samples: {csv_q / 1e6:6.2f} MB "
        f"→ {csv_q / r['raw_bytes']:.1f}× smaller (goal ≥ 5×)"
    )
    print(f"  (CSV of the unrounded float64 samples: {csv_f / 1e6:.2f} MB → {csv_f / r['raw_bytes']:.1f}×)")
    print(
        f"angles Parquet: {r['angles_bytes'] / 1e6:6.2f} MB | angles CSV: {angles_csv / 1e6:6.2f} MB "
        f"→ {angles_csv / r['angles_bytes']:.1f}× (float64 kept exact)"
    )


if __name__ == "__main__":
    main()
