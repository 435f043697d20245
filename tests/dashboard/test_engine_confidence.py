"""Older-engine numbers and low-confidence reps are shown as such (issue 14, items 5 and 7):
under AppTest for both roles, and in headless Chromium at a phone viewport."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from dashboard import launch
from rehab.clinic import sample_clinic, seed_clinic
from store import Store
from store.models import RepRow, SessionRow
from tracker import ENGINE_VERSION

from .conftest import FAST_HASHER, PASSWORD, SeededClinic, sign_in, texts
from .test_browser import CHROMIUM, CHROMIUM_ARGS

REASON = "data gap during the rep"


def _age(store: Store, session_id: int) -> None:
    """Make a stored session look as an older engine left it, with rep 1 of low confidence."""
    with store.engine.begin() as conn:
        conn.execute(update(SessionRow).where(SessionRow.id == session_id).values(engine_version="0"))
        conn.execute(update(RepRow).where(RepRow.session_id == session_id, RepRow.rep_index == 1)
                     .values(confidence=0.3, low_confidence_reason=REASON))


def test_therapist_sees_older_engine_and_low_confidence_rep(clinic: SeededClinic) -> None:
    newest = clinic.sessions(1)[-1]
    _age(clinic.store, newest)
    at = sign_in("therapist1")
    at.switch_page("app_pages/therapist_patient.py").run()
    assert not at.exception
    assert int(at.query_params["session"]) == newest
    t = texts(at)
    assert f"older analysis (engine 0; current {ENGINE_VERSION})" in t and "rehab reanalyze" in t
    assert f"Rep 1 of low confidence — {REASON}" in t
    rep_table = next(d.value for d in at.dataframe if "Confidence" in d.value.columns)
    assert rep_table["Confidence"].tolist()[0] == f"low (0.30): {REASON}"
    assert all(c == "1.00" for c in rep_table["Confidence"].tolist()[1:])  # the engine's default: confident
    sessions = next(d.value for d in at.dataframe if "engine" in d.value.columns)
    assert sorted(sessions["engine"].unique()) == ["current", "older (0)"]
    # another session on the current engine: no note
    at.selectbox(key=f"session_pick_{clinic.patient(1)}").set_value(clinic.sessions(1)[0]).run()
    assert "older analysis" not in texts(at) and "low confidence" not in texts(at)


def test_patient_reads_it_in_plain_words(clinic: SeededClinic) -> None:
    _age(clinic.store, clinic.sessions(1)[-1])
    at = sign_in("patient1")
    at.switch_page("app_pages/patient_history.py").run()
    assert not at.exception
    t = texts(at)
    assert "1 of your sessions was worked out by an earlier version of the app" in t
    assert "Worked out by an earlier version of the app" in t  # the drill-down of that session
    assert f"Rep 1 may be less accurate — {REASON}" in t
    assert "engine" not in t.lower()  # patients get plain words


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"headless Chromium not installed at {CHROMIUM}")
def test_phone_shows_the_notes_in_chromium(tmp_path: Path, session_pool) -> None:
    from playwright.sync_api import sync_playwright

    data_dir = tmp_path / "data"
    with Store(data_dir=data_dir, password_hasher=FAST_HASHER) as store:
        clinic = seed_clinic(
            store, sample_clinic(therapists=1, patients_per_therapist=1, sessions_per_patient=3), password=PASSWORD,
            factory=session_pool, with_raw=False,
        )  # fmt: skip
        _age(store, clinic.session_ids["patient1"][-1])
    port = launch.free_port()
    proc = launch.start(port, data_dir=data_dir, quiet=True, timeout_s=60)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
                page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
                page.get_by_role("textbox", name="Username").fill("patient1")
                page.get_by_role("textbox", name="Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.get_by_text("Hello, Patient 1").first.wait_for(timeout=30_000)
                page.get_by_test_id("stExpandSidebarButton").click()  # the navigation folds away on a phone
                page.get_by_role("link", name="My progress").click()
                for words in ("was worked out by an earlier version", f"Rep 1 may be less accurate — {REASON}"):
                    note = page.get_by_text(words).first
                    note.wait_for(timeout=30_000)
                    note.scroll_into_view_if_needed()
                    box = note.bounding_box()
                    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390  # fits the phone
            finally:
                browser.close()
    finally:
        launch.stop(proc)
