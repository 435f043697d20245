"""Patient: exercise now — pick the drill → sensors check → stand still (countdown) → the set, live
(hip angle vs target, rep count, a clear alert when the lower back rounds or arches) → summary →
pain 0–10 → saved. The live panel polls the ingestion service 4 times a second."""

import math

import pandas as pd
import streamlit as st

from dashboard import auth, charts, plan
from dashboard.live_client import LiveServiceError, LiveState
from dashboard.state import get_live_client, get_store
from program import DRILLS
from tracker.conventions import MIN_CALIBRATION_STAND_S

#: Stand-still time the countdown asks for: the core's minimum plus a margin, seconds.
STAND_STILL_S = MIN_CALIBRATION_STAND_S + 1.0
POLL_S = 0.25
TRACE_KEEP = 1200

store = get_store()
user = auth.require_user(store, "patient")
client = get_live_client()
ss = st.session_state
ss.setdefault("live_phase", "pick")
ss.setdefault("live_trace", [])

st.title("Exercise now")

items = {item.prescription_id: item for item in plan.weekly_plan(store, user.id)}


def reset() -> None:
    for key in ("live_phase", "live_trace", "live_rx", "live_uid", "live_result", "live_session_id", "live_pain"):
        ss.pop(key, None)


if ss.live_phase == "pick":
    if not items:
        st.header("No exercises prescribed yet.")
        st.stop()
    try:
        client.health()
    except LiveServiceError:
        st.error("The sensor service is not running. Start it with `rehab serve` (or `rehab demo`), then reload.")
        st.stop()
    st.header("1. Choose your exercise")
    rx_id = st.radio(
        "Exercise",
        list(items),
        format_func=lambda i: f"{charts.drill_label(items[i].exercise, items[i].side)} — "
        f"{items[i].reps} reps (done {items[i].done_this_week} of {items[i].sessions_per_week} this week)",
        key="live_pick",
    )
    st.info("Put the thigh sensor on the outside of your thigh, a hand's width below the hip bone, and the "
            "other flat over the bottom of your back. The arrow on each sensor points up.")
    if st.button("Check sensors and start", type="primary", key="live_start"):
        item = items.get(rx_id)
        if item is None:  # a widget value that is not one of this patient's prescriptions
            auth.deny()
        try:
            started = client.start_set(
                patient_id=user.id, exercise=item.exercise, side=item.side, target_reps=item.reps,
                threshold_deg=item.compensation_threshold_deg,
            )  # fmt: skip
        except LiveServiceError as exc:
            st.error(f"Could not start: {exc.reason}")
        else:
            ss.live_rx, ss.live_phase, ss.live_trace = rx_id, "running", []
            ss.live_uid = started.get("uid") or (started.get("set") or {}).get("uid")
            st.rerun()
    st.stop()

