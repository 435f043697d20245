"""The one clinic seeder: the demo clinic ``make run`` shows, and the clinics tests and benchmarks use.

Every session comes from the chain a real recording takes: ``simulation.simulate`` (virtual IMUs on
a biomechanical model) → ``tracker.pipeline.analyze_session`` → ``Store.save_session``, so every
chart has honest data behind it. A :class:`SessionFactory` memoises analysed sessions; with
``variants`` it reuses a few per drill, so a year of a patient or a roster of 500 seeds in seconds.

Seeding is idempotent: users that exist are reused, and a patient who already has prescriptions or
sessions is left alone. Passwords are either one given password (tests, benchmarks) or generated per
account (the demo), never kept in the repository: the demo writes them to
``<data dir>/demo-logins.json``, owner-only, so it can print them again.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from program import DRILLS
from simulation import SimulationConfig, simulate
from store import Store
from store.config import write_private_file
from store.errors import NotFoundError
from tracker.conventions import Exercise, Side
from tracker.pipeline import analyze_session
from tracker.raw import RawSession
from tracker.results import SessionAnalysis

LOGINS_FILE = "demo-logins.json"
THERAPIST = "therapist.demo"
ADMIN = "admin.demo"

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class DrillPlan:
    """One prescribed drill of a seeded patient and how the simulated patient performs it."""

    exercise: Exercise
    side: Side
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
    #: Share of reps the simulated patient stops short (partial reps).
    partial_rep_prob: float = 0.05
    #: The patient's answer after each set (program.DIFFICULTIES) in the first and the second half.
    felt_start: str = "about_right"
    felt_end: str = "about_right"


@dataclass(frozen=True, slots=True)
class PatientPlan:
    """A seeded patient: prescriptions and a schedule of simulated sessions."""

    username: str
    display_name: str
    drills: tuple[DrillPlan, ...]
    #: Pain (0–10) before the first and the last session.
    pain_start: int
    pain_end: int
    therapist: str = THERAPIST
    sessions_per_week: int = 3
    #: Training days as days before today, oldest first; None: ``sessions_per_week`` over the weeks.
    days_ago: tuple[int, ...] | None = None
    #: "all": every drill on each training day; "rotate": one drill per day, in turn.
    drills_per_day: Literal["all", "rotate"] = "all"


@dataclass(frozen=True, slots=True)
class ClinicPlan:
    therapists: tuple[tuple[str, str], ...]  # (username, display name)
    patients: tuple[PatientPlan, ...]
    admin: tuple[str, str] = (ADMIN, "Clinic admin (demo)")
    #: Weeks of history for patients scheduled by ``sessions_per_week``.
    weeks: int = 3
    #: Run the program's progression rule afterwards and store its suggestions for the therapist.
    suggest_progressions: bool = True


#: Alex improves steadily on the box knee raise (ready for the floor); Sam rounds the lower back
#: from about 60° of hip flexion, so the squat (shortening mobility) was added, and pain creeps up.
DEMO_PATIENTS: tuple[PatientPlan, ...] = (
    PatientPlan(
        username="alex.demo",
        display_name="Alex Morgan",
        drills=(
            DrillPlan("knee_raise", "right", 1, 10, 80.0, "box", 72.0, 88.0, 0.3, 0.0, partial_rep_prob=0.0,
                      felt_end="too_easy"),
            DrillPlan("hip_extension", "right", 1, 8, 15.0, "standard", -12.0, -18.0, 0.2, 0.0),
        ),
        pain_start=5,
        pain_end=2,
    ),
    PatientPlan(
        username="sam.demo",
        display_name="Sam Okafor",
        drills=(
            DrillPlan("knee_raise", "left", 1, 10, 80.0, "box", 70.0, 66.0, 0.3, 0.7, 60.0, felt_end="too_hard"),
            DrillPlan("deep_squat", "left", 1, 8, 100.0, "standard", 88.0, 92.0, 0.2, 0.4),
        ),
        pain_start=3,
        pain_end=5,
        sessions_per_week=2,
    ),
)
DEMO_CLINIC = ClinicPlan(therapists=((THERAPIST, "Dr. Jordan Lee (demo)"),), patients=DEMO_PATIENTS)


def sample_clinic(
    *, therapists: int = 1, patients_per_therapist: int = 3, sessions_per_patient: int = 8
) -> ClinicPlan:
    """Therapists ``therapist1..``, patients ``patient1..`` (a box knee raise and a hip extension,
    left, 6 reps each), one session a day ending yesterday, alternating drills; for tests and
    benchmarks at any size."""
    patients = []
    n = 0
    for t in range(1, therapists + 1):
        for _ in range(patients_per_therapist):
            n += 1
            patients.append(
                PatientPlan(
                    username=f"patient{n}",
                    display_name=f"Patient {n}",
                    therapist=f"therapist{t}",
                    drills=(
                        DrillPlan("knee_raise", "left", 1, 6, 80.0, "box", 62.0, 90.0, 0.45, 0.15, felt_end="too_easy"),
                        DrillPlan("hip_extension", "left", 1, 6, 20.0, None, -12.0, -24.0, 0.45, 0.15),
                    ),
                    pain_start=4,
                    pain_end=1 + n % 3,
                    sessions_per_week=5,
                    days_ago=tuple(range(sessions_per_patient, 0, -1)),
                    drills_per_day="rotate",
                )
            )
    return ClinicPlan(
        therapists=tuple((f"therapist{t}", f"Therapist {t}") for t in range(1, therapists + 1)),
        patients=tuple(patients),
        admin=("admin", "Admin"),
        suggest_progressions=False,
    )


class SessionFactory:
    """Simulated, analysed sessions, memoised.

    Parameters
    ----------
    variants
        None: every session is simulated on its own (the demo). An integer k: the progress through
        the plan is rounded to k levels and the seed taken modulo k, so at most k² sessions per
        drill are simulated and the rest reuse them (tests, benchmarks).
    """

    def __init__(self, variants: int | None = None) -> None:
        if variants is not None and variants < 1:
            raise ValueError(f"variants must be >= 1 or None, got {variants!r}")
        self.variants = variants
        self._cache: dict[tuple[object, ...], tuple[SessionAnalysis, RawSession]] = {}

    def session(self, drill: DrillPlan, frac: float, seed: int) -> tuple[SessionAnalysis, RawSession]:
        if self.variants is not None:
            k = self.variants
            frac = round(frac * (k - 1)) / max(k - 1, 1)
            seed %= k
        key = (drill, round(frac, 6), seed)
        if key not in self._cache:
            config = SimulationConfig(
                exercise=drill.exercise,
                side=drill.side,
                reps=drill.reps,
                sets=drill.sets,
                seed=seed,
                amplitude_deg=_lerp(drill.amplitude_start_deg, drill.amplitude_end_deg, frac),
                compensation_prob=_lerp(drill.compensation_start, drill.compensation_end, frac),
                compensation_onset_deg=drill.compensation_onset_deg,
                partial_rep_prob=drill.partial_rep_prob,
            )
            raw = simulate(config).raw
            self._cache[key] = (analyze_session(raw, drill.exercise, drill.side), raw)
        return self._cache[key]


@dataclass(slots=True)
class Clinic:
    """What ``seed_clinic`` created or found (ids by username) and the passwords it knows."""

    admin_id: int
    therapist_ids: dict[str, int] = field(default_factory=dict)
    patient_ids: dict[str, int] = field(default_factory=dict)
    session_ids: dict[str, list[int]] = field(default_factory=dict)
    logins: dict[str, str] = field(default_factory=dict)
    sessions_added: int = 0
    created: bool = False


class _Accounts:
    """Users by username: reused when they exist, created with a known or a generated password."""

    def __init__(self, store: Store, password: str | None, logins: dict[str, str]) -> None:
        self.store, self.password, self.logins = store, password, logins
        self.created_any = False

    def ensure(self, username: str, *, role: str, display_name: str, therapist_id: int | None = None) -> int:
        try:
            user = self.store.get_user_by_username(username)
        except NotFoundError:
            password = self.password or self.logins.get(username) or secrets.token_urlsafe(9)
            user = self.store.create_user(
                username, password, role=role, display_name=display_name, therapist_id=therapist_id
            )
            self.logins[username] = password
            self.created_any = True
            return user.id
        if self.password is None and username not in self.logins:  # password file lost: a new one
            self.logins[username] = secrets.token_urlsafe(9)
            self.store.set_password(user.id, self.logins[username])
        elif self.password is not None:
            self.logins.setdefault(username, self.password)
        return user.id


def _week_days(weeks: int, per_week: int, today: dt.date) -> list[dt.date]:
    """Training days over the last ``weeks`` weeks, spread over each week, oldest first."""
    offsets = {2: (1, 4), 3: (0, 2, 4), 4: (0, 1, 3, 5)}.get(per_week, tuple(range(per_week)))
    first_monday = today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))
    days = [first_monday + dt.timedelta(weeks=w, days=d) for w in range(weeks) for d in offsets]
    return [d for d in days if d < today]


def _schedule(plan: PatientPlan, index: int, weeks: int, today: dt.date) -> Iterator[tuple[int, dt.date, int]]:
    """(day number, day, drill index) of every session of a patient, oldest first."""
    if plan.days_ago is not None:
        days = [today - dt.timedelta(days=d) for d in plan.days_ago]
    else:
        days = _week_days(weeks, plan.sessions_per_week, today)
    for k, day in enumerate(days):
        if plan.drills_per_day == "all":
            for d in range(len(plan.drills)):
                yield k, day, d
        else:  # one drill a day: the first one two days in three
            ago = (today - day).days
            yield k, day, 0 if (ago + index + 1) % 3 or len(plan.drills) == 1 else 1


def _lerp(a: float, b: float, f: float) -> float:
    return a + (b - a) * f


def seed_clinic(
    store: Store,
    plan: ClinicPlan = DEMO_CLINIC,
    *,
    password: str | None = None,
    logins: dict[str, str] | None = None,
    today: dt.date | None = None,
    factory: SessionFactory | None = None,
    with_raw: bool = True,
    progress: Progress | None = None,
) -> Clinic:
    """Create the plan's accounts, prescriptions and history once; later calls only report them.

    ``password``: one password for every new account (tests); None: generated per account and
    returned in ``Clinic.logins`` (pass the known ``logins`` to keep them across runs)."""
    today = today or dt.datetime.now(dt.UTC).date()
    factory = factory or SessionFactory()
    accounts = _Accounts(store, password, dict(logins or {}))
    therapist_ids = {
        name: accounts.ensure(name, role="therapist", display_name=title) for name, title in plan.therapists
    }
    clinic = Clinic(admin_id=accounts.ensure(plan.admin[0], role="admin", display_name=plan.admin[1]))
    clinic.therapist_ids = therapist_ids
    work: list[tuple[int, PatientPlan, int, int, int, dt.date, float]] = []
    rx_ids: dict[tuple[int, int], int] = {}
    for p_index, patient in enumerate(plan.patients):
        patient_id = accounts.ensure(
            patient.username, role="patient", display_name=patient.display_name,
            therapist_id=therapist_ids[patient.therapist],
        )  # fmt: skip
        clinic.patient_ids[patient.username] = patient_id
        clinic.session_ids[patient.username] = [s.id for s in reversed(store.list_sessions(patient_id))]
        if clinic.session_ids[patient.username] or store.list_prescriptions(patient_id):
            continue  # seeded before: idempotent
        for d_index, drill in enumerate(patient.drills):
            rx_ids[p_index, d_index] = store.add_prescription(
                patient_id, drill.exercise, drill.side, sets=drill.sets, reps=drill.reps,
                target_rom_deg=drill.target_rom_deg, stage=drill.stage,
                hold_target_s=DRILLS[drill.exercise].default.hold_s,
                sessions_per_week=patient.sessions_per_week, created_by=therapist_ids[patient.therapist],
            ).id  # fmt: skip
        sessions = list(_schedule(patient, p_index, plan.weeks, today))
        n_days = max(1, sessions[-1][0]) if sessions else 1
        for k, day, d_index in sessions:  # the patient's progress through the plan, by training day
            work.append((patient_id, patient, p_index, d_index, k, day, k / n_days))
    for i, (patient_id, patient, p_index, d_index, k, day, frac) in enumerate(work):
        drill = patient.drills[d_index]
        if progress:
            progress(f"{patient.display_name}: {drill.exercise} on {day:%a %d %b}", i, len(work))
        seed = k * 100 + p_index * 10 + d_index
        analysis, raw = factory.session(drill, frac, seed)
        started = dt.datetime.combine(day, dt.time(17, 30), tzinfo=dt.UTC) + dt.timedelta(minutes=seed % 7 * 9)
        session_id = store.save_session(
            patient_id, analysis, raw if with_raw else None, started_at=started,
            ended_at=started + dt.timedelta(seconds=float(raw.thigh.t_s[-1])), source="simulated",
            sensors={"thigh": "demo virtual", "pelvis": "demo virtual"}, prescription_id=rx_ids[p_index, d_index],
        )  # fmt: skip
        pain = round(_lerp(patient.pain_start, patient.pain_end, frac))
        store.set_pain_report(
            session_id, pain_before=pain, pain_after=max(0, min(10, pain + (1 if seed % 3 == 0 else 0))),
            note="", difficulty=drill.felt_start if frac < 0.5 else drill.felt_end, reported_by=patient_id,
        )  # fmt: skip
        clinic.session_ids[patient.username].append(session_id)
        clinic.sessions_added += 1
    if work and plan.suggest_progressions:
        _suggest_progressions(store, [therapist_ids[n] for n, _ in plan.therapists])
    if progress:
        progress("clinic ready", len(work), len(work))
    clinic.logins = accounts.logins
    clinic.created = accounts.created_any
    return clinic


def _suggest_progressions(store: Store, therapist_ids: list[int]) -> None:
    """Run the progression rule over each prescription and keep its suggestions, pending the therapist."""
    for therapist_id in therapist_ids:
        for patient in store.list_patients(therapist_id):
            for rx in store.list_prescriptions(patient.id):
                store.propose_progression(rx.id)


# -- the demo's logins -----------------------------------------------------------------------------
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


def load_logins(data_dir: Path) -> DemoLogins:
    path = data_dir / LOGINS_FILE
    return DemoLogins(dict(json.loads(path.read_text()))) if path.is_file() else DemoLogins()


def save_logins(data_dir: Path, logins: DemoLogins) -> None:
    write_private_file(data_dir / LOGINS_FILE, json.dumps(logins.passwords, indent=2).encode())


def seed_demo_clinic(
    store: Store, *, weeks: int = 3, today: dt.date | None = None, progress: Progress | None = None
) -> SeedReport:
    """The demo clinic (``DEMO_CLINIC``) with generated passwords kept in the data directory."""
    known = load_logins(store.data_dir)
    plan = ClinicPlan(therapists=DEMO_CLINIC.therapists, patients=DEMO_CLINIC.patients, weeks=weeks)
    clinic = seed_clinic(store, plan, logins=known.passwords, today=today, progress=progress)
    logins = DemoLogins(clinic.logins)
    save_logins(store.data_dir, logins)
    return SeedReport(created=clinic.created, sessions_added=clinic.sessions_added, logins=logins)
