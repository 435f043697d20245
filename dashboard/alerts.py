"""Roster alerts: which patients a therapist should look at first, from ``Store.roster`` (pure).

Thresholds are parameters with defaults (``AlertRules``) so a clinic can tune them; every alert
carries a plain-language reason naming the numbers that triggered it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, SupportsFloat

import pandas as pd

from dashboard import wording
from dashboard.charts import drill_label

ALERT_COLUMNS = ["patient_id", "display_name", "alert", "detail"]


class AlertRuleError(ValueError):
    """An alert threshold outside its sensible range."""


@dataclass(frozen=True, slots=True)
class AlertRules:
    """When a roster row raises an alert.

    no_session_days: days without a session (default 3).
    pain_rise: rise of mean pain, last 7 days vs the 7 before, in 0–10 points (default 1).
    rom_fall_deg: fall of mean ROM of the latest drill, last 7 days vs the 7 before (default 5°).
    compensation_rise: rise of the compensated-rep share, last 7 days vs the 7 before (default 0.10).
    """

    no_session_days: float = 3.0
    pain_rise: float = 1.0
    rom_fall_deg: float = 5.0
    compensation_rise: float = 0.10

    def __post_init__(self) -> None:
        for name in ("no_session_days", "pain_rise", "rom_fall_deg", "compensation_rise"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise AlertRuleError(f"AlertRules.{name}={v!r}; use a positive number")


def _finite(v: SupportsFloat | str | None) -> bool:
    """A roster cell (a number, NaN, None or text) holds a finite number."""
    if v is None:
        return False
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def roster_alerts(roster: pd.DataFrame, rules: AlertRules | None = None, *, today: dt.date | None = None) -> pd.DataFrame:
    """One row per (patient, alert): ``ALERT_COLUMNS``; patients with no session at all count as
    'no sessions' too. With ``today``, days without a session are calendar days (a session yesterday
    evening is 1 day ago at any time of day, as a therapist counts); otherwise the roster's
    fractional ``days_since_last_session``."""
    rules = rules or AlertRules()
    rows: list[dict[str, object]] = []
    for r in roster.itertuples(index=False):
        def add(alert: str, detail: str, r: Any = r) -> None:
            rows.append({"patient_id": int(r.patient_id), "display_name": r.display_name, "alert": alert, "detail": detail})

        days = r.days_since_last_session
        last = getattr(r, "last_session_at", None)
        if today is not None and last is not None and not pd.isna(last):
            days = float((today - pd.Timestamp(last).date()).days)
        if not _finite(days):
            add("no sessions", "no session recorded yet")
        elif days >= rules.no_session_days:
            add("no sessions", f"last session {days:.0f} days ago (alert at {rules.no_session_days:g})")
        if _finite(r.pain_trend) and r.pain_trend >= rules.pain_rise:
            add("pain rising", f"mean pain up {r.pain_trend:.1f} points this week")
        if _finite(r.rom_trend_deg) and r.rom_trend_deg <= -rules.rom_fall_deg:
            add("ROM falling", f"range of motion down {-r.rom_trend_deg:.0f}° this week")
        if _finite(r.compensation_trend) and r.compensation_trend >= rules.compensation_rise:
            add(
                "compensation rising",
                f"compensated reps {100 * r.compensation_rate:.0f}% (was {100 * r.compensation_rate_prev:.0f}%)",
            )
        flagged = getattr(r, "flagged_sessions", 0)
        if _finite(flagged) and flagged > 0:
            add("check sensors", f"{int(flagged)} set(s) in the last 7 days marked 'check your sensors' (left out)")
    return pd.DataFrame(rows, columns=ALERT_COLUMNS)


#: The roster's columns that fit a 1400 px screen with the sidebar open (the rest behind a toggle).
COMPACT_COLUMNS = ("patient", "alerts", "adherence_pct", "latest", "rom_text", "compensation_pct", "latest_pain",
                   "last_session")  # fmt: skip


def roster_table(
    roster: pd.DataFrame,
    alerts: pd.DataFrame,
    *,
    pending: dict[int, int] | None = None,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """The roster as the therapist reads it: percentages, rounded numbers, an alert count per row,
    the latest drill with its stage in the patient's words, readable "last session" text, and the
    number of decisions waiting (``pending``: patient id → count)."""
    counts = alerts.groupby("patient_id").size() if len(alerts) else pd.Series(dtype="int64")
    pending = pending or {}
    stages = roster["latest_stage"] if "latest_stage" in roster else pd.Series([None] * len(roster), index=roster.index)
    latest = [
        f"{drill_label(e, s)} · {wording.stage_words(e, st)}" if isinstance(e, str) and isinstance(st, str)
        else drill_label(e, s) if isinstance(e, str) else "—"
        for e, s, st in zip(roster["latest_exercise"], roster["latest_side"], stages, strict=True)
    ]  # fmt: skip
    rom_text = [
        "—" if not _finite(r) else f"{r:.0f}° / {t:.0f}°" if _finite(t) else f"{r:.0f}°"
        for r, t in zip(roster["latest_rom_deg"], roster["target_rom_deg"], strict=True)
    ]
    out = pd.DataFrame(
        {
            "patient_id": roster["patient_id"].astype("int64"),
            "patient": roster["display_name"],
            "alerts": roster["patient_id"].map(counts).fillna(0).astype("int64"),
            "adherence_pct": roster["adherence_pct"].astype("float64"),
            "sessions_this_week": roster["sessions_this_week"].astype("int64"),
            "prescribed_this_week": roster["prescribed_this_week"].astype("int64"),
            "latest_drill": [
                drill_label(e, s) if isinstance(e, str) else None
                for e, s in zip(roster["latest_exercise"], roster["latest_side"], strict=True)
            ],
            "latest_rom_deg": roster["latest_rom_deg"].astype("float64"),
            "target_rom_deg": roster["target_rom_deg"].astype("float64"),
            "rom_vs_target_pct": roster["rom_vs_target_pct"].astype("float64"),
            "compensation_pct": 100.0 * roster["compensation_rate"].astype("float64"),
            "compensation_trend_pct": 100.0 * roster["compensation_trend"].astype("float64"),
            "latest_pain": roster["latest_pain"].astype("float64"),
            "days_since_last": roster["days_since_last_session"].astype("float64"),
            "this_week": [f"{d} of {p}" for d, p in zip(roster["sessions_this_week"], roster["prescribed_this_week"], strict=True)],
            "latest": latest,
            "rom_text": rom_text,
            "last_session": [wording.days_ago(v, today=today) for v in roster["last_session_at"]],
            "pending": roster["patient_id"].map(lambda p: pending.get(int(p), 0)).astype("int64"),
        }
    )
    return out
