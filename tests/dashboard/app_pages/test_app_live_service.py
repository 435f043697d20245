"""The live page against the real ingestion service (service: IngestService + ApiServer)
with real virtual sensors (bumble, in-process) streaming a simulated knee-raise set.

The service runs on its own event loop thread, as `rehab serve` would in its own process; the
page is driven through AppTest, polling like the browser's fragment does. The set really streams
in real time (~12 s), so this is marked slow.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from dashboard.live_client import SERVICE_URL_ENV
from store import Store

from ..conftest import SeededClinic, sign_in, texts

QUICK_SET = dict(
    reps=4, up_s=0.8, hold_s=0.3, down_s=0.8, rest_between_reps_s=0.6, stand_s=2.5, end_stand_s=1.0, packet_loss=0.0
)


class RealService:
    def __init__(self, data_dir: Path, work: Path) -> None:
        self.data_dir, self.work = data_dir, work
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="ingest-service")

    def _run(self, coro, timeout_s: float = 60.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    async def _start(self) -> None:
        from sensors.virtual import MotionSource, VirtualSensorConfig, VirtualSensorHub
        from service.api import ApiServer
        from service.assignment import AssignmentStore
        from service.ingest import IngestService
        from simulation import SimulationConfig, simulate

        sim = simulate(SimulationConfig(exercise="knee_raise", side="left", seed=3, **QUICK_SET))
        self.hub = VirtualSensorHub()
        await self.hub.start()
        for i, role in enumerate(("thigh", "pelvis")):
            await self.hub.add_and_start(
                VirtualSensorConfig(name=f"RehabIMU-{role}-00{i + 1}", battery_percent=(87, 64)[i], address_seed=200 + i),
                MotionSource.from_session(sim.raw, role, loop=False),
            )
        self.store = Store(data_dir=self.data_dir)
        self.service = IngestService(
            transport=self.hub.transport, data_root=self.work / "recordings", store=self.store,
            assignments=AssignmentStore(self.work / "sensors.json"), scan_timeout_s=0.5, live=True,
        )  # fmt: skip
        self.api = ApiServer(self.service)
        await self.api.start()

    async def _stop(self) -> None:
        await self.service.close()
        await self.api.stop()
        await self.hub.stop()
        self.store.close()

    def __enter__(self) -> RealService:
        self.thread.start()
        self._run(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._run(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()


@pytest.mark.slow
def test_live_page_with_the_real_service(clinic: SeededClinic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with RealService(clinic.data_dir, tmp_path / "svc") as svc:
        monkeypatch.setenv(SERVICE_URL_ENV, svc.api.url)
        at = sign_in("patient1")
        at.switch_page("app_pages/patient_live.py").run()
        assert at.button(key="live_start"), texts(at)
        rx = next(r for r in clinic.store.list_prescriptions(clinic.patient(1)) if r.exercise == "knee_raise")
        at.radio(key="live_pick").set_value(rx.id)
        at.button(key="live_start").click().run()
        assert not at.exception, at.exception
        seen: list[str] = []
        stop_sent = False
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            t = texts(at)
            live = any(str(x.value).endswith("°") for x in at.title)  # the big hip angle
            for marker in ("Checking your sensors", "Stand still", "Saving your set", "How did it feel?", "could not be saved"):
                if marker in t and (not seen or seen[-1] != marker):
                    seen.append(marker)
            if live and "angle" not in seen:
                seen.append("angle")
            if "How did it feel?" in t or "could not be saved" in t:
                break
            state = svc.service.recorder.state if svc.service.recorder else None
            if not stop_sent and state == "recording" and svc.service.recorder.elapsed_s > 14.0:
                at.button(key="live_stop").click()  # the one Stop button, in the recording phase
                stop_sent = True
            time.sleep(0.25)
            at.run()
            assert not at.exception, at.exception
        assert seen and seen[-1] == "How did it feel?", (seen, texts(at))
        assert "Stand still" in seen or "angle" in seen
        sid = at.session_state["live_session_id"]
        rec = clinic.store.get_session(sid)
        assert rec.patient_id == clinic.patient(1) and rec.exercise == "knee_raise" and rec.source == "recorded"  # through the BLE path, virtual backend
        assert rec.rep_count >= 3  # 4 simulated reps; the offline analysis counts them
        felt, pain = at.segmented_control
        felt.set_value("about_right")
        pain.set_value(2).run()
        at.button(key="live_save_pain").click().run()
        report = clinic.store.get_pain_report(sid)
        assert report is not None and report.pain_after == 2 and report.difficulty == "about_right"
