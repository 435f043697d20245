"""Who may do what: every request authenticated and rate-limited, every refusal logged with its reason.

A hub authenticates with ``Authorization: Bearer <device token>``. Its device is bound to one
patient: it may upload only that patient's sessions and read only that patient's plan (403
otherwise). An unknown, malformed or revoked token is 401. Counts live in the database (store
``count_request``), so the limits hold however many replicas serve:

- per device: ``device_requests_per_minute`` authenticated requests (then 429);
- per client address: ``address_refusals_per_minute`` refused requests — wrong tokens, bad codes,
  another patient's data — after which the address gets 429 until the minute is over;
- per client address: ``enrolments_per_minute`` pairing attempts.

``RefusalLog`` (ASGI middleware) logs every response ≥ 400 — method, path, client address, status
and the reason a handler recorded — so no refusal goes unlogged, including unknown paths (a 404
for a session not received yet is logged at INFO, every other one at WARNING).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request

from server.config import Limits
from server.errors import Refusal
from store import Store
from store.records import Device

logger = logging.getLogger("server.refusals")

WINDOW_S = 60
REASON_KEY = "refusal_reason"
AUTH_CHALLENGE = 'Bearer realm="rehab-clinic"'


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def note_reason(request: Request, reason: str) -> None:
    """Record why this request is refused, for the refusal log."""
    request.scope.setdefault("state", {})[REASON_KEY] = reason


class Guard:
    """Authentication, patient binding and rate limits over the store."""

    def __init__(self, store: Store, limits: Limits) -> None:
        self.store = store
        self.limits = limits

    async def _count(self, key: str) -> int:
        return await asyncio.to_thread(self.store.count_request, key, window_s=WINDOW_S)

    async def check_address(self, request: Request) -> None:
        """429 for an address that was refused too often this minute (before any other work)."""
        addr = client_address(request)
        seen = await asyncio.to_thread(self.store.request_count, f"refused:{addr}", window_s=WINDOW_S)
        if seen >= self.limits.address_refusals_per_minute:
            raise Refusal(429, f"address {addr}: {seen} refused requests this minute",
                          "too many refused requests; wait a minute", retry_after_s=WINDOW_S)  # fmt: skip

    async def refused(self, request: Request, refusal: Refusal) -> Refusal:
        """Count a refusal against the client's address; return it for raising."""
        if refusal.status in (401, 403):
            await self._count(f"refused:{client_address(request)}")
        return refusal

    async def device(self, request: Request) -> Device:
        """The authenticated, unrevoked device of this request, within its rate limit."""
        await self.check_address(request)
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise await self.refused(request, Refusal(401, "no bearer token", "this request needs a device token"))
        device = await asyncio.to_thread(self.store.authenticate_device, token.strip())
        if device is None:
            raise await self.refused(request, Refusal(401, "unknown device token", "device token not valid"))
        if not device.active:
            raise await self.refused(
                request,
                Refusal(401, f"revoked token of device {device.id} (patient {device.patient_id})",
                        "this device's access was revoked by the clinic; pair it again with a new code"),
            )  # fmt: skip
        used = await self._count(f"device:{device.id}")
        if used > self.limits.device_requests_per_minute:
            raise Refusal(429, f"device {device.id}: {used} requests this minute",
                          "too many requests; slow down", retry_after_s=WINDOW_S)  # fmt: skip
        request.scope.setdefault("state", {})["device_id"] = device.id
        return device

    async def require_patient(self, request: Request, device: Device, patient_id: int) -> None:
        if device.patient_id != patient_id:
            raise await self.refused(
                request,
                Refusal(403, f"device {device.id} of patient {device.patient_id} asked for patient {patient_id}",
                        "this device may only send and read its own patient's data"),
            )  # fmt: skip

    async def enrolment_attempt(self, request: Request) -> None:
        await self.check_address(request)
        addr = client_address(request)
        tries = await self._count(f"enrol:{addr}")
        if tries > self.limits.enrolments_per_minute:
            raise Refusal(429, f"address {addr}: {tries} enrolment attempts this minute",
                          "too many pairing attempts; wait a minute", retry_after_s=WINDOW_S)  # fmt: skip


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class RefusalLog:
    """ASGI middleware: log every response with status ≥ 400, with the reason a handler noted."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def logging_send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                state = scope.get("state") or {}
                client = scope.get("client")
                # a receipt the clinic does not have yet (404) is an answer, not an alarm
                level = logging.INFO if message["status"] == 404 and REASON_KEY in state else logging.WARNING
                logger.log(
                    level,
                    "refused %s %s from %s%s: %d %s",
                    scope.get("method"), scope.get("path"), client[0] if client else "unknown",
                    f" (device {state['device_id']})" if "device_id" in state else "",
                    message["status"], state.get(REASON_KEY, "no such resource or method"),
                )  # fmt: skip
            await send(message)

        await self.app(scope, receive, logging_send)
