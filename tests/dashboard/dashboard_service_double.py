"""A loopback HTTP server that answers like the ingestion service's API (service/api.py):
same routes, same JSON shapes (``IngestService.state()`` / ``SetRecorder.snapshot()``), scripted
phases. It stands in for the BLE side so the live page can be driven step by step in AppTest."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ServiceDouble:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, Any] | None]] = []
        self.snapshot: dict[str, Any] = {"set": None, "live": None, "sensors": {}, "latency_ms": None, "result": None}
        self.start_status = 202
        #: request ids seen by POST /sets: the same id again gets the same set (idempotent start)
        self.request_ids: dict[str, str] = {}
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                double.requests.append(("GET", self.path, None))
                if self.path == "/health":
                    self._send(200, {"ok": True, "api_version": 1})
                elif self.path == "/state":
                    self._send(200, double.snapshot)
                else:
                    self._send(404, {"error": f"no route {self.path}"})

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}")
                double.requests.append(("POST", self.path, body))
                if self.path == "/sets":
                    rid = body.get("request_id")
                    if rid is not None and rid in double.request_ids:
                        self._send(202, {"uid": double.request_ids[rid], "state": (double.snapshot.get("set") or {}).get("state")})
                        return
                    if double.start_status >= 400:
                        self._send(double.start_status, {"error": "set abc is still recording; stop it first"})
                        return
                    double.set_phase("connecting", patient=body["patient"], exercise=body["exercise"],
                                     side=body["side"], reps=body.get("reps"))  # fmt: skip
                    if rid is not None:
                        double.request_ids[rid] = "set-1"
                    self._send(double.start_status, {"uid": "set-1", "state": "connecting"})
                elif self.path == "/sets/current/stop":
                    self._send(200, {"uid": "set-1", "state": "finishing"})
                else:
                    self._send(404, {"error": f"no route {self.path}"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> ServiceDouble:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def set_phase(
        self,
        state: str,
        *,
        patient: str | None = None,
        exercise: str | None = None,
        side: str | None = None,
        reps: int | None = None,
        calibrated: bool = False,
        hip_deg: float | None = None,
        t_s: float | None = None,
        rep_count: int = 0,
        alert_t_s: float | None = None,
        session_id: int | None = None,
        battery: float = 80.0,
        lifting: bool = False,
        compensating_now: bool = False,
        hold_s: float | None = None,
        last_rep: dict[str, Any] | None = None,
        sanity: list[dict[str, Any]] | None = None,
        calibration_error: str | None = None,
    ) -> None:
        prev = self.snapshot.get("set") or {}
        s = {
            "uid": "set-1", "state": state, "patient_id": patient or prev.get("patient_id"),
            "exercise": exercise or prev.get("exercise"), "side": side or prev.get("side"),
            "target_reps": reps or prev.get("target_reps"), "duration_s": None, "started_at": "2026-11-26T10:00:00+00:00",
            "elapsed_s": 0.8, "stop_reason": None, "error": None,
        }  # fmt: skip
        sensors = {
            role: {"address": f"AA:{i}", "name": f"rehab-{role}", "profile": "rehab-imu-v1",
                   "connected": state != "connecting" or role == "thigh", "battery_percent": battery,
                   "low_battery": battery < 20, "connects": 1, "drops": 0, "last_error": None}
            for i, role in enumerate(("thigh", "pelvis"))
        }  # fmt: skip
        live = {
            "t_s": t_s, "hip_flexion_deg": hip_deg, "pelvic_tilt_deg": -4.0 if hip_deg is not None else None,
            "rep_count": rep_count, "target_reps": s["target_reps"], "last_rep": last_rep,
            "calibration": {"state": "error" if calibration_error else "ready" if calibrated else "calibrating",
                            "error": calibration_error},
            "threshold_deg": 10.0,
            "alerts": [] if alert_t_s is None else [{"t_s": alert_t_s, "kind": "compensation", "tilt_change_deg": -12.0}],
            "lifting": lifting, "compensating_now": compensating_now, "hold_s": hold_s,
            "tilt_change_deg": -12.0 if compensating_now else -2.0, "sanity": sanity or [],
        }  # fmt: skip
        result = None
        if state in ("done", "failed"):
            result = {"uid": "set-1", "status": "finished" if state == "done" else "failed", "session_id": session_id,
                      "samples": {"thigh": 1000, "pelvis": 1000}, "gaps": 0,
                      "error": None if state == "done" else "analysis failed: no calibration stand"}  # fmt: skip
        self.snapshot = {"set": s, "live": live, "sensors": sensors, "latency_ms": None, "result": result,
                         "service": {"backend": "virtual", "running": state not in ("done", "failed"), "recovered": []}}  # fmt: skip
