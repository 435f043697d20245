"""TLS: a hub sends nothing to a server whose certificate does not verify (another CA, another
name); pairing checks the certificate before spending the code; the server refuses to start with a
certificate or key that cannot work. Throw-away CAs and certificates made with `cryptography`."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from server.errors import ServerConfigError
from server.tls import check_certificate
from service.sync import ClinicCertificateError, HubStatus, SyncHub, SyncPolicy
from service.sync.hub import pair

from .conftest import Clinic, ServerProcess, hub_store, make_tls, store_sets

FAST = SyncPolicy(initial_backoff_s=0.05, max_backoff_s=0.2, jitter=0.0, connect_timeout_s=5, request_timeout_s=30)


@pytest.mark.postgres
async def test_hub_refuses_to_send_to_a_server_with_the_wrong_certificate(
    clinic: Clinic, server_process: ServerProcess, tls, tmp_path: Path
) -> None:
    server_process.start()
    hub_dir = tmp_path / "hub"
    hub, local = hub_store(hub_dir)
    code = clinic.store.create_enrolment_code(clinic.patients["alice"], created_by=clinic.therapist)
    await pair(hub_dir, code=code.code, server_url=server_process.url, device_name="hub",
               local_patient=lambda _u, _d: local, ca_file=str(tls.ca_file), policy=FAST)  # fmt: skip
    uids = store_sets(hub, local, 2)
    impostor = make_tls(tmp_path / "impostor", label="impostor")  # another CA, same address
    wrong_name = make_tls(tmp_path / "wrong-name", label="wrong-name", hosts=("clinic.example.org",), ca=tls)
    sync = SyncHub(hub, hub_dir, policy=FAST)
    for bad in (impostor, wrong_name):  # another CA; our CA but another host name
        server_process.stop()
        server_process.start(tls=bad)
        result = await sync.sync_once()
        assert not result.ok and isinstance(result.error, ClinicCertificateError), result.error
        assert clinic.store.list_sessions(clinic.patients["alice"]) == []
        assert hub.outbox_summary(local).waiting == 2
        assert "stored session" not in server_process.log_text()
    status = HubStatus.read(hub, hub_dir)
    assert any("could not be verified" in line and "nothing was sent" in line for line in status.lines())
    server_process.stop()
    server_process.start(tls=tls)  # the real certificate again: everything goes
    result = await sync.sync_once()
    assert result.ok and sorted(result.sent.sent) == sorted(uids)  # type: ignore[union-attr]
    hub.close()


@pytest.mark.postgres
async def test_pairing_checks_the_certificate_before_spending_the_code(
    clinic: Clinic, server_process: ServerProcess, tmp_path: Path
) -> None:
    impostor = make_tls(tmp_path / "impostor", label="impostor")
    ours = make_tls(tmp_path / "ours", label="ours")
    server_process.start(tls=impostor)
    hub_dir = tmp_path / "hub"
    hub, local = hub_store(hub_dir)
    code = clinic.store.create_enrolment_code(clinic.patients["alice"], created_by=clinic.therapist)
    with pytest.raises(ClinicCertificateError):
        await pair(hub_dir, code=code.code, server_url=server_process.url, device_name="hub",
                   local_patient=lambda _u, _d: local, ca_file=str(ours.ca_file), policy=FAST)  # fmt: skip
    assert not (hub_dir / "hub.json").exists() and clinic.store.list_devices(clinic.patients["alice"]) == []
    # the code is still good for the real server
    paired = clinic.store.redeem_enrolment_code(code.code, device_name="hub")
    assert paired.patient.id == clinic.patients["alice"]
    hub.close()


def test_server_refuses_a_certificate_that_cannot_work(tmp_path: Path) -> None:
    a = make_tls(tmp_path / "a", label="a")
    b = make_tls(tmp_path / "b", label="b")
    info = check_certificate(a.cert_file, a.key_file)
    assert "127.0.0.1" in info.names and "localhost" in info.names
    with pytest.raises(ServerConfigError, match="does not belong"):
        check_certificate(a.cert_file, b.key_file)
    with pytest.raises(ServerConfigError, match="expired"):
        check_certificate(a.cert_file, a.key_file, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=400))
    with pytest.raises(ServerConfigError, match="no such file"):
        check_certificate(tmp_path / "nope.pem", a.key_file)
    with pytest.raises(ServerConfigError, match="not a PEM certificate"):
        check_certificate(a.key_file, a.key_file)
    os.chmod(a.key_file, 0o644)
    with pytest.raises(ServerConfigError, match="readable by other users"):
        check_certificate(a.cert_file, a.key_file)
