"""Therapist: every export as a download — a patient's whole history and one session's CSVs."""

import streamlit as st

from dashboard import auth, components
from dashboard.state import get_store

store = get_store()
user = auth.require_user(store, "therapist")
st.title("Downloads")
pid = components.patient_picker(store, user)
if pid is None:
    st.stop()
st.header("Patient history")
components.patient_downloads(store, user, pid)
st.header("One session")
sid = components.session_picker(store, user, pid)
if sid is None:
    st.info("No sessions yet.")
else:
    components.session_downloads(store, user, sid)
st.caption("CSV files: units in the column names, times in UTC; text cells are made safe for spreadsheets.")
