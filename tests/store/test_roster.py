"""The therapist roster: adherence this week, latest ROM vs target, compensation and pain trends."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from store import ROSTER_COLUMNS, Store

from .conftest import T0


def test_roster_figures(store: Store, clinic: dict, analysis_factory) -> None:  # type: ignore[no-untyped-def]
    thera, alice = clinic["therapist"], clinic["alice"]
    carol = store.create_user("carol", "carol-pw-123", role="patient", display_name="Carol", therapist_id=thera.id)
    store.add_prescription(alice.id, "knee_raise", "left", sets=2, reps=6, target_rom_deg=80.0, sessions_per_week=3)
    store.add_prescription(alice.id, "deep_squat", "left", sets=1, reps=5, target_rom_deg=100.0, sessions_per_week=2)
    now = T0 + dt.timedelta(days=3, hours=2)  # Thursday; week started Monday T0 00:00
    # previous week (8-13 days before now): 2 knee raises, ROM 60, 1/6 compensated each, pain 5
    for d in (9, 12):
        sid = store.save_session(alice.id, analysis_factory(rom_deg=60.0), None, started_at=now - dt.timedelta(days=d))
        store.set_pain_report(sid, pain_before=6, pain_after=5)
    # this week: 4 knee raises (capped at 3 for adherence), ROM 70; none compensated in the last
    for i, d in enumerate((3.0, 2.0, 1.0, 0.5)):
        a = analysis_factory(rom_deg=70.0 + i, seed=i)
        sid = store.save_session(alice.id, a, None, started_at=now - dt.timedelta(days=d))
        store.set_pain_report(sid, pain_before=3, pain_after=2 if i < 3 else None)
    # a session in the future relative to `now` is ignored
    store.save_session(alice.id, analysis_factory(rom_deg=10.0), None, started_at=now + dt.timedelta(days=1))
    roster = store.roster(thera.id, now=now)
    assert list(roster.columns) == ROSTER_COLUMNS
    assert list(roster.username) == ["alice", "carol"]  # sorted by display name; bob belongs to another therapist
    a = roster.iloc[0]
    assert a.sessions_this_week == 4 and a.prescribed_this_week == 5
    assert a.adherence_pct == pytest.approx(100 * 3 / 5)
    assert a.latest_rom_deg == pytest.approx(73.0) and a.target_rom_deg == 80.0
    assert a.rom_vs_target_pct == pytest.approx(100 * 73 / 80)
    assert a.rom_trend_deg == pytest.approx((70 + 71 + 72 + 73) / 4 - 60)
    assert a.days_since_last_session == pytest.approx(0.5)
    assert a.latest_exercise == "knee_raise" and a.last_session_at == now - dt.timedelta(days=0.5)
    # every analysis has 2 of 6 reps compensated (conftest), so the rate is flat
    assert a.compensation_rate == pytest.approx(2 / 6) and a.compensation_trend == pytest.approx(0.0)
    assert a.latest_pain == 3.0  # no "after" score on the latest session → "before"
    assert a.pain_trend == pytest.approx((2 + 2 + 2 + 3) / 4 - 5)
    c = roster.iloc[1]
    assert c.patient_id == carol.id and c.sessions_this_week == 0 and c.prescribed_this_week == 0
    assert math.isnan(c.adherence_pct) and math.isnan(c.days_since_last_session) and math.isnan(c.latest_pain)
    assert roster.dtypes["adherence_pct"] == "float64"


def test_roster_empty(store: Store, clinic: dict) -> None:
    r = store.roster(clinic["admin"].id)
    assert len(r) == 0 and list(r.columns) == ROSTER_COLUMNS
