"""Dashboard speed as a person feels it: headless Chromium, time from a click to a settled page.

"Settled": the page's heading is shown, Streamlit's "Running…" status is gone, no skeleton or spinner
is left, and every chart the page draws is painted (Vega canvases with a size). This includes the
server's script run, the websocket, React and Vega — unlike benchmarks/dashboard_apptest.py (AppTest script
time only).

1. One patient with 365 sessions: every patient page (goal ≤ 1.5 s each) and the therapist's
   patient detail tabs for the same patient.
2. A therapist with 500 patients: the Roster (goal ≤ 2 s).

Each page is opened ``RUNS`` times by clicking its navigation link (from another page); the median and
every run are printed.

    .venv/bin/python benchmarks/dashboard_browser.py [patient|roster]   # both when not given
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_common import PASSWORD, seed_sample_clinic

from dashboard import launch
from rehab.clinic import SessionFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
RUNS = 3
PATIENT_GOAL_S = 1.5
ROSTER_GOAL_S = 2.0
CHARTS = ".vega-embed canvas, .vega-embed svg.marks"


def _charts(page: Any) -> int:
    n = 0
    for el in page.locator(CHARTS).all():
        box = el.bounding_box() if el.is_visible() else None
        if box and box["width"] >= 100 and box["height"] >= 50:
            n += 1
    return n


def settled(page: Any, heading: str, charts: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (
            page.get_by_role("heading", name=heading, exact=True).count()
            and page.locator('[data-testid="stStatusWidget"]').count() == 0
            and page.locator('[data-testid="stSkeleton"], [data-testid="stSpinner"]').count() == 0
            and _charts(page) >= charts
        ):
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            return
        page.wait_for_timeout(20)
    raise TimeoutError(f"page {heading!r} did not settle with {charts} chart(s) in {timeout_s:.0f} s")


def clicked(page: Any, action: Callable[[], None], heading: str, charts: int) -> float:
    t0 = time.perf_counter()
    action()
    settled(page, heading, charts)
    return time.perf_counter() - t0


def nav(page: Any, label: str) -> Callable[[], None]:
    return lambda: page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=label).first.click()


def tab(page: Any, label: str) -> Callable[[], None]:
    return lambda: page.get_by_role("tab", name=label).click()


def sign_in(page: Any, url: str, username: str, heading: str, charts: int) -> float:
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("textbox", name="Username").wait_for(timeout=60_000)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    return clicked(page, lambda: page.get_by_role("button", name="Sign in").click(), heading, charts)


def report(what: str, times: list[float], goal: float | None = None) -> None:
    med = statistics.median(times)
    verdict = "" if goal is None else f" (goal ≤ {goal} s: {'OK' if med <= goal else 'OVER GOAL'})"
    print(f"{what}: median {med:.2f} s, runs {', '.join(f'{t:.2f}' for t in times)}{verdict}", flush=True)


def main(parts: tuple[str, ...] = ("patient", "roster")) -> None:
    from playwright.sync_api import sync_playwright

    os.environ.pop("REHAB_DATABASE_URL", None)
    pool = SessionFactory(variants=4)
    with tempfile.TemporaryDirectory(prefix="rehab-bench-browser-") as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        if "patient" in parts:
            patient_pages(browser, Path(tmp), pool)
        if "roster" in parts:
            roster_page(browser, Path(tmp), pool)
        browser.close()


def served(data_dir: Path, pool: SessionFactory, what: str, **plan: int) -> tuple[Any, int]:
    """Seed ``sample_clinic(**plan)`` into ``data_dir`` and start the dashboard on it: (process, port)."""
    seed_sample_clinic(data_dir, pool, what, **plan)
    port = launch.free_port()
    return launch.start(port, data_dir=data_dir, quiet=True, timeout_s=90), port


def patient_pages(browser: Any, tmp: Path, pool: SessionFactory) -> None:
    proc, port = served(tmp / "one-patient", pool, "1 patient × 365 sessions", sessions_per_patient=365,
                        patients_per_therapist=1)  # fmt: skip
    try:
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        report("sign-in → Today (patient, 365 sessions)", [sign_in(page, f"http://127.0.0.1:{port}/", "patient1", "Hello, Patient 1", 0)])
        pages = [("My progress", "My progress", 4), ("Today", "Hello, Patient 1", 0), ("Check-up", "Check-up", 0),
                 ("Exercise now", "Exercise now", 0)]  # fmt: skip
        times: dict[str, list[float]] = {label: [] for label, _, _ in pages}
        for _ in range(RUNS):
            for label, heading, charts in pages:
                times[label].append(clicked(page, nav(page, label), heading, charts))
        for label, _, _ in pages:
            report(f"patient page '{label}' (365 sessions)", times[label], PATIENT_GOAL_S)
        page.context.close()
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        sign_in(page, f"http://127.0.0.1:{port}/", "therapist1", "Roster", 1)
        detail: dict[str, list[float]] = {"Patient detail (Trends)": [], "Sessions tab": [], "Program tab": []}
        for _ in range(RUNS):
            detail["Patient detail (Trends)"].append(clicked(page, nav(page, "Patient detail"), "Patient detail", 4))
            detail["Sessions tab"].append(clicked(page, tab(page, "Sessions"), "Patient detail", 2))
            detail["Program tab"].append(clicked(page, tab(page, "Program"), "Patient detail", 0))
            clicked(page, nav(page, "Roster"), "Roster", 1)
        for label, t in detail.items():
            report(f"therapist {label} (365 sessions)", t, PATIENT_GOAL_S)
    finally:
        launch.stop(proc)


def roster_page(browser: Any, tmp: Path, pool: SessionFactory) -> None:
    proc, port = served(tmp / "roster", pool, "500 patients × 4 sessions", patients_per_therapist=500,
                        sessions_per_patient=4)  # fmt: skip
    try:
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        report("sign-in → Roster (500 patients)", [sign_in(page, f"http://127.0.0.1:{port}/", "therapist1", "Roster", 1)])
        times_roster = []
        for _ in range(RUNS):
            clicked(page, nav(page, "Prescriptions"), "Prescriptions", 0)
            times_roster.append(clicked(page, nav(page, "Roster"), "Roster", 1))
        report("therapist Roster (500 patients)", times_roster, ROSTER_GOAL_S)
    finally:
        launch.stop(proc)


if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or ("patient", "roster"))