if ss.live_phase == "running":
    item = items.get(int(ss.get("live_rx") or 0))
    drill = DRILLS.get(item.exercise) if item else None
    tilt_word = "arching" if drill is not None and drill.measures.compensation_tilt == "anterior" else "rounding"
    # shown in the drill's direction: degrees of extension for hip extension, like its target
    sign = charts.drill_sign(item.exercise) if item else 1.0
    angle_label = "Hip extension" if sign < 0 else "Hip angle"

    @st.fragment(run_every=POLL_S)
    def live_panel() -> None:
        try:
            state = LiveState.from_json(client.state())
        except LiveServiceError as exc:
            st.error(f"Lost contact with the sensor service: {exc.reason}")
            return
        if state.patient_id is not None and state.patient_id != str(user.id):
            st.error("Another person's exercise is running on this device.")
            return
        if state.phase == "idle" or (ss.get("live_uid") and state.uid != ss.live_uid):
            st.header("Starting…")
            return
        if state.phase in ("done", "failed"):
            ss.live_result = {"phase": state.phase, "summary": state.summary, "error": state.error}
            ss.live_session_id = state.session_id
            ss.live_phase = "pain" if state.phase == "done" and state.session_id is not None else "failed"
            st.rerun(scope="app")
            return
        if state.phase == "connecting":
            st.header("2. Checking your sensors")
            for s in state.sensors:
                battery = "" if s.battery_percent is None else f" · battery {s.battery_percent:.0f}%"
                status = ":material/check_circle: connected" if s.connected else ":material/hourglass_top: connecting…"
                st.markdown(f"## {s.name.capitalize()} sensor: {status}{battery}")
                if s.low_battery:
                    st.warning(f"The {s.name} sensor's battery is low. Charge it after this set.")
            st.write("Connecting… keep the sensors close to you.")
            return
        if state.phase == "calibrating":
            st.header("3. Stand still")
            remaining = state.calibration_remaining_s
            if remaining is None and state.elapsed_s is not None:
                remaining = max(0.0, STAND_STILL_S - state.elapsed_s)
            st.markdown(f"# {math.ceil(remaining or 0)}")
            st.write("Stand tall and still, feet hip-width apart, arms relaxed.")
            return
        if state.phase == "analysing":
            st.header("Saving your set…")
            return
        angle = None if state.hip_flexion_deg is None else sign * state.hip_flexion_deg
        if state.t_s is not None and angle is not None:
            trace = ss.live_trace
            if not trace or trace[-1][0] < state.t_s:
                trace.append((state.t_s, angle))
                del trace[:-TRACE_KEEP]
        st.header("4. Go!")
        if state.compensating:
            st.error(f"# Your lower back is {tilt_word}. Lift only as high as you can keep it still.", icon=":material/warning:")
        c = st.columns(3)
        c[0].metric(angle_label, "—" if angle is None else f"{angle:.0f}°")
        c[1].metric("Target", "—" if item is None or item.target_rom_deg is None else f"{item.target_rom_deg:.0f}°")
        c[2].metric("Reps", f"{state.rep_count} of {state.target_reps or '—'}")
        trace_df = pd.DataFrame(ss.live_trace, columns=["t_s", "hip_flexion_deg"])
        st.altair_chart(
            charts.live_trace_chart(
                trace_df, target_deg=None if item is None else item.target_rom_deg, angle_title=f"{angle_label} (°)"
            ),
            width="stretch",
        )

    live_panel()
    if st.button("Stop", key="live_stop"):
        try:
            client.stop_set()
        except LiveServiceError as exc:
            st.error(f"Could not stop: {exc.reason}")
    st.stop()

if ss.live_phase == "failed":
    result = ss.get("live_result") or {}
    st.error(f"The set could not be saved: {result.get('error') or 'no result from the sensor service'}.")
    if st.button("Try again", key="live_again"):
        reset()
        st.rerun()
    st.stop()

if ss.live_phase == "pain":
    sid = auth.require_session(store, user, ss.get("live_session_id"))
    rec = store.get_session(sid)
    st.header("5. Well done!")
    c = st.columns(4)
    c[0].metric("Reps", f"{rec.rep_count}")
    c[1].metric("Range of motion", "—" if not math.isfinite(rec.rom_deg) else f"{rec.rom_deg:.0f}°")
    c[2].metric("Back stayed still", f"{rec.rep_count - rec.compensation_count} of {rec.rep_count}")
    c[3].metric("Sensor placement", (rec.calibration_quality or "—").capitalize())
    if rec.calibration_quality == "poor":
        st.warning("The sensors may have been placed badly. Check the arrows point up before the next set.")
    st.header("6. How much pain do you feel now?")
    pain = st.slider("0 = none, 10 = worst imaginable", 0, 10, 0, key="live_pain")
    if st.button("Save", type="primary", key="live_save_pain"):
        sid = auth.require_session(store, user, ss.get("live_session_id"))
        store.set_pain_report(sid, pain_after=int(pain), reported_by=user.id)
        ss.live_phase = "saved"
        st.rerun()
    st.stop()

if ss.live_phase == "saved":
    st.success("## Saved. See you next time!")
    if st.button("Do another set", key="live_again"):
        reset()
        st.rerun()
