"""Starting a set is quick, idempotent and stoppable in every phase; a set that cannot calibrate
ends failed with its reason (issue 15.1, 15.3) — real virtual sensors, the service in-process."""

from __future__ import annotations

import asyncio
import time

from sensors.virtual import MotionSource
from service.assignment import AssignmentStore
from service.ingest import IngestService
from service.recorder import SetRequest

from .conftest import start_pair


def _service(pair, tmp_path, *, live: bool = True, scan_timeout_s: float = 0.5, **kw) -> IngestService:
    return IngestService(
        transport=pair.transport, data_root=tmp_path / "rec", store=None,
        assignments=AssignmentStore(tmp_path / "sensors.json"), scan_timeout_s=scan_timeout_s, live=live, **kw,
    )  # fmt: skip


async def _until(predicate, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_start_returns_at_once_retry_is_the_same_set_and_stop_works_while_connecting(tmp_path):
    sources = {r: MotionSource.synthetic(r, seed=i) for i, r in enumerate(("thigh", "pelvis"))}
    pair = await start_pair(sources)
    service = _service(pair, tmp_path, scan_timeout_s=3.0)  # no assignment yet: a full 3 s scan
    try:
        request = SetRequest("1", "knee_raise", "left", target_reps=5)
        t0 = time.monotonic()
        rec, again = await service.start_set(request, request_id="tap-1")
        assert time.monotonic() - t0 < 0.5 and not again and rec.state == "connecting"
        same, again = await service.start_set(request, request_id="tap-1")
        assert same is rec and again  # a retry of the same tap: the same set, no error
        await asyncio.sleep(0.3)
        assert service.state()["set"]["state"] == "connecting"
        service.stop_set("stopped by request")  # while the sensors are still being searched
        result = await asyncio.wait_for(service.wait_set(), 5)
        assert result.status == "failed" and result.directory is None
        snap = service.state()["set"]
        assert snap["state"] == "failed" and "before the sensors were connected" in snap["reason"]
        assert not list((tmp_path / "rec").iterdir())  # nothing recorded, nothing half-written
    finally:
        await service.close()
        await pair.hub.stop()


async def test_a_set_that_cannot_calibrate_fails_with_the_reason_instead_of_recording_forever(tmp_path):
    """Synthetic swinging has no quiet stand: the live path waits for one (a stand may also come
    later), and the set stops itself after the calibration timeout with the reason."""
    sources = {r: MotionSource.synthetic(r, seed=i) for i, r in enumerate(("thigh", "pelvis"))}
    pair = await start_pair(sources)
    service = _service(pair, tmp_path, calibration_timeout_s=6.0)
    try:
        rec, _ = await service.start_set(SetRequest("1", "knee_raise", "right", target_reps=5))
        phases = []

        def seen() -> bool:
            if not phases or phases[-1] != rec.state:
                phases.append(rec.state)
            return rec.state in ("done", "failed")

        await _until(seen, 30)
        assert phases[:2] == ["connecting", "calibrating"] and phases[-1] == "failed", phases
        assert "recording" not in phases
        assert rec.reason.startswith("calibration failed:"), rec.reason
        assert service.state()["set"]["reason"] == rec.reason
    finally:
        await service.close()
        await pair.hub.stop()


async def test_stop_works_while_calibrating(tmp_path, quick_sim):
    sim = quick_sim(seed=4)
    pair = await start_pair({r: MotionSource.from_session(sim.raw, r, loop=False) for r in ("thigh", "pelvis")})
    service = _service(pair, tmp_path)
    try:
        rec, _ = await service.start_set(SetRequest("1", "knee_raise", "right", target_reps=4))
        await _until(lambda: rec.state == "calibrating", 15)
        service.stop_set("stopped by request")
        result = await asyncio.wait_for(service.wait_set(), 15)
        assert rec.state in ("done", "failed") and result.directory is not None  # the journal is kept
        assert result.samples["thigh"] > 0
    finally:
        await service.close()
        await pair.hub.stop()
