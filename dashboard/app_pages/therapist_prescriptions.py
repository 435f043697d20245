"""Therapist: the prescription editor — drill, side, sets, reps, target ROM, compensation threshold,
progression stage, sessions per week, hold; add, change, retire."""

from functools import partial

import streamlit as st

from dashboard import auth, charts, components, wording
from dashboard.state import get_store
from program import DRILLS
from store import StoreError
from tracker.conventions import EXERCISES, SIDES

store = get_store()
user = auth.require_user(store, "therapist")
st.title("Prescriptions")
pid = components.patient_picker(store, user)
if pid is None:
    st.stop()


def stage_keys(exercise: str) -> list[str]:
    return [s.key for s in DRILLS[exercise].stages]


for rx in store.list_prescriptions(pid):
    with st.form(f"rx_{rx.id}"):
        st.subheader(charts.drill_label(rx.exercise, rx.side))
        c = st.columns(4)
        side = c[0].selectbox("Side", SIDES, index=SIDES.index(rx.side), key=f"rx_{rx.id}_side")
        sets = c[1].number_input("Sets", 1, 20, rx.sets, key=f"rx_{rx.id}_sets")
        reps = c[2].number_input("Reps per set", 1, 100, rx.reps, key=f"rx_{rx.id}_reps")
        per_week = c[3].number_input("Sessions per week", 0, 21, rx.sessions_per_week, key=f"rx_{rx.id}_week")
        c = st.columns(4)
        target = c[0].number_input(
            "Target ROM (°)", 0.0, 180.0, float(rx.target_rom_deg or DRILLS[rx.exercise].default.target_rom_deg),
            key=f"rx_{rx.id}_target",
        )
        threshold = c[1].number_input(
            "Compensation threshold (°)", 1.0, 45.0, float(rx.compensation_threshold_deg), key=f"rx_{rx.id}_thr"
        )
        stages = stage_keys(rx.exercise)
        stage = c[2].selectbox(
            "Stage", stages, index=stages.index(rx.stage) if rx.stage in stages else 0, key=f"rx_{rx.id}_stage",
            format_func=partial(wording.stage_words, rx.exercise),
        )
        hold = c[3].number_input("Hold (s)", 0.0, 60.0, float(rx.hold_target_s or 0.0), key=f"rx_{rx.id}_hold")
        active = st.checkbox("Active", value=rx.active, key=f"rx_{rx.id}_active")
        if st.form_submit_button("Save"):
            checked = auth.require_prescription(store, user, rx.id)
            try:
                store.update_prescription(
                    checked.id, side=side, sets=int(sets), reps=int(reps), sessions_per_week=int(per_week),
                    target_rom_deg=float(target), compensation_threshold_deg=float(threshold), stage=stage,
                    hold_target_s=float(hold) or None, active=bool(active),
                )  # fmt: skip
            except StoreError as exc:
                st.error(str(exc))
            else:
                st.success("Saved.")

st.header("Add a drill")
exercise = st.selectbox("Drill", EXERCISES, format_func=charts.drill_label, key="new_rx_exercise")
default = DRILLS[exercise].default
with st.form("new_rx"):
    c = st.columns(4)
    side = c[0].selectbox("Side", SIDES, key="new_rx_side")
    sets = c[1].number_input("Sets", 1, 20, default.sets, key="new_rx_sets")
    reps = c[2].number_input("Reps per set", 1, 100, default.reps, key="new_rx_reps")
    per_week = c[3].number_input("Sessions per week", 0, 21, 5, key="new_rx_week")
    c = st.columns(4)
    target = c[0].number_input("Target ROM (°)", 0.0, 180.0, float(default.target_rom_deg), key="new_rx_target")
    threshold = c[1].number_input(
        "Compensation threshold (°)", 1.0, 45.0, float(default.compensation_threshold_deg), key="new_rx_thr"
    )
    stages = stage_keys(exercise)
    stage = c[2].selectbox("Stage", stages, index=stages.index(default.stage), key="new_rx_stage",
                           format_func=partial(wording.stage_words, exercise))  # fmt: skip
    hold = c[3].number_input("Hold (s)", 0.0, 60.0, float(default.hold_s), key="new_rx_hold")
    if st.form_submit_button("Add", type="primary"):
        checked_pid = auth.require_patient(store, user, pid)
        if not store.can_edit_prescriptions(user, checked_pid):
            auth.deny()
        try:
            store.add_prescription(
                checked_pid, exercise, side, sets=int(sets), reps=int(reps), sessions_per_week=int(per_week),
                target_rom_deg=float(target), compensation_threshold_deg=float(threshold), stage=stage,
                hold_target_s=float(hold) or None, created_by=user.id,
            )  # fmt: skip
        except StoreError as exc:
            st.error(str(exc))
        else:
            st.rerun()
