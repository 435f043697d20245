"""The real app on loopback, in headless Chromium: sign in, screenshot the roster and a session
drill-down, and check the screenshots show rendered charts.

Screenshots go to ``$REHAB_SCREENSHOTS_DIR`` when set (e.g. docs/screenshots), else a temp dir.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from io import BytesIO
from pathlib import Path

import pytest

from dashboard import launch
from rehab.clinic import sample_clinic, seed_clinic
from store import Store

from .conftest import FAST_HASHER, PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-quic", "--disable-component-update", "--disable-sync",
]  # fmt: skip
CHART_SELECTOR = ".vega-embed canvas, .vega-embed svg.marks"
MIN_CHART_PX = (200, 100)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"headless Chromium not installed at {CHROMIUM} (apt-get install chromium)"),
]


def _png_stats(png: bytes) -> tuple[int, int, int]:
    """(width, height, number of distinct colours) of a PNG."""
    from PIL import Image

    img = Image.open(BytesIO(png)).convert("RGB")
    colours = img.getcolors(maxcolors=1 << 20)
    return img.width, img.height, len(colours) if colours is not None else 1 << 20


def _rendered_charts(page) -> list[dict]:
    boxes = []
    for el in page.locator(CHART_SELECTOR).all():
        if el.is_visible():
            box = el.bounding_box()
            if box and box["width"] >= MIN_CHART_PX[0] and box["height"] >= MIN_CHART_PX[1]:
                boxes.append(box)
    return boxes


def _wait_for_charts(page, n: int, timeout_s: float = 30.0) -> list[dict]:
    deadline = dt.datetime.now() + dt.timedelta(seconds=timeout_s)
    while dt.datetime.now() < deadline:
        boxes = _rendered_charts(page)
        if len(boxes) >= n:
            return boxes
        page.wait_for_timeout(250)
    raise AssertionError(f"expected {n} rendered chart(s), found {len(_rendered_charts(page))}")


def _check_screenshot(path: Path, png: bytes) -> None:
    path.write_bytes(png)
    w, h, colours = _png_stats(png)
    assert w >= 800 and h >= 500, (w, h)
    assert colours > 50, f"{path} looks blank ({colours} colours)"


def test_real_app_in_headless_chromium(tmp_path: Path, session_pool) -> None:
    from playwright.sync_api import sync_playwright

    out = Path(os.environ.get("REHAB_SCREENSHOTS_DIR") or tmp_path / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    data_dir = tmp_path / "data"
    with Store(data_dir=data_dir, password_hasher=FAST_HASHER) as store:
        clinic = seed_clinic(
            store, sample_clinic(patients_per_therapist=3, sessions_per_patient=10), password=PASSWORD,
            factory=session_pool, with_raw=False,
        )  # fmt: skip
    port = launch.free_port()
    proc = launch.start(port, data_dir=data_dir, quiet=True, timeout_s=60)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
                page.get_by_role("textbox", name="Username").fill("therapist1")
                page.get_by_role("textbox", name="Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.get_by_role("heading", name="Roster").wait_for(timeout=30_000)
                assert any(c["name"] == "_streamlit_xsrf" for c in context.cookies())  # XSRF protection is on
                boxes = _wait_for_charts(page, 1)
                page.wait_for_timeout(500)  # let the canvas finish painting
                _check_screenshot(out / "therapist-roster.png", page.screenshot(full_page=True))
                assert page.get_by_text("Alerts (").first.is_visible()

                page.get_by_role("link", name="Patient detail").click()
                page.get_by_role("heading", name="Patient detail").wait_for(timeout=30_000)
                page.get_by_role("tab", name="Sessions").click()
                boxes = _wait_for_charts(page, 2)  # the hip-angle and pelvic-tilt curves
                assert all(b["width"] >= 600 for b in boxes)
                page.get_by_text("Calibration quality").first.wait_for(timeout=15_000)
                page.set_viewport_size({"width": 1400, "height": 1800})  # Streamlit scrolls inside, not the page
                page.wait_for_timeout(800)
                _check_screenshot(out / "session-drilldown.png", page.screenshot())
                visible = [el for el in page.locator(CHART_SELECTOR).all() if el.is_visible()]
                tallest = max(visible, key=lambda el: el.bounding_box()["height"])
                chart_png = tallest.screenshot()
                assert _png_stats(chart_png)[2] > 20  # the curves themselves are drawn, not an empty box
                assert f"session={clinic.session_ids['patient1'][-1]}" in page.url
            finally:
                browser.close()
    finally:
        launch.stop(proc)
    if os.environ.get("REHAB_SCREENSHOTS_DIR") is None:
        shutil.rmtree(out, ignore_errors=True)
