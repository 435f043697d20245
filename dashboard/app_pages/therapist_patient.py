"""Therapist: one patient — trends per drill; the sessions (curves with reps marked and compensated
reps shaded, rep table, calibration; sets still recording are listed, not opened); the program:
pending progression steps with their evidence (Accept / Reject), the at-home assessment's
recommendations with their evidence and the article's sentence (Confirm / Reject), and the
article's order with the therapist's N weeks before mobility drills."""

import pandas as pd
import streamlit as st

from dashboard import auth, charts, components, progress, wording
from dashboard.state import get_store
from program import DRILLS, QUESTIONS

store = get_store()
user = auth.require_user(store, "therapist")
st.title("Patient detail")
pid = components.patient_picker(store, user)
if pid is None:
    st.stop()
history = components.patient_history(store, pid)
trends, sessions, program = st.tabs(["Trends", "Sessions", "Program"])
with trends:
    components.history_charts(history)
with sessions:
    sid = components.session_picker(store, user, pid)
    if sid is None:
        st.info("No finished sessions yet.")
    else:
        components.session_drilldown(store, user, sid)
        components.session_downloads(store, user, sid)
    st.subheader("All sessions")
    components.session_table(history)


def evidence_table(evidence: list[dict], key: str) -> None:
    rows = [e for e in evidence if "started_at" in e]
    if not rows:
        return
    st.dataframe(
        pd.DataFrame(
            {
                "session": [wording.when(e["started_at"]) for e in rows],
                "reps": [f"{e['rep_count']} of {e['required_reps']}" for e in rows],
                "ROM": [f"{e['rom_deg']:.0f}° (≥ {e['required_rom_deg']:.0f}°)" for e in rows],
                "compensated": [f"{e['compensation_rate']:.0%} (≤ {e['max_compensation_rate']:.0%})" for e in rows],
                "felt": [wording.difficulty_words(e.get("difficulty")) for e in rows],
                "met": ["yes" if e["passed"] else "no" for e in rows],
            }
        ),
        hide_index=True,
        key=key,
    )


with program:
    st.subheader("Progression")
    pending = {d.prescription_id: d for d in store.list_progression_decisions(pid, status="pending")}
    prescriptions = store.list_prescriptions(pid)
    if not prescriptions:
        st.info("No active prescription. Add one on the Prescriptions page.")
    for rx in prescriptions:
        with st.container(border=True):
            stage = wording.stage_words(rx.exercise, rx.stage)
            st.markdown(f"**{charts.drill_label(rx.exercise, rx.side)}** — {stage} · target {wording.deg(rx.target_rom_deg)}")
            decision = pending.get(rx.id)
            if decision is not None:
                step = wording.step_words(rx.exercise, decision)
                st.success(f"Suggested {wording.when(decision.suggested_at)}: move {step}.", icon=":material/trending_up:")
                for e in decision.evidence:
                    if "reason" in e:
                        st.markdown(f"- {e['reason']}")
                evidence_table(decision.evidence, key=f"evidence_{decision.id}")
                components.decision_buttons(store, user, decision.id, key="", cols=st.columns(2))
            else:
                result = progress.check_progression(history, rx)
                st.caption("No step suggested now: " + "; ".join(result.reasons))

    st.subheader("At-home assessment")
    view = progress.mobility_check(store, pid, history=history)
    if view.assessment is None or view.screening is None:
        st.info("No assessment yet. The patient finds the check-up on their Today page.")
    else:
        a, screening = view.assessment, view.screening
        st.caption(f"Done {wording.when(a.completed_at)} on the {a.side} side · {a.status}")
        answers = screening.answers.to_dict()
        st.markdown("  \n".join(f"{q.text} **{wording.yes_no(answers.get(q.key))}**" for q in QUESTIONS))
        for rec in screening.recommendations:
            drill = DRILLS[rec.drill]
            with st.container(border=True):
                verdict = "Recommended" if rec.recommended else "Not recommended"
                st.markdown(f"**{drill.title}** — {verdict} · {rec.status}")
                st.caption(f"The article: “{rec.article}”")
                for reason in rec.reasons:
                    st.markdown(f"- {reason}")
                if rec.evidence:
                    st.dataframe(
                        pd.DataFrame(
                            {
                                "sign": [e.sign for e in rec.evidence],
                                "measured": [e.value for e in rec.evidence],
                                "threshold": [e.threshold for e in rec.evidence],
                                "points to it": ["yes" if e.met else "no" for e in rec.evidence],
                                "from": [e.source for e in rec.evidence],
                            }
                        ),
                        hide_index=True,
                        key=f"assessment_{a.id}_{rec.drill}",
                    )
                if rec.status == "pending":
                    c = st.columns(2)
                    label = "Confirm and prescribe" if rec.recommended and drill.kind != "strengthening" else "Confirm"
                    if c[0].button(label, key=f"confirm_{a.id}_{rec.drill}", type="primary", width="stretch"):
                        progress.confirm_recommendation(store, user, a.id, rec.drill, confirm=True)
                        st.rerun()
                    if c[1].button("Reject", key=f"reject_rec_{a.id}_{rec.drill}", width="stretch"):
                        progress.confirm_recommendation(store, user, a.id, rec.drill, confirm=False)
                        st.rerun()
        for note in screening.notes:
            st.caption(note)
        st.caption(screening.disclaimer)

    st.subheader("The article's order")
    weeks = st.number_input(
        "Weeks of strengthening before mobility drills are suggested", min_value=0, max_value=52,
        value=store.mobility_after_weeks(pid), key=f"mobility_weeks_{pid}",
    )  # fmt: skip
    if int(weeks) != store.mobility_after_weeks(pid):
        checked = auth.require_patient(store, user, pid)
        if not store.can_edit_prescriptions(user, checked):
            auth.deny()
        store.set_mobility_after_weeks(checked, int(weeks), updated_by=user.id)
        view = progress.mobility_check(store, pid, history=history)
    for reason in view.check.reasons:
        st.markdown(f"- {reason}")

    decisions = store.list_progression_decisions(pid)
    decided = [d for d in decisions if d.status != "pending"]
    if decided:
        st.subheader("Past decisions")
        by_rx = {rx.id: rx for rx in store.list_prescriptions(pid, active_only=False)}
        st.dataframe(
            [
                {
                    "drill": charts.drill_label(by_rx[d.prescription_id].exercise) if d.prescription_id in by_rx else "—",
                    "from": wording.stage_words(by_rx[d.prescription_id].exercise, d.from_stage) if d.prescription_id in by_rx else d.from_stage,
                    "to": wording.stage_words(by_rx[d.prescription_id].exercise, d.to_stage) if d.prescription_id in by_rx else d.to_stage,
                    "status": d.status,
                    "suggested": wording.when(d.suggested_at),
                    "decided": wording.when(d.decided_at),
                }
                for d in decided
            ],
            hide_index=True,
            key="decisions",
        )
