"""A clinic network: two server replicas on one PostgreSQL with the session files in S3-compatible
object storage (moto on loopback). Whichever replica a hub reaches, a session is stored once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from service.sync import ClinicClient, SyncPolicy
from service.sync.hub import pair
from store import Store
from store.bundle import pack

from .conftest import Clinic, ServerProcess, hub_store, store_sets

pytestmark = pytest.mark.postgres


async def test_two_replicas_share_database_and_object_storage(
    clinic: Clinic, tls, tmp_path: Path, s3_url: str
) -> None:
    replicas = [ServerProcess(clinic.url, tmp_path / f"replica-{i}", tls, tmp_path / f"r{i}", files_url=s3_url)
                for i in range(2)]  # fmt: skip
    for r in replicas:
        r.workdir.mkdir()
        r.start()
    try:
        hub_dir = tmp_path / "hub"
        hub, local = hub_store(hub_dir)
        code = clinic.store.create_enrolment_code(clinic.patients["alice"], created_by=clinic.therapist)
        pairing = await pair(hub_dir, code=code.code, server_url=replicas[0].url, device_name="hub",
                             local_patient=lambda _u, _d: local, ca_file=str(tls.ca_file))  # fmt: skip
        uids = store_sets(hub, local, 4)
        bundles = {uid: pack(hub.export_bundle(uid)) for uid in uids}
        clients = [ClinicClient(r.url, token=pairing.token, ca_file=pairing.ca_file, policy=SyncPolicy()) for r in replicas]
        try:  # every session to both replicas at the same moment
            answers = await asyncio.gather(*(
                c.upload(pairing.clinic_patient_id, uid, data) for uid, data in bundles.items() for c in clients
            ))  # fmt: skip
        finally:
            for c in clients:
                await c.aclose()
        assert sorted(a["created"] for a in answers) == [False] * 4 + [True] * 4
        for uid in uids:
            assert len({a["session_id"] for a in answers if a["uid"] == uid}) == 1
        # the clinic's dashboard process reads the same database and the same bucket
        reader = Store(clinic.url, data_dir=tmp_path / "dashboard", files_url=s3_url)
        assert sorted(s.uid for s in reader.list_sessions(clinic.patients["alice"])) == sorted(uids)
        for uid in uids:
            assert reader.load_session(reader.get_session_by_uid(uid).id).raw is not None
        assert len(list(reader.files.entries())) == 4
        assert not (tmp_path / "replica-0" / "sessions").exists() or not any((tmp_path / "replica-0" / "sessions").iterdir())
        reader.close()
        hub.close()
    finally:
        for r in replicas:
            r.stop()
