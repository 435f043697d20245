"""Patient: my progress — range of motion per drill against the target, reps vs prescribed, pain;
and any one of my sessions in detail (``?session=ID`` is checked like any other input)."""

import streamlit as st

from dashboard import auth, components
from dashboard.state import get_store

store = get_store()
user = auth.require_user(store, "patient")
pid = auth.require_patient(store, user, user.id)
st.title("My progress")
history = store.patient_history(pid)
components.history_charts(history, with_compensation=False)
older = int((history["engine_version"] != components.ENGINE_VERSION).sum()) if not history.empty else 0
if older:
    st.caption(
        f":material/history: {older} of your sessions {'was' if older == 1 else 'were'} worked out by an earlier "
        "version of the app; their numbers may change a little when updated."
    )
if not history.empty:
    st.header("One session")
    sid = components.session_picker(store, user, pid)
    if sid is not None:
        components.session_drilldown(store, user, sid)
