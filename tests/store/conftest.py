"""Store fixtures: every store test runs on a real SQLite file and on the real PostgreSQL server
(`make test` / scripts/with-postgres), each test in its own clean schema."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text

from store import Store
from tracker.raw import Gap, RawSession, SensorStream
from tracker.results import (
    Calibration,
    Rep,
    SensorCalibration,
    SessionAnalysis,
    SessionSummary,
)

#: Cheap argon2 parameters so tests that create many users stay fast (production uses the defaults).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday


def _with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'rehab.sqlite3'}"
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_search_path(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(db_url: str, data_dir: Path) -> Iterator[Store]:
    s = Store(db_url, data_dir=data_dir, password_hasher=FAST_HASHER)
    yield s
    s.close()


@pytest.fixture
def clinic(store: Store) -> dict[str, object]:
    therapist = store.create_user("thera", "therapist-pw-1", role="therapist", display_name="Dr T")
    other_t = store.create_user("other_t", "therapist-pw-2", role="therapist", display_name="Dr O")
    alice = store.create_user("alice", "alice-pw-123", role="patient", display_name="Alice", therapist_id=therapist.id)
    bob = store.create_user("bob", "bob-pw-12345", role="patient", display_name="Bob", therapist_id=other_t.id)
    admin = store.create_user("admin", "admin-pw-123", role="admin", display_name="Admin")
    return {"therapist": therapist, "other_t": other_t, "alice": alice, "bob": bob, "admin": admin}


def make_raw(duration_s: float = 10.0, rate_hz: float = 100.0, seed: int = 0, *, mag: bool = False) -> RawSession:
    """A plausible two-sensor recording (not on the storage grid), with one gap."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * rate_hz)

    def stream(name: str, offset_s: float) -> SensorStream:
        t = np.arange(n) / rate_hz + offset_s + rng.normal(0, 1e-4, n).cumsum() * 0
        ang = 0.8 * np.sin(2 * np.pi * t / 4.0) ** 2
        acc = np.column_stack([9.80665 * np.cos(ang), 9.80665 * np.sin(ang), 0.3 * np.sin(t)])
        acc += rng.normal(0, 0.02, (n, 3))
        gyr = np.column_stack([np.gradient(ang, t), 0.01 * np.sin(t), 0.02 * np.cos(t)]) + rng.normal(0, 0.005, (n, 3))
        m = np.column_stack([np.full(n, 20.0), np.full(n, -5.0), np.full(n, 40.0)]) + rng.normal(0, 0.3, (n, 3))
        return SensorStream(name, t, acc, gyr, mag_ut=m if mag else None)  # type: ignore[arg-type]

    return RawSession(
        thigh=stream("thigh", 0.0),
        pelvis=stream("pelvis", 0.003),
        gaps=(Gap("pelvis", 3.0, 3.25, "link drop"),),
    )


def make_analysis(
    exercise: str = "knee_raise",
    side: str = "left",
    n_reps: int = 6,
    seed: int = 0,
    *,
    duration_s: float = 10.0,
    rom_deg: float | None = None,
) -> SessionAnalysis:
    """A constructed analysis with every Rep field filled (one rep without compensation onset; rep 2
    of low confidence, with its reason)."""
    rng = np.random.default_rng(seed)
    reps = []
    for i in range(n_reps):
        comp = bool(i % 3 == 1)
        start = 2.0 + i * 1.2
        reps.append(
            Rep(
                index=i,
                start_s=start,
                peak_s=start + 0.5,
                end_s=start + 1.1,
                peak_hip_flexion_deg=float(rng.uniform(70, 100)),
                hold_s=float(rng.uniform(0, 0.5)),
                partial=bool(i == n_reps - 1),
                compensation=comp,
                compensation_deg=float(rng.uniform(-15, -2)),
                compensation_onset_hip_deg=float(rng.uniform(50, 70)) if comp else None,
                set_index=i // 3,
                start_hip_flexion_deg=float(rng.normal(0, 2)),
                range_deg=float(rng.uniform(60, 95)),
                pelvic_tilt_change_deg=float(rng.normal(-5, 3)),
                duration_s=1.1,
                confidence=0.35 if i == 2 else 0.92,
                low_confidence_reason="data gap during the rep" if i == 2 else "",
            )
        )
    t = np.arange(int(duration_s * 100)) / 100.0
    angles = pd.DataFrame(
        {
            "t": t,
            "hip_flexion_deg": 80 * np.sin(np.pi * t / 1.2) ** 2 + rng.normal(0, 0.5, len(t)),
            "pelvic_tilt_deg": rng.normal(-2.5, 1.0, len(t)),
            "valid": (t < 3.0) | (t > 3.25),
        }
    )
    n_comp = sum(r.compensation for r in reps)
    summary = SessionSummary(
        rep_count=n_reps,
        full_rep_count=n_reps - 1,
        partial_rep_count=1,
        rom_deg=float(rom_deg if rom_deg is not None else max((r.range_deg for r in reps), default=float("nan"))),
        mean_peak_hip_flexion_deg=float(np.mean([r.peak_hip_flexion_deg for r in reps])) if reps else float("nan"),
        compensation_count=n_comp,
        compensation_rate=n_comp / n_reps if n_reps else float("nan"),
        mean_rep_duration_s=1.1 if reps else float("nan"),
        mean_hold_s=float(np.mean([r.hold_s for r in reps])) if reps else float("nan"),
        duration_s=duration_s,
        set_count=2,
    )
    calibration = Calibration(
        stand_start_s=0.1,
        stand_duration_s=2.4,
        sensors=(
            SensorCalibration("thigh", 12.5, 9.81, 0.004),
            SensorCalibration("pelvis", -3.25, 9.79, float("nan")),
        ),
        flexion_axis_confidence=0.93,
        quality="good",
        flags=("pelvis_tilted",),
    )
    return SessionAnalysis(
        exercise=exercise,  # type: ignore[arg-type]
        side=side,  # type: ignore[arg-type]
        calibration=calibration,
        summary=summary,
        reps=reps,
        angles=angles,
        threshold_deg=10.0,
    )


@pytest.fixture
def raw_factory() -> Callable[..., RawSession]:
    return make_raw


@pytest.fixture
def analysis_factory() -> Callable[..., SessionAnalysis]:
    return make_analysis


class Interrupted(RuntimeError):
    """A crash injected into a store write (tests of atomicity)."""


def interrupt(where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next session write die at ``where``: "angles" (writing the angles file), "link"
    (linking the raw file into staging), "reps" (in the middle of the row inserts), "publish"
    (renaming the directory into place) or "commit" (after the rename, before the commit)."""
    from store import convert as convert_module
    from store import sessions as sessions_module
    from store.files import directory as directory_module

    def boom(*_a: object, **_k: object) -> None:
        raise Interrupted(where)

    if where == "angles":
        monkeypatch.setattr(sessions_module, "write_angles", boom)
    elif where == "link":
        monkeypatch.setattr(directory_module.DirectoryFiles, "link_into", boom)
    elif where == "reps":
        monkeypatch.setattr(convert_module, "rep_values", boom)
    elif where == "publish":
        monkeypatch.setattr(directory_module.os, "replace", boom)
    elif where == "commit":
        real_publish = directory_module.DirectoryFiles.publish

        def publish_then_die(self: object, key: str) -> None:
            real_publish(self, key)  # type: ignore[arg-type]
            raise Interrupted("commit")

        monkeypatch.setattr(directory_module.DirectoryFiles, "publish", publish_then_die)
    else:
        raise ValueError(f"interrupt: unknown place {where!r}")
