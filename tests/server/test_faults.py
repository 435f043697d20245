"""Nothing lost, nothing twice, nothing half-stored: the clinic server as a real process on PostgreSQL,
the hub on SQLite, a proxy between them that breaks things at the worst moment."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest

from service.sync import ClinicUnreachableError, HubStatus, SyncHub, SyncPolicy
from service.sync.hub import pair
from store import Store
from store.bundle import pack, sha256_hex

from .conftest import REPO, Clinic, ServerProcess, child_env, hub_store, rehab_cmd, store_sets

pytestmark = pytest.mark.postgres

FAST = SyncPolicy(initial_backoff_s=0.05, max_backoff_s=0.2, jitter=0.0, connect_timeout_s=5, request_timeout_s=30)


async def _paired_hub(clinic: Clinic, url: str, hub_dir: Path, ca_file: Path, patient: str = "alice") -> tuple[Store, SyncHub]:
    hub, local = hub_store(hub_dir, patient)
    code = clinic.store.create_enrolment_code(clinic.patients[patient], created_by=clinic.therapist)
    await pair(hub_dir, code=code.code, server_url=url, device_name="test hub", local_patient=lambda _u, _d: local,
               ca_file=str(ca_file), policy=FAST)  # fmt: skip
    return hub, SyncHub(hub, hub_dir, policy=FAST)


def _clinic_uids(clinic: Clinic) -> list[str]:
    return sorted(s.uid for s in clinic.store.list_sessions(clinic.patients["alice"]))


def _assert_arrived_once(clinic: Clinic, hub: Store, uids: list[str]) -> None:
    """Every uid stored exactly once, complete (rows, reps and files), with the hub's content hash."""
    assert _clinic_uids(clinic) == sorted(uids)
    for uid in uids:
        rec = clinic.store.get_session_by_uid(uid)
        loaded = clinic.store.load_session(rec.id)
        assert loaded.raw is not None and len(loaded.analysis.reps) == rec.rep_count
        assert clinic.store.get_receipt(uid).content_sha256 == sha256_hex(pack(hub.export_bundle(uid)))  # type: ignore[union-attr]
    assert hub.outbox_summary(hub.get_user_by_username("alice").id).waiting == 0


