"""Sign-in, the signed-in user, and every access check the pages make — in one place.

Clinics with an identity provider can also sign in through Streamlit's OIDC (``st.login``) when
``[auth]`` is configured in Streamlit's secrets (outside the repo): the provider's verified
``email`` must equal an active local account's username, which then decides the role.

The only thing the browser's session keeps is the signed-in user's id, in a non-widget key of
``st.session_state`` (a client cannot set it). Everything else a page receives — query parameters
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

from store import NotFoundError, Prescription, Store, User

USER_KEY = "_rehab_user_id"
FAILURES_KEY = "_rehab_sign_in_failures"
#: After this many failed sign-ins in one browser session, each further try waits LOCKOUT_S.
MAX_FAILURES = 5
LOCKOUT_S = 30.0

ROLES = ("patient", "therapist", "admin")
NO_ACCESS = "This page or record is not available to your account."


class SignInLockedError(Exception):
    """Too many failed sign-ins in this browser session; the message says how long to wait."""


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


def current_user(store: Store) -> User | None:
    """The signed-in user, re-read from the store every run (deactivated accounts drop out)."""
    uid = st.session_state.get(USER_KEY)
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
        sign_out()
        return None
    return user


def sign_in(store: Store, username: str, password: str) -> User | None:
    """Check the password (argon2 in the store); remember the user id in the session on success."""
    failures: list[float] = st.session_state.setdefault(FAILURES_KEY, [])
    if len(failures) >= MAX_FAILURES:
        wait_s = failures[-1] + LOCKOUT_S - time.monotonic()
        if wait_s > 0:
            raise SignInLockedError(f"too many failed sign-ins; try again in {wait_s:.0f} s")
    user = store.authenticate(username.strip(), password)
    if user is None:
        failures.append(time.monotonic())
        return None
    failures.clear()
    st.session_state[USER_KEY] = user.id
    return user


def sign_out() -> None:
    """Forget the user (and everything else this browser session held); leave the OIDC session too."""
    for key in list(st.session_state.keys()):
        if key != FAILURES_KEY:
            del st.session_state[key]
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
