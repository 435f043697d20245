"""The real dashboard (`dashboard.launch`, st.App with the session route) in headless Chromium:
a reload keeps the user signed in through an HttpOnly, SameSite=Strict cookie whose token only the
store's digest knows; sign-out revokes it; a reload does not reset the sign-in lockout; a display
name full of Markdown shows as the plain text it is (issues 15.5, 16.5, 16.7)."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from dashboard import launch
from dashboard.text import WORD_JOINER
from dashboard.web_session import COOKIE
from store import Store
from store.models import WebSessionRow
from store.signin import ACCOUNT_FREE_FAILURES

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
PASSWORD = "browser-pw-123"
EVIL_NAME = "Eve [win](http://evil.example/x) ![i](http://evil.example/i.png) :red[alarm] :material/home: $x^2$ **b** www.evil.example"
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"headless Chromium not installed at {CHROMIUM}"),
]


@pytest.fixture
def dashboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from store import auth as store_auth

    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    data = tmp_path / "data"
    with Store(data_dir=data, password_hasher=fast) as store:
        therapist = store.create_user("thera", PASSWORD, role="therapist", display_name="Dr T")
        store.create_user("eve", PASSWORD, role="patient", display_name=EVIL_NAME, therapist_id=therapist.id)
        store.create_user("max", PASSWORD, role="patient", display_name="Max", therapist_id=therapist.id)
    monkeypatch.setattr(store_auth, "DEFAULT_HASHER", fast)
    port = launch.free_port()
    proc = launch.start(port, data_dir=data, quiet=True, timeout_s=90)
    try:
        yield f"http://127.0.0.1:{port}", data
    finally:
        launch.stop(proc)


@contextlib.contextmanager
def _chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def _sign_in(page, url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(url + "/", wait_until="domcontentloaded")
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _session_cookie(context, timeout_s: float = 15.0) -> dict:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [c for c in context.cookies() if c["name"] == COOKIE]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no {COOKIE} cookie after sign-in: {context.cookies()}")


def _hello(page):
    heading = page.get_by_role("heading", name="Hello").first
    heading.wait_for(timeout=30_000)
    return heading


def test_reload_keeps_the_user_signed_in_and_sign_out_ends_it(dashboard) -> None:
    url, data = dashboard
    with _chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        _sign_in(page, url, "eve")
        heading = _hello(page)
        # the display name is text: exactly what was typed, no link, image, colour, icon or formula
        assert heading.inner_text().replace(WORD_JOINER, "").strip() == f"Hello, {EVIL_NAME}"
        assert page.locator("a[href*='evil.example'], img[src*='evil.example']").count() == 0
        signed_in_as = page.get_by_text("Signed in as").first.inner_text().replace(WORD_JOINER, "")
        assert signed_in_as == f"Signed in as {EVIL_NAME} (patient)", signed_in_as
        cookie = _session_cookie(context)
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
        assert page.evaluate("document.cookie").find(COOKIE) == -1  # page scripts cannot read it
        with Store(data_dir=data) as store, store._read() as s:
            (row,) = s.scalars(select(WebSessionRow)).all()
        assert row.token_hash == hashlib.sha256(cookie["value"].encode()).hexdigest()

        page.reload(wait_until="domcontentloaded")
        _hello(page)  # still signed in
        assert page.get_by_role("textbox", name="Password").count() == 0

        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("textbox", name="Username").wait_for(timeout=30_000)
        page.reload(wait_until="domcontentloaded")
        page.get_by_role("textbox", name="Username").wait_for(timeout=30_000)
        assert page.get_by_role("heading", name="Hello").count() == 0

        # the old token is revoked in the store, not only forgotten by this browser
        other = browser.new_context()
        other.add_cookies([{**cookie, "sameSite": "Strict"}])
        stolen = other.new_page()
        stolen.goto(url + "/", wait_until="domcontentloaded")
        stolen.get_by_role("textbox", name="Username").wait_for(timeout=30_000)
        assert stolen.get_by_role("heading", name="Hello").count() == 0


def test_a_phone_stays_signed_in_across_reloads(dashboard) -> None:
    url, _ = dashboard
    with _chromium() as browser:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        page = context.new_page()
        _sign_in(page, url, "max")
        _hello(page)
        _session_cookie(context)
        for _ in range(2):
            page.reload(wait_until="domcontentloaded")
            _hello(page)


def test_a_reload_does_not_reset_the_sign_in_lockout(dashboard) -> None:
    url, _ = dashboard
    with _chromium() as browser:
        page = browser.new_context().new_page()
        for _ in range(ACCOUNT_FREE_FAILURES):
            _sign_in(page, url, "max", "wrong-password")
            page.get_by_text("Wrong username or password").wait_for(timeout=30_000)
        page.reload(wait_until="domcontentloaded")  # used to give five fresh tries
        _sign_in(page, url, "max")  # even the right password waits
        message = page.get_by_text("Too many failed sign-ins")
        message.wait_for(timeout=30_000)
        assert "try again in" in message.inner_text() and " s" in message.inner_text()
        assert page.get_by_role("heading", name="Hello").count() == 0
