"""The demo clinic `make run` shows a newcomer: one therapist, two patients, weeks of history.

Everything is simulated with the same simulator the accuracy tests use and analysed by the same
pipeline a real recording goes through, so every chart in the dashboard has honest data behind it.
Seeding is idempotent: a second run finds the clinic and adds nothing.

Passwords are generated on the first run (never kept in the repository) and written to
``<data dir>/demo-logins.json`` with owner-only permissions, so the demo can print them again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from store import Store
from store.errors import NotFoundError
from tracker.pipeline import analyze_session
from program import DRILLS, ProgressionRule
from program.progression import Prescription as ProgramPrescription
from simulation import SimulationConfig, simulate

LOGINS_FILE = "demo-logins.json"
THERAPIST = "therapist.demo"
ADMIN = "admin.demo"


@dataclass(frozen=True, slots=True)
class DemoDrill:
    """One prescribed drill of a demo patient and how the simulated patient performs it."""

    exercise: str
    side: str
    sets: int
    reps: int
    target_rom_deg: float
    stage: str | None
    #: Signed peak hip flexion at the first and at the last session (the patient improves).
    amplitude_start_deg: float
    amplitude_end_deg: float
    #: Share of reps with lumbar compensation at the first and at the last session.
    compensation_start: float
    compensation_end: float
    compensation_onset_deg: float | None = None


@dataclass(frozen=True, slots=True)
class DemoPatient:
    username: str
    display_name: str
    drills: tuple[DemoDrill, ...]
    #: Pain (0–10) before the first and the last session.
    pain_start: int
    pain_end: int
    sessions_per_week: int = 3


#: Alex improves steadily on the box knee raise (ready for the floor); Sam rounds the lower back
#: from about 60° of hip flexion, so the squat (shortening mobility) was added, and pain creeps up.
PATIENTS: tuple[DemoPatient, ...] = (
    DemoPatient(
        username="alex.demo",
        display_name="Alex Morgan",
        drills=(
            DemoDrill("knee_raise", "right", 1, 10, 80.0, "box", 72.0, 88.0, 0.3, 0.0),
            DemoDrill("hip_extension", "right", 1, 8, 15.0, "standard", -12.0, -18.0, 0.2, 0.0),
        ),
        pain_start=5,
        pain_end=2,
    ),
    DemoPatient(
        username="sam.demo",
        display_name="Sam Okafor",
        drills=(
            DemoDrill("knee_raise", "left", 1, 10, 80.0, "box", 70.0, 66.0, 0.3, 0.7, 60.0),
            DemoDrill("deep_squat", "left", 1, 8, 100.0, "standard", 88.0, 92.0, 0.2, 0.4),
        ),
        pain_start=3,
        pain_end=5,
        sessions_per_week=2,
    ),
)


@dataclass(slots=True)
class DemoLogins:
    """Usernames and generated passwords of the demo accounts."""

    passwords: dict[str, str] = field(default_factory=dict)

    def rows(self) -> Iterator[tuple[str, str, str]]:
        roles = {THERAPIST: "therapist", ADMIN: "admin"}
        for name, password in self.passwords.items():
            yield roles.get(name, "patient"), name, password


@dataclass(frozen=True, slots=True)
class SeedReport:
    created: bool
    sessions_added: int
    logins: DemoLogins


def _load_logins(data_dir: Path) -> DemoLogins:
    path = data_dir / LOGINS_FILE
    if path.is_file():
        return DemoLogins(dict(json.loads(path.read_text())))
    return DemoLogins()


def _save_logins(data_dir: Path, logins: DemoLogins) -> None:
    path = data_dir / LOGINS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(logins.passwords, fh, indent=2)


def _ensure_user(
    store: Store, logins: DemoLogins, username: str, *, role: str, display_name: str, therapist_id: int | None = None
) -> tuple[int, bool]:
    """Return (user id, created). A known user whose password file was lost gets a new password."""
    try:
        user = store.get_user_by_username(username)
    except NotFoundError:
        password = logins.passwords.get(username) or secrets.token_urlsafe(9)
        user = store.create_user(
            username, password, role=role, display_name=display_name, therapist_id=therapist_id
        )
        logins.passwords[username] = password
        return user.id, True
    if username not in logins.passwords:
        logins.passwords[username] = secrets.token_urlsafe(9)
        store.set_password(user.id, logins.passwords[username])
    return user.id, False


def _session_days(weeks: int, per_week: int, today: dt.date) -> list[dt.date]:
    """Training days over the last ``weeks`` weeks, spread over each week, oldest first."""
    offsets = {2: (1, 4), 3: (0, 2, 4), 4: (0, 1, 3, 5)}.get(per_week, tuple(range(per_week)))
    first_monday = today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))
    days = [first_monday + dt.timedelta(weeks=w, days=d) for w in range(weeks) for d in offsets]
    return [d for d in days if d < today]


def seed_demo_clinic(
    store: Store,
    *,
    weeks: int = 3,
    today: dt.date | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> SeedReport:
    """Create the demo clinic once; later calls only return the logins."""
    today = today or dt.datetime.now(dt.UTC).date()
    logins = _load_logins(store.data_dir)
    therapist_id, created = _ensure_user(
        store, logins, THERAPIST, role="therapist", display_name="Dr. Jordan Lee (demo)"
    )
    _ensure_user(store, logins, ADMIN, role="admin", display_name="Clinic admin (demo)")
    plan: list[tuple[int, DemoPatient, DemoDrill, int, int, dt.date]] = []
    for p_index, patient in enumerate(PATIENTS):
        patient_id, _ = _ensure_user(
            store, logins, patient.username, role="patient", display_name=patient.display_name,
            therapist_id=therapist_id,
        )
        if store.list_sessions(patient_id) or store.list_prescriptions(patient_id):
            continue  # seeded before: idempotent
        days = _session_days(weeks, patient.sessions_per_week, today)
        for d_index, drill in enumerate(patient.drills):
            rx = store.add_prescription(
                patient_id, drill.exercise, drill.side, sets=drill.sets, reps=drill.reps,
                target_rom_deg=drill.target_rom_deg, stage=drill.stage,
                hold_target_s=DRILLS[drill.exercise].default.hold_s,
                sessions_per_week=patient.sessions_per_week, created_by=therapist_id,
            )
            for k, day in enumerate(days):
                plan.append((patient_id, patient, drill, rx.id, k * 100 + p_index * 10 + d_index, day))
    _save_logins(store.data_dir, logins)

    added = 0
    for i, (patient_id, patient, drill, rx_id, seed, day) in enumerate(plan):
        n_days = max(1, len(_session_days(weeks, patient.sessions_per_week, today)) - 1)
        frac = min(1.0, (seed // 100) / n_days)
        if progress:
            progress(f"{patient.display_name}: {drill.exercise} on {day:%a %d %b}", i, len(plan))
        _add_history_session(store, patient_id, patient, drill, rx_id, seed, day, frac)
        added += 1
    if plan:
        _suggest_progressions(store, therapist_id)
    if progress:
        progress("demo clinic ready", len(plan), len(plan))
    return SeedReport(created=created, sessions_added=added, logins=logins)


def _lerp(a: float, b: float, f: float) -> float:
    return a + (b - a) * f


def _add_history_session(
    store: Store, patient_id: int, patient: DemoPatient, drill: DemoDrill, rx_id: int, seed: int,
    day: dt.date, frac: float,
) -> int:
    config = SimulationConfig(
        exercise=drill.exercise,  # type: ignore[arg-type]
        side=drill.side,  # type: ignore[arg-type]
        reps=drill.reps,
        sets=drill.sets,
        seed=seed,
        amplitude_deg=_lerp(drill.amplitude_start_deg, drill.amplitude_end_deg, frac),
        compensation_prob=_lerp(drill.compensation_start, drill.compensation_end, frac),
        compensation_onset_deg=drill.compensation_onset_deg,
        partial_rep_prob=0.05,
    )
    session = simulate(config)
    analysis = analyze_session(session.raw, drill.exercise, drill.side)
    started = dt.datetime.combine(day, dt.time(17, 30), tzinfo=dt.UTC) + dt.timedelta(minutes=seed % 7 * 9)
    duration = dt.timedelta(seconds=float(session.raw.thigh.t_s[-1]))
    session_id = store.save_session(
        patient_id, analysis, session.raw, started_at=started, ended_at=started + duration,
        source="simulated", sensors={"thigh": "demo virtual", "pelvis": "demo virtual"},
        prescription_id=rx_id,
    )
    pain = round(_lerp(patient.pain_start, patient.pain_end, frac))
    store.set_pain_report(
        session_id, pain_before=pain, pain_after=max(0, min(10, pain + (1 if seed % 3 == 0 else 0))),
        note="", reported_by=patient_id,
    )
    return session_id


def _suggest_progressions(store: Store, therapist_id: int) -> None:
    """Run the progression rule over each seeded prescription, as the therapist's page would."""
    rule = ProgressionRule()
    for patient in store.list_patients(therapist_id):
        history = store.patient_history(patient.id)
        for rx in store.list_prescriptions(patient.id):
            program_rx = ProgramPrescription(
                drill=rx.exercise, stage=rx.stage or "standard", target_reps=rx.reps,
                target_rom_deg=rx.target_rom_deg or DRILLS[rx.exercise].default.target_rom_deg,
                sets=rx.sets, side=rx.side,
            )
            rows = history[history["exercise"] == rx.exercise].rename(columns={"exercise": "drill"})
            suggestion = rule.suggest(program_rx, rows)
            if suggestion is not None and suggestion.kind == "stage" and suggestion.to_stage:
                store.suggest_progression(
                    rx.id, suggestion.to_stage, reason=suggestion.summary, suggested_by=therapist_id
                )
