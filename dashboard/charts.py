"""Altair chart builders: pure functions from DataFrames to charts (no Streamlit, no store).

Each builder takes the store's tidy frames (``Store.patient_history``, ``SessionAnalysis.angles``,
reps as a frame) and returns an ``alt.Chart``/``LayerChart``/``VConcatChart`` whose spec the tests
inspect (marks, encodings, data). Angles are degrees; times on the session clock are seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict

import altair as alt
import numpy as np
import pandas as pd

from tracker.conventions import DRILL_MOTION
from tracker.results import Rep

#: Curves are thinned to at most this many points before they reach the browser (a 10-minute
#: 100 Hz session is 60,000 rows; the eye cannot see more than a few thousand on a laptop).
MAX_CURVE_POINTS = 1200
#: Sessions a history chart draws one by one; longer histories are drawn as weekly means (a year of
#: sessions is 365 marks per chart, which the browser takes a second to paint and the eye cannot use).
MAX_HISTORY_POINTS = 90
#: How much history a live trace keeps on screen, seconds.
LIVE_WINDOW_S = 20.0

COMPENSATED_COLOR = "#d62728"
CLEAN_REP_COLOR = "#9ecae1"
TARGET_COLOR = "#2ca02c"
PAIN_COLOR = "#ff7f0e"

_DRILL_TITLES = {"knee_raise": "Knee raise", "hip_extension": "Hip extension", "deep_squat": "Deep squat"}


class ChartInputError(ValueError):
    """A frame handed to a chart builder lacks a column the chart needs."""


def _need(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ChartInputError(f"{what}: missing column(s) {', '.join(missing)}; got {', '.join(map(str, df.columns))}")


#: What altair's layer(...).properties(...) is typed as (a LayerChart at run time).
Layered = alt.LayerChart | alt.FacetChart


def drill_label(exercise: str, side: str | None = None) -> str:
    title = _DRILL_TITLES.get(exercise, exercise.replace("_", " ").capitalize())
    return f"{title} ({side})" if side else title


def drill_sign(exercise: str) -> float:
    """+1 for drills measured in flexion, −1 for extension (hip extension): targets are stored as
    positive degrees in the drill's direction, angles with flexion positive."""
    motion = DRILL_MOTION.get(exercise)
    return float(motion.direction) if motion is not None else 1.0


def signed_target_deg(exercise: str, target_rom_deg: float | None) -> float | None:
    """The target as a hip-flexion angle (negative for extension drills), or None."""
    if target_rom_deg is None or not math.isfinite(float(target_rom_deg)):
        return None
    return drill_sign(exercise) * abs(float(target_rom_deg))


def thin(df: pd.DataFrame, max_points: int = MAX_CURVE_POINTS) -> pd.DataFrame:
    """Every k-th row so at most ``max_points`` remain (first and last rows kept)."""
    n = len(df)
    if n <= max_points:
        return df
    idx = np.unique(np.r_[np.linspace(0, n - 1, max_points).round().astype(int), n - 1])
    return df.iloc[idx]


def reps_frame(reps: Sequence[Rep] | pd.DataFrame) -> pd.DataFrame:
    """Reps as a tidy frame (one row per rep, the ``Rep`` field names)."""
    if isinstance(reps, pd.DataFrame):
        return reps
    cols = list(Rep.__dataclass_fields__)
    return pd.DataFrame([asdict(r) for r in reps], columns=cols)


# ---------------------------------------------------------------------------------- history
def _history_base(history: pd.DataFrame) -> pd.DataFrame:
    _need(history, ["started_at", "exercise", "side"], "history")
    out = history.copy()
    out["drill"] = [drill_label(e, s) for e, s in zip(out["exercise"], out["side"], strict=True)]
    out["started_at"] = pd.to_datetime(out["started_at"], utc=True).dt.tz_localize(None)
    return out


def weekly(df: pd.DataFrame, values: Sequence[str], *, by: Sequence[str] = ("drill",)) -> pd.DataFrame:
    """Mean of ``values`` per week (Monday) and group when there are more than ``MAX_HISTORY_POINTS``
    rows; the rows as they are otherwise. ``started_at`` becomes the week's Monday."""
    if len(df) <= MAX_HISTORY_POINTS:
        return df
    week = df["started_at"].dt.to_period("W-SUN").dt.start_time
    return df.assign(started_at=week).groupby([*by, "started_at"], as_index=False)[list(values)].mean()


def _date_title(df: pd.DataFrame, original: pd.DataFrame) -> str:
    return "Week" if len(df) < len(original) else "Date"


def _time_x(title: str) -> alt.X:
    """The history charts' time axis: short dates that never overprint each other on a phone."""
    return alt.X("started_at:T", title=title, axis=alt.Axis(format="%d %b", labelOverlap="greedy", labelAngle=0))


