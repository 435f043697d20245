"""What the headless-Chromium tests share: the browser, waiting for Streamlit, and "no error on the page"."""

from __future__ import annotations

import time
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-quic", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 1000}
#: What Streamlit draws for st.error and for an uncaught exception ("This app has encountered an error").
ERROR_SELECTOR = '[data-testid="stAlertContentError"], [data-testid="stException"], [data-testid="stExceptionMessage"]'


def watch_outside_requests(context: Any) -> list[str]:
    """A list that fills with every request the context's pages make to a host other than loopback
    (data: and blob: URLs stay in the page): a health app tells no third party when it is used."""
    outside: list[str] = []

    def seen(request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            outside.append(request.url)

    context.on("request", seen)
    return outside


def errors_on(page: Any) -> list[str]:
    """The text of every error element on the page (empty when there is none)."""
    found = [el.inner_text() for el in page.locator(ERROR_SELECTOR).all() if el.is_visible()]
    if page.get_by_text("This app has encountered an error").count():
        found.append("This app has encountered an error")
    return found


def wait_until(check: Any, *, timeout_s: float, what: str, page: Any, every_ms: int = 200) -> Any:
    """Poll ``check()`` until it returns something truthy; fail naming ``what`` (and any error shown)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        page.wait_for_timeout(every_ms)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}; errors on the page: {errors_on(page)}")


def settled(page: Any, timeout_s: float = 30.0) -> None:
    """Streamlit has finished its run: no "Running..." status widget and no skeletons/spinners left."""
    page.wait_for_load_state("domcontentloaded")
    wait_until(
        lambda: page.locator('[data-testid="stStatusWidget"]').count() == 0
        and page.locator('[data-testid="stSkeleton"], [data-testid="stSpinner"]').count() == 0,
        timeout_s=timeout_s, what="the page to settle", page=page,
    )  # fmt: skip


def png_stats(png: bytes) -> tuple[int, int, int]:
    """(width, height, number of distinct colours) of a PNG."""
    from PIL import Image

    img = Image.open(BytesIO(png)).convert("RGB")
    colours = img.getcolors(maxcolors=1 << 20)
    return img.width, img.height, len(colours) if colours is not None else 1 << 20


def save_screenshot(path: Path, png: bytes, *, min_size: tuple[int, int] = (300, 500)) -> None:
    path.write_bytes(png)
    w, h, colours = png_stats(png)
    assert w >= min_size[0] and h >= min_size[1], (path, w, h)
    assert colours > 50, f"{path} looks blank ({colours} colours)"
