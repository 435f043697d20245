"""The service's loopback HTTP API (Starlette on uvicorn, in the recorder's own event loop).

Routes (JSON unless noted; documented in docs/ingestion.md):
  GET  /health                 liveness + what is running
  GET  /state                  live state: set (phase, reason), angles, reps, last rep, alerts, link quality
  POST /sets                   start a set {patient, exercise, side, reps?, duration_s?, threshold_deg?, request_id?}
                               → 202 at once; the set connects in the background (a retry with the
                               same request_id returns the same set)
  POST /sets/current/stop      stop the current set in whatever phase it is
  GET  /sets/{uid}             result of a finished set (summary, reps, session id)
  GET  /sets/{uid}/raw.csv     the set's raw-session CSV (text/csv)
  GET  /sensors                assignment + last scan
  POST /sensors/scan           scan {timeout_s?}
  POST /sensors/assign         {thigh, pelvis, side} addresses from the last scan
  POST /sensors/identify       {duration_s?}: which sensor is moving

Every request passes `ApiGuard` first (the security model, docs/ingestion.md): the Host is a
loopback name, an Origin (if any) is the dashboard's, the per-installation secret is presented
(service/secret.py), bodies are JSON (``Content-Type: application/json``), at most
``MAX_BODY_BYTES`` and nested at most ``MAX_JSON_DEPTH`` deep; every duration a request asks for is
bounded. Bad input gets a 4xx naming the field; nothing a client sends yields a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import math
import socket
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sensors.errors import SensorError
from service.errors import ServiceClosingError, SetStartError, SetStateError, UnknownPatientError
from service.ingest import IngestService
from service.recorder import SetRequest
from service.secret import is_authorized
from tracker.conventions import EXERCISES, SIDES
from tracker.results import json_safe

API_VERSION = 2

MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 8
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
#: Origins a browser may send (the dashboard's own pages; the dashboard calls the API server-side).
DEFAULT_ALLOWED_ORIGINS = ("http://127.0.0.1:8501", "http://localhost:8501")
#: Upper bounds of every duration or count a request can ask for.
MAX_SCAN_S = 30.0
MAX_IDENTIFY_S = 30.0
MAX_SET_DURATION_S = 3600.0
MAX_REPS = 200
MAX_TEXT = 64
#: uvicorn waits this long (s) for open requests at shutdown before cancelling them (a backstop:
#: `rehab serve` cancels the service's work first, so requests end at once).
GRACEFUL_SHUTDOWN_S = 1

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(json_safe(content), default=str, separators=(",", ":")).encode()


#: The HTTP status of each refusal, first match wins (a subclass before its base): what the caller
#: can fix is 4xx, a busy or closing service 503. Each route catches only what it expects.
_STATUS_OF: tuple[tuple[type[Exception], int], ...] = (
    (ValueError, 400),  # BadRequest and the request parsers' own checks
    (UnknownPatientError, 404),
    (SetStateError, 409),
    (ServiceClosingError, 503),
    (SetStartError, 400),
    (SensorError, 503),  # the radio failed (scan, identify); `assign` makes it the caller's: 400
)


def _refusal(exc: Exception, *, sensor_status: int = 503) -> _Json:
    status = next(code for cls, code in _STATUS_OF if isinstance(exc, cls))
    if status == 503 and isinstance(exc, SensorError) and not isinstance(exc, ServiceClosingError):
        status = sensor_status
    return _error(status, str(exc))


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> _Json:
    return _Json({"error": message}, status_code=status, headers=headers)


class BadRequest(ValueError):
    """A request body or field the API refuses; the message names the field (→ 400)."""


# ------------------------------------------------------------------------------------- the guard
def host_is_loopback(host_header: str) -> bool:
    """``127.0.0.1:8377``, ``localhost``, ``[::1]:8377`` → True; any other name (DNS rebinding) → False."""
    host = host_header.strip().lower()
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else rest
    else:
        name, _, port = host.partition(":")
    return name in LOOPBACK_NAMES and (port == "" or (port.isdigit() and len(port) <= 5))


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """True if arrays/objects nest deeper than ``limit`` (checked before parsing: the parser recurses)."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


