"""Patient: my progress — how far I move against the target, reps done against prescribed, pain, in
the sets that count; any one of my finished sessions in plain words (the engineering detail is in an
expander for the therapist). ``?session=ID`` is checked like any other input."""

import streamlit as st

from dashboard import auth, components
from dashboard.state import get_store

store = get_store()
user = auth.require_user(store, "patient")
pid = auth.require_patient(store, user, user.id)
st.title("My progress")
history = components.patient_history(store, pid)
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
        components.session_drilldown(store, user, sid, for_patient=True)
