"""Staying signed in across page reloads: a server-side session behind an HttpOnly cookie.

Streamlit keeps ``st.session_state`` per browser tab connection, so a reload used to sign the user
out, and a Streamlit script cannot send HTTP headers. So the sign-in runs in two steps:

1. the sign-in page checks the password and asks the store for a pending session
   (``Store.begin_web_session``): a one-time code, good for two minutes;
2. a tiny script on the next page run posts that code to this module's route, ``POST
   /_rehab/session`` (the dashboard is served as an ``st.App`` with this route, dashboard/server.py),
   which trades it for a random token (``Store.claim_web_session``) and sets it as cookie
   ``rehab_session``: HttpOnly (page scripts cannot read it), SameSite=Strict (other sites cannot
   send it), Secure over HTTPS, Path=/, for the session's remaining lifetime.

On every later connection the router reads the cookie (``st.context.cookies``) and resolves it with
``Store.web_session_user`` (12 h idle / 7 days at most; only its SHA-256 digest is stored). Sign-out
deletes the session in the store (the token stops working at once, in every tab) and asks the
browser to drop the cookie (``DELETE /_rehab/session``). The route accepts only same-origin JSON
requests (the browser's ``Origin`` must be this host) with a code the store issued.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from store import NotFoundError, Store
from store.config import DATA_DIR_ENV, DATABASE_URL_ENV

COOKIE = "rehab_session"
ROUTE = "/_rehab/session"
MAX_BODY_BYTES = 1024


@functools.lru_cache(maxsize=4)
def _store(url: str | None, data_dir: str | None) -> Store:
    return Store(url, data_dir=data_dir)


def route_store() -> Store:
    """The store of this dashboard process (the same configuration as dashboard.state)."""
    return _store(os.environ.get(DATABASE_URL_ENV) or None, os.environ.get(DATA_DIR_ENV) or None)


def _refuse(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    return bool(origin and host) and urlsplit(origin).netloc.lower() == str(host).lower()


async def claim(request: Request) -> Response:
    """POST {"code": …} from the dashboard's own page → the session cookie."""
    if not _same_origin(request):
        return _refuse(403, "cross-site request")
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return _refuse(415, "JSON only")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _refuse(413, "too large")
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        code = None
    if not isinstance(code, str) or not 0 < len(code) <= 128:
        return _refuse(400, "a sign-in code is required")
    try:
        token = await run_in_threadpool(route_store().claim_web_session, code)
    except NotFoundError:
        return _refuse(403, "this sign-in has expired; sign in again")
    response = JSONResponse({"ok": True})
    response.set_cookie(
        COOKIE, token.token, max_age=token.max_age_s, path="/", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


async def forget(request: Request) -> Response:
    """DELETE: drop the cookie (the session itself was already deleted in the store at sign-out)."""
    if not _same_origin(request):
        return _refuse(403, "cross-site request")
    response = JSONResponse({"ok": True})
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


def routes() -> list[Route]:
    return [Route(ROUTE, claim, methods=["POST"]), Route(ROUTE, forget, methods=["DELETE"])]


def claim_script(code: str) -> str:
    """The page script that trades CODE for the cookie (the code is single-use: running twice is harmless)."""
    payload: dict[str, Any] = {"code": code}
    return (
        f"<script>fetch({json.dumps(ROUTE)}, {{method: 'POST', credentials: 'same-origin', "
        f"headers: {{'Content-Type': 'application/json'}}, body: {json.dumps(json.dumps(payload))}}});</script>"
    )


def forget_script() -> str:
    return f"<script>fetch({json.dumps(ROUTE)}, {{method: 'DELETE', credentials: 'same-origin'}});</script>"
