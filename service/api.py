"""The service's loopback HTTP API (Starlette on uvicorn, in the recorder's own event loop).

Routes (JSON unless noted; documented in docs/ingestion.md):
  GET  /health                 liveness + what is running
  GET  /state                  live state: set, angles, reps, last rep, alerts, link quality
  POST /sets                   start a set {patient, exercise, side, reps?, duration_s?, threshold_deg?}
  POST /sets/current/stop      stop the running set (it is then analysed and stored)
  GET  /sets/{uid}             result of a finished set (summary, reps, session id)
  GET  /sets/{uid}/raw.csv     the set's raw-session CSV (text/csv)
  GET  /sensors                assignment + last scan
  POST /sensors/scan           scan {timeout_s?}
  POST /sensors/assign         {thigh, pelvis, side} addresses from the last scan
  POST /sensors/identify       {duration_s?}: which sensor is moving
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sensors.errors import SensorError
from service.errors import SetStartError, SetStateError
from service.ingest import IngestService
from service.recorder import SetRequest
from tracker.results import json_safe

API_VERSION = 1


class _Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(json_safe(content), default=str, separators=(",", ":")).encode()


def _error(status: int, message: str) -> _Json:
    return _Json({"error": message}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"request body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("request body must be a JSON object")
    return data


def create_app(service: IngestService) -> Starlette:
    started = time.time()

    async def health(_: Request) -> Response:
        rec = service.recorder
        return _Json(
            {
                "ok": True,
                "api_version": API_VERSION,
                "uptime_s": round(time.time() - started, 1),
                "running": service.running,
                "set_uid": rec.uid if rec else None,
                "set_state": rec.state if rec else None,
            }
        )

    async def state(_: Request) -> Response:
        return _Json(service.state())

    async def start_set(request: Request) -> Response:
        try:
            body = await _body(request)
            req = SetRequest(
                patient_id=str(body["patient"]),
                exercise=str(body["exercise"]),
                side=str(body["side"]),
                target_reps=int(body["reps"]) if body.get("reps") is not None else None,
                duration_s=float(body["duration_s"]) if body.get("duration_s") is not None else None,
                threshold_deg=float(body.get("threshold_deg", 10.0)),
            )
        except KeyError as exc:
            return _error(400, f"missing field {exc.args[0]!r}; need patient, exercise, side")
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc))
        try:
            rec = await service.start_set(req)
        except SetStateError as exc:
            return _error(409, str(exc))
        except SetStartError as exc:
            return _error(400, str(exc))
        except SensorError as exc:
            return _error(503, str(exc))
        return _Json({"uid": rec.uid, "state": rec.state}, status_code=201)

    async def stop_set(_: Request) -> Response:
        try:
            rec = service.stop_set("stopped by request")
        except SetStateError as exc:
            return _error(409, str(exc))
        return _Json({"uid": rec.uid, "state": rec.state})

    async def get_set(request: Request) -> Response:
        uid = request.path_params["uid"]
        rec = service.recorder
        if rec is not None and rec.uid == uid and rec.result is None:
            return _Json({"uid": uid, "status": rec.state})
        result = service.results.get(uid)
        if result is None:
            return _error(404, f"no set {uid!r} in this service's history")
        return _Json(result.summary_dict())

    async def get_raw_csv(request: Request) -> Response:
        uid = request.path_params["uid"]
        result = service.results.get(uid)
        if result is None or result.raw is None:
            return _error(404, f"no finished set {uid!r}")
        from tracker.rawcsv import raw_to_frame

        buf = io.StringIO()
        raw_to_frame(result.raw).to_csv(buf, index=False)
        return Response(
            buf.getvalue(),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{uid}.csv"'},
        )

    async def sensors(_: Request) -> Response:
        a = service.assignments.load()
        return _Json(
            {
                "assignment": a.to_dict() if a else None,
                "candidates": [
                    {"address": c.address, "name": c.name, "profile": c.profile, "rssi": c.rssi}
                    for c in service.candidates
                ],
            }
        )

    async def scan(request: Request) -> Response:
        try:
            body = await _body(request)
            found = await service.scan(float(body["timeout_s"]) if "timeout_s" in body else None)
        except ValueError as exc:
            return _error(400, str(exc))
        return _Json([{"address": c.address, "name": c.name, "profile": c.profile, "rssi": c.rssi} for c in found])

    async def assign(request: Request) -> Response:
        try:
            body = await _body(request)
            a = service.assign(str(body["thigh"]), str(body["pelvis"]), str(body["side"]))
        except KeyError as exc:
            return _error(400, f"missing field {exc.args[0]!r}; need thigh, pelvis, side")
        except (ValueError, SensorError) as exc:
            return _error(400, str(exc))
        return _Json(a.to_dict())

    async def identify(request: Request) -> Response:
        try:
            body = await _body(request)
            moving, scores = await service.identify(float(body.get("duration_s", 3.0)))
        except SetStateError as exc:
            return _error(409, str(exc))
        except (ValueError, SensorError) as exc:
            return _error(400, str(exc))
        return _Json(
            {
                "moving": moving.address if moving else None,
                "scores": [dataclasses.asdict(s) for s in scores],
            }
        )

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/state", state),
            Route("/sets", start_set, methods=["POST"]),
            Route("/sets/current/stop", stop_set, methods=["POST"]),
            Route("/sets/{uid}", get_set),
            Route("/sets/{uid}/raw.csv", get_raw_csv),
            Route("/sensors", sensors),
            Route("/sensors/scan", scan, methods=["POST"]),
            Route("/sensors/assign", assign, methods=["POST"]),
            Route("/sensors/identify", identify, methods=["POST"]),
        ]
    )


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the CLI (or the test) owns the process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ApiServer:
    """Run the API on HOST:PORT (0 = any free port) inside the running event loop."""

    def __init__(self, service: IngestService, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the ingestion API serves loopback only; got host {host!r}")
        self.service = service
        self.host = host
        self.sock = socket.socket(socket.AF_INET6 if host == "::1" else socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.port = int(self.sock.getsockname()[1])
        config = uvicorn.Config(
            create_app(service), log_level="warning", access_log=False, lifespan="off", ws="none"
        )
        self.server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve(sockets=[self.sock]), name="ingest-api")
        while not self.server.started:
            if self._task.done():
                await self._task  # raises the start-up error
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task
        self.sock.close()
