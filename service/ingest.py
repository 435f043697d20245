"""The ingestion service: sensors found and assigned once, sets started and stopped on request,
live state always available. `rehab serve` wraps it in the loopback HTTP API (service/api.py);
`rehab record` drives one set through it directly.

Starting a set is quick and idempotent: `start_set` checks the request and the patient, creates
the set (uid, state ``connecting``) and returns; finding and connecting the sensors continues in
the set's task. A retry carrying the same ``request_id`` gets the same set back. Radio work a
request asks for (scan, identify) runs as tracked tasks that `close` cancels, so shutdown never
waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

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
    has_assigned,
    identify_by_motion,
    resolve,
)
from service.datadir import recordings_dir
from service.errors import AssignmentError, ServiceClosingError, SetStateError, UnknownPatientError
from service.finish import SessionStore, SetResult, recover_unfinished
from service.link import ReconnectPolicy
from service.recorder import CALIBRATION_TIMEOUT_S, SetRecorder, SetRequest
from store.config import ensure_private_dir

logger = logging.getLogger(__name__)

#: Finished sets (with their raw data, for GET /sets/{uid}/raw.csv) kept in memory by the service.
KEEP_RESULTS = 20
#: Request ids remembered for idempotent retries of POST /sets.
KEEP_REQUEST_IDS = 100
#: On shutdown, how long cancelled radio work may take to clean up.
CLOSE_WORK_TIMEOUT_S = 0.5
#: On shutdown, how long a running set may take to finish (stop, close the journal, analyse, store).
CLOSE_SET_TIMEOUT_S = 1.0

T = TypeVar("T")


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
        before_set: Callable[[SetRequest], Awaitable[None]] | None = None,
        calibration_timeout_s: float = CALIBRATION_TIMEOUT_S,
    ) -> None:
        """``before_set``: awaited when a set starts, before the sensors are searched (virtual
        sensors use it to have their simulated patient do this set's drill on its side).
        ``calibration_timeout_s``: how long a set waits for a quiet stand (service.recorder)."""
        self.calibration_timeout_s = calibration_timeout_s
        self.backend: BackendOptions = backend_options(transport)
        self.root = data_root if data_root is not None else recordings_dir()
        ensure_private_dir(self.root)
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
        self.before_set = before_set
        self.closing = False
        self._work: set[asyncio.Task[Any]] = set()
        self._radio = asyncio.Lock()
        self._requests: OrderedDict[str, str] = OrderedDict()  # request id -> set uid

    @property
    def store(self) -> SessionStore | None:
        if self._store is None and self._store_factory is not None:
            self._store = self._store_factory()
        return self._store

    # --- sensors ----------------------------------------------------------------------------
    async def _tracked(self, work: Coroutine[Any, Any, T]) -> T:
        """Run request-driven radio work as a task that `close` cancels."""
        if self.closing:
            work.close()
            raise ServiceClosingError("the service is shutting down")
        task = asyncio.ensure_future(work)
        self._work.add(task)
        try:
            return await task
        except asyncio.CancelledError:
            if self.closing and task.done():
                raise ServiceClosingError("the service is shutting down; the request was cancelled") from None
            raise
        except Exception as exc:
            if self.closing:  # e.g. the radio went away while the work was being cancelled
                raise ServiceClosingError(f"the service is shutting down; the request was cancelled ({exc})") from exc
            raise
        finally:
            self._work.discard(task)

    async def scan(self, timeout_s: float | None = None) -> list[Candidate]:
        return await self._tracked(self._scan(timeout_s))

    async def _scan(self, timeout_s: float | None) -> list[Candidate]:
        async with self._radio:
            self.candidates = await discover(
                timeout_s=timeout_s or self.scan_timeout_s, scanner_kwargs=self.backend.scanner
            )
        return self.candidates

    def assign(self, thigh_address: str, pelvis_address: str, side: str) -> Assignment:
        if self.running:
            raise SetStateError("cannot change the sensor assignment while a set is recording")
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
        if self.running:
            raise SetStateError("cannot identify sensors while a set is recording")
        return await self._tracked(self._identify(duration_s))

    async def _identify(self, duration_s: float) -> tuple[Candidate | None, list[MotionScore]]:
        async with self._radio:  # one radio: not while a set searches its sensors
            if not self.candidates:
                self.candidates = await discover(timeout_s=self.scan_timeout_s, scanner_kwargs=self.backend.scanner)
            return await identify_by_motion(self.candidates, duration_s=duration_s, client_kwargs=self.backend.client)

    async def devices_for(self, side: str) -> dict[str, tuple[BLEDevice, Profile]]:
        """The two devices to record from: the remembered assignment (the scan ends as soon as both
        advertise), else by advertised role (a full scan: the strongest of each role)."""
        assignment = self.assignments.load()
        self.candidates = candidates = await discover(
            timeout_s=self.scan_timeout_s,
            scanner_kwargs=self.backend.scanner,
            until=has_assigned(assignment) if assignment is not None else None,
        )
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
        """Refuse anything but an active patient before any radio work — with one message for every
        reason, so the API does not reveal which accounts exist."""
        store = self.store
        get_user = getattr(store, "get_user", None)
        if get_user is None:
            return
        if not str(patient_id).isdigit():
            raise UnknownPatientError()
        try:
            user = await asyncio.to_thread(get_user, int(patient_id))
        except LookupError:  # store.NotFoundError
            raise UnknownPatientError() from None
        if getattr(user, "role", "patient") != "patient" or not getattr(user, "active", True):
            raise UnknownPatientError()

    async def start_set(self, request: SetRequest, *, request_id: str | None = None) -> tuple[SetRecorder, bool]:
        """Create the set and start it in the background; returns (its recorder, whether this was a
        retry of an earlier request with the same ``request_id``)."""
        if self.closing:
            raise ServiceClosingError("the service is shutting down")
        if request_id is not None and request_id in self._requests:
            uid = self._requests[request_id]
            if self.recorder is not None and self.recorder.uid == uid:
                return self.recorder, True
            raise SetStateError(f"request {request_id!r} already started set {uid}, which has ended")
        if self.running:
            assert self.recorder is not None
            raise SetStateError(f"set {self.recorder.uid} is still {self.recorder.state}; stop it first")
        await self._check_patient(request.patient_id)
        if self.running:  # another start won the race while the patient was looked up
            assert self.recorder is not None
            raise SetStateError(f"set {self.recorder.uid} is still {self.recorder.state}; stop it first")

        async def find_devices() -> dict[str, tuple[BLEDevice, Profile]]:
            if self.before_set is not None:
                await self.before_set(request)
            async with self._radio:
                return await self.devices_for(request.side)

        recorder = SetRecorder(
            request,
            find_devices,
            root=self.root,
            client_kwargs=self.backend.client,
            store=self.store,
            policy=self.policy,
            source=self.source,
            live=self.live,
            calibration_timeout_s=self.calibration_timeout_s,
        )
        self.recorder = recorder
        self.task = asyncio.create_task(recorder.run(), name=f"set-{recorder.uid}")
        self.task.add_done_callback(self._set_done)
        if request_id is not None:
            self._requests[request_id] = recorder.uid
            while len(self._requests) > KEEP_REQUEST_IDS:
                self._requests.popitem(last=False)
        return recorder, False

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
        """Stop the current set in whatever phase it is (connecting: the search is cancelled)."""
        if self.recorder is None or not self.running:
            raise SetStateError("no set is running")
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
        """Shut down: cancel request-driven radio work, stop the set and give it CLOSE_SET_TIMEOUT_S
        to end (whatever it recorded is in its journal; a set cut short is recovered at the next start)."""
        self.closing = True
        work = list(self._work)
        for task in work:
            task.cancel()
        if work:  # let their clean-up (e.g. a scanner telling the radio to stop) finish
            await asyncio.wait(work, timeout=CLOSE_WORK_TIMEOUT_S)
        if self.running:
            assert self.task is not None
            self.stop_set("service shutting down")
            done, _ = await asyncio.wait({self.task}, timeout=CLOSE_SET_TIMEOUT_S)
            if not done:
                logger.warning("set still finishing after %.1f s; cancelled, recovered at the next start",
                               CLOSE_SET_TIMEOUT_S)
                self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

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
