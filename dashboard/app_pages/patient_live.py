"""Patient: exercise now — pick the drill → Start → sensors check → stand still → the set, live (big
angle and rep count, one Stop button, the warning during the lift, the hold countdown) → what you
did, in plain words → how it felt and your pain (no default) → saved. See dashboard/live_panel.py."""

import streamlit as st

from dashboard import auth, components, live_panel, plan, wording
from dashboard.live_client import LiveServiceError
from dashboard.state import get_live_client, get_store
from program import DIFFICULTIES, DIFFICULTY_WORDS, DRILLS
from tracker.sanity import SensorIssue

store = get_store()
user = auth.require_user(store, "patient")
client = get_live_client()
ss = st.session_state
live = live_panel.LiveSet("live", client, user.id)
ss.setdefault("live_step", "pick")

items = {item.prescription_id: item for item in plan.weekly_plan(store, user.id, history=components.patient_history(store, user.id))}


def set_plan(item: plan.PlanItem) -> live_panel.SetPlan:
    return live_panel.SetPlan(
        exercise=item.exercise, side=item.side, reps=item.reps, target_rom_deg=item.target_rom_deg,
        hold_s=item.hold_s, threshold_deg=item.compensation_threshold_deg, prescription_id=item.prescription_id,
    )  # fmt: skip


def reset() -> None:
    live.reset()
    for key in ("live_step", "live_pain", "live_felt", "live_issues_saved"):
        ss.pop(key, None)


st.title("Exercise now")
if ss.pop("live_new_from_today", False) and live.phase != "running":
    reset()  # Start on Today begins a new set, whatever the last one left on this page
    ss.live_step = "pick"

if live.phase == "running":
    live.render_running()
    st.stop()

if live.phase == "failed":
    st.error(f"The set could not be saved: {live.error}.")
    if live.issues:
        live_panel.check_sensors_box(live.issues)
    else:
        live_panel.placement_help()
    if st.button("Try again", key="live_again", type="primary", width="stretch"):
        reset()
        st.rerun()
    st.stop()

if live.phase == "done" and ss.live_step != "saved":
    sid = auth.require_session(store, user, live.session_id)
    if live.issues and not ss.get("live_issues_saved"):
        store.add_sensor_issues(sid, live.issues)  # what the live checks saw stays with the set
        ss.live_issues_saved = True
    rec = store.get_session(sid)
    item = items.get(rec.prescription_id) if rec.prescription_id is not None else None
    target_reps = item.reps if item else rec.prescribed_reps  # one live set is one set of the prescription
    headline, lines = wording.set_summary(
        exercise=rec.exercise, reps=rec.rep_count, target_reps=target_reps,
        still_reps=rec.rep_count - rec.compensation_count, rom_deg=rec.rom_deg, target_rom_deg=rec.target_rom_deg,
        mean_hold_s=rec.mean_hold_s, hold_target_s=item.hold_s if item else None,
    )  # fmt: skip
    st.header(headline)
    for line in lines:
        st.markdown(f"### {line}")
    if rec.sensor_flagged:
        live_panel.check_sensors_box(tuple(SensorIssue.from_dict(d) for d in rec.sensor_issues))
    st.subheader("How did it feel?")
    felt = st.segmented_control(
        "How did it feel?", list(DIFFICULTIES), format_func=lambda d: DIFFICULTY_WORDS[d], key="live_felt",
        label_visibility="collapsed", width="stretch",
    )  # fmt: skip
    st.subheader("How much pain do you feel now?")
    st.caption("0 = no pain, 10 = the worst pain you can imagine")
    pain = st.segmented_control(
        "Pain now (0–10)", list(range(11)), key="live_pain", label_visibility="collapsed", width="stretch"
    )
    ready = felt is not None and pain is not None
    if st.button("Save", type="primary", key="live_save_pain", disabled=not ready, width="stretch"):
        if pain is None or felt is None:  # the button is disabled until both are chosen
            st.stop()
        sid = auth.require_session(store, user, live.session_id)
        store.set_pain_report(sid, pain_after=int(pain), difficulty=str(felt), reported_by=user.id)
        if rec.prescription_id is not None:
            store.propose_progression(rec.prescription_id)  # for the therapist to accept or reject
        ss.live_step = "saved"
        st.rerun()
    if not ready:
        st.caption("Choose how it felt and your pain, then Save.")
    st.stop()

if ss.live_step == "saved":
    st.success("## Saved. See you next time!")
    st.page_link("app_pages/patient_history.py", label="See my progress", icon=":material/trending_up:")
    if st.button("Do another set", key="live_again", width="stretch"):
        reset()
        st.rerun()
    st.stop()

# -- pick the drill and start --------------------------------------------------------------------
if not items:
    st.header("No exercises prescribed yet.")
    st.stop()
try:
    client.health()
except LiveServiceError:
    st.error("The sensor service is not running. Start it with `rehab serve` (or `rehab demo`), then reload.")
    st.stop()

running = live.running_here()
if running is not None:  # a set of this patient is under way (a reload, another tab): show it, or stop it
    st.warning(f"A set is already running: {DRILLS[running.exercise or 'knee_raise'].title} ({running.side}).")
    match = next((i for i in items.values() if (i.exercise, i.side) == (running.exercise, running.side)), None)
    c = st.columns(2)
    if match is not None and c[0].button("Show it", key="live_attach", type="primary", width="stretch"):
        live.attach(running, set_plan(match))
        st.rerun()
    if c[1].button("Stop it", key="live_stop_other", width="stretch"):
        live.stop()
        st.rerun()
    st.stop()

chosen = st.query_params.get("rx") or ss.get("live_pick_from_today")
ids = list(items)
if chosen is not None and auth.parse_id(chosen) in items and "live_pick" not in ss:
    ss.live_pick = auth.parse_id(chosen)
rx_id = st.radio(
    "Your exercise",
    ids,
    format_func=lambda i: f"{DRILLS[items[i].exercise].title.split(' (')[0]} ({items[i].side}) — {items[i].reps} reps",
    key="live_pick",
)
item = items.get(rx_id)
if item is None:  # a widget value that is not one of this patient's prescriptions
    auth.deny()
if item.exercise == "knee_raise":
    st.caption(DRILLS["knee_raise"].warning_sign)
live_panel.placement_help()
started = st.button("Start", type="primary", key="live_start", icon=":material/play_arrow:", width="stretch")
if started and live.start(set_plan(item)):
    st.rerun()
error = live.start_error()
if error:
    st.error(f"Could not start: {error}")
