"""Dashboard render times through Streamlit's AppTest (the app's own code, the real store).

1. A patient with 365 sessions: the patient pages (Today, My progress with charts + drill-down).
   Goal ≤ 1.5 s.
2. A therapist with 500 patients: the Roster page. Goal ≤ 2 s.

Prints one line per figure (median of several warm runs, and the first run). Seeding uses the
real simulate → analyse → save chain on a small pool of simulated sessions.

    .venv/bin/python benchmarks/dashboard_apptest.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_common import FAST, PASSWORD, seed_sample_clinic
from streamlit.testing.v1 import AppTest

from rehab.clinic import SessionFactory
from store import Store
from store import auth as store_auth
from store.config import DATA_DIR_ENV, DATABASE_URL_ENV

APP = REPO / "dashboard" / "app.py"
RUNS = 5
PATIENT_GOAL_S = 1.5
ROSTER_GOAL_S = 2.0


def signed_in(username: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(PASSWORD)
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    if at.exception:
        raise RuntimeError(at.exception)
    return at


def time_page(at: AppTest, page: str) -> tuple[float, float]:
    """(first run, median of RUNS further runs) of ``page``, seconds."""
    t0 = time.perf_counter()
    at.switch_page(page).run()
    first = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(at.exception)
    runs = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        at.run()
        runs.append(time.perf_counter() - t0)
    return first, statistics.median(runs)


def verdict(seconds: float, goal: float) -> str:
    return "OK" if seconds <= goal else "OVER GOAL"


def main() -> None:
    store_auth.DEFAULT_HASHER = FAST  # account creation/sign-in cost is not what is measured here
    os.environ.pop(DATABASE_URL_ENV, None)
    pool = SessionFactory(variants=4)  # ≤ 16 simulated sessions per drill, reused

    with tempfile.TemporaryDirectory(prefix="rehab-bench-") as tmp:
        data_dir = Path(tmp) / "one-patient"
        os.environ[DATA_DIR_ENV] = str(data_dir)
        seed_sample_clinic(data_dir, pool, "1 patient × 365 sessions", sessions_per_patient=365, patients_per_therapist=1)
        at = signed_in("patient1")
        with Store(data_dir=data_dir) as store:
            if len(store.patient_history(store.get_user_by_username("patient1").id)) != 365:
                raise RuntimeError("the benchmark patient does not have 365 sessions")
        for page, title in (("app_pages/patient_today.py", "Today"), ("app_pages/patient_history.py", "My progress")):
            first, median = time_page(at, page)
            print(
                f"patient page '{title}' (365 sessions): median {median:.3f} s, first {first:.3f} s "
                f"(goal ≤ {PATIENT_GOAL_S} s: {verdict(median, PATIENT_GOAL_S)})"
            )
        at = signed_in("therapist1")
        first, median = time_page(at, "app_pages/therapist_patient.py")
        print(f"therapist patient detail (365 sessions): median {median:.3f} s, first {first:.3f} s")

        data_dir = Path(tmp) / "roster"
        os.environ[DATA_DIR_ENV] = str(data_dir)
        seed_sample_clinic(data_dir, pool, "500 patients × 4 sessions", patients_per_therapist=500, sessions_per_patient=4)
        at = signed_in("therapist1")
        first, median = time_page(at, "app_pages/therapist_roster.py")
        rows = len(at.dataframe[0].value)
        if rows != 500:
            raise RuntimeError(f"roster shows {rows} patients, expected 500")
        print(
            f"therapist roster (500 patients): median {median:.3f} s, first {first:.3f} s "
            f"(goal ≤ {ROSTER_GOAL_S} s: {verdict(median, ROSTER_GOAL_S)})"
        )


if __name__ == "__main__":
    main()