#: One colour per drill; the legend under the chart, so on a phone the plot keeps the width (the charts
#: that carry it are LEGEND_PX taller, so the plot keeps its height too).
LEGEND_PX = 90
DRILL_COLOR = alt.Color("drill:N", title="Drill", legend=alt.Legend(orient="bottom", direction="vertical"))


def rom_trend_chart(history: pd.DataFrame, *, height: int = 340 + LEGEND_PX) -> Layered:
    """ROM per session over time, one colour per drill, with each drill's target as a dashed line."""
    _need(history, ["rom_deg", "target_rom_deg"], "history")
    base = _history_base(history)[["started_at", "drill", "rom_deg", "target_rom_deg"]]
    base = base.astype({"rom_deg": "float64", "target_rom_deg": "float64"})
    df = weekly(base, ["rom_deg", "target_rom_deg"])
    when = _date_title(df, base)
    x = _time_x(when)
    color = DRILL_COLOR
    rom = (
        alt.Chart(df.dropna(subset=["rom_deg"]))
        .mark_line(point=len(df) <= MAX_HISTORY_POINTS)
        .encode(
            x=x,
            y=alt.Y("rom_deg:Q", title="Range of motion (°)"),
            color=color,
            tooltip=[alt.Tooltip("started_at:T", title=when), "drill:N", alt.Tooltip("rom_deg:Q", format=".0f")],
        )
    )
    target = (
        alt.Chart(df.dropna(subset=["target_rom_deg"]))
        .mark_line(strokeDash=[6, 4], color=TARGET_COLOR, interpolate="step-after")
        .encode(x=x, y="target_rom_deg:Q", detail="drill:N", tooltip=["drill:N", "target_rom_deg:Q"])
    )
    return alt.layer(rom, target).properties(height=height, title="Range of motion vs target")


def reps_vs_prescribed_chart(history: pd.DataFrame, *, height: int = 300 + LEGEND_PX) -> Layered:
    """Reps done per session (bars; compensated share darker) against prescribed sets × reps (ticks)."""
    _need(history, ["rep_count", "prescribed_sets", "prescribed_reps", "compensation_count"], "history")
    df = _history_base(history)
    sets = pd.to_numeric(df["prescribed_sets"], errors="coerce").astype("float64")
    reps = pd.to_numeric(df["prescribed_reps"], errors="coerce").astype("float64")
    full = pd.DataFrame(
        {
            "started_at": df["started_at"],
            "drill": df["drill"],
            "reps_done": df["rep_count"].astype("float64"),
            "compensated": df["compensation_count"].astype("float64"),
            "prescribed": sets * reps,
        }
    )
    df = weekly(full, ["reps_done", "compensated", "prescribed"])  # per session, averaged over the week
    x = _time_x(_date_title(df, full))
    bars = (
        alt.Chart(df)
        .mark_bar(opacity=0.8)
        .encode(
            x=x,
            y=alt.Y("reps_done:Q", title="Reps"),
            color=DRILL_COLOR,
            tooltip=[alt.Tooltip("started_at:T", title="Date"), "drill:N", "reps_done:Q", "prescribed:Q", "compensated:Q"],
        )
    )
    prescribed = (
        alt.Chart(df.dropna(subset=["prescribed"]))
        .mark_tick(color="black", thickness=2, size=14)
        .encode(x=x, y="prescribed:Q")
    )
    return alt.layer(bars, prescribed).properties(height=height, title="Reps done vs prescribed")


def pain_chart(history: pd.DataFrame, *, height: int = 260) -> alt.Chart:
    """Pain 0–10 after each session (before, when that is all there is)."""
    _need(history, ["pain_before", "pain_after"], "history")
    df = _history_base(history)
    after = pd.to_numeric(df["pain_after"], errors="coerce").astype("float64")
    before = pd.to_numeric(df["pain_before"], errors="coerce").astype("float64")
    full = pd.DataFrame({"started_at": df["started_at"], "pain": after.fillna(before)}).dropna()
    df = weekly(full, ["pain"], by=())
    return (
        alt.Chart(df)
        .mark_line(point=len(df) <= MAX_HISTORY_POINTS, color=PAIN_COLOR)
        .encode(
            x=_time_x(_date_title(df, full)),
            y=alt.Y("pain:Q", title="Pain (0–10)", scale=alt.Scale(domain=[0, 10])),
            tooltip=[alt.Tooltip("started_at:T", title="Date"), "pain:Q"],
        )
        .properties(height=height, title="Pain")
    )


