"""A thin client for the ingestion service's loopback JSON API (docs/ingestion.md), and a typed view
of its ``/state`` snapshot for the live page.

Endpoints used (service/api.py): ``GET /health``, ``GET /state``, ``POST /sets`` (start a set:
``{patient, exercise, side, reps, threshold_deg, request_id}`` → 202 ``{uid, state}`` at once; the
same ``request_id`` again → the same set), ``POST /sets/current/stop`` (any phase); errors are
``{"error": message}`` with 4xx/5xx. Every request carries the installation's secret, read from
``<data dir>/ingest-secret`` (service/secret.py). Only loopback URLs are accepted: the service
carries patient data and is not meant to leave the machine.

Each call has its own timeout (``TIMEOUTS_S``): reading the state must be quick for a page polling
4×/s; starting a set returns at once (the set connects in the service), and a start that timed out
is retried once with the same request id, so it can never start two sets.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.secret import SecretError, authorization, read_secret, secret_path

#: The service's URL (rehab/commands/serve.py); unset means the `rehab serve` default below.
SERVICE_URL_ENV = "REHAB_INGEST_URL"
DEFAULT_SERVICE_URL = "http://127.0.0.1:8377"
DEFAULT_TIMEOUT_S = 1.0
#: Timeout per call, seconds: quick reads for polling; start/stop answer at once but may queue
#: behind a scan's event-loop work.
TIMEOUTS_S = {"health": 1.0, "state": 1.0, "start_set": 3.0, "stop_set": 3.0}

#: Phases of a set as the live page shows them, in order.
PHASES = ("idle", "connecting", "calibrating", "recording", "analysing", "done", "failed")
#: The service's set states (docs/ingestion.md: connecting, calibrating, recording, finishing, done,
#: failed) that the page shows as another phase.
_PHASE_OF_STATE = {"finishing": "analysing", "analysing": "analysing"}
#: ``live.calibration.state`` once the live tracker has calibrated (tracker.live.LiveTracker).
_CALIBRATED_STATE = "ready"


class LiveServiceError(Exception):
    """The ingestion service is unreachable or answered with an error; the message names the URL."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}" + (f" (HTTP {status})" if status is not None else ""))
        self.url = url
        self.reason = reason
        self.status = status


def _check_loopback(base_url: str) -> str:
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"service URL {base_url!r} must be http://<loopback host>:<port>")
    host = parts.hostname
    if host != "localhost":
        try:
            if not ipaddress.ip_address(host).is_loopback:
                raise ValueError(f"service URL {base_url!r} is not a loopback address")
        except ValueError as exc:
            raise ValueError(f"service URL {base_url!r} must use a loopback address (127.0.0.1, ::1, localhost)") from exc
    return base_url.rstrip("/")


class LiveClient:
    """``LiveClient("http://127.0.0.1:8765").state()`` → the service's JSON snapshot.

    ``secret``: the service's secret; by default read from ``<data_dir>/ingest-secret`` (data_dir:
    ``$REHAB_DATA_DIR``) at the first call, and again after a 401 (the service may have made it
    since). ``timeout_s`` overrides every per-call timeout (tests).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float | None = None,
        secret: str | None = None,
        data_dir: Path | str | None = None,
    ) -> None:
        self.base_url = _check_loopback(base_url)
        self.timeout_s = timeout_s
        self._secret = secret
        self._secret_fixed = secret is not None
        self.data_dir = data_dir

    def _timeout(self, call: str) -> float:
        return self.timeout_s if self.timeout_s is not None else TIMEOUTS_S.get(call, DEFAULT_TIMEOUT_S)

    def _auth(self, *, reload: bool = False) -> str | None:
        if self._secret is None or (reload and not self._secret_fixed):
            try:
                self._secret = read_secret(secret_path(self.data_dir))
            except SecretError:
                self._secret = None  # the service answers 401, and the error names the file
        return self._secret

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, *, call: str = "") -> Any:
        try:
            return self._request(method, path, body, call=call, secret=self._auth())
        except LiveServiceError as exc:
            if exc.status != 401 or self._secret_fixed:
                raise
            return self._request(method, path, body, call=call, secret=self._auth(reload=True))

    def _request(self, method: str, path: str, body: dict[str, Any] | None, *, call: str, secret: str | None) -> Any:
        url = self.base_url + path
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/json")
        if secret is not None:
            req.add_header("Authorization", authorization(secret))
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self._timeout(call)) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            with contextlib.suppress(ValueError, AttributeError):
                detail = json.loads(detail).get("error", detail)
            if exc.code == 401 and secret is None:
                detail = f"{detail} — the dashboard found no readable secret at {secret_path(self.data_dir)}"
            raise LiveServiceError(url, str(detail) or exc.reason, exc.code) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise LiveServiceError(url, f"service not reachable: {getattr(exc, 'reason', exc)}") from exc
        try:
            return json.loads(payload) if payload else {}
        except ValueError as exc:
            raise LiveServiceError(url, f"answer is not JSON: {payload[:80]!r}") from exc

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health", call="health")

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/state", call="state")

    def start_set(
        self,
        *,
        patient_id: int | str,
        exercise: str,
        side: str,
        target_reps: int | None,
        threshold_deg: float | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Start a set; returns ``{uid, state, request_id, retry}`` at once (state ``connecting``).

        ``request_id`` makes the start idempotent: the same id again (a retry after a timeout, a
        double click) returns the same set instead of an error. One is made up when not given, and
        a start that timed out is retried once with it.
        """
        body: dict[str, Any] = {
            "patient": str(patient_id), "exercise": exercise, "side": side, "reps": target_reps,
            "request_id": request_id or uuid.uuid4().hex,
        }  # fmt: skip
        if threshold_deg is not None:
            body["threshold_deg"] = float(threshold_deg)
        try:
            return self._call("POST", "/sets", body, call="start_set")
        except LiveServiceError as exc:
            if exc.status is not None:
                raise
            return self._call("POST", "/sets", body, call="start_set")  # same request id: never two sets

    def stop_set(self) -> dict[str, Any]:
        """Stop the current set in whatever phase it is (connecting, calibrating, recording)."""
        return self._call("POST", "/sets/current/stop", {}, call="stop_set")


