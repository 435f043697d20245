"""Patient: the at-home check-up (the article's screening) — three questions the sensors cannot
answer, then a short guided set of each drill (program.SCREENING_PROTOCOL) through the live panel;
the rules combine both, and the result goes to the therapist as a recommendation with its evidence.
Nothing is prescribed here. The check-up lives in the store, so a reload resumes it."""

import streamlit as st

from dashboard import auth, components, live_panel, plan, progress, wording
from dashboard.live_client import LiveServiceError
from dashboard.state import get_live_client, get_store
from program import DISCLAIMER, DRILLS, QUESTIONS, SCREENING_PROTOCOL
from tracker.conventions import DEFAULT_COMPENSATION_THRESHOLD_DEG, SIDES

store = get_store()
user = auth.require_user(store, "patient")
client = get_live_client()
ss = st.session_state
live = live_panel.LiveSet("checkup", client, user.id)
st.title("Check-up")

assessments = store.list_assessments(user.id)
current = next((a for a in assessments if a.status == "in_progress"), None)

if current is None:
    finished = next((a for a in assessments if a.result is not None), None)
    if finished is not None and not ss.get("checkup_again"):
        st.success(f"Thank you. Your check-up of {wording.when(finished.completed_at)} is with your therapist, "
                   "who will tell you which exercises to add.", icon=":material/check_circle:")  # fmt: skip
        st.subheader("What the sensors saw")
        for line in wording.checkup_lines(finished.result or {}):
            st.markdown(f"- {line}")
        if st.button("Do the check-up again", key="checkup_again_button"):
            ss.checkup_again = True
            st.rerun()
        st.stop()
    st.write("Three questions, then a few slow reps of each of the three exercises, with the sensors on. "
             "It takes about five minutes. Your therapist looks at the result.")  # fmt: skip
    answers: dict[str, bool | None] = {}
    for q in QUESTIONS:
        choice = st.radio(q.text, ["Yes", "No"], index=None, horizontal=True, key=f"checkup_q_{q.key}")
        answers[q.key] = None if choice is None else choice == "Yes"
    sides = [i.side for i in plan.weekly_plan(store, user.id, history=components.patient_history(store, user.id)) if i.exercise == "knee_raise"]
    side = sides[0] if sides else st.radio("Which leg do you exercise?", SIDES, index=None, horizontal=True,
                                           key="checkup_side")  # fmt: skip
    if side is not None:
        st.caption(f"The check-up uses your {side} leg.")
    ready = side is not None and all(v is not None for v in answers.values())
    if st.button("Start the check-up", type="primary", key="checkup_start", disabled=not ready, width="stretch"):
        store.start_assessment(user.id, str(side), answers=answers)
        ss.pop("checkup_again", None)
        st.rerun()
    if not ready:
        st.caption("Answer the three questions to start.")
    st.caption(DISCLAIMER)
    st.stop()

done = store.assessment_sessions(current.id)
skipped: set[str] = ss.setdefault(f"checkup_skipped_{current.id}", set())

if live.phase == "done":  # a set of this check-up was stored: it belongs to the check-up, not to training
    sid = auth.require_session(store, user, live.session_id)
    if live.issues:
        store.add_sensor_issues(sid, live.issues)
    store.add_assessment_session(current.id, sid)
    live.reset()
    st.rerun()

remaining = [step for step in SCREENING_PROTOCOL if step.drill not in done and step.drill not in skipped]
st.progress((len(SCREENING_PROTOCOL) - len(remaining)) / len(SCREENING_PROTOCOL),
            text=f"Part {min(len(SCREENING_PROTOCOL), len(SCREENING_PROTOCOL) - len(remaining) + 1)} of {len(SCREENING_PROTOCOL)}")  # fmt: skip

if live.phase == "running":
    live.render_running()
    st.stop()

if live.phase == "failed":
    st.error(f"That part could not be saved: {live.error}.")
    if live.issues:
        live_panel.check_sensors_box(live.issues)
    if st.button("Try again", key="checkup_retry", type="primary", width="stretch"):
        live.reset()
        st.rerun()
    st.stop()

if remaining:
    step = remaining[0]
    drill = DRILLS[step.drill]
    st.header(drill.title.split(" (")[0])
    st.markdown("\n".join(f"{i}. {line}" for i, line in enumerate(step.instructions, 1)))
    if step.drill == "knee_raise":
        st.caption(drill.warning_sign)
    live_panel.placement_help()
    try:
        client.health()
    except LiveServiceError:
        st.error("The sensor service is not running. Start it with `rehab serve` (or `rehab demo`), then reload.")
        st.stop()
    set_plan = live_panel.SetPlan(
        exercise=step.drill, side=current.side, reps=step.reps, target_rom_deg=None, hold_s=None,
        threshold_deg=DEFAULT_COMPENSATION_THRESHOLD_DEG,
    )  # fmt: skip
    c = st.columns(2)
    go = c[0].button("Start", key=f"checkup_go_{step.drill}", type="primary", icon=":material/play_arrow:", width="stretch")
    if go and live.start(set_plan):
        st.rerun()
    if c[1].button("I can't do this one", key=f"checkup_skip_{step.drill}", width="stretch"):
        skipped.add(step.drill)
        st.rerun()
    error = live.start_error()
    if error:
        st.error(f"Could not start: {error}")
    st.stop()

# every part done (or skipped): the rules run, the therapist gets the result
progress.evaluate_assessment(store, current.id)
ss.pop(f"checkup_skipped_{current.id}", None)
st.rerun()
