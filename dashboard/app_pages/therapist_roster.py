"""Therapist: every patient at a glance — adherence, ROM vs target, compensation and its trend,
pain — with alerts for the ones to look at first. Click a row to open the patient."""

import datetime as dt

import streamlit as st

from dashboard import alerts, auth, charts
from dashboard.state import get_store
from dashboard.text import plain

store = get_store()
user = auth.require_user(store, "therapist")
st.title("Roster")
no_session_days = st.number_input(
    "Alert when a patient has had no session for (days)", min_value=1, max_value=60, value=3, key="alert_days"
)
roster = store.roster(user.id)
if roster.empty:
    st.info("You have no patients yet. An administrator assigns patients to therapists.")
    st.stop()
found = alerts.roster_alerts(
    roster, alerts.AlertRules(no_session_days=float(no_session_days)), today=dt.datetime.now(dt.UTC).date()
)
table = alerts.roster_table(roster, found)

event = st.dataframe(
    table,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="roster_table",
    column_config={
        "patient_id": None,
        "patient": st.column_config.TextColumn("Patient"),
        "alerts": st.column_config.NumberColumn("Alerts"),
        "adherence_pct": st.column_config.ProgressColumn("Adherence", format="%.0f%%", min_value=0, max_value=100),
        "sessions_this_week": st.column_config.NumberColumn("Done"),
        "prescribed_this_week": st.column_config.NumberColumn("Prescribed"),
        "latest_drill": st.column_config.TextColumn("Latest drill"),
        "latest_rom_deg": st.column_config.NumberColumn("ROM (°)", format="%.0f"),
        "target_rom_deg": st.column_config.NumberColumn("Target (°)", format="%.0f"),
        "rom_vs_target_pct": st.column_config.NumberColumn("ROM vs target", format="%.0f%%"),
        "compensation_pct": st.column_config.NumberColumn("Compensated", format="%.0f%%"),
        "compensation_trend_pct": st.column_config.NumberColumn("Comp. trend", format="%+.0f pts"),
        "latest_pain": st.column_config.NumberColumn("Pain", format="%.0f"),
        "days_since_last": st.column_config.NumberColumn("Days since", format="%.1f"),
    },
)

rows = event.selection.rows if event is not None else []
if rows:
    pid = auth.require_patient(store, user, int(table.iloc[rows[0]]["patient_id"]))
    st.switch_page("app_pages/therapist_patient.py", query_params={"patient": str(pid)})

chart_col, alerts_col = st.columns(2)
chart_col.altair_chart(charts.roster_overview_chart(table), width="stretch")
with alerts_col:
    st.header(f"Alerts ({len(found)})")
    if found.empty:
        st.success("No alerts.")
    for a in found.itertuples(index=False):
        with st.container(border=True):
            st.markdown(f"**{plain(a.display_name)}** — {a.alert}: {a.detail}")
            st.page_link(
                "app_pages/therapist_patient.py", label="Open patient", query_params={"patient": str(a.patient_id)}
            )
