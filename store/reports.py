"""Tables for the dashboard: a patient's reps and history, a therapist's roster."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import case, func, select

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
        """One row per patient of ``therapist_id``; see ``tables.ROSTER_COLUMNS`` and docs/store.md."""
        now = _require_aware("now", now) if now is not None else utcnow()
        week_start = (now - dt.timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        window_start = min(week_start, now - dt.timedelta(days=14))
        with self.engine.connect() as conn:
            patients = conn.execute(
                select(UserRow.id, UserRow.username, UserRow.display_name)
                .where(UserRow.therapist_id == therapist_id, UserRow.role == "patient", UserRow.active.is_(True))
                .order_by(UserRow.display_name, UserRow.id)
            ).all()
            ids = [p.id for p in patients]
            if not ids:
                return pd.DataFrame(columns=tables.ROSTER_COLUMNS)
            # what trends count: finished training sets whose sensors looked right (store/progression.trend_rows)
            counted = (
                SessionRow.status != "recording", SessionRow.started_at <= now, SessionRow.sensor_flagged.is_(False),
                SessionRow.assessment_id.is_(None),
            )  # fmt: skip
            flagged = conn.execute(
                select(SessionRow.patient_id, func.count())
                .where(
                    SessionRow.patient_id.in_(ids), SessionRow.sensor_flagged.is_(True),
                    SessionRow.started_at >= now - dt.timedelta(days=7), SessionRow.started_at <= now,
                )
                .group_by(SessionRow.patient_id)
            ).all()  # fmt: skip
            base = select(
                SessionRow.patient_id, SessionRow.exercise, SessionRow.side, SessionRow.started_at,
                SessionRow.rep_count, SessionRow.compensation_count, SessionRow.rom_deg,
                PainReportRow.pain_before, PainReportRow.pain_after, SessionRow.stage,
            ).outerjoin(PainReportRow, PainReportRow.session_id == SessionRow.id).where(
                SessionRow.patient_id.in_(ids), *counted
            )  # fmt: skip
            recent = conn.execute(base.where(SessionRow.started_at >= window_start)).all()
            ranked = (
                select(
                    SessionRow.id,
                    func.row_number()
                    .over(partition_by=SessionRow.patient_id, order_by=(SessionRow.started_at.desc(), SessionRow.id.desc()))
                    .label("rn"),
                )
                .where(SessionRow.patient_id.in_(ids), *counted)
                .subquery()
            )
            latest = conn.execute(
                base.add_columns(SessionRow.id)
                .join(ranked, ranked.c.id == SessionRow.id)
                .where(ranked.c.rn == 1)
            ).all()
            prescriptions = conn.execute(
                select(
                    PrescriptionRow.patient_id, PrescriptionRow.exercise, PrescriptionRow.side,
                    PrescriptionRow.sessions_per_week, PrescriptionRow.target_rom_deg, PrescriptionRow.id,
                ).where(PrescriptionRow.patient_id.in_(ids), PrescriptionRow.active.is_(True))
            ).all()  # fmt: skip
        return tables.roster_frame(
            list(patients), list(recent), list(latest), list(prescriptions), now=now, week_start=week_start,
            flagged=list(flagged),
        )  # fmt: skip
