"""A clinic full of realistic sessions for demos, tests and benchmarks.

Sessions come from the real chain: ``simulation.simulate`` (virtual IMUs on a
biomechanical model) → ``tracker.pipeline.analyze_session`` → ``Store.save_session``. Simulating
is ~0.15 s per session, so a small pool of simulated sessions (varied amplitude and compensation)
is analysed once and reused across patients and days; every stored session still has its own row,
reps, angle curves and (optionally) raw samples.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from store import Store
from tracker.pipeline import analyze_session
from tracker.raw import RawSession
from tracker.results import SessionAnalysis
from simulation import SimulationConfig, simulate

#: Amplitudes (signed peak hip flexion, degrees) the pool is simulated at, per drill.
POOL_AMPLITUDES_DEG = {"knee_raise": (62.0, 72.0, 82.0, 90.0), "hip_extension": (-12.0, -16.0, -20.0, -24.0)}
#: Prescribed targets used for the sample patients (drill direction, degrees).
SAMPLE_TARGETS_DEG = {"knee_raise": 80.0, "hip_extension": 20.0}


@dataclass(frozen=True, slots=True)
class PooledSession:
    analysis: SessionAnalysis
    raw: RawSession


@dataclass(slots=True)
class Clinic:
    """What ``seed_clinic`` created (ids by username)."""

    admin_id: int
    therapist_ids: dict[str, int] = field(default_factory=dict)
    patient_ids: dict[str, int] = field(default_factory=dict)
    session_ids: dict[str, list[int]] = field(default_factory=dict)


def simulated_pool(*, seed: int = 0, reps: int = 6, exercises: tuple[str, ...] = ("knee_raise", "hip_extension")) -> list[PooledSession]:
    """Analysed simulated sessions: one per drill × amplitude, compensation rates rising with seed."""
    pool = []
    for ex in exercises:
        for k, amp in enumerate(POOL_AMPLITUDES_DEG[ex]):
            cfg = SimulationConfig(
                exercise=ex, side="left", reps=reps, seed=seed + 17 * k, amplitude_deg=amp,
                compensation_prob=0.15 + 0.15 * (k % 3), partial_rep_prob=0.05, rest_between_reps_s=1.0,
            )  # fmt: skip
            sim = simulate(cfg)
            pool.append(PooledSession(analyze_session(sim.raw, exercise=ex, side="left"), sim.raw))
    return pool


def seed_clinic(
    store: Store,
    *,
    password: str,
    therapists: int = 1,
    patients_per_therapist: int = 3,
    sessions_per_patient: int = 8,
    now: dt.datetime | None = None,
    seed: int = 0,
    with_raw: bool = False,
    pool: list[PooledSession] | None = None,
    admin_username: str = "admin",
) -> Clinic:
    """An admin, therapists ``therapist1..``, patients ``patient1..`` (each with a knee-raise and a
    hip-extension prescription), and daily sessions ending yesterday, with pain reports."""
    now = now or dt.datetime.now(dt.UTC)
    rng = np.random.default_rng(seed)
    pool = pool if pool is not None else simulated_pool(seed=seed)
    by_drill: dict[str, list[PooledSession]] = {}
    for p in pool:
        by_drill.setdefault(p.analysis.exercise, []).append(p)
    clinic = Clinic(admin_id=store.create_user(admin_username, password, role="admin", display_name="Admin").id)
    n = 0
    for t in range(1, therapists + 1):
        therapist = store.create_user(f"therapist{t}", password, role="therapist", display_name=f"Therapist {t}")
        clinic.therapist_ids[therapist.username] = therapist.id
        for _ in range(patients_per_therapist):
            n += 1
            patient = store.create_user(
                f"patient{n}", password, role="patient", display_name=f"Patient {n}", therapist_id=therapist.id
            )
            clinic.patient_ids[patient.username] = patient.id
            for ex, stage in (("knee_raise", "box"), ("hip_extension", None)):
                store.add_prescription(
                    patient.id, ex, "left", sets=1, reps=6, target_rom_deg=SAMPLE_TARGETS_DEG[ex],
                    stage=stage, created_by=therapist.id,
                )  # fmt: skip
            ids = []
            for day in range(sessions_per_patient, 0, -1):
                ex = "knee_raise" if (day + n) % 3 else "hip_extension"
                choices = by_drill.get(ex) or pool
                # later sessions draw from larger amplitudes: a patient who improves
                k = min(len(choices) - 1, int(rng.integers(0, len(choices))) if day > 3 else len(choices) - 1 - int(rng.integers(0, 2)))
                pick = choices[k]
                started = now - dt.timedelta(days=day, hours=float(rng.uniform(0, 6)))
                sid = store.save_session(
                    patient.id, pick.analysis, pick.raw if with_raw else None, started_at=started, source="simulated"
                )
                store.set_pain_report(
                    sid, pain_before=int(rng.integers(1, 5)), pain_after=int(rng.integers(0, 6)), reported_by=patient.id
                )
                ids.append(sid)
            clinic.session_ids[patient.username] = ids
    return clinic
