"""The ingestion-service client against a loopback server, and the snapshot → LiveState view."""

from __future__ import annotations

import contextlib

import pytest

from dashboard.live_client import LiveClient, LiveServiceError, LiveState

from .dashboard_service_double import ServiceDouble


def test_only_loopback_urls_are_accepted() -> None:
    for url in ("http://127.0.0.1:1", "http://localhost:2", "http://[::1]:3"):
        assert LiveClient(url).base_url == url
    for bad in ("http://10.0.0.5:8765", "https://127.0.0.1:1", "http://example.org", "ftp://127.0.0.1"):
        with pytest.raises(ValueError, match="loopback|http://"):
            LiveClient(bad)


def test_start_state_stop_round_trip() -> None:
    with ServiceDouble() as svc:
        client = LiveClient(svc.url)
        assert client.health()["ok"] is True
        started = client.start_set(patient_id=7, exercise="knee_raise", side="left", target_reps=8, threshold_deg=12.0)
        assert started == {"uid": "set-1", "state": "connecting"}
        method, path, body = svc.requests[-1]
        assert (method, path) == ("POST", "/sets")
        request_id = body.pop("request_id")
        assert len(request_id) >= 16  # made up per start: a retry of this start carries the same one
        assert body == {"patient": "7", "exercise": "knee_raise", "side": "left", "reps": 8, "threshold_deg": 12.0}
        state = LiveState.from_json(client.state())
        assert state.phase == "connecting" and state.patient_id == "7" and state.uid == "set-1"
        assert [s.name for s in state.sensors] == ["thigh", "pelvis"] and not state.sensors_ready
        assert client.stop_set()["state"] == "finishing"


def test_http_error_carries_the_service_message() -> None:
    with ServiceDouble() as svc:
        svc.start_status = 409
        with pytest.raises(LiveServiceError) as info:
            LiveClient(svc.url).start_set(patient_id=1, exercise="knee_raise", side="left", target_reps=5)
        assert info.value.status == 409 and "still recording" in str(info.value)
        assert svc.url in str(info.value)


def test_unreachable_service_is_a_typed_error() -> None:
    with ServiceDouble() as svc:
        url = svc.url
    with pytest.raises(LiveServiceError, match="not reachable"):
        LiveClient(url, timeout_s=0.5).state()


def test_live_state_phases() -> None:
    with ServiceDouble() as svc:
        svc.set_phase("recording", patient="3", exercise="knee_raise", side="left", reps=6)
        assert LiveState.from_json(svc.snapshot).phase == "calibrating"
        snap = svc.snapshot | {"live": svc.snapshot["live"] | {"calibration": {"state": "ready"}, "hip_flexion_deg": 3.0}}
        assert LiveState.from_json(snap).phase == "recording"
        snap["live"]["calibration"] = {"state": "error", "error": "sensors look swapped"}
        assert LiveState.from_json(snap).phase == "calibrating"  # not calibrated: no live angle shown
        svc.set_phase("recording", calibrated=True, hip_deg=61.5, t_s=10.0, rep_count=2, alert_t_s=9.2)
        s = LiveState.from_json(svc.snapshot)
        assert (s.phase, s.hip_flexion_deg, s.rep_count, s.target_reps) == ("recording", 61.5, 2, 6)
        assert s.compensating and s.sensors_ready
        svc.set_phase("recording", calibrated=True, hip_deg=20.0, t_s=15.0, rep_count=3, alert_t_s=9.2)
        assert not LiveState.from_json(svc.snapshot).compensating  # the alert is 5.8 s old
        svc.set_phase("done", session_id=42)
        s = LiveState.from_json(svc.snapshot)
        assert (s.phase, s.session_id) == ("done", 42)
        idle = LiveState.from_json({"set": None, "live": None, "sensors": {}, "result": None})
        assert idle.phase == "idle" and idle.rep_count == 0


def test_a_start_that_times_out_is_retried_once_with_the_same_request_id(tmp_path) -> None:
    """The patient's tap must never start two sets: the retry carries the first try's request id,
    and the client sends the installation's secret read from the data directory."""
    import json
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from service.secret import load_or_create_secret

    secret = load_or_create_secret(tmp_path / "data")
    seen: list[tuple[str | None, str]] = []

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.headers.get("Authorization"), body["request_id"]))
            if len(seen) == 1:
                time.sleep(0.8)  # the first answer comes too late for the client
            payload = json.dumps({"uid": "set-1", "state": "connecting", "retry": len(seen) > 1}).encode()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the first: the client left
                self.send_response(202 if len(seen) == 1 else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = LiveClient(f"http://127.0.0.1:{server.server_port}", timeout_s=0.3, data_dir=tmp_path / "data")
        answer = client.start_set(patient_id=3, exercise="knee_raise", side="left", target_reps=5)
        assert answer == {"uid": "set-1", "state": "connecting", "retry": True}
        assert len(seen) == 2 and seen[0][1] == seen[1][1]
        assert seen[0][0] == seen[1][0] == f"Bearer {secret}"
    finally:
        server.shutdown()
        server.server_close()
