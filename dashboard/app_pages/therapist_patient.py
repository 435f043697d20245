"""Therapist: one patient — trends per drill, the session list, a session drill-down (curves with
reps marked and compensated reps shaded, rep table, calibration quality), progression decisions."""

import streamlit as st

from dashboard import auth, charts, components, progress
from dashboard.state import get_store

store = get_store()
user = auth.require_user(store, "therapist")
st.title("Patient detail")
pid = components.patient_picker(store, user)
if pid is None:
    st.stop()
history = store.patient_history(pid)
trends, sessions, progression = st.tabs(["Trends", "Sessions", "Progression"])
with trends:
    components.history_charts(history)
with sessions:
    sid = components.session_picker(store, user, pid)
    if sid is None:
        st.info("No sessions yet.")
    else:
        components.session_drilldown(store, user, sid)
        components.session_downloads(store, user, sid)
        st.subheader("All sessions")
        components.session_table(history)
with progression:
    prescriptions = store.list_prescriptions(pid)
    if not prescriptions:
        st.info("No active prescription. Add one on the Prescriptions page.")
    for rx in prescriptions:
        with st.container(border=True):
            st.subheader(charts.drill_label(rx.exercise, rx.side) + f" — stage {rx.stage or 'default'}")
            result = progress.check_progression(history, rx)
            for reason in result.reasons:
                st.markdown(f"- {reason}")
            suggestion = result.suggestion
            if suggestion is None:
                st.info("No progression suggested yet.")
                continue
            st.success(f"Suggested: {suggestion.summary}")
            accept_col, reject_col = st.columns(2)
            if accept_col.button("Accept", key=f"accept_{rx.id}", type="primary"):
                checked = auth.require_prescription(store, user, rx.id)
                progress.decide(store, user, checked, suggestion, accept=True)
                st.rerun()
            if reject_col.button("Reject", key=f"reject_{rx.id}"):
                checked = auth.require_prescription(store, user, rx.id)
                progress.decide(store, user, checked, suggestion, accept=False)
                st.rerun()
    decisions = store.list_progression_decisions(pid)
    if decisions:
        st.subheader("Decisions")
        st.dataframe(
            [
                {
                    "prescription": d.prescription_id,
                    "from": d.from_stage,
                    "to": d.to_stage,
                    "status": d.status,
                    "reason": d.reason,
                    "decided_at": d.decided_at,
                }
                for d in decisions
            ],
            hide_index=True,
            key="decisions",
        )
