"""Send what waits in the outbox: every finished session the clinic has not acknowledged, oldest first.

Per session: export the bundle from the store, count the attempt (before sending, so a kill
mid-upload still counts), ask the clinic whether it already has that uid (a crash after the clinic
stored it but before we noted it costs one small request, not a re-upload), upload, and note the
clinic's receipt. The clinic stores a uid once, so any retry — after a timeout, a kill of either
side, a second hub process — is safe.

A session is sent once it has settled (``SyncPolicy.settle_s`` after it ended, or as soon as the
patient gave the "pain after" score), so the score goes with it.

A failure of the link (no network, bad certificate, revoked token, busy server) ends the round:
the caller backs off. A refusal of one session (damaged in transit: sent again at once up to
``digest_retries`` times; malformed or conflicting: retried after a per-session backoff) does not
hold up the others.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field

from service.sync.client import ClinicClient
from service.sync.errors import SessionRejectedError
from service.sync.policy import SyncPolicy
from store import Store
from store.bundle import pack, sha256_hex

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class SendReport:
    sent: list[str] = field(default_factory=list)  # stored by the clinic now
    already: list[str] = field(default_factory=list)  # the clinic had them (a retry)
    rejected: dict[str, str] = field(default_factory=dict)  # uid → why (retried later)


async def send_one(store: Store, client: ClinicClient, clinic_patient_id: int, uid: str, policy: SyncPolicy) -> bool:
    """Deliver one session; True if the clinic stored it now, False if it already had it.

    Raises SessionRejectedError for a refusal of this session, other ClinicErrors for the link."""
    data = await asyncio.to_thread(lambda: pack(store.export_bundle(uid)))
    digest = sha256_hex(data)
    await asyncio.to_thread(store.outbox_attempt, uid)
    receipt = await client.receipt(clinic_patient_id, uid)
    if receipt is None:
        for attempt in range(policy.digest_retries + 1):
            try:
                receipt = await client.upload(clinic_patient_id, uid, data)
                break
            except SessionRejectedError as exc:
                if exc.status != 422 or attempt == policy.digest_retries:
                    raise
                logger.warning("session %s arrived damaged at the clinic; sending it again", uid)
    assert receipt is not None
    if receipt.get("content_sha256") != digest:
        raise SessionRejectedError(409, f"the clinic holds a different session under uid {uid}")
    await asyncio.to_thread(
        store.outbox_acknowledged, uid, content_sha256=digest, clinic_session_id=receipt.get("session_id")
    )
    return bool(receipt.get("created", False))


async def send_waiting(
    store: Store, client: ClinicClient, *, local_patient_id: int, clinic_patient_id: int,
    policy: SyncPolicy, now: dt.datetime | None = None,
) -> SendReport:  # fmt: skip
    """Send every waiting session that is due; link failures propagate (the round ends)."""
    now = now or dt.datetime.now(dt.UTC)
    report = SendReport()
    settled = now - dt.timedelta(seconds=policy.settle_s) if policy.settle_s > 0 else None
    waiting = await asyncio.to_thread(store.outbox_waiting, local_patient_id, due_at=now, settled_before=settled)
    for item in waiting:
        try:
            created = await send_one(store, client, clinic_patient_id, item.uid, policy)
        except SessionRejectedError as exc:
            retry_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=policy.backoff_s(item.attempts + 1))
            await asyncio.to_thread(store.outbox_failed, item.uid, str(exc), retry_at=retry_at)
            report.rejected[item.uid] = str(exc)
            logger.warning("session %s refused by the clinic (%s); next try at %s", item.uid, exc, retry_at)
            continue
        (report.sent if created else report.already).append(item.uid)
    return report
