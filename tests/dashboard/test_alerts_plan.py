"""Roster alerts, the weekly plan and progression wiring, on a real seeded store."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from dashboard import alerts, plan, progress
from program import ProgressionRule
from rehab.clinic import sample_clinic, seed_clinic
from store import Store

from .conftest import FAST_HASHER, PASSWORD


def _roster_row(**kw: float) -> dict:
    base = {
        "patient_id": 1, "display_name": "P", "days_since_last_session": 1.0, "pain_trend": 0.0,
        "rom_trend_deg": 0.0, "compensation_trend": 0.0, "compensation_rate": 0.1, "compensation_rate_prev": 0.1,
    }  # fmt: skip
    base.update(kw)
    return base


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (_roster_row(), []),
        (_roster_row(days_since_last_session=math.nan), ["no sessions"]),
        (_roster_row(days_since_last_session=4.2), ["no sessions"]),
        (_roster_row(pain_trend=1.5), ["pain rising"]),
        (_roster_row(rom_trend_deg=-7.0), ["ROM falling"]),
        (_roster_row(rom_trend_deg=7.0), []),
        (_roster_row(compensation_trend=0.2, compensation_rate=0.3), ["compensation rising"]),
        (_roster_row(days_since_last_session=9.0, pain_trend=2.0), ["no sessions", "pain rising"]),
    ],
)
def test_roster_alerts(row: dict, expected: list[str]) -> None:
    found = alerts.roster_alerts(pd.DataFrame([row]))
    assert list(found["alert"]) == expected
    assert list(found.columns) == alerts.ALERT_COLUMNS


def test_alert_threshold_is_a_parameter() -> None:
    df = pd.DataFrame([_roster_row(days_since_last_session=4.0)])
    assert len(alerts.roster_alerts(df, alerts.AlertRules(no_session_days=5))) == 0
    assert "4 days" in alerts.roster_alerts(df, alerts.AlertRules(no_session_days=3))["detail"].iloc[0]
    with pytest.raises(alerts.AlertRuleError, match="no_session_days"):
        alerts.AlertRules(no_session_days=0)


def test_roster_table_and_plan_on_a_real_store(tmp_path, session_pool) -> None:
    now = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)  # a Thursday
    with Store(data_dir=tmp_path, password_hasher=FAST_HASHER) as store:
        clinic = seed_clinic(store, sample_clinic(sessions_per_patient=6), password=PASSWORD, today=now.date(), factory=session_pool)
        tid = clinic.therapist_ids["therapist1"]
        roster = store.roster(tid, now=now)
        found = alerts.roster_alerts(roster)
        table = alerts.roster_table(roster, found)
        assert len(table) == 3
        assert table["compensation_pct"].to_numpy() == pytest.approx(100 * roster["compensation_rate"].to_numpy())
        assert (table["alerts"].sum()) == len(found)
        pid = clinic.patient_ids["patient1"]
        items = plan.weekly_plan(store, pid, now=now)
        assert [i.exercise for i in items] == ["knee_raise", "hip_extension"]
        history = store.patient_history(pid)
        monday = pd.Timestamp("2026-11-23", tz="UTC")
        for item in items:
            expected = ((history.started_at >= monday) & (history.exercise == item.exercise)).sum()
            assert item.done_this_week == expected
        assert sum(i.done_this_week for i in items) == 3  # Mon, Tue, Wed sessions (days 3..1 before Thu)
        assert items[0].stage_title and items[0].instructions


def test_progression_suggestion_accept_moves_stage(tmp_path, session_pool) -> None:
    now = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)
    with Store(data_dir=tmp_path, password_hasher=FAST_HASHER) as store:
        clinic = seed_clinic(
            store, sample_clinic(patients_per_therapist=1, sessions_per_patient=6), password=PASSWORD, today=now.date(),
            factory=session_pool,
        )  # fmt: skip
        pid = clinic.patient_ids["patient1"]
        therapist = store.get_user(clinic.therapist_ids["therapist1"])
        rx = next(r for r in store.list_prescriptions(pid) if r.exercise == "knee_raise")
        # a lenient rule so the seeded sessions qualify: the wiring, not the clinical thresholds, is under test
        rule = ProgressionRule(last_n_sessions=1, min_reps_fraction=0.1, rom_fraction_of_target=0.1, max_compensation_rate=1.0)
        result = progress.check_progression(store.patient_history(pid), rx, rule)
        assert result.ready and result.suggestion is not None
        assert result.suggestion.kind == "stage" and result.suggestion.to_stage == "floor"
        decided = progress.decide(store, therapist, rx, result.suggestion, accept=True)
        assert decided.status == "accepted" and decided.decided_by == therapist.id
        assert store.get_prescription(rx.id).stage == "floor"
