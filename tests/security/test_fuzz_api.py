"""Fuzzing the ingestion API (hypothesis, 2,000+ generated requests) against a real `rehab serve`
with virtual sensors, over loopback: no request gets a 500 or hangs, the service still answers
afterwards and stops on SIGTERM within 2 s.

Requests mix valid and invalid everything: methods, known and made-up paths, with/without/wrong
secret, Host and Origin headers, content types, and bodies that are JSON objects of known and
unknown fields with values of every type (huge, negative, NaN-like, nested, long text) or raw bytes.
Valid starts and stops happen too (the patient's real id is among the choices), so sets really
start, connect to the virtual sensors and stop while the fuzzing goes on. Durations the service
would honour for real (a valid 30 s scan) are shortened to keep the test's runtime reasonable.
"""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store import Store

EXAMPLES = 2000
PATHS = ["/health", "/state", "/sets", "/sets/current/stop", "/sets/x", "/sets/x/raw.csv", "/sensors",
         "/sensors/scan", "/sensors/assign", "/sensors/identify", "/", "/sets/../state", "/%00", "/sets/" + "a" * 300]  # fmt: skip
FIELDS = ["patient", "exercise", "side", "reps", "duration_s", "threshold_deg", "request_id", "timeout_s",
          "thigh", "pelvis", "other", ""]  # fmt: skip

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=80),
    st.sampled_from(["knee_raise", "deep_squat", "hip_extension", "left", "right", "1", "2", "0", "-1", "1e309"]),
)  # fmt: skip
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


@st.composite
def requests(draw: st.DrawFn, patient_id: int) -> tuple[str, str, dict[str, str], bytes | None, str]:
    method = draw(st.sampled_from(["GET", "POST", "POST", "POST", "PUT", "DELETE", "HEAD"]))
    # radio work (scans, identify) is real and slow: drawn a quarter as often as the other paths
    path = draw(st.sampled_from(PATHS) | st.sampled_from([p for p in PATHS if not p.startswith("/sensors/")]))
    headers: dict[str, str] = {}
    secret = draw(st.sampled_from(["right", "right", "right", "none", "wrong"]))
    if draw(st.integers(0, 9)) == 0:
        headers["Host"] = draw(st.sampled_from(["evil.example", "localhost", "127.0.0.1:1", "[::1]", "", "a" * 300]))
    if draw(st.integers(0, 9)) == 0:
        headers["Origin"] = draw(st.sampled_from(["http://evil.example", "http://localhost:8501", "null", ""]))
    kind = draw(st.sampled_from(["object", "object", "object", "none", "bytes", "json"]))
    body: bytes | None = None
    if kind == "object":
        obj = draw(st.dictionaries(st.sampled_from(FIELDS), values, max_size=6))
        if draw(st.integers(0, 3)) == 0:  # a plausible start: the real patient, a real drill
            obj = {"patient": draw(st.sampled_from([str(patient_id), patient_id, "99"])), "exercise": "knee_raise",
                   "side": draw(st.sampled_from(["left", "right"])), "reps": draw(st.integers(1, 3)),
                   **draw(st.fixed_dictionaries({}, optional={"request_id": st.sampled_from(["a", "b"])}))}  # fmt: skip
            path = draw(st.sampled_from(["/sets", "/sets/current/stop"]))
            method = "POST"
            if path == "/sets/current/stop":
                obj = {}
        for field in ("timeout_s", "duration_s"):
            if isinstance(obj.get(field), (int, float)) and not isinstance(obj[field], bool) and 0.2 < obj[field] <= 3600:
                obj[field] = 0.1  # valid long waits are real work, not fuzzing
        if path == "/sensors/scan":
            obj.setdefault("timeout_s", 0.1)  # the defaults (3 s) too
        if path == "/sensors/identify":
            obj.setdefault("duration_s", 0.1)
        body = json.dumps(obj).encode()
    elif kind == "json":
        body = json.dumps(draw(values)).encode()
    elif kind == "bytes":
        body = draw(st.binary(max_size=300))
    if body is not None or method == "POST":
        headers["Content-Type"] = draw(
            st.sampled_from(["application/json", "application/json", "application/json; charset=utf-8", "text/plain", "application/JSON"])
        )
    return method, path, headers, body, secret


@pytest.mark.slow
def test_fuzzed_requests_never_500_never_hang_and_sigterm_still_stops_it(rehab_serve, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store(data_dir=data, password_hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)) as store:
        patient = store.create_user("fuzz-patient", "patient-pw-1", role="patient").id
    serve = rehab_serve(data, "--virtual-sensors", "--virtual-pace", "0.3")
    conn = http.client.HTTPConnection("127.0.0.1", serve.port, timeout=20)
    seen: dict[int, int] = {}
    slowest = [0.0]
    http_s = [0.0]

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(requests(patient))
    def one(request) -> None:  # type: ignore[no-untyped-def]
        nonlocal conn
        method, path, headers, body, secret = request
        if secret == "right":
            headers = {**headers, "Authorization": f"Bearer {serve.secret}"}
        elif secret == "wrong":
            headers = {**headers, "Authorization": "Bearer " + "f" * 64}
        t0 = time.monotonic()
        for attempt in range(2):  # the server may close a connection after refusing a body
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                break
            except (ConnectionError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", serve.port, timeout=20)
                if attempt:
                    raise
        took = time.monotonic() - t0
        slowest[0] = max(slowest[0], took)
        http_s[0] += took
        seen[resp.status] = seen.get(resp.status, 0) + 1
        assert resp.status < 500 or resp.status == 503, (resp.status, method, path, headers, body)
        # no hang: the longest legitimate wait is a default 3 s scan queued behind a set's 3 s scan
        assert took < 10.0, (took, method, path, body)

    t0 = time.monotonic()
    try:
        one()
    finally:
        conn.close()
    fuzz_s = time.monotonic() - t0
    assert sum(seen.values()) >= EXAMPLES, seen
    assert {200, 400, 401}.issubset(seen), seen
    assert serve.call("GET", "/health")[0] == 200
    assert serve.stop() < 2.0, "SIGTERM after the fuzzing"
    assert seen.get(202, 0) >= 1, seen  # sets really started
    print(f"{sum(seen.values())} requests in {fuzz_s:.1f} s; statuses {dict(sorted(seen.items()))}; "
          f"slowest {slowest[0]:.2f} s; in HTTP {http_s[0]:.1f} s")
