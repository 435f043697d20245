"""The hub's link to the clinic in words a patient can read (`rehab hub status`, the Today page).

    Paired with Riverside Physio (https://clinic.example.org) as Alex.
    3 sessions waiting to be sent to your clinic.
    12 sessions sent; the last one today at 10:15.
    Problem: could not reach your clinic (no network, or the clinic's server is down).
      The hub tries again by itself (next try in 4 minutes). Nothing is lost: your sessions stay here.
    Your exercise plan was last updated by your clinic yesterday at 18:02.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.sync.pairing import HubPairing
from service.sync.state import HubState
from store import Store
from store.records import OutboxSummary


def _parse(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def when(t: dt.datetime | None, now: dt.datetime) -> str:
    """'today at 10:15', 'yesterday at 18:02', 'on 3 March at 09:00' (local time of this computer)."""
    if t is None:
        return "never"
    local, today = t.astimezone(), now.astimezone().date()
    clock = local.strftime("%H:%M")
    if local.date() == today:
        return f"today at {clock}"
    if local.date() == today - dt.timedelta(days=1):
        return f"yesterday at {clock}"
    return f"on {local.day} {local:%B} at {clock}"


def within(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = round(minutes / 60)
    return f"{hours} hour{'s' if hours != 1 else ''}"


def sessions(n: int) -> str:
    return f"{n} session{'s' if n != 1 else ''}"


@dataclass(frozen=True, slots=True)
class HubStatus:
    paired: bool
    pairing: HubPairing | None
    outbox: OutboxSummary | None
    state: HubState

    @classmethod
    def read(cls, store: Store, data_dir: Path | None = None) -> HubStatus:
        data_dir = Path(data_dir) if data_dir is not None else store.data_dir
        if not HubPairing.exists(data_dir):
            return cls(False, None, None, HubState.load(data_dir))
        pairing = HubPairing.load(data_dir)
        return cls(True, pairing, store.outbox_summary(pairing.local_patient_id), HubState.load(data_dir))

    @classmethod
    def for_patient(cls, store: Store, patient_id: int, data_dir: Path | None = None) -> HubStatus | None:
        """The status if this hub is paired for ``patient_id``; None otherwise (a clinic's dashboard,
        another patient, an unpaired hub)."""
        data_dir = Path(data_dir) if data_dir is not None else store.data_dir
        if not HubPairing.exists(data_dir):
            return None
        status = cls.read(store, data_dir)
        return status if status.pairing is not None and status.pairing.local_patient_id == patient_id else None

    def problem(self) -> str | None:
        """The last round's problem in the patient's words, with what happens next; None if all is well."""
        s = self.state
        if not s.last_error:
            return None
        if s.last_error_kind in ("AccessRevokedError", "WrongPatientError"):
            return f"Problem: {s.last_error}. Your sessions stay on this computer until it is paired again."
        return f"Problem: {s.last_error}. The hub tries again by itself; nothing is lost."

    @property
    def waiting(self) -> int:
        return self.outbox.waiting if self.outbox else 0

    def headline(self) -> str:
        """One line for the patient's Today page."""
        if not self.paired:
            return "This hub is not connected to a clinic."
        if self.waiting:
            return f"{sessions(self.waiting)} waiting to be sent to your clinic."
        return "All your sessions have been sent to your clinic."

    def lines(self, now: dt.datetime | None = None) -> list[str]:
        now = now or dt.datetime.now(dt.UTC)
        if not self.paired or self.pairing is None or self.outbox is None:
            return [self.headline(), "To connect it, ask your therapist for a pairing code, then run: "
                                     "rehab hub pair CODE --server URL"]  # fmt: skip
        p, o, s = self.pairing, self.outbox, self.state
        out = [f"Paired with your clinic at {p.server_url} as {p.display_name}.", self.headline()]
        if o.sent:
            out.append(f"{sessions(o.sent)} sent; the last one {when(o.last_sent_at, now)}.")
        if s.last_error:
            out.append(f"Problem: {s.last_error}.")
            nxt = _parse(s.next_round_at)
            if s.last_error_kind in ("AccessRevokedError", "WrongPatientError"):
                out.append("  The hub has stopped sending. Your sessions stay here until it is paired again.")
            else:
                soon = f" (next try in {within((nxt - now).total_seconds())})" if nxt and nxt > now else ""
                out.append(f"  The hub tries again by itself{soon}. Nothing is lost: your sessions stay here.")
        elif o.last_error:
            out.append(f"One session could not be sent yet ({o.last_error}); the hub will try it again.")
        contact = _parse(s.last_contact_at)
        if contact is not None:
            out.append(f"Last contact with your clinic {when(contact, now)}.")
        changed = _parse(s.plan_changed_at)
        if changed is not None:
            out.append(f"Your exercise plan was last updated by your clinic {when(changed, now)}.")
        return out

    def to_json(self) -> dict[str, Any]:
        o = self.outbox
        return {
            "paired": self.paired,
            "server_url": self.pairing.server_url if self.pairing else None,
            "waiting": self.waiting,
            "sent": o.sent if o else 0,
            "last_sent_at": o.last_sent_at.isoformat() if o and o.last_sent_at else None,
            "last_error": self.state.last_error,
            "last_error_detail": self.state.last_error_detail,
            "last_contact_at": self.state.last_contact_at,
            "plan_changed_at": self.state.plan_changed_at,
            "headline": self.headline(),
        }
