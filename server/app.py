"""The clinic server's HTTP API (Starlette): enrol a hub, receive sessions, hand out the plan.

Routes and their contract: server/protocol.py. Store calls run in worker threads; a session upload
first waits for one of ``Limits.upload_slots`` — at most ``upload_queue`` wait, any more get 503 +
Retry-After before their body is read, so a thousand hubs at once cost a bounded amount of
memory — then reads the body, checks its SHA-256 against Content-Digest (422 if they differ: the
hub sends it again), checks every field and file (store/bundle.py, 400), and stores it in one
transaction with its files (201) — or acknowledges it again when that uid is already here with the
same content (200; nothing is stored twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import protocol
from server.config import ServerConfig
from server.errors import Refusal
from server.guard import Guard, RefusalLog, note_reason
from store import DuplicateError, NotFoundError, Store
from store.bundle import BundleError, unpack
from store.devices import EnrolmentRefusedError
from store.plans import plan_etag
from store.records import Receipt

logger = logging.getLogger("server")

ENROL_BODY_MAX = 4096
GUARD_THREADS = 4


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(content, status_code=status, headers=headers)


def _receipt_json(r: Receipt) -> dict[str, Any]:
    return {"uid": r.uid, "session_id": r.session_id, "content_sha256": r.content_sha256,
            "received_at": r.received_at.isoformat(), "created": r.created}  # fmt: skip


async def _read_body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refusal(413, f"body over {limit} bytes", f"a session bundle may be at most {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise Refusal(499, f"client gone after {size} bytes of the body; nothing stored", "incomplete request") from exc
    return b"".join(chunks)


def create_app(store: Store, config: ServerConfig) -> Starlette:
    guard = Guard(store, config.limits)
    limits = config.limits
    slots = asyncio.Semaphore(limits.upload_slots)
    queued = [0]  # uploads waiting for a slot in this process

    async def health(_: Request) -> Response:
        return _json({"ok": True, "api_version": protocol.API_VERSION})

    async def enrol(request: Request) -> Response:
        await guard.enrolment_attempt(request)
        raw = await _read_body(request, ENROL_BODY_MAX)
        try:
            body = json.loads(raw)
            code, name = str(body["code"]), str(body.get("device_name") or "home hub")
        except (ValueError, KeyError, TypeError) as exc:
            raise Refusal(400, f"enrolment body not usable ({exc})", 'send JSON {"code": ..., "device_name": ...}') from exc
        try:
            paired = await asyncio.to_thread(store.redeem_enrolment_code, code, device_name=name)
        except EnrolmentRefusedError as exc:
            raise await guard.refused(
                request, Refusal(401, exc.reason, "enrolment code not valid: unknown, expired or already used; "
                                                  "ask your therapist for a new one")  # fmt: skip
            ) from exc
        logger.info("paired device %d (%r) for patient %d", paired.device.id, name, paired.patient.id)
        p = paired.patient
        return _json(
            {"token": paired.token, "device_id": paired.device.id,
             "patient": {"id": p.id, "username": p.username, "display_name": p.display_name}},
            201, {"Cache-Control": "no-store"},
        )  # fmt: skip

    async def _session_target(request: Request) -> tuple[int, str, Any]:
        device = await guard.device(request)
        patient_id: int = request.path_params["patient_id"]
        await guard.require_patient(request, device, patient_id)
        uid: str = request.path_params["uid"]
        if not protocol.UID_PATTERN.match(uid):
            raise Refusal(400, f"uid {uid!r} not allowed", "a session uid is 1–64 letters, digits, '.', '_', '~' or '-'")
        return patient_id, uid, device

    async def get_receipt(request: Request) -> Response:
        patient_id, uid, _ = await _session_target(request)
        receipt = await asyncio.to_thread(store.get_receipt, uid)
        if receipt is None or receipt.patient_id != patient_id:
            raise Refusal(404, f"session {uid} not received for patient {patient_id}", "not received")
        return _json(_receipt_json(receipt))

    async def put_session(request: Request) -> Response:
        patient_id, uid, device = await _session_target(request)
        declared = protocol.parse_content_digest(request.headers.get(protocol.DIGEST_HEADER))
        if declared is None:
            raise Refusal(400, "no usable Content-Digest", "send Content-Digest: sha-256=:<base64>:")
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > config.limits.max_upload_bytes:
            raise Refusal(413, f"Content-Length {length}", f"at most {config.limits.max_upload_bytes} bytes")
        if queued[0] >= limits.upload_queue:  # answer now, before the body is read: memory stays bounded
            raise Refusal(503, f"upload queue full ({queued[0]} waiting)", "busy; try again shortly",
                          retry_after_s=limits.busy_retry_after_s)  # fmt: skip
        queued[0] += 1
        try:
            await asyncio.wait_for(slots.acquire(), limits.slot_wait_s)
        except TimeoutError as exc:
            raise Refusal(503, "no upload slot within the wait limit", "busy; try again shortly",
                          retry_after_s=limits.busy_retry_after_s) from exc  # fmt: skip
        finally:
            queued[0] -= 1
        try:
            body = await _read_body(request, config.limits.max_upload_bytes)
            actual = await asyncio.to_thread(lambda: hashlib.sha256(body).hexdigest())
            if actual != declared:
                raise Refusal(422, f"content digest mismatch for {uid}: declared {declared[:12]}…, got {actual[:12]}…",
                              "the bundle arrived damaged (its SHA-256 differs); send it again")  # fmt: skip
            try:
                bundle = await asyncio.to_thread(unpack, body)
            except BundleError as exc:
                raise Refusal(400, f"bundle {uid}: {exc}", str(exc)) from exc
            if bundle.uid != uid:
                raise Refusal(400, f"bundle uid {bundle.uid!r} in PUT to {uid!r}", "the bundle's uid differs from the URL's")
            try:
                receipt = await asyncio.to_thread(
                    store.receive_session, patient_id, bundle, content_sha256=actual, device_id=device.id
                )
            except DuplicateError as exc:
                raise Refusal(409, str(exc), "a different session is already stored under this uid") from exc
            except BundleError as exc:
                raise Refusal(400, f"bundle {uid}: {exc}", str(exc)) from exc
            except NotFoundError as exc:
                raise Refusal(404, str(exc), "patient not found") from exc
        finally:
            slots.release()
        if receipt.created:
            logger.info("stored session %s for patient %d from device %d (%d bytes)", uid, patient_id, device.id, len(body))
            if bundle.clinic_prescription_id is not None:
                # the box → floor rule runs where the therapist decides: on the clinic's history
                # (the patient's "too easy / about right / too hard" travels with the session)
                try:
                    await asyncio.to_thread(store.propose_progression, bundle.clinic_prescription_id)
                except Exception:  # a suggestion is advice; the stored session stands
                    logger.exception("progression rule after session %s failed", uid)
        return _json(_receipt_json(receipt), 201 if receipt.created else 200)

    async def get_plan(request: Request) -> Response:
        device = await guard.device(request)
        patient_id: int = request.path_params["patient_id"]
        await guard.require_patient(request, device, patient_id)
        plan = await asyncio.to_thread(store.plan_document, patient_id)
        etag = plan_etag(plan)
        if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers={"ETag": etag})
        return _json(plan, headers={"ETag": etag, "Cache-Control": "no-cache"})

    async def refusal(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refusal)
        note_reason(request, exc.reason)
        headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="rehab-clinic"'
        return _json({"error": exc.message}, exc.status, headers)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # Store calls run on a few threads, not Python's default of up to 32: one per upload slot
        # plus some for the quick guard queries (each thread's malloc arena would keep its own
        # high-water mark of bundle-sized buffers).
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=limits.upload_slots + GUARD_THREADS, thread_name_prefix="store")
        )
        task = asyncio.create_task(_maintenance(store, config.maintenance_interval_s), name="maintenance")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return Starlette(
        routes=[
            Route(protocol.HEALTH_PATH, health),
            Route(protocol.ENROL_PATH, enrol, methods=["POST"]),
            Route("/v1/patients/{patient_id:int}/sessions/{uid}", get_receipt, methods=["GET"]),
            Route("/v1/patients/{patient_id:int}/sessions/{uid}", put_session, methods=["PUT"]),
            Route("/v1/patients/{patient_id:int}/plan", get_plan, methods=["GET"]),
        ],
        middleware=[Middleware(RefusalLog)],
        exception_handlers={Refusal: refusal},
        lifespan=lifespan,
    )


async def _maintenance(store: Store, interval_s: float) -> None:
    """Prune old rate-limit windows and remove orphaned session files, every ``interval_s``
    (any replica may do it: both are safe to run concurrently)."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            pruned = await asyncio.to_thread(store.prune_rate_limits, older_than_s=2 * interval_s)
            orphans = await asyncio.to_thread(store.clean_orphans)
            logger.info("maintenance: %d rate-limit windows pruned, %d orphaned session folders removed", pruned, len(orphans))
        except Exception:
            logger.exception("maintenance failed; trying again in %.0f s", interval_s)
