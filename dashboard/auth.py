"""Sign-in, the signed-in user, and every access check the pages make — in one place.

Clinics with an identity provider can also sign in through Streamlit's OIDC (``st.login``) when
``[auth]`` is configured in Streamlit's secrets (outside the repo): the provider's verified
``email`` must equal an active local account's username, which then decides the role.

The browser tab's session keeps the signed-in user's id in a non-widget key of
``st.session_state`` (a client cannot set it); a reload finds the user again through the
server-side session behind the HttpOnly ``rehab_session`` cookie (dashboard/web_session.py).
Failed sign-ins are counted in the store per account and per client address, so a reload or a
second dashboard process gets no fresh tries; the lock grows with each further failure and the
page says how long to wait (store/signin.py). Everything else a page receives — query parameters
such as ``?session=12`` and widget values — is untrusted: pages turn it into an id with
``require_patient`` / ``require_session`` / ``require_prescription``, which ask the store's access
rules (``Store.can_view_patient`` and friends) on every run. A refused or unknown id gives the same
message, so ids of other patients cannot be probed.
"""

from __future__ import annotations

import time
from typing import Any, NoReturn

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from dashboard import web_session
from store import NotFoundError, Prescription, Store, User
from store.signin import ACCOUNT_FREE_FAILURES, HANDOFF_TTL_S, LOCK_BASE_S, SignInThrottledError

USER_KEY = "_rehab_user_id"
#: The store's web session of this tab (ended at sign-out), and the pending cookie handoff.
WEB_SESSION_KEY = "_rehab_web_session"
HANDOFF_KEY = "_rehab_session_handoff"
FORGET_COOKIE_KEY = "_rehab_forget_cookie"
#: After this many failed sign-ins of an account (any browser, any process) it is locked, first
#: for LOCKOUT_S, then twice as long after each further failure (store/signin.py).
MAX_FAILURES = ACCOUNT_FREE_FAILURES
LOCKOUT_S = LOCK_BASE_S
#: The client address failures are counted for when Streamlit reports none (a loopback browser).
LOOPBACK_CLIENT = "loopback"

ROLES = ("patient", "therapist", "admin")
NO_ACCESS = "This page or record is not available to your account."


class SignInLockedError(Exception):
    """Too many failed sign-ins for this account or from this address; the message says how long
    to wait (``wait_s`` seconds)."""

    def __init__(self, message: str, wait_s: float) -> None:
        super().__init__(message)
        self.wait_s = wait_s


def deny(message: str = NO_ACCESS) -> NoReturn:
    st.error(message, icon=":material/lock:")
    st.stop()
    raise AssertionError("unreachable")  # st.stop raises; keeps type checkers honest


def oidc_enabled() -> bool:
    """True when Streamlit's secrets configure an OIDC provider (``[auth]``)."""
    try:
        return "auth" in st.secrets
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return False


def oidc_email() -> str | None:
    """The identity provider's email for this browser session, if OIDC is on and signed in."""
    if not oidc_enabled() or not getattr(st.user, "is_logged_in", False):
        return None
    email = st.user.get("email")
    return str(email) if email else None


def _cookie_user(store: Store) -> int | None:
    """The user of this browser's session cookie (a reload), remembered for the tab; else None."""
    token = st.context.cookies.get(web_session.COOKIE)
    if not isinstance(token, str) or not token:  # (AppTest has no real browser context)
        return None
    found = store.web_session_user(token)
    if found is None:
        return None
    user, session_id = found
    st.session_state[USER_KEY] = user.id
    st.session_state[WEB_SESSION_KEY] = session_id
    return user.id


