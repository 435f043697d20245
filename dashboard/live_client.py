"""A thin client for the ingestion service's loopback JSON API (docs/ingestion.md), and a typed view
of its ``/state`` snapshot for the live page.

Endpoints used (service/api.py): ``GET /health``, ``GET /state``, ``POST /sets`` (start a
set: ``{patient, exercise, side, reps, threshold_deg}`` → 201 ``{uid, state}``), ``POST
/sets/current/stop``; errors are ``{"error": message}`` with 4xx/5xx. Only loopback URLs are accepted: the service carries patient data and is not
meant to leave the machine.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

#: The service's URL (rehab/commands/serve.py); unset means the `rehab serve` default below.
SERVICE_URL_ENV = "REHAB_INGEST_URL"
DEFAULT_SERVICE_URL = "http://127.0.0.1:8377"
DEFAULT_TIMEOUT_S = 1.0

#: Phases of a set as the live page shows them, in order.
PHASES = ("idle", "connecting", "calibrating", "recording", "analysing", "done", "failed")
#: The service's set states (docs/ingestion.md) that the page shows as another phase.
_PHASE_OF_STATE = {"finishing": "analysing"}
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
    """``LiveClient("http://127.0.0.1:8765").state()`` → the service's JSON snapshot."""

    def __init__(self, base_url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.base_url = _check_loopback(base_url)
        self.timeout_s = timeout_s

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = self.base_url + path
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            with contextlib.suppress(ValueError, AttributeError):
                detail = json.loads(detail).get("error", detail)
            raise LiveServiceError(url, str(detail) or exc.reason, exc.code) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise LiveServiceError(url, f"service not reachable: {getattr(exc, 'reason', exc)}") from exc
        try:
            return json.loads(payload) if payload else {}
        except ValueError as exc:
            raise LiveServiceError(url, f"answer is not JSON: {payload[:80]!r}") from exc

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/state")

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
        body: dict[str, Any] = {"patient": str(patient_id), "exercise": exercise, "side": side, "reps": target_reps}
        if request_id is not None:
            body["request_id"] = request_id
        if threshold_deg is not None:
            body["threshold_deg"] = float(threshold_deg)
        return self._call("POST", "/sets", body)

    def stop_set(self) -> dict[str, Any]:
        return self._call("POST", "/sets/current/stop", {})


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
            raw=snap,
        )
