"""Patient: today's plan — each prescribed drill, sets × reps, the target explained, the hold, the
stage in the patient's words (a new stage the therapist just accepted is announced), the steps once,
the warning sign, and a real Start button; the at-home check-up when there is none yet."""

import datetime as dt

import streamlit as st

from dashboard import auth, components, plan, wording
from dashboard.state import get_store
from dashboard.text import plain
from program import DISCLAIMER, DRILLS
from service.sync import HubStatus

#: A stage change is announced on Today for this long after the therapist accepted it.
NEW_STAGE_DAYS = 14

store = get_store()
user = auth.require_user(store, "patient")
st.title(f"Hello, {plain(user.display_name)}")
hub = HubStatus.for_patient(store, user.id)  # on a home hub paired with a clinic: what is waiting to go
if hub is not None:
    st.info(hub.headline(), icon=":material/cloud_upload:")
    if hub.problem():
        st.warning(hub.problem())
items = plan.weekly_plan(store, user.id, history=components.patient_history(store, user.id))
if not items:
    st.header("No exercises prescribed yet.")
    st.write("Your therapist will add your exercises here.")
    st.stop()

now = dt.datetime.now(dt.UTC)
st.header("Today's exercises")
for item in items:
    drill = DRILLS[item.exercise]
    with st.container(border=True):
        st.subheader(f"{drill.title.split(' (')[0]} ({item.side} leg)")
        if item.stage_since is not None and (now - item.stage_since).days < NEW_STAGE_DAYS:
            st.success(f"New: your therapist moved you on to **{item.stage_title}**.", icon=":material/celebration:")
        elif item.stage_title and len(drill.stages) > 1:
            st.markdown(f"**Stage:** {item.stage_title}")
        c = st.columns(3)
        c[0].metric("Sets × reps", f"{item.sets} × {item.reps}")
        c[1].metric("Target", wording.deg(item.target_rom_deg), help=wording.target_explained(item.exercise))
        c[2].metric("Done this week", f"{item.done_this_week} of {item.sessions_per_week}")
        st.caption(f"Target: {wording.target_explained(item.exercise)}")
        if item.hold_s:
            st.markdown(f"**Hold {item.hold_where}:** {item.hold_s:.0f} seconds")
        with st.expander("How to do it", expanded=False):
            st.markdown("\n".join(f"{i}. {line}" for i, line in enumerate(item.instructions, 1)))
            if item.emphasis:
                st.info(item.emphasis)
            if item.warning_sign:
                st.warning(item.warning_sign, icon=":material/warning:")
        if st.button("Start", key=f"today_start_{item.prescription_id}", type="primary",
                     icon=":material/play_arrow:", width="stretch"):  # fmt: skip
            st.session_state["live_pick_from_today"] = item.prescription_id
            st.session_state["live_new_from_today"] = True
            st.session_state.pop("live_pick", None)
            st.switch_page("app_pages/patient_live.py", query_params={"rx": str(item.prescription_id)})

assessments = store.list_assessments(user.id)
if not any(a.status != "in_progress" for a in assessments):
    with st.container(border=True):
        st.subheader("Your check-up")
        st.write("A short check at home: three questions and a few reps of each exercise. "
                 "Your therapist uses it to choose your next exercises.")  # fmt: skip
        st.page_link("app_pages/patient_checkup.py", label="Do the check-up", icon=":material/checklist:")
st.caption(DISCLAIMER)
