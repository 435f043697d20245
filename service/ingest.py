"""The ingestion service: sensors found and assigned once, sets started and stopped on request,
live state always available. `rehab serve` wraps it in the loopback HTTP API (service/api.py);
`rehab record` drives one set through it directly."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bleak.backends.device import BLEDevice

from sensors.ble import BackendOptions, backend_options
from sensors.profiles import Profile, get_profile
from service.assignment import (
    Assignment,
    AssignmentStore,
    Candidate,
    MotionScore,
    SensorRef,
    assign_by_name,
    discover,
    identify_by_motion,
    resolve,
)
from service.datadir import recordings_dir
from service.errors import AssignmentError, SetStartError, SetStateError
from service.finish import SessionStore, SetResult, recover_unfinished
from service.link import ReconnectPolicy
from service.recorder import SetRecorder, SetRequest

logger = logging.getLogger(__name__)

#: Finished sets (with their raw data, for GET /sets/{uid}/raw.csv) kept in memory by the service.
KEEP_RESULTS = 20


class IngestService:
    """Owns the backend choice, the data dir, the store and at most one running set."""

    def __init__(
        self,
        *,
        transport: str | None = None,
        data_root: Path | None = None,
        store: SessionStore | None = None,
        store_factory: Callable[[], SessionStore] | None = None,
        assignments: AssignmentStore | None = None,
        policy: ReconnectPolicy | None = None,
        scan_timeout_s: float = 3.0,
        source: str | None = None,
        live: bool = True,
    ) -> None:
        self.backend: BackendOptions = backend_options(transport)
        self.root = data_root if data_root is not None else recordings_dir()
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._store = store
        self._store_factory = store_factory
        self.assignments = assignments or AssignmentStore()
        self.policy = policy or ReconnectPolicy()
        self.scan_timeout_s = scan_timeout_s
        self.source = source or ("virtual" if self.backend.is_virtual else "ble")
        self.live = live
        self.recorder: SetRecorder | None = None
        self.task: asyncio.Task[SetResult] | None = None
        self.last_result: SetResult | None = None
        self.results: OrderedDict[str, SetResult] = OrderedDict()  # the last KEEP_RESULTS sets
        self.candidates: list[Candidate] = []
        self.recovered: list[SetResult] = []

    @property
    def store(self) -> SessionStore | None:
        if self._store is None and self._store_factory is not None:
            self._store = self._store_factory()
        return self._store

    # --- sensors ----------------------------------------------------------------------------
    async def scan(self, timeout_s: float | None = None) -> list[Candidate]:
        self.candidates = await discover(timeout_s=timeout_s or self.scan_timeout_s, scanner_kwargs=self.backend.scanner)
        return self.candidates

    def assign(self, thigh_address: str, pelvis_address: str, side: str) -> Assignment:
        by_address = {c.address.upper(): c for c in self.candidates}
        refs = []
        for role, address in (("thigh", thigh_address), ("pelvis", pelvis_address)):
            c = by_address.get(address.upper())
            if c is None:
                raise AssignmentError(f"{role}: no scanned sensor with address {address}; scan first")
            refs.append(SensorRef(c.address, c.name, c.profile))
        assignment = Assignment(thigh=refs[0], pelvis=refs[1], side=side)
        self.assignments.save(assignment)
        return assignment

    async def identify(self, duration_s: float = 3.0) -> tuple[Candidate | None, list[MotionScore]]:
        if self.recorder is not None and self.task is not None and not self.task.done():
            raise SetStateError("cannot identify sensors while a set is recording")
        if not self.candidates:
            await self.scan()
        return await identify_by_motion(self.candidates, duration_s=duration_s, client_kwargs=self.backend.client)

    async def devices_for(self, side: str) -> dict[str, tuple[BLEDevice, Profile]]:
        """The two devices to record from: the remembered assignment, else by advertised role."""
        candidates = await self.scan()
        assignment = self.assignments.load()
        if assignment is None:
            assignment = assign_by_name(candidates, side)
            self.assignments.save(assignment)
            logger.info("assigned sensors by name: thigh=%s pelvis=%s", assignment.thigh.name, assignment.pelvis.name)
        found = resolve(assignment, candidates)
        return {role: (c.device, get_profile(c.profile)) for role, c in found.items()}

    # --- sets -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    async def _check_patient(self, patient_id: str) -> None:
        """Refuse an unknown patient before any radio work (the store keys patients by integer id)."""
        store = self.store
        get_user = getattr(store, "get_user", None)
        if get_user is None:
            return
        if not str(patient_id).isdigit():
            raise SetStartError(f"patient id {patient_id!r} is not a store user id (an integer)")
        try:
            user = await asyncio.to_thread(get_user, int(patient_id))
        except Exception as exc:
            raise SetStartError(f"patient {patient_id}: {exc}") from exc
        if getattr(user, "role", "patient") != "patient":
            raise SetStartError(f"user {patient_id} is a {user.role}, not a patient")

    async def start_set(self, request: SetRequest) -> SetRecorder:
        if self.running:
            assert self.recorder is not None
            raise SetStateError(f"set {self.recorder.uid} is still {self.recorder.state}; stop it first")
        await self._check_patient(request.patient_id)
        devices = await self.devices_for(request.side)
        recorder = SetRecorder(
            request,
            devices,
            root=self.root,
            client_kwargs=self.backend.client,
            store=self.store,
            policy=self.policy,
            source=self.source,
            live=self.live,
        )
        await recorder.prepare()  # unknown patient / store down: fail here, not in the background
        self.recorder = recorder
        self.task = asyncio.create_task(recorder.run(), name=f"set-{recorder.uid}")
        self.task.add_done_callback(self._set_done)
        return recorder

    def _set_done(self, task: asyncio.Task[SetResult]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            logger.error("set ended with an error: %s", exc, exc_info=exc)
            return
        result = task.result()
        self.last_result = result
        self._remember(result)

    def _remember(self, result: SetResult) -> None:
        self.results[result.uid] = result
        while len(self.results) > KEEP_RESULTS:
            self.results.popitem(last=False)

    def stop_set(self, reason: str = "stopped") -> SetRecorder:
        if self.recorder is None or not self.running:
            raise SetStateError("no set is recording")
        self.recorder.stop(reason)
        return self.recorder

    async def wait_set(self) -> SetResult:
        if self.task is None:
            raise SetStateError("no set was started")
        return await self.task

    async def recover(self) -> list[SetResult]:
        """Analyse + store recordings a killed process left behind (run at start-up)."""
        results = await asyncio.to_thread(recover_unfinished, self.root, store=self.store)
        self.recovered.extend(results)
        for r in results:
            self._remember(r)
        return results

    async def close(self) -> None:
        if self.running:
            self.stop_set("service shutting down")
            try:
                await self.wait_set()
            except Exception as exc:
                logger.error("set did not finish cleanly on shutdown: %s", exc)

    # --- state ------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        if self.recorder is not None:
            snap = self.recorder.snapshot()
        else:
            snap = {"set": None, "live": None, "sensors": {}, "latency_ms": None, "result": None}
        snap["service"] = {
            "backend": "virtual" if self.backend.is_virtual else "os",
            "running": self.running,
            "recovered": [r.uid for r in self.recovered],
        }
        return snap
