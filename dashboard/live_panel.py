"""One live set on a phone: start → sensors check → stand still → the set → stored — shared by the
"Exercise now" and the "Check-up" pages.

The page shows big numbers (the hip angle in the drill's direction and the rep count), one big Stop
button above them that stays on screen in every phase, a compact warning *during* the lift when the
pelvis tilts past the threshold (the service's ``LiftWatch``; cleared on a clean rep), a hold
countdown when a hold is prescribed, short holds flagged after the rep, and "check your sensors"
with the placement picture when a sanity check fails (the set goes on; it is kept but marked).
No chart: a progress bar to the target says the same with nothing to fiddle with.

State lives in ``st.session_state`` under one prefix per page, so a reload, a retry or a second page
never starts a second set: starts carry a request id (idempotent in the service), and a set already
running for this patient is shown (and can be stopped) instead of refused.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard import wording
from dashboard.live_client import (
    LiveClient,
    LiveServiceError,
    LiveState,
    _num,  # the snapshot's one number reader
)
from program import DRILLS
from tracker.conventions import MIN_CALIBRATION_STAND_S
from tracker.sanity import SensorIssue

#: Stand-still time the countdown asks for: the core's minimum plus a margin, seconds.
STAND_STILL_S = MIN_CALIBRATION_STAND_S + 1.0
POLL_S = 0.25
PLACEMENT_SVG = Path(__file__).resolve().parent / "assets" / "sensor-placement.svg"
#: Phases in which a set is under way in the service (start refused, Stop offered).
RUNNING = ("connecting", "calibrating", "recording", "analysing")


@dataclass(frozen=True, slots=True)
class SetPlan:
    """What the set is: the drill, the side, the targets (from a prescription or the assessment)."""

    exercise: str
    side: str
    reps: int | None
    target_rom_deg: float | None
    hold_s: float | None
    threshold_deg: float
    prescription_id: int | None = None


@dataclass(frozen=True, slots=True)
class LiveExtras:
    """The parts of ``GET /state``'s ``live`` object the phone shows (service/live_view.py)."""

    lifting: bool
    compensating_now: bool
    tilt_change_deg: float | None
    hold_s: float | None
    last_rep_hold_s: float | None
    issues: tuple[SensorIssue, ...]

    @classmethod
    def from_snapshot(cls, snap: dict[str, Any]) -> LiveExtras:
        live = snap.get("live") or {}
        issues = []
        for d in live.get("sanity") or ():
            try:
                issues.append(SensorIssue.from_dict(d))
            except ValueError:
                continue  # a newer service's issue code: its message is still shown below
        cal = live.get("calibration") or {}
        if cal.get("error") and not issues:
            from tracker.sanity import from_calibration_error

            issues.append(from_calibration_error(str(cal["error"])))
        last = live.get("last_rep") or {}
        return cls(
            lifting=bool(live.get("lifting")),
            compensating_now=bool(live.get("compensating_now")),
            tilt_change_deg=_num(live.get("tilt_change_deg")),
            hold_s=_num(live.get("hold_s")),
            last_rep_hold_s=_num(last.get("hold_s")),
            issues=tuple(issues),
        )


def placement_help(*, expanded: bool = False) -> None:
    """Where the sensors go: the picture and the same in words (README "Wearing the sensors")."""
    with st.expander("Where do the sensors go?", expanded=expanded):
        st.image(PLACEMENT_SVG.read_text(), width=300)
        st.markdown(
            "- **Thigh sensor**: on the outside of the leg you exercise, a hand's width below the bony point of the hip.\n"
            "- **Back sensor**: flat on the bone at the base of your spine.\n"
            "- **The arrow on each sensor points up**, toward your head."
        )


def check_sensors_box(issues: tuple[SensorIssue, ...]) -> None:
    """The "check your sensors" message with the picture (the set is kept but marked)."""
    with st.container(border=True):
        st.warning("**Check your sensors.** " + " ".join(dict.fromkeys(i.message for i in issues)),
                   icon=":material/sensors:")  # fmt: skip
        st.image(PLACEMENT_SVG.read_text(), width=260)
        st.caption("This set is kept for your therapist but is not counted in your charts.")


