"""The real app on loopback, in headless Chromium, for a therapist at 1400×1000: the roster of 40
patients readable without sideways scrolling and its scatter named on hover, a session drill-down,
and an at-home assessment's result with its evidence. Screenshots go to ``$REHAB_SCREENSHOTS_DIR``
when set (e.g. docs/screenshots), else a temp dir."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from dashboard import launch, progress
from program import ScreeningAnswers
from rehab.clinic import DrillPlan, sample_clinic, seed_clinic
from store import Store

from .browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    errors_on,
    png_stats,
    save_screenshot,
    settled,
    wait_until,
    watch_outside_requests,
)
from .conftest import FAST_HASHER, PASSWORD

CHART_SELECTOR = ".vega-embed canvas, .vega-embed svg.marks"
MIN_CHART_PX = (200, 100)
ROSTER_PATIENTS = 40

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"headless Chromium not installed at {CHROMIUM} (apt-get install chromium)"),
]

#: The check-up of a patient who rounds the lower back from 60° in the knee raise.
ROUNDER = {
    "knee_raise": DrillPlan("knee_raise", "left", 1, 5, 90.0, None, 95.0, 95.0, 1.0, 1.0, 60.0, partial_rep_prob=0.0),
    "hip_extension": DrillPlan("hip_extension", "left", 1, 5, 15.0, None, -20.0, -20.0, 0.0, 0.0, partial_rep_prob=0.0),
    "deep_squat": DrillPlan("deep_squat", "left", 1, 5, 100.0, None, 110.0, 110.0, 0.0, 0.0, partial_rep_prob=0.0),
}


def _rendered_charts(page) -> list[dict]:
    boxes = []
    for el in page.locator(CHART_SELECTOR).all():
        if el.is_visible():
            box = el.bounding_box()
            if box and box["width"] >= MIN_CHART_PX[0] and box["height"] >= MIN_CHART_PX[1]:
                boxes.append(box)
    return boxes


def _wait_for_charts(page, n: int, timeout_s: float = 30.0) -> list[dict]:
    return wait_until(lambda: (b := _rendered_charts(page)) and len(b) >= n and b, timeout_s=timeout_s,
                      what=f"{n} rendered chart(s)", page=page)  # fmt: skip


def _assessment(store: Store, patient_id: int, session_pool) -> int:  # type: ignore[no-untyped-def]
    a = store.start_assessment(patient_id, "left", answers=ScreeningAnswers(True, False, False).to_dict())
    for i, plan in enumerate(ROUNDER.values()):
        analysis, raw = session_pool.session(plan, 0.0, 1)
        sid = store.save_session(patient_id, analysis, None, started_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=9 - i))
        store.add_assessment_session(a.id, sid)
    return progress.evaluate_assessment(store, a.id).id


def test_real_app_in_headless_chromium(tmp_path: Path, session_pool) -> None:
    from playwright.sync_api import sync_playwright

    out = Path(os.environ.get("REHAB_SCREENSHOTS_DIR") or tmp_path / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    data_dir = tmp_path / "data"
    with Store(data_dir=data_dir, password_hasher=FAST_HASHER) as store:
        clinic = seed_clinic(
            store, sample_clinic(patients_per_therapist=ROSTER_PATIENTS, sessions_per_patient=10), password=PASSWORD,
            factory=session_pool, with_raw=False,
        )  # fmt: skip
        patient1 = clinic.patient_ids["patient1"]
        _assessment(store, patient1, session_pool)
        store.update_user(clinic.patient_ids["patient2"], display_name="Robin Avery-Okonkwo")
    port = launch.free_port()
    proc = launch.start(port, data_dir=data_dir, quiet=True, timeout_s=60)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                context = browser.new_context(viewport=DESKTOP)
                outside = watch_outside_requests(context)
                page = context.new_page()
                page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
                page.get_by_role("textbox", name="Username").fill("therapist1")
                page.get_by_role("textbox", name="Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.get_by_role("heading", name="Roster").wait_for(timeout=30_000)
                assert any(c["name"] == "_streamlit_xsrf" for c in context.cookies())  # XSRF protection is on
                settled(page)
                assert errors_on(page) == []
                # the roster: every key column visible at 1400 px with the sidebar open, no sideways scrolling
                grid = page.locator('[data-testid="stDataFrame"]').first
                grid.wait_for(timeout=30_000)
                scroller = grid.locator(".dvn-scroller").first
                sizes = scroller.evaluate("el => [el.scrollWidth, el.clientWidth]")
                assert sizes[0] <= sizes[1] + 1, f"the roster scrolls sideways: {sizes[0]} px of content in {sizes[1]} px"
                _wait_for_charts(page, 1)
                page.wait_for_timeout(500)  # let the canvas finish painting
                save_screenshot(out / "therapist-roster.png", page.screenshot(full_page=True), min_size=(800, 500))
                assert page.get_by_text("Alerts (").first.is_visible()
                # the scatter: hovering a point names the patient
                chart = page.locator(".vega-embed").first
                chart.scroll_into_view_if_needed()
                box = chart.bounding_box()
                assert box is not None
                named = None
                for fx in range(8, 95, 3):
                    for fy in range(8, 95, 4):
                        page.mouse.move(box["x"] + box["width"] * fx / 100, box["y"] + box["height"] * fy / 100)
                        tip = page.locator("#vg-tooltip-element")
                        if tip.count() and tip.is_visible() and "Patient" in tip.inner_text():
                            named = tip.inner_text()
                            break
                    if named:
                        break
                assert named and ("Patient " in named or "Robin" in named), named

                page.get_by_role("link", name="Patient detail").click()
                page.get_by_role("heading", name="Patient detail").wait_for(timeout=30_000)
                page.get_by_role("tab", name="Sessions").click()
                boxes = _wait_for_charts(page, 2)  # the hip-angle and pelvic-tilt curves
                assert all(b["width"] >= 600 for b in boxes)
                page.get_by_text("Calibration quality").first.wait_for(timeout=15_000)
                page.set_viewport_size({"width": 1400, "height": 1800})  # Streamlit scrolls inside, not the page
                page.wait_for_timeout(800)
                save_screenshot(out / "session-drilldown.png", page.screenshot(), min_size=(800, 500))
                visible = [el for el in page.locator(CHART_SELECTOR).all() if el.is_visible()]
                tallest = max(visible, key=lambda el: el.bounding_box()["height"])
                assert png_stats(tallest.screenshot())[2] > 20  # the curves themselves are drawn, not an empty box
                assert f"patient={patient1}" in page.url
                # the assessment's result, with its evidence, for the therapist to decide
                page.get_by_role("tab", name="Program").click()
                page.get_by_text("At-home assessment").first.wait_for(timeout=15_000)
                page.get_by_text("Deep squat (shortening mobility – hip flexion) — Recommended").first.wait_for(timeout=15_000)
                page.get_by_role("button", name="Confirm and prescribe").first.wait_for(timeout=15_000)
                assert errors_on(page) == []
                page.get_by_text("Deep squat (shortening mobility – hip flexion) — Recommended").first.scroll_into_view_if_needed()
                page.wait_for_timeout(500)
                save_screenshot(out / "assessment-result.png", page.screenshot(), min_size=(800, 500))
                assert outside == [], f"the pages reached beyond this machine (a third party learns of each visit): {outside}"
            finally:
                browser.close()
    finally:
        launch.stop(proc)
    if os.environ.get("REHAB_SCREENSHOTS_DIR") is None:
        shutil.rmtree(out, ignore_errors=True)
