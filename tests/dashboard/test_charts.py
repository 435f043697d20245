"""Chart builders on data: the Vega-Lite spec has the expected marks, encodings and rows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dashboard import charts
from tracker.results import Rep


def _datasets(spec: dict) -> dict[str, list[dict]]:
    return spec.get("datasets", {})


def _layer_data(spec: dict, layer: dict) -> list[dict]:
    name = layer.get("data", spec.get("data", {})).get("name")
    return _datasets(spec)[name]


def history_frame(n: int = 6, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t0 = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)
    ex = ["knee_raise" if i % 2 else "hip_extension" for i in range(n)]
    return pd.DataFrame(
        {
            "session_id": np.arange(1, n + 1),
            "started_at": pd.to_datetime([t0 + dt.timedelta(days=i) for i in range(n)], utc=True),
            "exercise": ex,
            "side": ["left"] * n,
            "status": ["complete"] * n,
            "rom_deg": rng.uniform(10, 90, n),
            "target_rom_deg": [80.0 if e == "knee_raise" else 20.0 for e in ex],
            "rep_count": rng.integers(3, 10, n),
            "compensation_count": rng.integers(0, 3, n),
            "compensation_rate": rng.uniform(0, 0.5, n),
            "prescribed_sets": pd.array([2] * n, dtype="Int64"),
            "prescribed_reps": pd.array([8] * n, dtype="Int64"),
            "pain_before": pd.array([3] * n, dtype="Int64"),
            "pain_after": pd.array(([None, 2, 4, None, 1, 0] * (n // 6 + 1))[:n], dtype="Int64"),
        }
    )


def test_rom_trend_has_rom_line_per_drill_and_dashed_target() -> None:
    h = history_frame()
    spec = charts.rom_trend_chart(h).to_dict()
    rom, target = spec["layer"]
    assert rom["mark"]["type"] == "line" and rom["mark"]["point"] is True
    assert rom["encoding"]["y"]["field"] == "rom_deg" and rom["encoding"]["color"]["field"] == "drill"
    assert target["mark"]["strokeDash"] == [6, 4] and target["encoding"]["y"]["field"] == "target_rom_deg"
    rows = _layer_data(spec, rom)
    assert sorted(r["rom_deg"] for r in rows) == pytest.approx(sorted(h["rom_deg"]))
    assert {r["drill"] for r in rows} == {"Knee raise (left)", "Hip extension (left)"}
    assert {r["target_rom_deg"] for r in _layer_data(spec, target)} == {80.0, 20.0}


def test_reps_vs_prescribed_bars_and_ticks() -> None:
    h = history_frame()
    spec = charts.reps_vs_prescribed_chart(h).to_dict()
    bars, ticks = spec["layer"]
    assert bars["mark"]["type"] == "bar" and ticks["mark"]["type"] == "tick"
    assert [r["reps_done"] for r in _layer_data(spec, bars)] == [float(v) for v in h["rep_count"]]
    assert {r["prescribed"] for r in _layer_data(spec, ticks)} == {16.0}


def test_pain_prefers_after_and_falls_back_to_before() -> None:
    spec = charts.pain_chart(history_frame()).to_dict()
    assert spec["mark"]["type"] == "line"
    assert spec["encoding"]["y"]["scale"]["domain"] == [0, 10]
    assert [r["pain"] for r in _datasets(spec)[spec["data"]["name"]]] == [3.0, 2.0, 4.0, 3.0, 1.0, 0.0]


def test_compensation_trend_is_percent() -> None:
    h = history_frame()
    spec = charts.compensation_trend_chart(h).to_dict()
    rows = _datasets(spec)[spec["data"]["name"]]
    assert [r["compensation_pct"] for r in rows] == pytest.approx(list(100 * h["compensation_rate"]))


def _reps() -> list[Rep]:
    return [
        Rep(index=1, start_s=1.0, peak_s=2.0, end_s=3.0, peak_hip_flexion_deg=70.0, hold_s=0.5, partial=False,
            compensation=False, compensation_deg=2.0, compensation_onset_hip_deg=None),
        Rep(index=2, start_s=4.0, peak_s=5.0, end_s=6.5, peak_hip_flexion_deg=82.0, hold_s=0.5, partial=False,
            compensation=True, compensation_deg=13.0, compensation_onset_hip_deg=55.0),
    ]  # fmt: skip


def test_session_curves_mark_reps_and_shade_compensated() -> None:
    t = np.arange(0, 8, 0.01)
    angles = pd.DataFrame({"t": t, "hip_flexion_deg": 40 * np.sin(t), "pelvic_tilt_deg": -3 * np.sin(t), "valid": True})
    spec = charts.session_curves_chart(angles, _reps(), threshold_deg=10.0, target_rom_deg=80.0).to_dict()
    hip, tilt = spec["vconcat"]
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in hip["layer"]]
    assert marks == ["rect", "line", "point", "rule"]
    shade = hip["layer"][0]
    assert shade["encoding"]["x"]["field"] == "start_s" and shade["encoding"]["x2"]["field"] == "end_s"
    assert shade["encoding"]["color"]["scale"]["range"] == [charts.CLEAN_REP_COLOR, charts.COMPENSATED_COLOR]
    spans = _layer_data(spec, shade)
    assert [(s["rep"], s["rep_kind"]) for s in spans] == [(1, "clean"), (2, "compensated")]
    peaks = _layer_data(spec, hip["layer"][2])
    assert [p["peak_s"] for p in peaks] == [2.0, 5.0]
    curve = _layer_data(spec, hip["layer"][1])
    assert len(curve) == len(t)  # under MAX_CURVE_POINTS: nothing dropped
    assert tilt["layer"][1]["encoding"]["y"]["field"] == "pelvic_tilt_deg"
    assert {r["threshold_deg"] for r in _layer_data(spec, tilt["layer"][2])} == {10.0, -10.0}
    assert spec["resolve"]["scale"]["x"] == "shared"
    panels = charts.session_curve_panels(angles, _reps(), threshold_deg=10.0)
    domains = [p.to_dict()["layer"][1]["encoding"]["x"]["scale"]["domain"] for p in panels]
    assert domains[0] == domains[1] == [0.0, pytest.approx(7.99)]  # one time axis for both panels


def test_long_curves_are_thinned_keeping_ends() -> None:
    n = 60_000
    angles = pd.DataFrame({"t": np.arange(n) / 100.0, "hip_flexion_deg": np.zeros(n), "pelvic_tilt_deg": np.zeros(n)})
    thinned = charts.thin(angles)
    assert len(thinned) <= charts.MAX_CURVE_POINTS + 1
    assert thinned["t"].iloc[0] == 0.0 and thinned["t"].iloc[-1] == pytest.approx((n - 1) / 100.0)


def test_live_trace_keeps_the_window_and_draws_target() -> None:
    trace = pd.DataFrame({"t_s": np.arange(0, 40, 0.25), "hip_flexion_deg": np.linspace(0, 80, 160)})
    spec = charts.live_trace_chart(trace, target_deg=75.0, window_s=20.0).to_dict()
    line, target = spec["layer"]
    rows = _layer_data(spec, line)
    assert min(r["t_s"] for r in rows) >= 39.75 - 20.0 and max(r["t_s"] for r in rows) == 39.75
    assert _layer_data(spec, target) == [{"target_deg": 75.0}]


def test_roster_overview_colours_patients_with_alerts() -> None:
    table = pd.DataFrame(
        {"patient": ["A", "B"], "rom_vs_target_pct": [110.0, 70.0], "compensation_pct": [5.0, 40.0],
         "alerts": [0, 2], "adherence_pct": [100.0, 20.0]}
    )  # fmt: skip
    spec = charts.roster_overview_chart(table).to_dict()
    points = spec["layer"][-1]  # on top, so the hover reaches the points
    assert points["mark"]["type"] == "circle"
    assert {(r["patient"], r["status"]) for r in _layer_data(spec, points)} == {("A", "on track"), ("B", "needs attention")}
    assert points["encoding"]["tooltip"][0] == {"field": "patient", "type": "nominal", "title": "Patient"}
    labels = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "text")
    assert [r["patient"] for r in _layer_data(spec, labels)] == ["B"]  # the one needing attention is named on the chart


def test_missing_column_is_named() -> None:
    with pytest.raises(charts.ChartInputError, match="rom_deg"):
        charts.rom_trend_chart(history_frame().drop(columns=["rom_deg"]))


def test_targets_follow_the_drill_direction() -> None:
    assert charts.signed_target_deg("knee_raise", 80.0) == 80.0
    assert charts.signed_target_deg("hip_extension", 20.0) == -20.0  # extension is negative flexion
    assert charts.signed_target_deg("deep_squat", None) is None
    assert charts.drill_sign("hip_extension") == -1.0 and charts.drill_sign("deep_squat") == 1.0


def test_a_year_of_sessions_is_drawn_as_weekly_means() -> None:
    h = history_frame(n=365)
    spec = charts.rom_trend_chart(h).to_dict()
    rom = spec["layer"][0]
    rows = _layer_data(spec, rom)
    assert len(rows) <= 2 * 54 and rom["mark"]["point"] is False  # one mean per drill and week, no markers
    assert rom["encoding"]["x"]["title"] == "Week"
    knee = h[h["exercise"] == "knee_raise"]
    week = (knee["started_at"] >= pd.Timestamp("2026-11-02", tz="UTC")) & (knee["started_at"] < pd.Timestamp("2026-11-09", tz="UTC"))
    first_week = knee[week]["rom_deg"].mean()  # Monday 2 to Sunday 8 November
    assert any(r["rom_deg"] == pytest.approx(first_week) for r in rows if r["drill"] == "Knee raise (left)")
    for build in (charts.reps_vs_prescribed_chart, charts.pain_chart, charts.compensation_trend_chart):
        d = build(h).to_dict()
        assert all(len(v) <= 2 * 54 for v in _datasets(d).values())
    short = charts.rom_trend_chart(history_frame(n=30)).to_dict()
    assert len(_layer_data(short, short["layer"][0])) == 30  # short: as is


def test_history_charts_fit_a_phone() -> None:
    """At 390 px a right-hand legend took half the plot and the dates printed over each other: every
    history chart drops overlapping date labels, and the drill legend sits under the plot."""
    h = history_frame()
    for make in (charts.rom_trend_chart, charts.reps_vs_prescribed_chart, charts.pain_chart, charts.compensation_trend_chart):
        spec = make(h).to_dict()
        layers = spec.get("layer", [spec])
        x_axes = [layer["encoding"]["x"].get("axis", {}) for layer in layers if "x" in layer.get("encoding", {})]
        assert x_axes and all(a.get("labelOverlap") == "greedy" for a in x_axes), make.__name__
        for layer in layers:
            color = layer.get("encoding", {}).get("color")
            if color is not None and color.get("field") == "drill":
                assert color["legend"]["orient"] == "bottom", make.__name__
