"""Tables for the dashboard: a patient's reps and history, a therapist's roster."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import and_, case, func, select, text
from sqlalchemy.orm import aliased

from store import convert, tables
from store._base import (
    StoreBase,
    _require_aware,
)
from store.models import (
    PainReportRow,
    PrescriptionRow,
    RepRow,
    SessionRow,
    UserRow,
    utcnow,
)

#: PostgreSQL working memory for the roster's query (its default, 4 MB, spills a clinic's two weeks to disk).
ROSTER_WORK_MEM = "64MB"


class ReportsMixin(StoreBase):
    """Read-only tables (one query each) the dashboard plots and lists."""

    def patient_reps(self, patient_id: int) -> pd.DataFrame:
        """Every rep of every session of a patient: ``session_id`` + the Rep fields (tidy, one row per rep)."""
        rep_cols = [RepRow.rep_index.label("index"), *(getattr(RepRow, n) for n in convert.REP_FIELDS[1:])]
        stmt = (
            select(RepRow.session_id, *rep_cols)
            .join(SessionRow, SessionRow.id == RepRow.session_id)
            .where(SessionRow.patient_id == patient_id)
            .order_by(SessionRow.started_at, SessionRow.id, RepRow.rep_index)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        df = pd.DataFrame.from_records([tuple(r) for r in rows], columns=["session_id", *convert.REP_FIELDS])
        for c in [*convert.REP_FLOATS, "compensation_onset_hip_deg"]:
            df[c] = pd.to_numeric(df[c]).astype("float64")
        for c in ("session_id", "index", "set_index"):
            df[c] = df[c].astype("int64")
        for c in ("partial", "compensation"):
            df[c] = df[c].astype(bool)
        for c in convert.REP_TEXTS:
            df[c] = df[c].astype(object)
        return df

    def patient_history(self, patient_id: int) -> pd.DataFrame:
        """One row per session (oldest first) with summary, prescription snapshot and pain."""
        cols = [
            SessionRow.id.label("session_id"),
            *(getattr(SessionRow, c) for c in tables.HISTORY_SESSION_COLUMNS),
            PainReportRow.pain_before,
            PainReportRow.pain_after,
            PainReportRow.note.label("pain_note"),
            PainReportRow.difficulty,
        ]
        stmt = (
            select(*cols)
            .outerjoin(PainReportRow, PainReportRow.session_id == SessionRow.id)
            .where(SessionRow.patient_id == patient_id)
            .order_by(SessionRow.started_at, SessionRow.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return tables.history_frame(list(rows))

    def history_version(self, patient_id: int) -> tuple[object, ...]:
        """A cheap stamp that changes whenever ``patient_history(patient_id)`` would: sessions added,
        deleted, finished, marked or linked to an assessment, pain/difficulty reported (one query;
        the dashboard caches the history under it)."""
        stmt = (
            select(
                func.count(SessionRow.id), func.max(SessionRow.id), func.sum(case((SessionRow.status == "recording", 1), else_=0)),
                func.sum(case((SessionRow.sensor_flagged.is_(True), 1), else_=0)), func.count(SessionRow.assessment_id),
                func.count(PainReportRow.id), func.max(PainReportRow.created_at),
            )
            .select_from(SessionRow)
            .outerjoin(PainReportRow, PainReportRow.session_id == SessionRow.id)
            .where(SessionRow.patient_id == patient_id)
        )  # fmt: skip
        with self.engine.connect() as conn:
            return tuple(str(v) for v in conn.execute(stmt).one())

    def roster(self, therapist_id: int, *, now: dt.datetime | None = None) -> pd.DataFrame:
        """One row per patient of ``therapist_id``; see ``tables.ROSTER_COLUMNS`` and docs/store.md.

        Aggregated in the database (one row per patient and drill for the last two weeks, the latest
        session per patient through the (patient_id, started_at) index), so a 10,000-patient roster
        over a year of sessions moves tens of thousands of rows, not millions."""
        now = _require_aware("now", now) if now is not None else utcnow()
        week_start = (now - dt.timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        last7, prev7 = now - dt.timedelta(days=7), now - dt.timedelta(days=14)
        window_start = min(week_start, prev7)
        mine = (
            select(UserRow.id)
            .where(UserRow.therapist_id == therapist_id, UserRow.role == "patient", UserRow.active.is_(True))
            .scalar_subquery()
        )
        # what trends count: finished training sets whose sensors looked right (store/progression.trend_rows);
        # sets marked "check your sensors" are only counted, in flagged_sessions
        done = (
            SessionRow.status != "recording", SessionRow.started_at <= now, SessionRow.sensor_flagged.is_(False),
            SessionRow.assessment_id.is_(None),
        )  # fmt: skip
        pain = func.coalesce(PainReportRow.pain_after, PainReportRow.pain_before)

        def in_window(value: Any, start: dt.datetime, end: dt.datetime | None = None) -> Any:
            cond = SessionRow.started_at >= start if end is None else and_(SessionRow.started_at >= start,
                                                                            SessionRow.started_at < end)  # fmt: skip
            return case((cond, value))

        per_drill = (
            select(
                SessionRow.patient_id, SessionRow.exercise, SessionRow.side,
                func.count(in_window(1, week_start)).label("n_week"),
                func.sum(in_window(SessionRow.rep_count, last7)).label("reps_a"),
                func.sum(in_window(SessionRow.compensation_count, last7)).label("comp_a"),
                func.sum(in_window(SessionRow.rep_count, prev7, last7)).label("reps_b"),
                func.sum(in_window(SessionRow.compensation_count, prev7, last7)).label("comp_b"),
                func.sum(in_window(pain, last7)).label("pain_a_sum"),
                func.count(in_window(pain, last7)).label("pain_a_n"),
                func.sum(in_window(pain, prev7, last7)).label("pain_b_sum"),
                func.count(in_window(pain, prev7, last7)).label("pain_b_n"),
                func.sum(in_window(SessionRow.rom_deg, last7)).label("rom_a_sum"),
                func.count(in_window(SessionRow.rom_deg, last7)).label("rom_a_n"),
                func.sum(in_window(SessionRow.rom_deg, prev7, last7)).label("rom_b_sum"),
                func.count(in_window(SessionRow.rom_deg, prev7, last7)).label("rom_b_n"),
            )
            .outerjoin(PainReportRow, PainReportRow.session_id == SessionRow.id)
            .where(SessionRow.patient_id.in_(mine), SessionRow.started_at >= window_start, *done)
            .group_by(SessionRow.patient_id, SessionRow.exercise, SessionRow.side)
        )  # fmt: skip
        latest_of = aliased(SessionRow)
        latest_id = (  # one backward index probe per patient
            select(latest_of.id)
            .where(
                latest_of.patient_id == UserRow.id, latest_of.status != "recording", latest_of.started_at <= now,
                latest_of.sensor_flagged.is_(False), latest_of.assessment_id.is_(None),
            )  # fmt: skip
            .order_by(latest_of.started_at.desc(), latest_of.id.desc())
            .limit(1)
            .correlate(UserRow)
            .scalar_subquery()
        )
        latest = (
            select(
                SessionRow.patient_id, SessionRow.exercise, SessionRow.side, SessionRow.started_at, SessionRow.rom_deg,
                PainReportRow.pain_before, PainReportRow.pain_after, SessionRow.stage,
            )
            .select_from(UserRow)
            .join(SessionRow, SessionRow.id == latest_id)
            .outerjoin(PainReportRow, PainReportRow.session_id == SessionRow.id)
            .where(UserRow.therapist_id == therapist_id, UserRow.role == "patient", UserRow.active.is_(True))
        )  # fmt: skip
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":  # the two-week hash join fits in memory, no temp files
                conn.execute(text(f"SET LOCAL work_mem = '{ROSTER_WORK_MEM}'"))
            patients = conn.execute(
                select(UserRow.id, UserRow.username, UserRow.display_name)
                .where(UserRow.id.in_(mine)).order_by(UserRow.display_name, UserRow.id)
            ).all()  # fmt: skip
            if not patients:
                return pd.DataFrame(columns=tables.ROSTER_COLUMNS)
            drills = conn.execute(per_drill).all()
            latest_rows = conn.execute(latest).all()
            flagged = conn.execute(
                select(SessionRow.patient_id, func.count())
                .where(
                    SessionRow.patient_id.in_(mine), SessionRow.sensor_flagged.is_(True),
                    SessionRow.started_at >= last7, SessionRow.started_at <= now,
                )
                .group_by(SessionRow.patient_id)
            ).all()  # fmt: skip
            prescriptions = conn.execute(
                select(
                    PrescriptionRow.patient_id, PrescriptionRow.exercise, PrescriptionRow.side,
                    PrescriptionRow.sessions_per_week, PrescriptionRow.target_rom_deg, PrescriptionRow.id,
                ).where(PrescriptionRow.patient_id.in_(mine), PrescriptionRow.active.is_(True))
            ).all()  # fmt: skip
        return tables.roster_frame(
            list(patients), list(drills), list(latest_rows), list(prescriptions), now=now, flagged=list(flagged)
        )  # fmt: skip