def compensation_trend_chart(history: pd.DataFrame, *, height: int = 260 + LEGEND_PX) -> alt.Chart:
    """Share of reps flagged for compensation per session, one line per drill (0–100 %)."""
    _need(history, ["compensation_rate"], "history")
    df = _history_base(history)
    full = pd.DataFrame(
        {"started_at": df["started_at"], "drill": df["drill"], "compensation_pct": 100.0 * df["compensation_rate"]}
    ).dropna()
    df = weekly(full, ["compensation_pct"])
    return (
        alt.Chart(df)
        .mark_line(point=len(df) <= MAX_HISTORY_POINTS)
        .encode(
            x=_time_x(_date_title(df, full)),
            y=alt.Y("compensation_pct:Q", title="Compensated reps (%)", scale=alt.Scale(domain=[0, 100])),
            color=DRILL_COLOR,
            tooltip=[alt.Tooltip("started_at:T", title="Date"), "drill:N", alt.Tooltip("compensation_pct:Q", format=".0f")],
        )
        .properties(height=height, title="Compensation rate")
    )


# ---------------------------------------------------------------------------------- one session
def _rep_spans(reps: pd.DataFrame) -> pd.DataFrame:
    spans = pd.DataFrame(
        {
            "rep": reps["index"].astype("int64"),  # 1-based (tracker.pipeline.build_reps)
            "start_s": reps["start_s"].astype("float64"),
            "end_s": reps["end_s"].astype("float64"),
            "peak_s": reps["peak_s"].astype("float64"),
            "peak_hip_flexion_deg": reps["peak_hip_flexion_deg"].astype("float64"),
            "rep_kind": np.where(reps["compensation"].astype(bool), "compensated", "clean"),
        }
    )
    return spans


def session_curve_panels(
    angles: pd.DataFrame,
    reps: Sequence[Rep] | pd.DataFrame,
    *,
    threshold_deg: float | None = None,
    target_rom_deg: float | None = None,
    height: int = 320,
) -> tuple[Layered, Layered]:
    """Hip angle and pelvic tilt as two charts on the same explicit time domain, each with every
    rep spanned (compensated reps shaded red); peaks, the target ROM and the ± compensation
    threshold drawn. Two charts rather than a concat so each can stretch to its container."""
    _need(angles, ["t", "hip_flexion_deg", "pelvic_tilt_deg"], "angles")
    rep_df = reps_frame(reps)
    _need(rep_df, ["index", "start_s", "peak_s", "end_s", "peak_hip_flexion_deg", "compensation"], "reps")
    curve = thin(angles[["t", "hip_flexion_deg", "pelvic_tilt_deg"]].astype("float64"))
    spans = _rep_spans(rep_df)
    t = curve["t"].dropna()
    domain = [float(t.min()), float(t.max())] if len(t) else [0.0, 1.0]
    x = alt.X("t:Q", title="Time (s)", scale=alt.Scale(domain=domain, nice=False))
    shade = (
        alt.Chart(spans)
        .mark_rect(opacity=0.25)
        .encode(
            x=alt.X("start_s:Q", scale=alt.Scale(domain=domain, nice=False)),
            x2="end_s:Q",
            color=alt.Color(
                "rep_kind:N",
                title="Rep",
                scale=alt.Scale(domain=["clean", "compensated"], range=[CLEAN_REP_COLOR, COMPENSATED_COLOR]),
            ),
            tooltip=["rep:Q", "rep_kind:N", alt.Tooltip("peak_hip_flexion_deg:Q", format=".0f")],
        )
    )
    hip_line = alt.Chart(curve).mark_line(color="#1f77b4").encode(x=x, y=alt.Y("hip_flexion_deg:Q", title="Hip angle (°)"))
    peaks = (
        alt.Chart(spans)
        .mark_point(filled=True, size=60, color="black")
        .encode(x="peak_s:Q", y="peak_hip_flexion_deg:Q", tooltip=["rep:Q", "peak_hip_flexion_deg:Q"])
    )
    hip_layers: list[alt.Chart] = [shade, hip_line, peaks]
    if target_rom_deg is not None and math.isfinite(target_rom_deg):
        hip_layers.append(
            alt.Chart(pd.DataFrame({"target_deg": [float(target_rom_deg)]}))
            .mark_rule(color=TARGET_COLOR, strokeDash=[6, 4])
            .encode(y="target_deg:Q")
        )
    hip = alt.layer(*hip_layers).properties(height=height, title="Hip angle")
    tilt_line = (
        alt.Chart(curve).mark_line(color="#8c564b").encode(x=x, y=alt.Y("pelvic_tilt_deg:Q", title="Pelvic tilt (°)"))
    )
    tilt_layers: list[alt.Chart] = [shade, tilt_line]
    if threshold_deg is not None and math.isfinite(threshold_deg):
        tilt_layers.append(
            alt.Chart(pd.DataFrame({"threshold_deg": [float(threshold_deg), -float(threshold_deg)]}))
            .mark_rule(color=COMPENSATED_COLOR, strokeDash=[2, 2])
            .encode(y="threshold_deg:Q")
        )
    tilt = alt.layer(*tilt_layers).properties(height=height, title="Pelvic tilt (+ anterior)")
    return hip, tilt