def current_user(store: Store) -> User | None:
    """The signed-in user, re-read from the store every run (deactivated accounts drop out)."""
    uid = st.session_state.get(USER_KEY)
    if uid is None and not st.session_state.get(FORGET_COOKIE_KEY):
        uid = _cookie_user(store)
    if uid is None:
        email = oidc_email()
        if email is None:
            return None
        try:
            found = store.get_user_by_username(email)
        except NotFoundError:
            return None
        if not found.active:
            return None
        st.session_state[USER_KEY] = uid = found.id
    user: User | None
    try:
        user = store.get_user(int(uid))
    except NotFoundError:
        user = None
    if user is None or not user.active:
        sign_out(store)
        return None
    return user


def client_address() -> str:
    """The address failed sign-ins are counted for (Streamlit reports none for loopback browsers)."""
    address = st.context.ip_address
    return address if isinstance(address, str) and address else LOOPBACK_CLIENT


def sign_in(store: Store, username: str, password: str) -> User | None:
    """Check the password (argon2 in the store, behind the shared lockout); on success remember
    the user for this tab and start the server-side session that keeps this browser signed in."""
    try:
        user = store.authenticate_throttled(username.strip(), password, address=client_address())
    except SignInThrottledError as exc:
        raise SignInLockedError(str(exc), exc.wait_s) from None
    if user is None:
        return None
    st.session_state.pop(FORGET_COOKIE_KEY, None)
    st.session_state[USER_KEY] = user.id
    start = store.begin_web_session(user.id)
    st.session_state[WEB_SESSION_KEY] = start.session_id
    st.session_state[HANDOFF_KEY] = (start.code, time.monotonic() + HANDOFF_TTL_S)
    return user


def remember_browser() -> None:
    """Run by the router on every page: after a sign-in, the page script that sets the session
    cookie (for the two minutes its code is good; the code works once); after a sign-out, the one
    that drops it."""
    handoff = st.session_state.get(HANDOFF_KEY)
    if handoff is not None:
        code, until = handoff
        if time.monotonic() < until:
            st.html(web_session.claim_script(code), unsafe_allow_javascript=True)
        else:
            st.session_state.pop(HANDOFF_KEY, None)
    elif st.session_state.get(FORGET_COOKIE_KEY):
        st.html(web_session.forget_script(), unsafe_allow_javascript=True)


def sign_out(store: Store | None = None) -> None:
    """Forget the user and everything else this tab held; end the server-side session (its cookie
    stops working in every tab at once); leave the OIDC session too."""
    session_id = st.session_state.get(WEB_SESSION_KEY)
    if store is not None and session_id is not None:
        store.end_web_session(int(session_id))
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[FORGET_COOKIE_KEY] = True  # a reload must not resolve the old cookie either
    if oidc_email() is not None:
        st.logout()


def require_user(store: Store, *roles: str) -> User:
    """The signed-in user if their role is one of ``roles`` (all roles when empty); else stop."""
    user = current_user(store)
    if user is None:
        deny("Please sign in.")
    if roles and user.role not in roles:
        deny()
    return user


def parse_id(raw: Any) -> int | None:
    """An id from untrusted input: a positive int or a string of digits; anything else is None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if raw > 0 else None
    if isinstance(raw, (list, tuple)):  # repeated query parameter: refuse rather than guess
        return None
    if isinstance(raw, str):
        s = raw.strip()
        if s.isascii() and s.isdigit() and len(s) <= 18:
            value = int(s)
            return value if value > 0 else None
    return None


def require_patient(store: Store, user: User, raw_id: Any) -> int:
    pid = parse_id(raw_id)
    if pid is None or not store.can_view_patient(user, pid):
        deny()
    return pid


def require_session(store: Store, user: User, raw_id: Any) -> int:
    sid = parse_id(raw_id)
    if sid is None or not store.can_view_session(user, sid):
        deny()
    return sid


def require_prescription(store: Store, user: User, raw_id: Any) -> Prescription:
    """A prescription the user may edit (a therapist, for one of their patients)."""
    rid = parse_id(raw_id)
    if rid is None:
        deny()
    try:
        rx = store.get_prescription(rid)
    except NotFoundError:
        deny()
    if not store.can_edit_prescriptions(user, rx.patient_id):
        deny()
    return rx
