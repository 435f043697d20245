"""Therapist: every patient at a glance — what waits for a decision (progression steps to accept or
reject in place, assessments to review), then the roster (compact: the key columns fit 1400 px with
the sidebar open; all columns behind a toggle), the ROM-vs-compensation scatter with every point
named on hover, and the alerts (paged). Click a row to open the patient."""

import datetime as dt

import streamlit as st

from dashboard import alerts, auth, charts, components, wording
from dashboard.state import get_store
from dashboard.text import plain

#: Alerts shown before "Show all alerts" (a roster of 500 has hundreds).
ALERTS_SHOWN = 10

store = get_store()
user = auth.require_user(store, "therapist")
st.title("Roster")
today = dt.datetime.now(dt.UTC).date()
roster = store.roster(user.id)
if roster.empty:
    st.info("You have no patients yet. An administrator assigns patients to therapists.")
    st.stop()
names = dict(zip(roster["patient_id"].astype(int), roster["display_name"], strict=True))

# -- waiting for the therapist's decision ------------------------------------------------------------
pending = store.pending_progressions(user.id)
to_review = store.assessments_to_review(user.id)
if pending or to_review:
    st.header(f"Waiting for you ({len(pending) + len(to_review)})")
for d in pending:
    rx = store.get_prescription(d.prescription_id)
    step = wording.step_words(rx.exercise, d)
    with st.container(border=True):
        c = st.columns([5, 1, 1])
        why = next((e["reason"] for e in d.evidence if "reason" in e), d.reason)
        c[0].markdown(f"**{plain(names.get(d.patient_id, d.patient_id))}** — "
                      f"{charts.drill_label(rx.exercise, rx.side)}: {step}")  # fmt: skip
        c[0].caption(f"{why} · suggested {wording.when(d.suggested_at)}")
        components.decision_buttons(store, user, d.id, key="roster_", cols=c[1:])
for a in to_review:
    with st.container(border=True):
        recommended = [r["drill"] for r in (a.result or {}).get("recommendations", []) if r.get("recommended")]
        st.markdown(f"**{plain(names.get(a.patient_id, a.patient_id))}** — assessment of {wording.when(a.completed_at)}: "
                    f"recommends {', '.join(charts.drill_label(x) for x in recommended) or 'nothing new'}")  # fmt: skip
        st.page_link("app_pages/therapist_patient.py", label="Review the assessment",
                     query_params={"patient": str(a.patient_id)}, icon=":material/fact_check:")  # fmt: skip

# -- the roster ----------------------------------------------------------------------------------------
st.header(f"Patients ({len(roster)})")
c = st.columns([3, 2])
no_session_days = c[0].number_input(
    "Alert when a patient has had no session for (days)", min_value=1, max_value=60, value=3, key="alert_days"
)
all_columns = c[1].toggle("Show all columns", value=False, key="roster_all_columns")
found = alerts.roster_alerts(roster, alerts.AlertRules(no_session_days=float(no_session_days)), today=today)
pending_count: dict[int, int] = {}
for d in pending:
    pending_count[d.patient_id] = pending_count.get(d.patient_id, 0) + 1
for a in to_review:
    pending_count[a.patient_id] = pending_count.get(a.patient_id, 0) + 1
table = alerts.roster_table(roster, found, pending=pending_count, today=today)
column_config = {
    "patient_id": None,
    # pixel widths: the compact set fits the 880 px a 1400 px window leaves next to the sidebar
    "patient": st.column_config.TextColumn("Patient", width=155, pinned=True),
    "alerts": st.column_config.NumberColumn("Alerts", width=60),
    "adherence_pct": st.column_config.ProgressColumn("Adherence", format="%.0f%%", min_value=0, max_value=100, width=100),
    "this_week": st.column_config.TextColumn("This week", width=80),
    "latest": st.column_config.TextColumn("Latest drill · stage", width=185),
    "rom_text": st.column_config.TextColumn("ROM / target", width=95),
    "compensation_pct": st.column_config.NumberColumn("Compensated", format="%.0f%%", width=95),
    "latest_pain": st.column_config.NumberColumn("Pain", format="%.0f", width=50),
    "last_session": st.column_config.TextColumn("Last session", width=100),
    "pending": st.column_config.NumberColumn("To decide", width=75),
    "sessions_this_week": st.column_config.NumberColumn("Done"),
    "prescribed_this_week": st.column_config.NumberColumn("Prescribed"),
    "latest_drill": st.column_config.TextColumn("Latest drill"),
    "latest_rom_deg": st.column_config.NumberColumn("ROM (°)", format="%.0f"),
    "target_rom_deg": st.column_config.NumberColumn("Target (°)", format="%.0f"),
    "rom_vs_target_pct": st.column_config.NumberColumn("ROM vs target", format="%.0f%%"),
    "compensation_trend_pct": st.column_config.NumberColumn("Comp. trend", format="%+.0f pts"),
    "days_since_last": st.column_config.NumberColumn("Days since", format="%.1f"),
}
shown = list(table.columns) if all_columns else ["patient_id", *alerts.COMPACT_COLUMNS]
event = st.dataframe(
    table[shown],
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="roster_table",
    column_config={k: v for k, v in column_config.items() if k in shown},
    height=min(600, 38 + 35 * len(table)),
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
    show_all = len(found) > ALERTS_SHOWN and st.toggle(f"Show all {len(found)} alerts", key="alerts_all")
    for a in found.head(len(found) if show_all else ALERTS_SHOWN).itertuples(index=False):
        with st.container(border=True):
            st.markdown(f"**{plain(a.display_name)}** — {a.alert}: {a.detail}")
            st.page_link(
                "app_pages/therapist_patient.py", label="Open patient", query_params={"patient": str(a.patient_id)}
            )