class ApiGuard:
    """ASGI middleware: refuse a request before any route sees it (see the module docstring).

    Order: Host (403) → Origin (403) → secret (401) → method body rules: a POST must be
    ``application/json`` (415) and at most ``max_body`` bytes (413, read no further); the body read
    here is replayed to the route.
    """

    def __init__(
        self, app: ASGIApp, *, secret: str, allowed_origins: tuple[str, ...], max_body: int = MAX_BODY_BYTES
    ) -> None:
        self.app = app
        self.secret = secret
        self.allowed_origins = tuple(o.lower().rstrip("/") for o in allowed_origins)
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[str, str] = {}
        for k, v in scope["headers"]:
            key = k.decode("latin-1").lower()
            if key in headers and key in ("host", "origin", "authorization", "content-type", "content-length"):
                await _error(400, f"repeated {key} header")(scope, receive, send)
                return
            headers[key] = v.decode("latin-1")
        refusal = self._refuse(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body:
                await _error(413, f"request body over {self.max_body} bytes")(scope, receive, send)
                return
            more = bool(message.get("more_body"))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _refuse(self, scope: Scope, headers: dict[str, str]) -> Response | None:
        if not host_is_loopback(headers.get("host", "")):
            return _error(403, "the Host header must name this machine's loopback address")
        origin = headers.get("origin")
        if origin is not None and origin.lower().rstrip("/") not in self.allowed_origins:
            return _error(403, "requests from this origin are not allowed")
        if not is_authorized(headers.get("authorization"), self.secret):
            return _error(
                401, "missing or wrong secret: send 'Authorization: Bearer <secret>' (data dir file ingest-secret)",
                {"WWW-Authenticate": 'Bearer realm="rehab-ingest"'},
            )  # fmt: skip
        if scope["method"] in ("GET", "HEAD"):
            if headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in headers:
                return _error(400, "a GET request carries no body")
            return None
        media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            return _error(415, "request bodies must be JSON with 'Content-Type: application/json'")
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return _error(413, f"request body over {self.max_body} bytes")
        return None


# ------------------------------------------------------------------------------------ the fields
async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    if json_depth_exceeds(raw, MAX_JSON_DEPTH):
        raise BadRequest(f"request body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest(f"request body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


def _refuse_constant(name: str) -> Any:
    raise BadRequest(f"{name} is not a number JSON allows")


def _only(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    extra = sorted(str(k)[:MAX_TEXT] for k in body if k not in allowed)
    if extra:
        raise BadRequest(f"unknown field(s) {', '.join(map(repr, extra))}; allowed: {', '.join(allowed)}")


def _text(body: dict[str, Any], name: str, *, choices: tuple[str, ...] | None = None, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"missing field {name!r}")
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TEXT or not value.isprintable():
        raise BadRequest(f"field {name!r} must be a short text")
    if choices is not None and value not in choices:
        raise BadRequest(f"field {name!r}: {value!r} is not one of {', '.join(choices)}")
    return value


def _number(body: dict[str, Any], name: str, lo: float, hi: float, *, integer: bool = False) -> float | None:
    """An optional number in (lo, hi] (integers: [lo, hi]); bools, text, NaN and infinities refused."""
    value = body.get(name)
    if value is None:
        return None
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or not math.isfinite(value):
        raise BadRequest(f"field {name!r} must be {'an integer' if integer else 'a number'}")
    inside = lo <= value <= hi if integer else lo < value <= hi
    if not inside:
        raise BadRequest(f"field {name!r}: {value!r} is outside {lo:g}…{hi:g}")
    return value


def _patient(body: dict[str, Any]) -> str:
    value = body.get("patient")
    if value is None:
        raise BadRequest("missing field 'patient'")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise BadRequest("field 'patient' must be the patient's numeric id")
    text = str(value)
    if not (text.isascii() and text.isdigit() and 0 < len(text) <= 18):
        raise BadRequest("field 'patient' must be the patient's numeric id")
    return text


def set_request(body: dict[str, Any]) -> tuple[SetRequest, str | None]:
    """POST /sets body → (SetRequest, request_id), or BadRequest naming the field."""
    _only(body, ("patient", "exercise", "side", "reps", "duration_s", "threshold_deg", "request_id"))
    reps = _number(body, "reps", 1, MAX_REPS, integer=True)
    duration = _number(body, "duration_s", 0.0, MAX_SET_DURATION_S)
    threshold = _number(body, "threshold_deg", 0.0, 89.0)
    request = SetRequest(
        patient_id=_patient(body),
        exercise=str(_text(body, "exercise", choices=EXERCISES)),
        side=str(_text(body, "side", choices=SIDES)),
        target_reps=None if reps is None else int(reps),
        duration_s=duration,
        **({} if threshold is None else {"threshold_deg": float(threshold)}),
    )
    request_id = _text(body, "request_id", required=False)
    return request, request_id


# ---------------------------------------------------------------------------------------- routes
def create_app(
    service: IngestService, *, secret: str, allowed_origins: tuple[str, ...] = DEFAULT_ALLOWED_ORIGINS
) -> ASGIApp:
    started = time.time()

    def candidate_list() -> list[dict[str, Any]]:
        return [{"address": c.address, "name": c.name, "profile": c.profile, "rssi": c.rssi} for c in service.candidates]

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
            req, request_id = set_request(await _body(request))
        except ValueError as exc:
            return _refusal(exc)
        try:
            rec, again = await service.start_set(req, request_id=request_id)
        except (SetStateError, ServiceClosingError, SetStartError) as exc:
            return _refusal(exc)
        return _Json(
            {"uid": rec.uid, "state": rec.state, "request_id": request_id, "retry": again},
            status_code=200 if again else 202,
        )

    async def stop_set(request: Request) -> Response:
        try:
            _only(await _body(request), ())
        except BadRequest as exc:
            return _refusal(exc)
        try:
            rec = service.stop_set("stopped by request")
        except SetStateError as exc:
            return _refusal(exc)
        return _Json({"uid": rec.uid, "state": rec.state})

    async def get_set(request: Request) -> Response:
        uid = request.path_params["uid"]
        rec = service.recorder
        if rec is not None and rec.uid == uid and rec.result is None:
            return _Json({"uid": uid, "status": rec.state, "reason": rec.reason})
        result = service.results.get(uid)
        if result is None:
            return _error(404, "no such set in this service's history")
        return _Json(result.summary_dict())

    async def get_raw_csv(request: Request) -> Response:
        uid = request.path_params["uid"]
        result = service.results.get(uid)
        if result is None or result.raw is None:
            return _error(404, "no such finished set")
        from tracker.rawcsv import raw_to_frame

        buf = io.StringIO()
        raw_to_frame(result.raw).to_csv(buf, index=False)
        return Response(
            buf.getvalue(),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{result.uid}.csv"'},
        )

    async def sensors(_: Request) -> Response:
        a = service.assignments.load()
        return _Json({"assignment": a.to_dict() if a else None, "candidates": candidate_list()})

    async def scan(request: Request) -> Response:
        try:
            body = await _body(request)
            _only(body, ("timeout_s",))
            await service.scan(_number(body, "timeout_s", 0.0, MAX_SCAN_S))
        except (BadRequest, SensorError) as exc:
            return _refusal(exc)
        return _Json(candidate_list())

    async def assign(request: Request) -> Response:
        try:
            body = await _body(request)
            _only(body, ("thigh", "pelvis", "side"))
            a = service.assign(
                str(_text(body, "thigh")), str(_text(body, "pelvis")), str(_text(body, "side", choices=SIDES))
            )
        except (BadRequest, SensorError) as exc:
            return _refusal(exc, sensor_status=400)
        return _Json(a.to_dict())

    async def identify(request: Request) -> Response:
        try:
            body = await _body(request)
            _only(body, ("duration_s",))
            duration = _number(body, "duration_s", 0.0, MAX_IDENTIFY_S)
            moving, scores = await service.identify(3.0 if duration is None else duration)
        except (BadRequest, SensorError) as exc:
            return _refusal(exc)
        return _Json(
            {
                "moving": moving.address if moving else None,
                "scores": [dataclasses.asdict(s) for s in scores],
            }
        )

    app = Starlette(
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
    return ApiGuard(app, secret=secret, allowed_origins=allowed_origins)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the CLI (or the test) owns the process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ApiServer:
    """Run the API on HOST:PORT (0 = any free port) inside the running event loop.

    ``secret``: the per-installation secret every request must carry (service.secret); by default
    the one in the data directory ($REHAB_DATA_DIR), created on first use.
    """

    def __init__(
        self,
        service: IngestService,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        secret: str | None = None,
        allowed_origins: tuple[str, ...] = DEFAULT_ALLOWED_ORIGINS,
    ) -> None:
        if host not in LOOPBACK_NAMES:
            raise ValueError(f"the ingestion API serves loopback only; got host {host!r}")
        if secret is None:
            from service.secret import load_or_create_secret

            secret = load_or_create_secret()
        self.service = service
        self.host = host
        self.sock = socket.socket(socket.AF_INET6 if host == "::1" else socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted connections inherit it: without it a reused connection waits ~40 ms per answer
        # (uvicorn writes head and body separately: Nagle meets the client's delayed ACK)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.bind((host, port))
        self.port = int(self.sock.getsockname()[1])
        config = uvicorn.Config(
            create_app(service, secret=secret, allowed_origins=allowed_origins),
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            limit_concurrency=64,
            h11_max_incomplete_event_size=16 * 1024,
        )
        self.server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

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
