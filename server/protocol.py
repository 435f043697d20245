"""The wire contract between a home hub and the clinic server (one place for both sides).

Endpoints (JSON unless noted; every one but /v1/health and /v1/enrol needs
``Authorization: Bearer <device token>``):

  GET  /v1/health                                   liveness only, no data (for load balancers)
  POST /v1/enrol                 {code, device_name} → 201 {token, device_id, patient}
  GET  /v1/patients/{pid}/sessions/{uid}             → 200 receipt | 404 not received
  PUT  /v1/patients/{pid}/sessions/{uid}             body: session bundle (store/bundle.py),
                                                     Content-Digest: sha-256=:<base64>: (RFC 9530)
                                                     → 201 stored | 200 already here | 409 | 422
  GET  /v1/patients/{pid}/plan                       ETag; If-None-Match → 304
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

API_VERSION = 1
HEALTH_PATH = "/v1/health"
ENROL_PATH = "/v1/enrol"
#: The uid of a session as it appears in a path: what the store allows, minus what a URL cannot hold.
UID_PATTERN = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")

DIGEST_HEADER = "Content-Digest"
_DIGEST_RE = re.compile(r"(?:^|,)\s*sha-256=:([A-Za-z0-9+/=]+):\s*(?:,|$)")


def session_path(patient_id: int, uid: str) -> str:
    return f"/v1/patients/{patient_id}/sessions/{uid}"


def plan_path(patient_id: int) -> str:
    return f"/v1/patients/{patient_id}/plan"


def content_digest(data: bytes) -> str:
    """The Content-Digest header value of ``data`` (RFC 9530, SHA-256)."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"


def parse_content_digest(value: str | None) -> str | None:
    """The SHA-256 (hex) a Content-Digest header declares, or None when it declares none."""
    if not value:
        return None
    m = _DIGEST_RE.search(value)
    if m is None:
        return None
    try:
        raw = base64.b64decode(m.group(1), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None
