"""Patient: today's plan — each prescribed drill, sets × reps, target, and what was done this week."""

import streamlit as st

from dashboard import auth, charts, plan
from dashboard.state import get_store
from dashboard.text import plain
from program import DISCLAIMER
from service.sync import HubStatus

store = get_store()
user = auth.require_user(store, "patient")
st.title(f"Hello, {plain(user.display_name)}")
hub = HubStatus.for_patient(store, user.id)  # on a home hub paired with a clinic: what is waiting to go
if hub is not None:
    st.info(hub.headline(), icon=":material/cloud_upload:")
    if hub.problem():
        st.warning(hub.problem())
items = plan.weekly_plan(store, user.id)
if not items:
    st.header("No exercises prescribed yet.")
    st.write("Your therapist will add your exercises here.")
    st.stop()

st.header("Today's exercises")
for item in items:
    with st.container(border=True):
        st.subheader(charts.drill_label(item.exercise, item.side))
        c = st.columns(3)
        c[0].metric("Sets × reps", f"{item.sets} × {item.reps}")
        c[1].metric("Target", "—" if item.target_rom_deg is None else f"{item.target_rom_deg:.0f}°")
        c[2].metric("Done this week", f"{item.done_this_week} of {item.sessions_per_week}")
        st.progress(min(1.0, item.done_this_week / item.sessions_per_week) if item.sessions_per_week else 0.0)
        if item.stage_title:
            st.markdown(f"**Stage:** {item.stage_title}")
        if item.hold_s:
            st.markdown(f"**Hold at the top:** {item.hold_s:.0f} seconds")
        with st.expander("How to do it", expanded=False):
            for i, line in enumerate(item.instructions, 1):
                st.markdown(f"{i}. {line}")
            if item.emphasis:
                st.info(item.emphasis)
st.page_link("app_pages/patient_live.py", label="Start exercising", icon="▶️")
st.caption(DISCLAIMER)