def session_curves_chart(
    angles: pd.DataFrame,
    reps: Sequence[Rep] | pd.DataFrame,
    *,
    threshold_deg: float | None = None,
    target_rom_deg: float | None = None,
    height: int = 320,
) -> alt.VConcatChart:
    """``session_curve_panels`` stacked into one chart with a shared time axis (for export/reports)."""
    hip, tilt = session_curve_panels(angles, reps, threshold_deg=threshold_deg, target_rom_deg=target_rom_deg, height=height)
    return alt.vconcat(hip, tilt).resolve_scale(x="shared")


# ---------------------------------------------------------------------------------- live
def live_trace_chart(
    trace: pd.DataFrame,
    *,
    target_deg: float | None = None,
    window_s: float = LIVE_WINDOW_S,
    height: int = 360,
    angle_title: str = "Hip angle (°)",
) -> Layered:
    """The last ``window_s`` seconds of the live hip angle with the target as a rule."""
    _need(trace, ["t_s", "hip_flexion_deg"], "live trace")
    df = trace[["t_s", "hip_flexion_deg"]].dropna().astype("float64")
    if len(df):
        df = df[df["t_s"] >= df["t_s"].iloc[-1] - window_s]
    line = (
        alt.Chart(df)
        .mark_line(strokeWidth=4)
        .encode(x=alt.X("t_s:Q", title="Time (s)"), y=alt.Y("hip_flexion_deg:Q", title=angle_title))
    )
    layers: list[alt.Chart] = [line]
    if target_deg is not None and math.isfinite(target_deg):
        layers.append(
            alt.Chart(pd.DataFrame({"target_deg": [float(target_deg)]}))
            .mark_rule(color=TARGET_COLOR, strokeDash=[8, 4], strokeWidth=3)
            .encode(y="target_deg:Q")
        )
    return alt.layer(*layers).properties(height=height)


# ---------------------------------------------------------------------------------- roster
def roster_overview_chart(table: pd.DataFrame, *, height: int = 380) -> Layered:
    """One point per patient: ROM as % of target (x) against compensated reps % (y); patients with
    alerts in red. The "good" corner (≥ 100 % of target, few compensated reps) is bottom right."""
    _need(table, ["patient", "rom_vs_target_pct", "compensation_pct", "alerts", "adherence_pct"], "roster table")
    df = table[["patient", "rom_vs_target_pct", "compensation_pct", "alerts", "adherence_pct"]].copy()
    df["status"] = np.where(df["alerts"].astype("int64") > 0, "needs attention", "on track")
    df = df.dropna(subset=["rom_vs_target_pct", "compensation_pct"])
    # every point is named on hover; the ones needing attention are also labelled (the first 12)
    labelled = df[df["status"] == "needs attention"].nlargest(12, "compensation_pct")
    labels = (
        alt.Chart(labelled)
        .mark_text(align="left", dx=7, dy=-7, fontSize=12)
        .encode(x="rom_vs_target_pct:Q", y="compensation_pct:Q", text="patient:N")
    )
    points = (
        alt.Chart(df)
        .mark_circle(size=110, opacity=0.8)
        .encode(
            x=alt.X("rom_vs_target_pct:Q", title="Latest ROM (% of target)", scale=alt.Scale(zero=False, nice=True)),
            y=alt.Y("compensation_pct:Q", title="Compensated reps (%)"),
            color=alt.Color(
                "status:N",
                title="",
                scale=alt.Scale(domain=["on track", "needs attention"], range=[TARGET_COLOR, COMPENSATED_COLOR]),
            ),
            tooltip=[alt.Tooltip("patient:N", title="Patient"),
                     alt.Tooltip("rom_vs_target_pct:Q", format=".0f", title="ROM (% of target)"),
                     alt.Tooltip("compensation_pct:Q", format=".0f", title="Compensated reps (%)"),
                     alt.Tooltip("adherence_pct:Q", format=".0f", title="Adherence (%)"),
                     alt.Tooltip("alerts:Q", title="Alerts")],  # fmt: skip
        )
    )
    target = alt.Chart(pd.DataFrame({"x": [100.0]})).mark_rule(color=TARGET_COLOR, strokeDash=[6, 4]).encode(x="x:Q")
    # the points layer last: on top, so the hover reaches them
    return alt.layer(target, labels, points).properties(height=height, title="Patients: ROM vs target and compensation")
