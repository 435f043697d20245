"""The hub's link to its clinic: pair once, then rounds of "fetch the plan, send what waits".

``pair`` exchanges a one-time code for a device token and writes the pairing file. ``SyncHub``
runs rounds: download the patient's plan if it changed (ETag) and apply it to the local store (the
clinic is the authority for prescriptions), then send every waiting session (the hub is the
authority for recordings). A failed round backs off exponentially (service/sync/policy.py) and
remembers the problem in words the patient can read (service/sync/state.py). Recording never
depends on any of this: the hub records with no network at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from service.sync.client import ClinicClient
from service.sync.errors import ClinicBusyError, ClinicError, HubStoreError
from service.sync.outbox import SendReport, send_waiting
from service.sync.pairing import HubPairing, check_server_url
from service.sync.policy import SyncPolicy
from service.sync.state import HubState
from store import Store, StoreError
from store.plans import PlanChange

logger = logging.getLogger(__name__)


async def pair(
    data_dir: Path, *, code: str, server_url: str, device_name: str, local_patient: Callable[[str, str], int],
    ca_file: str | None = None, policy: SyncPolicy | None = None,
) -> HubPairing:  # fmt: skip
    """Check the server (certificate, reachability), redeem ``code``, save the pairing (owner-only).

    ``local_patient(username, display_name)`` gives the hub's own account for the clinic's patient."""
    server_url = check_server_url(server_url)
    ca = str(Path(ca_file).resolve()) if ca_file else None
    async with ClinicClient(server_url, ca_file=ca, policy=policy) as client:
        await client.health()  # a certificate problem shows here, before the one-time code is spent
        answer = await client.enrol(code, device_name)
    patient = answer["patient"]
    local_id = await asyncio.to_thread(local_patient, str(patient["username"]), str(patient["display_name"]))
    pairing = HubPairing(
        server_url=server_url, token=answer["token"], device_id=int(answer["device_id"]),
        clinic_patient_id=int(patient["id"]), clinic_username=str(patient["username"]),
        display_name=str(patient["display_name"]), local_patient_id=local_id, ca_file=ca,
        paired_at=HubPairing.now_text(),
    )  # fmt: skip
    pairing.save(data_dir)
    HubState().save(data_dir)  # a new pairing starts with a clean slate
    return pairing


@dataclass(slots=True)
class RoundResult:
    ok: bool
    sent: SendReport | None
    plan: PlanChange | None
    error: ClinicError | None
    next_round_in_s: float


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SyncHub:
    """Rounds of plan download + outbox upload for the paired patient."""

    def __init__(self, store: Store, data_dir: Path, *, policy: SyncPolicy | None = None) -> None:
        self.store = store
        self.data_dir = Path(data_dir)
        self.policy = policy or SyncPolicy()
        self.pairing = HubPairing.load(self.data_dir)

    def client(self) -> ClinicClient:
        p = self.pairing
        return ClinicClient(p.server_url, token=p.token, ca_file=p.ca_file, policy=self.policy)

    async def _pull_plan(self, client: ClinicClient, state: HubState) -> PlanChange | None:
        p = self.pairing
        answer = await client.plan(p.clinic_patient_id, state.plan_etag)
        state.plan_checked_at = _now().isoformat(timespec="seconds")
        if answer.plan is None:
            return None
        change = await asyncio.to_thread(self.store.apply_plan, p.local_patient_id, answer.plan)
        state.plan_etag = answer.etag
        state.stage_changes = list(answer.plan.get("stage_changes", []))
        if change.changed:
            state.plan_changed_at = state.plan_checked_at
            logger.info("plan from the clinic: %d added, %d changed, %d stopped", change.added, change.updated,
                        change.deactivated)  # fmt: skip
        return change

    async def sync_once(self) -> RoundResult:
        """One round; never raises for a clinic problem (it is recorded in the state file)."""
        state = HubState.load(self.data_dir)
        p = self.pairing
        plan: PlanChange | None = None
        sent: SendReport | None = None
        try:
            try:
                async with self.client() as client:
                    plan = await self._pull_plan(client, state)
                    sent = await send_waiting(
                        self.store, client, local_patient_id=p.local_patient_id, clinic_patient_id=p.clinic_patient_id,
                        policy=self.policy,
                    )  # fmt: skip
            except StoreError as exc:
                raise HubStoreError(f"{type(exc).__name__}: {exc}") from exc
        except ClinicError as exc:
            state.failures += 1
            wait = self.policy.backoff_s(state.failures)
            if isinstance(exc, ClinicBusyError) and exc.retry_after_s:
                wait = max(wait, exc.retry_after_s)
            now = _now()
            state.last_error_kind, state.last_error, state.last_error_detail = type(exc).__name__, exc.plain, str(exc)
            state.last_error_at = now.isoformat(timespec="seconds")
            state.next_round_at = (now + dt.timedelta(seconds=wait)).isoformat(timespec="seconds")
            state.save(self.data_dir)
            logger.warning("sync round failed (%s); next round in %.0f s", exc, wait)
            return RoundResult(False, sent, plan, exc, wait)
        now = _now()
        state.failures = 0
        state.last_contact_at = now.isoformat(timespec="seconds")
        state.last_error_kind = state.last_error = state.last_error_detail = state.last_error_at = None
        state.next_round_at = (now + dt.timedelta(seconds=self.policy.poll_interval_s)).isoformat(timespec="seconds")
        state.save(self.data_dir)
        return RoundResult(True, sent, plan, None, self.policy.poll_interval_s)

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until ``stop`` is set; a revoked pairing stops the loop (pair again)."""
        while not stop.is_set():
            result = await self.sync_once()
            if result.error is not None and not result.error.retry:
                logger.error("the clinic refuses this hub (%s); pair it again: rehab hub pair CODE --server URL", result.error)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), result.next_round_in_s)
