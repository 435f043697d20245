"""``Store``: the one object the dashboard, recorder and CLI use to read and write everything.

Sessions are written transactionally with their Parquet directory: files are staged and fsynced,
the rows are inserted, the directory is renamed into place, then the transaction commits; any
failure before the commit removes the files, so a reader never sees a row without its files or
files without a row. Orphans left by a crash are removed on open (after a grace period that
protects other processes' writes in flight).

The Store is a thin facade: each job lives in its own module (accounts, access, prescriptions,
sessions, pain, progression, reports, assessments; and for home hubs and the clinic server: devices,
inbox, outbox, plans, ratelimits) as a mixin over one engine (``store._base.StoreBase``).
"""

from __future__ import annotations

from pathlib import Path

from argon2 import PasswordHasher

from store._base import ORPHAN_GRACE_S
from store.access import AccessMixin
from store.accounts import AccountsMixin
from store.assessments import AssessmentsMixin
from store.devices import DevicesMixin
from store.inbox import InboxMixin
from store.outbox import OutboxMixin
from store.pain import PainMixin
from store.plans import PlansMixin
from store.prescriptions import PrescriptionsMixin
from store.progression import ProgressionMixin
from store.ratelimits import RateLimitsMixin
from store.reports import ReportsMixin
from store.sessions import SessionsMixin
from store.signin import SignInMixin


class Store(
    SignInMixin, AccountsMixin, AccessMixin, PrescriptionsMixin, InboxMixin, SessionsMixin, PainMixin, ProgressionMixin,
    ReportsMixin, AssessmentsMixin, DevicesMixin, OutboxMixin, PlansMixin, RateLimitsMixin,
):  # fmt: skip
    """Users (+ sign-in state), prescriptions, sessions (+ Parquet files), pain reports, progression
    decisions and assessments.

    ``Store()`` opens the default SQLite file in the data directory; ``Store(url)`` or
    ``$REHAB_DATABASE_URL`` selects PostgreSQL (``postgresql+psycopg://...``); ``files_url`` or
    ``$REHAB_FILES_URL`` puts the session files in another directory or in S3-compatible object
    storage (store/files/). The schema is upgraded to the latest migration on open unless
    ``migrate=False``; session folders left by a crash are removed after ``orphan_grace_s``
    (``clean_on_open=False`` leaves that to a periodic ``clean_orphans()``, as the clinic server does:
    it lists every stored session).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        data_dir: Path | str | None = None,
        migrate: bool = True,
        password_hasher: PasswordHasher | None = None,
        orphan_grace_s: float = ORPHAN_GRACE_S,
        files_url: str | None = None,
        clean_on_open: bool = True,
    ) -> None:
        super().__init__(url, data_dir=data_dir, migrate=migrate, password_hasher=password_hasher,
                         orphan_grace_s=orphan_grace_s, files_url=files_url)
        if clean_on_open:
            self.clean_orphans(older_than_s=orphan_grace_s)

    def __enter__(self) -> Store:
        return self
