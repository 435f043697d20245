"""The pandas tables the dashboard reads: a patient's history and a therapist's roster (see docs/store.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd

from store.convert import SUMMARY_FLOATS, SUMMARY_INTS

#: Columns of ``patient_history`` (one row per session, oldest first).
HISTORY_COLUMNS = [
    "session_id", "patient_id", "started_at", "ended_at", "exercise", "side", "status", "source",
    "stage", "target_rom_deg", "prescribed_sets", "prescribed_reps", "threshold_deg",
    "calibration_quality", *SUMMARY_INTS, *SUMMARY_FLOATS, "engine_version", "sensor_flagged", "assessment_id",
    "pain_before", "pain_after", "pain_note", "difficulty",
]  # fmt: skip
#: The history columns that come from the sessions table (the rest from the pain report).
HISTORY_SESSION_COLUMNS = HISTORY_COLUMNS[1:-4]

#: Columns of ``roster`` (one row per patient of the therapist).
ROSTER_COLUMNS = [
    "patient_id", "username", "display_name", "sessions_this_week", "prescribed_this_week",
    "adherence_pct", "last_session_at", "days_since_last_session", "latest_exercise", "latest_side",
    "latest_rom_deg", "target_rom_deg", "rom_vs_target_pct", "rom_trend_deg",
    "compensation_rate", "compensation_rate_prev", "compensation_trend",
    "latest_pain", "pain_trend", "flagged_sessions", "latest_stage",
]  # fmt: skip


def utc_series(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True)


def history_frame(rows: list[Any]) -> pd.DataFrame:
    df = pd.DataFrame.from_records([tuple(r) for r in rows], columns=HISTORY_COLUMNS)
    for c in ("started_at", "ended_at"):
        df[c] = utc_series(df[c])
    for c in [*SUMMARY_FLOATS, "target_rom_deg", "threshold_deg"]:
        df[c] = pd.to_numeric(df[c], errors="raise").astype("float64")
    for c in SUMMARY_INTS:
        df[c] = df[c].astype("int64")
    for c in ("prescribed_sets", "prescribed_reps", "pain_before", "pain_after"):
        df[c] = df[c].astype("Int64")
    df["session_id"] = df["session_id"].astype("int64")
    df["patient_id"] = df["patient_id"].astype("int64")
    df["pain_note"] = df["pain_note"].astype(object)
    df["engine_version"] = df["engine_version"].astype(object)
    df["difficulty"] = df["difficulty"].astype(object)
    df["sensor_flagged"] = df["sensor_flagged"].fillna(False).astype(bool)
    df["assessment_id"] = df["assessment_id"].astype("Int64")
    return df


#: Per patient and drill, the last two weeks (``ReportsMixin.roster`` aggregates them in SQL).
DRILL_AGGREGATES = [
    "n_week", "reps_a", "comp_a", "reps_b", "comp_b", "pain_a_sum", "pain_a_n", "pain_b_sum", "pain_b_n",
    "rom_a_sum", "rom_a_n", "rom_b_sum", "rom_b_n",
]  # fmt: skip


def roster_frame(
    patients: list[Any],
    drills: list[Any],
    latest: list[Any],
    prescriptions: list[Any],
    *,
    now: dt.datetime,
    flagged: Sequence[Any] = (),
) -> pd.DataFrame:
    """The roster from per-drill window aggregates ("_a": the last 7 days, "_b": the 7 before),
    each patient's latest session and the active prescriptions; vectorised, no per-patient loop.
    ``flagged``: (patient_id, count) of sets marked "check your sensors" in the last 7 days (left
    out of everything else)."""
    key = ["patient_id", "exercise", "side"]
    agg = pd.DataFrame.from_records([tuple(r) for r in drills], columns=[*key, *DRILL_AGGREGATES])
    for c in DRILL_AGGREGATES:
        agg[c] = pd.to_numeric(agg[c]).astype("float64").fillna(0.0)
    lat = pd.DataFrame.from_records(
        [tuple(r) for r in latest], columns=[*key, "started_at", "rom_deg", "pain_before", "pain_after", "stage"]
    )
    lat["started_at"] = utc_series(lat["started_at"])
    for c in ("rom_deg", "pain_before", "pain_after"):
        lat[c] = pd.to_numeric(lat[c]).astype("float64")
    rx = pd.DataFrame.from_records(
        [tuple(r) for r in prescriptions], columns=[*key, "sessions_per_week", "target_rom_deg", "id"]
    )
    rx["target_rom_deg"] = pd.to_numeric(rx["target_rom_deg"]).astype("float64")
    rx = rx.sort_values("id").drop_duplicates(key, keep="last")  # newest active prescription per drill+side
    now_ts = pd.Timestamp(now)

    out = pd.DataFrame.from_records(
        [(p.id, p.username, p.display_name) for p in patients], columns=["patient_id", "username", "display_name"]
    ).set_index("patient_id", drop=False)
    per_patient = agg.groupby("patient_id")[DRILL_AGGREGATES].sum().reindex(out.index, fill_value=0.0)
    out["sessions_this_week"] = per_patient["n_week"]
    per_rx = rx.merge(agg[[*key, "n_week"]], on=key, how="left").fillna({"n_week": 0})
    per_rx["done"] = per_rx[["n_week", "sessions_per_week"]].min(axis=1)
    out["prescribed_this_week"] = rx.groupby("patient_id").sessions_per_week.sum().reindex(out.index, fill_value=0)
    done_sum = per_rx.groupby("patient_id").done.sum().reindex(out.index, fill_value=0)
    out["adherence_pct"] = (100.0 * done_sum / out["prescribed_this_week"].where(out["prescribed_this_week"] > 0)).astype(
        "float64"
    )
    out["compensation_rate"] = per_patient["comp_a"] / per_patient["reps_a"].where(per_patient["reps_a"] > 0)
    out["compensation_rate_prev"] = per_patient["comp_b"] / per_patient["reps_b"].where(per_patient["reps_b"] > 0)
    out["compensation_trend"] = out["compensation_rate"] - out["compensation_rate_prev"]
    pain_a = per_patient["pain_a_sum"] / per_patient["pain_a_n"].where(per_patient["pain_a_n"] > 0)
    pain_b = per_patient["pain_b_sum"] / per_patient["pain_b_n"].where(per_patient["pain_b_n"] > 0)
    out["pain_trend"] = pain_a - pain_b

    lat = lat.merge(rx[[*key, "target_rom_deg"]], on=key, how="left").set_index("patient_id")
    lat = lat[~lat.index.duplicated()].reindex(out.index)
    out["last_session_at"] = lat["started_at"]
    out["days_since_last_session"] = (now_ts - lat["started_at"]).dt.total_seconds() / 86400.0
    out["latest_exercise"], out["latest_side"], out["latest_stage"] = lat["exercise"], lat["side"], lat["stage"]
    out["latest_rom_deg"] = lat["rom_deg"]
    out["target_rom_deg"] = lat["target_rom_deg"]
    out["rom_vs_target_pct"] = 100.0 * lat["rom_deg"] / lat["target_rom_deg"].where(lat["target_rom_deg"] != 0)
    out["latest_pain"] = lat["pain_after"].fillna(lat["pain_before"])
    # ROM trend of the latest drill: mean of the last 7 days minus the 7 days before
    same = agg.merge(lat.reset_index()[key].dropna(), on=key, how="inner").set_index("patient_id").reindex(out.index)
    out["rom_trend_deg"] = same["rom_a_sum"] / same["rom_a_n"].where(same["rom_a_n"] > 0) - same["rom_b_sum"] / same[
        "rom_b_n"
    ].where(same["rom_b_n"] > 0)

    flagged_counts = pd.Series({int(p): int(n) for p, n in flagged}, dtype="int64")
    out["flagged_sessions"] = flagged_counts.reindex(out.index, fill_value=0)

    df = out.reset_index(drop=True)[ROSTER_COLUMNS]
    for c in ("patient_id", "sessions_this_week", "prescribed_this_week", "flagged_sessions"):
        df[c] = df[c].astype("int64")
    for c in ROSTER_COLUMNS:
        if c not in ("patient_id", "username", "display_name", "last_session_at", "latest_exercise", "latest_side",
                     "sessions_this_week", "prescribed_this_week", "flagged_sessions", "latest_stage"):  # fmt: skip
            df[c] = pd.to_numeric(df[c]).astype("float64")
    df["last_session_at"] = utc_series(df["last_session_at"])
    for c in ("latest_exercise", "latest_side", "latest_stage"):
        df[c] = df[c].astype(object)
    return df