# ---------------------------------------------------------------------------------- snapshot view
def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


@dataclass(frozen=True, slots=True)
class SensorStatus:
    name: str
    connected: bool
    battery_percent: float | None
    low_battery: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class LiveState:
    """What the live page needs from one ``/state`` snapshot (missing parts read as None/empty)."""

    phase: str
    patient_id: str | None
    exercise: str | None
    side: str | None
    elapsed_s: float | None
    hip_flexion_deg: float | None
    pelvic_tilt_deg: float | None
    rep_count: int
    target_reps: int | None
    threshold_deg: float | None
    calibrated: bool
    calibration_remaining_s: float | None
    alerts: tuple[dict[str, Any], ...]
    last_rep: dict[str, Any] | None
    sensors: tuple[SensorStatus, ...]
    session_id: int | None
    summary: dict[str, Any] | None
    error: str | None
    t_s: float | None = None
    uid: str | None = None
    #: Why the set ended or is ending (the service's ``set.reason``), e.g. "calibration failed: …".
    reason: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def compensating(self) -> bool:
        """True when the latest alert is recent (within 2 s of the live clock) or the last rep was flagged."""
        if self.alerts and self.t_s is not None:
            t_alert = _num(self.alerts[-1].get("t_s"))
            if t_alert is not None and self.t_s - t_alert <= 2.0:
                return True
        return bool(self.last_rep and self.last_rep.get("compensation"))

    @property
    def sensors_ready(self) -> bool:
        return bool(self.sensors) and all(s.connected for s in self.sensors)

    @classmethod
    def from_json(cls, snap: dict[str, Any]) -> LiveState:
        st = snap.get("set") or {}
        live = snap.get("live") or {}
        result = snap.get("result") or {}
        cal = live.get("calibration") or {}
        state = str(st.get("state") or "idle")
        hip = _num(live.get("hip_flexion_deg"))
        calibrated = cal.get("state") == _CALIBRATED_STATE
        phase = _PHASE_OF_STATE.get(state, state)
        if phase == "recording" and not calibrated:
            phase = "calibrating"
        if phase not in PHASES:
            phase = "failed" if state == "error" else "recording"
        sensors = tuple(
            SensorStatus(
                name=name,
                connected=bool(s.get("connected")),
                battery_percent=_num(s.get("battery_percent")),
                low_battery=bool(s.get("low_battery")),
                detail=str(s.get("last_error") or ""),
            )
            for name, s in (snap.get("sensors") or {}).items()
        )
        analysis = result.get("analysis") or {}
        sid = result.get("session_id")
        return cls(
            phase=phase,
            patient_id=None if st.get("patient_id") is None else str(st.get("patient_id")),
            exercise=st.get("exercise"),
            side=st.get("side"),
            elapsed_s=_num(st.get("elapsed_s")),
            hip_flexion_deg=hip,
            pelvic_tilt_deg=_num(live.get("pelvic_tilt_deg")),
            rep_count=int(live.get("rep_count") or 0),
            target_reps=live.get("target_reps", st.get("target_reps")),
            threshold_deg=_num(live.get("threshold_deg")),
            calibrated=calibrated,
            calibration_remaining_s=_num(cal.get("remaining_s")),
            alerts=tuple(live.get("alerts") or ()),
            last_rep=live.get("last_rep"),
            sensors=sensors,
            session_id=int(sid) if sid is not None and str(sid).isdigit() else None,
            summary=analysis.get("summary"),
            error=st.get("error") or result.get("error") or cal.get("error"),
            t_s=_num(live.get("t_s")),
            uid=None if st.get("uid") is None else str(st.get("uid")),
            reason=st.get("reason") or st.get("error") or result.get("error"),
            raw=snap,
        )
