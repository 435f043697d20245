"""The dashboard's entry: a router. Which pages exist depends on who is signed in.

Run with ``python -m dashboard.launch`` (or ``rehab demo``), which sets XSRF protection, headless
mode and the store/service environment; see docs/dashboard.md.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import auth
from dashboard.state import get_store
from dashboard.text import plain

HERE = Path(__file__).resolve().parent
PAGES = HERE / "app_pages"


def _page(name: str, title: str, icon: str, url_path: str, *, default: bool = False) -> st.Page:
    return st.Page(PAGES / f"{name}.py", title=title, icon=icon, url_path=url_path, default=default)


def pages_for(role: str | None) -> dict[str, list[st.Page]] | list[st.Page]:
    if role == "patient":
        return [
            _page("patient_today", "Today", ":material/today:", "today", default=True),
            _page("patient_live", "Exercise now", ":material/play_circle:", "live"),
            _page("patient_history", "My progress", ":material/trending_up:", "history"),
            _page("patient_checkup", "Check-up", ":material/checklist:", "checkup"),
        ]
    if role == "therapist":
        return [
            _page("therapist_roster", "Roster", ":material/groups:", "roster", default=True),
            _page("therapist_patient", "Patient detail", ":material/person_search:", "patient"),
            _page("therapist_prescriptions", "Prescriptions", ":material/edit_note:", "prescriptions"),
            _page("therapist_downloads", "Downloads", ":material/download:", "downloads"),
            _page("therapist_devices", "Home hubs", ":material/router:", "hubs"),
        ]
    if role == "admin":
        return [_page("admin_accounts", "Accounts", ":material/manage_accounts:", "accounts", default=True)]
    return [_page("sign_in", "Sign in", ":material/login:", "sign-in", default=True)]


#: A local file: a Material-symbol page icon is fetched by the browser from fonts.gstatic.com, and a
#: health app tells no third party when its pages are opened.
ICON = Path(__file__).resolve().parent / "assets" / "icon.png"
st.set_page_config(page_title="Hip rehab", page_icon=str(ICON), layout="wide")
store = get_store()
user = auth.current_user(store)
if user is not None:
    with st.sidebar:
        st.write(f"Signed in as **{plain(user.display_name)}** ({user.role})")
        if st.button("Sign out", key="sign_out"):
            auth.sign_out(store)
            st.rerun()
auth.remember_browser()
st.navigation(pages_for(user.role if user else None)).run()
