"""One set, end to end: find and connect both sensors, stream into the journal and the live view,
stop on target reps / duration / request / a calibration that never comes, then analyse offline
and store.

Phases (``SetRecorder.state``, served as ``set.state`` by GET /state): ``connecting`` (finding the
sensors, connecting, until both stream) → ``calibrating`` (the live path waits for the quiet stand
and the first movement) → ``recording`` → ``finishing`` (links stopped, journal closed, analysis and
store) → ``done`` or ``failed`` (``reason`` says why). A stop request works in every phase.

The radio side (`SensorLink` per sensor) and the processing side (`IngestPipeline`) meet only at
one ``asyncio.Queue``; a flusher task makes the journal durable every `FLUSH_INTERVAL_S` even when
no data arrives. Analysis runs in a worker thread so the live API keeps answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bleak.backends.device import BLEDevice

from sensors.profiles import Profile
from service.errors import IngestError, SetStartError
from service.finish import SessionStore, SetResult, analyse_recording
from service.journal import (
    FLUSH_INTERVAL_S,
    STATUS_ENDED,
    STATUS_FINISHED,
    JournalWriter,
    Manifest,
)
from service.link import QueueItem, ReconnectPolicy, SensorLink
from service.live_view import LiveView  # at import, not on the event loop when a set starts
from service.stream import IngestPipeline
from tracker.conventions import (
    DEFAULT_COMPENSATION_THRESHOLD_DEG,
    SENSOR_NAMES,
    check_exercise,
    check_side,
)

logger = logging.getLogger(__name__)

#: After the target rep is counted, keep recording this long so the offline pass sees its end.
REP_TAIL_S = 1.5
#: How often the end conditions are checked, seconds.
END_POLL_S = 0.05
#: Both sensors stream but the live path has not calibrated this long: the set ends as failed.
CALIBRATION_TIMEOUT_S = 45.0

STATES = ("connecting", "calibrating", "recording", "finishing", "done", "failed")

DeviceMap = dict[str, tuple[BLEDevice, Profile]]
#: Finds the set's two devices (scan + assignment) once the set has started (service.ingest).
FindDevices = Callable[[], Awaitable[DeviceMap]]


@dataclass(frozen=True, slots=True)
class SetRequest:
    """What to record. Either or both of target_reps / duration_s end the set; neither = until stopped."""

    patient_id: str
    exercise: str
    side: str
    target_reps: int | None = None
    duration_s: float | None = None
    threshold_deg: float = DEFAULT_COMPENSATION_THRESHOLD_DEG
    rate_hz: float | None = 100.0

    def __post_init__(self) -> None:
        check_exercise(self.exercise)
        check_side(self.side)
        if not str(self.patient_id).strip():
            raise ValueError("patient id is empty")
        if self.target_reps is not None and self.target_reps < 1:
            raise ValueError(f"target reps must be >= 1, got {self.target_reps}")
        if self.duration_s is not None and not self.duration_s > 0:
            raise ValueError(f"duration must be > 0 s, got {self.duration_s}")
        if not 0 < self.threshold_deg < 90:
            raise ValueError(f"compensation threshold must be in (0, 90) degrees, got {self.threshold_deg}")


class SetRecorder:
    """Records one set from two sensors; `run()` returns the `SetResult`.

    ``devices``: the two devices, or a coroutine function that finds them — then the set exists
    (uid, state ``connecting``) before any radio work, and a stop cancels the search.
    """

    def __init__(
        self,
        request: SetRequest,
        devices: DeviceMap | FindDevices,
        *,
        root: Path,
        client_kwargs: dict[str, Any] | None = None,
        store: SessionStore | None = None,
        policy: ReconnectPolicy | None = None,
        source: str = "ble",
        live: bool = True,
        calibration_timeout_s: float = CALIBRATION_TIMEOUT_S,
    ) -> None:
        """``calibration_timeout_s``: how long a streaming set may wait for a quiet stand before it
        stops as failed (the journal is kept)."""
        if not calibration_timeout_s > 0:
            raise ValueError(f"calibration_timeout_s must be > 0 s, got {calibration_timeout_s!r}")
        self.calibration_timeout_s = float(calibration_timeout_s)
        self.request = request
        self._find: FindDevices | None = None
        self.devices: DeviceMap = {}
        if callable(devices):
            self._find = devices
        else:
            self._use_devices(devices)
        self.root = root
        self.client_kwargs = client_kwargs or {}
        self.store = store
        self.policy = policy or ReconnectPolicy()
        self.source = source
        self.state = "connecting"
        self.stop_reason: str | None = None
        self.result: SetResult | None = None
        self.error: str | None = None
        self._stop = asyncio.Event()
        self._target_reached_at: float | None = None
        self._streaming_since: float | None = None
        self.manifest = Manifest.new(
            request.patient_id,
            request.exercise,
            request.side,
            target_reps=request.target_reps,
            duration_s=request.duration_s,
            threshold_deg=request.threshold_deg,
            source=source,
            sensors=self._sensor_info(),
        )
        self.uid = self.manifest.uid
        self.queue: asyncio.Queue[QueueItem] = asyncio.Queue()
        self.live_view = None
        if live:
            self.live_view = LiveView(
                request.exercise, request.side, threshold_deg=request.threshold_deg, target_reps=request.target_reps
            )
        self.journal: JournalWriter | None = None
        self.pipeline: IngestPipeline | None = None
        self.links: dict[str, SensorLink] = {}
        self.started_monotonic_s = self.manifest.host_clock_origin_s

    def _use_devices(self, devices: DeviceMap) -> None:
        missing = [s for s in SENSOR_NAMES if s not in devices]
        if missing:
            raise IngestError(f"set for patient {self.request.patient_id}: no device for {', '.join(missing)}")
        self.devices = devices

    def _sensor_info(self) -> dict[str, dict[str, Any]]:
        return {role: {"address": d.address, "name": d.name, "profile": p.name} for role, (d, p) in self.devices.items()}

    @property
    def reason(self) -> str | None:
        """Why the set ended (or is ending): the error if any, else the stop reason."""
        return self.error or self.stop_reason

    def _fail(self, reason: str) -> None:
        self.error = self.error or reason
        self.state = "failed"

    # --- control ----------------------------------------------------------------------------
    def stop(self, reason: str = "stopped") -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        self._stop.set()

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started_monotonic_s

    # --- run --------------------------------------------------------------------------------
    async def _begin_in_store(self) -> None:
        """Register the set in the store as 'recording', under the recording's uid."""
        begin = getattr(self.store, "begin_session", None)
        if begin is None:
            return
        from service.finish import STORE_SOURCE, _patient_key

        m = self.manifest
        try:
            m.store_session_id = await asyncio.to_thread(
                begin,
                _patient_key(m.patient_id),
                m.exercise,
                m.side,
                started_at=datetime.fromisoformat(m.started_at),
                source=STORE_SOURCE.get(m.source, "recorded"),
                sensors={**m.sensors, "backend": m.source, "recording": m.uid},
                threshold_deg=m.threshold_deg,
                uid=m.uid,
            )
        except Exception as exc:
            raise SetStartError(f"set for patient {m.patient_id}: the store refused it: {exc}") from exc

    async def prepare(self) -> None:
        """Register the set in the store and open its journal (needs the devices)."""
        if self.journal is not None:
            return
        await self._begin_in_store()
        self.journal = JournalWriter.create(self.root, self.manifest)

    async def _until_stopped(self, work: Awaitable[DeviceMap]) -> DeviceMap | None:
        """``work``'s result, or None (work cancelled) if a stop comes first."""
        task = asyncio.ensure_future(work)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        return task.result() if task.done() and not task.cancelled() else None

    def _ended_before_start(self) -> SetResult:
        reason = f"{self.stop_reason or 'stopped'} before the sensors were connected; nothing was recorded"
        self._fail(reason)
        self.result = SetResult(uid=self.uid, directory=None, status="failed", samples={}, gaps=0, error=reason)
        return self.result

    async def run(self) -> SetResult:
        try:
            if not self.devices and self._find is not None:
                found = await self._until_stopped(self._find())
                if found is None:
                    return self._ended_before_start()
                self._use_devices(found)
                self.manifest.sensors = self._sensor_info()
            if self._stop.is_set():
                return self._ended_before_start()
            await self.prepare()
        except asyncio.CancelledError:
            self._fail("the service shut down before the set started")
            raise
        except Exception as exc:
            self._fail(str(exc))
            raise
        assert self.journal is not None
        self.pipeline = IngestPipeline(
            {role: p for role, (_, p) in self.devices.items()},
            self.journal,
            origin_s=self.manifest.host_clock_origin_s,
            rate_hz=self.request.rate_hz,
            live=self.live_view,
        )
        self.links = {
            role: SensorLink(
                role, d, p, self.queue, client_kwargs=self.client_kwargs, rate_hz=self.request.rate_hz, policy=self.policy
            )
            for role, (d, p) in self.devices.items()
        }
        link_tasks = {role: asyncio.create_task(link.run(), name=f"link-{role}") for role, link in self.links.items()}
        consumer = asyncio.create_task(self._consume(), name="ingest-consumer")
        flusher = asyncio.create_task(self._flush_loop(), name="journal-flusher")
        try:
            await self._wait_for_end(link_tasks)
        finally:
            self.state = "finishing"
            await asyncio.gather(*(link.stop() for link in self.links.values()), return_exceptions=True)
            outcomes = await asyncio.gather(*link_tasks.values(), return_exceptions=True)
            for _role, out in zip(link_tasks, outcomes):
                if isinstance(out, BaseException) and not isinstance(out, asyncio.CancelledError):
                    self.error = self.error or str(out)
            consumer.cancel()
            flusher.cancel()
            await asyncio.gather(consumer, flusher, return_exceptions=True)
            while not self.queue.empty():
                self.pipeline.handle(self.queue.get_nowait())
            self.journal.event("end", reason=self.stop_reason, error=self.error, t_s=self.elapsed_s)
            # the lock stays held through the analysis: no other process recovers this set meanwhile
            self.journal.close(
                STATUS_ENDED, ended_at=datetime.now(UTC).isoformat(), note=self.stop_reason, keep_lock=True
            )
        try:
            result = await asyncio.to_thread(
                analyse_recording, self.journal.directory, store=self.store, final_status=STATUS_FINISHED
            )
        finally:
            self.journal.release_lock()
        if self.error and result.error is None:
            result.error = self.error
        self.result = result
        if result.status == STATUS_FINISHED:
            self.state = "done"
        else:
            self._fail(result.error or "the set could not be analysed")
        return result

    async def _consume(self) -> None:
        assert self.pipeline is not None
        q = self.queue
        while True:
            item = await q.get()
            self.pipeline.handle(item)
            if self.state == "connecting" and self.pipeline.version and all(
                s.counters.samples for s in self.pipeline.sensors.values()
            ):
                self._streaming_since = time.monotonic()
                self.state = "calibrating" if self.live_view is not None else "recording"

    async def _flush_loop(self) -> None:
        """Every FLUSH_INTERVAL_S: rows to the OS (survives a kill), then fsync off the loop."""
        assert self.journal is not None
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            await self.journal.flush_async()

    async def _wait_for_end(self, link_tasks: dict[str, asyncio.Task[None]]) -> None:
        req = self.request
        while not self._stop.is_set():
            for role, task in link_tasks.items():
                if task.done():
                    exc = task.exception() if not task.cancelled() else None
                    self.error = f"{role}: {exc}" if exc else f"{role}: link ended"
                    self.stop(f"sensor lost: {role}")
                    return
            if req.duration_s is not None and self.elapsed_s >= req.duration_s:
                self.stop("duration reached")
                return
            if self.state == "calibrating" and self._calibration_ended():
                return
            if req.target_reps is not None and self.live_view is not None:
                if self._target_reached_at is None and self.live_view.rep_count >= req.target_reps:
                    self._target_reached_at = time.monotonic()
                if self._target_reached_at is not None and time.monotonic() - self._target_reached_at >= REP_TAIL_S:
                    self.stop("target reps reached")
                    return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), END_POLL_S)

    def _calibration_ended(self) -> bool:
        """Move to 'recording' once the live path calibrated; stop the set if it cannot."""
        assert self.live_view is not None
        tracker = self.live_view.tracker
        if tracker.calibration_state == "ready":
            self.state = "recording"
            return False
        if tracker.calibration_state == "error":
            self.error = f"calibration failed: {tracker.error}"
            self.stop("calibration failed")
            return True
        waited = time.monotonic() - (self._streaming_since or time.monotonic())
        if waited > self.calibration_timeout_s:
            why = f": {tracker.waiting_reason}" if tracker.waiting_reason else ""
            self.error = (
                f"calibration failed: no quiet stand followed by movement within {self.calibration_timeout_s:.0f} s "
                f"(stand still for 3 s at the start, then begin the first repetition){why}"
            )
            self.stop("calibration timed out")
            return True
        return False

    # --- state for the API / panel ----------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        req = self.request
        sensors: dict[str, Any] = {}
        quality = self.pipeline.link_quality() if self.pipeline is not None else {}
        for role in SENSOR_NAMES:
            link = self.links.get(role)
            entry: dict[str, Any] = {"connected": False}
            if role in self.devices:
                d, p = self.devices[role]
                entry.update(address=d.address, name=d.name, profile=p.name)
            entry.update(quality.get(role, {}))
            if link is not None:
                st = link.status
                entry.update(
                    connected=st.connected,
                    battery_percent=st.battery_percent,
                    low_battery=st.low_battery,
                    connects=st.connects,
                    drops=st.drops,
                    last_error=st.last_error,
                )
            sensors[role] = entry
        return {
            "set": {
                "uid": self.uid,
                "state": self.state,
                "patient_id": req.patient_id,
                "exercise": req.exercise,
                "side": req.side,
                "target_reps": req.target_reps,
                "duration_s": req.duration_s,
                "started_at": self.manifest.started_at,
                "elapsed_s": round(self.elapsed_s, 3),
                "stop_reason": self.stop_reason,
                "error": self.error,
                "reason": self.reason,
            },
            "live": self.live_view.snapshot() if self.live_view is not None else None,
            "sensors": sensors,
            "latency_ms": self.pipeline.latency_percentiles_ms() if self.pipeline is not None else None,
            "result": self.result.summary_dict() if self.result is not None else None,
        }