async def _until(condition, timeout_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_server_down_while_ten_sessions_are_recorded_then_all_arrive_once(
    clinic: Clinic, server_process: ServerProcess, tls, tmp_path: Path
) -> None:
    server_process.start()
    hub, sync = await _paired_hub(clinic, server_process.url, tmp_path / "hub", tls.ca_file)
    server_process.stop()
    uids = store_sets(hub, sync.pairing.local_patient_id, 10)  # recorded at home, clinic unreachable
    down = await sync.sync_once()
    assert not down.ok and isinstance(down.error, ClinicUnreachableError)
    status = HubStatus.read(hub, tmp_path / "hub")
    assert status.waiting == 10 and status.headline() == "10 sessions waiting to be sent to your clinic."
    assert any("could not reach your clinic" in line for line in status.lines())
    assert _clinic_uids(clinic) == []
    server_process.start()
    up = await sync.sync_once()
    assert up.ok and sorted(up.sent.sent) == sorted(uids)  # type: ignore[union-attr]
    again = await sync.sync_once()
    assert again.ok and again.sent.sent == [] and again.sent.already == []  # type: ignore[union-attr]
    _assert_arrived_once(clinic, hub, uids)
    assert HubStatus.read(hub, tmp_path / "hub").headline() == "All your sessions have been sent to your clinic."
    hub.close()


@pytest.mark.parametrize("moment", ["mid-body", "after-commit"])
async def test_server_killed_mid_upload_resumes_without_duplicate_or_partial(
    moment: str, clinic: Clinic, server_process: ServerProcess, tls, tmp_path: Path, proxy_factory
) -> None:
    server_process.start()
    proxy = proxy_factory(server_process.port)
    hub, sync = await _paired_hub(clinic, proxy.url, tmp_path / "hub", tls.ca_file)
    uids = store_sets(hub, sync.pairing.local_patient_id, 3)
    killed: list[str] = []

    def kill_server(*_: object) -> str | None:
        if killed:
            return None
        killed.append(moment)
        server_process.kill()  # SIGKILL: no clean-up of any kind
        return "kill"

    if moment == "mid-body":
        proxy.on_upload = kill_server  # part of the body has reached the server
    else:
        proxy.on_response = kill_server  # the server stored it; its answer never reaches the hub
    first = await sync.sync_once()
    assert killed and not first.ok and isinstance(first.error, ClinicUnreachableError)
    visible = _clinic_uids(clinic)
    assert visible == ([] if moment == "mid-body" else [uids[0]])  # never a half-stored session
    for uid in visible:
        assert clinic.store.load_session(clinic.store.get_session_by_uid(uid).id).raw is not None
    assert hub.outbox_summary(sync.pairing.local_patient_id).waiting == 3
    server_process.start()
    resumed = await sync.sync_once()
    assert resumed.ok, resumed.error
    assert sorted(resumed.sent.sent + resumed.sent.already) == sorted(uids)  # type: ignore[union-attr]
    assert resumed.sent.already == visible  # type: ignore[union-attr]  # acknowledged, not uploaded again
    _assert_arrived_once(clinic, hub, uids)
    hub.close()


async def test_corrupted_upload_is_rejected_and_sent_again(
    clinic: Clinic, tls, tmp_path: Path, proxy_factory
) -> None:
    plain = ServerProcess(clinic.url, clinic.data_dir, None, tmp_path)  # plain HTTP: TLS would catch the flip first
    plain.start()
    try:
        proxy = proxy_factory(plain.port)
        hub, sync = await _paired_hub(clinic, f"http://127.0.0.1:{proxy.port}", tmp_path / "hub", tls.ca_file)
        uids = store_sets(hub, sync.pairing.local_patient_id, 2)
        corrupted: list[int] = []

        def corrupt(_: int) -> str | None:
            if corrupted:
                return None
            corrupted.append(1)
            return "corrupt"  # one bit of the first upload's body flipped in transit

        proxy.on_upload = corrupt
        result = await sync.sync_once()
        assert result.ok and corrupted and sorted(result.sent.sent) == sorted(uids)  # type: ignore[union-attr]
        assert proxy.uploads_seen == 3  # the damaged one was sent again
        _assert_arrived_once(clinic, hub, uids)
        log = plain.log_text()
        assert "422 content digest mismatch" in log and log.count("stored session") == 2
        hub.close()
    finally:
        plain.stop()


async def test_the_same_session_sent_twice_is_stored_once(
    clinic: Clinic, server_process: ServerProcess, tls, tmp_path: Path
) -> None:
    server_process.start()
    hub_dir = tmp_path / "hub"
    hub, sync = await _paired_hub(clinic, server_process.url, hub_dir, tls.ca_file)
    uids = store_sets(hub, sync.pairing.local_patient_id, 4)
    # two hub processes at once (a manual `rehab hub sync` while `rehab hub run` works) send the same uids
    procs = [
        subprocess.Popen(rehab_cmd("hub", "sync", "--data-dir", str(hub_dir)), cwd=REPO, env=child_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0].decode() for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    # and the hub forgets it was acknowledged (a restored backup): everything goes out again
    with hub.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE session_outbox SET acknowledged_at = NULL")
    again = await sync.sync_once()
    assert again.ok and sorted(again.sent.already) == sorted(uids) and again.sent.sent == []  # type: ignore[union-attr]
    _assert_arrived_once(clinic, hub, uids)
    assert server_process.log_text().count("stored session") == 4
    hub.close()


async def test_hub_killed_mid_upload_resumes_on_restart(
    clinic: Clinic, server_process: ServerProcess, tls, tmp_path: Path, proxy_factory
) -> None:
    server_process.start()
    proxy = proxy_factory(server_process.port)
    hub_dir = tmp_path / "hub"
    hub, sync = await _paired_hub(clinic, proxy.url, hub_dir, tls.ca_file)
    uids = store_sets(hub, sync.pairing.local_patient_id, 5)
    hub_proc = subprocess.Popen(rehab_cmd("hub", "run", "--data-dir", str(hub_dir), "--poll", "0.2"), cwd=REPO,
                                env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    killed: list[int] = []

    def kill_hub(*_: object) -> str | None:
        if proxy.uploads_seen < 3 or killed:  # let two sessions through, then kill it in the third upload
            return None
        killed.append(1)
        hub_proc.kill()  # SIGKILL
        return "kill"

    proxy.on_upload = kill_hub
    await _until(lambda: hub_proc.poll() is not None, 90)
    assert killed, hub_proc.communicate()[0].decode()[-2000:]
    assert len(_clinic_uids(clinic)) == 2 and hub.outbox_summary(sync.pairing.local_patient_id).waiting == 3
    restarted = subprocess.run(rehab_cmd("hub", "sync", "--data-dir", str(hub_dir)), cwd=REPO, env=child_env(),
                               capture_output=True, text=True, timeout=120)  # fmt: skip
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert "sent 3" in restarted.stdout
    _assert_arrived_once(clinic, hub, uids)
    hub.close()


async def test_plan_changes_reach_the_hub_at_the_next_round(
    clinic: Clinic, server_process: ServerProcess, tls, tmp_path: Path
) -> None:
    """The clinic is the authority for the plan: a change there is on the hub after one round;
    an unchanged plan costs a 304."""
    from service.sync import HubState

    server_process.start()
    hub_dir = tmp_path / "hub"
    hub, sync = await _paired_hub(clinic, server_process.url, hub_dir, tls.ca_file)
    local = sync.pairing.local_patient_id
    assert (await sync.sync_once()).ok
    (rx,) = hub.list_prescriptions(local)
    assert (rx.stage, rx.compensation_threshold_deg, rx.reps) == ("box", 10.0, 4)
    etag = HubState.load(hub_dir).plan_etag
    async with sync.client() as client:
        assert (await client.plan(sync.pairing.clinic_patient_id, etag)).plan is None  # 304: nothing changed
    (clinic_rx,) = clinic.store.list_prescriptions(clinic.patients["alice"])
    clinic.store.update_prescription(clinic_rx.id, compensation_threshold_deg=7.5, reps=8)
    decision = clinic.store.suggest_progression(clinic_rx.id, "floor", reason="easy now")
    clinic.store.decide_progression(decision.id, accept=True, decided_by=clinic.therapist)
    result = await sync.sync_once()
    assert result.ok and result.plan is not None and result.plan.updated == 1
    (rx,) = hub.list_prescriptions(local)
    assert (rx.stage, rx.compensation_threshold_deg, rx.reps) == ("floor", 7.5, 8)
    state = HubState.load(hub_dir)
    assert state.plan_etag != etag and state.stage_changes[0]["to_stage"] == "floor"
    again = await sync.sync_once()
    assert again.ok and again.plan is None  # 304
    hub.close()


async def test_a_round_that_cannot_update_the_hubs_store_fails_softly(
    clinic: Clinic, server_process: ServerProcess, tls, tmp_path: Path
) -> None:
    """A local store problem (here: the pairing names a local account that is gone) ends the round with
    the problem recorded in plain words, and `rehab hub run` keeps going (it backs off), it does not crash."""
    import dataclasses

    from service.sync import HubPairing, HubStoreError

    server_process.start()
    hub_dir = tmp_path / "hub"
    hub, sync = await _paired_hub(clinic, server_process.url, hub_dir, tls.ca_file)
    dataclasses.replace(sync.pairing, local_patient_id=9999).save(hub_dir)
    broken = SyncHub(hub, hub_dir, policy=FAST)
    result = await broken.sync_once()
    assert not result.ok and isinstance(result.error, HubStoreError) and result.error.retry
    assert "could not update its own records" in HubStatus.read(hub, hub_dir).state.last_error  # type: ignore[operator]
    assert HubPairing.load(hub_dir).local_patient_id == 9999
    hub.close()