class LiveSet:
    """A live set's controller, its state kept under ``key`` in the session (one per page)."""

    def __init__(self, key: str, client: LiveClient, patient_id: int) -> None:
        self.key = key
        self.client = client
        self.patient_id = patient_id
        self.ss = st.session_state

    def _k(self, name: str) -> str:
        return f"{self.key}_{name}"

    @property
    def phase(self) -> str:
        """"idle" (nothing started here), "running", "done" (stored), "failed"."""
        return str(self.ss.get(self._k("phase"), "idle"))

    @property
    def session_id(self) -> int | None:
        return self.ss.get(self._k("session_id"))

    @property
    def error(self) -> str:
        return str(self.ss.get(self._k("error")) or "")

    @property
    def issues(self) -> tuple[SensorIssue, ...]:
        return tuple(self.ss.get(self._k("issues")) or ())

    @property
    def plan(self) -> SetPlan | None:
        return self.ss.get(self._k("plan"))

    def reset(self) -> None:
        for name in ("phase", "uid", "plan", "session_id", "error", "issues", "request_id", "start_error"):
            self.ss.pop(self._k(name), None)

    # -- start ---------------------------------------------------------------------------------
    def running_here(self) -> LiveState | None:
        """The set the service is running for this patient, if any (a reload, another tab)."""
        try:
            state = LiveState.from_json(self.client.state())
        except LiveServiceError:
            return None
        if state.phase in RUNNING and state.patient_id == str(self.patient_id):
            return state
        return None

    def attach(self, state: LiveState, plan: SetPlan) -> None:
        self.ss[self._k("phase")], self.ss[self._k("uid")], self.ss[self._k("plan")] = "running", state.uid, plan

    def start(self, plan: SetPlan) -> bool:
        """Ask the service for the set (idempotent: one request id per click); True when running."""
        request_id = self.ss.setdefault(self._k("request_id"), uuid.uuid4().hex)
        try:
            started = self.client.start_set(
                patient_id=self.patient_id, exercise=plan.exercise, side=plan.side, target_reps=plan.reps,
                threshold_deg=plan.threshold_deg, request_id=request_id,
            )  # fmt: skip
        except LiveServiceError as exc:
            running = self.running_here()
            if running is not None and (running.exercise, running.side) == (plan.exercise, plan.side):
                self.attach(running, plan)  # our start went through after all
                return True
            self.ss[self._k("start_error")] = exc.reason
            self.ss.pop(self._k("request_id"), None)
            return False
        self.ss[self._k("phase")], self.ss[self._k("plan")] = "running", plan
        self.ss[self._k("uid")] = started.get("uid") or (started.get("set") or {}).get("uid")
        self.ss.pop(self._k("start_error"), None)
        return True

    def start_error(self) -> str | None:
        return self.ss.get(self._k("start_error"))

    def stop(self) -> None:
        try:
            self.client.stop_set()
        except LiveServiceError as exc:
            if exc.status != 409:  # 409: nothing running any more — the poll will show the result
                st.error(f"Could not stop: {exc.reason}")

    # -- the running set -------------------------------------------------------------------------
    def render_running(self) -> None:
        """The Stop button (always on screen, above the numbers) and the live panel."""
        plan = self.plan
        if plan is None:
            self.reset()
            st.rerun()
        if st.button("Stop", key=self._k("stop"), type="primary", icon=":material/stop_circle:", width="stretch"):
            self.stop()
        self._panel(plan)

    def _finish(self, state: LiveState, extras: LiveExtras) -> None:
        self.ss[self._k("issues")] = extras.issues
        if state.phase == "done" and state.session_id is not None:
            self.ss[self._k("phase")], self.ss[self._k("session_id")] = "done", state.session_id
        else:
            self.ss[self._k("phase")] = "failed"
            self.ss[self._k("error")] = state.error or "no result from the sensor service"
        st.rerun(scope="app")

    def _panel(self, plan: SetPlan) -> None:
        drill = DRILLS[plan.exercise]
        sign = float(drill.measures.motion.direction)
        tilt_word = "arching" if drill.measures.compensation_tilt == "anterior" else "rounding"
        uid = self.ss.get(self._k("uid"))

        @st.fragment(run_every=POLL_S)
        def panel() -> None:
            try:
                snap = self.client.state()
            except LiveServiceError as exc:
                st.error(f"Lost contact with the sensor service: {exc.reason}")
                return
            state = LiveState.from_json(snap)
            extras = LiveExtras.from_snapshot(snap)
            if state.patient_id is not None and state.patient_id != str(self.patient_id):
                st.error("Another person's exercise is running on this device.")
                return
            if state.phase == "idle" or (uid and state.uid != uid):
                st.subheader("Starting…")
                return
            if state.phase in ("done", "failed"):
                self._finish(state, extras)
                return
            if extras.issues:
                check_sensors_box(extras.issues)
            if state.phase == "connecting":
                st.subheader("Checking your sensors")
                for s in state.sensors:
                    battery = "" if s.battery_percent is None else f" · battery {s.battery_percent:.0f}%"
                    status = ":material/check_circle: connected" if s.connected else ":material/hourglass_top: connecting…"
                    st.markdown(f"**{s.name.capitalize()} sensor**: {status}{battery}")
                    if s.low_battery:
                        st.warning(f"The {s.name} sensor's battery is low. Charge it after this set.")
                st.caption("Keep the sensors close to you.")
                return
            if state.phase == "calibrating":
                st.subheader("Stand still")
                remaining = state.calibration_remaining_s
                if remaining is None and state.elapsed_s is not None:
                    remaining = max(0.0, STAND_STILL_S - state.elapsed_s)
                st.title(f"{math.ceil(remaining or 0)}", anchor=False)
                st.caption("Stand tall and still, feet hip-width apart, arms relaxed.")
                return
            if state.phase == "analysing":
                st.subheader("Saving your set…")
                return
            self._numbers(plan, state, extras, sign, tilt_word)

        panel()

    def _numbers(self, plan: SetPlan, state: LiveState, extras: LiveExtras, sign: float, tilt_word: str) -> None:
        if extras.compensating_now:
            st.warning(f"Lower back {tilt_word} — lift only as high as it stays still.", icon=":material/warning:")
        angle = None if state.hip_flexion_deg is None else sign * state.hip_flexion_deg
        c = st.columns(2)
        with c[0]:
            st.caption(f"{wording.angle_name(plan.exercise)} · target {wording.deg(plan.target_rom_deg)}")
            st.title(wording.deg(angle), anchor=False)
        with c[1]:
            st.caption("Reps")
            st.title(f"{state.rep_count} of {state.target_reps or plan.reps or '—'}", anchor=False)
        if plan.target_rom_deg and angle is not None:
            st.progress(max(0.0, min(1.0, angle / plan.target_rom_deg)))
        where = DRILLS[plan.exercise].hold_where
        if plan.hold_s and extras.hold_s is not None and extras.lifting:
            left = max(0.0, plan.hold_s - extras.hold_s)
            st.header(f"Hold {where}… {math.ceil(left)}" if left > 0 else "Good hold. Now lower slowly.", anchor=False)
        else:
            note = wording.hold_note(extras.last_rep_hold_s, plan.hold_s, where)
            if note and state.rep_count:
                st.info(note, icon=":material/timer:")
