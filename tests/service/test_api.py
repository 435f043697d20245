"""The loopback API driven over real HTTP while real virtual sensors stream."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

import pytest

from sensors.virtual import MotionSource
from service.api import ApiServer
from service.assignment import AssignmentStore
from service.ingest import IngestService

from .conftest import start_pair

SECRET = "ab" * 32  # a test secret; production reads <data dir>/ingest-secret
AUTH = {"Authorization": f"Bearer {SECRET}"}


def _http(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **AUTH} if method == "POST" else dict(AUTH)
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _get_text(url: str) -> str:
    with urllib.request.urlopen(urllib.request.Request(url, headers=AUTH), timeout=10) as resp:
        assert resp.headers["Content-Type"].startswith("text/csv")
        return resp.read().decode()


async def call(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    return await asyncio.to_thread(_http, method, url, body)


def test_api_refuses_non_loopback_host():
    with pytest.raises(ValueError, match="loopback"):
        ApiServer(IngestService.__new__(IngestService), host="0.0.0.0", secret=SECRET)


async def test_start_poll_stop_over_http(tmp_path):
    sources = {r: MotionSource.synthetic(r, seed=i) for i, r in enumerate(("thigh", "pelvis"))}
    pair = await start_pair(sources, battery={"pelvis": 12})
    service = IngestService(
        transport=pair.transport,
        data_root=tmp_path / "rec",
        store=None,
        assignments=AssignmentStore(tmp_path / "sensors.json"),
        scan_timeout_s=0.3,
        live=False,
    )
    api = ApiServer(service, secret=SECRET)
    await api.start()
    try:
        status, health = await call("GET", api.url + "/health")
        assert status == 200 and health["ok"] and not health["running"]
        status, err = await call("POST", api.url + "/sets", {"patient": "1", "exercise": "knee_raise"})
        assert status == 400 and "side" in err["error"]
        status, err = await call("POST", api.url + "/sets", {"patient": "1", "exercise": "yoga", "side": "left"})
        assert status == 400 and "yoga" in err["error"]
        body = {"patient": "1", "exercise": "knee_raise", "side": "right", "reps": 10, "request_id": "click-1"}
        t0 = time.monotonic()
        status, started = await call("POST", api.url + "/sets", body)
        assert status == 202 and started["state"] == "connecting", started
        assert time.monotonic() - t0 < 1.0  # the scan (0.3 s here, 3 s by default) and connect run in the set
        uid = started["uid"]
        status, retry = await call("POST", api.url + "/sets", body)  # the same request again: the same set
        assert status == 200 and retry["uid"] == uid and retry["retry"]
        status, again = await call("POST", api.url + "/sets", {"patient": "1", "exercise": "knee_raise", "side": "right"})
        assert status == 409 and uid in again["error"]
        # poll at 5 Hz like the dashboard; samples grow, link quality and battery are there
        seen = []
        t_end = time.monotonic() + 2.0
        while time.monotonic() < t_end:
            status, state = await call("GET", api.url + "/state")
            assert status == 200
            seen.append(state)
            await asyncio.sleep(0.2)
        last = seen[-1]
        assert last["set"]["uid"] == uid and last["set"]["state"] == "recording"
        assert last["sensors"]["thigh"]["connected"] and last["sensors"]["pelvis"]["connected"]
        assert last["sensors"]["pelvis"]["battery_percent"] == 12 and last["sensors"]["pelvis"]["low_battery"]
        assert last["sensors"]["thigh"]["packets_per_s"] > 0
        counts = [s["sensors"]["thigh"].get("samples", 0) for s in seen]
        assert counts == sorted(counts) and counts[-1] > counts[len(counts) // 2] > 0
        assert last["latency_ms"]["p99"] < 500
        status, stopped = await call("POST", api.url + "/sets/current/stop")
        assert status == 200 and stopped["uid"] == uid
        result = await asyncio.wait_for(service.wait_set(), 20)
        # synthetic swinging has no calibration stand: the analysis refuses it, the journal is kept
        assert result.status == "failed" and "quiet stand" in result.error
        status, done = await call("GET", api.url + f"/sets/{uid}")
        assert status == 200 and done["uid"] == uid and done["samples"]["thigh"] >= counts[-1]
        assert done["status"] == "failed" and done["error"]
        status, _ = await call("POST", api.url + "/sets/current/stop")
        assert status == 409
        # the raw-session CSV of the set is exportable even though its analysis failed
        csv_text = await asyncio.to_thread(_get_text, api.url + f"/sets/{uid}/raw.csv")
        lines = csv_text.splitlines()
        assert lines[0].startswith("t,sensor,ax,ay,az,gx,gy,gz")
        assert len(lines) - 1 == sum(done["samples"].values())
        status, sensors = await call("GET", api.url + "/sensors")
        assert sensors["assignment"]["thigh"]["name"] == "RehabIMU-thigh-001"
    finally:
        await service.close()
        await api.stop()
        await pair.hub.stop()
