"""The hub's HTTPS client to the clinic server (httpx, async): enrol, receipts, uploads, the plan.

TLS is always verified — against the clinic's CA file when the pairing names one, else the system's
trust store; a certificate that does not verify raises ClinicCertificateError before a single byte
of the request is sent. Every failure is turned into a typed error (service/sync/errors.py) that
says whether waiting can help.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from server import protocol
from service.sync.errors import (
    AccessRevokedError,
    ClinicBusyError,
    ClinicCertificateError,
    ClinicError,
    ClinicRefusedError,
    ClinicUnreachableError,
    SessionRejectedError,
    WrongPatientError,
)
from service.sync.policy import SyncPolicy
from store.bundle import MEDIA_TYPE


@dataclass(frozen=True, slots=True)
class PlanResponse:
    plan: dict[str, Any] | None  # None: not modified since ``etag``
    etag: str | None


def ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """Verify the server's certificate and host name (TLS ≥ 1.2), against ``ca_file`` if given."""
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def _certificate_problem(exc: BaseException) -> BaseException | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _error_message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error") or response.reason_phrase)
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"


def _raise_for(response: httpx.Response, *, per_session: bool = False) -> None:
    status = response.status_code
    if status < 400:
        return
    message = _error_message(response)
    if status == 401:
        raise AccessRevokedError(status, message)
    if status == 403:
        raise WrongPatientError(status, message)
    if status in (429, 503):
        retry = response.headers.get("retry-after", "")
        raise ClinicBusyError(f"{status}: {message}", float(retry) if retry.isdigit() else None)
    if per_session and status in (400, 409, 413, 422):
        raise SessionRejectedError(status, message)
    raise ClinicRefusedError(status, message)


class ClinicClient:
    """One clinic server; ``token`` is the device token (None only for enrolment)."""

    def __init__(
        self, server_url: str, *, token: str | None = None, ca_file: str | None = None,
        policy: SyncPolicy | None = None, transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:  # fmt: skip
        policy = policy or SyncPolicy()
        headers = {"User-Agent": "rehab-hub/1"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        self.server_url = server_url
        self._client = httpx.AsyncClient(
            base_url=server_url,
            headers=headers,
            verify=ssl_context(ca_file),
            timeout=httpx.Timeout(policy.request_timeout_s, connect=policy.connect_timeout_s),
            transport=transport,
            follow_redirects=False,  # a redirect could carry the token elsewhere
        )

    async def __aenter__(self) -> ClinicClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            cert = _certificate_problem(exc)
            if cert is not None:
                raise ClinicCertificateError(f"{self.server_url}: certificate not trusted ({cert})") from exc
            raise ClinicUnreachableError(f"{self.server_url}: {type(exc).__name__}: {exc}") from exc

    async def enrol(self, code: str, device_name: str) -> dict[str, Any]:
        response = await self._request("POST", protocol.ENROL_PATH, json={"code": code, "device_name": device_name})
        _raise_for(response)
        data: dict[str, Any] = response.json()
        return data

    async def receipt(self, patient_id: int, uid: str) -> dict[str, Any] | None:
        """The clinic's receipt for ``uid``, or None if it has not received it."""
        response = await self._request("GET", protocol.session_path(patient_id, uid))
        if response.status_code == 404:
            return None
        _raise_for(response)
        data: dict[str, Any] = response.json()
        return data

    async def upload(self, patient_id: int, uid: str, bundle: bytes) -> dict[str, Any]:
        """PUT one session bundle; the clinic's receipt (``created`` False if it was already there)."""
        response = await self._request(
            "PUT", protocol.session_path(patient_id, uid), content=bundle,
            headers={"Content-Type": MEDIA_TYPE, protocol.DIGEST_HEADER: protocol.content_digest(bundle)},
        )  # fmt: skip
        _raise_for(response, per_session=True)
        data: dict[str, Any] = response.json()
        return data

    async def plan(self, patient_id: int, etag: str | None) -> PlanResponse:
        headers = {"If-None-Match": etag} if etag else {}
        response = await self._request("GET", protocol.plan_path(patient_id), headers=headers)
        if response.status_code == 304:
            return PlanResponse(None, etag)
        _raise_for(response)
        return PlanResponse(response.json(), response.headers.get("etag"))

    async def health(self) -> bool:
        response = await self._request("GET", protocol.HEALTH_PATH)
        return response.status_code == 200


__all__ = ["ClinicClient", "ClinicError", "PlanResponse", "ssl_context"]
