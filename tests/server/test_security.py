"""Who gets in (the clinic server's app in-process over httpx, on a real PostgreSQL database): no token,
a wrong or revoked token → 401; another patient's data → 403; expired or reused codes refused;
every refusal logged with its reason; limits shared through the database."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import httpx
import pytest

from server import protocol
from server.app import create_app
from server.config import Limits, ServerConfig
from store.bundle import pack

from .conftest import T0, Clinic, hub_store, simulated_set

pytestmark = pytest.mark.postgres


def _client(clinic: Clinic, limits: Limits | None = None) -> httpx.AsyncClient:
    app = create_app(clinic.store, ServerConfig(tls=False, limits=limits or Limits()))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://clinic.test")


async def _pair(client: httpx.AsyncClient, clinic: Clinic, patient: str) -> str:
    code = clinic.store.create_enrolment_code(clinic.patients[patient], created_by=clinic.therapist)
    r = await client.post(protocol.ENROL_PATH, json={"code": code.code, "device_name": f"{patient}'s hub"})
    assert r.status_code == 201, r.text
    assert r.json()["patient"]["id"] == clinic.patients[patient]
    return str(r.json()["token"])


def _bundle(tmp_path, uid: str, seed: int = 3) -> bytes:  # type: ignore[no-untyped-def]
    hub, pid = hub_store(tmp_path / f"hub-{uid}")
    analysis, raw = simulated_set(seed)
    hub.save_session(pid, analysis, raw, started_at=T0, uid=uid)
    data = pack(hub.export_bundle(uid))
    hub.close()
    return data


def _put(client: httpx.AsyncClient, patient_id: int, uid: str, data: bytes, token: str | None, *, digest: str | None = None):  # type: ignore[no-untyped-def]
    headers = {protocol.DIGEST_HEADER: digest or protocol.content_digest(data)}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.put(protocol.session_path(patient_id, uid), content=data, headers=headers)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_no_wrong_or_revoked_token_is_401_and_logged(clinic: Clinic, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.WARNING, logger="server.refusals")
    alice = clinic.patients["alice"]
    data = _bundle(tmp_path, "s-401")
    async with _client(clinic) as client:
        token = await _pair(client, clinic, "alice")
        assert (await client.get(protocol.plan_path(alice), headers=_auth(token))).status_code == 200
        cases = {
            "no bearer token": None,
            "unknown device token": token[:-4] + "AAAA",
            "revoked token": token,
        }
        for reason, sent in cases.items():
            if reason == "revoked token":
                device = clinic.store.list_devices(alice)[0]
                clinic.store.revoke_device(device.id, revoked_by=clinic.therapist)
            headers = _auth(sent) if sent else {}
            for response in (
                await client.get(protocol.plan_path(alice), headers=headers),
                await client.get(protocol.session_path(alice, "s-401"), headers=headers),
                await _put(client, alice, "s-401", data, sent),
            ):
                assert response.status_code == 401, (reason, response.text)
                assert response.headers["www-authenticate"].startswith("Bearer")
            assert sum(reason in r.getMessage() and ": 401 " in r.getMessage() for r in caplog.records) == 3, reason
    assert clinic.store.list_sessions(alice) == []


async def test_a_token_reaches_only_its_own_patient(clinic: Clinic, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.WARNING, logger="server.refusals")
    alice, bob = clinic.patients["alice"], clinic.patients["bob"]
    data = _bundle(tmp_path, "s-403")
    async with _client(clinic) as client:
        token_a = await _pair(client, clinic, "alice")
        assert (await _put(client, bob, "s-403", data, token_a)).status_code == 403
        assert (await client.get(protocol.plan_path(bob), headers=_auth(token_a))).status_code == 403
        assert (await client.get(protocol.session_path(bob, "s-403"), headers=_auth(token_a))).status_code == 403
        mine = await client.get(protocol.plan_path(alice), headers=_auth(token_a))
        assert mine.status_code == 200 and mine.json()["patient"]["id"] == alice
    assert clinic.store.list_sessions(bob) == []
    logged = [r.getMessage() for r in caplog.records if ": 403 " in r.getMessage()]
    assert len(logged) == 3 and all(f"asked for patient {bob}" in m for m in logged)


async def test_expired_or_reused_enrolment_codes_are_refused(clinic: Clinic, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.WARNING, logger="server.refusals")
    alice = clinic.patients["alice"]
    old = clinic.store.create_enrolment_code(alice, created_by=clinic.therapist,
                                             now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))  # fmt: skip
    fresh = clinic.store.create_enrolment_code(alice, created_by=clinic.therapist)
    async with _client(clinic) as client:
        expired = await client.post(protocol.ENROL_PATH, json={"code": old.code, "device_name": "hub"})
        first = await client.post(protocol.ENROL_PATH, json={"code": fresh.code, "device_name": "hub"})
        reused = await client.post(protocol.ENROL_PATH, json={"code": fresh.code, "device_name": "another hub"})
        guessed = await client.post(protocol.ENROL_PATH, json={"code": "00000-00000", "device_name": "hub"})
    assert (expired.status_code, first.status_code, reused.status_code, guessed.status_code) == (401, 201, 401, 401)
    assert reused.json() == expired.json() == guessed.json()  # the client cannot tell why: no oracle
    assert "ask your therapist for a new one" in reused.json()["error"]
    log = "\n".join(r.getMessage() for r in caplog.records)
    assert ": 401 expired" in log and ": 401 already used" in log and ": 401 unknown code" in log
    assert len(clinic.store.list_devices(alice)) == 1


async def test_refusals_and_requests_are_rate_limited(clinic: Clinic) -> None:
    limits = Limits(address_refusals_per_minute=3, device_requests_per_minute=4, enrolments_per_minute=100)
    alice = clinic.patients["alice"]
    async with _client(clinic, limits) as client:
        token = await _pair(client, clinic, "alice")
        statuses = [(await client.get(protocol.plan_path(alice), headers=_auth(token))).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 200, 429]
        wrong = [(await client.get(protocol.plan_path(alice), headers=_auth("rht_wrong"))).status_code for _ in range(4)]
        assert wrong == [401, 401, 401, 429]
    # the counts are in the database: a second app (another replica) sees the same address blocked
    async with _client(clinic, limits) as other_replica:
        r = await other_replica.post(protocol.ENROL_PATH, json={"code": "00000-00000", "device_name": "x"})
        assert r.status_code == 429 and r.headers["retry-after"] == "60"


async def test_upload_checks_digest_and_stores_a_uid_once(clinic: Clinic, tmp_path) -> None:  # type: ignore[no-untyped-def]
    alice = clinic.patients["alice"]
    data = _bundle(tmp_path, "s-once")
    async with _client(clinic) as client:
        token = await _pair(client, clinic, "alice")
        damaged = bytearray(data)
        damaged[len(damaged) // 3] ^= 0x01
        r = await _put(client, alice, "s-once", bytes(damaged), token, digest=protocol.content_digest(data))
        assert r.status_code == 422 and "send it again" in r.text
        assert (await _put(client, alice, "s-once", data, token, digest="sha-256=:nope:")).status_code == 400
        assert (await client.get(protocol.session_path(alice, "s-once"), headers=_auth(token))).status_code == 404
        first = await _put(client, alice, "s-once", data, token)
        again = await _put(client, alice, "s-once", data, token)
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["session_id"] == again.json()["session_id"] and again.json()["created"] is False
        receipt = await client.get(protocol.session_path(alice, "s-once"), headers=_auth(token))
        assert receipt.status_code == 200 and receipt.json()["content_sha256"] == first.json()["content_sha256"]
        other = _bundle(tmp_path, "s-other", seed=9)
        assert (await _put(client, alice, "s-once", other, token)).status_code in (400, 409)
    assert [s.uid for s in clinic.store.list_sessions(alice)] == ["s-once"]


async def test_a_full_upload_queue_answers_503_at_once(clinic: Clinic, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One slot, one waiting: a third upload is turned away before its body is read (bounded memory)."""
    alice = clinic.patients["alice"]
    bundles = {uid: _bundle(tmp_path, uid, seed) for seed, uid in enumerate(("q-1", "q-2", "q-3"))}
    gate = asyncio.Event()

    async def held_back(data: bytes):  # type: ignore[no-untyped-def]
        yield data[:1000]
        await gate.wait()
        yield data[1000:]

    async with _client(clinic, Limits(upload_slots=1, upload_queue=1, busy_retry_after_s=7)) as client:
        token = await _pair(client, clinic, "alice")

        def put(uid: str, body):  # type: ignore[no-untyped-def]
            headers = {**_auth(token), protocol.DIGEST_HEADER: protocol.content_digest(bundles[uid])}
            return client.put(protocol.session_path(alice, uid), content=body, headers=headers)

        first = asyncio.create_task(put("q-1", held_back(bundles["q-1"])))  # holds the slot
        await asyncio.sleep(0.3)
        second = asyncio.create_task(put("q-2", held_back(bundles["q-2"])))  # waits for it
        await asyncio.sleep(0.3)
        third = await put("q-3", bundles["q-3"])
        assert third.status_code == 503 and third.headers["retry-after"] == "7"
        gate.set()
        assert ((await first).status_code, (await second).status_code) == (201, 201)
        assert (await put("q-3", bundles["q-3"])).status_code == 201  # later, it goes through
    assert sorted(s.uid for s in clinic.store.list_sessions(alice)) == ["q-1", "q-2", "q-3"]
