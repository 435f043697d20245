"""UI pieces more than one page shows: history charts, the session picker and drill-down, downloads.

Every function that takes an id re-checks access through ``dashboard.auth`` before reading, so a
piece is safe wherever a page puts it.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import auth, charts, wording
from store import SessionRecord, Store, User, exporting
from store.progression import trend_rows
from tracker import ENGINE_VERSION
from tracker.results import LOW_CONFIDENCE_BELOW

SESSION_PARAM = "session"
PATIENT_PARAM = "patient"

REP_TABLE_COLUMNS = {
    "rep": "Rep",
    "set": "Set",
    "peak_hip_flexion_deg": "Peak hip (°)",
    "range_deg": "Range (°)",
    "hold_s": "Hold (s)",
    "duration_s": "Duration (s)",
    "partial": "Partial",
    "compensation": "Compensated",
    "compensation_deg": "Tilt change (°)",
    "compensation_onset_hip_deg": "Onset at hip (°)",
    "confidence_text": "Confidence",
}


def fmt_deg(v: float | None) -> str:
    return "—" if v is None or not math.isfinite(float(v)) else f"{float(v):.0f}°"


def fmt_pct(v: float | None) -> str:
    return "—" if v is None or not math.isfinite(float(v)) else f"{100 * float(v):.0f}%"


def confidence_text(confidence: float, reason: str) -> str:
    """A rep's confidence as the rep table shows it: low ones say so, with the engine's reason."""
    if not math.isfinite(confidence):
        return "—"  # not assessed (an analysis from before reps were rated)
    if confidence < LOW_CONFIDENCE_BELOW:
        return f"low ({confidence:.2f})" + (f": {reason}" if reason else "")
    return f"{confidence:.2f}"


def engine_note(engine_version: str | None, *, for_patient: bool) -> str | None:
    """One line when stored numbers come from an older processing engine, else None."""
    if engine_version == ENGINE_VERSION:
        return None
    if for_patient:
        return "Worked out by an earlier version of the app; these numbers may change a little when updated."
    made_by = f"engine {engine_version}" if engine_version else "an engine from before versions were recorded"
    return f"Numbers from an older analysis ({made_by}; current {ENGINE_VERSION}); `rehab reanalyze` updates them."


def session_label(rec: SessionRecord) -> str:
    marks = " · check-up" if rec.assessment_id is not None else ""
    marks += " · ⚠ check sensors" if rec.sensor_flagged else ""
    return f"{wording.when(rec.started_at)} · {charts.drill_label(rec.exercise, rec.side)} · {rec.rep_count} reps{marks}"


# ---------------------------------------------------------------------------------- history
@st.cache_data(max_entries=256, show_spinner=False)
def _cached_history(_store: Store, store_key: str, patient_id: int, version: tuple[object, ...]) -> pd.DataFrame:
    return _store.patient_history(patient_id)


def _store_key(store: Store) -> str:
    return f"{store.config.database_url}|{store.data_dir}"


def patient_history(store: Store, patient_id: int) -> pd.DataFrame:
    """``Store.patient_history``, cached per store and patient until the history changes
    (``Store.history_version``); the caller has checked access. The frame carries its cache key
    (``attrs["version"]``) so the charts drawn from it are cached alike."""
    version = (_store_key(store), patient_id, *store.history_version(patient_id))
    history = _cached_history(store, _store_key(store), patient_id, version).copy()
    history.attrs["version"] = version
    return history


@st.cache_data(max_entries=512, show_spinner=False)
def _specs(key: tuple[object, ...], _build: Callable[[], list[Any]]) -> list[dict[str, Any]]:
    """Vega-Lite specs of charts, built once per ``key`` (turning a frame into a spec costs
    50–150 ms a chart; the specs only change when the key does)."""
    return [chart.to_dict() for chart in _build()]


def draw(specs: list[dict[str, Any]]) -> None:
    for spec in specs:
        st.vega_lite_chart(spec, width="stretch")


def history_charts(history: pd.DataFrame, *, with_compensation: bool = True) -> None:
    """Trends over the sets that count (store.progression.trend_rows: finished training sets whose
    sensors looked right); a note says how many sets were left out and why."""
    left_out = int(history["sensor_flagged"].sum()) if "sensor_flagged" in history else 0
    version = history.attrs.get("version")
    history = trend_rows(history)
    if left_out:
        st.caption(f"{left_out} set(s) marked 'check your sensors' are not in these charts.")
    if history.empty:
        st.info("No sessions yet.")
        return

    def build() -> list[Any]:
        built = [charts.rom_trend_chart(history), charts.reps_vs_prescribed_chart(history), charts.pain_chart(history)]
        return [*built, charts.compensation_trend_chart(history)] if with_compensation else built

    specs = _specs(("history", version, with_compensation), build) if version is not None else [c.to_dict() for c in build()]
    draw(specs[:2])
    cols = st.columns(2 if with_compensation else 1)
    with cols[0]:
        draw(specs[2:3])
    if with_compensation:
        with cols[1]:
            draw(specs[3:4])


def session_table(history: pd.DataFrame) -> None:
    if history.empty:
        return
    df = history.sort_values("started_at", ascending=False)
    note = np.where(df["status"] == "recording", "still recording",
                    np.where(df["sensor_flagged"], "check sensors", np.where(df["assessment_id"].notna(), "check-up", "")))  # fmt: skip
    view = pd.DataFrame(
        {
            "session": df["session_id"],
            "started": [wording.when(v) for v in df["started_at"]],
            "drill": [charts.drill_label(e, s) for e, s in zip(df["exercise"], df["side"], strict=True)],
            "stage": [wording.stage_words(e, s) for e, s in zip(df["exercise"], df["stage"], strict=True)],
            "reps": df["rep_count"],
            "rom_deg": df["rom_deg"].round(0),
            "target_rom_deg": df["target_rom_deg"],
            "compensation_pct": (100 * df["compensation_rate"]).round(0),
            "pain_after": df["pain_after"],
            "engine": ["current" if v == ENGINE_VERSION else f"older ({v or 'unrecorded'})" for v in df["engine_version"]],
            "felt": [wording.difficulty_words(v) for v in df["difficulty"]],
            "note": note,
        }
    )
    st.dataframe(
        view,
        hide_index=True,
        column_config={
            "session": st.column_config.NumberColumn("Session", width="small"),
            "started": st.column_config.TextColumn("Started"),
            "rom_deg": st.column_config.NumberColumn("ROM (°)", format="%.0f"),
            "target_rom_deg": st.column_config.NumberColumn("Target (°)", format="%.0f"),
            "compensation_pct": st.column_config.NumberColumn("Compensated (%)", format="%.0f"),
            "pain_after": st.column_config.NumberColumn("Pain"),
            "felt": st.column_config.TextColumn("Felt"),
            "note": st.column_config.TextColumn("Note"),
        },
        key="session_table",
        height=min(400, 36 + 35 * len(view)),
    )


# ---------------------------------------------------------------------------------- one session
def checked_picker(
    label: str,
    options: dict[int, str],
    *,
    key: str,
    param: str,
    check: Callable[[Any], int],
    clear_params: tuple[str, ...] = (),
) -> int:
    """A selectbox over ``options`` (id → label) that also follows ``?<param>=ID`` links.

    Both the query parameter and the widget's value are untrusted: each goes through ``check``
    (an ``auth.require_*``), and an id outside ``options`` is refused, never silently replaced.
    When the choice changes from a linked one, the query parameter follows it and ``clear_params``
    (e.g. the previous patient's ``session``) are dropped.
    """
    seen_key = f"{key}__param"
    requested = st.query_params.get(param)
    if requested is not None:
        rid = check(requested)
        if rid not in options:
            auth.deny()
        if st.session_state.get(seen_key) != rid or key not in st.session_state:  # a new link wins
            st.session_state[key] = rid
            st.session_state[seen_key] = rid
    elif key not in st.session_state:
        st.session_state[key] = next(iter(options))
    current = st.session_state.get(key)
    if current not in options:
        check(current)
        auth.deny()
    choice = st.selectbox(label, list(options), key=key, format_func=lambda i: options.get(i, str(i)))
    rid = check(choice)
    if rid not in options:
        auth.deny()
    if requested != str(rid):
        st.query_params[param] = str(rid)
        st.session_state[seen_key] = rid
        for name in clear_params if requested is not None else ():
            if name in st.query_params:
                del st.query_params[name]
    return rid


def patient_picker(store: Store, user: User) -> int | None:
    """One of the therapist's own patients (widget or ``?patient=ID``), or None when they have none."""
    patients = store.list_patients(user.id)
    if not patients:
        st.info("You have no patients yet. An administrator assigns patients to therapists.")
        return None
    options = {p.id: f"{p.display_name} ({p.username})" for p in patients}
    return checked_picker(
        "Patient",
        options,
        key="patient_pick",
        param=PATIENT_PARAM,
        check=lambda raw: auth.require_patient(store, user, raw),
        clear_params=(SESSION_PARAM,),
    )


def session_picker(store: Store, user: User, patient_id: int) -> int | None:
    """A finished session of ``patient_id`` (widget or ``?session=ID``, both re-checked); None if none.

    Sessions still ``recording`` (a set under way, or one a crash left for recovery) have no
    analysis yet: they are listed as such and cannot be opened. The widget key is per patient, so a
    stale value can only come from a tampered client.
    """
    sessions = store.list_sessions(patient_id)
    recording = [s for s in sessions if s.status == "recording"]
    finished = [s for s in sessions if s.status != "recording"]
    if recording:
        st.caption(
            "Still recording (opens when finished): "
            + "; ".join(f"{charts.drill_label(s.exercise, s.side)} started {wording.when(s.started_at)}" for s in recording)
        )
    requested = auth.parse_id(st.query_params.get(SESSION_PARAM))
    if requested is not None and any(s.id == requested for s in recording):
        auth.require_session(store, user, requested)
        st.info("That set is still recording. It can be opened once it is finished.")
        del st.query_params[SESSION_PARAM]
    if not finished:
        return None
    return checked_picker(
        "Session",
        {s.id: session_label(s) for s in finished},
        key=f"session_pick_{patient_id}",
        param=SESSION_PARAM,
        check=lambda raw: auth.require_session(store, user, raw),
    )


def calibration_table(calibration: dict[str, Any]) -> pd.DataFrame:
    rows = [
        {
            "sensor": s.get("sensor"),
            "misplacement_deg": s.get("misplacement_deg"),
            "still_accel_m_s2": s.get("stand_accel_norm_m_s2"),
            "still_gyro_rms_rad_s": s.get("stand_gyro_rms_rad_s"),
        }
        for s in calibration.get("sensors", [])
    ]
    return pd.DataFrame(rows, columns=["sensor", "misplacement_deg", "still_accel_m_s2", "still_gyro_rms_rad_s"])


def session_drilldown(store: Store, user: User, session_id: Any, *, for_patient: bool = False) -> None:
    """One session: the headline numbers, the hip angle with every rep (compensated reps shaded), the
    pelvic tilt, the rep table and the calibration. A patient reads plain words and the hip curve;
    the engineering fields (tilt curve, per-rep table, calibration, per-sensor misplacement) are
    behind a toggle for the therapist (not drawn until asked for)."""
    sid = auth.require_session(store, user, session_id)
    rec = store.get_session(sid)
    if rec.status == "recording":
        st.info("This set is still recording. It can be opened once it is finished.")
        return
    loaded = store.load_session(sid, with_raw=False)
    a = loaded.analysis
    st.subheader(f"{charts.drill_label(rec.exercise, rec.side)} — {wording.when(rec.started_at)}")
    note = engine_note(rec.engine_version, for_patient=for_patient)
    if note is not None:
        st.caption(f":material/history: {note}")
    pain = store.get_pain_report(sid)
    if rec.sensor_flagged:
        st.warning("Marked 'check your sensors': " + " ".join(i.get("message", "") for i in rec.sensor_issues)
                   + " This set is not counted in the charts.", icon=":material/sensors:")  # fmt: skip
    if for_patient:
        headline, lines = wording.set_summary(
            exercise=rec.exercise, reps=rec.rep_count, target_reps=rec.prescribed_reps,
            still_reps=rec.rep_count - rec.compensation_count, rom_deg=rec.rom_deg, target_rom_deg=rec.target_rom_deg,
        )  # fmt: skip
        st.markdown(f"**{headline}** " + " ".join(lines))
        if pain is not None and (pain.pain_after is not None or pain.difficulty):
            st.markdown(f"Pain after: **{'—' if pain.pain_after is None else f'{pain.pain_after}/10'}** · "
                        f"it felt **{wording.difficulty_words(pain.difficulty).lower()}**")  # fmt: skip
    else:
        c = st.columns(5)
        c[0].metric("Reps", f"{rec.rep_count}", help=f"{rec.full_rep_count} full, {rec.partial_rep_count} partial")
        c[1].metric("ROM", fmt_deg(rec.rom_deg), help=f"target {fmt_deg(rec.target_rom_deg)}")
        c[2].metric("Compensated", fmt_pct(rec.compensation_rate), help=f"threshold {rec.threshold_deg:.0f}° pelvic tilt")
        c[3].metric("Pain after", "—" if pain is None or pain.pain_after is None else f"{pain.pain_after}/10")
        c[4].metric("Felt", wording.difficulty_words(pain.difficulty if pain else None))
    hip = tilt = None
    if a.angles.empty:
        st.warning("This session has no angle curves stored.")
    else:
        # a finished session's curves never change: its specs are cached by its uid
        hip, tilt = _specs(
            ("curves", _store_key(store), rec.uid, rec.target_rom_deg),
            lambda: list(charts.session_curve_panels(
                a.angles, a.reps, threshold_deg=a.threshold_deg,
                target_rom_deg=charts.signed_target_deg(rec.exercise, rec.target_rom_deg),
            )),
        )  # fmt: skip
        draw([hip])
    low = [r for r in a.reps if r.low_confidence]
    if low:  # shown to both, never hidden behind the details toggle
        which = ", ".join(str(r.index) for r in low)
        st.caption(
            f":material/warning: Rep{'s' if len(low) > 1 else ''} {which} "
            + ("may be less accurate" if for_patient else "of low confidence")
            + " — " + "; ".join(sorted({r.low_confidence_reason for r in low if r.low_confidence_reason})),
        )
    if for_patient and not st.toggle("Show the details for your therapist", key=f"details_{sid}"):
        return  # drawn only when asked for: the patient's page stays light
    with st.container():
        if tilt is not None:
            draw([tilt])
        reps = charts.reps_frame(a.reps)
        if len(reps):
            reps = reps.assign(
                rep=reps["index"], set=reps["set_index"] + 1,  # both numbered from 1
                confidence_text=[confidence_text(c, r) for c, r in zip(reps["confidence"], reps["low_confidence_reason"], strict=True)],
            )  # fmt: skip
            st.dataframe(
                reps[list(REP_TABLE_COLUMNS)].rename(columns=REP_TABLE_COLUMNS).round(1),
                hide_index=True,
                key=f"rep_table_{sid}",
            )
        else:
            st.info("No reps were counted in this session.")
        cal = rec.calibration
        conf = cal.get("flexion_axis_confidence")
        st.markdown(
            f"**Calibration quality:** {rec.calibration_quality or '—'} · flexion-axis confidence "
            f"{'—' if conf is None else f'{conf:.2f}'}"
            + (f" · flags: {', '.join(cal.get('flags', []))}" if cal.get("flags") else "")
        )
        st.dataframe(calibration_table(cal).round(3), hide_index=True, key=f"calibration_{sid}")
        if rec.sensor_issues:
            st.dataframe(pd.DataFrame(rec.sensor_issues)[["code", "sensor", "detail"]], hide_index=True,
                         key=f"sensor_issues_{sid}")  # fmt: skip
    if pain is not None and pain.note:
        st.caption(f"Pain note: {pain.note}")


# ---------------------------------------------------------------------------------- decisions
def decision_buttons(store: Store, user: User, decision_id: int, *, key: str, cols: Sequence[Any]) -> None:
    """Accept / Reject of one stored progression suggestion, in ``cols`` (two columns); the
    decision is re-checked (``progress.decide_pending``) and the page reruns."""
    from dashboard import progress

    if cols[0].button("Accept", key=f"{key}accept_{decision_id}", type="primary", width="stretch"):
        progress.decide_pending(store, user, decision_id, accept=True)
        st.rerun()
    if cols[1].button("Reject", key=f"{key}reject_{decision_id}", width="stretch"):
        progress.decide_pending(store, user, decision_id, accept=False)
        st.rerun()


# ---------------------------------------------------------------------------------- downloads
SESSION_TABLES = ("summary", "reps", "angles", "raw")


def session_export_bytes(store: Store, session_id: int, table: str) -> bytes:
    """One CSV of ``exporting.export_session`` (written to a private temp dir, read back)."""
    with tempfile.TemporaryDirectory(prefix="rehab-export-") as tmp:
        files = exporting.export_session(store, session_id, Path(tmp)).files
        if table not in files:
            raise KeyError(f"session {session_id} has no {table!r} export (has {', '.join(files)})")
        return files[table].read_bytes()


def patient_export_bytes(store: Store, patient_id: int, table: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="rehab-export-") as tmp:
        return exporting.export_patient(store, patient_id, Path(tmp)).files[table].read_bytes()


def _deferred(fn: Callable[..., bytes], *args: Any) -> Callable[[], bytes]:
    return lambda: fn(*args)


def _zip_button(label: str, data: Callable[[], bytes], file_name: str, key: str) -> None:
    st.download_button(label, data=data, file_name=file_name, mime="application/zip", key=key, on_click="ignore",
                       type="primary", icon=":material/folder_zip:")  # fmt: skip


def session_downloads(store: Store, user: User, session_id: Any) -> None:
    sid = auth.require_session(store, user, session_id)
    rec = store.get_session(sid)
    if rec.status == "recording":
        return
    _zip_button("All of this session (zip)", _deferred(exporting.session_zip_bytes, store, sid),
                f"session-{sid}.zip", f"dl_session_{sid}_zip")  # fmt: skip
    tables = [t for t in SESSION_TABLES if t != "raw" or rec.raw_path]
    cols = st.columns(len(tables))
    for col, table in zip(cols, tables, strict=True):
        col.download_button(
            f"Session {table} (CSV)",
            data=_deferred(session_export_bytes, store, sid, table),
            file_name=f"session-{sid}-{table}.csv",
            mime="text/csv",
            key=f"dl_session_{sid}_{table}",
            on_click="ignore",
        )


def patient_downloads(store: Store, user: User, patient_id: Any) -> None:
    pid = auth.require_patient(store, user, patient_id)
    _zip_button("Everything of this patient (zip: history tables + every session's CSVs)",
                _deferred(exporting.patient_zip_bytes, store, pid), f"patient-{pid}.zip", f"dl_patient_{pid}_zip")  # fmt: skip
    cols = st.columns(3)
    for i, table in enumerate(exporting.PATIENT_TABLES):
        cols[i % 3].download_button(
            f"History: {table} (CSV)",
            data=_deferred(patient_export_bytes, store, pid, table),
            file_name=f"patient-{pid}-{table}.csv",
            mime="text/csv",
            key=f"dl_patient_{pid}_{table}",
            on_click="ignore",
        )
